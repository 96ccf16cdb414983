// SPDX-License-Identifier: GPL-2.0
/*
 * SIGUSR1: what every vCPU is doing, on stderr, while the guest runs on.
 *
 * A guest that hangs says nothing: its console is quiet and the host's
 * kernel log has nothing to report, since no host code misbehaves.  What
 * tells spinning from sleeping, and where, is each vCPU's registers and
 * how its counters move.  QEMU's monitor shows them (`info registers`),
 * kvmtool's `lkvm debug --dump` too; here `kill -USR1` on the launcher.
 *
 * The registers of a running vCPU live in the module, which hands them out
 * only between runs (LHREQ_GETREGS takes the vCPU's run lock).  So the
 * report is each vCPU thread's own: a thread waits for SIGUSR1, bumps a
 * generation count and sends every vCPU thread a signal of its own (kick)
 * whose handler does nothing.  Its only effect is the one wanted: the run
 * request returns EINTR, whether the vCPU was in the guest, halted or not
 * yet started, and the thread sees the new generation before running again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "launcher.h"

static unsigned int dump_gen;
/* Under dump_lock: the vCPU threads, each kicked only while it runs. */
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pthread_t th;
	bool live;
} *dump_vcpus;
static unsigned int dump_nr;
static const uint64_t *dump_pending, *dump_mask;

/* struct lguest_regs' first sixteen, in its order. */
static const char *const reg_names[16] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8 ", "r9 ", "r10", "r11", "r12", "r13", "r14", "r15",
};

static void kick_handler(int sig)
{
	(void)sig;
}

static void *dump_main(void *arg)
{
	sigset_t set;
	unsigned int i;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (!sigwait(&set, &sig)) {
		pthread_mutex_lock(&dump_lock);
		fprintf(stderr, "\r\nlguest: SIGUSR1: the state of %u vCPU%s\r\n",
			dump_nr, dump_nr == 1 ? "" : "s");
		__atomic_add_fetch(&dump_gen, 1, __ATOMIC_RELEASE);
		for (i = 0; i < dump_nr; i++)
			if (dump_vcpus[i].live)
				pthread_kill(dump_vcpus[i].th, SIGRTMIN);
		pthread_mutex_unlock(&dump_lock);
	}
	return NULL;
}

/*
 * First thing, before the run makes any thread (back ends, signals, vCPUs),
 * for they inherit our signal mask: SIGUSR1 blocked in every thread but
 * the one lg_dump_init() starts to wait for it (a thread that left it
 * open would die of it), and the kick's handler installed without
 * SA_RESTART, so that it ends a run request.
 */
int lg_dump_prepare(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL))
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Before the vCPU threads start: the thread that waits for SIGUSR1.
 * @pending and @mask are a Xen guest's event channel bitmaps in its
 * shared_info, or NULL.
 */
int lg_dump_init(unsigned int nr, const uint64_t *pending, const uint64_t *mask)
{
	pthread_t th;

	dump_vcpus = calloc(nr, sizeof(*dump_vcpus));
	if (!dump_vcpus)
		return -ENOMEM;
	dump_nr = nr;
	dump_pending = pending;
	dump_mask = mask;
	if (pthread_create(&th, NULL, dump_main, NULL))
		return -EAGAIN;
	pthread_detach(th);
	return 0;
}

/* vCPU @vcpu's thread begins (@live) or ends its runs. */
void lg_dump_thread(unsigned int vcpu, bool live)
{
	if (!dump_vcpus || vcpu >= dump_nr)
		return;
	pthread_mutex_lock(&dump_lock);
	dump_vcpus[vcpu].th = pthread_self();
	dump_vcpus[vcpu].live = live;
	pthread_mutex_unlock(&dump_lock);
}

/* The guest's pending event channels, " (masked)" where they are. */
static void print_events(unsigned int vcpu)
{
	unsigned int w, b, n = 0;

	fprintf(stderr, "lguest: vCPU %u:   Xen events pending:", vcpu);
	for (w = 0; w < 64; w++) {
		uint64_t p = __atomic_load_n(&dump_pending[w], __ATOMIC_RELAXED);
		uint64_t m = __atomic_load_n(&dump_mask[w], __ATOMIC_RELAXED);

		for (b = 0; b < 64; b++) {
			if (!(p & (1ULL << b)))
				continue;
			fprintf(stderr, " %u%s", w * 64 + b,
				m & (1ULL << b) ? " (masked)" : "");
			n++;
		}
	}
	fprintf(stderr, "%s\r\n", n ? "" : " none");
}

/*
 * A vCPU thread, between runs: if a report was asked for since this
 * thread's last, print its part.  *@seen is the generation it printed.
 */
void lg_dump_vcpu(struct lg_vm *vm, unsigned int vcpu, unsigned int *seen)
{
	unsigned int gen = __atomic_load_n(&dump_gen, __ATOMIC_ACQUIRE);
	struct lguest_vcpu_stats st;
	struct lguest_regs g;
	const __u64 *x;
	unsigned int i;
	int r;

	if (gen == *seen)
		return;
	*seen = gen;
	pthread_mutex_lock(&dump_lock);
	r = lg_vm_regs(vm, vcpu, &g, 0);
	if (r) {
		fprintf(stderr, "lguest: vCPU %u: no registers: %s\r\n", vcpu, strerror(-r));
		goto out;
	}
	fprintf(stderr, "lguest: vCPU %u: rip %016llx rsp %016llx rflags %llx, %s mode\r\n",
		vcpu, (unsigned long long)g.rip, (unsigned long long)g.rsp,
		(unsigned long long)g.rflags, g.cs & 3 ? "user" : "kernel");
	x = &g.rax;
	for (i = 0; i < 16; i += 4)
		fprintf(stderr, "lguest: vCPU %u:   %s %016llx %s %016llx %s %016llx %s %016llx\r\n",
			vcpu, reg_names[i], (unsigned long long)x[i],
			reg_names[i + 1], (unsigned long long)x[i + 1],
			reg_names[i + 2], (unsigned long long)x[i + 2],
			reg_names[i + 3], (unsigned long long)x[i + 3]);
	fprintf(stderr, "lguest: vCPU %u:   fs_base %016llx gs_base %016llx\r\n", vcpu,
		(unsigned long long)g.fs_base, (unsigned long long)g.gs_base);
	r = lg_vm_stats(vm, vcpu, &st);
	if (!r)
		fprintf(stderr, "lguest: vCPU %u:   entries %llu hypercalls %llu halts %llu irqs %llu traps %llu bounces %llu fills %llu shootdowns %llu\r\n",
			vcpu, (unsigned long long)st.entries,
			(unsigned long long)st.hypercalls, (unsigned long long)st.halts,
			(unsigned long long)st.irqs_delivered,
			(unsigned long long)st.traps_delivered,
			(unsigned long long)st.bounces, (unsigned long long)st.shadow_fills,
			(unsigned long long)st.shootdowns);
	if (dump_pending)
		print_events(vcpu);
out:
	pthread_mutex_unlock(&dump_lock);
}
