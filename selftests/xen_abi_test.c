// SPDX-License-Identifier: GPL-2.0
/*
 * xen_abi_test: the Xen PV personality (LGUEST_INIT_XEN_PV) from the
 * guest's side, one behaviour per test: hypercalls made with a bare
 * `syscall` as a 64-bit PV kernel makes them, the exception frames the
 * module bounces to a trap table, HYPERVISOR_iret, the privileged
 * instructions it emulates, and what a hostile guest gets.  Guest code
 * (guest_*) runs at CPL3 under lg.ko (selftests/lib/xen_test.h); host code
 * (the TEST bodies) checks what the guest computed or recorded.  The
 * expected values are Xen's (docs/xen-pv.md sections 2 and 3).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "xen_test.h"

#define ENOSYS_	(-38L)
#define EINVAL_	(-22L)
#define EFAULT_	(-14L)
#define EPERM_	(-1L)

#define HOLE_ADDR	0xffff800000001000ULL	/* in the hypervisor hole */
#define NONCANONICAL	0x0000800000000000ULL

#define X86_CR0_TS_	8ULL

#define MSR_FS_BASE	0xc0000100
#define MSR_GS_BASE	0xc0000101

/* Run a guest that checks nothing itself to its end: its results are read. */
#define RUN_TO_END(t)							\
	do {								\
		ASSERT_NE(NULL, t);					\
		XEN_RUN_DONE(t);					\
	} while (0)

/* ------------------------------------------------------------------ */
/* The start of day (docs/xen-pv.md 2.1, 2.2)                          */

static struct {
	uint8_t upcall_mask;
	char magic[16];
	uint64_t nr_pages, shared_info, pt_base, l4_0;
} boot_res;

static void guest_start_of_day(void)
{
	const struct start_info *si = xen_test_start_info;
	unsigned int i;

	boot_res.upcall_mask = xen_test_shared_info()->vcpu_info[0].evtchn_upcall_mask;
	for (i = 0; i < sizeof(boot_res.magic) - 1; i++)
		boot_res.magic[i] = ((volatile char *)si->magic)[i];
	boot_res.nr_pages = si->nr_pages;
	boot_res.shared_info = si->shared_info;
	boot_res.pt_base = si->pt_base;
	/* The bootstrap tables are readable at pt_base, as Linux reads them. */
	boot_res.l4_0 = *(volatile uint64_t *)si->pt_base;
}

TEST(start_of_day)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_start_of_day);

	RUN_TO_END(t);
	typeof(boot_res) *r = xen_test_hva(t, &boot_res);
	struct xen_test_boot *b = xen_test_hva(t, &xen_test_boot);

	TH_LOG("entry: rsp %#llx rsi %#llx cs %#llx ss %#llx ds %#llx es %#llx fs %#llx gs %#llx rflags %#llx",
	       (unsigned long long)b->rsp, (unsigned long long)b->rsi,
	       (unsigned long long)b->cs, (unsigned long long)b->ss,
	       (unsigned long long)b->ds, (unsigned long long)b->es,
	       (unsigned long long)b->fs, (unsigned long long)b->gs,
	       (unsigned long long)b->rflags);
	EXPECT_EQ(XEN_TEST_STACK_TOP, b->rsp);
	EXPECT_EQ(XEN_TEST_START_INFO, b->rsi);
	/* Xen's flat selectors: FLAT_KERNEL_CS/SS; DS..GS null. */
	EXPECT_EQ((uint64_t)FLAT_KERNEL_CS, b->cs);
	EXPECT_EQ((uint64_t)FLAT_KERNEL_SS, b->ss);
	EXPECT_EQ(0, b->ds);
	EXPECT_EQ(0, b->es);
	EXPECT_EQ(0, b->fs);
	EXPECT_EQ(0, b->gs);
	EXPECT_EQ(0, b->rflags & 0x3000);	/* IOPL 0 */
	EXPECT_EQ(1, r->upcall_mask);
	EXPECT_STREQ("xen-3.0-x86_64", r->magic);
	EXPECT_EQ(XEN_TEST_RAM / 4096, r->nr_pages);
	EXPECT_EQ(XEN_TEST_SHARED_INFO, r->shared_info);
	EXPECT_EQ(XEN_TEST_PT_BASE, r->pt_base);
	EXPECT_EQ((XEN_TEST_PT_BASE + 0x1000) | 0x67, r->l4_0);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* console_io                                                          */

static const char hello[] = "hello, xen\n";
#define LINE62 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
static const char long_text[] = LINE62 LINE62 LINE62 LINE62 LINE62 "\n";
static const char bye[] = "bye\n";

static struct {
	long hello, empty, long_text, bye;
} console_res;

static void guest_console(void)
{
	console_res.hello = HYPERVISOR_console_io(CONSOLEIO_write,
						  sizeof(hello) - 1, hello);
	console_res.empty = HYPERVISOR_console_io(CONSOLEIO_write, 0, hello);
	console_res.long_text = HYPERVISOR_console_io(CONSOLEIO_write,
						      sizeof(long_text) - 1,
						      long_text);
	console_res.bye = HYPERVISOR_console_io(CONSOLEIO_write,
						sizeof(bye) - 1, bye);
}

TEST(console_io_write)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_console);
	char want[1024];

	RUN_TO_END(t);
	typeof(console_res) *r = xen_test_hva(t, &console_res);

	EXPECT_EQ(0, r->hello);
	EXPECT_EQ(0, r->empty);
	EXPECT_EQ(0, r->long_text);
	EXPECT_EQ(0, r->bye);
	snprintf(want, sizeof(want), "%s%s%s", hello, long_text, bye);
	EXPECT_EQ(strlen(want), t->console_total);
	EXPECT_STREQ(want, t->console);
	/* 321 bytes in exits of at most LGUEST_MSG_LEN bytes. */
	EXPECT_LE(3, t->console_exits);
	EXPECT_LE(t->console_max_chunk, LGUEST_MSG_LEN);
	EXPECT_EQ(0, t->console_bad);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* xen_version                                                         */

static struct {
	long version;
	long features_ret, features_bad_idx;
	uint32_t submap;
	long caps_ret;
	char caps[sizeof(xen_capabilities_info_t)];
	long extra_ret;
	char extra[sizeof(xen_extraversion_t)];
	long pagesize;
	long params_ret;
	uint64_t virt_start;
	long unknown, unknown_big;
} version_res;

static void guest_xen_version(void)
{
	static struct xen_feature_info fi;
	static struct xen_platform_parameters pp;

	version_res.version = HYPERVISOR_xen_version(XENVER_version, NULL);
	fi.submap_idx = 0;
	version_res.features_ret = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	version_res.submap = fi.submap;
	fi.submap_idx = XENFEAT_NR_SUBMAPS;
	version_res.features_bad_idx = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	version_res.caps_ret = HYPERVISOR_xen_version(XENVER_capabilities,
						      version_res.caps);
	version_res.extra_ret = HYPERVISOR_xen_version(XENVER_extraversion,
						       version_res.extra);
	version_res.pagesize = HYPERVISOR_xen_version(XENVER_pagesize, NULL);
	pp.virt_start = 0;
	version_res.params_ret = HYPERVISOR_xen_version(XENVER_platform_parameters, &pp);
	version_res.virt_start = pp.virt_start;
	version_res.unknown = HYPERVISOR_xen_version(99, NULL);
	version_res.unknown_big = HYPERVISOR_xen_version(0x7fffffff, NULL);
}

TEST(xen_version)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_xen_version);

	RUN_TO_END(t);
	typeof(version_res) *r = xen_test_hva(t, &version_res);

	EXPECT_EQ((4 << 16) | 17, r->version);
	EXPECT_EQ(0, r->features_ret);
	/* What Xen gives a PV guest (xen/common/kernel.c). */
	EXPECT_TRUE(r->submap & (1U << XENFEAT_mmu_pt_update_preserve_ad));	/* 5 */
	EXPECT_TRUE(r->submap & (1U << XENFEAT_gnttab_map_avail_bits));	/* 7 */
	EXPECT_FALSE(r->submap & (1U << XENFEAT_writable_page_tables));	/* 0 */
	EXPECT_FALSE(r->submap & (1U << XENFEAT_auto_translated_physmap));	/* 2 */
	EXPECT_FALSE(r->submap & (1U << XENFEAT_hvm_callback_vector));	/* 8 */
	EXPECT_FALSE(r->submap & (1U << XENFEAT_dom0));			/* 11 */
	TH_LOG("features submap 0: %#x", r->submap);
	EXPECT_EQ(EINVAL_, r->features_bad_idx);
	EXPECT_EQ(0, r->caps_ret);
	EXPECT_EQ(0, strncmp(r->caps, "xen-3.0-x86_64", 14)) {
		TH_LOG("capabilities: %.64s", r->caps);
	}
	EXPECT_EQ(0, r->extra_ret);
	EXPECT_NE(NULL, memchr(r->extra, 0, sizeof(r->extra)));
	EXPECT_EQ(4096, r->pagesize);
	EXPECT_EQ(0, r->params_ret);
	EXPECT_EQ(0xffff800000000000ULL, r->virt_start);
	/* do_xen_version()'s default: -ENOSYS. */
	EXPECT_EQ(ENOSYS_, r->unknown);
	EXPECT_EQ(ENOSYS_, r->unknown_big);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* sched_op                                                            */

static void guest_sched_shutdown(unsigned int reason)
{
	struct sched_shutdown sd = { .reason = reason };

	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
	GUEST_ASSERT(!"SCHEDOP_shutdown returned");
}

static void guest_shutdown_poweroff(void)
{
	guest_sched_shutdown(SHUTDOWN_poweroff);
}

static void guest_shutdown_reboot(void)
{
	guest_sched_shutdown(SHUTDOWN_reboot);
}

static void guest_shutdown_crash(void)
{
	guest_sched_shutdown(SHUTDOWN_crash);
}

static void expect_shutdown(struct __test_metadata *_metadata,
			    void (*fn)(void), uint64_t reason)
{
	struct xen_test_vm *t = xen_test_vm_create(fn);
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(XEN_UCALL_NONE, xen_test_run(t, &v));
	EXPECT_EQ(LGUEST_EXIT_SHUTDOWN, t->exit.reason) {
		TH_LOG("exit %u: %s", t->exit.reason, t->exit.msg);
	}
	EXPECT_EQ(reason, t->exit.args[0]);
	xen_test_vm_free(t);
}

TEST(sched_op_shutdown_poweroff)
{
	expect_shutdown(_metadata, guest_shutdown_poweroff, LGUEST_SHUTDOWN_POWEROFF);
}

TEST(sched_op_shutdown_reboot)
{
	expect_shutdown(_metadata, guest_shutdown_reboot, LGUEST_SHUTDOWN_RESTART);
}

TEST(sched_op_shutdown_crash)
{
	expect_shutdown(_metadata, guest_shutdown_crash, LGUEST_SHUTDOWN_CRASH);
}

static struct {
	long yield, unknown;
} sched_res;

static void guest_yield(void)
{
	sched_res.yield = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	sched_res.unknown = HYPERVISOR_sched_op(99, NULL);
}

TEST(sched_op_yield)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_yield);

	RUN_TO_END(t);
	typeof(sched_res) *r = xen_test_hva(t, &sched_res);

	EXPECT_EQ(0, r->yield);
	EXPECT_EQ(ENOSYS_, r->unknown);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* What a domU without grants, xenstore or FIFO events is told         */

static const uint64_t unknown_nrs[] = {
	11, 43, 47, 56, 60, 1000, (1ULL << 32) | __HYPERVISOR_xen_version, ~0ULL,
};
#define NR_UNKNOWN (sizeof(unknown_nrs) / sizeof(unknown_nrs[0]))

static struct {
	long unknown[NR_UNKNOWN];
	long arch_0;
	long alloc_unbound, init_control, evtchn_unknown;
	long setup_table;
} enosys_res;

static void guest_enosys(void)
{
	static struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
	static struct evtchn_init_control ic;
	static struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
	static xen_pfn_t frames[1];
	unsigned int i;

	for (i = 0; i < NR_UNKNOWN; i++)
		enosys_res.unknown[i] = xen_hcall0(unknown_nrs[i]);
	enosys_res.arch_0 = xen_hcall0(__HYPERVISOR_arch_0);
	enosys_res.alloc_unbound = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
	enosys_res.init_control = HYPERVISOR_event_channel_op(EVTCHNOP_init_control, &ic);
	enosys_res.evtchn_unknown = HYPERVISOR_event_channel_op(99, &au);
	set_xen_guest_handle(st.frame_list, frames);
	enosys_res.setup_table = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
}

TEST(unimplemented_calls_are_enosys)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_enosys);
	unsigned int i;

	RUN_TO_END(t);
	typeof(enosys_res) *r = xen_test_hva(t, &enosys_res);

	for (i = 0; i < NR_UNKNOWN; i++)
		EXPECT_EQ(ENOSYS_, r->unknown[i]) {
			TH_LOG("hypercall %#llx", (unsigned long long)unknown_nrs[i]);
		}
	/* 48 is Xen's do_mca, which a domU may not use: -EPERM there. */
	EXPECT_TRUE(r->arch_0 == ENOSYS_ || r->arch_0 == EPERM_) {
		TH_LOG("hypercall 48: %ld", r->arch_0);
	}
	/*
	 * Linux BUG()s on anything else from these two (docs/xen-pv.md 0);
	 * a guest without a xenstore or grant frames (xen_test_vm_create())
	 * gets ENOSYS from alloc_unbound and setup_table too.
	 */
	EXPECT_EQ(ENOSYS_, r->alloc_unbound);
	EXPECT_EQ(ENOSYS_, r->init_control);
	EXPECT_EQ(ENOSYS_, r->evtchn_unknown);
	EXPECT_EQ(ENOSYS_, r->setup_table);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* What a guest with devices has: a grant table, channels to domain 0  */

#define ESRCH_	(-3L)

static struct {
	long q0, setup2, setup_big, q2, v2, v2_back, v1, gv;
	struct gnttab_query_size qs0, qs2;
	int16_t setup2_status, setup_big_status;
	xen_pfn_t frames[2];
	long au, au_foreign, au_self_remote, close_store;
	uint32_t port;
	long send_unbound, st_unbound, st_bound, send_bound, st_closed_by_host;
	uint32_t status_unbound, status_bound, status_after_host_close;
	long close_port, send_closed;
	uint64_t pending_after_irq;
} dev_res;

static long evtchn_status(uint32_t port, uint32_t *status)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_status, &st);

	*status = st.status;
	return r;
}

static long evtchn_port_op(int cmd, uint32_t port)
{
	struct evtchn_send p = { .port = port };

	return HYPERVISOR_event_channel_op(cmd, &p);
}

static void guest_devices(void)
{
	static struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 2 };
	static struct gnttab_set_version sv = { .version = 2 };
	static struct gnttab_get_version gv = { .dom = DOMID_SELF };
	static struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
	struct grant_entry_v1 *gt = (struct grant_entry_v1 *)XEN_TEST_GNTTAB;
	volatile struct shared_info *s = xen_test_shared_info();
	struct evtchn_alloc_unbound bad;

	/* The grant table: nothing used yet, up to the launcher's frames. */
	dev_res.qs0.dom = DOMID_SELF;
	dev_res.q0 = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &dev_res.qs0, 1);
	set_xen_guest_handle(st.frame_list, dev_res.frames);
	dev_res.setup2 = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	dev_res.setup2_status = st.status;
	st.nr_frames = XEN_TEST_GNTTAB_FRAMES + 1;
	dev_res.setup_big = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
	dev_res.setup_big_status = st.status;
	dev_res.qs2.dom = DOMID_SELF;
	dev_res.q2 = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &dev_res.qs2, 1);
	dev_res.v2 = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1);
	dev_res.v2_back = sv.version;
	sv.version = 1;
	dev_res.v1 = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &sv, 1);
	dev_res.gv = HYPERVISOR_grant_table_op(GNTTABOP_get_version, &gv, 1) ?: gv.version;
	/* An entry, where the host (domain 0) reads it. */
	gt[5].domid = 0;
	gt[5].frame = 0x1234;
	__atomic_store_n(&gt[5].flags, GTF_permit_access | GTF_readonly, __ATOMIC_RELEASE);

	/* A channel for domain 0, and none for any other domain. */
	dev_res.au = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
	dev_res.port = au.port;
	bad = au;
	bad.dom = 5;
	dev_res.au_foreign = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &bad);
	bad = au;
	bad.remote_dom = 7;
	dev_res.au_self_remote = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &bad);
	dev_res.close_store = evtchn_port_op(EVTCHNOP_close, XEN_TEST_STORE_PORT);
	dev_res.st_unbound = evtchn_status(au.port, &dev_res.status_unbound);
	/* Unbound: a send goes nowhere (no exit before the sync below). */
	dev_res.send_unbound = evtchn_port_op(EVTCHNOP_send, au.port);
	GUEST_SYNC(au.port);
	/* The host has bound it: a send is its exit. */
	dev_res.st_bound = evtchn_status(au.port, &dev_res.status_bound);
	dev_res.send_bound = evtchn_port_op(EVTCHNOP_send, au.port);
	GUEST_SYNC(1);
	/* It raised the port and closed its end. */
	dev_res.pending_after_irq =
		!!(s->evtchn_pending[au.port / 64] & (1ULL << (au.port % 64)));
	dev_res.st_closed_by_host = evtchn_status(au.port, &dev_res.status_after_host_close);
	dev_res.close_port = evtchn_port_op(EVTCHNOP_close, au.port);
	dev_res.send_closed = evtchn_port_op(EVTCHNOP_send, au.port);
	GUEST_SYNC(2);
}

TEST(grant_table_and_channels_to_domain_0)
{
	struct xen_test_vm *t = xen_test_vm_create_devices(guest_devices);
	struct grant_entry_v1 *gt;
	uint64_t v;
	uint32_t port;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	port = v;
	ASSERT_LT(XEN_TEST_STORE_PORT, port);
	/* The send to the unbound port made no exit: this sync came first. */
	ASSERT_EQ(0, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, port));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, port));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, XEN_TEST_STORE_PORT));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_CLOSE, XEN_TEST_PORT));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, port + 1));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, 0));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, 1 << 20));
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, 99, port));
	/* The guest's send on the bound port. */
	ASSERT_EQ(XEN_UCALL_NONE, xen_test_run(t, &v));
	EXPECT_EQ(LGUEST_EXIT_EVTCHN, t->exit.reason);
	EXPECT_EQ(port, t->exit.args[0]);
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(1, v);
	EXPECT_EQ(0, lg_vm_irq(&t->vm, 0, port));
	EXPECT_EQ(0, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_CLOSE, port));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, port));
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(2, v);
	/* Closed by the guest: nothing for the launcher to bind or raise. */
	EXPECT_EQ(-EINVAL, lg_vm_evtchn(&t->vm, LGUEST_EVTCHN_BIND, port));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, port));
	XEN_RUN_DONE(t);
	typeof(dev_res) *r = xen_test_hva(t, &dev_res);

	EXPECT_EQ(0, r->q0);
	EXPECT_EQ(0, r->qs0.nr_frames);
	EXPECT_EQ(XEN_TEST_GNTTAB_FRAMES, r->qs0.max_nr_frames);
	EXPECT_EQ(GNTST_okay, r->qs0.status);
	EXPECT_EQ(0, r->setup2);
	EXPECT_EQ(GNTST_okay, r->setup2_status);
	EXPECT_EQ(XEN_TEST_GNTTAB / 4096, r->frames[0]);
	EXPECT_EQ(XEN_TEST_GNTTAB / 4096 + 1, r->frames[1]);
	EXPECT_EQ(0, r->setup_big);
	EXPECT_EQ(GNTST_general_error, r->setup_big_status);
	EXPECT_EQ(2, r->qs2.nr_frames);
	/* Version 1 only: asking for 2 fails and says 1. */
	EXPECT_EQ(EINVAL_, r->v2);
	EXPECT_EQ(1, r->v2_back);
	EXPECT_EQ(0, r->v1);
	EXPECT_EQ(1, r->gv);
	gt = xen_test_hva(t, (void *)XEN_TEST_GNTTAB);
	EXPECT_EQ(GTF_permit_access | GTF_readonly, gt[5].flags);
	EXPECT_EQ(0x1234, gt[5].frame);

	EXPECT_EQ(0, r->au);
	EXPECT_EQ(EPERM_, r->au_foreign);
	EXPECT_EQ(ESRCH_, r->au_self_remote);
	EXPECT_EQ(EINVAL_, r->close_store);
	EXPECT_EQ(0, r->st_unbound);
	EXPECT_EQ(EVTCHNSTAT_unbound, r->status_unbound);
	EXPECT_EQ(0, r->send_unbound);
	EXPECT_EQ(0, r->st_bound);
	EXPECT_EQ(EVTCHNSTAT_interdomain, r->status_bound);
	EXPECT_EQ(0, r->send_bound);
	EXPECT_EQ(1, r->pending_after_irq);
	EXPECT_EQ(0, r->st_closed_by_host);
	EXPECT_EQ(EVTCHNSTAT_unbound, r->status_after_host_close);
	EXPECT_EQ(0, r->close_port);
	EXPECT_EQ(EINVAL_, r->send_closed);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* Exceptions: the trap table, bounce frames and HYPERVISOR_iret       */

/*
 * xt_NAME(ctx, misalign, arg): RCX and R11 get known values, RSP goes down
 * by @misalign, the RSP at the instruction is saved in ctx->rsp, then the
 * instruction (at xt_NAME_insn; @arg is in RDX), and after it ctx gets
 * RCX and R11 as the return from the handler left them.
 */
struct xt_ctx {
	uint64_t rsp, rcx, r11;
};

#define XT_RCX	0x1c1c1c1c2c2c2c2cULL
#define XT_R11	0x1111222233334444ULL

#define XT_INSN(name, pre, insn)					\
	extern char xt_##name##_insn[], xt_##name##_end[];		\
	void xt_##name(struct xt_ctx *ctx, uint64_t misalign, uint64_t arg); \
	__asm__(".text\n"						\
		".globl xt_" #name ", xt_" #name "_insn, xt_" #name "_end\n" \
		"xt_" #name ":\n"					\
		"	pushq %rbx\n"					\
		"	movq %rdi, %rbx\n"				\
		"	subq %rsi, %rsp\n"				\
		"	movabsq $0x1c1c1c1c2c2c2c2c, %rcx\n"		\
		"	movabsq $0x1111222233334444, %r11\n"		\
		"	" pre "\n"					\
		"	movq %rsp, 0(%rbx)\n"				\
		"xt_" #name "_insn:\n"					\
		"	" insn "\n"					\
		"xt_" #name "_end:\n"					\
		"	movq %rcx, 8(%rbx)\n"				\
		"	movq %r11, 16(%rbx)\n"				\
		"	addq %rsi, %rsp\n"				\
		"	popq %rbx\n"					\
		"	ret\n")

XT_INSN(ud2, "", "ud2");
XT_INSN(int3, "", "int3");
XT_INSN(int80, "", "int $0x80");
XT_INSN(lgdt, "", "lgdt (%rsp)");
XT_INSN(read, "", "movq (%rdx), %rax");
XT_INSN(write, "", "movq %rax, (%rdx)");
XT_INSN(rdmsr, "movl %edx, %ecx", "rdmsr");
XT_INSN(div0, "xorl %r8d, %r8d", "divq %r8");
XT_INSN(fnop, "", "fnop");
/* x87 divide by zero, unmasked (control word 0x37b): #MF at the next fwait. */
XT_INSN(fwait, "pushq $0x37b; fninit; fldcw (%rsp); addq $8, %rsp; fld1; fldz; fdivrp",
	"fwait");

/* One trap: which instruction, the context around it, the record. */
struct trap_shot {
	struct xt_ctx ctx;
	struct xen_trap_record rec;
	uint64_t count_before;
};

enum { T_UD2, T_UD2_ALIGNED, T_INT3, T_INT80, T_LGDT, T_PF_READ, T_PF_WRITE,
       T_NONCANONICAL, T_DE, T_NM, T_MF, T_UNMASKED, NR_SHOTS };

static struct {
	long set_trap_table;
	struct trap_shot shot[NR_SHOTS];
	uint64_t mask_after_unmasked;	/* upcall mask after that iret */
	uint64_t mask_after;		/* ... and after the others */
	long taskswitch;		/* fpu_taskswitch(1) */
	uint64_t cr0_ts, cr0_after_nm;	/* the guest's CR0 then, and after #NM */
} trap_res;

static uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}


/*
 * Call xt_@fn expecting one trap on @vector, returning to @resume (NULL:
 * where the handler's frame says), and keep what the handler saw.
 */
static void shoot(struct trap_shot *shot,
		  void (*fn)(struct xt_ctx *, uint64_t, uint64_t),
		  uint64_t misalign, uint64_t arg, unsigned int vector,
		  const void *resume)
{
	/* Word by word: a struct copy could become a call to libc's memcpy. */
	const volatile uint64_t *src = (const volatile uint64_t *)&xen_trap_records[vector];
	uint64_t *dst = (uint64_t *)&shot->rec;
	unsigned int k;

	shot->count_before = xen_trap_records[vector].count;
	xen_trap_expect(vector, 0, resume);
	fn(&shot->ctx, misalign, arg);
	for (k = 0; k < sizeof(struct xen_trap_record) / 8; k++)
		dst[k] = src[k];
}

static void guest_traps(void)
{
	volatile struct vcpu_info *vi = &xen_test_shared_info()->vcpu_info[0];

	trap_res.set_trap_table = xen_guest_install_traps();
	shoot(&trap_res.shot[T_UD2], xt_ud2, 8, 0, 6, xt_ud2_end);
	shoot(&trap_res.shot[T_UD2_ALIGNED], xt_ud2, 0, 0, 6, xt_ud2_end);
	shoot(&trap_res.shot[T_INT3], xt_int3, 8, 0, 3, NULL);
	/* No DPL-3 entry for 0x80: #GP((0x80 << 3) | 2) at the instruction. */
	shoot(&trap_res.shot[T_INT80], xt_int80, 0, 0, 13, xt_int80_end);
	shoot(&trap_res.shot[T_LGDT], xt_lgdt, 8, 0, 13, xt_lgdt_end);
	shoot(&trap_res.shot[T_PF_READ], xt_read, 0, XEN_TEST_UNMAPPED, 14, xt_read_end);
	shoot(&trap_res.shot[T_PF_WRITE], xt_write, 8, XEN_TEST_UNMAPPED + 0x18, 14, xt_write_end);
	shoot(&trap_res.shot[T_NONCANONICAL], xt_read, 0, 0x8000000000000000ULL, 13, xt_read_end);
	shoot(&trap_res.shot[T_DE], xt_div0, 8, 0, 0, xt_div0_end);
	/*
	 * The lazy-FPU protocol: with TS set, an FPU instruction is #NM, and
	 * delivering that #NM clears TS (Xen's do_device_not_available), so
	 * the handler's return re-executes the instruction, which now runs.
	 */
	trap_res.taskswitch = xen_hcall1(__HYPERVISOR_fpu_taskswitch, 1);
	trap_res.cr0_ts = read_cr0();
	shoot(&trap_res.shot[T_NM], xt_fnop, 0, 0, 7, NULL);
	trap_res.cr0_after_nm = read_cr0();
	/*
	 * An unmasked x87 exception is #MF.  (Not SSE's #XM: QEMU's TCG
	 * sets MXCSR's flag but raises no #XM, docs/NOTES.md.)
	 */
	shoot(&trap_res.shot[T_MF], xt_fwait, 8, 0, 16, xt_fwait_end);
	__asm__ volatile("fninit");
	trap_res.mask_after = vi->evtchn_upcall_mask;
	/* With events unmasked: the frame saves mask 0, IF set. */
	vi->evtchn_upcall_mask = 0;
	shoot(&trap_res.shot[T_UNMASKED], xt_ud2, 0, 0, 6, xt_ud2_end);
	trap_res.mask_after_unmasked = vi->evtchn_upcall_mask;
	vi->evtchn_upcall_mask = 1;
}

static void check_shot(struct __test_metadata *_metadata, const char *what,
		       const struct trap_shot *s, uint64_t vector,
		       const void *rip, int has_error, uint64_t error,
		       uint64_t saved_mask)
{
	const struct xen_trap_record *r = &s->rec;
	uint64_t top = s->ctx.rsp & ~15ULL;

	TH_LOG("%s: vector %llu error %#llx rip %#llx cs %#llx rflags %#llx rsp %#llx ss %#llx frame %#llx (rsp at insn %#llx)",
	       what, (unsigned long long)r->vector, (unsigned long long)r->error,
	       (unsigned long long)r->rip, (unsigned long long)r->cs,
	       (unsigned long long)r->rflags, (unsigned long long)r->rsp,
	       (unsigned long long)r->ss, (unsigned long long)r->frame,
	       (unsigned long long)s->ctx.rsp);
	EXPECT_EQ(s->count_before + 1, r->count);
	EXPECT_EQ(vector, r->vector);
	EXPECT_EQ((uint64_t)rip, r->rip);
	/* Kernel mode: RPL cleared; the saved upcall mask in bits 32-39. */
	EXPECT_EQ(0xe030ULL | saved_mask << 32, r->cs);
	EXPECT_EQ((uint64_t)FLAT_KERNEL_SS, r->ss);
	EXPECT_EQ(s->ctx.rsp, r->rsp);
	/* RFLAGS.IF = !saved mask; bit 1 always set; no TF. */
	EXPECT_EQ(saved_mask ? 0 : 0x200, r->rflags & 0x200);
	EXPECT_EQ(2, r->rflags & 0x102);
	EXPECT_EQ(has_error, r->has_error);
	if (has_error)
		EXPECT_EQ(error, r->error);
	/*
	 * Xen's create_bounce_frame: the interrupted RSP rounded down to 16
	 * is the frame's top (SS just below it), then RSP, RFLAGS, CS, RIP,
	 * [error code], R11, RCX.
	 */
	EXPECT_EQ(top - (has_error ? 64 : 56), r->frame);
	/* The guest's own RCX and R11, in the frame and after the iret. */
	EXPECT_EQ(XT_RCX, r->rcx);
	EXPECT_EQ(XT_R11, r->r11);
	EXPECT_EQ(XT_RCX, s->ctx.rcx);
	EXPECT_EQ(XT_R11, s->ctx.r11);
}

TEST(trap_table_bounce_frames_and_iret)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_traps);
	struct lguest_vcpu_stats st;

	RUN_TO_END(t);
	typeof(trap_res) *r = xen_test_hva(t, &trap_res);
	const struct trap_shot *s = r->shot;

	EXPECT_EQ(0, r->set_trap_table);
	check_shot(_metadata, "ud2", &s[T_UD2], 6, xt_ud2_insn, 0, 0, 1);
	check_shot(_metadata, "ud2, aligned RSP", &s[T_UD2_ALIGNED], 6,
		   xt_ud2_insn, 0, 0, 1);
	/* A trap: RIP after the int3. */
	check_shot(_metadata, "int3", &s[T_INT3], 3, xt_int3_end, 0, 0, 1);
	check_shot(_metadata, "int $0x80", &s[T_INT80], 13, xt_int80_insn, 1,
		   (0x80 << 3) | 2, 1);
	check_shot(_metadata, "lgdt", &s[T_LGDT], 13, xt_lgdt_insn, 1, 0, 1);
	/* #PF: a kernel-mode read/write of a page not present. */
	check_shot(_metadata, "#PF read", &s[T_PF_READ], 14, xt_read_insn, 1, 0, 1);
	EXPECT_EQ(XEN_TEST_UNMAPPED, s[T_PF_READ].rec.cr2);
	check_shot(_metadata, "#PF write", &s[T_PF_WRITE], 14, xt_write_insn, 1, 2, 1);
	EXPECT_EQ(XEN_TEST_UNMAPPED + 0x18, s[T_PF_WRITE].rec.cr2);
	check_shot(_metadata, "non-canonical read", &s[T_NONCANONICAL], 13,
		   xt_read_insn, 1, 0, 1);
	check_shot(_metadata, "divide by zero", &s[T_DE], 0, xt_div0_insn, 0, 0, 1);
	EXPECT_EQ(0, r->taskswitch);
	EXPECT_EQ(X86_CR0_TS_, r->cr0_ts & X86_CR0_TS_);
	check_shot(_metadata, "fnop with TS", &s[T_NM], 7, xt_fnop_insn, 0, 0, 1);
	EXPECT_EQ(0, r->cr0_after_nm & X86_CR0_TS_);
	check_shot(_metadata, "x87 divide by zero, unmasked", &s[T_MF], 16,
		   xt_fwait_insn, 0, 0, 1);
	EXPECT_EQ(1, r->mask_after);
	check_shot(_metadata, "ud2, events unmasked", &s[T_UNMASKED], 6,
		   xt_ud2_insn, 0, 0, 0);
	/* HYPERVISOR_iret with IF set unmasks events again. */
	EXPECT_EQ(0, r->mask_after_unmasked);

	ASSERT_EQ(0, xen_test_stats(t, &st));
	EXPECT_EQ(NR_SHOTS, st.bounces);
	EXPECT_EQ(NR_SHOTS, st.xen_hcalls[__HYPERVISOR_iret]);
	EXPECT_EQ(1, st.xen_hcalls[__HYPERVISOR_set_trap_table]);
	xen_test_vm_free(t);
}

static struct {
	long set_trap_table;
	struct trap_shot shot;
} msr_res;

static void guest_unknown_msr(void)
{
	msr_res.set_trap_table = xen_guest_install_traps();
	shoot(&msr_res.shot, xt_rdmsr, 0, 0x4b564d00 /* a KVM MSR, not Xen's */,
	      13, xt_rdmsr_end);
}

/* With a trap table, an MSR Xen does not know is #GP(0) (docs/xen-pv.md 3.4). */
TEST(unknown_msr_is_gp)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_unknown_msr);

	RUN_TO_END(t);
	typeof(msr_res) *r = xen_test_hva(t, &msr_res);

	EXPECT_EQ(0, r->set_trap_table);
	EXPECT_EQ(1, r->shot.rec.count);
	EXPECT_EQ(13, r->shot.rec.vector);
	EXPECT_EQ((uint64_t)xt_rdmsr_insn, r->shot.rec.rip);
	EXPECT_EQ(1, r->shot.rec.has_error);
	EXPECT_EQ(0, r->shot.rec.error);
	xen_test_vm_free(t);
}

static void guest_ud2_without_traps(void)
{
	__asm__ volatile("ud2");
	GUEST_ASSERT(!"ud2 without a trap table came back");
}

static void guest_pf_without_traps(void)
{
	*(volatile uint64_t *)XEN_TEST_UNMAPPED;
	GUEST_ASSERT(!"#PF without a trap table came back");
}

static void expect_killed(struct __test_metadata *_metadata, void (*fn)(void),
			  const char *why)
{
	struct xen_test_vm *t = xen_test_vm_create(fn);
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(XEN_UCALL_NONE, xen_test_run(t, &v));
	EXPECT_EQ(LGUEST_EXIT_KILLED, t->exit.reason);
	/* The reason names the trap, for the launcher to print. */
	EXPECT_NE(NULL, strstr(t->exit.msg, why)) {
		TH_LOG("killed: %.128s", t->exit.msg);
	}
	xen_test_vm_free(t);
}

/* As Xen crashes a domain that faults with no trap table. */
TEST(exception_without_trap_table_kills)
{
	expect_killed(_metadata, guest_ud2_without_traps, "exception 6 (#UD)");
}

TEST(page_fault_without_trap_table_kills)
{
	expect_killed(_metadata, guest_pf_without_traps, "exception 14 (#PF)");
}

/* ------------------------------------------------------------------ */
/* Emulated privileged instructions (docs/xen-pv.md 3.4)               */

static volatile uint64_t gs_area[4] = { 0x6767676700000000, 0x6767676711111111 };
static volatile uint64_t fs_area[4] = { 0x6666666600000000, 0x6666666622222222 };

static struct {
	long set_trap_table;
	uint64_t gs_msr, gs_mem, fs_msr, fs_mem;
	uint32_t hv[4], leaf1[4], leaf7[4];
	uint64_t cr0;
	long set_iopl;
	uint64_t port80;
} emul_res;

/*
 * Each emulated instruction, followed by a sync the host counts it at.
 * QEMU 10.0's TCG runs `wbinvd` at CPL3 without a #GP (docs/NOTES.md), so
 * there it may not reach the module at all: it must only do nothing.
 */
static const struct {
	const char *name;
	int may_not_trap;
} emul_steps[] = {
	{ "wrmsr MSR_GS_BASE" }, { "wrmsr MSR_FS_BASE" }, { "rdmsr MSR_GS_BASE" },
	{ "rdmsr MSR_FS_BASE" }, { "cpuid 0x40000000" }, { "cpuid 1" },
	{ "cpuid 7" }, { "mov %cr0" }, { "in $0x80" }, { "wbinvd", 1 },
};
#define NR_EMUL_STEPS (sizeof(emul_steps) / sizeof(emul_steps[0]))

static void guest_emulation(void)
{
	static struct physdev_set_iopl iopl = { .iopl = 1 };
	unsigned int step = 0;
	uint64_t v;
	uint8_t al;

	emul_res.set_trap_table = xen_guest_install_traps();
	emul_res.set_iopl = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &iopl);
	GUEST_SYNC(step++);
	xen_wrmsr(MSR_GS_BASE, (uint64_t)gs_area);
	GUEST_SYNC(step++);
	xen_wrmsr(MSR_FS_BASE, (uint64_t)fs_area);
	/* The bases survive these exits to the launcher. */
	GUEST_SYNC(step++);
	emul_res.gs_msr = xen_rdmsr(MSR_GS_BASE);
	__asm__ volatile("movq %%gs:8, %0" : "=r"(v));
	emul_res.gs_mem = v;
	GUEST_SYNC(step++);
	emul_res.fs_msr = xen_rdmsr(MSR_FS_BASE);
	__asm__ volatile("movq %%fs:8, %0" : "=r"(v));
	emul_res.fs_mem = v;
	GUEST_SYNC(step++);
	xen_cpuid(0x40000000, 0, emul_res.hv);
	GUEST_SYNC(step++);
	xen_cpuid(1, 0, emul_res.leaf1);
	GUEST_SYNC(step++);
	xen_cpuid(7, 0, emul_res.leaf7);
	GUEST_SYNC(step++);
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	emul_res.cr0 = v;
	GUEST_SYNC(step++);
	__asm__ volatile("inb $0x80, %0" : "=a"(al));
	emul_res.port80 = al;
	GUEST_SYNC(step++);
	__asm__ volatile("wbinvd" : : : "memory");
	GUEST_SYNC(step++);
}

TEST(emulated_instructions)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_emulation);
	struct lguest_vcpu_stats st;
	uint64_t v, before;
	unsigned int i;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(0, v);
	ASSERT_EQ(0, xen_test_stats(t, &st));
	EXPECT_EQ(0, st.emulations);
	for (i = 0; i < NR_EMUL_STEPS; i++) {
		before = st.emulations;
		XEN_RUN_SYNC(t, &v);
		ASSERT_EQ(i + 1, v);
		ASSERT_EQ(0, xen_test_stats(t, &st));
		if (emul_steps[i].may_not_trap && st.emulations == before)
			continue;
		EXPECT_EQ(before + 1, st.emulations) {
			TH_LOG("%s: emulations %llu -> %llu", emul_steps[i].name,
			       (unsigned long long)before,
			       (unsigned long long)st.emulations);
		}
	}
	EXPECT_EQ(0, st.bounces);
	XEN_RUN_DONE(t);
	typeof(emul_res) *r = xen_test_hva(t, &emul_res);

	EXPECT_EQ(0, r->set_trap_table);
	EXPECT_EQ((uint64_t)gs_area, r->gs_msr);
	EXPECT_EQ(0x6767676711111111ULL, r->gs_mem);
	EXPECT_EQ((uint64_t)fs_area, r->fs_msr);
	EXPECT_EQ(0x6666666622222222ULL, r->fs_mem);
	/* "XenVMMXenVMM" */
	EXPECT_LE(0x40000002U, r->hv[0]);
	EXPECT_EQ(0x566e6558U, r->hv[1]);
	EXPECT_EQ(0x65584d4dU, r->hv[2]);
	EXPECT_EQ(0x4d4d566eU, r->hv[3]);
	EXPECT_TRUE(r->leaf1[2] & (1U << 31));		/* hypervisor */
	/* Xen's PV policy (docs/limits.md M:044): the APIC, as on Xen ... */
	EXPECT_TRUE(r->leaf1[3] & (1U << 9));
	/* ... no PSE, MCE, PGE, MCA; no MONITOR, VMX, x2APIC ... */
	EXPECT_EQ(0, r->leaf1[3] & ((1U << 3) | (1U << 7) | (1U << 13) | (1U << 14)));
	EXPECT_EQ(0, r->leaf1[2] & ((1U << 3) | (1U << 5) | (1U << 21)));
	/* ... no SMEP, SMAP, LA57. */
	EXPECT_EQ(0, r->leaf7[1] & ((1U << 7) | (1U << 20)));
	EXPECT_FALSE(r->leaf7[2] & (1U << 16));
	EXPECT_EQ(0x80000001ULL, r->cr0 & 0x80000001ULL);	/* PG, PE */
	EXPECT_EQ(0, r->set_iopl);
	EXPECT_EQ(0xff, r->port80);
	xen_test_vm_free(t);
}

/*
 * Intel's MSRs that Linux reads early (early_init_intel()), as Xen shows
 * them to a PV guest on Intel and nowhere else, and cli/sti, which Xen
 * lets a guest kernel with a virtual IOPL execute as nothing.  A guest
 * that read MISC_ENABLE as 0 ran without fast strings and died in printk
 * on QEMU's Skylake-X (docs/NOTES.md, M:048).
 */
#define MSR_UCODE_REV		0x8b
#define MSR_MISC_ENABLE		0x1a0
#define MISC_FAST_STRING	(1ULL << 0)
#define MISC_EMON		(1ULL << 7)
#define MISC_BTS_UNAVAIL	(1ULL << 11)
#define MISC_PEBS_UNAVAIL	(1ULL << 12)
#define MISC_MWAIT		(1ULL << 18)
#define MISC_XTPR_DISABLE	(1ULL << 23)

XT_INSN(cli, "", "cli");

static struct {
	long set_trap_table, set_iopl, unset_iopl;
	uint32_t leaf0[4];
	uint64_t misc, ucode;
	struct trap_shot misc_gp, ucode_gp, cli_gp;
	uint64_t mask_after_cli, mask_after_sti;
} intel_res;

static int guest_sees_intel(void)
{
	xen_cpuid(0, 0, intel_res.leaf0);
	/* "GenuineIntel" */
	return intel_res.leaf0[1] == 0x756e6547 && intel_res.leaf0[3] == 0x49656e69 &&
	       intel_res.leaf0[2] == 0x6c65746e;
}

static void guest_intel_msrs(void)
{
	volatile struct vcpu_info *vi = &xen_test_shared_info()->vcpu_info[0];
	static struct physdev_set_iopl iopl = { .iopl = 1 };

	intel_res.set_trap_table = xen_guest_install_traps();
	if (guest_sees_intel()) {
		intel_res.misc = xen_rdmsr(MSR_MISC_ENABLE);
		/* As intel_get_microcode_revision(): write 0, cpuid, read. */
		xen_wrmsr(MSR_UCODE_REV, 0);
		xen_cpuid(1, 0, intel_res.leaf0);
		intel_res.ucode = xen_rdmsr(MSR_UCODE_REV);
		/* Taken, and going nowhere. */
		xen_wrmsr(MSR_MISC_ENABLE, intel_res.misc & ~MISC_FAST_STRING);
		GUEST_ASSERT(xen_rdmsr(MSR_MISC_ENABLE) == intel_res.misc);
	} else {
		shoot(&intel_res.misc_gp, xt_rdmsr, 0, MSR_MISC_ENABLE, 13, xt_rdmsr_end);
		shoot(&intel_res.ucode_gp, xt_rdmsr, 0, MSR_UCODE_REV, 13, xt_rdmsr_end);
	}

	intel_res.set_iopl = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &iopl);
	vi->evtchn_upcall_mask = 0;
	__asm__ volatile("cli" : : : "memory");
	intel_res.mask_after_cli = vi->evtchn_upcall_mask;
	vi->evtchn_upcall_mask = 1;
	__asm__ volatile("sti" : : : "memory");
	intel_res.mask_after_sti = vi->evtchn_upcall_mask;
	/* Without the virtual IOPL, cli is the guest's own #GP. */
	iopl.iopl = 0;
	intel_res.unset_iopl = HYPERVISOR_physdev_op(PHYSDEVOP_set_iopl, &iopl);
	shoot(&intel_res.cli_gp, xt_cli, 0, 0, 13, xt_cli_end);
}

/* The vendor the module saw at load: the host's, from /proc/cpuinfo. */
static int host_cpuinfo(const char *key, char *val, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		size_t n = strlen(key);

		/* "model", not "model name": only blanks between key and ':'. */
		if (!colon || strncmp(line, key, n) ||
		    line + n + strspn(line + n, " \t") != colon)
			continue;
		snprintf(val, len, "%s", colon + 2);
		val[strcspn(val, "\n")] = 0;
		found = 1;
	}
	fclose(f);
	return found;
}

TEST(intel_msrs_and_cli_as_xen_shows_them)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_intel_msrs);
	char vendor[64] = "", family[16] = "", model[16] = "", flags[4096] = "";
	int intel;

	ASSERT_NE(NULL, t);
	RUN_TO_END(t);
	typeof(intel_res) *r = xen_test_hva(t, &intel_res);

	ASSERT_TRUE(host_cpuinfo("vendor_id", vendor, sizeof(vendor)));
	intel = !strcmp(vendor, "GenuineIntel");
	EXPECT_EQ(0, r->set_trap_table);
	if (intel) {
		EXPECT_EQ(MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL | MISC_XTPR_DISABLE,
			  r->misc & (MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL |
				     MISC_XTPR_DISABLE | MISC_EMON | MISC_MWAIT));
		/*
		 * Fast strings as the host has them.  The host's Linux keeps
		 * REP_GOOD on a family 6 model 13+ exactly when its own
		 * MISC_ENABLE says fast strings are on.
		 */
		host_cpuinfo("cpu family", family, sizeof(family));
		host_cpuinfo("model", model, sizeof(model));
		host_cpuinfo("flags", flags, sizeof(flags));
		if (atoi(family) == 6 && atoi(model) >= 13) {
			EXPECT_EQ(!!strstr(flags, " rep_good"),
				  !!(r->misc & MISC_FAST_STRING));
		} else {
			TH_LOG("family %s model %s: fast strings not checked",
			       family, model);
		}
	} else {
		EXPECT_EQ(1, r->misc_gp.rec.count - r->misc_gp.count_before);
		EXPECT_EQ((uint64_t)xt_rdmsr_insn, r->misc_gp.rec.rip);
		EXPECT_EQ(1, r->ucode_gp.rec.count - r->ucode_gp.count_before);
		EXPECT_EQ(13, r->ucode_gp.rec.vector);
	}
	/* cli and sti with a virtual IOPL leave the event mask alone ... */
	EXPECT_EQ(0, r->set_iopl);
	EXPECT_EQ(0, r->mask_after_cli);
	EXPECT_EQ(1, r->mask_after_sti);
	/* ... and without one they are #GP(0). */
	EXPECT_EQ(0, r->unset_iopl);
	EXPECT_EQ(1, r->cli_gp.rec.count - r->cli_gp.count_before);
	EXPECT_EQ(13, r->cli_gp.rec.vector);
	EXPECT_EQ((uint64_t)xt_cli_insn, r->cli_gp.rec.rip);
	EXPECT_EQ(0, r->cli_gp.rec.error);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* set_segment_base                                                    */

static volatile uint64_t fs_area2[2] = { 0x5555555555555555 };
static volatile uint64_t gs_area2[2] = { 0x4444444444444444 };

static struct {
	long set_fs, set_gs, bad_fs, bad_gs, bad_reg;
	uint64_t fs_mem, gs_mem, fs_mem_after_bad, fs_mem_after_exit, gs_mem_after_exit;
} segbase_res;

static void guest_segment_base(void)
{
	segbase_res.set_fs = HYPERVISOR_set_segment_base(SEGBASE_FS, (uint64_t)fs_area2);
	segbase_res.fs_mem = read_fs0();
	segbase_res.set_gs = HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL,
							 (uint64_t)gs_area2);
	segbase_res.gs_mem = read_gs0();
	/* Non-canonical bases are refused (XSA-193), the old one kept. */
	segbase_res.bad_fs = HYPERVISOR_set_segment_base(SEGBASE_FS, NONCANONICAL);
	segbase_res.bad_gs = HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL,
							 0xffff700000000000ULL);
	segbase_res.bad_reg = HYPERVISOR_set_segment_base(99, 0);
	segbase_res.fs_mem_after_bad = read_fs0();
	GUEST_SYNC(1);
	segbase_res.fs_mem_after_exit = read_fs0();
	segbase_res.gs_mem_after_exit = read_gs0();
}

TEST(set_segment_base)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_segment_base);
	uint64_t v;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	XEN_RUN_DONE(t);
	typeof(segbase_res) *r = xen_test_hva(t, &segbase_res);

	EXPECT_EQ(0, r->set_fs);
	EXPECT_EQ(0x5555555555555555ULL, r->fs_mem);
	EXPECT_EQ(0, r->set_gs);
	EXPECT_EQ(0x4444444444444444ULL, r->gs_mem);
	EXPECT_EQ(EINVAL_, r->bad_fs);
	EXPECT_EQ(EINVAL_, r->bad_gs);
	EXPECT_EQ(EINVAL_, r->bad_reg);
	EXPECT_EQ(0x5555555555555555ULL, r->fs_mem_after_bad);
	EXPECT_EQ(0x5555555555555555ULL, r->fs_mem_after_exit);
	EXPECT_EQ(0x4444444444444444ULL, r->gs_mem_after_exit);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* multicall                                                           */

static const char mc_text[] = "multicall says hi\n";

/*
 * xt_multicall_iret(calls, nr, escape): a multicall made with a valid
 * iret_context on the stack, returning to @escape: if the module let the
 * iret in the list take effect, the guest would land there (which notes
 * it and returns to our caller) instead of after the `syscall`.
 */
long xt_multicall_iret(struct multicall_entry *calls, uint64_t nr,
		       const void *escape);
extern char xt_escaped[];
uint64_t xt_escapes;
__asm__(".text\n"
	".globl xt_multicall_iret, xt_escaped\n"
	"xt_multicall_iret:\n"
	"	movq %rsp, %r8\n"
	"	pushq $0xe02b\n"		/* ss */
	"	pushq %r8\n"			/* rsp: our caller's return */
	"	pushq $0x2\n"			/* rflags */
	"	pushq $0xe033\n"		/* cs */
	"	pushq %rdx\n"			/* rip */
	"	pushq $0\n"			/* flags */
	"	pushq %rcx\n"
	"	pushq %r11\n"
	"	pushq $-1\n"			/* rax */
	"	movl $13, %eax\n"		/* __HYPERVISOR_multicall */
	"	syscall\n"
	"	addq $72, %rsp\n"
	"	ret\n"
	"xt_escaped:\n"
	"	incq xt_escapes(%rip)\n"
	"	movq $-1, %rax\n"
	"	ret\n");

static struct {
	long ret;
	struct multicall_entry mc[2];
	long iret_ret;
	struct multicall_entry mc_iret[2];
	uint64_t escapes;
} mc_res;

static void guest_multicall(void)
{
	struct multicall_entry *mc = mc_res.mc, *mi = mc_res.mc_iret;

	mc[0].op = __HYPERVISOR_xen_version;
	mc[0].result = 0xdead;
	mc[0].args[0] = XENVER_version;
	mc[0].args[1] = 0;
	mc[1].op = __HYPERVISOR_console_io;
	mc[1].result = 0xdead;
	mc[1].args[0] = CONSOLEIO_write;
	mc[1].args[1] = sizeof(mc_text) - 1;
	mc[1].args[2] = (uint64_t)mc_text;
	mc_res.ret = HYPERVISOR_multicall(mc, 2);

	mi[0].op = __HYPERVISOR_iret;
	mi[0].result = 0xdead;
	mi[1].op = __HYPERVISOR_xen_version;
	mi[1].result = 0xdead;
	mi[1].args[0] = XENVER_version;
	mc_res.iret_ret = xt_multicall_iret(mi, 2, xt_escaped);
	mc_res.escapes = xt_escapes;
}

TEST(multicall)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_multicall);

	RUN_TO_END(t);
	typeof(mc_res) *r = xen_test_hva(t, &mc_res);

	EXPECT_EQ(0, r->ret);
	EXPECT_EQ((4 << 16) | 17, (long)r->mc[0].result);
	EXPECT_EQ(0, (long)r->mc[1].result);
	EXPECT_STREQ(mc_text, t->console);
	/* An iret in a list fails (XSA-213) and the list goes on. */
	EXPECT_EQ(0, r->escapes);
	EXPECT_EQ(0, r->iret_ret);
	EXPECT_GT(0, (long)r->mc_iret[0].result);
	EXPECT_EQ((4 << 16) | 17, (long)r->mc_iret[1].result);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* A hostile guest                                                     */

static struct {
	long hole, noncanonical, table_unmapped, table_in_hole;
	long con_hole, con_unmapped, con_noncanonical, con_straddle, con_bad_cmd;
} hostile_res;

static void guest_hostile_pointers(void)
{
	static struct trap_info bad[2];

	bad[0].vector = 6;
	bad[0].cs = FLAT_KERNEL_CS;
	bad[0].address = HOLE_ADDR;
	hostile_res.hole = HYPERVISOR_set_trap_table(bad);
	bad[0].address = NONCANONICAL;
	hostile_res.noncanonical = HYPERVISOR_set_trap_table(bad);
	hostile_res.table_unmapped =
		HYPERVISOR_set_trap_table((struct trap_info *)XEN_TEST_UNMAPPED);
	hostile_res.table_in_hole =
		HYPERVISOR_set_trap_table((struct trap_info *)HOLE_ADDR);

	hostile_res.con_hole = HYPERVISOR_console_io(CONSOLEIO_write, 16,
						     (void *)HOLE_ADDR);
	hostile_res.con_unmapped = HYPERVISOR_console_io(CONSOLEIO_write, 16,
							 (void *)XEN_TEST_UNMAPPED);
	hostile_res.con_noncanonical = HYPERVISOR_console_io(CONSOLEIO_write, 16,
							     (void *)NONCANONICAL);
	/* Eight bytes of shared_info's unused tail, then nothing mapped. */
	hostile_res.con_straddle = HYPERVISOR_console_io(CONSOLEIO_write, 16,
							 (void *)(XEN_TEST_MEM - 8));
	hostile_res.con_bad_cmd = HYPERVISOR_console_io(7, 4, hello);
}

TEST(hostile_pointers_are_refused)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_hostile_pointers);

	RUN_TO_END(t);
	typeof(hostile_res) *r = xen_test_hva(t, &hostile_res);

	EXPECT_EQ(EINVAL_, r->hole);
	EXPECT_EQ(EINVAL_, r->noncanonical);
	EXPECT_EQ(EFAULT_, r->table_unmapped);
	EXPECT_EQ(EFAULT_, r->table_in_hole);
	EXPECT_EQ(EFAULT_, r->con_hole);
	EXPECT_EQ(EFAULT_, r->con_unmapped);
	EXPECT_EQ(EFAULT_, r->con_noncanonical);
	EXPECT_EQ(EFAULT_, r->con_straddle);
	EXPECT_EQ(ENOSYS_, r->con_bad_cmd);
	/* Nothing from the hole; at most the mapped tail of the straddle. */
	EXPECT_GE(8, t->console_total);
	xen_test_vm_free(t);
}

static struct {
	long ret;
} huge_res;

static void guest_console_huge(void)
{
	/*
	 * Xen's count is 32 bits: this is a write of 0 bytes there.  From the
	 * shared_info page, the last one mapped, so that a module that takes
	 * all 64 bits has 4 KiB to write before it faults (from the image it
	 * would write the whole 60 MiB above it, a long run under TCG).
	 */
	huge_res.ret = HYPERVISOR_console_io(CONSOLEIO_write, 1ULL << 40,
					     (void *)XEN_TEST_SHARED_INFO);
}

static void guest_console_huge_at_end(void)
{
	/* The largest 32-bit count, 16 bytes before nothing is mapped. */
	huge_res.ret = HYPERVISOR_console_io(CONSOLEIO_write, 0xffffffffULL,
					     (void *)(XEN_TEST_MEM - 16));
}

/*
 * A huge count must not hang the host: the guest gets an error (or, for
 * 1 << 40, Xen's 0 for a count truncated to 32 bits), or it is killed.
 */
static void expect_huge(struct __test_metadata *_metadata, void (*fn)(void),
			int zero_ok, uint64_t mapped)
{
	struct xen_test_vm *t = xen_test_vm_create(fn);
	uint64_t v;
	int r;

	ASSERT_NE(NULL, t);
	r = xen_test_run(t, &v);
	TH_LOG("console bytes %llu in %u exits",
	       (unsigned long long)t->console_total, t->console_exits);
	if (r == XEN_UCALL_NONE) {
		EXPECT_EQ(LGUEST_EXIT_KILLED, t->exit.reason);
		TH_LOG("killed: %.128s", t->exit.msg);
	} else {
		long ret = ((typeof(huge_res) *)xen_test_hva(t, &huge_res))->ret;

		ASSERT_EQ(XEN_UCALL_DONE, r);
		TH_LOG("console_io returned %ld", ret);
		EXPECT_TRUE(ret == EFAULT_ || ret == EINVAL_ || (zero_ok && ret == 0));
	}
	/* Nothing beyond the mapped bytes. */
	EXPECT_GE(mapped, t->console_total);
	xen_test_vm_free(t);
}

TEST(console_io_huge_count)
{
	expect_huge(_metadata, guest_console_huge, 1, 4096);
}

TEST(console_io_huge_count_at_the_end_of_memory)
{
	expect_huge(_metadata, guest_console_huge_at_end, 0, 16);
}

/* ------------------------------------------------------------------ */
/* Per-hypercall counts                                                */

#define NR_VERSION_CALLS 37

static void guest_count_calls(void)
{
	unsigned int i;

	for (i = 0; i < NR_VERSION_CALLS; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);
	GUEST_SYNC(NR_VERSION_CALLS);
}

TEST(hypercall_stats)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_count_calls);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(0, xen_test_stats(t, &st));
	EXPECT_EQ(NR_VERSION_CALLS, st.xen_hcalls[__HYPERVISOR_xen_version]);
	/* The ucall's EVTCHNOP_send. */
	EXPECT_EQ(1, st.xen_hcalls[__HYPERVISOR_event_channel_op]);
	EXPECT_EQ(0, st.xen_hcalls[__HYPERVISOR_console_io]);
	XEN_RUN_DONE(t);
	ASSERT_EQ(0, xen_test_stats(t, &st));
	EXPECT_EQ(NR_VERSION_CALLS, st.xen_hcalls[__HYPERVISOR_xen_version]);
	EXPECT_EQ(2, st.xen_hcalls[__HYPERVISOR_event_channel_op]);
	xen_test_vm_free(t);
}

int main(int argc, char **argv)
{
	unsigned int abi;

	LG_REQUIRE_DEVICE();
	abi = xen_test_abi_version();
	if (abi < 4) {
		printf("1..0 # SKIP lg.ko speaks ABI %u, before the Xen PV personality (4)\n",
		       abi);
		return 4;
	}
	return test_harness_run(argc, argv);
}

/* ------------------------------------------------------------------ */
/* Page tables: mmu_update, mmuext_op, update_va_mapping, the M2P      */

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_A		0x20ULL
#define PTE_D		0x40ULL
#define PTE_ADDR	0x000ffffffffff000ULL

static long mmu_update1(uint64_t ptr, uint64_t val, uint64_t count, uint64_t dom)
{
	struct mmu_update u = { .ptr = ptr, .val = val };

	return xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u, count, 0, dom, 0);
}

static long mmuext1(unsigned int cmd, uint64_t arg1)
{
	struct mmuext_op op = { .cmd = cmd };

	op.arg1.mfn = arg1;
	return xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0, DOMID_SELF, 0);
}

static struct {
	long uva, alias, mu, mu_read, ad, ad_val, flush, invlpg;
	long bad_ptr, bad_frame, bad_count, bad_dom, bad_cmd;
	long ext_bad, ext_bad_mfn, pin, unpin, uva_hole;
	long m2p, m2p_start, m2p_max, m2p_5, m2p_last;
} pt_res;

static void guest_page_tables(void)
{
	volatile uint64_t *a = (uint64_t *)XEN_TEST_SCRATCH;
	volatile uint64_t *b = (uint64_t *)(XEN_TEST_SCRATCH + 0x1000);
	volatile uint64_t *c = (uint64_t *)(XEN_TEST_SCRATCH + 0x2000);
	uint64_t frame = XEN_TEST_SCRATCH & PTE_ADDR, old_b = *xen_test_l1e((uint64_t)b);
	uint64_t old_c = *xen_test_l1e((uint64_t)c), frames = XEN_TEST_MEM / 4096;
	struct xen_machphys_mapping m = { 0 };
	const uint64_t *m2p;

	*a = 0x1234;
	/* b aliases a's frame through update_va_mapping (it flushes b). */
	pt_res.uva = xen_hypercall(__HYPERVISOR_update_va_mapping, (uint64_t)b,
				   frame | PTE_P | PTE_RW | PTE_A, UVMF_INVLPG, 0, 0);
	pt_res.alias = *b;
	/* c does through mmu_update, which flushes nothing: INVLPG does. */
	pt_res.mu = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c),
				frame | PTE_P | PTE_RW | PTE_A, 1, DOMID_SELF);
	pt_res.invlpg = mmuext1(MMUEXT_INVLPG_LOCAL, (uint64_t)c);
	pt_res.mu_read = *c;
	/* Preserve-AD keeps the entry's Accessed and Dirty. */
	*c = 1;
	pt_res.ad = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c) | MMU_PT_UPDATE_PRESERVE_AD,
				frame | PTE_P | PTE_RW, 1, DOMID_SELF);
	pt_res.ad_val = *xen_test_l1e((uint64_t)c) & (PTE_A | PTE_D);
	pt_res.flush = mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
	/* Hostile ones: each refused, nothing written. */
	pt_res.bad_ptr = mmu_update1(XEN_TEST_MEM + 8, 0, 1, DOMID_SELF);
	pt_res.bad_frame = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c),
				       (XEN_TEST_MEM + 0x100000) | PTE_P, 1, DOMID_SELF);
	pt_res.bad_count = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c), old_c, 1 << 20,
				       DOMID_SELF);
	pt_res.bad_dom = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c), old_c, 1, 1);
	pt_res.bad_cmd = mmu_update1((uint64_t)xen_test_l1e((uint64_t)c) | 3, old_c, 1, DOMID_SELF);
	pt_res.ext_bad = mmuext1(99, 0);
	pt_res.ext_bad_mfn = mmuext1(MMUEXT_NEW_BASEPTR, 1ULL << 52);
	pt_res.pin = mmuext1(MMUEXT_PIN_L1_TABLE, (uint64_t)xen_test_l1e((uint64_t)c) >> 12);
	pt_res.unpin = mmuext1(MMUEXT_UNPIN_TABLE, (uint64_t)xen_test_l1e((uint64_t)c) >> 12);
	pt_res.uva_hole = xen_hypercall(__HYPERVISOR_update_va_mapping,
					0xffff810000000000ULL, frame | PTE_P, 0, 0, 0);
	/* Back as they were. */
	mmu_update1((uint64_t)xen_test_l1e((uint64_t)b), old_b, 1, DOMID_SELF);
	mmu_update1((uint64_t)xen_test_l1e((uint64_t)c), old_c, 1, DOMID_SELF);
	mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
	/* The M2P: the identity, read-only, where Xen puts it. */
	pt_res.m2p = xen_hypercall(__HYPERVISOR_memory_op, XENMEM_machphys_mapping,
				   (uint64_t)&m, 0, 0, 0);
	pt_res.m2p_start = m.v_start;
	pt_res.m2p_max = m.max_mfn;
	m2p = (const uint64_t *)m.v_start;
	pt_res.m2p_5 = m2p[5];
	pt_res.m2p_last = m2p[frames - 1];
}

TEST(page_table_hypercalls)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_page_tables);

	RUN_TO_END(t);
	typeof(pt_res) *r = xen_test_hva(t, &pt_res);

	EXPECT_EQ(0, r->uva);
	EXPECT_EQ(0x1234, r->alias);
	EXPECT_EQ(0, r->mu);
	EXPECT_EQ(0, r->invlpg);
	EXPECT_EQ(0x1234, r->mu_read);
	EXPECT_EQ(0, r->ad);
	EXPECT_EQ(PTE_A | PTE_D, r->ad_val);
	EXPECT_EQ(0, r->flush);
	EXPECT_EQ(-EINVAL, r->bad_ptr);
	EXPECT_EQ(-EINVAL, r->bad_frame);
	EXPECT_EQ(-EINVAL, r->bad_count);
	EXPECT_EQ(-EPERM, r->bad_dom);
	EXPECT_EQ(-ENOSYS, r->bad_cmd);
	EXPECT_EQ(-ENOSYS, r->ext_bad);
	EXPECT_EQ(-EINVAL, r->ext_bad_mfn);
	EXPECT_EQ(0, r->pin);
	EXPECT_EQ(0, r->unpin);
	EXPECT_EQ(-EINVAL, r->uva_hole);
	EXPECT_EQ(0, r->m2p);
	EXPECT_EQ(0xffff800000000000ULL, (uint64_t)r->m2p_start);
	EXPECT_EQ(XEN_TEST_MEM / 4096 - 1, r->m2p_max);
	EXPECT_EQ(5, r->m2p_5);
	EXPECT_EQ(XEN_TEST_MEM / 4096 - 1, r->m2p_last);
	xen_test_vm_free(t);
}

/*
 * One mmu_update batch writing entries 16 and 23 of one L1, then one of
 * another L1, then entry 18 of the first: every page written reads its
 * new frame at once, with no flush (the module drops what an entry made
 * as the hypercall writes it, runs of one table as one range), and
 * entry 21, between them and not written, still reads its own.
 */
#define BATCH_PAGE(i)	(XEN_TEST_SCRATCH + (i) * 4096ULL)
#define BATCH_OTHER	(XEN_TEST_SCRATCH + 0x205000ULL)
#define BATCH_TARGET(k)	(XEN_TEST_SCRATCH + 0x100000ULL + (k) * 4096ULL)

static struct {
	long mu;
	uint64_t got[5];
} batch_res;

static void guest_update_batch(void)
{
	static const uint64_t va[4] = {
		BATCH_PAGE(16), BATCH_PAGE(23), BATCH_OTHER, BATCH_PAGE(18),
	};
	struct mmu_update u[4];
	uint64_t old[4];
	unsigned int k;

	*(volatile uint64_t *)BATCH_PAGE(21) = 21;
	for (k = 0; k < 4; k++) {
		*(volatile uint64_t *)va[k] = k;
		*(volatile uint64_t *)BATCH_TARGET(k) = 0x7000 + k;
		old[k] = *xen_test_l1e(va[k]);
		u[k].ptr = (uint64_t)xen_test_l1e(va[k]);
		u[k].val = BATCH_TARGET(k) | PTE_P | PTE_RW | PTE_A | PTE_D;
	}
	batch_res.mu = xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)u, 4, 0,
				     DOMID_SELF, 0);
	for (k = 0; k < 4; k++)
		batch_res.got[k] = *(volatile uint64_t *)va[k];
	batch_res.got[4] = *(volatile uint64_t *)BATCH_PAGE(21);
	for (k = 0; k < 4; k++)
		mmu_update1((uint64_t)xen_test_l1e(va[k]), old[k], 1, DOMID_SELF);
	mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
}

TEST(a_batch_of_updates_drops_what_each_entry_made)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_update_batch);
	unsigned int k;

	RUN_TO_END(t);
	typeof(batch_res) *r = xen_test_hva(t, &batch_res);

	EXPECT_EQ(0, r->mu);
	for (k = 0; k < 4; k++)
		EXPECT_EQ(0x7000 + k, r->got[k]);
	EXPECT_EQ(21, r->got[4]);
	xen_test_vm_free(t);
}

/*
 * What a hypercall writes back for the guest goes where the guest kernel
 * could write, and nowhere else, however it got there (walk.c's
 * shadow_gpa(): the shadow's leaf, or a walk): not to a page the guest
 * made read-only after it had been writable, and not to a pinned L1 the
 * kernel has just written in place (its leaf is writable for that alone).
 * mmu_update's `done` count is the write; a machphys update is the no-op.
 */
#define OUT_RO		(XEN_TEST_SCRATCH + 0x40000)
#define OUT_RW		(XEN_TEST_SCRATCH + 0x41000)
#define OUT_TABLE_VA	(XEN_TEST_SCRATCH + 0x600000)

static struct {
	long ro_map, to_ro, to_rw, pin, table_ro, to_table, to_rw_again;
	uint64_t ro_after, rw_after, entry_before, entry_after;
} out_res;

static long noop_update(uint64_t pdone)
{
	struct mmu_update u = {
		.ptr = OUT_RW | MMU_MACHPHYS_UPDATE, .val = OUT_RW >> 12,
	};

	return xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u, 1, pdone,
			     DOMID_SELF, 0);
}

static void guest_hypercall_output(void)
{
	volatile uint64_t *ro = (volatile uint64_t *)OUT_RO;
	volatile uint64_t *l1 = xen_test_l1e(OUT_TABLE_VA);
	uint64_t t = (uint64_t)l1 & PTE_ADDR;

	*ro = 0x1111;
	*(volatile uint64_t *)OUT_RW = 0x2222;
	out_res.ro_map = xen_hypercall(__HYPERVISOR_update_va_mapping, OUT_RO,
				       OUT_RO | PTE_P | PTE_A, UVMF_INVLPG, 0, 0);
	(void)*ro;
	out_res.to_ro = noop_update(OUT_RO);
	out_res.to_rw = noop_update(OUT_RW);
	out_res.ro_after = *ro;
	out_res.rw_after = *(volatile uint64_t *)OUT_RW;

	/* A pinned L1, read-only to the kernel, written in place once. */
	out_res.pin = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12);
	out_res.table_ro = xen_hypercall(__HYPERVISOR_update_va_mapping, t,
					 t | PTE_P | PTE_A, UVMF_INVLPG, 0, 0);
	*l1 = *l1;
	out_res.entry_before = l1[1];
	out_res.to_table = noop_update((uint64_t)&l1[1]);
	out_res.entry_after = l1[1];
	out_res.to_rw_again = noop_update(OUT_RW);
}

TEST(hypercall_output_lands_only_where_the_kernel_may_write)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_hypercall_output);

	RUN_TO_END(t);
	typeof(out_res) *r = xen_test_hva(t, &out_res);

	EXPECT_EQ(0, r->ro_map);
	EXPECT_EQ(EFAULT_, r->to_ro);
	EXPECT_EQ(0, r->to_rw);
	EXPECT_EQ(0x1111, r->ro_after);
	/* The count, a u32, over the low half of 0x2222. */
	EXPECT_EQ(1, r->rw_after);
	EXPECT_EQ(0, r->pin);
	EXPECT_EQ(0, r->table_ro);
	EXPECT_EQ(EFAULT_, r->to_table);
	EXPECT_EQ(r->entry_before, r->entry_after);
	EXPECT_EQ(0, r->to_rw_again);
	xen_test_vm_free(t);
}

/*
 * A pinned L4's shadow survives a CR3 write (pgtable/coherent.c), and stays
 * coherent with the tables: a change by mmu_update shows at once, a write
 * in place to a pinned L1 at the next CR3 write or flush.
 */
#define CO_PAGES	128
#define CO_DATA		(XEN_TEST_SCRATCH + 0x100000)
#define CO_L4B		(XEN_TEST_SCRATCH + 0x10000)
#define CO_X		(XEN_TEST_SCRATCH + 0x20000)

static struct {
	long pin_a, pin_b, ro, to_b, to_a, mu, direct_b, direct_a, flush;
	uint64_t sum_first, sum_again, mu_seen, direct_seen, flush_seen;
} co_res;

static uint64_t co_touch(void)
{
	uint64_t sum = 0, i;

	for (i = 0; i < CO_PAGES; i++)
		sum += *(volatile uint64_t *)(CO_DATA + i * 4096);
	return sum;
}

static void guest_coherent_shadow(void)
{
	uint64_t *l4a = (uint64_t *)XEN_TEST_PT_BASE, *l4b = (uint64_t *)CO_L4B;
	uint64_t l1 = (uint64_t)xen_test_l1e(CO_DATA) & PTE_ADDR, x = CO_X | PTE_P | PTE_RW | PTE_A | PTE_D;
	uint64_t i;

	for (i = 0; i < 512; i++)
		l4b[i] = l4a[i];
	*(volatile uint64_t *)CO_X = 0xabcd;
	for (i = 0; i < CO_PAGES; i++)
		*(volatile uint64_t *)(CO_DATA + i * 4096) = i + 1;
	co_res.pin_a = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12);
	co_res.pin_b = mmuext1(MMUEXT_PIN_L4_TABLE, CO_L4B >> 12);
	/* The L1 that maps the data read-only to the guest, as Xen has it. */
	co_res.ro = xen_hypercall(__HYPERVISOR_update_va_mapping, l1, l1 | PTE_P | PTE_A,
				  UVMF_INVLPG, 0, 0);
	co_res.sum_first = co_touch();
	GUEST_SYNC(1);
	/* Away and back: nothing of the data is filled again. */
	co_res.to_b = mmuext1(MMUEXT_NEW_BASEPTR, CO_L4B >> 12);
	co_res.to_a = mmuext1(MMUEXT_NEW_BASEPTR, XEN_TEST_PT_BASE >> 12);
	co_res.sum_again = co_touch();
	GUEST_SYNC(2);
	/* mmu_update from the other space, and no flush: seen on return. */
	mmuext1(MMUEXT_NEW_BASEPTR, CO_L4B >> 12);
	co_res.mu = mmu_update1((uint64_t)xen_test_l1e(CO_DATA), x, 1, DOMID_SELF);
	mmuext1(MMUEXT_NEW_BASEPTR, XEN_TEST_PT_BASE >> 12);
	co_res.mu_seen = *(volatile uint64_t *)CO_DATA;
	/* A write in place (the L1 is read-only to us): seen after a CR3 write. */
	*(volatile uint64_t *)xen_test_l1e(CO_DATA + 4096) = x;
	co_res.direct_b = mmuext1(MMUEXT_NEW_BASEPTR, CO_L4B >> 12);
	co_res.direct_a = mmuext1(MMUEXT_NEW_BASEPTR, XEN_TEST_PT_BASE >> 12);
	co_res.direct_seen = *(volatile uint64_t *)(CO_DATA + 4096);
	/* ... or after a flush. */
	*(volatile uint64_t *)xen_test_l1e(CO_DATA + 2 * 4096) = x;
	co_res.flush = mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
	co_res.flush_seen = *(volatile uint64_t *)(CO_DATA + 2 * 4096);
}

TEST(a_pinned_l4_keeps_its_shadow_coherent_across_cr3_writes)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_coherent_shadow);
	uint64_t fills;

	XEN_FILLS_BETWEEN_SYNCS(t, fills);

	/* The data's 128 pages stayed; the other space filled what it ran. */
	EXPECT_GT(CO_PAGES / 2, fills);
	XEN_RUN_DONE(t);
	typeof(co_res) *r = xen_test_hva(t, &co_res);

	EXPECT_EQ(0, r->pin_a);
	EXPECT_EQ(0, r->pin_b);
	EXPECT_EQ(0, r->ro);
	EXPECT_EQ(CO_PAGES * (CO_PAGES + 1) / 2, r->sum_first);
	EXPECT_EQ(CO_PAGES * (CO_PAGES + 1) / 2, r->sum_again);
	EXPECT_EQ(0, r->to_b);
	EXPECT_EQ(0, r->to_a);
	EXPECT_EQ(0, r->mu);
	EXPECT_EQ(0xabcd, r->mu_seen);
	EXPECT_EQ(0, r->direct_b);
	EXPECT_EQ(0, r->direct_a);
	EXPECT_EQ(0xabcd, r->direct_seen);
	EXPECT_EQ(0, r->flush);
	EXPECT_EQ(0xabcd, r->flush_seen);
	xen_test_vm_free(t);
}

/*
 * An entry written by hypercall drops its leaves in the spaces whose PML4
 * its table was met under, and only there (coherent.c's roots).  One L1,
 * T, maps the data; L4s A (the boot one), B and C share it, and E reaches
 * the same data frames through copies of the tables down to a copy of T.
 *  1. T met under A and B; rewritten from A: B sees it, E keeps its leaves
 *     without a fill (it was never under T).
 *  2. B unpinned, its root dead; T met under C instead, and rewritten: C
 *     sees it (C took B's place).
 *  3. B pinned again and T met under it: three live roots, so T is looked
 *     for everywhere; rewritten: A, B and C all see it, E still its own.
 */
#define RT_DATA		(XEN_TEST_SCRATCH + 0x400000)	/* one L1's 2 MiB */
#define RT_PAGES	64
#define RT_X(k)		(XEN_TEST_SCRATCH + 0x100000 + (k) * 4096ULL)
#define RT_L4B		(XEN_TEST_SCRATCH + 0x10000)
#define RT_L4C		(XEN_TEST_SCRATCH + 0x11000)
#define RT_L4E		(XEN_TEST_SCRATCH + 0x12000)
#define RT_E3		(XEN_TEST_SCRATCH + 0x13000)
#define RT_E2		(XEN_TEST_SCRATCH + 0x14000)
#define RT_E1		(XEN_TEST_SCRATCH + 0x15000)
#define RT_ORIG		(RT_PAGES * (RT_PAGES + 1) / 2)
#define RT_MOVED	(RT_PAGES * 0x7000 + RT_PAGES * (RT_PAGES - 1) / 2)

static struct {
	long pins, mu[3], unpin, repin, switches;
	uint64_t e_kept, b_moved, a_moved, c_moved, a_back, b_back, c_back, e_own;
} rt_res;

static struct mmu_update rt_u[RT_PAGES];
static uint64_t rt_orig[RT_PAGES];

static uint64_t rt_sum_in(uint64_t l4)
{
	uint64_t sum = 0, i;

	rt_res.switches |= mmuext1(MMUEXT_NEW_BASEPTR, l4 >> 12);
	for (i = 0; i < RT_PAGES; i++)
		sum += *(volatile uint64_t *)(RT_DATA + i * 4096);
	return sum;
}

/* From A: T's entries to the frames RT_X (@moved) or back to their own. */
static long rt_rewrite(bool moved)
{
	unsigned int k;

	rt_res.switches |= mmuext1(MMUEXT_NEW_BASEPTR, XEN_TEST_PT_BASE >> 12);
	for (k = 0; k < RT_PAGES; k++)
		rt_u[k].val = moved ? RT_X(k) | PTE_P | PTE_RW | PTE_A | PTE_D : rt_orig[k];
	return xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)rt_u, RT_PAGES, 0,
			     DOMID_SELF, 0);
}

static void rt_copy(uint64_t to, uint64_t from)
{
	unsigned int i;

	for (i = 0; i < 512; i++)
		((volatile uint64_t *)to)[i] = ((uint64_t *)from)[i];
}

static void guest_roots(void)
{
	uint64_t *l4a = (uint64_t *)XEN_TEST_PT_BASE;
	uint64_t l3 = l4a[0] & PTE_ADDR, l2 = ((uint64_t *)l3)[0] & PTE_ADDR;
	uint64_t t = (uint64_t)xen_test_l1e(RT_DATA) & PTE_ADDR;
	unsigned int k, slot = (RT_DATA >> 21) & 511;

	for (k = 0; k < RT_PAGES; k++) {
		*(volatile uint64_t *)(RT_DATA + k * 4096ULL) = k + 1;
		*(volatile uint64_t *)RT_X(k) = 0x7000 + k;
		rt_u[k].ptr = (uint64_t)xen_test_l1e(RT_DATA + k * 4096ULL);
		rt_orig[k] = *xen_test_l1e(RT_DATA + k * 4096ULL);
	}
	rt_copy(RT_L4B, XEN_TEST_PT_BASE);
	rt_copy(RT_L4C, XEN_TEST_PT_BASE);
	rt_copy(RT_L4E, XEN_TEST_PT_BASE);
	rt_copy(RT_E3, l3);
	rt_copy(RT_E2, l2);
	rt_copy(RT_E1, t);
	((volatile uint64_t *)RT_L4E)[0] = (l4a[0] & ~PTE_ADDR) | RT_E3;
	((volatile uint64_t *)RT_E3)[0] = (((uint64_t *)l3)[0] & ~PTE_ADDR) | RT_E2;
	((volatile uint64_t *)RT_E2)[slot] = (((uint64_t *)l2)[slot] & ~PTE_ADDR) | RT_E1;
	rt_res.pins = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12) |
		      mmuext1(MMUEXT_PIN_L4_TABLE, RT_L4B >> 12) |
		      mmuext1(MMUEXT_PIN_L4_TABLE, RT_L4C >> 12) |
		      mmuext1(MMUEXT_PIN_L4_TABLE, RT_L4E >> 12);
	/* 1. */
	rt_sum_in(XEN_TEST_PT_BASE);
	rt_sum_in(RT_L4B);
	rt_sum_in(RT_L4E);
	GUEST_SYNC(1);
	rt_res.mu[0] = rt_rewrite(true);
	rt_res.e_kept = rt_sum_in(RT_L4E);
	GUEST_SYNC(2);
	rt_res.b_moved = rt_sum_in(RT_L4B);
	rt_res.a_moved = rt_sum_in(XEN_TEST_PT_BASE);
	/* 2. */
	rt_res.unpin = mmuext1(MMUEXT_UNPIN_TABLE, RT_L4B >> 12);
	rt_res.mu[1] = rt_rewrite(false);
	rt_sum_in(RT_L4C);
	rt_res.mu[1] |= rt_rewrite(true);
	rt_res.c_moved = rt_sum_in(RT_L4C);
	/* 3. */
	rt_res.repin = mmuext1(MMUEXT_PIN_L4_TABLE, RT_L4B >> 12);
	rt_sum_in(RT_L4B);
	rt_res.mu[2] = rt_rewrite(false);
	rt_res.a_back = rt_sum_in(XEN_TEST_PT_BASE);
	rt_res.b_back = rt_sum_in(RT_L4B);
	rt_res.c_back = rt_sum_in(RT_L4C);
	rt_res.e_own = rt_sum_in(RT_L4E);
	rt_sum_in(XEN_TEST_PT_BASE);
}

TEST(a_written_entry_drops_leaves_only_where_its_table_was_met)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_roots);
	uint64_t fills;

	XEN_FILLS_BETWEEN_SYNCS(t, fills);

	/* E's 64 data leaves stayed (dropping them everywhere refilled 64). */
	EXPECT_GT(RT_PAGES / 4, fills);
	XEN_RUN_DONE(t);
	typeof(rt_res) *r = xen_test_hva(t, &rt_res);

	EXPECT_EQ(0, r->pins);
	EXPECT_EQ(0, r->switches);
	EXPECT_EQ(0, r->mu[0]);
	EXPECT_EQ(0, r->mu[1]);
	EXPECT_EQ(0, r->mu[2]);
	EXPECT_EQ(0, r->unpin);
	EXPECT_EQ(0, r->repin);
	EXPECT_EQ(RT_ORIG, r->e_kept);
	EXPECT_EQ(RT_MOVED, r->b_moved);
	EXPECT_EQ(RT_MOVED, r->a_moved);
	EXPECT_EQ(RT_MOVED, r->c_moved);
	EXPECT_EQ(RT_ORIG, r->a_back);
	EXPECT_EQ(RT_ORIG, r->b_back);
	EXPECT_EQ(RT_ORIG, r->c_back);
	EXPECT_EQ(RT_ORIG, r->e_own);
	xen_test_vm_free(t);
}

/*
 * The kernel half's shadow is shared (shadow.c's lg->kshare): pinned L4s
 * A and B with the same entry in an upper slot, KS_SLOT, use one shadow
 * PDPT for it.  A reads KS_PAGES pages there, then B reads them without a
 * fill.  An entry of the L1 below changes (mmu_update): both see it.  Then
 * B's PML4 entry moves to other tables: B sees the new pages, A still the
 * old ones; an entry of B's new L1 changes, and B, whose shadow PDPT for
 * the slot is its own now, sees that too (shadow.c's lg_zap_upper_range()
 * zaps the shared PDPT once and such a one apart); and an unpinned L4, C,
 * with A's entry, sees A's pages through a shadow of its own.
 */
#define KS_SLOT		300ULL
#define KS_VA(k)	(0xffff000000000000ULL | (KS_SLOT << 39) | ((k) * 4096ULL))
#define KS_PAGES	32
#define KS_L4B		(XEN_TEST_SCRATCH + 0x10000)
#define KS_L4C		(XEN_TEST_SCRATCH + 0x11000)
#define KS_T(set, lvl)	(XEN_TEST_SCRATCH + 0x20000 + (set) * 0x3000 + ((lvl) - 1) * 0x1000)
#define KS_DATA(set, k)	(XEN_TEST_SCRATCH + 0x100000 + (set) * 0x40000 + (k) * 4096ULL)
#define KS_SUM(set)	((set) * 0x500 * KS_PAGES + KS_PAGES * (KS_PAGES + 1) / 2)

static struct {
	long pins, mu, l1_mu, moved, switches;
	uint64_t a_first, b_shared, a_l1, b_l1, b_moved, a_kept, b_own_l1, c_own, a_last;
} ks_res;

static uint64_t ks_sum_in(uint64_t l4)
{
	uint64_t sum = 0, k;

	ks_res.switches |= mmuext1(MMUEXT_NEW_BASEPTR, l4 >> 12);
	for (k = 0; k < KS_PAGES; k++)
		sum += *(volatile uint64_t *)KS_VA(k);
	return sum;
}

static void guest_kernel_half(void)
{
	uint64_t *l4a = (uint64_t *)XEN_TEST_PT_BASE, flags = PTE_P | PTE_RW | PTE_A;
	unsigned int set, k, i;

	/* Two sets of tables for the slot, each mapping its own pages. */
	for (set = 0; set < 2; set++) {
		for (i = 0; i < 3 * 512; i++)
			((volatile uint64_t *)KS_T(set, 1))[i] = 0;
		((volatile uint64_t *)KS_T(set, 3))[0] = KS_T(set, 2) | flags;
		((volatile uint64_t *)KS_T(set, 2))[0] = KS_T(set, 1) | flags;
		for (k = 0; k < KS_PAGES; k++) {
			((volatile uint64_t *)KS_T(set, 1))[k] = KS_DATA(set, k) | flags | PTE_D;
			*(volatile uint64_t *)KS_DATA(set, k) = set * 0x500 + k + 1;
		}
	}
	for (i = 0; i < 512; i++) {
		((volatile uint64_t *)KS_L4B)[i] = l4a[i];
		((volatile uint64_t *)KS_L4C)[i] = l4a[i];
	}
	((volatile uint64_t *)KS_L4C)[KS_SLOT] = KS_T(0, 3) | flags;
	ks_res.pins = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12) |
		      mmuext1(MMUEXT_PIN_L4_TABLE, KS_L4B >> 12);
	ks_res.mu = mmu_update1(XEN_TEST_PT_BASE + KS_SLOT * 8, KS_T(0, 3) | flags, 1, DOMID_SELF) |
		    mmu_update1(KS_L4B + KS_SLOT * 8, KS_T(0, 3) | flags, 1, DOMID_SELF);
	ks_res.a_first = ks_sum_in(XEN_TEST_PT_BASE);
	GUEST_SYNC(1);
	ks_res.b_shared = ks_sum_in(KS_L4B);
	GUEST_SYNC(2);
	ks_res.l1_mu = mmu_update1(KS_T(0, 1), KS_DATA(1, 0) | flags | PTE_D, 1, DOMID_SELF);
	ks_res.a_l1 = ks_sum_in(XEN_TEST_PT_BASE);
	ks_res.b_l1 = ks_sum_in(KS_L4B);
	ks_res.l1_mu |= mmu_update1(KS_T(0, 1), KS_DATA(0, 0) | flags | PTE_D, 1, DOMID_SELF);
	ks_res.moved = mmu_update1(KS_L4B + KS_SLOT * 8, KS_T(1, 3) | flags, 1, DOMID_SELF);
	ks_res.b_moved = ks_sum_in(KS_L4B);
	ks_res.a_kept = ks_sum_in(XEN_TEST_PT_BASE);
	/* B's page 0 becomes set 0's page 1, in B's own PDPT's tables. */
	ks_res.l1_mu |= mmu_update1(KS_T(1, 1), KS_DATA(0, 1) | flags | PTE_D, 1, DOMID_SELF);
	ks_res.b_own_l1 = ks_sum_in(KS_L4B);
	ks_res.l1_mu |= mmu_update1(KS_T(1, 1), KS_DATA(1, 0) | flags | PTE_D, 1, DOMID_SELF);
	ks_res.c_own = ks_sum_in(KS_L4C);
	ks_res.a_last = ks_sum_in(XEN_TEST_PT_BASE);
}

TEST(pinned_spaces_share_the_kernel_half)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_kernel_half);
	uint64_t fills;

	XEN_FILLS_BETWEEN_SYNCS(t, fills);

	/* B read A's pages through the shared PDPT (its own code and stack fill). */
	EXPECT_GT(KS_PAGES / 2, fills);
	XEN_RUN_DONE(t);
	typeof(ks_res) *r = xen_test_hva(t, &ks_res);

	EXPECT_EQ(0, r->pins);
	EXPECT_EQ(0, r->mu);
	EXPECT_EQ(0, r->moved);
	EXPECT_EQ(0, r->l1_mu);
	EXPECT_EQ(0, r->switches);
	EXPECT_EQ(KS_SUM(0), r->a_first);
	EXPECT_EQ(KS_SUM(0), r->b_shared);
	/* Page 0 (1) now set 1's page 0 (0x501), in both. */
	EXPECT_EQ(KS_SUM(0) + 0x500, r->a_l1);
	EXPECT_EQ(KS_SUM(0) + 0x500, r->b_l1);
	EXPECT_EQ(KS_SUM(1), r->b_moved);
	EXPECT_EQ(KS_SUM(0), r->a_kept);
	/* Set 1's page 0 (0x501) replaced by set 0's page 1 (2). */
	EXPECT_EQ(KS_SUM(1) - 0x501 + 2, r->b_own_l1);
	EXPECT_EQ(KS_SUM(0), r->c_own);
	EXPECT_EQ(KS_SUM(0), r->a_last);
	xen_test_vm_free(t);
}

/*
 * A resync keeps what the written table still says (coherent.c's
 * sync_bound(), KVM's sync_page()): four pages of one L1, read-only to
 * the guest, filled writable; then in place one loses Accessed, one
 * Dirty, one moves to another frame, and one stays as it was.  After the
 * flush, the one that stayed is used without a fill; the others fill
 * again, setting Accessed and Dirty in the guest's entries as the CPU
 * would, and the moved one reads its new frame.
 */
#define SY_PAGE(i)	(XEN_TEST_SCRATCH + 0x300000 + (i) * 4096)
#define SY_X		(XEN_TEST_SCRATCH + 0x33000)

static struct {
	long pin, ro, flush;
	uint64_t kept, aged, cleaned, moved, a_again, d_again;
} sy_res;

/*
 * On a page of its own: the fills counted are the pages', and code it
 * runs only after the flush must not be on a page it has not run yet
 * (which any code added to this file could make it).
 */
static void __attribute__((aligned(4096))) guest_sync(void)
{
	uint64_t l1 = (uint64_t)xen_test_l1e(SY_PAGE(0)) & PTE_ADDR, i;
	volatile uint64_t *e[4];

	for (i = 0; i < 4; i++) {
		e[i] = xen_test_l1e(SY_PAGE(i));
		*(volatile uint64_t *)SY_PAGE(i) = 100 + i;
	}
	*(volatile uint64_t *)SY_X = 0x5eed;
	sy_res.pin = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12);
	sy_res.ro = xen_hypercall(__HYPERVISOR_update_va_mapping, l1, l1 | PTE_P | PTE_A,
				  UVMF_INVLPG, 0, 0);
	for (i = 0; i < 4; i++)
		*(volatile uint64_t *)SY_PAGE(i) += 1;
	*e[0] &= ~PTE_A;
	*e[1] &= ~PTE_D;
	*e[2] = (*e[2] & ~PTE_ADDR) | SY_X;
	sy_res.flush = mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
	GUEST_SYNC(1);
	sy_res.kept = *(volatile uint64_t *)SY_PAGE(3);
	sy_res.aged = *(volatile uint64_t *)SY_PAGE(0);
	*(volatile uint64_t *)SY_PAGE(1) += 1;
	sy_res.cleaned = *(volatile uint64_t *)SY_PAGE(1);
	sy_res.moved = *(volatile uint64_t *)SY_PAGE(2);
	sy_res.a_again = *e[0] & PTE_A;
	sy_res.d_again = *e[1] & PTE_D;
	GUEST_SYNC(2);
}

TEST(a_resync_keeps_the_leaves_a_written_table_still_allows)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_sync);
	uint64_t fills;

	XEN_FILLS_BETWEEN_SYNCS(t, fills);

	XEN_RUN_DONE(t);
	typeof(sy_res) *r = xen_test_hva(t, &sy_res);

	EXPECT_EQ(0, r->pin);
	EXPECT_EQ(0, r->ro);
	EXPECT_EQ(0, r->flush);
	EXPECT_EQ(104, r->kept);
	EXPECT_EQ(101, r->aged);
	EXPECT_EQ(103, r->cleaned);
	EXPECT_EQ(0x5eed, r->moved);
	EXPECT_EQ(PTE_A, r->a_again);
	EXPECT_EQ(PTE_D, r->d_again);
	/*
	 * Filled again: the aged, the cleaned and the moved page, and the L1
	 * itself, read through its read-only mapping (the resync took its
	 * writable one); not the page that stayed.
	 */
	EXPECT_EQ(4, fills);
	xen_test_vm_free(t);
}

/*
 * M:056: a flush must not return while another vCPU's resync has taken
 * the list of tables written in place but not yet dropped what they
 * produced.  vCPU 0 does what fork and a copy-on-write break do: it
 * rewrites an entry in place (its L1 read-only to it), here moving a page
 * it has just written to another frame, flushes, and writes the page
 * again: that write must land in the new frame, never in the old one.
 * vCPU 1 meanwhile writes another L1 in place and flushes, round after
 * round, so its resyncs keep taking vCPU 0's table along with its own.
 */
#define RS_ROUNDS	10000
#define RS_P		(XEN_TEST_SCRATCH + 0x200000)
#define RS_F1		(XEN_TEST_SCRATCH + 0x210000)
#define RS_F2		(XEN_TEST_SCRATCH + 0x211000)
#define RS_Q		(XEN_TEST_SCRATCH + 0x400000)

static struct {
	long pin, ro_a, ro_b, init, up;
	uint64_t rounds, stale, lost, flush_errors, ap_rounds, ap_errors, waits;
} rs_res;

static volatile uint64_t rs_stop, rs_ap_done;
static uint8_t rs_stack[16384] __attribute__((aligned(16)));

static void guest_resync_ap(void)
{
	volatile uint64_t *q = xen_test_l1e(RS_Q);
	uint64_t v = *q;

	while (!rs_stop) {
		*q = v;
		if (mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0))
			rs_res.ap_errors++;
		rs_res.ap_rounds++;
	}
	rs_ap_done = 1;
	for (;;)
		HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
}

static void guest_resync_race(void)
{
	static struct vcpu_guest_context ctx;
	volatile uint64_t *e = xen_test_l1e(RS_P), *p = (uint64_t *)RS_P;
	volatile uint64_t *f1 = (uint64_t *)RS_F1, *f2 = (uint64_t *)RS_F2;
	uint64_t la = (uint64_t)xen_test_l1e(RS_P) & PTE_ADDR, lb = (uint64_t)xen_test_l1e(RS_Q) & PTE_ADDR;
	uint64_t i, rw = PTE_P | PTE_RW | PTE_A | PTE_D;

	rs_res.pin = mmuext1(MMUEXT_PIN_L4_TABLE, XEN_TEST_PT_BASE >> 12);
	/* Both L1s read-only to the guest, as Xen has a pinned L1. */
	rs_res.ro_a = xen_hypercall(__HYPERVISOR_update_va_mapping, la, la | PTE_P | PTE_A,
				    UVMF_INVLPG, 0, 0);
	rs_res.ro_b = xen_hypercall(__HYPERVISOR_update_va_mapping, lb, lb | PTE_P | PTE_A,
				    UVMF_INVLPG, 0, 0);
	xen_guest_vcpu_context(&ctx, guest_resync_ap, rs_stack, sizeof(rs_stack));
	ctx.user_regs.rflags = 0x1000;		/* IOPL 1, events masked */
	rs_res.init = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	rs_res.up = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	for (i = 1; i <= RS_ROUNDS; i++) {
		*f1 = 0;
		*f2 = 0;
		*e = RS_F1 | rw;
		mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
		*p = 0;
		/* The page moves, in place; then the flush that publishes it. */
		*e = RS_F2 | rw;
		if (mmuext1(MMUEXT_TLB_FLUSH_LOCAL, 0))
			rs_res.flush_errors++;
		*p = i;
		if (*f1 == i)
			rs_res.stale++;
		if (*f2 != i)
			rs_res.lost++;
	}
	rs_res.rounds = i - 1;
	rs_stop = 1;
	while (!rs_ap_done && rs_res.waits < 1000000) {
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		rs_res.waits++;
	}
}

/* Tests that outlast kselftest's 30 s default need a fixture for a timeout. */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, a_flush_waits_for_the_resync_another_vcpu_has_begun, 300)
{
	struct xen_test_vm *t = xen_test_vm_create_smp(guest_resync_race, 2);

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, xen_test_start_vcpus(t));
	XEN_RUN_DONE(t);
	typeof(rs_res) *r = xen_test_hva(t, &rs_res);

	EXPECT_EQ(0, r->pin);
	EXPECT_EQ(0, r->ro_a);
	EXPECT_EQ(0, r->ro_b);
	EXPECT_EQ(0, r->init);
	EXPECT_EQ(0, r->up);
	EXPECT_EQ(RS_ROUNDS, r->rounds);
	EXPECT_EQ(0, r->flush_errors);
	/* Every write after the flush went to the page's new frame. */
	EXPECT_EQ(0, r->stale);
	EXPECT_EQ(0, r->lost);
	/* vCPU 1 resynced alongside, and stopped when asked. */
	EXPECT_LT(0, r->ap_rounds);
	EXPECT_EQ(0, r->ap_errors);
	EXPECT_EQ(1, *(uint64_t *)xen_test_hva(t, &rs_ap_done));
	TH_LOG("%llu rounds, %llu of vCPU 1's meanwhile",
	       (unsigned long long)r->rounds, (unsigned long long)r->ap_rounds);
	EXPECT_EQ(0, t->vcpus[1].error);
	xen_test_vm_free(t);
}

/* The guest maps something of its own in the hole, and touches it. */
static void guest_maps_the_hole(void)
{
	uint64_t *l4 = (uint64_t *)XEN_TEST_PT_BASE;

	/* Slot 258 takes the L3 that slot 0 has. */
	GUEST_ASSERT_EQ(0, mmu_update1((uint64_t)&l4[258], l4[0], 1, DOMID_SELF));
	(void)*(volatile uint64_t *)0xffff810000000000ULL;
}

TEST(a_mapping_in_the_hole_kills)
{
	expect_killed(_metadata, guest_maps_the_hole, "which the host reserves");
}

/* vcpu_info moves into the guest's memory once, aligned (no split locks). */
/* ------------------------------------------------------------------ */
/* Event channels (events.c): delivery, masking, the launcher's port   */

static struct {
	/* 1. raised with events masked (vcpu_info's upcall mask) */
	uint64_t pending_masked, sel_masked, upcall_masked, count_masked;
	/* ... then unmasked, as Linux's xen_irq_enable() does */
	uint64_t count_unmasked, mask_in_callback, pending_seen, sel_seen;
	uint64_t mask_after;
	/* 2. raised with the port masked (evtchn_mask) */
	uint64_t port_pending, port_sel, port_upcall, port_count;
	long unmask;
	uint64_t count_after_unmask, mask_bit_after;
	/* 3. raised from another thread while blocked */
	long blocks;
	uint64_t count_blocked;
} ev_res;

static void guest_events(void)
{
	struct shared_info *s = xen_test_shared_info();
	volatile struct vcpu_info *vi = &s->vcpu_info[0];
	volatile uint64_t *pending = (volatile uint64_t *)s->evtchn_pending;
	volatile uint64_t *mask = (volatile uint64_t *)s->evtchn_mask;
	struct evtchn_unmask unmask = { .port = XEN_TEST_PORT };

	GUEST_ASSERT_EQ(xen_guest_install_event_callback(), 0);

	GUEST_SYNC(1);
	ev_res.pending_masked = xen_guest_test_bit(XEN_TEST_PORT, pending);
	ev_res.sel_masked = vi->evtchn_pending_sel;
	ev_res.upcall_masked = vi->evtchn_upcall_pending;
	ev_res.count_masked = xen_test_events.count;
	vi->evtchn_upcall_mask = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vi->evtchn_upcall_pending)
		HYPERVISOR_xen_version(XENVER_version, NULL);
	ev_res.count_unmasked = xen_test_events.count;
	ev_res.mask_in_callback = xen_test_events.mask;
	ev_res.pending_seen = xen_test_events.pending;
	ev_res.sel_seen = xen_test_events.sel;
	ev_res.mask_after = vi->evtchn_upcall_mask;

	xen_guest_set_bit(XEN_TEST_PORT, mask);
	GUEST_SYNC(2);
	ev_res.port_pending = xen_guest_test_bit(XEN_TEST_PORT, pending);
	ev_res.port_sel = vi->evtchn_pending_sel;
	ev_res.port_upcall = vi->evtchn_upcall_pending;
	ev_res.port_count = xen_test_events.count;
	ev_res.unmask = HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &unmask);
	ev_res.count_after_unmask = xen_test_events.count;
	ev_res.mask_bit_after = xen_guest_test_bit(XEN_TEST_PORT, mask);

	GUEST_SYNC(3);
	ev_res.blocks = xen_guest_block_past(2, 1000);
	ev_res.count_blocked = xen_test_events.count;
}

struct raiser {
	struct lg_vm *vm;
	unsigned int port;
	int rc;
};

/* The launcher's side of a device: an event some time after the guest ran on. */
static void *raise_later(void *arg)
{
	struct raiser *r = arg;

	usleep(50 * 1000);
	r->rc = lg_vm_irq(r->vm, 0, r->port);
	return NULL;
}

TEST(event_channels_delivery_and_masking)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_events);
	struct raiser later;
	pthread_t th;
	uint64_t v;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(1, v);
	/* Only the launcher's own port is its to raise. */
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, 0));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, XEN_TEST_PORT + 1));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, 4096));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, ~0U));
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 1, XEN_TEST_PORT));
	ASSERT_EQ(0, lg_vm_irq(&t->vm, 0, XEN_TEST_PORT));
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(2, v);
	ASSERT_EQ(0, lg_vm_irq(&t->vm, 0, XEN_TEST_PORT));
	XEN_RUN_SYNC(t, &v);
	ASSERT_EQ(3, v);
	later = (struct raiser){ .vm = &t->vm, .port = XEN_TEST_PORT };
	ASSERT_EQ(0, pthread_create(&th, NULL, raise_later, &later));
	XEN_RUN_DONE(t);
	pthread_join(th, NULL);
	EXPECT_EQ(0, later.rc);
	typeof(ev_res) *r = xen_test_hva(t, &ev_res);

	/* Masked: pending, its selector bit and upcall_pending set, no upcall. */
	EXPECT_EQ(1, r->pending_masked);
	EXPECT_EQ(1, r->sel_masked);
	EXPECT_EQ(1, r->upcall_masked);
	EXPECT_EQ(0, r->count_masked);
	/* Unmasked: one upcall, entered with events masked, left unmasked. */
	EXPECT_EQ(1, r->count_unmasked);
	EXPECT_EQ(1, r->mask_in_callback);
	EXPECT_EQ(1ULL << XEN_TEST_PORT, r->pending_seen);
	EXPECT_EQ(1, r->sel_seen);
	EXPECT_EQ(0, r->mask_after);
	/* A masked port: pending only; EVTCHNOP_unmask then delivers it. */
	EXPECT_EQ(1, r->port_pending);
	EXPECT_EQ(0, r->port_sel);
	EXPECT_EQ(0, r->port_upcall);
	EXPECT_EQ(1, r->port_count);
	EXPECT_EQ(0, r->unmask);
	EXPECT_EQ(2, r->count_after_unmask);
	EXPECT_EQ(0, r->mask_bit_after);
	/* SCHEDOP_block slept until the launcher's event came. */
	EXPECT_LE(0, r->blocks);	/* not an error */
	EXPECT_EQ(3, r->count_blocked);
	EXPECT_GE(3, r->blocks);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* VIRQ_TIMER and the pvclock (hypercalls.c vcpu_op, xen.c)            */

#define TIMER_SHOTS	20
#define TIMER_NS	2000000ULL	/* 2 ms each */
/*
 * A wake-up may precede its deadline on the guest's clock by this much:
 * the module arms the host timer on its own clock, the guest reads the
 * pvclock's extrapolation of it (refreshed just before the upcall), and
 * the two may round apart by a few ns per conversion.
 */
#define TIMER_SLACK_NS	10000ULL

static struct {
	long bind, past_future, past, block_err;
	long set[TIMER_SHOTS];
	uint32_t port;
	uint64_t early, worst_early, count, pending_seen, blocks;
	uint64_t start, end;
	long masked_set, masked_block;
	uint64_t masked_pending, masked_upcalls, after_block;
} tm_res;

static long set_timer(uint64_t deadline, uint32_t flags)
{
	struct vcpu_set_singleshot_timer st = {
		.timeout_abs_ns = deadline, .flags = flags,
	};

	return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &st);
}

/*
 * Block until an upcall after the one @seen counted (taken before the
 * timer was set: the upcall may come as the hypercall that set it returns).
 */
static void wait_event(uint64_t seen)
{
	long r = xen_guest_block_past(seen, 100000);

	if (r < 0)
		tm_res.block_err = r;
	else
		tm_res.blocks += r;
}

static void guest_timer(void)
{
	struct evtchn_bind_virq bind = { .virq = VIRQ_TIMER, .vcpu = 0 };
	volatile struct vcpu_info *vi = &xen_test_shared_info()->vcpu_info[0];
	uint64_t deadline, seen, now;
	int i;

	GUEST_ASSERT_EQ(xen_guest_install_event_callback(), 0);
	tm_res.bind = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bind);
	tm_res.port = bind.port;
	GUEST_SYNC(bind.port);
	tm_res.past_future = set_timer(1, VCPU_SSHOTTMR_future);
	vi->evtchn_upcall_mask = 0;
	tm_res.start = xen_guest_system_time();
	for (i = 0; i < TIMER_SHOTS; i++) {
		seen = xen_test_events.count;
		deadline = xen_guest_system_time() + TIMER_NS;
		tm_res.set[i] = set_timer(deadline, 0);
		wait_event(seen);
		now = xen_guest_system_time();
		if (now + TIMER_SLACK_NS < deadline) {
			tm_res.early++;
			if (deadline - now > tm_res.worst_early)
				tm_res.worst_early = deadline - now;
		}
	}
	tm_res.end = xen_guest_system_time();
	/* Without VCPU_SSHOTTMR_future, a deadline in the past fires at once. */
	seen = xen_test_events.count;
	tm_res.past = set_timer(1, 0);
	wait_event(seen);
	tm_res.count = xen_test_events.count;
	tm_res.pending_seen = xen_test_events.pending;

	/*
	 * The module's half of blocking safely: an event that came while
	 * masked ends SCHEDOP_block at once, and is delivered as it returns.
	 * (Nothing else is armed: were it to sleep, the test would time out.)
	 */
	vi->evtchn_upcall_mask = 1;
	seen = xen_test_events.count;
	tm_res.masked_set = set_timer(1, 0);
	for (i = 0; !vi->evtchn_upcall_pending && i < 100000000; i++)
		__asm__ volatile("pause" ::: "memory");
	tm_res.masked_pending = vi->evtchn_upcall_pending;
	tm_res.masked_upcalls = xen_test_events.count - seen;
	tm_res.masked_block = HYPERVISOR_sched_op(SCHEDOP_block, NULL);
	tm_res.after_block = xen_test_events.count - seen;
}

static uint64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

TEST(timer_virq_by_count)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_timer);
	uint64_t v, start, host;
	int i;

	ASSERT_NE(NULL, t);
	XEN_RUN_SYNC(t, &v);
	/* The guest's VIRQ is not the launcher's to raise. */
	EXPECT_EQ(-EINVAL, lg_vm_irq(&t->vm, 0, v));
	start = host_ns();
	XEN_RUN_DONE(t);
	host = host_ns() - start;
	typeof(tm_res) *r = xen_test_hva(t, &tm_res);

	EXPECT_EQ(0, r->bind);
	EXPECT_NE(0, r->port);
	EXPECT_NE(XEN_TEST_PORT, r->port);
	EXPECT_EQ(-62, r->past_future);		/* -ETIME, nothing armed */
	for (i = 0; i < TIMER_SHOTS; i++)
		EXPECT_EQ(0, r->set[i]);
	EXPECT_EQ(0, r->past);
	EXPECT_EQ(0, r->block_err);
	/* One upcall per shot (and the past one), none early or spurious. */
	EXPECT_EQ(TIMER_SHOTS + 1, r->count);
	EXPECT_EQ(0, r->early) {
		TH_LOG("%llu shots woke early, the worst %llu ns before its deadline",
		       (unsigned long long)r->early,
		       (unsigned long long)r->worst_early);
	}
	EXPECT_EQ(1ULL << r->port, r->pending_seen);
	/*
	 * The guest's clock runs at the host's rate: at least the shots'
	 * time passed on it, and no more than passed on the host around
	 * the whole run (1% for the VM's TSC calibration, 1 ms for reading).
	 */
	EXPECT_LE(TIMER_SHOTS * TIMER_NS, r->end - r->start);
	EXPECT_GE(host + host / 100 + 1000000, r->end - r->start) {
		TH_LOG("guest %llu ns, host %llu ns",
		       (unsigned long long)(r->end - r->start),
		       (unsigned long long)host);
	}
	/* Masked: pending, no upcall; SCHEDOP_block returns, delivering it. */
	EXPECT_EQ(0, r->masked_set);
	EXPECT_EQ(1, r->masked_pending);
	EXPECT_EQ(0, r->masked_upcalls);
	EXPECT_EQ(0, r->masked_block);
	EXPECT_EQ(1, r->after_block);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* Secondary vCPUs: VCPUOP_initialise, up, down, is_up (xen/smp.c)     */

static struct {
	long bad_id, fault, noncanonical, ldt, up_early, is_up_early;
	long init, again, up, up_again, wrong_flush;
	uint64_t runs_first, runs_second, waits;
	long is_up_after;
} smp_res;

/* What vCPU 1 does: count, check in, take itself down; again when up. */
static volatile uint64_t ap_runs, ap_down_returns;
static volatile long ap_down_ret = -1;
static volatile uint64_t ap_gs;
static uint8_t ap_stack[16384] __attribute__((aligned(16)));

static void guest_ap(void)
{
	for (;;) {
		ap_gs = xen_rdmsr(MSR_GS_BASE);
		__atomic_add_fetch(&ap_runs, 1, __ATOMIC_SEQ_CST);
		ap_down_ret = HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
		ap_down_returns++;
	}
}

/* Until vCPU 1 has run @n times and is down again (bounded). */
static void wait_ap(uint64_t n)
{
	while ((ap_runs < n || HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) != 0) &&
	       smp_res.waits < 1000000) {
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		smp_res.waits++;
	}
}

static void guest_smp(void)
{
	static struct vcpu_guest_context ctx;
	struct mmuext_op flush = { .cmd = MMUEXT_TLB_FLUSH_MULTI };

	xen_guest_vcpu_context(&ctx, guest_ap, ap_stack, sizeof(ap_stack));
	ctx.user_regs.rflags = 0x1000;		/* IOPL 1, events masked */
	ctx.gs_base_kernel = 0x1234000;

	smp_res.bad_id = HYPERVISOR_vcpu_op(VCPUOP_initialise, 2, &ctx);
	smp_res.fault = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, (void *)XEN_TEST_UNMAPPED);
	ctx.user_regs.rip = NONCANONICAL;
	smp_res.noncanonical = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	ctx.user_regs.rip = (uint64_t)guest_ap;
	ctx.ldt_ents = 1;
	smp_res.ldt = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	ctx.ldt_ents = 0;
	smp_res.up_early = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	smp_res.is_up_early = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL);
	smp_res.init = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	smp_res.again = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	smp_res.up = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	wait_ap(1);
	smp_res.runs_first = ap_runs;
	/* Up again: it goes on after its VCPUOP_down, which returns 0. */
	smp_res.up_again = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	wait_ap(2);
	smp_res.runs_second = ap_runs;
	smp_res.is_up_after = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL);
	/* A _MULTI flush's vCPU mask must be readable. */
	set_xen_guest_handle(flush.arg2.vcpumask, (const void *)XEN_TEST_UNMAPPED);
	smp_res.wrong_flush = xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&flush, 1, 0,
					     DOMID_SELF, 0);
}

TEST(secondary_vcpus_initialise_up_down)
{
	struct xen_test_vm *t = xen_test_vm_create_smp(guest_smp, 2);

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, xen_test_start_vcpus(t));
	XEN_RUN_DONE(t);
	typeof(smp_res) *r = xen_test_hva(t, &smp_res);

	/* Xen's error codes (common/domain.c, arch_set_info_guest()). */
	EXPECT_EQ(-ENOENT, r->bad_id);
	EXPECT_EQ(EFAULT_, r->fault);
	EXPECT_EQ(EINVAL_, r->noncanonical);
	EXPECT_EQ(EINVAL_, r->ldt);
	EXPECT_EQ(EINVAL_, r->up_early);
	EXPECT_EQ(0, r->is_up_early);
	EXPECT_EQ(0, r->init);
	EXPECT_EQ(-EEXIST, r->again);
	EXPECT_EQ(0, r->up);
	EXPECT_EQ(1, r->runs_first);
	EXPECT_EQ(0, r->up_again);
	EXPECT_EQ(2, r->runs_second);
	EXPECT_EQ(0, r->is_up_after);
	EXPECT_EQ(EFAULT_, r->wrong_flush);
	/* vCPU 1 ran on its context, and its down returned 0 when it came back. */
	EXPECT_EQ(0x1234000, *(uint64_t *)xen_test_hva(t, &ap_gs));
	EXPECT_EQ(1, *(uint64_t *)xen_test_hva(t, &ap_down_returns));
	EXPECT_EQ(0, *(long *)xen_test_hva(t, &ap_down_ret));
	EXPECT_EQ(0, t->vcpus[1].error);
	xen_test_vm_free(t);
}

/*
 * Every vCPU a guest may have, each up once.  As Linux does, vCPU 0
 * registers each one's vcpu_info first, side by side in one page: vCPUs
 * 32 and up have no slot in shared_info, and until then Xen refuses to
 * initialise them.  Each gets a context of its own (its number in RDI,
 * as an argument), checks that its vcpu_info is the registered one (its
 * events masked, as the context's IF says) and that it cannot register
 * another, and goes down again.
 */
#ifndef MANY_VCPUS
#define MANY_VCPUS	LGUEST_MAX_VCPUS
#endif

static struct {
	long early_init, reg[MANY_VCPUS], init[MANY_VCPUS], up[MANY_VCPUS];
	uint64_t waits;
	long still_up;
} many_res;

static volatile uint64_t many_seen, many_arrived;
static volatile long many_again[MANY_VCPUS];
static volatile uint8_t many_mask[MANY_VCPUS];
static uint8_t many_stacks[MANY_VCPUS][4096] __attribute__((aligned(16)));

static long register_vcpu_info_of(uint64_t id)
{
	struct vcpu_register_vcpu_info info = {
		.mfn = XEN_TEST_SCRATCH >> 12, .offset = id * 64,
	};

	return HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, id, &info);
}

static void guest_many_ap(uint64_t id)
{
	many_again[id] = register_vcpu_info_of(id);
	many_mask[id] = *(volatile uint8_t *)(XEN_TEST_SCRATCH + id * 64 + 1);
	__atomic_fetch_or(&many_seen, 1ULL << id, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&many_arrived, 1, __ATOMIC_SEQ_CST);
	for (;;)
		HYPERVISOR_vcpu_op(VCPUOP_down, id, NULL);
}

static void guest_many(void)
{
	static struct vcpu_guest_context ctx;
	unsigned int v, up;

	for (v = 1; v < MANY_VCPUS; v++) {
		xen_guest_vcpu_context(&ctx, (void (*)(void))guest_many_ap,
				       many_stacks[v], sizeof(many_stacks[v]));
		ctx.user_regs.rflags = 0x1000;	/* IOPL 1, events masked */
		ctx.user_regs.rdi = v;
		if (v == MANY_VCPUS - 1)
			many_res.early_init = HYPERVISOR_vcpu_op(VCPUOP_initialise, v, &ctx);
		many_res.reg[v] = register_vcpu_info_of(v);
		many_res.init[v] = HYPERVISOR_vcpu_op(VCPUOP_initialise, v, &ctx);
		many_res.up[v] = HYPERVISOR_vcpu_op(VCPUOP_up, v, NULL);
	}
	/* All of them there, and down again (bounded). */
	do {
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		for (v = 1, up = 0; v < MANY_VCPUS; v++)
			up += HYPERVISOR_vcpu_op(VCPUOP_is_up, v, NULL) == 1;
	} while ((many_arrived < MANY_VCPUS - 1 || up) && ++many_res.waits < 5000);
	many_res.still_up = up;
}

TEST(every_vcpu_a_guest_may_have_comes_up_with_its_own_vcpu_info)
{
	struct xen_test_vm *t = xen_test_vm_create_smp(guest_many, MANY_VCPUS);
	uint64_t all = (MANY_VCPUS == 64 ? ~0ULL : (1ULL << MANY_VCPUS) - 1) & ~1ULL;
	unsigned int v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, xen_test_start_vcpus(t));
	XEN_RUN_DONE(t);
	typeof(many_res) *r = xen_test_hva(t, &many_res);

	/* Past the legacy 32, no vcpu_info yet: not initialised (Xen's -EINVAL). */
	EXPECT_EQ(MANY_VCPUS > 32 ? EINVAL_ : 0, r->early_init);
	for (v = 1; v < MANY_VCPUS; v++) {
		EXPECT_EQ(0, r->reg[v]);
		EXPECT_EQ(v == MANY_VCPUS - 1 && MANY_VCPUS <= 32 ? -EEXIST : 0, r->init[v]);
		EXPECT_EQ(0, r->up[v]);
		/* Once only, as on Xen; and it moved with the mask it held. */
		EXPECT_EQ(EINVAL_, ((long *)xen_test_hva(t, (void *)many_again))[v]) {
			TH_LOG("vCPU %u's second VCPUOP_register_vcpu_info", v);
		}
		EXPECT_EQ(1, ((uint8_t *)xen_test_hva(t, (void *)many_mask))[v]);
	}
	/* Each ran once, on its own context: its bit, from its RDI. */
	EXPECT_EQ(MANY_VCPUS - 1, *(uint64_t *)xen_test_hva(t, &many_arrived));
	EXPECT_EQ(all, *(uint64_t *)xen_test_hva(t, &many_seen));
	EXPECT_EQ(0, r->still_up);
	for (v = 1; v < MANY_VCPUS; v++)
		EXPECT_EQ(0, t->vcpus[v].error);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* SCHEDOP_poll: a vCPU asleep on a masked channel (events.c)          */

#define POLL_ROUNDS	3

static struct {
	long bind, bind_self, too_many, fault, bad_port, past, pending, timed;
	uint64_t timed_late;		/* the timed poll came back after its deadline */
	long init, up;
} poll_res;

static volatile uint32_t poll_port;	/* vCPU 1's, masked */
static volatile uint64_t poll_entered, poll_woken, poll_saw_pending;
static volatile long poll_ret = -1;
static uint8_t poller_stack[16384] __attribute__((aligned(16)));

static long sched_poll(const evtchn_port_t *ports, unsigned int nr, uint64_t timeout)
{
	struct sched_poll p = { .nr_ports = nr, .timeout = timeout };

	set_xen_guest_handle(p.ports, (evtchn_port_t *)ports);
	return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

/* vCPU 1: sleep on its masked port until kicked, POLL_ROUNDS times. */
static void guest_poller(void)
{
	volatile uint64_t *pending = (volatile uint64_t *)xen_test_shared_info()->evtchn_pending;
	evtchn_port_t port = poll_port;

	while (poll_woken < POLL_ROUNDS) {
		__atomic_add_fetch(&poll_entered, 1, __ATOMIC_SEQ_CST);
		poll_ret = sched_poll(&port, 1, 0);
		if (xen_guest_test_bit(port, pending))
			poll_saw_pending++;
		__atomic_fetch_and(&pending[port / 64], ~(1ULL << (port % 64)), __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&poll_woken, 1, __ATOMIC_SEQ_CST);
	}
	for (;;)
		HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
}

static void guest_poll(void)
{
	volatile uint64_t *mask = (volatile uint64_t *)xen_test_shared_info()->evtchn_mask;
	struct evtchn_bind_ipi ipi = { .vcpu = 1 }, self = { .vcpu = 0 };
	static struct vcpu_guest_context ctx;
	static evtchn_port_t many[129];
	evtchn_port_t p[1];
	struct evtchn_send send;
	uint64_t deadline, k, give_up, settle;

	poll_res.bind = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &ipi);
	poll_port = ipi.port;
	xen_guest_set_bit(ipi.port, mask);
	poll_res.bind_self = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &self);
	xen_guest_set_bit(self.port, mask);

	/* Xen's refusals, and the polls that return at once. */
	poll_res.too_many = sched_poll(many, 129, 0);
	poll_res.fault = sched_poll((evtchn_port_t *)XEN_TEST_UNMAPPED, 1, 0);
	p[0] = 4096;
	poll_res.bad_port = sched_poll(p, 1, 0);
	p[0] = self.port;
	poll_res.past = sched_poll(p, 1, 1);
	send.port = self.port;
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
	poll_res.pending = sched_poll(p, 1, 0);
	/* Nothing pending on the other: the timeout ends it. */
	p[0] = ipi.port;
	deadline = xen_guest_system_time() + 2000000;
	poll_res.timed = sched_poll(p, 1, deadline);
	poll_res.timed_late = xen_guest_system_time() + 10000 >= deadline;

	xen_guest_vcpu_context(&ctx, guest_poller, poller_stack, sizeof(poller_stack));
	poll_res.init = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	poll_res.up = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	/* Each wait is bounded in time (10 s), not in spins: hosts differ. */
	for (k = 1; k <= POLL_ROUNDS; k++) {
		give_up = xen_guest_system_time() + 10000000000ULL;
		while (poll_entered < k && xen_guest_system_time() < give_up)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		/* 5 ms for it to fall asleep (a kick before it does is fine too). */
		settle = xen_guest_system_time() + 5000000;
		while (xen_guest_system_time() < settle)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		send.port = ipi.port;
		HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
		while (poll_woken < k && xen_guest_system_time() < give_up)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
}

TEST(sched_poll_sleeps_on_a_masked_port)
{
	struct xen_test_vm *t = xen_test_vm_create_smp(guest_poll, 2);
	struct lguest_vcpu_stats st;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, xen_test_start_vcpus(t));
	XEN_RUN_DONE(t);
	typeof(poll_res) *r = xen_test_hva(t, &poll_res);

	EXPECT_EQ(0, r->bind);
	EXPECT_EQ(0, r->bind_self);
	EXPECT_EQ(EINVAL_, r->too_many);
	EXPECT_EQ(EFAULT_, r->fault);
	EXPECT_EQ(EINVAL_, r->bad_port);
	EXPECT_EQ(0, r->past);
	EXPECT_EQ(0, r->pending);
	EXPECT_EQ(0, r->timed);
	EXPECT_EQ(1, r->timed_late);
	EXPECT_EQ(0, r->init);
	EXPECT_EQ(0, r->up);
	/* Each kick woke it, and it saw the port pending each time. */
	EXPECT_EQ(POLL_ROUNDS, *(uint64_t *)xen_test_hva(t, &poll_woken));
	EXPECT_EQ(POLL_ROUNDS, *(uint64_t *)xen_test_hva(t, &poll_saw_pending));
	EXPECT_EQ(0, *(long *)xen_test_hva(t, &poll_ret));
	/* It slept in the module at least once rather than spinning. */
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 1, &st));
	EXPECT_LE(1, st.halts);
	xen_test_vm_free(t);
}

static struct {
	long misaligned, outside, ok, again, rdpid;
	uint8_t mask;
} vi_res;

static long register_vcpu_info(uint64_t mfn, uint32_t offset)
{
	struct vcpu_register_vcpu_info info = { .mfn = mfn, .offset = offset };

	return HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &info);
}

static void guest_vcpu_info(void)
{
	uint64_t mfn = XEN_TEST_SCRATCH >> 12;
	uint32_t r[4];

	vi_res.misaligned = register_vcpu_info(mfn, 52);
	vi_res.outside = register_vcpu_info(XEN_TEST_MEM >> 12, 0);
	vi_res.ok = register_vcpu_info(mfn, 64);
	vi_res.again = register_vcpu_info(mfn, 128);
	/* It moved with what it held: events still masked. */
	vi_res.mask = *(volatile uint8_t *)(XEN_TEST_SCRATCH + 64 + 1);
	xen_cpuid(7, 0, r);
	vi_res.rdpid = r[2] & (1U << 22);
}

TEST(vcpu_info_moves_once_aligned)
{
	struct xen_test_vm *t = xen_test_vm_create(guest_vcpu_info);

	RUN_TO_END(t);
	typeof(vi_res) *r = xen_test_hva(t, &vi_res);

	EXPECT_EQ(-EINVAL, r->misaligned);
	EXPECT_EQ(-EINVAL, r->outside);
	EXPECT_EQ(0, r->ok);
	EXPECT_EQ(-EINVAL, r->again);
	EXPECT_EQ(1, r->mask);
	/* TSC_AUX is the host's: no RDPID (nor RDTSCP). */
	EXPECT_EQ(0, r->rdpid);
	xen_test_vm_free(t);
}
