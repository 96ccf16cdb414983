/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The selftests' guest library, in the manner of KVM's selftests: a test's
 * guest code lives beside its host code in one static binary, and the host
 * copies its own loadable segments into guest memory at the same addresses
 * (guest virtual = guest physical = host virtual), so the guest can run the
 * functions and read the strings the host sees.  Guest code must not call
 * libc: it uses guest/lib (lguest_guest.h) and the GUEST_* macros below.
 *
 * Guest and host talk through "ucalls", NOTIFY hypercalls the host turns
 * into GUEST_SYNC values, GUEST_ASSERT failures and GUEST_DONE.
 */
#ifndef LG_TEST_H
#define LG_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include "lguest_guest.h"
#include "launcher.h"

enum ucall_type {
	UCALL_NONE,
	UCALL_SYNC,	/* value */
	UCALL_ASSERT,	/* value: address of a struct ucall_assert */
	UCALL_DONE,
};

struct ucall_assert {
	const char *expr;
	const char *file;
	uint64_t line;
	uint64_t a, b;
};

#define GUEST_SYNC(v)	guest_notify(LGUEST_NOTIFY_UCALL, UCALL_SYNC, (uint64_t)(v))
#define GUEST_DONE()	guest_notify(LGUEST_NOTIFY_UCALL, UCALL_DONE, 0)

#define GUEST_ASSERT_2(cond, va, vb)					\
	do {								\
		if (!(cond)) {						\
			static struct ucall_assert __ua;		\
			__ua.expr = #cond;				\
			__ua.file = __FILE__;				\
			__ua.line = __LINE__;				\
			__ua.a = (uint64_t)(va);			\
			__ua.b = (uint64_t)(vb);			\
			guest_notify(LGUEST_NOTIFY_UCALL, UCALL_ASSERT,	\
				     (uint64_t)&__ua);			\
		}							\
	} while (0)
#define GUEST_ASSERT(cond)		GUEST_ASSERT_2(cond, 0, 0)
#define GUEST_ASSERT_EQ(a, b)		GUEST_ASSERT_2((a) == (b), a, b)

/*
 * A test VM: one guest running a function of the test binary on vCPU 0,
 * which the test drives with lg_test_run().  An SMP one also has a thread
 * per secondary vCPU (lg_test_start_secondaries()), each running its vCPU
 * until the guest dies or the VM is freed, counting guest assertions that
 * failed there.
 */
struct lg_test_vm {
	struct lg_vm vm;
	unsigned int nr_threads;
	pthread_t threads[LGUEST_MAX_VCPUS];
	volatile pid_t tids[LGUEST_MAX_VCPUS];	/* of vCPU i's thread, i > 0 */
	volatile int stopping;
	volatile int secondary_failures;
	struct lguest_exit secondary_exit[LGUEST_MAX_VCPUS];
};

#define LG_TEST_MEM	(64ULL << 20)
/* Guest-physical pages the guest kernel's allocator hands out. */
#define LG_TEST_POOL_START	(16ULL << 20)
#define LG_TEST_POOL_END	(48ULL << 20)

/*
 * Guest side: build the guest kernel's page tables (guest memory
 * identity-mapped, the image's read-only segments open to user mode) and
 * switch to them.  Returns the root, or 0.
 */
uint64_t lg_test_paging_on(void);

/*
 * Create a guest whose vCPU 0 runs @guest_fn (after guest_init()) on a stack
 * at the top of guest memory, then makes GUEST_DONE.  Returns NULL and prints
 * why on failure.
 */
struct lg_test_vm *lg_test_vm_create(void (*guest_fn)(void));
struct lg_test_vm *lg_test_vm_create_smp(void (*guest_fn)(void),
					 unsigned int nr_vcpus);
/* With @mem_size bytes of memory (at least LG_TEST_MEM; the stack and
 * lg_test_paging_on()'s map stay in the first LG_TEST_MEM). */
struct lg_test_vm *lg_test_vm_create_mem(void (*guest_fn)(void),
					 unsigned int nr_vcpus, uint64_t mem_size);
int lg_test_start_secondaries(struct lg_test_vm *t);
/* Stops the secondaries; returns how many guest assertions failed there. */
int lg_test_vm_free(struct lg_test_vm *t);

/*
 * Run until a ucall, shutdown or death; console output is printed.  Returns
 * the ucall type (value in *value), or UCALL_NONE with *exit describing a
 * shutdown or kill.  -errno on a run error (EINTR included).
 */
int lg_test_run(struct lg_test_vm *t, uint64_t *value, struct lguest_exit *exit);

/*
 * Create @guest_fn's guest and run it to its first ucall or end with module
 * parameter fast_switch at @fast (lguest_util.h), then read vCPU 0's stats
 * there.  The parameter is the whole module's: it is back as it was before
 * this returns, so that a failed assertion after it leaves it so.
 */
struct lg_fast_run {
	struct lg_test_vm *vm;		/* NULL if it could not be made */
	int ucall;			/* lg_test_run()'s result, or -1 */
	uint64_t value;
	int stats;			/* lg_vm_stats()'s, or -1 */
	struct lguest_vcpu_stats st;
	int restored;			/* 0: fast_switch is as it was */
};
void lg_test_run_fast_switch(struct lg_fast_run *r, void (*guest_fn)(void),
			     int fast, struct lguest_exit *exit);
/* In a TEST: that run got to a GUEST_SYNC, with fast_switch back and stats. */
#define LG_FAST_RUN_SYNC(r, e)						\
	do {								\
		ASSERT_EQ(0, (r)->restored);				\
		ASSERT_NE(NULL, (r)->vm);				\
		ASSERT_EQ(UCALL_SYNC, (r)->ucall) {			\
			TH_LOG("exit %u: %s", (e)->reason, (e)->msg);	\
		}							\
		ASSERT_EQ(0, (r)->stats);				\
	} while (0)

/*
 * In a TEST: run until the guest's next GUEST_SYNC (its value in *v), or
 * fail, saying how the guest ended instead.  @e gets the last exit.
 */
#define LG_RUN_SYNC(t, v, e)						\
	ASSERT_EQ(UCALL_SYNC, lg_test_run(t, v, e)) {			\
		TH_LOG("exit %u: %s", (e)->reason, (e)->msg);		\
	}

/*
 * In a TEST: a guest whose function checks everything itself (GUEST_ASSERT)
 * and ends with a GUEST_SYNC, run to that sync and then to its end.
 */
#define LG_RUN_GUEST(fn)						\
	do {								\
		struct lg_test_vm *__t = lg_test_vm_create(fn);		\
		struct lguest_exit __e;					\
		uint64_t __v;						\
									\
		ASSERT_NE(NULL, __t);					\
		LG_RUN_SYNC(__t, &__v, &__e);				\
		ASSERT_EQ(UCALL_DONE, lg_test_run(__t, &__v, &__e));	\
		lg_test_vm_free(__t);					\
	} while (0)

/*
 * Run a guest that must be killed: the host's reason (in @exit), or NULL
 * (and what happened instead is printed).
 */
const char *lg_test_kill_reason(void (*guest_fn)(void), struct lguest_exit *exit);

/* Host view of a guest object: same address, other copy. */
static inline void *lg_test_hva(struct lg_test_vm *t, const void *gva)
{
	return (char *)t->vm.mem + (uintptr_t)gva;
}

/* Set by the host in the guest's copy of @var before it runs. */
#define SET_GUEST(t, var, val)	(*(__typeof__(var) *)lg_test_hva(t, &(var)) = (val))

/* guest_insns.S: each faulting instruction, callable, with its labels. */
#define LG_INSN(name)							\
	extern char lg_insn_##name[], lg_insn_##name##_end[];		\
	uint64_t lg_call_##name(uint64_t a, uint64_t b)
LG_INSN(ud2);
LG_INSN(int3);
LG_INSN(hlt);
LG_INSN(int80);
LG_INSN(int40);
LG_INSN(rex_int41);
LG_INSN(sysenter);
LG_INSN(div0);
LG_INSN(read);
LG_INSN(write);
LG_INSN(outb);
LG_INSN(inb);
LG_INSN(read_dr7);
LG_INSN(cli);
LG_INSN(wrmsr);
LG_INSN(swapgs);
LG_INSN(int1f);
LG_INSN(fetch);
LG_INSN(load_ds);
extern char lg_insn_singlestep_end[];
void lg_call_singlestep(void);

uint64_t lg_test_info_pinned(void);
int lg_test_info(struct lguest_info *info);

#endif /* LG_TEST_H */
