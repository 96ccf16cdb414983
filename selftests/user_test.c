// SPDX-License-Identifier: GPL-2.0
/*
 * user_test: guest user mode.  The guest kernel (guest/lib/task.c) runs
 * user tasks in address spaces of their own; the host keeps its kernel
 * pages out of their reach, delivers their system calls, int $0x80 and
 * exceptions to the guest kernel with user frames, and switches between
 * the two modes inside the switcher when it may (fast_switch), or in C.
 *
 * User functions (user_*) run at the guest's user level: they may use
 * registers, their stack and their own mappings, and call only inline
 * helpers (guest_user.h), never the kernel's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"
#include "guest_user.h"


static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)	LG_RUN_SYNC(t, v, &last_exit)

/* Paging on and the task model ready. */
static void kernel_boot(void)
{
	GUEST_ASSERT(lg_test_paging_on());
	guest_tasks_init();
}

/* ------------------------------------------------------------------ */

#define CALLS	1000

/* User mode: getpid a thousand times, then report through write. */
static void user_getpid_loop(uint64_t n)
{
	char buf[8];
	long pid = user_getpid(), i, bad = 0;

	for (i = 0; i < (long)n; i++)
		bad += user_getpid() != pid;
	buf[0] = 'p';
	buf[1] = 'i';
	buf[2] = 'd';
	buf[3] = '0' + pid;
	buf[4] = '\n';
	user_write(buf, 5);
	user_exit(bad ? 100 : 7 + pid);
}

static void guest_syscalls(void)
{
	int a, b;

	kernel_boot();
	a = guest_task_spawn(user_getpid_loop, CALLS);
	b = guest_task_spawn(user_getpid_loop, CALLS);
	GUEST_ASSERT(a > 0 && b > 0);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, 7 + a);
	GUEST_ASSERT_EQ(guest_task_find(b)->exit_code, 7 + b);
	GUEST_ASSERT_EQ(guest_task_output_len, 10);
	GUEST_ASSERT_EQ(guest_task_output[3], '0' + a);
	GUEST_ASSERT_EQ(guest_task_output[8], '0' + b);
	GUEST_SYNC(1);
}

static void check_syscalls(struct __test_metadata *_metadata, int fast)
{
	struct lg_fast_run r;
	uint64_t v;

	lg_test_run_fast_switch(&r, guest_syscalls, fast, &last_exit);
	LG_FAST_RUN_SYNC(&r, &last_exit);
	if (fast) {
		/* Nearly every call and return stayed inside the switcher. */
		EXPECT_LE(2 * CALLS, r.st.fast_syscalls);
		EXPECT_LE(2 * CALLS, r.st.fast_returns);
		EXPECT_GT(50, r.st.user_syscalls);
	} else {
		EXPECT_EQ(0, r.st.fast_syscalls);
		EXPECT_EQ(0, r.st.fast_returns);
		EXPECT_LE(2 * CALLS, r.st.user_syscalls);
		EXPECT_LE(2 * CALLS, r.st.user_returns);
	}
	ASSERT_EQ(UCALL_DONE, run(r.vm, &v));
	lg_test_vm_free(r.vm);
}

TEST(user_syscalls_reach_the_guest_kernel_fast_path)
{
	check_syscalls(_metadata, 1);
}

TEST(user_syscalls_reach_the_guest_kernel_slow_path)
{
	check_syscalls(_metadata, 0);
}

/* ------------------------------------------------------------------ */

/* Kernel data: user mode must not reach it, even knowing the address. */
static volatile uint64_t kernel_secret = 0x5ec7e7;

static void user_reads_kernel(uint64_t addr)
{
	user_exit((long)*(volatile uint64_t *)addr);
}

static void user_writes_code(uint64_t addr)
{
	*(volatile uint64_t *)addr = 0;
	user_exit(1);
}

static void user_jumps_to_kernel_data(uint64_t addr)
{
	((void (*)(void))addr)();
	user_exit(1);
}

static void guest_user_vs_kernel_pages(void)
{
	int a, b, c;

	kernel_boot();
	a = guest_task_spawn(user_reads_kernel, (uint64_t)&kernel_secret);
	b = guest_task_spawn(user_writes_code, (uint64_t)user_reads_kernel);
	c = guest_task_spawn(user_jumps_to_kernel_data, (uint64_t)&kernel_secret);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	/* Killed by #PF: present, user, read / write / instruction fetch. */
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, -14);
	GUEST_ASSERT_EQ(guest_task_find(a)->fault_addr, (uint64_t)&kernel_secret);
	GUEST_ASSERT_EQ(guest_task_find(a)->fault_error, 0x5);
	GUEST_ASSERT_EQ(guest_task_find(b)->exit_code, -14);
	GUEST_ASSERT_EQ(guest_task_find(b)->fault_addr, (uint64_t)user_reads_kernel);
	GUEST_ASSERT_EQ(guest_task_find(b)->fault_error, 0x7);
	GUEST_ASSERT_EQ(guest_task_find(c)->exit_code, -14);
	GUEST_ASSERT_EQ(guest_task_find(c)->fault_addr, (uint64_t)&kernel_secret);
	GUEST_ASSERT_EQ(guest_task_find(c)->fault_error, 0x15);
	/* And the kernel's own view is untouched. */
	GUEST_ASSERT_EQ(kernel_secret, 0x5ec7e7);
	GUEST_SYNC(1);
}

TEST(guest_user_cannot_touch_guest_kernel_pages)
{
	LG_RUN_GUEST(guest_user_vs_kernel_pages);
}

/* ------------------------------------------------------------------ */

#define PRIV_PAGES	4

/*
 * Each task fills its own memory at the same address, lets the other run,
 * and checks nothing changed.  Task 1 also maps a second region; task 2
 * then tries that address, which in its space maps nothing.
 */
static void user_private_memory(uint64_t tag)
{
	volatile uint64_t *p = user_mmap(PRIV_PAGES * 4096);
	long i, bad = 0;

	if ((uint64_t)p != GUEST_USER_MMAP)
		user_exit(90);
	for (i = 0; i < PRIV_PAGES * 512; i++)
		p[i] = tag * 100000 + i;
	if (tag == 1)
		(void)user_mmap(4096);
	user_yield();
	user_yield();
	for (i = 0; i < PRIV_PAGES * 512; i++)
		bad += p[i] != tag * 100000 + i;
	if (bad)
		user_exit(91);
	if (tag == 2)
		(void)*(volatile uint64_t *)(GUEST_USER_MMAP + PRIV_PAGES * 4096);
	user_exit(tag);
}

static void guest_separate_memory(void)
{
	int a, b;

	kernel_boot();
	a = guest_task_spawn(user_private_memory, 1);
	b = guest_task_spawn(user_private_memory, 2);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, 1);
	/* Task 2 saw its own data, then nothing where task 1 had a page. */
	GUEST_ASSERT_EQ(guest_task_find(b)->exit_code, -14);
	GUEST_ASSERT_EQ(guest_task_find(b)->fault_addr, GUEST_USER_MMAP + PRIV_PAGES * 4096);
	GUEST_ASSERT_EQ(guest_task_find(b)->fault_error, 0x4);
	GUEST_SYNC(1);
}

TEST(user_tasks_cannot_see_each_others_memory)
{
	LG_RUN_GUEST(guest_separate_memory);
}

/* ------------------------------------------------------------------ */

/*
 * fork: parent and child share every page read-only; the first write of
 * either copies.  Each checks it sees only its own writes.
 */
static void user_forks(uint64_t arg)
{
	volatile uint64_t *p = user_mmap(4096);
	long pid, st;

	(void)arg;
	p[0] = 1;
	pid = user_fork();
	if (pid == 0) {
		if (p[0] != 1)
			user_exit(21);
		p[0] = 2;
		user_yield();
		user_exit(p[0] == 2 ? 20 : 22);
	}
	user_yield();
	p[1] = 5;
	while ((st = user_wait(pid)) == -11)
		user_yield();
	user_exit(p[0] == 1 && p[1] == 5 && st == 20 ? 10 : 11);
}

static void guest_fork(void)
{
	uint64_t free_before;
	int a;

	kernel_boot();
	free_before = guest_pages_free();
	a = guest_task_spawn(user_forks, 0);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, 10);
	/* The child's and parent's writes (data and stacks) each copied once. */
	GUEST_ASSERT(guest_cow_faults >= 2);
	/* Everything both tasks had went back to the pool. */
	GUEST_ASSERT_EQ(guest_pages_free(), free_before);
	GUEST_SYNC(guest_cow_faults);
}

TEST(fork_copies_on_write)
{
	LG_RUN_GUEST(guest_fork);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t ud_cs, ud_ss, ud_rsp, ud_rip, ud_frame, gp_error;

static void on_user_ud(struct guest_regs *r)
{
	ud_cs = r->cs;
	ud_ss = r->ss;
	ud_rsp = r->rsp;
	ud_rip = r->rip;
	ud_frame = (uint64_t)r;
	r->rip = (uint64_t)lg_insn_ud2_end;
}

static void on_user_gp(struct guest_regs *r)
{
	gp_error = r->error_code;
	r->rip = (uint64_t)lg_insn_int1f_end;
}

/*
 * Traps in user mode reach the kernel's handlers with a user frame, on the
 * kernel's stack; int $0x80 is a system call because the kernel allowed
 * it; int $0x1f is a hypercall only for the kernel: from user mode it is
 * the #GP a DPL-0 gate gives.
 */
static void user_traps(uint64_t arg)
{
	long pid;

	(void)arg;
	lg_call_ud2(0, 0);
	pid = user_int80(39, 0);
	lg_call_int1f(0, 0);
	user_exit(pid == user_getpid() ? 30 : 31);
}

static void guest_user_traps(void)
{
	uint64_t kstack;
	int a;

	kernel_boot();
	guest_set_handler(6, on_user_ud);
	guest_set_handler(13, on_user_gp);
	kstack = guest_vcpu->scratch[GUEST_SCRATCH_KSTACK];
	a = guest_task_spawn(user_traps, 0);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, 30);
	GUEST_ASSERT_EQ(ud_cs, LGUEST_USER_CS);
	GUEST_ASSERT_EQ(ud_ss, LGUEST_USER_SS);
	GUEST_ASSERT_EQ(ud_rip, (uint64_t)lg_insn_ud2);
	GUEST_ASSERT(ud_rsp > GUEST_USER_STACK - 4 * 4096 && ud_rsp < GUEST_USER_STACK);
	GUEST_ASSERT(ud_frame < kstack && ud_frame > kstack - 1024);
	GUEST_ASSERT_EQ(gp_error, 0x1f * 8 + 2);
	GUEST_SYNC(1);
}

TEST(user_traps_reach_the_kernel_with_a_user_frame)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_user_traps);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_LE(3, st.traps_delivered);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t user_ticks, kernel_ticks;

static void on_tick(struct guest_regs *r)
{
	if (r->cs == LGUEST_USER_CS)
		user_ticks++;
	else
		kernel_ticks++;
	if (user_ticks >= 20) {
		guest_task_kill_current(r, 42);
		return;
	}
	guest_set_timer(1000 * 1000);
}

static void user_spins(uint64_t arg)
{
	(void)arg;
	for (;;)
		asm volatile("" ::: "memory");
}

/* User mode cannot turn interrupts off: the timer preempts a spinning task. */
static void guest_user_interrupts(void)
{
	int a;

	kernel_boot();
	guest_set_handler(LGUEST_TIMER_VECTOR, on_tick);
	guest_irq_disable();
	guest_set_timer(1000 * 1000);
	a = guest_task_spawn(user_spins, 0);
	GUEST_ASSERT_EQ(guest_tasks_run(), 1);
	GUEST_ASSERT_EQ(guest_task_find(a)->exit_code, 42);
	GUEST_ASSERT_EQ(user_ticks, 20);
	GUEST_SYNC(kernel_ticks);
}

TEST(user_mode_runs_with_interrupts_on)
{
	LG_RUN_GUEST(guest_user_interrupts);
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
