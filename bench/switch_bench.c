// SPDX-License-Identifier: GPL-2.0
/*
 * switch_bench: what a world switch costs, in instructions.
 *
 * Run under QEMU with -icount shift=0 (tools/bench does), where one guest
 * instruction is one virtual nanosecond: CLOCK_MONOTONIC then counts
 * instructions, the one stable figure TCG can give.  Every row is measured
 * beside a native getppid() round trip in the same VM, and reported as a
 * ratio to it.  The numbers say nothing about time on real hardware.
 *
 * Rows:
 *   native getppid()            a system call round trip of the host
 *   null hypercall (syscall)    guest -> host kernel -> guest, LSTAR path,
 *                               answered by the fast path (no run loop)
 *   null hypercall (int 0x1f)   the same through an interrupt gate, which
 *                               the fast path leaves to the run loop
 *   ... through the loop        the syscall row with fast_switch=0: the
 *                               run loop's whole way round, no fast path
 *   exit to launcher            guest -> launcher (pread returns) -> guest
 *   guest getpid (direct/C)     a guest user task's system call round trip
 *                               to its guest kernel: inside the switcher,
 *                               and with fast_switch=0 through the host's C
 *   shadow fill                 a guest access that faults to the host,
 *                               which walks the guest's tables and fills
 *   native page fault           reading fresh anonymous memory, natively
 *   reflected #PF               a fault the guest's own tables explain,
 *                               delivered to its handler and back
 *   INVLPG (sync / ring)        a PTE change and its invalidation: one
 *                               hypercall each, or 64 per ring flush
 *   address-space switch        NEW_PGTABLE between two cached spaces, and
 *                               round robin through 24 (the cache misses)
 *   native context switch       half a pipe ping-pong between 2 processes
 *   guest task switch           a user task's sched_yield to another task
 *                               (syscall, NEW_PGTABLE, return to user)
 *   ... eager host state        the same two rows with eager_host_state=1
 *   IPI round trip              vCPU 0 -> vCPU 1 -> vCPU 0, each halted in
 *                               between (two vCPU threads on the one CPU)
 *   IPI send to handler         the one-way part, sender to handler entry,
 *                               by the guests' TSC (virtual ns = insns)
 *
 * Cross-CPU costs (shootdowns, throughput on several vCPUs) need several
 * CPUs, which -icount cannot give (M:013): bench/smp_bench measures them.
 *
 * `switch_bench mitigations [N]` measures only getppid() and the null
 * hypercall, with the switcher's speculation mitigations on this host and
 * the VERW, SPEC_CTRL writes and IBPBs each round trip makes: tools/bench
 * runs it in VMs whose hosts chose different ones (docs/performance.md).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "guest_user.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lg_test.h"

static uint64_t iterations;

#define FAST_SWITCH	"/sys/module/lg/parameters/fast_switch"
#define EAGER		"/sys/module/lg/parameters/eager_host_state"
#define BENCH_VA	0x0000004000000000ULL	/* slot 0, far above memory */

/*
 * Every measurement is the instructions between two calls of now_ns(), so
 * tools/insn-profile splits QEMU's instruction trace at this function's
 * entry (noinline: it must have one) and so profiles exactly what a row
 * times.
 */
static __attribute__((noinline)) uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void guest_null_syscall(void)
{
	uint64_t i;

	GUEST_SYNC(0);
	for (i = 0; i < iterations; i++)
		hcall0(LHCALL_SEND_INTERRUPTS);
	GUEST_SYNC(1);
}

static void guest_null_int(void)
{
	uint64_t i;

	GUEST_SYNC(0);
	for (i = 0; i < iterations; i++)
		hcall_int(LHCALL_SEND_INTERRUPTS, 0);
	GUEST_SYNC(1);
}

static void guest_exits(void)
{
	uint64_t i;

	for (i = 0;; i++)
		GUEST_SYNC(i);
}

static struct lg_test_vm *start(void (*fn)(void), uint64_t n)
{
	struct lg_test_vm *t = lg_test_vm_create(fn);

	if (!t)
		exit(1);
	*(uint64_t *)lg_test_hva(t, &iterations) = n;
	return t;
}

static void must(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "switch_bench: %s failed\n", what);
		exit(1);
	}
}

/* Guest loops @n calls between two SYNCs; per call, in ns. */
static double bench_guest_loop(void (*fn)(void), uint64_t n, uint64_t *entries)
{
	struct lguest_vcpu_stats a, b;
	struct lg_test_vm *t = start(fn, n);
	uint64_t v, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC, "warm-up run");
	must(!lg_vm_stats(&t->vm, 0, &a), "stats");
	t0 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 1, "timed run");
	t1 = now_ns();
	must(!lg_vm_stats(&t->vm, 0, &b), "stats");
	*entries = b.entries - a.entries;
	lg_test_vm_free(t);
	return (double)(t1 - t0) / n;
}

static double bench_exits(uint64_t n)
{
	struct lg_test_vm *t = start(guest_exits, n);
	uint64_t v, i, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC, "warm-up run");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		lg_test_run(t, &v, NULL);
	t1 = now_ns();
	lg_test_vm_free(t);
	return (double)(t1 - t0) / n;
}

static double bench_getppid(uint64_t n)
{
	uint64_t i, t0, t1;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	return (double)(t1 - t0) / n;
}

/*
 * The guests below run their loop between SYNC(0) and SYNC(1), and the
 * same code with no iterations (the fixed costs) between SYNC(1) and
 * SYNC(2): bench_diff() takes the difference, per iteration.
 */

static void user_getpid_n(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		user_getpid();
	user_exit(0);
}

static void guest_user_getpid(void)
{
	uint64_t k;

	lg_test_paging_on();
	guest_tasks_init();
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		guest_task_spawn(user_getpid_n, k ? 0 : iterations);
		guest_tasks_run();
	}
	GUEST_SYNC(2);
}

/* Every access maps one guest page at a new address: each is a fill. */
static void guest_fills(void)
{
	uint64_t page, i, k;

	lg_test_paging_on();
	page = guest_page_alloc();
	for (i = 0; i < iterations; i++)
		pt_map(guest_kernel_root, BENCH_VA + i * 4096, page, PTE_RW);
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		for (i = 0; i < (k ? 0 : iterations); i++)
			(void)*(volatile uint64_t *)(BENCH_VA + i * 4096);
	}
	GUEST_SYNC(2);
}

static void skip_read(struct guest_regs *r)
{
	r->rip = (uint64_t)lg_insn_read_end;
}

static void guest_reflected_pf(void)
{
	uint64_t i, k;

	lg_test_paging_on();
	guest_set_handler(14, skip_read);
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		for (i = 0; i < (k ? 0 : iterations); i++)
			lg_call_read(BENCH_VA, 0);
	}
	GUEST_SYNC(2);
}

/*
 * Flip a PTE between two pages and invalidate it: one hypercall each, or
 * queued in the ring, 64 to a flush.
 */
static void invlpg_loop(int ring)
{
	uint64_t a, b, *pte, i, k;

	lg_test_paging_on();
	a = guest_page_alloc();
	b = guest_page_alloc();
	pt_map(guest_kernel_root, BENCH_VA, a, PTE_RW);
	pte = pt_entry(guest_kernel_root, BENCH_VA, 1, 0);
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		for (i = 0; i < (k ? 0 : iterations); i++) {
			*pte = (i & 1 ? a : b) | PTE_P | PTE_RW;
			if (ring)
				guest_async_hcall(LHCALL_INVLPG, BENCH_VA, 4096, 0);
			else
				guest_invlpg(BENCH_VA, 4096, 0);
		}
		guest_flush_async();
	}
	GUEST_SYNC(2);
}

static void guest_invlpg_sync(void)
{
	invlpg_loop(0);
}

static void guest_invlpg_ring(void)
{
	invlpg_loop(1);
}

static void guest_as_switch(void)
{
	uint64_t other, i, k;

	lg_test_paging_on();
	other = guest_page_alloc();
	((uint64_t *)other)[0] = ((uint64_t *)guest_kernel_root)[0];
	for (k = 0; k < 2; k++) {
		/* Twice round first, so both spaces' shadows hold this code. */
		guest_load_pgtable(other);
		guest_load_pgtable(guest_kernel_root);
		GUEST_SYNC(k);
		for (i = 0; i < (k ? 0 : iterations); i++)
			guest_load_pgtable(i & 1 ? guest_kernel_root : other);
		guest_load_pgtable(guest_kernel_root);
	}
	GUEST_SYNC(2);
}

/*
 * Round robin through more address spaces than the host caches: every
 * switch misses, and refills what the loop touches there (its code, stack
 * and data, and the page it reads).  What a too-small cache would cost.
 */
#define NR_SPACES	24
static uint64_t spaces[NR_SPACES];

static void guest_as_evicted(void)
{
	uint64_t i, k, page;

	lg_test_paging_on();
	for (i = 0; i < NR_SPACES; i++) {
		spaces[i] = guest_page_alloc();
		page = guest_page_alloc();
		((uint64_t *)spaces[i])[0] = ((uint64_t *)guest_kernel_root)[0];
		pt_map(spaces[i], 0x0000008000000000ULL, page, PTE_RW);
	}
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		for (i = 0; i < (k ? 0 : iterations); i++) {
			guest_load_pgtable(spaces[i % NR_SPACES]);
			(void)*(volatile uint64_t *)0x0000008000000000ULL;
		}
		guest_load_pgtable(guest_kernel_root);
	}
	GUEST_SYNC(2);
}

/* Two user tasks yield to each other: each yield is a task switch. */
static void user_yields(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		user_yield();
	user_exit(0);
}

static void guest_task_switch(void)
{
	uint64_t k;

	lg_test_paging_on();
	guest_tasks_init();
	for (k = 0; k < 2; k++) {
		GUEST_SYNC(k);
		guest_task_spawn(user_yields, k ? 0 : iterations / 2);
		guest_task_spawn(user_yields, k ? 0 : iterations / 2);
		guest_tasks_run();
	}
	GUEST_SYNC(2);
}

#define PING	0x60
#define PONG	0x61
static volatile uint64_t pongs, secondary_up, sent_at, wake_ticks;

static void on_ping(struct guest_regs *r)
{
	(void)r;
	sent_at = guest_rdtsc();
	guest_send_ipi(1, PONG);
}

static void on_pong(struct guest_regs *r)
{
	(void)r;
	wake_ticks += guest_rdtsc() - sent_at;
	pongs++;
}

static void secondary_idles(unsigned int cpu)
{
	(void)cpu;
	secondary_up = 1;
}

/*
 * vCPU 0 pings vCPU 1, halts, and its handler takes the pong.  SYNC(0),
 * the loop, SYNC(summed one-way ticks), the empty loop, SYNC(2).
 */
static void guest_ipi_round_trip(void)
{
	uint64_t i, k;

	guest_set_handler(PING, on_ping);
	guest_set_handler(PONG, on_pong);
	guest_start_vcpu(1, secondary_idles);
	guest_irq_enable();
	while (!secondary_up)
		hcall0(LHCALL_SEND_INTERRUPTS);
	GUEST_SYNC(0);
	for (k = 0; k < 2; k++) {
		wake_ticks = 0;
		for (i = 0; i < (k ? 0 : iterations); i++) {
			uint64_t want = pongs + 1;

			guest_send_ipi(2, PING);
			guest_halt_until(pongs >= want);
		}
		GUEST_SYNC(k ? 2 : wake_ticks);
	}
}

/* Per iteration: (SYNC0..SYNC1) - (SYNC1..SYNC2), over @n. */
static double bench_diff(void (*fn)(void), uint64_t n)
{
	struct lg_test_vm *t = start(fn, n);
	uint64_t v, t0, t1, t2;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 0, "warm-up run");
	t0 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 1, "timed run");
	t1 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 2, "empty run");
	t2 = now_ns();
	lg_test_vm_free(t);
	return ((double)(t1 - t0) - (double)(t2 - t1)) / n;
}

/* The IPI guest: like bench_diff(); the middle SYNC carries the latencies. */
static double bench_ipi(uint64_t n, double *one_way)
{
	struct lg_test_vm *t = lg_test_vm_create_smp(guest_ipi_round_trip, 2);
	uint64_t v, t0, t1, t2, ticks, khz;

	must(t && !lg_test_start_secondaries(t), "SMP guest");
	*(uint64_t *)lg_test_hva(t, &iterations) = n;
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 0, "warm-up run");
	t0 = now_ns();
	must(lg_test_run(t, &ticks, NULL) == UCALL_SYNC, "timed run");
	t1 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 2, "empty run");
	t2 = now_ns();
	khz = ((struct lguest_data *)lg_test_hva(t, &guest_data))->tsc_khz;
	lg_test_vm_free(t);
	*one_way = (double)ticks * 1e6 / (double)(khz ?: 1) / n;
	return ((double)(t1 - t0) - (double)(t2 - t1)) / n;
}

static int set_param(const char *path, int on)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -1;
	r = write(fd, on ? "Y\n" : "N\n", 2) == 2 ? 0 : -1;
	close(fd);
	return r;
}

static double bench_native_faults(uint64_t n)
{
	volatile char *m = mmap(NULL, n * 4096, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t i, t0, t1;

	must(m != MAP_FAILED, "mmap");
	/* One 4 KiB fault per page, as a shadow fill is: no huge zero page. */
	must(!madvise((void *)m, n * 4096, MADV_NOHUGEPAGE), "madvise");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		(void)m[i * 4096];
	t1 = now_ns();
	munmap((void *)m, n * 4096);
	return (double)(t1 - t0) / n;
}

/* Two processes bounce a byte through two pipes: two switches a round. */
static double bench_native_switch(uint64_t n)
{
	int ab[2], ba[2];
	uint64_t i, t0, t1;
	pid_t child;
	char c = 0;

	must(!pipe(ab) && !pipe(ba), "pipe");
	child = fork();
	must(child >= 0, "fork");
	if (!child) {
		for (i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		must(write(ab[1], &c, 1) == 1 && read(ba[0], &c, 1) == 1, "ping-pong");
	t1 = now_ns();
	waitpid(child, NULL, 0);
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);
	return (double)(t1 - t0) / n / 2;
}

/* The module's parameters as we found them, put back however we leave. */
static char fast_was[4] = "Y\n", eager_was[4] = "N\n";

static void save_param(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && read(fd, buf, 2) != 2)
		buf[0] = 0;
	if (fd >= 0)
		close(fd);
}

static void restore_params(void)
{
	set_param(FAST_SWITCH, fast_was[0] == 'Y');
	set_param(EAGER, eager_was[0] == 'Y');
}

/*
 * The null hypercall under this host's mitigations.  The counts per round
 * trip follow from the switcher's code (one entry, one exit; no change of
 * guest): VERW before the entry, SPEC_CTRL written on the way in and out
 * under IBRS, an IBPB on the exit under entry-IBPB.
 */
static int bench_mitigations(uint64_t n)
{
	struct lguest_info info;
	char names[256];
	double native, null;
	uint64_t e;
	unsigned int verw, wrmsr, ibpb;

	if (lg_test_info(&info)) {
		fprintf(stderr, "switch_bench: LHREQ_INFO failed\n");
		return 1;
	}
	lg_format_mitigations(info.mitigations, names, sizeof(names));
	verw = !!(info.mitigations & LGUEST_MIT_VERW);
	wrmsr = info.mitigations & LGUEST_MIT_IBRS ? 2 : 0;
	ibpb = !!(info.mitigations & LGUEST_MIT_ENTRY_IBPB);
	native = bench_getppid(n);
	null = bench_guest_loop(guest_null_syscall, n, &e);
	printf("# switcher mitigations: %s\n", names);
	printf("%-34s %12s %10s\n", "operation", "insns/op", "x getppid");
	printf("%-34s %12.0f %10.2f\n", "native getppid()", native, 1.0);
	printf("%-34s %12.0f %10.2f\n", "null hypercall (syscall)", null, null / native);
	printf("# per round trip: VERW %u, WRMSR to SPEC_CTRL %u, IBPB %u\n",
	       verw, wrmsr, ibpb);
	printf("BENCH_MIT_JSON {\"mitigations\": \"%s\", \"native_getppid\": %.0f, "
	       "\"hypercall_syscall\": %.0f, \"verw\": %u, \"spec_ctrl_writes\": %u, "
	       "\"ibpb\": %u}\n", names, native, null, verw, wrmsr, ibpb);
	return 0;
}

/* The rows: bench_guest_loop()'s world-switch counts go to the summary. */
static uint64_t entries_syscall, entries_int;
static double ipi_one_way;

static double row_getppid(uint64_t n) { return bench_getppid(n); }
static double row_null_syscall(uint64_t n)
{
	return bench_guest_loop(guest_null_syscall, n, &entries_syscall);
}

static double row_null_int(uint64_t n)
{
	return bench_guest_loop(guest_null_int, n, &entries_int);
}

static double row_exits(uint64_t n) { return bench_exits(n); }
static double row_getpid(uint64_t n) { return bench_diff(guest_user_getpid, n); }
static double row_fills(uint64_t n) { return bench_diff(guest_fills, n); }
static double row_native_faults(uint64_t n) { return bench_native_faults(n); }
static double row_reflected_pf(uint64_t n) { return bench_diff(guest_reflected_pf, n); }
static double row_invlpg_sync(uint64_t n) { return bench_diff(guest_invlpg_sync, n); }
static double row_invlpg_ring(uint64_t n) { return bench_diff(guest_invlpg_ring, n); }
static double row_as_switch(uint64_t n) { return bench_diff(guest_as_switch, n); }
static double row_as_evicted(uint64_t n) { return bench_diff(guest_as_evicted, n); }
static double row_native_switch(uint64_t n) { return bench_native_switch(n); }
static double row_task_switch(uint64_t n) { return bench_diff(guest_task_switch, n); }
static double row_ipi(uint64_t n) { return bench_ipi(n, &ipi_one_way); }
static double row_ipi_one_way(uint64_t n) { return ipi_one_way; }

/*
 * One row: what it measures, with the module's fast_switch and
 * eager_host_state set as given, and how tools/insn-profile turns the
 * windows between now_ns() calls into one operation's: the first window,
 * less the second for a row that measures an empty run too, over
 * @ops_per_n operations an iteration (a pipe round trip is two switches).
 * @windows 0: not a host window (the IPI's one way is the guests' clock).
 */
static const struct row {
	const char *name, *key;
	double (*run)(uint64_t n);
	bool fast, eager;
	unsigned int windows, ops_per_n;
} rows[] = {
	{ "native getppid()", "native_getppid", row_getppid, 1, 0, 1, 1 },
	{ "null hypercall (syscall)", "hypercall_syscall", row_null_syscall, 1, 0, 1, 1 },
	{ "null hypercall (int 0x1f)", "hypercall_int", row_null_int, 1, 0, 1, 1 },
	{ "null hypercall, through the loop", "hypercall_loop", row_null_syscall, 0, 0, 1, 1 },
	{ "exit to launcher round trip", "exit_to_launcher", row_exits, 1, 0, 1, 1 },
	{ "guest getpid, direct switch", "guest_getpid_direct", row_getpid, 1, 0, 2, 1 },
	{ "guest getpid, through C", "guest_getpid_slow", row_getpid, 0, 0, 2, 1 },
	{ "shadow fill (demand fault)", "shadow_fill", row_fills, 1, 0, 2, 1 },
	{ "native page fault (anon read)", "native_page_fault", row_native_faults, 1, 0, 1, 1 },
	{ "reflected #PF to the guest", "reflected_pf", row_reflected_pf, 1, 0, 2, 1 },
	{ "PTE change + INVLPG hypercall", "invlpg_sync", row_invlpg_sync, 1, 0, 2, 1 },
	{ "PTE change + INVLPG in the ring", "invlpg_ring", row_invlpg_ring, 1, 0, 2, 1 },
	{ "address-space switch (cached)", "as_switch", row_as_switch, 1, 0, 2, 1 },
	{ "address-space switch (evicted)", "as_switch_evicted", row_as_evicted, 1, 0, 2, 1 },
	{ "native context switch (pipe)", "native_context_switch", row_native_switch,
	  1, 0, 1, 2 },
	{ "guest task switch (yield), lazy", "guest_task_switch", row_task_switch, 1, 0, 2, 1 },
	{ "null hypercall, eager host state", "hypercall_eager", row_null_syscall, 1, 1, 1, 1 },
	{ "guest task switch, eager host state", "guest_task_switch_eager", row_task_switch,
	  1, 1, 2, 1 },
	{ "IPI round trip (2 vCPUs, 1 CPU)", "ipi_round_trip", row_ipi, 1, 0, 2, 1 },
	{ "IPI send to handler (halt-to-wake)", "ipi_one_way", row_ipi_one_way, 1, 0, 0, 1 },
};
#define NR_ROWS	(sizeof(rows) / sizeof(rows[0]))

static double run_row(const struct row *r, uint64_t n)
{
	must(!set_param(FAST_SWITCH, r->fast), "setting fast_switch");
	must(!set_param(EAGER, r->eager), "setting eager_host_state");
	return r->run(n);
}

/*
 * `switch_bench profile KEY N`, for tools/insn-profile: the one row, with
 * QEMU's instruction trace on around it.  The profiler watches the
 * directory LG_PROFILE names: we create "on", saying how many windows
 * the row times, and wait for "on.ack" (the trace is on), run, then "off"
 * and wait for "off.ack".
 */
static void profile_handshake(const char *dir, const char *what, const struct row *r)
{
	char path[512], tmp[520], ack[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, what);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(ack, sizeof(ack), "%s.ack", path);
	f = fopen(tmp, "w");
	must(f && fprintf(f, "windows=%u\n", r->windows) > 0 && !fclose(f) &&
	     !rename(tmp, path), "writing the profiler's request");
	/* The profiler answers in milliseconds, or the VM times out. */
	while (access(ack, F_OK))
		usleep(10000);
}

static int bench_profile(const char *key, uint64_t n)
{
	const char *dir = getenv("LG_PROFILE");
	const struct row *r = NULL;
	unsigned int i;
	double v, v2;

	for (i = 0; i < NR_ROWS; i++)
		if (!strcmp(rows[i].key, key) && rows[i].windows)
			r = &rows[i];
	if (!r || !dir) {
		fprintf(stderr, "switch_bench: profile needs LG_PROFILE and a row with host windows\n");
		return 2;
	}
	/*
	 * Three times: @n iterations to warm the process up (its heap, the
	 * host's caches), then @n and 2 * @n.  What a run does once (a
	 * fresh guest's first faults, say) is in the last two and drops out
	 * of their difference, which is @n iterations of the steady state
	 * only.  The clock's figure for the same: 2 * v2 - v per operation.
	 */
	profile_handshake(dir, "on", r);
	run_row(r, n);
	v = run_row(r, n);
	v2 = run_row(r, 2 * n);
	profile_handshake(dir, "off", r);
	printf("PROFILE_ROW %s windows=%u ops=%llu now_ns=%p insns_per_op=%.1f\n",
	       r->key, r->windows, (unsigned long long)n * r->ops_per_n,
	       (void *)now_ns, 2 * v2 - v);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n;
	double res[NR_ROWS], native;
	unsigned int i;

	/* `switch_bench rows`: the keys tools/insn-profile can profile. */
	if (argc > 1 && !strcmp(argv[1], "rows")) {
		for (i = 0; i < NR_ROWS; i++)
			if (rows[i].windows)
				printf("%s\n", rows[i].key);
		return 0;
	}
	if (access("/dev/lguest", F_OK)) {
		fprintf(stderr, "switch_bench: /dev/lguest absent (lg.ko not loaded)\n");
		return 4;
	}
	if (argc > 1 && !strcmp(argv[1], "mitigations"))
		return bench_mitigations(argc > 2 ? strtoull(argv[2], NULL, 0) : 20000);
	save_param(FAST_SWITCH, fast_was);
	save_param(EAGER, eager_was);
	atexit(restore_params);
	if (argc > 3 && !strcmp(argv[1], "profile"))
		return bench_profile(argv[2], strtoull(argv[3], NULL, 0));
	n = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000;
	for (i = 0; i < NR_ROWS; i++)
		res[i] = run_row(&rows[i], n);
	native = res[0];

	printf("%-34s %12s %10s\n", "operation", "insns/op", "x getppid");
	for (i = 0; i < NR_ROWS; i++)
		printf("%-34s %12.0f %10.2f\n", rows[i].name, res[i], res[i] / native);
	printf("# world switches per hypercall: syscall %.3f, int %.3f\n",
	       (double)entries_syscall / n, (double)entries_int / n);
	printf("BENCH_JSON {\"iterations\": %llu, \"unit\": \"instructions (icount shift=0)\"",
	       (unsigned long long)n);
	for (i = 0; i < NR_ROWS; i++)
		printf(", \"%s\": %.0f", rows[i].key, res[i]);
	printf("}\n");
	return 0;
}
