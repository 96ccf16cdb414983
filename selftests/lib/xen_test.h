/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The selftests' library for Xen PV guests (LGUEST_INIT_XEN_PV), the Xen
 * counterpart of lg_test.h: a test's guest code lives beside its host code
 * in one static binary, which copies its loadable segments into guest
 * memory at the same addresses.  The guest starts as a Xen domain builder
 * leaves a 64-bit PV kernel: in guest kernel mode at CPL3 on CS 0xe033 /
 * SS 0xe02b, paging on at bootstrap tables the host built (guest memory
 * identity-mapped with 4 KiB pages), RSI = start_info, events masked, no
 * trap table.  It speaks only Xen's ABI: hypercalls are a bare `syscall`,
 * pointers in them are guest-virtual (= guest-physical here).
 *
 * Guest and host talk through "ucalls": the guest fills xen_test_ucall and
 * sends an event on XEN_TEST_PORT, the console port the module turns into
 * an LGUEST_EXIT_EVTCHN.  Guest code must not call libc (the copy of the
 * binary in guest memory has no resolved IFUNCs, no TLS, no heap).
 *
 * Include this instead of lg_test.h, not with it: both define GUEST_SYNC,
 * GUEST_ASSERT and GUEST_DONE, for their own guests.
 */
#ifndef XEN_TEST_H
#define XEN_TEST_H

#ifdef __ASSEMBLER__
#define XT_UL(x)	x
#else
#define XT_UL(x)	x##ULL
#endif

/*
 * Guest-physical (= guest-virtual) layout.  RAM is XEN_TEST_RAM; the page
 * just above it is the shared_info page, outside RAM as Xen's is, and
 * above that the grant table's frames (given to the guest only by
 * xen_test_vm_create_devices()), so the module gets RAM + five pages.
 * The binary's image sits at 4 MiB; what the host builds lies well above
 * it, and XEN_TEST_SCRATCH..RAM is free for tests.  XEN_TEST_UNMAPPED is
 * not mapped by the bootstrap tables.
 */
#define XEN_TEST_RAM		XT_UL(0x4000000)	/* 64 MiB */
#define XEN_TEST_SHARED_INFO	XEN_TEST_RAM
#define XEN_TEST_GNTTAB		(XEN_TEST_SHARED_INFO + 4096)
#define XEN_TEST_GNTTAB_FRAMES	4
#define XEN_TEST_MEM		(XEN_TEST_GNTTAB + XEN_TEST_GNTTAB_FRAMES * 4096)
#define XEN_TEST_START_INFO	XT_UL(0x3000000)	/* 48 MiB */
#define XEN_TEST_CONSOLE_RING	(XEN_TEST_START_INFO + 0x1000)
#define XEN_TEST_STORE_RING	(XEN_TEST_START_INFO + 0x2000)
#define XEN_TEST_PT_BASE	(XEN_TEST_START_INFO + 0x10000)
#define XEN_TEST_P2M		(XEN_TEST_START_INFO + 0x80000)
#define XEN_TEST_STACK_TOP	XT_UL(0x3200000)	/* 1 MiB stack below */
#define XEN_TEST_SCRATCH	XT_UL(0x3800000)
#define XEN_TEST_UNMAPPED	XT_UL(0x10000000)

/* The event channel the ucalls go through (xen.console_port). */
#define XEN_TEST_PORT		1
/* The xenstore's (xen.store_port), with xen_test_vm_create_devices(). */
#define XEN_TEST_STORE_PORT	2

/* vcpu_info[0].arch.cr2 in shared_info (docs/xen-pv.md 2.4). */
#define XEN_TEST_VCPU0_CR2	(XEN_TEST_SHARED_INFO + 0x10)

/* struct xen_trap_record's layout, for the handlers in xen_test_entry.S. */
#define XT_REC_COUNT		0
#define XT_REC_VECTOR		8
#define XT_REC_FRAME		16
#define XT_REC_RCX		24
#define XT_REC_R11		32
#define XT_REC_ERROR		40
#define XT_REC_HAS_ERROR	48
#define XT_REC_RIP		56
#define XT_REC_CS		64
#define XT_REC_RFLAGS		72
#define XT_REC_RSP		80
#define XT_REC_SS		88
#define XT_REC_CR2		96
#define XT_REC_ARMED		104
#define XT_REC_SKIP		112
#define XT_REC_RESUME		120
#define XT_REC_SHIFT		7	/* 128 bytes each */
#define XEN_TEST_NR_TRAPS	32

/* Where the event callback looks in shared_info (vCPU 0's vcpu_info). */
#define XEN_TEST_VCPU0_PENDING	(XEN_TEST_SHARED_INFO + 0)
#define XEN_TEST_VCPU0_MASK	(XEN_TEST_SHARED_INFO + 1)
#define XEN_TEST_VCPU0_SEL	(XEN_TEST_SHARED_INFO + 8)
#define XEN_TEST_EVTCHN_PENDING	(XEN_TEST_SHARED_INFO + 2048)

/* struct xen_test_events' layout, for the event callback. */
#define XT_EV_COUNT		0
#define XT_EV_RIP		8
#define XT_EV_MASK		16
#define XT_EV_SEL		24
#define XT_EV_PENDING		32

/* struct xen_test_boot's layout, for the entry stub. */
#define XT_BOOT_RSP		0
#define XT_BOOT_RSI		8
#define XT_BOOT_CS		16
#define XT_BOOT_SS		24
#define XT_BOOT_DS		32
#define XT_BOOT_ES		40
#define XT_BOOT_FS		48
#define XT_BOOT_GS		56
#define XT_BOOT_RFLAGS		64

#ifndef __ASSEMBLER__

#ifdef LG_TEST_H
#error "xen_test.h and lg_test.h are for different guests: include one"
#endif

/* Guests use Xen's public headers (libxen-dev), at Xen 4.14's interface. */
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <linux/lguest.h>
#include "launcher.h"

/* ------------------------------------------------------------------ */
/* Guest side: hypercalls.                                             */

/*
 * A Xen hypercall from guest kernel mode: RAX = number, arguments in RDI,
 * RSI, RDX, R10, R8, result in RAX; RCX and R11 are lost to `syscall`.
 * The argument registers are treated as clobbered too (a debug Xen
 * poisons them).
 */
static inline long xen_hypercall(uint64_t nr, uint64_t a1, uint64_t a2,
				 uint64_t a3, uint64_t a4, uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10),
			   "+r"(r8)
			 : "0"(nr)
			 : "rcx", "r11", "memory");
	return ret;
}

#define xen_hcall0(nr)		xen_hypercall(nr, 0, 0, 0, 0, 0)
#define xen_hcall1(nr, a)	xen_hypercall(nr, (uint64_t)(a), 0, 0, 0, 0)
#define xen_hcall2(nr, a, b)	xen_hypercall(nr, (uint64_t)(a), (uint64_t)(b), 0, 0, 0)
#define xen_hcall3(nr, a, b, c)						\
	xen_hypercall(nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0)

/* The L1 entry mapping @va in the (identity-mapped) boot tables. */
static inline uint64_t *xen_test_l1e(uint64_t va)
{
	uint64_t *t = (uint64_t *)XEN_TEST_PT_BASE;
	int level;

	for (level = 4; level > 1; level--)
		t = (uint64_t *)(t[(va >> (12 + 9 * (level - 1))) & 511] &
				 0x000ffffffffff000ULL);
	return &t[(va >> 12) & 511];
}

static inline long HYPERVISOR_set_trap_table(const struct trap_info *table)
{
	return xen_hcall1(__HYPERVISOR_set_trap_table, table);
}

static inline long HYPERVISOR_multicall(struct multicall_entry *calls,
					uint64_t nr)
{
	return xen_hcall2(__HYPERVISOR_multicall, calls, nr);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
	return xen_hcall2(__HYPERVISOR_xen_version, (int64_t)cmd, arg);
}

static inline long HYPERVISOR_console_io(int cmd, uint64_t count,
					 const void *buf)
{
	return xen_hcall3(__HYPERVISOR_console_io, (int64_t)cmd, count, buf);
}

static inline long HYPERVISOR_grant_table_op(unsigned int cmd, void *uop,
					     unsigned int count)
{
	return xen_hcall3(__HYPERVISOR_grant_table_op, cmd, uop, count);
}

static inline long HYPERVISOR_set_segment_base(int reg, uint64_t value)
{
	return xen_hcall2(__HYPERVISOR_set_segment_base, (int64_t)reg, value);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return xen_hcall2(__HYPERVISOR_sched_op, (int64_t)cmd, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return xen_hcall2(__HYPERVISOR_event_channel_op, (int64_t)cmd, arg);
}

/* The first word through FS or GS: what the segment's base points at. */
static inline uint64_t read_fs0(void)
{
	uint64_t v;

	__asm__ volatile("movq %%fs:0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_gs0(void)
{
	uint64_t v;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(v));
	return v;
}

static inline long HYPERVISOR_vcpu_op(int cmd, uint64_t vcpu, const void *arg)
{
	return xen_hcall3(__HYPERVISOR_vcpu_op, (int64_t)cmd, vcpu, arg);
}

static inline long HYPERVISOR_physdev_op(int cmd, void *arg)
{
	return xen_hcall2(__HYPERVISOR_physdev_op, (int64_t)cmd, arg);
}

/* What the guest was started with (saved by the entry stub). */
extern struct start_info *xen_test_start_info;

/* The registers the guest found at its entry (docs/xen-pv.md 2.1). */
struct xen_test_boot {
	uint64_t rsp, rsi;
	uint64_t cs, ss, ds, es, fs, gs;	/* selectors */
	uint64_t rflags;
};

extern struct xen_test_boot xen_test_boot;

static inline struct shared_info *xen_test_shared_info(void)
{
	return (struct shared_info *)XEN_TEST_SHARED_INFO;
}

/* ------------------------------------------------------------------ */
/* Guest side: ucalls.                                                 */

enum xen_ucall_type {
	XEN_UCALL_NONE,
	XEN_UCALL_SYNC,		/* value */
	XEN_UCALL_ASSERT,	/* value: address of a struct xen_ucall_assert */
	XEN_UCALL_DONE,
};

struct xen_ucall_assert {
	const char *expr;
	const char *file;
	uint64_t line;
	uint64_t a, b;
};

/* Where the guest leaves its ucall for the host to read. */
struct xen_ucall {
	uint64_t type;
	uint64_t value;
	uint64_t seq;		/* counts the guest's ucalls */
};

extern volatile struct xen_ucall xen_test_ucall;

/* Fill xen_test_ucall and send the event on XEN_TEST_PORT. */
void xen_guest_ucall(uint64_t type, uint64_t value);

#define GUEST_SYNC(v)	xen_guest_ucall(XEN_UCALL_SYNC, (uint64_t)(v))
#define GUEST_DONE()	xen_guest_ucall(XEN_UCALL_DONE, 0)

#define GUEST_ASSERT_2(cond, va, vb)					\
	do {								\
		if (!(cond)) {						\
			static struct xen_ucall_assert __ua;		\
			__ua.expr = #cond;				\
			__ua.file = __FILE__;				\
			__ua.line = __LINE__;				\
			__ua.a = (uint64_t)(va);			\
			__ua.b = (uint64_t)(vb);			\
			xen_guest_ucall(XEN_UCALL_ASSERT,		\
					(uint64_t)&__ua);		\
		}							\
	} while (0)
#define GUEST_ASSERT(cond)		GUEST_ASSERT_2(cond, 0, 0)
#define GUEST_ASSERT_EQ(a, b)		GUEST_ASSERT_2((a) == (b), a, b)

/* ------------------------------------------------------------------ */
/* Guest side: exceptions.                                             */

/*
 * What the handler for one vector saw last: the whole bounce frame the
 * module built (docs/xen-pv.md 3.5: RCX, R11, [error code], RIP, CS,
 * RFLAGS, RSP, SS from the lowest address), where it lay, and CR2 from
 * vcpu_info[0].  A vector must be armed (xen_trap_expect()) for each
 * trap: an unarmed one is reported as a guest assertion and the guest
 * crashes itself.  On return (HYPERVISOR_iret) RIP becomes @resume if
 * set, else RIP + @skip.
 */
struct xen_trap_record {
	uint64_t count;
	uint64_t vector;
	uint64_t frame;		/* address of the frame's RCX slot */
	uint64_t rcx, r11;
	uint64_t error, has_error;
	uint64_t rip, cs, rflags, rsp, ss;
	uint64_t cr2;
	uint64_t armed;
	uint64_t skip;
	uint64_t resume;
};

extern volatile struct xen_trap_record xen_trap_records[XEN_TEST_NR_TRAPS];

/*
 * Register a handler for vectors 0-31 (DPL 3 for #BP and #OF, so int3
 * and into work from guest kernel mode, DPL 0 otherwise) with
 * set_trap_table; returns its result.
 */
long xen_guest_install_traps(void);

static inline void xen_trap_expect(unsigned int vector, uint64_t skip,
				   const void *resume)
{
	xen_trap_records[vector].skip = skip;
	xen_trap_records[vector].resume = (uint64_t)resume;
	xen_trap_records[vector].armed = 1;
}

/* The handler stubs (xen_test_entry.S), one per vector. */
extern const uint64_t xen_trap_stubs[XEN_TEST_NR_TRAPS];

/*
 * Return through HYPERVISOR_iret with the stack holding {rip, cs, rflags,
 * rsp, ss} and RAX, R11, RCX as they should be restored: pushes flags 0,
 * RCX, R11, RAX (struct iret_context) and makes hypercall 23, as Linux's
 * xen_iret does.
 */
extern char xen_test_iret[];

static inline uint64_t xen_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline void xen_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* Xen's forced-emulation CPUID: ud2; .ascii "xen"; cpuid. */
static inline void xen_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	__asm__ volatile("ud2; .ascii \"xen\"; cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "0"(leaf), "2"(subleaf));
}

/* ------------------------------------------------------------------ */
/* Guest side: events.                                                 */

/*
 * What xen_test_event_callback saw: how many upcalls, where the last one
 * interrupted, vcpu_info's upcall mask on entry (the module sets it in
 * the bounce), and the OR of every pending_sel word and evtchn_pending
 * word 0 (ports 0-63) it took.  The callback does what Linux's does
 * (events_2l.c), in small: it clears evtchn_upcall_pending, takes
 * pending_sel and the pending ports (clearing them), and returns with
 * HYPERVISOR_iret, which unmasks events again.
 */
struct xen_test_events {
	uint64_t count;
	uint64_t rip;
	uint64_t mask;
	uint64_t sel;
	uint64_t pending;
};

extern volatile struct xen_test_events xen_test_events;
extern char xen_test_event_callback[];

/*
 * A context for another vCPU, as Linux's cpu_initialize_context() fills
 * one: kernel mode on the flat selectors and the bootstrap tables, at @fn
 * (entered as if called, so never returning) on the stack of @size bytes
 * at @stack.  @ctx is zeroed; the rest is the caller's.
 */
void xen_guest_vcpu_context(struct vcpu_guest_context *ctx, void (*fn)(void),
			    void *stack, uint64_t size);

/* Register xen_test_event_callback (CALLBACKOP_register); its result. */
long xen_guest_install_event_callback(void);

/*
 * Sleep in SCHEDOP_block until xen_test_event_callback has counted past
 * @seen, blocking at most @max times: how many times it blocked, or
 * SCHEDOP_block's error.  vCPU 0.
 * The guest side of Xen's idle protocol, as Linux's idle loop keeps it
 * (xen_safe_halt() runs with interrupts off): events are masked while the
 * count is checked, and SCHEDOP_block unmasks them as it goes to sleep.
 * Checked unmasked, an upcall between the check and the hypercall would
 * be counted and then slept through.  Returns with events unmasked, any
 * upcall pending delivered (as Linux's xen_irq_enable()).
 */
long xen_guest_block_past(uint64_t seen, long max);

/*
 * Xen's system time, from vcpu_info[0]'s pvclock (vcpu_time_info): the
 * version protocol, then system_time + scaled TSC delta, as Linux's
 * pvclock_clocksource_read().
 */
uint64_t xen_guest_system_time(void);

static inline void xen_guest_set_bit(unsigned int nr, volatile uint64_t *words)
{
	__atomic_fetch_or(&words[nr / 64], 1ULL << (nr % 64), __ATOMIC_SEQ_CST);
}

static inline int xen_guest_test_bit(unsigned int nr, const volatile uint64_t *words)
{
	return (words[nr / 64] >> (nr % 64)) & 1;
}

/* ------------------------------------------------------------------ */
/* Host side.                                                          */

#define XEN_TEST_CONSOLE_MAX	(64 * 1024)

#define XEN_TEST_MAX_VCPUS	LGUEST_MAX_VCPUS

struct xen_test_vm;

/* A secondary vCPU's thread (xen_test_start_vcpus()). */
struct xen_test_vcpu {
	struct xen_test_vm *t;
	unsigned int id;
	pthread_t th;
	int started;
	int error;			/* a run request's -errno */
	unsigned int exits;
	struct lguest_exit exit;	/* the last one */
};

struct xen_test_vm {
	struct lg_vm vm;
	struct xen_test_vcpu vcpus[XEN_TEST_MAX_VCPUS];
	int stopping;
	struct lguest_exit exit;	/* the last exit xen_test_run() saw */
	uint64_t ucalls;		/* ucalls received */
	/* Console output (LGUEST_EXIT_CONSOLE), NUL-terminated. */
	char console[XEN_TEST_CONSOLE_MAX + 1];
	size_t console_len;		/* bytes kept in console[] */
	uint64_t console_total;		/* bytes received */
	unsigned int console_exits;
	unsigned int console_max_chunk;	/* the largest args[0] seen */
	int console_bad;		/* an exit with args[0] > LGUEST_MSG_LEN */
};

/*
 * Create a Xen PV guest whose vCPU 0 runs @guest_fn and then makes
 * GUEST_DONE.  Returns NULL and prints why on failure.
 */
struct xen_test_vm *xen_test_vm_create(void (*guest_fn)(void));
/*
 * The same with @nr_vcpus vCPUs: vCPU 0 runs @guest_fn (xen_test_run() on
 * the caller's thread); the others start stopped, as on Xen, each on a
 * thread of its own once xen_test_start_vcpus() is called, until the
 * guest ends or xen_test_vm_free().
 */
struct xen_test_vm *xen_test_vm_create_smp(void (*guest_fn)(void), unsigned int nr_vcpus);
/*
 * One vCPU, and what a guest with devices has besides: a xenstore channel
 * (XEN_TEST_STORE_PORT, with which it may allocate channels to the
 * launcher, "domain 0") and a grant table of XEN_TEST_GNTTAB_FRAMES
 * frames at XEN_TEST_GNTTAB.
 */
struct xen_test_vm *xen_test_vm_create_devices(void (*guest_fn)(void));
int xen_test_start_vcpus(struct xen_test_vm *t);
void xen_test_vm_free(struct xen_test_vm *t);

/*
 * Run until a ucall, a shutdown or death, collecting console output.
 * Returns the ucall's type (its value in *value), or XEN_UCALL_NONE with
 * t->exit describing the exit that ended the run (LGUEST_EXIT_SHUTDOWN,
 * LGUEST_EXIT_KILLED, or anything else unexpected), or -errno on a run
 * error.  A failed guest assertion is printed as a TAP comment.
 */
int xen_test_run(struct xen_test_vm *t, uint64_t *value);

int xen_test_stats(struct xen_test_vm *t, struct lguest_vcpu_stats *st);

/* Host view of a guest object: same address, the guest's copy. */
static inline void *xen_test_hva(struct xen_test_vm *t, const volatile void *gva)
{
	return (char *)t->vm.mem + (uintptr_t)gva;
}

/* The module's ABI version, or 0 without a device. */
unsigned int xen_test_abi_version(void);

/*
 * In a TEST: run to the guest's next GUEST_SYNC (value in *v), or fail
 * saying how the guest ended instead.
 */
#define XEN_RUN_SYNC(t, v)						\
	ASSERT_EQ(XEN_UCALL_SYNC, xen_test_run(t, v)) {			\
		TH_LOG("exit %u (args %#llx): %s", (t)->exit.reason,	\
		       (unsigned long long)(t)->exit.args[0], (t)->exit.msg); \
	}

/* In a TEST: run the guest to its end (its function returned). */
#define XEN_RUN_DONE(t)							\
	do {								\
		uint64_t __v;						\
									\
		ASSERT_EQ(XEN_UCALL_DONE, xen_test_run(t, &__v)) {	\
			TH_LOG("exit %u (args %#llx): %s", (t)->exit.reason, \
			       (unsigned long long)(t)->exit.args[0],	\
			       (t)->exit.msg);				\
		}							\
	} while (0)

/*
 * In a TEST: run the guest to its GUEST_SYNC(1), then to its
 * GUEST_SYNC(2), and set @fills to the shadow fills it made between them.
 */
#define XEN_FILLS_BETWEEN_SYNCS(t, fills)				\
	do {								\
		struct lguest_vcpu_stats __st1, __st2;			\
		uint64_t __v;						\
									\
		ASSERT_NE(NULL, t);					\
		XEN_RUN_SYNC(t, &__v);					\
		ASSERT_EQ(1, __v);					\
		ASSERT_EQ(0, xen_test_stats(t, &__st1));		\
		XEN_RUN_SYNC(t, &__v);					\
		ASSERT_EQ(2, __v);					\
		ASSERT_EQ(0, xen_test_stats(t, &__st2));		\
		(fills) = __st2.shadow_fills - __st1.shadow_fills;	\
	} while (0)

#endif /* __ASSEMBLER__ */
#endif /* XEN_TEST_H */
