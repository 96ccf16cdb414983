// SPDX-License-Identifier: GPL-2.0
/*
 * lgbench: the Linux-guest rows of `make bench` (tools/bench).
 *
 *   lgbench [-t MS] WHERE
 *	Times four loops with CLOCK_MONOTONIC and prints a table and one
 *	line "LGBENCH_JSON {...}".  WHERE only labels the output: tools/bench
 *	runs the same binary natively in the test VM ("native") and, from the
 *	initramfs' /init, inside Debian's kernel under lguest ("guest").
 *
 *   lgbench smp [-p] [-t MS] [-r N] WHERE
 *	Throughput on 1, 2 and 4 CPUs (as many as there are, up to 4): that
 *	many processes, each pinned to a CPU of its own, run a loop for MS
 *	milliseconds at once, and their rates add up; each count is
 *	repeated N times (default 5) and reported as median, least and
 *	most, and the median's ratio to one CPU's.  Two loops: getpid, which
 *	shares nothing (natively it scales with the CPUs the VM has), and
 *	fault, whose page faults in each process's own memory meet the
 *	kernel's MMU (and a guest's, lguest's shadow and its lock).  Then
 *	the pipe round trip between processes on CPUs 0 and 1, whose every
 *	wake-up is an IPI to a CPU that went idle, beside the same two on
 *	CPU 0: the guest's IPI, two per round trip.  One line
 *	"LGBENCH_SMP_JSON {...}" has it all.  With -p only the pipe round
 *	trips run: tools/xen-bench times them under -icount too, where
 *	the throughput loops mean nothing (single-threaded TCG runs one CPU
 *	at a time, so their rates cannot add up).
 *
 *   lgbench stamp [-m LABEL=TEXT]... -- CMD [ARG]...
 *	Runs CMD with its output through a pipe, copies that output line by
 *	line, and after the first line holding each TEXT prints
 *	"LGBENCH_STAMP LABEL NS IDLE_NS": CLOCK_MONOTONIC and the CPUs' idle
 *	time (/proc/uptime) since CMD started.  tools/bench times a Linux
 *	guest's boot with it, from `lguest run` to the line /init prints.
 *
 * Under QEMU -icount shift=0 one instruction is one virtual nanosecond, so
 * these are instruction counts of the whole test VM (host kernel, lg.ko,
 * the launcher and the guest), except for idle time, when QEMU jumps the
 * virtual clock to the next timer: that is why stamp reports it apart.
 *
 * Each loop runs in chunks until it has taken at least MS milliseconds
 * (default 200), after one chunk as a warm-up, so that a row's length does
 * not depend on how fast lguest happens to be.  The clock is read once a
 * chunk, which costs a few tenths of a percent of one at most.
 *
 *   getpid	syscall(SYS_getpid): the system call round trip
 *   fork	fork(), the child _exit(0)s, the parent waitpid()s: process
 *		creation, two address-space switches, copy-on-write set up
 *		and torn down
 *   pipe	one byte to a child and one back through two pipes: a round
 *		trip with two context switches
 *   fault	a write to each page of a fresh 1 MiB anonymous mapping (4 KiB
 *		pages: no transparent huge pages), munmap()ed after; per page
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC	1000000000ULL

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "lgbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One chunk of each loop: returns how many operations it did. */

static unsigned long getpid_chunk(void)
{
	int i;

	for (i = 0; i < 1000; i++)
		syscall(SYS_getpid);
	return 1000;
}

static unsigned long fork_chunk(void)
{
	int i, status;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, &status, 0) != pid || status != 0)
			die("waitpid");
	}
	return 2;
}

static int to_child[2], to_parent[2];

static unsigned long pipe_chunk(void)
{
	char c = 0;
	int i;

	for (i = 0; i < 10; i++) {
		if (write(to_child[1], &c, 1) != 1 ||
		    read(to_parent[0], &c, 1) != 1)
			die("pipe round trip");
	}
	return 10;
}

/* The child's half of the ping-pong: echo until the parent closes. */
static void pipe_echo(void)
{
	char c;

	close(to_child[1]);
	close(to_parent[0]);
	while (read(to_child[0], &c, 1) == 1)
		if (write(to_parent[1], &c, 1) != 1)
			break;
	_exit(0);
}

#define FAULT_PAGES	256

static unsigned long fault_chunk(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = FAULT_PAGES * page;
	char *p;
	int i;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	/*
	 * Debian's kernel defaults to THP "always": natively one fault could
	 * map 2 MiB.  A Xen PV guest has no huge pages; ask for 4 KiB pages
	 * on both sides so that both count the same faults.
	 */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < FAULT_PAGES; i++)
		p[i * page] = 1;
	if (munmap(p, len))
		die("munmap");
	return FAULT_PAGES;
}

struct loop {
	const char *key, *what;
	unsigned long (*chunk)(void);
	unsigned long ops;
	unsigned long long ns;
};

static struct loop loops[] = {
	{ .key = "getpid", .what = "getpid() round trip", .chunk = getpid_chunk },
	{ .key = "fork", .what = "fork + _exit + waitpid", .chunk = fork_chunk },
	{ .key = "pipe", .what = "pipe ping-pong round trip", .chunk = pipe_chunk },
	{ .key = "fault", .what = "page fault (fresh anonymous 4 KiB page)",
	  .chunk = fault_chunk },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_LOOPS	ARRAY_SIZE(loops)

static void run(struct loop *l, unsigned long long target)
{
	unsigned long long t0, t;

	l->chunk();	/* warm-up: code, stack, pipe and page-table pages */
	l->ops = 0;
	t0 = now_ns();
	do {
		l->ops += l->chunk();
		t = now_ns();
	} while (t - t0 < target);
	l->ns = t - t0;
}

static double per_op(const struct loop *l)
{
	return (double)l->ns / l->ops;
}

static int bench(const char *where, unsigned long ms)
{
	unsigned long long start = now_ns();
	pid_t echo;
	size_t i;

	printf("lgbench: %s, %lu ms per loop, CLOCK_MONOTONIC ns (under -icount: instructions)\n",
	       where, ms);
	fflush(stdout);
	if (pipe(to_child) || pipe(to_parent))
		die("pipe");
	echo = fork();
	if (echo < 0)
		die("fork");
	if (echo == 0)
		pipe_echo();
	close(to_child[0]);
	close(to_parent[1]);

	for (i = 0; i < NR_LOOPS; i++)
		run(&loops[i], ms * 1000000ULL);

	close(to_child[1]);
	waitpid(echo, NULL, 0);

	printf("  %-42s %10s %12s\n", "operation", "ops", "ns per op");
	for (i = 0; i < NR_LOOPS; i++)
		printf("  %-42s %10lu %12.1f\n", loops[i].what, loops[i].ops,
		       per_op(&loops[i]));
	printf("LGBENCH_JSON {\"where\": \"%s\", \"elapsed_ns\": %llu",
	       where, now_ns() - start);
	for (i = 0; i < NR_LOOPS; i++)
		printf(", \"%s\": {\"ops\": %lu, \"ns\": %llu, \"ns_per_op\": %.1f}",
		       loops[i].key, loops[i].ops, loops[i].ns,
		       per_op(&loops[i]));
	printf("}\n");
	return fflush(stdout) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* lgbench smp                                                         */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

struct rate {
	unsigned long ops;
	unsigned long long ns;
};

/*
 * @n processes on CPUs 0..n-1 run @l at once for @target ns; the sum of
 * their rates, in operations per second.  Each says it is pinned, then
 * waits for the start, so that none runs alone while others are forked.
 */
static double together(struct loop *l, int n, unsigned long long target)
{
	int ready[2], go[2], res[2], i;
	double sum = 0;
	char c = 0;

	if (pipe(ready) || pipe(go) || pipe(res))
		die("pipe");
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			struct rate r;

			pin(i);
			if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
				die("start");
			run(l, target);
			r.ops = l->ops;
			r.ns = l->ns;
			if (write(res[1], &r, sizeof(r)) != sizeof(r))
				die("result");
			_exit(0);
		}
	}
	for (i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			die("ready");
	for (i = 0; i < n; i++)
		if (write(go[1], &c, 1) != 1)
			die("go");
	for (i = 0; i < n; i++) {
		struct rate r;

		if (read(res[0], &r, sizeof(r)) != sizeof(r))
			die("a worker's result");
		sum += (double)r.ops * NS_PER_SEC / r.ns;
	}
	while (wait(NULL) > 0)
		;
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	return sum;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define SMP_MAX_REPEATS	31

struct spread {
	double median, least, most;
};

static struct spread spread_of(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct spread){ v[n / 2], v[0], v[n - 1] };
}

/* The pipe round trip between a child on @cpu and us on CPU 0, in ns. */
static double ping_pong(int cpu, unsigned long long target)
{
	struct loop l = { .chunk = pipe_chunk };
	pid_t echo;

	if (pipe(to_child) || pipe(to_parent))
		die("pipe");
	pin(0);
	echo = fork();
	if (echo < 0)
		die("fork");
	if (echo == 0) {
		pin(cpu);
		pipe_echo();
	}
	close(to_child[0]);
	close(to_parent[1]);
	run(&l, target);
	close(to_child[1]);
	close(to_parent[0]);
	waitpid(echo, NULL, 0);
	return per_op(&l);
}

static int smp(const char *where, unsigned long ms, int repeats, int pipe_only)
{
	static const int counts[] = { 1, 2, 4 };
	unsigned long long target = ms * 1000000ULL;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	double v[SMP_MAX_REPEATS], one = 0, same, cross;
	static char json[4096];	/* one line, at the end */
	size_t k, c, len = 0;
	struct spread sp;
	struct loop *l;
	int r, sep;

	printf("lgbench smp: %s, %ld CPUs, %lu ms per run, %d runs each\n",
	       where, online, ms, repeats);
	printf("  %-8s %5s %14s %14s %14s %8s\n", "loop", "CPUs", "median ops/s",
	       "least", "most", "scaling");
	fflush(stdout);
	len += snprintf(json + len, sizeof(json) - len,
			"{\"where\": \"%s\", \"cpus\": %ld, \"ms\": %lu, \"repeats\": %d",
			where, online, ms, repeats);
	for (k = 0; k < NR_LOOPS; k++) {
		l = &loops[k];
		if (pipe_only ||
		    (strcmp(l->key, "getpid") && strcmp(l->key, "fault")))
			continue;
		len += snprintf(json + len, sizeof(json) - len, ", \"%s\": {", l->key);
		sep = 0;
		for (c = 0; c < ARRAY_SIZE(counts) && counts[c] <= online; c++) {
			for (r = 0; r < repeats; r++)
				v[r] = together(l, counts[c], target);
			sp = spread_of(v, repeats);
			if (c == 0)
				one = sp.median;
			printf("  %-8s %5d %14.0f %14.0f %14.0f %8.2f\n", l->key,
			       counts[c], sp.median, sp.least, sp.most,
			       sp.median / one);
			fflush(stdout);
			len += snprintf(json + len, sizeof(json) - len,
					"%s\"%d\": {\"median\": %.0f, \"least\": %.0f, \"most\": %.0f, \"scaling\": %.3f}",
					sep ? ", " : "", counts[c], sp.median, sp.least,
					sp.most, sp.median / one);
			sep = 1;
		}
		len += snprintf(json + len, sizeof(json) - len, "}");
	}
	if (online >= 2) {
		for (r = 0; r < repeats; r++)
			v[r] = ping_pong(0, target);
		same = spread_of(v, repeats).median;
		for (r = 0; r < repeats; r++)
			v[r] = ping_pong(1, target);
		sp = spread_of(v, repeats);
		cross = sp.median;
		printf("  pipe round trip, CPU 0 and 1: %.0f ns (least %.0f, most %.0f); on CPU 0 alone: %.0f ns\n",
		       cross, sp.least, sp.most, same);
		len += snprintf(json + len, sizeof(json) - len,
				", \"pipe_cross_ns\": {\"median\": %.0f, \"least\": %.0f, \"most\": %.0f}, \"pipe_same_ns\": %.0f",
				cross, sp.least, sp.most, same);
	}
	printf("LGBENCH_SMP_JSON %s}\n", json);
	return fflush(stdout) ? 1 : 0;
}

/* The CPUs' idle time so far, summed, in ns (/proc/uptime: 10 ms steps). */
static unsigned long long idle_ns(void)
{
	double up, idle = 0;
	FILE *f = fopen("/proc/uptime", "r");

	if (f) {
		if (fscanf(f, "%lf %lf", &up, &idle) != 2)
			idle = 0;
		fclose(f);
	}
	return idle * NS_PER_SEC;
}

#define MAX_MARKS	8

struct mark {
	char *label, *text;
	unsigned long long ns, idle;
	int seen;
};

static struct mark marks[MAX_MARKS];
static int nr_marks;
static unsigned long long stamp_t0, stamp_idle0;

/* One line of CMD's output (without its newline): copy it, then stamp it. */
static void stamp_line(char *line, size_t len, unsigned long long t)
{
	int i;

	fwrite(line, 1, len, stdout);
	putchar('\n');
	line[len] = '\0';
	for (i = 0; i < nr_marks; i++) {
		if (marks[i].seen || !strstr(line, marks[i].text))
			continue;
		marks[i].seen = 1;
		marks[i].ns = t - stamp_t0;
		marks[i].idle = idle_ns() - stamp_idle0;
		printf("LGBENCH_STAMP %s %llu %llu\n", marks[i].label,
		       marks[i].ns, marks[i].idle);
	}
	fflush(stdout);
}

static int print_usage(void)
{
	fprintf(stderr, "usage: lgbench [-t MS] WHERE\n"
		"       lgbench smp [-p] [-t MS] [-r N] WHERE\n"
		"       lgbench stamp [-m LABEL=TEXT]... -- CMD [ARG]...\n");
	return 2;
}

static int stamp(int argc, char **argv)
{
	static char buf[8192];
	size_t fill = 0, i, start;
	int fd[2], status, opt;
	unsigned long long t;
	ssize_t n;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+m:")) != -1) {
		char *eq = opt == 'm' ? strchr(optarg, '=') : NULL;

		if (!eq || nr_marks == MAX_MARKS)
			return print_usage();
		*eq = '\0';
		marks[nr_marks].label = optarg;
		marks[nr_marks++].text = eq + 1;
	}
	if (optind >= argc)
		return print_usage();

	if (pipe(fd))
		die("pipe");
	printf("LGBENCH_STAMP start 0 0\n");
	fflush(stdout);
	stamp_idle0 = idle_ns();
	stamp_t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[optind], argv + optind);
		die(argv[optind]);
	}
	close(fd[1]);

	/* Lines are copied whole, so a stamp never splits one. */
	for (;;) {
		n = read(fd[0], buf + fill, sizeof(buf) - 1 - fill);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		t = now_ns();
		fill += n;
		start = 0;
		for (i = 0; i < fill; i++) {
			if (buf[i] != '\n')
				continue;
			stamp_line(buf + start, i - start, t);
			start = i + 1;
		}
		/* A line longer than the buffer goes out in pieces. */
		if (start == 0 && fill == sizeof(buf) - 1) {
			stamp_line(buf, fill, t);
			fill = 0;
			continue;
		}
		memmove(buf, buf + start, fill - start);
		fill -= start;
	}
	if (fill)
		stamp_line(buf, fill, now_ns());
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	t = now_ns();
	printf("LGBENCH_STAMP exit %llu %llu\n", t - stamp_t0,
	       idle_ns() - stamp_idle0);
	fflush(stdout);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	unsigned long ms = 200;
	int opt;

	int repeats = 5, is_smp = argc > 1 && !strcmp(argv[1], "smp");
	int pipe_only = 0;

	if (argc > 1 && !strcmp(argv[1], "stamp"))
		return stamp(argc - 1, argv + 1);
	if (is_smp) {
		argc--;
		argv++;
	}
	while ((opt = getopt(argc, argv, "+t:r:p")) != -1) {
		if (opt == 't')
			ms = strtoul(optarg, NULL, 0);
		else if (opt == 'r' && is_smp)
			repeats = atoi(optarg);
		else if (opt == 'p' && is_smp)
			pipe_only = 1;
		else
			return print_usage();
	}
	if (optind != argc - 1 || !ms || repeats < 1 || repeats > SMP_MAX_REPEATS)
		return print_usage();
	/* If the echo child dies, a write fails and says so (die()). */
	signal(SIGPIPE, SIG_IGN);
	return is_smp ? smp(argv[optind], ms, repeats, pipe_only) :
			bench(argv[optind], ms);
}
