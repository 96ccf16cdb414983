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

#define FAST_SWITCH	"/sys/module/lg/parameters/fast_switch"

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)							\
	ASSERT_EQ(UCALL_SYNC, run(t, v)) {				\
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);	\
	}

/* Paging on and the task model ready. */
static void kernel_boot(void)
{
	GUEST_ASSERT(lg_test_paging_on());
	guest_tasks_init();
}

static struct guest_task *task_of(int pid)
{
	int i;

	for (i = 0; i < GUEST_MAX_TASKS; i++)
		if (guest_tasks[i].pid == pid)
			return &guest_tasks[i];
	return 0;
}

static int set_fast_switch(int on)
{
	FILE *f = fopen(FAST_SWITCH, "w");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "%c\n", on ? 'Y' : 'N') == 2 ? 0 : -1;
	return fclose(f) ? -1 : r;
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
	GUEST_ASSERT_EQ(task_of(a)->exit_code, 7 + a);
	GUEST_ASSERT_EQ(task_of(b)->exit_code, 7 + b);
	GUEST_ASSERT_EQ(guest_task_output_len, 10);
	GUEST_ASSERT_EQ(guest_task_output[3], '0' + a);
	GUEST_ASSERT_EQ(guest_task_output[8], '0' + b);
	GUEST_SYNC(1);
}

static void check_syscalls(struct __test_metadata *_metadata, int fast)
{
	struct lg_test_vm *t;
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_EQ(0, set_fast_switch(fast));
	t = lg_test_vm_create(guest_syscalls);
	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	if (fast) {
		/* Nearly every call and return stayed inside the switcher. */
		EXPECT_LE(2 * CALLS, st.fast_syscalls);
		EXPECT_LE(2 * CALLS, st.fast_returns);
		EXPECT_GT(50, st.user_syscalls);
	} else {
		EXPECT_EQ(0, st.fast_syscalls);
		EXPECT_EQ(0, st.fast_returns);
		EXPECT_LE(2 * CALLS, st.user_syscalls);
		EXPECT_LE(2 * CALLS, st.user_returns);
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	ASSERT_EQ(0, set_fast_switch(1));
}

TEST(user_syscalls_reach_the_guest_kernel_fast_path)
{
	check_syscalls(_metadata, 1);
}

TEST(user_syscalls_reach_the_guest_kernel_slow_path)
{
	check_syscalls(_metadata, 0);
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
