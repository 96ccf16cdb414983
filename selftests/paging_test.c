// SPDX-License-Identifier: GPL-2.0
/*
 * paging_test: shadow page tables.  The guest builds page tables of its own
 * (guest/lib/paging.c) and the host must make the CPU behave as if it
 * walked them: demand paging, Accessed and Dirty bits, exact page-fault
 * error codes, huge pages, address-space switches through the root cache,
 * invalidation, and killing (with a reason) a guest whose tables point
 * outside its memory.  Pins are counted: none may outlive the guest.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"

#define SPARE_VA	0x0000004000000000ULL	/* slot 0, far above memory */
#define HIGH_VA		0xffff888000000000ULL	/* slot 273, the upper half */

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)							\
	ASSERT_EQ(UCALL_SYNC, run(t, v)) {				\
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);	\
	}

/* Paging on: the kernel's identity map, the image's code open to users. */
static void paging_on(void)
{
	GUEST_ASSERT(lg_test_paging_on());
}

static uint64_t pinned_by_this_guest(struct lg_test_vm *t)
{
	struct lguest_info info;
	struct lguest_req_info req = { (uintptr_t)&info, sizeof(info) };

	if (lg_request(t->vm.fd, LHREQ_INFO, &req, sizeof(req)))
		return ~0ULL;
	return info.guest_pinned;
}

/* ------------------------------------------------------------------ */

#define BIG_PAGES	2048		/* 8 MiB */

static void guest_demand_paging(void)
{
	uint64_t i, sum = 0, want = 0, first;

	paging_on();
	GUEST_SYNC(0);
	/* 8 MiB of fresh pages at an address that is nothing like theirs. */
	for (i = 0; i < BIG_PAGES; i++) {
		uint64_t pa = guest_page_alloc();

		GUEST_ASSERT(pa);
		if (!i)
			first = pa;
		GUEST_ASSERT_EQ(pa, first + i * 4096);
	}
	for (i = 0; i < BIG_PAGES; i++)
		GUEST_ASSERT_EQ(pt_map(guest_kernel_root, HIGH_VA + i * 4096,
				       first + i * 4096, PTE_RW | PTE_NX), 0);
	for (i = 0; i < BIG_PAGES; i++) {
		uint64_t *p = (uint64_t *)(HIGH_VA + i * 4096);

		p[0] = i * 0x9e3779b97f4a7c15ULL;
		p[511] = ~i;
		want += i * 0x9e3779b97f4a7c15ULL + ~i;
	}
	for (i = 0; i < BIG_PAGES; i++) {
		uint64_t *p = (uint64_t *)(HIGH_VA + i * 4096);

		sum += p[0] + p[511];
	}
	GUEST_ASSERT_EQ(sum, want);
	GUEST_SYNC(first);
}

TEST(demand_paging_of_a_large_region)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_demand_paging);
	struct lguest_vcpu_stats st0, st1;
	uint64_t v, i, before, base = lg_test_info_pinned();

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	before = pinned_by_this_guest(t);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st0));
	RUN_SYNC(t, &v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st1));
	/* Each page was filled once (twice for a read then a write at most). */
	EXPECT_LE(BIG_PAGES, st1.shadow_fills - st0.shadow_fills);
	EXPECT_GE(3 * BIG_PAGES, st1.shadow_fills - st0.shadow_fills);
	EXPECT_LE(before + BIG_PAGES, pinned_by_this_guest(t));
	/* The guest wrote the launcher's pages at the guest-physical address. */
	for (i = 0; i < BIG_PAGES; i++) {
		uint64_t *p = lg_test_hva(t, (void *)(v + i * 4096));

		ASSERT_EQ(i * 0x9e3779b97f4a7c15ULL, p[0]);
		ASSERT_EQ(~i, p[511]);
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	EXPECT_EQ(base, lg_test_info_pinned());
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
