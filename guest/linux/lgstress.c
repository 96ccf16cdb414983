// SPDX-License-Identifier: GPL-2.0
/*
 * lgstress: work for an SMP Linux guest whose result says whether its CPUs
 * agreed (selftests/linux_guest_test.sh, through guest/linux/init).
 *
 *   lgstress atomics THREADS N
 *	THREADS threads, each pinned to a CPU in turn, add 1 to one shared
 *	counter N times with a locked add, and to a counter of their own
 *	with plain adds, yielding now and then so that they interleave even
 *	on fewer CPUs than threads.  Prints
 *	"lgstress: atomics threads=T per=N total=X want=Y" and exits 0 only
 *	if X == Y == T * N and every thread's own count is N: a lost update
 *	(a CPU that did not see another's write, a TLB or FPU state mixed up
 *	between vCPUs) shows as a shortfall.  Threads whose CPU goes offline
 *	meanwhile are moved by the kernel and go on.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS	256

static unsigned long long shared_count;
static unsigned long per;

struct worker {
	pthread_t th;
	unsigned int id;
	unsigned long own;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	unsigned long i;

	CPU_ZERO(&set);
	CPU_SET(w->id % (ncpus > 0 ? ncpus : 1), &set);
	/* Best effort: a CPU offline now just leaves the thread unpinned. */
	sched_setaffinity(0, sizeof(set), &set);
	for (i = 0; i < per; i++) {
		__atomic_add_fetch(&shared_count, 1, __ATOMIC_RELAXED);
		w->own++;
		if (!(i & 1023))
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	unsigned long threads, i, bad = 0;
	unsigned long long want;

	if (argc != 4 || strcmp(argv[1], "atomics")) {
		fprintf(stderr, "usage: lgstress atomics THREADS N\n");
		return 2;
	}
	threads = strtoul(argv[2], NULL, 0);
	per = strtoul(argv[3], NULL, 0);
	if (!threads || threads > MAX_THREADS || !per) {
		fprintf(stderr, "lgstress: 1 to %d threads, and N > 0\n", MAX_THREADS);
		return 2;
	}
	for (i = 0; i < threads; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].th, NULL, work, &w[i])) {
			perror("lgstress: pthread_create");
			return 1;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		bad += w[i].own != per;
	}
	want = (unsigned long long)threads * per;
	printf("lgstress: atomics threads=%lu per=%lu total=%llu want=%llu%s\n",
	       threads, per, shared_count, want,
	       bad ? " (a thread's own count is wrong)" : "");
	return shared_count == want && !bad ? 0 : 1;
}
