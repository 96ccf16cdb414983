// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_test: the ABI's layout, checked on the host.  The module, the launcher
 * and guests are built by different compilers in different modes; these are
 * the facts they must agree on, written down once.
 */
#include <stddef.h>
#include "kselftest_harness.h"
#include <linux/lguest.h>

TEST(request_numbers_are_stable)
{
	EXPECT_EQ(1, LHREQ_INFO);
	EXPECT_EQ(5, LGUEST_ABI_VERSION);
	EXPECT_EQ(7, LHREQ_EVTCHN);
	EXPECT_EQ(11, LHCALL_NEW_PGTABLE);
	EXPECT_EQ(15, LHCALL_RETURN_TO_USER);
	EXPECT_EQ(17, LHCALL_SEND_IPI);
	EXPECT_EQ(64, LGUEST_MAX_VCPUS);
}

TEST(req_info_layout)
{
	EXPECT_EQ(16, sizeof(struct lguest_req_info));
	EXPECT_EQ(0, offsetof(struct lguest_req_info, addr));
	EXPECT_EQ(8, offsetof(struct lguest_req_info, size));
}

TEST(info_layout_has_no_holes)
{
	EXPECT_EQ(104, sizeof(struct lguest_info));
	EXPECT_EQ(0, offsetof(struct lguest_info, abi_version));
	EXPECT_EQ(4, offsetof(struct lguest_info, max_vcpus));
	EXPECT_EQ(8, offsetof(struct lguest_info, host_caps));
	EXPECT_EQ(16, offsetof(struct lguest_info, host_cpus));
	EXPECT_EQ(20, offsetof(struct lguest_info, guest_id));
	EXPECT_EQ(24, offsetof(struct lguest_info, nr_guests));
	EXPECT_EQ(28, offsetof(struct lguest_info, hole_mapped));
	EXPECT_EQ(32, offsetof(struct lguest_info, version));
	EXPECT_EQ(64, offsetof(struct lguest_info, pinned_pages));
	EXPECT_EQ(72, offsetof(struct lguest_info, table_pages));
	EXPECT_EQ(80, offsetof(struct lguest_info, guest_pinned));
	EXPECT_EQ(88, offsetof(struct lguest_info, guest_tables));
	EXPECT_EQ(96, offsetof(struct lguest_info, nr_pgdirs));
	EXPECT_EQ(100, offsetof(struct lguest_info, mitigations));
	EXPECT_EQ(LGUEST_VERSION_LEN, sizeof(((struct lguest_info *)0)->version));
}

TEST(run_interface_layout)
{
	EXPECT_EQ(88, sizeof(struct lguest_req_init));
	EXPECT_EQ(32, offsetof(struct lguest_req_init, xen));
	EXPECT_EQ(56, sizeof(struct lguest_xen_start));
	EXPECT_EQ(36, offsetof(struct lguest_xen_start, store_port));
	EXPECT_EQ(40, offsetof(struct lguest_xen_start, gnttab));
	EXPECT_EQ(48, offsetof(struct lguest_xen_start, gnttab_frames));
	EXPECT_EQ(8, sizeof(struct lguest_req_evtchn));
	EXPECT_EQ(8, sizeof(struct lguest_req_irq));
	EXPECT_EQ(16, sizeof(struct lguest_req_regs));
	EXPECT_EQ(22 * 8, sizeof(struct lguest_regs));
	EXPECT_EQ(160, sizeof(struct lguest_exit));
	EXPECT_EQ(32, offsetof(struct lguest_exit, msg));
	EXPECT_EQ((34 + LGUEST_XEN_HCALLS) * 8, sizeof(struct lguest_vcpu_stats));
	EXPECT_EQ(28 * 8, offsetof(struct lguest_vcpu_stats, xen_hcalls));
	EXPECT_EQ((28 + LGUEST_XEN_HCALLS) * 8,
		  offsetof(struct lguest_vcpu_stats, tables_recycled));
	EXPECT_EQ((29 + LGUEST_XEN_HCALLS) * 8,
		  offsetof(struct lguest_vcpu_stats, fast_hcalls));
	EXPECT_EQ((31 + LGUEST_XEN_HCALLS) * 8,
		  offsetof(struct lguest_vcpu_stats, fast_faults));
	EXPECT_EQ((32 + LGUEST_XEN_HCALLS) * 8,
		  offsetof(struct lguest_vcpu_stats, fastpath_hcalls));
	EXPECT_EQ((33 + LGUEST_XEN_HCALLS) * 8,
		  offsetof(struct lguest_vcpu_stats, fastpath_fills));
	EXPECT_EQ(2864, offsetof(struct lguest_data, vcpu_id));
}

TEST(shared_page_layout)
{
	EXPECT_EQ(0, offsetof(struct lguest_data, irq_enabled));
	EXPECT_EQ(8, offsetof(struct lguest_data, irq_pending));
	EXPECT_EQ(40, offsetof(struct lguest_data, cr2));
	EXPECT_EQ(48, offsetof(struct lguest_data, tsc_khz));
	EXPECT_EQ(56, offsetof(struct lguest_data, time_ns));
	EXPECT_EQ(64, offsetof(struct lguest_data, reserved_slots));
	EXPECT_EQ(128, offsetof(struct lguest_data, user));
	EXPECT_EQ(48, sizeof(struct lguest_user_frame));
	EXPECT_EQ(240, offsetof(struct lguest_data, hcall_status));
	EXPECT_EQ(2864, offsetof(struct lguest_data, vcpu_id));
	EXPECT_EQ(2872, offsetof(struct lguest_data, host_mitigations));
	EXPECT_EQ(304, offsetof(struct lguest_data, hcalls));
	EXPECT_EQ(40, sizeof(struct lguest_hcall_slot));
	/* It must fit in the page LHCALL_INIT registers. */
	EXPECT_GE(4096, sizeof(struct lguest_data));
}

/* The guest-visible addresses the host keeps: one page each, in the top 2 MiB. */
TEST(guest_visible_host_addresses_are_fixed)
{
	EXPECT_EQ(0xffff808000200000ULL, LGUEST_DATA_VA);
	EXPECT_EQ(0xffff808000010000ULL, LGUEST_IDT_VA);
	EXPECT_EQ(0xffff808000410000ULL, LGUEST_GDT_VA);
	EXPECT_EQ(0xffff800000000000ULL, LGUEST_HOLE_START);
	EXPECT_EQ(0xffff880000000000ULL, LGUEST_HOLE_END);
}

TEST(host_caps_are_distinct_bits)
{
	const unsigned long long caps[] = {
		LGUEST_HOST_LA57, LGUEST_HOST_PTI, LGUEST_HOST_SMEP,
		LGUEST_HOST_SMAP, LGUEST_HOST_PCID, LGUEST_HOST_FSGSBASE,
		LGUEST_HOST_XSAVE, LGUEST_HOST_PKU, LGUEST_HOST_UMIP,
	};
	unsigned long long seen = 0;
	unsigned int i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		EXPECT_EQ(1, __builtin_popcountll(caps[i]));
		EXPECT_EQ(0, seen & caps[i]);
		seen |= caps[i];
	}
}

TEST_HARNESS_MAIN
