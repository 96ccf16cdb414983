// SPDX-License-Identifier: GPL-2.0
/*
 * world_switch_test: one vCPU going in and out of the guest.  Guest code
 * (guest_*) runs at CPL3 under lg.ko; host code (TEST bodies) drives it and
 * checks what the guest computed.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"

#define BAD_ADDR	0x10000000ULL		/* beyond LG_TEST_MEM */
#define HOST_TEXT	0xffffffff81000000ULL	/* typical host kernel text */

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

/* ------------------------------------------------------------------ */

static void guest_hypercalls(void)
{
	uint64_t i;

	GUEST_ASSERT_EQ(hcall0(999), LGUEST_HCALL_ENOSYS);
	GUEST_ASSERT_EQ(hcall0(39), LGUEST_HCALL_ENOSYS);	/* getpid */
	GUEST_ASSERT_EQ(hcall1(LHCALL_SET_STACK, 0x0000800000000000ULL),
			LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall2(LHCALL_SET_STACK, 0x1000, 2), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall3(LHCALL_LOAD_IDT_ENTRY, 256, 0x1000, LG_IDT_PRESENT),
			LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall1(LHCALL_INIT, 123), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall1(LHCALL_INIT, BAD_ADDR), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall1(LHCALL_INIT, (uint64_t)&guest_data), LGUEST_HCALL_OK);
	for (i = 0; i < 1000; i++)
		GUEST_SYNC(i * 3 + 1);
}

TEST(hypercall_round_trip)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_hypercalls);
	struct lguest_vcpu_stats st;
	uint64_t v, i;

	ASSERT_NE(NULL, t);
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(UCALL_SYNC, run(t, &v));
		ASSERT_EQ(i * 3 + 1, v);
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_LE(1008, st.hypercalls);
	EXPECT_LE(st.hypercalls, st.entries);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

/*
 * The fast path (vcpu/hypercalls.c) answers a hypercall between one world
 * switch and the next.  Each answer must still be that call's own (the
 * guest checks every result), a call that leaves work for the run loop (an
 * interrupt raised on this very vCPU) must be made once and its interrupt
 * delivered at once, and module parameter fast_switch turns it off.
 */
#define FAST_CALLS	200
#define SELF_VECTOR	0x42

static volatile uint64_t self_ipis;

static void on_self_ipi(struct guest_regs *r)
{
	self_ipis++;
}

static void guest_fastpath(void)
{
	uint64_t i, bad = 0, late = 0;

	guest_set_handler(SELF_VECTOR, on_self_ipi);
	guest_irq_enable();
	for (i = 0; i < FAST_CALLS; i++) {
		bad += hcall2(LHCALL_SET_STACK, 0x100000 + i * 16, i & 1 ? 2 : LG_STACK_IST) !=
		       (i & 1 ? LGUEST_HCALL_EINVAL : LGUEST_HCALL_OK);
		bad += hcall0(LHCALL_SEND_INTERRUPTS) != LGUEST_HCALL_OK;
		bad += hcall2(LHCALL_SEND_IPI, 1, SELF_VECTOR) != LGUEST_HCALL_OK;
		/* Delivered before the call returned: not a moment later. */
		late += self_ipis != i + 1;
	}
	bad += hcall2(LHCALL_SEND_IPI, 1, 7) != LGUEST_HCALL_EINVAL;
	GUEST_ASSERT_EQ(bad, 0);
	GUEST_ASSERT_EQ(late, 0);
	GUEST_ASSERT_EQ(self_ipis, FAST_CALLS);
	GUEST_SYNC(self_ipis);
}

static void check_fastpath(struct __test_metadata *_metadata, int fast)
{
	struct lg_fast_run r;
	uint64_t v;

	lg_test_run_fast_switch(&r, guest_fastpath, fast, &last_exit);
	LG_FAST_RUN_SYNC(&r, &last_exit);
	EXPECT_EQ(FAST_CALLS, r.value);
	/* Each IPI was sent once, answered by the fast path or not. */
	EXPECT_EQ(FAST_CALLS, r.st.ipis_sent);
	EXPECT_EQ(FAST_CALLS, r.st.irqs_delivered);
	EXPECT_LE(3 * FAST_CALLS + 1, r.st.hypercalls);
	EXPECT_LE(r.st.hypercalls, r.st.entries);
	if (fast) {
		/* Nearly all: a host tick can send one the whole way. */
		EXPECT_LE(3 * FAST_CALLS * 9 / 10, r.st.fastpath_hcalls);
	} else {
		EXPECT_EQ(0, r.st.fastpath_hcalls);
	}
	ASSERT_EQ(UCALL_DONE, run(r.vm, &v));
	lg_test_vm_free(r.vm);
}

TEST(hypercalls_answered_by_the_fast_path)
{
	check_fastpath(_metadata, 1);
}

TEST(hypercalls_answered_by_the_run_loop)
{
	check_fastpath(_metadata, 0);
}

/* ------------------------------------------------------------------ */

static struct trap_record {
	uint64_t vector, error, rip, cs, ss, rflags, rsp, cr2, count;
	uint64_t resume, if_in_handler;
} seen;

static void record_trap(struct guest_regs *r)
{
	seen.vector = r->vector;
	seen.error = r->error_code;
	seen.rip = r->rip;
	seen.cs = r->cs;
	seen.ss = r->ss;
	seen.rflags = r->rflags;
	seen.rsp = r->rsp;
	seen.cr2 = guest_data.cr2;
	seen.if_in_handler = guest_irqs_enabled();
	seen.count++;
	if (seen.resume)
		r->rip = seen.resume;
	r->rflags &= ~0x100ULL;		/* stop single-stepping */
}

/*
 * Call @fn, which must trap exactly once with @vector at @rip; resume at
 * @resume.  Checks the whole frame the host built.
 */
static void expect_trap(uint64_t (*fn)(uint64_t, uint64_t), uint64_t a,
			uint64_t b, uint64_t vector, const void *rip,
			const void *resume)
{
	uint64_t before = seen.count;

	seen.resume = (uint64_t)resume;
	fn(a, b);
	GUEST_ASSERT_EQ(seen.count, before + 1);
	GUEST_ASSERT_EQ(seen.vector, vector);
	GUEST_ASSERT_EQ(seen.rip, (uint64_t)rip);
	/* Taken in the guest kernel: the virtual kernel selectors. */
	GUEST_ASSERT_EQ(seen.cs, LGUEST_KERNEL_CS);
	GUEST_ASSERT_EQ(seen.ss, LGUEST_KERNEL_SS);
	/* The frame's RSP is the caller's, minus the return address. */
	GUEST_ASSERT_EQ(seen.rsp & 7, 0);
	GUEST_ASSERT(seen.rsp > LG_TEST_MEM - 65536 && seen.rsp < LG_TEST_MEM);
	/* Virtual IF: on when trapped, off inside the handler. */
	GUEST_ASSERT_EQ(seen.rflags & 0x200, 0x200);
	GUEST_ASSERT_EQ(seen.if_in_handler, 0);
	GUEST_ASSERT(guest_irqs_enabled());
}

static void guest_exceptions(void)
{
	unsigned int v;

	for (v = 0; v < 32; v++)
		guest_set_handler(v, record_trap);
	guest_irq_enable();

	expect_trap(lg_call_div0, 0, 0, 0, lg_insn_div0, lg_insn_div0_end);
	GUEST_ASSERT_EQ(seen.error, 0);
	expect_trap((void *)lg_call_singlestep, 0, 0, 1, lg_insn_singlestep_end,
		    lg_insn_singlestep_end);
	expect_trap(lg_call_int3, 0, 0, 3, lg_insn_int3_end, lg_insn_int3_end);
	expect_trap(lg_call_ud2, 0, 0, 6, lg_insn_ud2, lg_insn_ud2_end);

	/* Privileged instructions: #GP(0); nothing is emulated. */
	expect_trap(lg_call_hlt, 0, 0, 13, lg_insn_hlt, lg_insn_hlt_end);
	GUEST_ASSERT_EQ(seen.error, 0);
	expect_trap(lg_call_cli, 0, 0, 13, lg_insn_cli, lg_insn_cli_end);
	expect_trap(lg_call_read_dr7, 0, 0, 13, lg_insn_read_dr7, lg_insn_read_dr7_end);
	expect_trap(lg_call_wrmsr, 0, 0, 13, lg_insn_wrmsr, lg_insn_wrmsr_end);
	expect_trap(lg_call_swapgs, 0, 0, 13, lg_insn_swapgs, lg_insn_swapgs_end);
	expect_trap(lg_call_outb, 0, 0, 13, lg_insn_outb, lg_insn_outb_end);
	expect_trap(lg_call_inb, 0, 0, 13, lg_insn_inb, lg_insn_inb_end);

	/*
	 * sysenter with SYSENTER_CS = 0 faults: #GP(0) on Intel, #UD where the
	 * CPU (or QEMU's default vendor) is AMD, which has no sysenter in
	 * long mode.  Either way it never reaches the host's entry code.
	 */
	seen.resume = (uint64_t)lg_insn_sysenter_end;
	lg_call_sysenter(0, 0);
	GUEST_ASSERT(seen.vector == 6 || seen.vector == 13);
	GUEST_ASSERT_EQ(seen.rip, (uint64_t)lg_insn_sysenter);
	GUEST_ASSERT_EQ(seen.error, 0);

	/* int $0x80 with no handler: #GP with the IDT error code. */
	expect_trap(lg_call_int80, 0, 0, 13, lg_insn_int80, lg_insn_int80_end);
	GUEST_ASSERT_EQ(seen.error, 0x80 * 8 + 2);
	/*
	 * Any other `int n` meets a DPL-0 gate of the host's: the host reads
	 * the vector from the instruction (QEMU's TCG reports n*16+2 where
	 * hardware reports n*8+2), so the guest gets exactly what a CPU
	 * gives: #GP(n*8+2) at the instruction where it has no handler, and
	 * the software interrupt, past the instruction and its prefixes,
	 * where it has one.
	 */
	expect_trap(lg_call_int40, 0, 0, 13, lg_insn_int40, lg_insn_int40_end);
	GUEST_ASSERT_EQ(seen.error, 0x40 * 8 + 2);
	guest_set_handler(0x41, record_trap);
	expect_trap(lg_call_rex_int41, 0, 0, 0x41, lg_insn_rex_int41_end,
		    lg_insn_rex_int41_end);

	/*
	 * Page faults: CR2 and error code exactly as hardware reports them
	 * to a kernel: not present, supervisor, read or write.
	 */
	expect_trap(lg_call_read, BAD_ADDR, 0, 14, lg_insn_read, lg_insn_read_end);
	GUEST_ASSERT_EQ(seen.error, 0);
	GUEST_ASSERT_EQ(seen.cr2, BAD_ADDR);
	expect_trap(lg_call_write, BAD_ADDR + 8, 0, 14, lg_insn_write, lg_insn_write_end);
	GUEST_ASSERT_EQ(seen.error, 2);
	GUEST_ASSERT_EQ(seen.cr2, BAD_ADDR + 8);
	GUEST_SYNC(1);
}

TEST(exceptions_reach_the_guest_handler)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_exceptions);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_EQ(17, st.traps_delivered);
	EXPECT_EQ(2, st.int_n_decoded);
	/* Nothing mapped in the upper half: the host's TLB entries stay. */
	EXPECT_EQ(0, st.global_flushes);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static void guest_unhandled_ud2(void)
{
	lg_call_ud2(0, 0);
	GUEST_SYNC(1);
}

static void guest_unhandled_pf(void)
{
	lg_call_write(BAD_ADDR, 0);
	GUEST_SYNC(1);
}

TEST(unhandled_trap_kills_with_reason)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_unhandled_ud2);
	char want[LGUEST_MSG_LEN];
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_NONE, run(t, &v));
	EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
	snprintf(want, sizeof(want), "unhandled trap 6 (#UD) at rip %#lx, error 0x0",
		 (unsigned long)lg_insn_ud2);
	EXPECT_STREQ(want, last_exit.msg);
	/* A dead guest stays dead, with the first reason. */
	ASSERT_EQ(UCALL_NONE, run(t, &v));
	EXPECT_STREQ(want, last_exit.msg);
	lg_test_vm_free(t);

	t = lg_test_vm_create(guest_unhandled_pf);
	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_NONE, run(t, &v));
	EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
	snprintf(want, sizeof(want),
		 "unhandled page fault at %#llx (error 0x2) at rip %#lx",
		 BAD_ADDR, (unsigned long)lg_insn_write);
	EXPECT_STREQ(want, last_exit.msg);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

#define TICKS	50
static volatile uint64_t ticks;

static void tick(struct guest_regs *r)
{
	GUEST_ASSERT_EQ(r->vector, LGUEST_TIMER_VECTOR);
	ticks++;
	if (ticks < TICKS)
		guest_set_timer(1000 * 1000);
}

static void guest_timer(void)
{
	uint64_t i;

	guest_set_handler(LGUEST_TIMER_VECTOR, tick);
	guest_irq_enable();
	guest_set_timer(1000 * 1000);
	guest_halt_until(ticks >= TICKS);
	/* The timer was not re-armed: no more ticks may arrive. */
	for (i = 0; i < 20; i++)
		hcall0(LHCALL_SEND_INTERRUPTS);
	GUEST_SYNC(ticks);
}

TEST(timer_interrupts_arrive_as_requested)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_timer);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(TICKS, v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_EQ(TICKS, st.irqs_delivered);
	EXPECT_LE(1, st.halts);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t woken_by;

static void wake(struct guest_regs *r)
{
	woken_by = r->vector;
}

static void guest_halt_until_irq(void)
{
	guest_set_handler(0x40, wake);
	guest_irq_enable();
	GUEST_SYNC(1);
	guest_halt_until(woken_by);
	GUEST_SYNC(woken_by);
}

static void *inject_later(void *arg)
{
	struct lg_test_vm *t = arg;

	usleep(100 * 1000);
	return (void *)(long)lg_vm_irq(&t->vm, 0, 0x40);
}

TEST(halt_wakes_on_injected_interrupt)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_halt_until_irq);
	struct lguest_vcpu_stats st;
	pthread_t th;
	void *ret;
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	/* Bad injections are refused. */
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, 5));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, 256));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 1, 0x40));

	ASSERT_EQ(0, pthread_create(&th, NULL, inject_later, t));
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	EXPECT_EQ(0x40, v);
	pthread_join(th, &ret);
	EXPECT_EQ(0, (long)ret);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_LE(1, st.halts);
	EXPECT_EQ(1, st.irqs_delivered);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static void guest_spin(void)
{
	GUEST_SYNC(1);
	for (;;)
		asm volatile("" ::: "memory");
}

static void guest_halt_forever(void)
{
	GUEST_SYNC(1);
	for (;;)
		guest_halt();
}

static void on_alarm(int sig)
{
	(void)sig;
}

static volatile int counting;
static volatile unsigned long counted;

static void *count_meanwhile(void *arg)
{
	(void)arg;
	while (counting)
		counted++;
	return NULL;
}

/* A signal ends a run promptly, whether the guest spins or sleeps. */
TEST(signal_interrupts_a_spinning_or_halted_guest)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 200 * 1000 } };
	void (*guests[2])(void) = { guest_spin, guest_halt_forever };
	struct lg_test_vm *t;
	pthread_t th;
	uint64_t v;
	int g, i;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	for (g = 0; g < 2; g++) {
		t = lg_test_vm_create(guests[g]);
		ASSERT_NE(NULL, t);
		ASSERT_EQ(UCALL_SYNC, run(t, &v));
		counting = 1;
		counted = 0;
		ASSERT_EQ(0, pthread_create(&th, NULL, count_meanwhile, NULL));
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
			EXPECT_EQ(-EINTR, run(t, &v));
		}
		counting = 0;
		pthread_join(th, NULL);
		/* The host kept running other work while the guest ran. */
		EXPECT_LT(0, counted);
		lg_test_vm_free(t);
	}
}

/* kill -9 of a launcher whose guest spins frees the guest. */
TEST(sigkill_of_the_launcher_frees_the_guest)
{
	struct lguest_info before, during, after;
	struct lg_test_vm *t;
	pid_t child;
	int status, i;

	ASSERT_EQ(0, lg_test_info(&before));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		uint64_t v;

		t = lg_test_vm_create(guest_spin);
		if (!t)
			_exit(1);
		lg_test_run(t, &v, NULL);
		lg_test_run(t, &v, NULL);
		_exit(2);
	}
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, lg_test_info(&during));
		if (during.pinned_pages > before.pinned_pages)
			break;
		usleep(10 * 1000);
	}
	/* Pinned on demand: what the guest touched, far from all of it. */
	EXPECT_LT(before.pinned_pages, during.pinned_pages);
	EXPECT_GT(before.pinned_pages + LG_TEST_MEM / 4096 / 4, during.pinned_pages);
	usleep(200 * 1000);
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, lg_test_info(&after));
	EXPECT_EQ(before.nr_guests, after.nr_guests);
	EXPECT_EQ(before.pinned_pages, after.pinned_pages);
	EXPECT_EQ(before.table_pages, after.table_pages);
}

/* ------------------------------------------------------------------ */

static void guest_sync_forever(void)
{
	uint64_t i;

	for (i = 0;; i++)
		GUEST_SYNC(i);
}

static void set_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * copy_in_guest_info()'s fast path: on one CPU with no other vCPU, the
 * per-vCPU state is copied in once; every migration copies it again and
 * remaps the switcher's page.
 */
TEST(copy_in_fast_path_and_migration)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_sync_forever);
	struct lguest_vcpu_stats a, b;
	uint64_t v, i;

	ASSERT_NE(NULL, t);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	set_cpu(0);
	for (i = 0; i < 200; i++)
		ASSERT_EQ(UCALL_SYNC, run(t, &v));
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &a));
	EXPECT_LE(200, a.entries);
	EXPECT_GE(2, a.full_copies);
	EXPECT_GE(2, a.switcher_maps);

	for (i = 0; i < 100; i++) {
		set_cpu(i & 1);
		ASSERT_EQ(UCALL_SYNC, run(t, &v));
	}
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &b));
	EXPECT_LE(a.full_copies + 99, b.full_copies);
	EXPECT_LE(a.switcher_maps + 99, b.switcher_maps);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t async_hits[8];

static void async_handler(struct guest_regs *r)
{
	async_hits[r->vector - 0x50]++;
}

/*
 * The asynchronous ring: queued calls take effect, in order, before the
 * next synchronous call returns; a full ring is flushed by the guest.
 */
static void guest_async_ring(void)
{
	uint64_t i;

	for (i = 0; i < 8; i++)
		guest_set_handler_async(0x50 + i, async_handler);
	/* Nothing has run yet: the ring is only drained by a hypercall. */
	GUEST_ASSERT_EQ(guest_data.hcall_status[0], LHCALL_RING_QUEUED);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(guest_data.hcall_status[0], LHCALL_RING_FREE);
	GUEST_ASSERT_EQ(guest_data.hcall_status[7], LHCALL_RING_FREE);
	/* 200 calls go round the 64-slot ring three times. */
	for (i = 0; i < 200; i++)
		guest_async_hcall(LHCALL_SET_STACK, 0x1000 + i, LG_STACK_IST, 0);
	guest_flush_async();
	GUEST_SYNC(2);
	guest_irq_enable();
	GUEST_SYNC(3);
}

static void *inject_vectors(void *arg)
{
	struct lg_test_vm *t = arg;
	long i, r = 0;

	for (i = 0; i < 8; i++)
		r |= lg_vm_irq(&t->vm, 0, 0x50 + i);
	return (void *)r;
}

TEST(async_hypercall_ring)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_async_ring);
	struct lguest_vcpu_stats st;
	uint64_t v, i;
	pthread_t th;
	void *ret;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(2, v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_EQ(208, st.async_hypercalls);

	/* The handlers the ring installed are live: raise each vector. */
	ASSERT_EQ(0, pthread_create(&th, NULL, inject_vectors, t));
	pthread_join(th, &ret);
	EXPECT_EQ(0, (long)ret);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(3, v);
	ASSERT_EQ(UCALL_DONE, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	for (i = 0; i < 8; i++)
		EXPECT_EQ(1, ((uint64_t *)lg_test_hva(t, (void *)async_hits))[i]);
	lg_test_vm_free(t);
}

/* The ring cannot carry INIT: it would move the ring under its own drain. */
static void guest_queues_init(void)
{
	guest_async_hcall(LHCALL_INIT, (uint64_t)&guest_data, 0, 0);
	guest_flush_async();
	GUEST_SYNC(1);
}

TEST(init_cannot_be_queued)
{
	const char *why = lg_test_kill_reason(guest_queues_init, &last_exit);

	ASSERT_NE(NULL, why);
	EXPECT_STREQ("hypercall 1 cannot be queued", why);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t nm_count, stack_frame_at;

static void on_nm(struct guest_regs *r)
{
	(void)r;
	nm_count++;
	hcall1(LHCALL_TS, 0);
}

static uint8_t trap_stack[8192] __attribute__((aligned(16)));

static void on_ud_on_stack(struct guest_regs *r)
{
	stack_frame_at = (uint64_t)r;
	r->rip = (uint64_t)lg_insn_ud2_end;
}

/*
 * TS: the guest's first FPU use after LHCALL_TS(1) traps to its #NM handler
 * and then runs.  SET_STACK: an entry marked LG_IDT_STACK runs on that stack.
 */
static void guest_ts_and_stack(void)
{
	uint64_t x = 0;

	guest_set_handler(7, on_nm);
	hcall1(LHCALL_TS, 1);
	asm volatile("movq %1, %%xmm3\n movq %%xmm3, %0" : "=r"(x) : "r"(42ULL) : "xmm3");
	GUEST_ASSERT_EQ(x, 42);
	GUEST_ASSERT_EQ(nm_count, 1);
	asm volatile("movq %1, %%xmm3\n movq %%xmm3, %0" : "=r"(x) : "r"(43ULL) : "xmm3");
	GUEST_ASSERT_EQ(nm_count, 1);

	GUEST_ASSERT_EQ(hcall2(LHCALL_SET_STACK, (uint64_t)(trap_stack + sizeof(trap_stack)),
			       LG_STACK_IST), LGUEST_HCALL_OK);
	guest_set_handler_on_stack(6, on_ud_on_stack);
	lg_call_ud2(0, 0);
	GUEST_ASSERT(stack_frame_at > (uint64_t)trap_stack);
	GUEST_ASSERT(stack_frame_at < (uint64_t)trap_stack + sizeof(trap_stack));
	GUEST_SYNC(nm_count);
}

TEST(ts_traps_first_fpu_use_and_set_stack_switches_stacks)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_ts_and_stack);
	uint64_t v;
	double d = 1.5;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(1, v);
	/* The host's own FPU use right after: CR0.TS must be clear. */
	d *= v + 1;
	EXPECT_EQ(3, (int)d);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t late_irq;

static void on_late(struct guest_regs *r)
{
	late_irq = r->vector;
}

/* An interrupt raised while the guest's IF is off waits, then arrives. */
static void guest_send_interrupts(void)
{
	guest_set_handler(0x41, on_late);
	guest_irq_disable();
	GUEST_SYNC(1);
	/* The host marked it pending for us, and did not deliver it. */
	GUEST_ASSERT(guest_data.irq_pending[1] & (1ULL << 1));
	GUEST_ASSERT_EQ(late_irq, 0);
	guest_irq_enable();	/* sees the pending bit: SEND_INTERRUPTS */
	GUEST_ASSERT_EQ(late_irq, 0x41);
	GUEST_ASSERT_EQ(hcall_int(999, 0), LGUEST_HCALL_ENOSYS);
	GUEST_ASSERT_EQ(hcall_int(LHCALL_SET_STACK, 0x2000), LGUEST_HCALL_OK);
	GUEST_SYNC(2);
}

TEST(pending_interrupts_wait_for_the_virtual_if)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_send_interrupts);
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	ASSERT_EQ(0, lg_vm_irq(&t->vm, 0, 0x41));
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(2, v);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static void guest_regs_roundtrip(void)
{
	uint64_t flags;

	GUEST_SYNC(1);
	asm volatile("pushfq; popq %0" : "=r"(flags));
	GUEST_SYNC(flags);
}

static void *run_from_other_thread(void *arg)
{
	struct lguest_exit e;

	return (void *)(long)lg_vm_run(&((struct lg_test_vm *)arg)->vm, 0, &e);
}

/*
 * Registers: SETREGS sanitises what the guest would run with; only the
 * thread that first ran a vCPU may run it again.
 */
TEST(registers_are_sanitised_and_vcpus_owned)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_regs_roundtrip);
	struct lguest_regs r, r2;
	pthread_t th;
	void *ret;
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	ASSERT_EQ(0, lg_vm_regs(&t->vm, 0, &r, 0));
	EXPECT_EQ(LGUEST_KERNEL_CS, r.cs);
	EXPECT_EQ(LGUEST_KERNEL_SS, r.ss);
	EXPECT_EQ(0x200, r.rflags & 0x200);

	/* IOPL 3, NT, AC, VM and no IF: only the harmless bits survive. */
	r2 = r;
	r2.rflags = 0x3000 | 0x4000 | 0x40000 | 0x20000 | 0x1 | 0x400;
	r2.cs = 0x10;
	ASSERT_EQ(0, lg_vm_regs(&t->vm, 0, &r2, 1));
	ASSERT_EQ(0, lg_vm_regs(&t->vm, 0, &r2, 0));
	EXPECT_EQ(0x200 | 0x2 | 0x1 | 0x400, r2.rflags);
	EXPECT_EQ(LGUEST_KERNEL_CS, r2.cs);

	/* Non-canonical addresses are refused, and nothing changes. */
	r2.rip = 0x0000800000000000ULL;
	EXPECT_EQ(-EINVAL, lg_vm_regs(&t->vm, 0, &r2, 1));
	ASSERT_EQ(0, lg_vm_regs(&t->vm, 0, &r2, 0));
	EXPECT_EQ(r.rip, r2.rip);

	/* Another thread may not run our vCPU. */
	ASSERT_EQ(0, pthread_create(&th, NULL, run_from_other_thread, t));
	pthread_join(th, &ret);
	EXPECT_EQ(-EPERM, (long)ret);

	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	/* The guest runs with what survived: DF and CF set, IF on, IOPL 0. */
	EXPECT_EQ(0x200 | 0x400 | 0x1, v & (0x200 | 0x400 | 0x1 | 0x3000 | 0x4000 | 0x40000));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

/* The smallest guest: SHUTDOWN(POWEROFF, "", 0, 7) at address 0. */
static const unsigned char tiny_guest[] = {
	0xb8, 0x02, 0x00, 0x00, 0x00,	/* mov $LHCALL_SHUTDOWN, %eax */
	0x31, 0xff,			/* xor %edi, %edi */
	0x31, 0xf6,			/* xor %esi, %esi */
	0x31, 0xd2,			/* xor %edx, %edx */
	0x41, 0xba, 0x07, 0, 0, 0,	/* mov $7, %r10d */
	0x0f, 0x05,			/* syscall */
	0xeb, 0xfe,			/* jmp . */
};

static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

/* SUnreclaim with the caches dropped and every slab cache shrunk (root). */
static long settled_slab(void)
{
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
	int rc;

	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
	/* Not root, or no SLUB: then the raw number it is. */
	rc = system("for f in /sys/kernel/slab/*/shrink; do echo 1 > $f; done 2>/dev/null");

	(void)rc;
	return meminfo("SUnreclaim:");
}

/*
 * A debug kernel's KASAN holds freed objects back in its quarantine, so
 * slab counts say nothing there: LG_SLAB=0 (make check-debug) leaves them
 * out, and its kmemleak counts leaks object by object instead.
 */
static bool slab_counts(void)
{
	const char *e = getenv("LG_SLAB");

	return !e || strcmp(e, "0");
}

/*
 * Ten thousand guests take minutes on a debug kernel under TCG.
 * LG_GUEST_CYCLES makes it fewer: make check's configurations for the
 * host's mitigations, which differ from the others only in the switch
 * itself, run a thousand.
 */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, ten_thousand_guests_leak_nothing, 900)
{
	const char *env = getenv("LG_GUEST_CYCLES");
	int i, cycles = env && *env ? atoi(env) : 10000;
	struct lguest_info before, after;
	long slab0, slab1;
	char err[256];

	/* 8 MB for ten thousand, under a page per guest; at least 1 MB. */
	long limit_kb = cycles >= 1250 ? cycles * 8L * 1024 / 10000 : 1024;

	ASSERT_LT(0, cycles);
	ASSERT_EQ(0, lg_test_info(&before));
	slab0 = settled_slab();
	for (i = 0; i < cycles; i++) {
		struct lguest_exit e;
		struct lg_vm vm;

		ASSERT_EQ(0, lg_vm_create(&vm, LGUEST_DEV, 16384, err, sizeof(err)));
		memcpy(vm.mem, tiny_guest, sizeof(tiny_guest));
		ASSERT_EQ(0, lg_vm_init(&vm, 0, err, sizeof(err)));
		ASSERT_EQ(0, lg_vm_run(&vm, 0, &e));
		ASSERT_EQ(LGUEST_EXIT_SHUTDOWN, e.reason);
		ASSERT_EQ(7, e.args[1]);
		lg_vm_destroy(&vm);
	}
	/*
	 * Some of the freeing is deferred (RCU callbacks, the slab caches'
	 * per-CPU lists), and a loaded host runs it late: give it up to ten
	 * seconds, shrinking the caches each time, before calling it a leak.
	 */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, lg_test_info(&after));
		slab1 = settled_slab();
		if (before.nr_guests == after.nr_guests &&
		    before.pinned_pages == after.pinned_pages &&
		    before.table_pages == after.table_pages &&
		    (slab1 - slab0 < limit_kb || !slab_counts()))
			break;
		usleep(500 * 1000);
	}
	TH_LOG("%d guests; after %d waits: guests %u -> %u, SUnreclaim grew by %ld kB",
	       cycles, i, before.nr_guests, after.nr_guests, slab1 - slab0);
	EXPECT_EQ(before.nr_guests, after.nr_guests);
	EXPECT_EQ(before.pinned_pages, after.pinned_pages);
	EXPECT_EQ(before.table_pages, after.table_pages);
	/* Leaking even one page per guest would show as 4 kB a guest. */
	if (slab_counts())
		EXPECT_GT(limit_kb, slab1 - slab0) {
			TH_LOG("SUnreclaim grew by %ld kB", slab1 - slab0);
		}
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
