// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_test: a hostile guest, and a hostile launcher, at random (issue 14).
 * syzkaller is not available here; this is the part of it lguest needs.
 *
 * Every test runs iterations until its share of the time budget is spent
 * (LG_FUZZ_SECONDS for all of them, 40 by default), or a count of them
 * (LG_FUZZ_ITERS per 10 of its weight: make check's, so that every machine
 * runs the same iterations), each from a seed of its own (lib/fuzz.h),
 * and after each one checks the host: the guests gone, nothing pinned, no
 * shadow table left, the kernel log clean.  A failure
 * prints the seed and iteration that replays it:
 *     LG_FUZZ_SEED=S LG_FUZZ_ITER=I LG_FUZZ_TEST=TEST selftests/fuzz_test
 * Checker processes run on every CPU throughout, and must find their
 * registers as they left them.
 *
 * The guests (lguest's own ABI here; fuzz_xen.c has the Xen PV ones):
 *   - random hypercalls with random and edge arguments, through `syscall`,
 *     the interrupt gate and the asynchronous ring (garbage slots too);
 *   - random instruction bytes, with random registers, at the guest's
 *     kernel level and in user tasks;
 *   - random page-table entries written from four vCPUs into tables the
 *     others are using, with flushes, switches and accesses through them.
 * The launcher's side:
 *   - random requests to /dev/lguest, well formed or not, from the right
 *     process, from two of its threads at once and from a forked child;
 *   - guest memory unmapped, remapped, write-protected, dropped and
 *     copied-on-write by fork() while the vCPUs run;
 *   - the launcher SIGKILLed at random moments.
 * What is asserted of each guest is only that it ended one of the ways a
 * guest may (a ucall, a shutdown, a kill with a reason, or still running
 * at its deadline); a run error other than EINTR fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"
#include "fuzz.h"

/* fuzz_xen.c: one Xen PV iteration; 0, or -1 with why. */
int fuzz_xen_one(uint64_t seed, struct fuzz_tally *tally, char *why, size_t len);

#define NR_VCPUS	4
#define CODE_RANDOM_MAX	16

static uint64_t g_seed;		/* the iteration's guest stream */
static uint64_t g_ops;		/* how many operations it makes */
static uint64_t g_done[LGUEST_MAX_VCPUS];	/* ... and has made, by vCPU */
static uint64_t g_trace;	/* LG_FUZZ_TRACE: say each op before it runs */
/* LG_FUZZ_CODE=hex: kernel_insns runs these bytes first, registers zero. */
static uint8_t g_code[CODE_RANDOM_MAX];
static uint64_t g_code_len;
static uint64_t g_from;		/* LG_FUZZ_FROM: ops before it are drawn, not run */
#define FUZZ_TRACE_UCALL	0x77

/* ------------------------------------------------------------------ */
/* Guest side: calls that may trap.                                    */

static uint64_t try_slot[LGUEST_MAX_VCPUS];

/* fuzz_try() on this vCPU (which empties the slot once it is over). */
static uint64_t try_call(void (*fn)(void *), void *arg)
{
	return fuzz_try(fn, arg, &try_slot[guest_cpu()]);
}

static void back_to_try(struct guest_regs *r, unsigned int cpu)
{
	r->rip = (uint64_t)fuzz_try_recover;
	r->rsp = try_slot[cpu];
	r->rflags = 0x202;
}

/*
 * Every exception goes back to the fuzz_try() in progress on this vCPU.
 * One taken elsewhere (the runtime itself, after a hypercall that broke
 * the guest) or in user mode that a hypercall entered ends the guest: it
 * cannot go on, and saying so is one of the ways a guest may end.
 */
static void recover(struct guest_regs *r)
{
	unsigned int cpu = guest_cpu();

	if (cpu >= LGUEST_MAX_VCPUS || !try_slot[cpu] || r->cs != LGUEST_KERNEL_CS)
		guest_shutdown(LGUEST_SHUTDOWN_CRASH, "fuzz: a trap outside fuzz_try");
	back_to_try(r, cpu);
}

/*
 * A tick every 2 ms: random code may loop forever, and a guest kernel
 * without a clock cannot take the CPU back.  One that lands in a try
 * ends it; one in a user task kills the task.
 */
#define TICK_NS	2000000
static void tick(struct guest_regs *r)
{
	unsigned int cpu = guest_cpu();

	guest_set_timer(TICK_NS);
	if (r->cs == LGUEST_USER_CS)
		guest_task_kill_current(r, -LGUEST_TIMER_VECTOR);
	else if (cpu < LGUEST_MAX_VCPUS && try_slot[cpu])
		back_to_try(r, cpu);
}

/*
 * Traps are taken on a stack of their own (an IST), so that random code
 * that moved RSP anywhere still comes back; and the tick is armed.  Per
 * vCPU: each has its own IST and its own clock event.
 */
#define IST_SIZE	8192
static uint8_t ist_stacks[LGUEST_MAX_VCPUS][IST_SIZE] __attribute__((aligned(16)));

static void arm_this_vcpu(void)
{
	hcall2(LHCALL_SET_STACK, (uint64_t)&ist_stacks[guest_cpu()][IST_SIZE], LG_STACK_IST);
	guest_set_timer(TICK_NS);
}

static void install_recovery(void)
{
	unsigned int v;

	for (v = 0; v < 32; v++)
		guest_set_handler_on_stack(v, recover);
	/*
	 * Not on the IST: a tick that lands while a trap's handler runs
	 * there would overwrite that handler's frame.
	 */
	guest_set_handler(LGUEST_TIMER_VECTOR, tick);
	arm_this_vcpu();
	guest_irq_enable();
}

/* ------------------------------------------------------------------ */
/* Guest: random hypercalls.                                           */

struct hcall_args {
	uint64_t nr, a[4];
	unsigned int how;
};

static void do_hcall(void *p)
{
	struct hcall_args *h = p;

	switch (h->how) {
	case 0:
		hcall(h->nr, h->a[0], h->a[1], h->a[2], h->a[3]);
		break;
	case 1:
		hcall_gate(h->nr, h->a[0], h->a[1], h->a[2], h->a[3]);
		break;
	case 2:
		guest_async_hcall(h->nr, h->a[0], h->a[1], h->a[2]);
		break;
	default: {
		/*
		 * Garbage straight into a ring slot, queued, then a flush: the
		 * host must take any number and any status byte.
		 */
		volatile struct lguest_data *d = guest_vcpu;
		unsigned int i = h->a[3] % LHCALL_RING_SIZE;

		d->hcalls[i].nr = h->nr;
		d->hcalls[i].args[0] = h->a[0];
		d->hcalls[i].args[1] = h->a[1];
		d->hcalls[i].args[2] = h->a[2];
		d->hcalls[i].args[3] = h->a[3];
		d->hcall_status[i] = h->a[2] & 1 ? LHCALL_RING_QUEUED : (uint8_t)h->a[1];
		hcall0(LHCALL_FLUSH_ASYNC);
	}
	}
}

static void guest_hcalls(void)
{
	uint64_t s = g_seed, i;
	struct hcall_args h;

	install_recovery();
	GUEST_SYNC(FUZZ_READY);
	for (i = 0; i < g_ops; i++) {
		uint64_t r = fuzz_rand(&s);

		h.nr = r & 15 ? (r >> 8) % (LHCALL_NR + 3) : fuzz_arg(&s, FUZZ_MEM);
		/*
		 * Most shutdowns, returns to user mode (with no kernel stack
		 * for its traps), and NOTIFYs and HALTs from the ring (which
		 * kill: they cannot be queued) would end the iteration at
		 * once: few of them.
		 */
		h.how = (r >> 12) % 4;
		if ((h.nr == LHCALL_SHUTDOWN || h.nr == LHCALL_RETURN_TO_USER ||
		     (h.how >= 2 && (h.nr == LHCALL_NOTIFY || h.nr == LHCALL_HALT))) &&
		    (r >> 4) & 31)
			continue;
		h.a[0] = fuzz_arg(&s, FUZZ_MEM);
		h.a[1] = fuzz_arg(&s, FUZZ_MEM);
		h.a[2] = fuzz_arg(&s, FUZZ_MEM);
		h.a[3] = fuzz_arg(&s, FUZZ_MEM);
		try_call(do_hcall, &h);
		g_done[0]++;
	}
}

/* ------------------------------------------------------------------ */
/* Guest: random instructions.                                         */

/*
 * The code a try runs: every general register but RSP loaded with a
 * random or edge value (movabs, 10 bytes each), then 16 random bytes,
 * then int3s.  An instruction that does not trap falls into an int3,
 * whose #BP comes back through recover() like any other trap.
 */
#define CODE_REGS	15
#define CODE_RANDOM	16
#define CODE_SIZE	(CODE_REGS * 10 + CODE_RANDOM + 32)

/*
 * Instructions QEMU's TCG (10.0 and before) gets so wrong at CPL3 that any
 * process can stop the machine with them, and which no hypervisor can
 * intercept; random code meets them often (docs/limits.md M:054).  So:
 *   - `mov r/m, %sreg` (0x8e) with ModRM.reg 1, 6 or 7 is #UD on a CPU;
 *     TCG loads CS, LDTR or TR from the selector.  A null TR makes the
 *     next trap abort QEMU ("invalid tss"); a null CS lguest survives
 *     (gdt_test), killing the guest.  The register becomes DS.
 *   - the same with REX.R (a REX byte with bit 2 just before 0x8e): a
 *     CPU ignores it, as the sreg field has 3 bits; TCG adds it, indexing
 *     segs[8..15], which lie past the six segment registers, LDTR and TR
 *     over GDTR, IDTR, the control registers and beyond.  `4c 8e 16`
 *     (mov (%rsi), %ss) writes CR0 (0 with paging on: the CPU wedges, or
 *     triple-faults the VM).  The REX loses its R.
 *   - VPINSRB/W/D/Q with VEX.L 1 and a second source other than the
 *     destination (`c5 f5 c4 c0 00`): #UD on a CPU; TCG's translator
 *     asserts vec_len == 16 and QEMU aborts.  The VEX loses its L.
 *   - a 32-bit IRET (0xcf without REX.W) whose EFLAGS image has VM set
 *     enters virtual-8086 mode in long mode.  lguest survives that now
 *     (gdt_test), killing the guest, but near fuzz_try's frame the image
 *     mostly has bit 17 set and the iteration would end: an IRET in the
 *     random bytes gets a REX.W (iretq), one in a register's bytes (to be
 *     jumped into) becomes 0xce.
 * Each byte is rewritten only where it could be the instruction.
 */
static void avoid_tcg_bugs(uint8_t *code, unsigned int n, unsigned int random)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		unsigned int reg = i + 1 < n ? (code[i + 1] >> 3) & 7 : 0;

		if (code[i] == 0x8e) {
			/* A REX just before it loses its R. */
			if (i && (code[i - 1] & 0xf4) == 0x44)
				code[i - 1] &= ~0x04;
			if (reg == 1 || reg >= 6)
				code[i + 1] = (code[i + 1] & ~0x38) | 3 << 3;
		}
		/* VEX: c5 RvvvvLpp op, c4 RXBmmmmm WvvvvLpp op (L is bit 2). */
		if (code[i] == 0xc5 && i + 2 < n && code[i + 2] == 0xc4)
			code[i + 1] &= ~0x04;
		if (code[i] == 0xc4 && i + 3 < n &&
		    (((code[i + 1] & 0x1f) == 1 && code[i + 3] == 0xc4) ||
		     ((code[i + 1] & 0x1f) == 3 && (code[i + 3] | 2) == 0x22)))
			code[i + 2] &= ~0x04;
		if (code[i] != 0xcf || (i && (code[i - 1] & 0xf8) == 0x48))
			continue;
		if (i > random)
			code[i - 1] = 0x48;
		else
			code[i] = 0xce;
	}
}

static void write_code(uint8_t *code, uint64_t *s, uint64_t mem)
{
	static const uint8_t regs[CODE_REGS] = {	/* all but RSP (4) */
		0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	unsigned int i, j, n = 0;

	for (i = 0; i < CODE_REGS; i++) {
		uint64_t v = fuzz_arg(s, mem);

		code[n++] = 0x48 | (regs[i] >> 3);		/* REX.W (+B) */
		code[n++] = 0xb8 + (regs[i] & 7);		/* movabs */
		for (j = 0; j < 8; j++)
			code[n++] = (uint8_t)(v >> (8 * j));
	}
	for (i = 0; i < CODE_RANDOM; i++)
		code[n++] = (uint8_t)fuzz_rand(s);
	avoid_tcg_bugs(code, n, CODE_REGS * 10);
	while (n < CODE_SIZE)
		code[n++] = 0xcc;
}

static uint8_t kcode[LGUEST_MAX_VCPUS][CODE_SIZE] __attribute__((aligned(64)));

static void run_code(void *code)
{
	((void (*)(void))code)();
}

/* The guest kernel runs random instructions, paging off (all of memory). */
static void guest_kernel_insns(void)
{
	uint64_t s = g_seed, i;

	install_recovery();
	GUEST_SYNC(FUZZ_READY);
	for (i = 0; i < g_ops; i++) {
		write_code(kcode[0], &s, FUZZ_MEM);
		if (!i && g_code_len) {
			uint64_t k;

			for (k = 0; k < CODE_REGS * 10; k++)	/* movabs $0 each */
				kcode[0][k] = k % 10 < 2 ? kcode[0][k] : 0;
			for (k = 0; k < CODE_RANDOM; k++)
				kcode[0][CODE_REGS * 10 + k] = k < g_code_len ? g_code[k] : 0xcc;
		}
		if (i < g_from)
			continue;
		if (g_trace)
			guest_notify(LGUEST_NOTIFY_UCALL, FUZZ_TRACE_UCALL, i);
		try_call(run_code, kcode[0]);
		g_done[0]++;
	}
}

/*
 * User tasks run random instructions: the kernel maps a page of code at
 * USER_CODE in each new task's address space (executable, writable, the
 * user's), and the task jumps there.  The task's trap kills it
 * (guest/lib/task.c); its system calls go to the guest kernel.
 */
#define USER_CODE	(GUEST_USER_BASE + 0x200000)

static void user_jump(uint64_t arg)
{
	(void)arg;
	((void (*)(void))USER_CODE)();
}

static void guest_user_insns(void)
{
	uint64_t s = g_seed, i;

	GUEST_ASSERT(lg_test_paging_on());
	guest_tasks_init();
	guest_set_handler(LGUEST_TIMER_VECTOR, tick);
	guest_set_timer(TICK_NS);
	guest_irq_enable();
	GUEST_SYNC(FUZZ_READY);
	for (i = 0; i < g_ops; i++) {
		struct guest_task *task;
		uint64_t page = guest_page_alloc();
		int pid;

		if (!page)
			break;
		write_code((uint8_t *)page, &s, FUZZ_MEM);
		pid = guest_task_spawn(user_jump, 0);
		task = pid > 0 ? guest_task_find(pid) : 0;
		if (!task || pt_map(task->root, USER_CODE, page, PTE_US | PTE_RW)) {
			guest_page_put(page);
			break;
		}
		guest_tasks_run();
		g_done[0]++;
		/* Reaped here: their wait4 is not ours to make. */
		for (pid = 0; pid < GUEST_MAX_TASKS; pid++)
			if (guest_tasks[pid].state == TASK_ZOMBIE && !guest_tasks[pid].root)
				guest_tasks[pid].state = TASK_FREE;
	}
}

/* ------------------------------------------------------------------ */
/* Guest: page tables from several vCPUs.                              */

#define PT_ROOTS	3
#define PT_RECENT	8
#define PT_FRAMES	64
static uint64_t pt_roots[PT_ROOTS];
static uint64_t pt_frames[PT_FRAMES];	/* the fuzz's own pages */
static volatile int pt_started, pt_go, pt_finished;

/*
 * A frame worth pointing an entry at: mostly one of the fuzz's own pages
 * (so that walking on through it writes there), else a live root, the
 * kernel's data, a page of the pool (the kernel's own tables among them),
 * past the end of memory, or anywhere.
 */
static uint64_t pt_frame(uint64_t *s)
{
	uint64_t r = fuzz_rand(s);

	switch (r & 15) {
	case 0:
		return pt_roots[(r >> 8) % PT_ROOTS];
	case 1:
		return (uint64_t)kcode & ~0xfffULL;
	case 2:
		return FUZZ_MEM + (((r >> 8) & 0xff) << 12);
	case 3:
		return ((r >> 8) << 12) & 0x000ffffffffff000ULL;
	case 4:
		return LG_TEST_POOL_START +
		       (((r >> 8) % ((LG_TEST_POOL_END - LG_TEST_POOL_START) >> 12)) << 12);
	default:
		return pt_frames[(r >> 8) % PT_FRAMES];
	}
}

static void touch(void *p)
{
	uint64_t *a = p, op = (uint64_t)a & 3;

	a = (uint64_t *)((uint64_t)a & ~7ULL);
	if (op == 0)
		(void)*(volatile uint64_t *)a;
	else if (op == 1)
		*(volatile uint64_t *)a = (uint64_t)a;
	else if (op == 2)
		__atomic_fetch_add(a, 1, __ATOMIC_SEQ_CST);
	else
		((void (*)(void))a)();
}

static void pt_worker(unsigned int cpu)
{
	uint64_t s = fuzz_mix(g_seed + cpu), i, recent[PT_RECENT] = { 0 };

	if (cpu) {
		arm_this_vcpu();
		guest_irq_enable();
		/* Every vCPU up before vCPU 0 says the setup is done. */
		__atomic_fetch_add(&pt_started, 1, __ATOMIC_SEQ_CST);
		while (!pt_go)
			asm volatile("pause");
	}

	for (i = 0; i < g_ops; i++) {
		uint64_t r = fuzz_rand(&s), root = pt_roots[(r >> 4) % PT_ROOTS];
		/* Slots 2-7, or rarely any slot at all (the kernel's, the hole). */
		uint64_t slot = (r >> 8) & 63 ? 2 + ((r >> 16) % 6) : (r >> 16) % 512;
		uint64_t va = slot << 39 | (fuzz_rand(&s) & 0x7ffffffff000ULL);
		unsigned int level = 1 + (r >> 24) % 4;
		uint64_t *e;

		if (va & (1ULL << 47))
			va |= 0xffff000000000000ULL;
		switch ((r >> 32) % 8) {
		case 0: case 1: case 2:
			e = level == 4 ? (uint64_t *)root + slot : pt_entry(root, va, level, 1);
			if (!e)
				break;
			*e = pt_frame(&s) | (fuzz_rand(&s) & 0x8000000000000fffULL) | PTE_P;
			recent[i % PT_RECENT] = va;
			break;
		case 3:
			e = pt_entry(root, recent[(r >> 40) % PT_RECENT], level, 0);
			if (e)
				*e = 0;
			break;
		case 4:
			guest_invlpg(recent[(r >> 40) % PT_RECENT], fuzz_arg(&s, FUZZ_MEM),
				     (r >> 48) & 1);
			break;
		case 5:
			guest_flush_tlb((r >> 40) & 1 ? LGUEST_FLUSH_ALL : root);
			break;
		case 6:
			guest_load_pgtable(root);
			break;
		default:
			try_call(touch, (void *)(recent[(r >> 40) % PT_RECENT] +
						 ((r >> 48) & 0xff8) + (r & 3)));
			break;
		}
		g_done[cpu]++;
	}
	__atomic_fetch_add(&pt_finished, 1, __ATOMIC_SEQ_CST);
}

/*
 * vCPU 0 makes the address spaces (each shares the kernel's slot 0), and
 * all four write, flush, switch and touch at once.
 */
static void guest_pagetables(void)
{
	unsigned int cpu, i;

	GUEST_ASSERT(lg_test_paging_on());
	install_recovery();
	pt_roots[0] = guest_kernel_root;
	for (i = 1; i < PT_ROOTS; i++) {
		pt_roots[i] = guest_page_alloc();
		GUEST_ASSERT(pt_roots[i]);
		((uint64_t *)pt_roots[i])[0] = ((uint64_t *)guest_kernel_root)[0];
	}
	for (i = 0; i < PT_FRAMES; i++) {
		pt_frames[i] = guest_page_alloc();
		GUEST_ASSERT(pt_frames[i]);
	}
	for (cpu = 1; cpu < guest_nr_cpus(); cpu++)
		GUEST_ASSERT_EQ(LGUEST_HCALL_OK, guest_start_vcpu(cpu, pt_worker));
	while (pt_started < (int)guest_nr_cpus() - 1)
		asm volatile("pause");
	GUEST_SYNC(FUZZ_READY);
	pt_go = 1;
	pt_worker(0);
	while (pt_finished < (int)guest_nr_cpus())
		asm volatile("pause");
}

/* ------------------------------------------------------------------ */
/* Host side: running a fuzzed guest.                                  */

struct fuzz_ctx {
	struct fuzz_config cfg;
	struct fuzz_checkers checkers;
	struct fuzz_tally tally;
	char why[512];
	/* Called once the guest's setup is done (its GUEST_SYNC), if set. */
	void (*on_ready)(void *arg);
	void *on_ready_arg;
};

/*
 * A ucall of the guest's setup: its GUEST_SYNC(FUZZ_READY) (1), a failed
 * assertion (-1, with why) or anything else (0).
 */
static int setup_ucall(struct lg_test_vm *t, const struct lguest_exit *e, struct fuzz_ctx *c)
{
	const struct ucall_assert *ua;

	if (e->reason != LGUEST_EXIT_NOTIFY || e->args[0] != LGUEST_NOTIFY_UCALL)
		return 0;
	if (e->args[1] == UCALL_SYNC && e->args[2] == FUZZ_READY)
		return 1;
	if (e->args[1] != UCALL_ASSERT)
		return 0;
	if (e->args[2] > t->vm.mem_size - sizeof(*ua)) {
		snprintf(c->why, sizeof(c->why), "a guest assertion failed in its setup");
		return -1;
	}
	ua = lg_test_hva(t, (void *)e->args[2]);
	snprintf(c->why, sizeof(c->why), "a guest assertion failed in its setup: %s at line %llu",
		 ua->expr, (unsigned long long)ua->line);
	return -1;
}

/*
 * Run vCPU 0 until the guest ends or @ms pass, tallying how it ended.
 * Until the guest's setup is done, a failed assertion fails; after it,
 * console output and ucalls other than DONE are read and dropped (a
 * random NOTIFY may claim to be either).  0, or -1 with why.
 */
static int run_guest(struct lg_test_vm *t, unsigned int ms, struct fuzz_ctx *c)
{
	struct lguest_exit e;
	bool ready = false;
	int r;

	fuzz_alarm(ms);
	for (;;) {
		/* Checked before each run too: it may fire between them. */
		r = fuzz_alarm_fired ? -EINTR : lg_vm_run(&t->vm, 0, &e);
		if (r == -EINTR) {
			uint64_t *done = lg_test_hva(t, g_done);
			struct lguest_regs regs;

			if (!fuzz_alarm_fired)
				continue;
			c->tally.timeout++;
			if (getenv("LG_FUZZ_VERBOSE") && !lg_vm_regs(&t->vm, 0, &regs, 0))
				printf("# at the deadline: rip %#llx, operations done %llu %llu %llu %llu\n",
				       (unsigned long long)regs.rip,
				       (unsigned long long)done[0], (unsigned long long)done[1],
				       (unsigned long long)done[2], (unsigned long long)done[3]);
			return 0;
		}
		if (r) {
			fuzz_alarm(0);
			snprintf(c->why, sizeof(c->why), "a vCPU run failed: %s", strerror(-r));
			return -1;
		}
		if (!ready) {
			int u = setup_ucall(t, &e, c);

			if (u < 0) {
				fuzz_alarm(0);
				return -1;
			}
			if (u > 0) {
				ready = true;
				c->tally.ready++;
				if (c->on_ready)
					c->on_ready(c->on_ready_arg);
				continue;
			}
		}
		switch (e.reason) {
		case LGUEST_EXIT_NOTIFY:
			if (e.args[0] == LGUEST_NOTIFY_UCALL && e.args[1] == FUZZ_TRACE_UCALL &&
			    getenv("LG_FUZZ_TRACE")) {
				const uint8_t *code = lg_test_hva(t, kcode[0]);
				unsigned int k;

				/* The code about to run, for a host that dies of it. */
				printf("# op %llu:", (unsigned long long)e.args[2]);
				for (k = getenv("LG_FUZZ_TRACE_ALL") ? 0 : CODE_REGS * 10; k < CODE_SIZE - 24; k++)
					printf(" %02x", code[k]);
				printf("\n");
				fflush(stdout);
				continue;
			}
			if (e.args[0] == LGUEST_NOTIFY_UCALL && e.args[1] == UCALL_DONE) {
				c->tally.done++;
				goto out;
			}
			continue;
		case LGUEST_EXIT_SHUTDOWN:
			c->tally.shutdown++;
			goto out;
		case LGUEST_EXIT_KILLED:
			fuzz_tally_kill(&c->tally, e.msg);
			if (!e.msg[0]) {
				fuzz_alarm(0);
				snprintf(c->why, sizeof(c->why), "a guest killed without a reason");
				return -1;
			}
			goto out;
		default:
			fuzz_alarm(0);
			snprintf(c->why, sizeof(c->why), "exit %u (%s) from a native guest",
				 e.reason, fuzz_exit_name(e.reason));
			return -1;
		}
	}
out:
	fuzz_alarm(0);
	return 0;
}

/* A guest of @fn with @nr vCPUs, seeded; NULL and why on failure. */
static struct lg_test_vm *fuzz_vm(void (*fn)(void), unsigned int nr, uint64_t seed,
				  uint64_t ops, struct fuzz_ctx *c)
{
	struct lg_test_vm *t = lg_test_vm_create_smp(fn, nr);
	sigset_t alrm, old;

	if (!t) {
		snprintf(c->why, sizeof(c->why), "cannot create a guest");
		return NULL;
	}
	SET_GUEST(t, g_seed, seed);
	SET_GUEST(t, g_ops, ops);
	SET_GUEST(t, g_trace, getenv("LG_FUZZ_TRACE") ? 1 : 0);
	SET_GUEST(t, g_from, getenv("LG_FUZZ_FROM") ? strtoull(getenv("LG_FUZZ_FROM"), NULL, 0) : 0);
	if (getenv("LG_FUZZ_CODE")) {
		const char *h = getenv("LG_FUZZ_CODE");
		uint8_t *code = lg_test_hva(t, g_code);
		unsigned int n = 0, b;

		while (n < CODE_RANDOM_MAX && sscanf(h, "%2x", &b) == 1) {
			code[n++] = b;
			h += 2;
		}
		SET_GUEST(t, g_code_len, n);
	}
	if (nr > 1) {
		/* The deadline's SIGALRM is vCPU 0's: not its threads'. */
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &alrm, &old);
		if (lg_test_start_secondaries(t)) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			lg_test_vm_free(t);
			snprintf(c->why, sizeof(c->why), "cannot start the vCPU threads");
			return NULL;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return t;
}

/* One whole guest: create, run to its end or deadline, free. */
static int fuzz_guest(void (*fn)(void), unsigned int nr, uint64_t seed,
		      uint64_t ops, unsigned int ms, struct fuzz_ctx *c)
{
	struct lg_test_vm *t = fuzz_vm(fn, nr, seed, ops, c);
	int r;

	if (!t)
		return -1;
	r = run_guest(t, ms, c);
	lg_test_vm_free(t);
	return r;
}

/* ------------------------------------------------------------------ */
/* Host side: the iterations and their checks.                         */

typedef int (*fuzz_iter_fn)(uint64_t seed, struct fuzz_ctx *c);

/* This test's share of the budget, by weight out of FUZZ_WEIGHTS. */
#define FUZZ_WEIGHTS	100

/*
 * Iterations of @one until @weight percent of the budget is spent (or
 * only LG_FUZZ_ITER), each followed by the host's checks; with @guests,
 * at least one guest must have got past its setup.  0 if all passed;
 * else the failing iteration and how to replay it are printed.
 */
static int fuzz_loop(const char *test, unsigned int weight, fuzz_iter_fn one,
		     bool guests, struct fuzz_ctx *c)
{
	double end = fuzz_now() + c->cfg.seconds * weight / FUZZ_WEIGHTS;
	long i = c->cfg.iter >= 0 ? c->cfg.iter : 0;
	/* LG_FUZZ_ITERS=N: N per 10 of weight, the same on any machine. */
	long count = c->cfg.iters > 0 ? c->cfg.iters * weight / 10 : 0;
	int bad = 0;

	memset(&c->tally, 0, sizeof(c->tally));
	if (fuzz_checkers_start(&c->checkers)) {
		printf("# %s: cannot start the checker processes\n", test);
		return -1;
	}
	fuzz_host_begin();
	do {
		uint64_t seed = fuzz_iter_seed(&c->cfg, test, i);

		c->why[0] = 0;
		c->tally.iters++;
		if (getenv("LG_FUZZ_TRACE"))
			printf("# iteration %ld\n", i);
		if (one(seed, c) || !fuzz_host_ok(c->why, sizeof(c->why)) ||
		    !fuzz_checkers_ok(&c->checkers, c->why, sizeof(c->why))) {
			printf("# %s: iteration %ld failed: %s\n", test, i, c->why);
			printf("# replay: LG_FUZZ_SEED=%llu LG_FUZZ_ITER=%ld "
			       "LG_FUZZ_TEST=%s selftests/fuzz_test\n",
			       (unsigned long long)c->cfg.seed, i, test);
			bad = -1;
			break;
		}
		i++;
	} while (c->cfg.iter < 0 && (count ? i < count : fuzz_now() < end));
	if (!fuzz_checkers_stop(&c->checkers, c->why, sizeof(c->why)) && !bad) {
		printf("# %s: %s\n", test, c->why);
		bad = -1;
	}
	fuzz_tally_print(test, &c->tally);
	/*
	 * Guests that never get past their setup fuzz nothing: a host that
	 * broke starting vCPUs, say, would otherwise pass as "all still
	 * running at their deadline".
	 */
	if (!bad && guests && !c->tally.ready) {
		printf("# %s: no guest got past its setup\n", test);
		bad = -1;
	}
	return bad;
}

static int iter_hcalls(uint64_t seed, struct fuzz_ctx *c)
{
	return fuzz_guest(guest_hcalls, 1, seed, 200, 2000, c);
}

static int iter_kernel_insns(uint64_t seed, struct fuzz_ctx *c)
{
	/* LG_FUZZ_OPS: fewer, to find the one that matters in a replay. */
	const char *ops = getenv("LG_FUZZ_OPS");

	return fuzz_guest(guest_kernel_insns, 1, seed, ops ? strtoull(ops, NULL, 0) : 300,
			  2000, c);
}

static int iter_user_insns(uint64_t seed, struct fuzz_ctx *c)
{
	return fuzz_guest(guest_user_insns, 1, seed, 40, 3000, c);
}

static int iter_pagetables(uint64_t seed, struct fuzz_ctx *c)
{
	return fuzz_guest(guest_pagetables, NR_VCPUS, seed, 400, 3000, c);
}

/* ------------------------------------------------------------------ */
/* Host side: random requests.                                         */

/* Pointers worth passing: ours, NULL, unmapped, the kernel's, a page end. */
static uint64_t host_ptr(uint64_t *s, char *buf, char *noaccess)
{
	switch (fuzz_below(s, 7)) {
	case 0: return 0;
	case 1: return (uintptr_t)noaccess;
	case 2: return 0xffffffff81000000ULL;
	case 3: return (uintptr_t)noaccess - 8;		/* straddles into it */
	case 4: return fuzz_rand(s);
	default: return (uintptr_t)buf + fuzz_below(s, 64);
	}
}

/* The request lengths the module knows, by number. */
static size_t req_size(uint64_t nr)
{
	switch (nr) {
	case LHREQ_INFO: return sizeof(struct lguest_req_info);
	case LHREQ_INITIALIZE: return sizeof(struct lguest_req_init);
	case LHREQ_IRQ: return sizeof(struct lguest_req_irq);
	case LHREQ_GETREGS: case LHREQ_SETREGS: return sizeof(struct lguest_req_regs);
	case LHREQ_VCPU_STATS: return sizeof(struct lguest_req_stats);
	case LHREQ_EVTCHN: return sizeof(struct lguest_req_evtchn);
	}
	return 16;
}

/*
 * One request, random: a number (known or not), then fields that are
 * edges, pointers of every kind or sizes near the right one, and a
 * length that is usually the right one.  A write returns its length or
 * fails; nothing in between.
 */
static int random_request(int fd, uint64_t *s, char *buf, char *noaccess,
			  struct lg_vm *vm, struct fuzz_ctx *c)
{
	uint64_t msg[64];
	uint64_t nr = fuzz_below(s, 8) ? 1 + fuzz_below(s, 8) : fuzz_arg(s, FUZZ_MEM);
	size_t len = 8 + req_size(nr), i;
	ssize_t w;

	for (i = 1; i < 64; i++) {
		switch (fuzz_below(s, 4)) {
		case 0: msg[i] = host_ptr(s, buf, noaccess); break;
		case 1: msg[i] = fuzz_below(s, 300); break;
		default: msg[i] = fuzz_arg(s, FUZZ_MEM); break;
		}
	}
	msg[0] = nr;
	/*
	 * The pointers of known requests are pointers of ours (good, NULL,
	 * unreadable, the kernel's, anything): never a random small number,
	 * which in this static binary is our own data, for the module to
	 * write over.
	 */
	switch (nr) {
	case LHREQ_INFO:
	case LHREQ_INITIALIZE:
		msg[1] = host_ptr(s, buf, noaccess);
		break;
	case LHREQ_GETREGS:
	case LHREQ_SETREGS:
	case LHREQ_VCPU_STATS:
		msg[2] = host_ptr(s, buf, noaccess);
		break;
	}
	if (nr == LHREQ_INITIALIZE && vm && fuzz_below(s, 2)) {
		/* Near-valid: our memory, odd sizes, entries, vCPUs, flags. */
		struct lguest_req_init *in = (void *)&msg[1];

		in->base = (uintptr_t)vm->mem + (fuzz_below(s, 4) ? 0 : fuzz_below(s, 8192));
		in->size = fuzz_below(s, 2) ? vm->mem_size : fuzz_arg(s, vm->mem_size);
		in->nr_vcpus = fuzz_below(s, 70);
		in->flags = fuzz_below(s, 4) ? 0 : (uint32_t)fuzz_rand(s);
		if (fuzz_below(s, 2))
			memset(&in->xen, 0, sizeof(in->xen));
	}
	if (!fuzz_below(s, 5))
		len = fuzz_below(s, sizeof(msg) + 1);
	w = write(fd, msg, len);
	if (w != (ssize_t)len && w != -1) {
		snprintf(c->why, sizeof(c->why), "request %llu of %zu bytes: write returned %zd",
			 (unsigned long long)nr, len, w);
		return -1;
	}
	return 0;
}

/* A run request with a random size, vCPU and record address. */
static int random_run(int fd, uint64_t *s, char *buf, char *noaccess, struct fuzz_ctx *c)
{
	size_t len = fuzz_below(s, 3) ? sizeof(struct lguest_exit) : fuzz_below(s, 400);
	uint64_t vcpu = fuzz_below(s, 3) ? fuzz_below(s, 6) : fuzz_arg(s, FUZZ_MEM);
	void *rec = fuzz_below(s, 3) ? (void *)buf : (void *)(uintptr_t)host_ptr(s, buf, noaccess);
	ssize_t r;

	fuzz_alarm(20);
	r = pread(fd, rec, len, (off_t)vcpu);
	fuzz_alarm(0);
	if (r != (ssize_t)len && r != -1) {
		snprintf(c->why, sizeof(c->why), "a run of %zu bytes returned %zd", len, r);
		return -1;
	}
	return 0;
}

/*
 * A run from another thread of ours, racing the main thread's runs of the
 * same vCPU (one of the two is refused with EPERM while the other owns
 * it), ended by a signal after a few milliseconds.
 */
struct racer {
	int fd;
	volatile int result;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *race_run(void *arg)
{
	struct racer *r = arg;
	struct lguest_exit e;
	ssize_t n = pread(r->fd, &e, sizeof(e), 0);

	r->result = n == (ssize_t)sizeof(e) || (n == -1 && (errno == EPERM ||
		    errno == EINTR || errno == EINVAL)) ? 0 : -1;
	return NULL;
}

static int racing_run(int fd, uint64_t *s, char *buf, char *noaccess, struct fuzz_ctx *c)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct racer r = { .fd = fd };
	sigset_t alrm, old;
	pthread_t th;
	int i, err = 0;

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: EINTR */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	i = pthread_create(&th, NULL, race_run, &r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (i)
		return 0;
	err = random_run(fd, s, buf, noaccess, c);
	/* Signal until it is out: it may have been starting a run. */
	for (i = 0; pthread_tryjoin_np(th, NULL); i++) {
		pthread_kill(th, SIGUSR1);
		usleep(1000);
	}
	if (!err && r.result) {
		snprintf(c->why, sizeof(c->why), "a racing run returned neither a record "
			 "nor EPERM, EINTR or EINVAL");
		err = -1;
	}
	return err;
}

/*
 * A file of its own each time, initialized (by the library, or by a
 * random request) or not, then a few hundred random requests and runs,
 * some racing a run on another thread, and some from a forked child,
 * which the module must refuse (EPERM: not the process that made the
 * guest).
 */
static int iter_requests(uint64_t seed, struct fuzz_ctx *c)
{
	uint64_t s = seed, k;
	struct lg_test_vm *t = NULL;
	char *buf, *noaccess;
	int fd, r = 0;

	buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		snprintf(c->why, sizeof(c->why), "mmap: %s", strerror(errno));
		return -1;
	}
	noaccess = buf + 4096;
	mprotect(noaccess, 4096, PROT_NONE);
	if (fuzz_below(&s, 2)) {
		t = lg_test_vm_create(guest_hcalls);
		if (!t) {
			snprintf(c->why, sizeof(c->why), "cannot create a guest");
			munmap(buf, 2 * 4096);
			return -1;
		}
		SET_GUEST(t, g_seed, fuzz_rand(&s));
		SET_GUEST(t, g_ops, 50);
		fd = t->vm.fd;
	} else {
		fd = open("/dev/lguest", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(c->why, sizeof(c->why), "/dev/lguest: %s", strerror(errno));
			munmap(buf, 2 * 4096);
			return -1;
		}
	}
	for (k = 0; k < 200 && !r; k++) {
		switch (fuzz_below(&s, 10)) {
		case 0: case 1:
			r = random_run(fd, &s, buf, noaccess, c);
			break;
		case 2:
			r = racing_run(fd, &s, buf, noaccess, c);
			break;
		case 3: {
			/* From a child: refused, whatever it asks. */
			pid_t pid = fork();
			int status;

			if (!pid) {
				struct lguest_exit e;

				_exit(pread(fd, &e, sizeof(e), 0) == -1 &&
				      (errno == EPERM || errno == EINVAL) ? 0 : 1);
			}
			if (pid < 0 || waitpid(pid, &status, 0) != pid ||
			    !WIFEXITED(status) || WEXITSTATUS(status)) {
				snprintf(c->why, sizeof(c->why),
					 "a forked child's run was not refused");
				r = -1;
			}
			break;
		}
		default:
			r = random_request(fd, &s, buf, noaccess, t ? &t->vm : NULL, c);
			break;
		}
	}
	if (t)
		lg_test_vm_free(t);
	else
		close(fd);
	munmap(buf, 2 * 4096);
	if (!r)
		c->tally.done++;
	return r;
}

/* ------------------------------------------------------------------ */
/* Host side: guest memory changing under running vCPUs.               */

struct mem_games {
	struct lg_test_vm *t;
	uint64_t seed;
	volatile int stop;
};

/*
 * The launcher's own memory calls on the guest's memory, while the
 * vCPUs run: each must leave the module consistent (its MMU notifier
 * drops the shadows, unpinning) whatever the guest then makes of it.
 */
static void *mem_games(void *arg)
{
	struct mem_games *g = arg;
	uint64_t s = g->seed;
	char *mem = g->t->vm.mem;
	uint64_t pages = g->t->vm.mem_size >> 12;

	while (!g->stop) {
		uint64_t first = fuzz_below(&s, pages), n = 1 + fuzz_below(&s, 64);
		char *p = mem + (first << 12);
		size_t len;
		pid_t pid;

		if (first + n > pages)
			n = pages - first;
		len = n << 12;
		switch (fuzz_below(&s, 5)) {
		case 0:
			mmap(p, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 1:
			mprotect(p, len, PROT_READ);
			usleep(fuzz_below(&s, 2000));
			mprotect(p, len, PROT_READ | PROT_WRITE);
			break;
		case 2:
			madvise(p, len, MADV_DONTNEED);
			break;
		case 3:
			/* Copy-on-write: every guest page write-protected. */
			pid = fork();
			if (!pid)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
			break;
		default:
			usleep(fuzz_below(&s, 5000));
			break;
		}
	}
	return NULL;
}

/*
 * The games start once the guest's setup is done: before it, the guest's
 * own assertions are checked, and memory changing under them would fail
 * them for nothing.
 */
struct games_thread {
	struct mem_games g;
	pthread_t th;
	bool tried, started;
};

static void start_games(void *arg)
{
	struct games_thread *gt = arg;
	sigset_t alrm, old;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	gt->tried = true;
	gt->started = !pthread_create(&gt->th, NULL, mem_games, &gt->g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int iter_memory(uint64_t seed, struct fuzz_ctx *c)
{
	struct lg_test_vm *t = fuzz_vm(guest_pagetables, NR_VCPUS, seed, 400, c);
	struct games_thread gt = { .g = { .seed = fuzz_mix(seed) } };
	int r;

	if (!t)
		return -1;
	gt.g.t = t;
	c->on_ready = start_games;
	c->on_ready_arg = &gt;
	r = run_guest(t, 2000, c);
	c->on_ready = NULL;
	gt.g.stop = 1;
	if (gt.started)
		pthread_join(gt.th, NULL);
	else if (!r && gt.tried) {
		snprintf(c->why, sizeof(c->why), "pthread_create failed");
		r = -1;
	}
	lg_test_vm_free(t);
	return r;
}

/* ------------------------------------------------------------------ */
/* Host side: the launcher killed.                                     */

/*
 * A child makes an SMP page-table guest (and plays with its memory half
 * the time) and runs it; it is SIGKILLed 1 to 500 ms in, wherever its
 * threads are: in a run, in the module's teardown of a kill, in a fork.
 */
static int iter_kills(uint64_t seed, struct fuzz_ctx *c)
{
	uint64_t s = seed;
	unsigned int delay = 1 + fuzz_below(&s, 500), games = fuzz_below(&s, 2);
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(c->why, sizeof(c->why), "fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		int r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (games)
			r = iter_memory(seed, c);
		else
			r = fuzz_guest(guest_pagetables, NR_VCPUS, seed, 100000, 5000, c);
		if (r)
			printf("# the launcher about to be killed failed first: %s\n", c->why);
		_exit(r ? 1 : 0);
	}
	usleep(delay * 1000);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid) {
		snprintf(c->why, sizeof(c->why), "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status)) {
		c->tally.killed++;
	} else if (WEXITSTATUS(status)) {
		snprintf(c->why, sizeof(c->why), "its guest failed before the SIGKILL");
		return -1;
	} else {
		c->tally.done++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

static int iter_xen(uint64_t seed, struct fuzz_ctx *c)
{
	return fuzz_xen_one(seed, &c->tally, c->why, sizeof(c->why));
}

/* Every test is long: a fixture for a timeout past any budget. */
FIXTURE(fuzz) {
	struct fuzz_ctx c;
};

FIXTURE_SETUP(fuzz)
{
	/* Line by line: the harness's child may end without flushing. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	fuzz_config(&self->c.cfg);
	if (self->c.cfg.iters > 0)
		printf("# seed %llu, %ld iterations per 10 of weight\n",
		       (unsigned long long)self->c.cfg.seed, self->c.cfg.iters);
	else
		printf("# seed %llu, %.0f s in all\n", (unsigned long long)self->c.cfg.seed,
		       self->c.cfg.seconds);
}

FIXTURE_TEARDOWN(fuzz)
{
}

/*
 * LG_FUZZ_TEST=name runs that one only (6.1's harness has no -t);
 * LG_FUZZ_SKIP="name ..." skips those.
 */
#define FUZZ_TEST(name, weight, guests)					\
	TEST_F_TIMEOUT(fuzz, name, 100000)				\
	{								\
		const char *only = getenv("LG_FUZZ_TEST");		\
		const char *skip = getenv("LG_FUZZ_SKIP");		\
									\
		if (only && *only && strcmp(only, #name))		\
			SKIP(return, "LG_FUZZ_TEST=%s", only);		\
		if (skip && fuzz_has_word(skip, #name))			\
			SKIP(return, "LG_FUZZ_SKIP=%s", skip);		\
		ASSERT_EQ(0, fuzz_loop(#name, weight, iter_##name, guests, \
				       &self->c));			\
	}

FUZZ_TEST(hcalls, 20, true)
FUZZ_TEST(kernel_insns, 15, true)
FUZZ_TEST(user_insns, 10, true)
FUZZ_TEST(pagetables, 15, true)
FUZZ_TEST(requests, 10, false)
FUZZ_TEST(memory, 10, true)
FUZZ_TEST(kills, 10, false)
FUZZ_TEST(xen, 10, true)

TEST_HARNESS_MAIN
