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
#define POOL_END_2M	(LG_TEST_POOL_END - (2ULL << 20))
#define HIGH_VA		0xffff888000000000ULL	/* slot 273, the upper half */

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)	LG_RUN_SYNC(t, v, &last_exit)

/* Paging on: the kernel's identity map, the image's code open to users. */
static void paging_on(void)
{
	GUEST_ASSERT(lg_test_paging_on());
}

static uint64_t pinned_by_this_guest(struct lg_test_vm *t)
{
	struct lguest_info info;

	return lg_info(t->vm.fd, &info) ? ~0ULL : info.guest_pinned;
}

/* ------------------------------------------------------------------ */

#define BIG_PAGES	2048		/* 8 MiB */

/* @n fresh pages in a row, each zeroed through the identity map. */
static uint64_t alloc_run(uint64_t n)
{
	uint64_t i, first = 0;

	for (i = 0; i < n; i++) {
		uint64_t pa = guest_page_alloc();

		GUEST_ASSERT(pa);
		if (!i)
			first = pa;
		GUEST_ASSERT_EQ(pa, first + i * 4096);
	}
	return first;
}

static void guest_demand_paging(void)
{
	uint64_t i, sum = 0, want = 0, first;

	paging_on();
	/*
	 * 8 MiB of fresh pages (each zeroed through the identity map, so
	 * shadowed and pinned there), to map again at an address that is
	 * nothing like theirs.
	 */
	first = alloc_run(BIG_PAGES);
	GUEST_SYNC(0);
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
	/*
	 * A page is pinned once however often it is mapped: the region's
	 * pages are already pinned through the guest's identity map (the
	 * allocator zeroed them there), so the count grows only by the new
	 * tables' pages.
	 */
	EXPECT_LE(before, pinned_by_this_guest(t));
	EXPECT_GE(before + 16, pinned_by_this_guest(t));
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

/* ------------------------------------------------------------------ */

static void guest_ad_bits(void)
{
	volatile uint64_t *p = (volatile uint64_t *)SPARE_VA, *pte, *pde;
	const uint64_t ad = PTE_A | PTE_D;
	uint64_t pa;

	paging_on();
	pa = guest_page_alloc();
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARE_VA, pa, PTE_RW), 0);
	pte = pt_entry(guest_kernel_root, SPARE_VA, 1, 0);
	pde = pt_entry(guest_kernel_root, SPARE_VA, 2, 0);
	GUEST_ASSERT_EQ(*pte & ad, 0);
	GUEST_ASSERT_EQ(*pde & PTE_A, 0);

	/* A read sets Accessed all the way down, never Dirty. */
	(void)*p;
	GUEST_ASSERT_EQ(*pte & ad, PTE_A);
	GUEST_ASSERT_EQ(*pde & PTE_A, PTE_A);
	(void)*p;
	GUEST_ASSERT_EQ(*pte & ad, PTE_A);
	/* The first write to a clean page sets Dirty (our shadow was read-only). */
	*p = 1;
	GUEST_ASSERT_EQ(*pte & ad, ad);

	/* Cleared and invalidated, they are set again as the CPU would. */
	*pte &= ~ad;
	guest_invlpg(SPARE_VA, 4096, 0);
	(void)*p;
	GUEST_ASSERT_EQ(*pte & ad, PTE_A);
	*p = 2;
	GUEST_ASSERT_EQ(*pte & ad, ad);
	GUEST_ASSERT_EQ(*(uint64_t *)pa, 2);
	GUEST_SYNC(1);
}

TEST(accessed_and_dirty_bits)
{
	LG_RUN_GUEST(guest_ad_bits);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t pf_count, pf_vector, pf_err, pf_cr2, pf_resume;

/* Record the fault; resume at pf_resume, or return from a bad call. */
static void on_fault(struct guest_regs *r)
{
	pf_count++;
	pf_vector = r->vector;
	pf_err = r->error_code;
	pf_cr2 = guest_vcpu->cr2;
	if (pf_resume) {
		r->rip = pf_resume;
	} else {
		r->rip = *(uint64_t *)r->rsp;
		r->rsp += 8;
	}
}

static void expect_fault(uint64_t (*fn)(uint64_t, uint64_t), const void *end,
			 uint64_t addr, uint64_t vector, uint64_t error)
{
	uint64_t n = pf_count;

	pf_resume = (uint64_t)end;
	fn(addr, 0x5a5a5a5a);
	GUEST_ASSERT_EQ(pf_count, n + 1);
	GUEST_ASSERT_EQ(pf_vector, vector);
	GUEST_ASSERT_EQ(pf_err, error);
	if (vector == 14)
		GUEST_ASSERT_EQ(pf_cr2, addr);
}

#define RO_VA		(SPARE_VA + 0x1000)
#define NX_VA		(SPARE_VA + 0x2000)
#define ABSENT_VA	(SPARE_VA + 0x10000)
#define RSVD_SLOT	300
#define RSVD_VA		(0xffff000000000000ULL | ((uint64_t)RSVD_SLOT << 39))
#define HUGE_BAD_VA	(SPARE_VA + (2ULL << 20) * 3)

static void guest_fault_codes(void)
{
	uint64_t ro = 0, nx, *pde;

	paging_on();
	guest_set_handler(13, on_fault);
	guest_set_handler(14, on_fault);
	ro = guest_page_alloc();
	nx = guest_page_alloc();
	*(uint8_t *)nx = 0xc3;		/* ret */
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, RO_VA, ro, 0), 0);
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, NX_VA, nx, PTE_RW | PTE_NX), 0);

	/* Read-only: reads work, writes fault present+write. */
	GUEST_ASSERT_EQ(lg_call_read(RO_VA, 0), 0);
	expect_fault(lg_call_write, lg_insn_write_end, RO_VA, 14, 0x3);
	/* No-execute: the data is readable, a call faults present+fetch. */
	GUEST_ASSERT_EQ(lg_call_read(NX_VA, 0) & 0xff, 0xc3);
	expect_fault(lg_call_fetch, 0, NX_VA, 14, 0x11);
	/* Not present: read, write, fetch. */
	expect_fault(lg_call_read, lg_insn_read_end, ABSENT_VA, 14, 0x0);
	expect_fault(lg_call_write, lg_insn_write_end, ABSENT_VA, 14, 0x2);
	expect_fault(lg_call_fetch, 0, ABSENT_VA, 14, 0x10);
	/* Reserved bits: PS in a PML4 entry, a misaligned 2 MiB page. */
	((uint64_t *)guest_kernel_root)[RSVD_SLOT] = ro | PTE_P | PTE_RW | PTE_PS;
	expect_fault(lg_call_read, lg_insn_read_end, RSVD_VA, 14, 0x9);
	expect_fault(lg_call_write, lg_insn_write_end, RSVD_VA, 14, 0xb);
	pde = pt_entry(guest_kernel_root, HUGE_BAD_VA, 2, 1);
	*pde = (POOL_END_2M + 0x2000) | PTE_P | PTE_RW | PTE_PS;
	expect_fault(lg_call_read, lg_insn_read_end, HUGE_BAD_VA, 14, 0x9);
	/* The hole between the halves is #GP(0) on a 4-level CPU. */
	expect_fault(lg_call_read, lg_insn_read_end, 0x0000800000000000ULL, 13, 0);
	expect_fault(lg_call_read, lg_insn_read_end, 0xfff0000000000000ULL, 13, 0);
	GUEST_SYNC(pf_count);
}

TEST(protection_faults_have_exact_error_codes)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_fault_codes);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ(10, v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_EQ(8, st.pf_reflected);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

/*
 * Fills of pages the guest holds already (pinned through its identity map)
 * are made between two world switches when the fast path is on, and by
 * the run loop when it is off: the guest must see the same either way,
 * down to the error code of its own fault, which the fast path's walk
 * hands to the loop.
 */
#define FAST_PAGES	256
#define FAST_ROUNDS	8
#define FAST_SEED	0x9e3779b97f4a7c15ULL

static void guest_fast_fills(void)
{
	uint64_t i, r, first, sum, want = 0;

	paging_on();
	guest_set_handler(14, on_fault);
	first = alloc_run(FAST_PAGES);
	for (i = 0; i < FAST_PAGES; i++) {
		*(uint64_t *)(first + i * 4096) = i * FAST_SEED;
		want += i * FAST_SEED;
	}
	/* In the upper half: a fill may be the first to map it. */
	for (i = 0; i < FAST_PAGES; i++)
		GUEST_ASSERT_EQ(pt_map(guest_kernel_root, HIGH_VA + i * 4096,
				       first + i * 4096, PTE_RW | PTE_NX), 0);
	for (r = 0; r < FAST_ROUNDS; r++) {
		sum = 0;
		for (i = 0; i < FAST_PAGES; i++)
			sum += ((volatile uint64_t *)(HIGH_VA + i * 4096))[0];
		GUEST_ASSERT_EQ(sum, want);
		/* Writes upgrade the leaves the first reads made. */
		for (i = 0; i < FAST_PAGES; i++)
			((volatile uint64_t *)(HIGH_VA + i * 4096))[1] = r + i;
		/* The page after them is not mapped: the guest's own fault. */
		expect_fault(lg_call_write, lg_insn_write_end,
			     HIGH_VA + FAST_PAGES * 4096, 14, 0x2);
		guest_invlpg(HIGH_VA, FAST_PAGES * 4096, 0);
	}
	/* The writes reached the pages behind the guest-physical addresses. */
	for (i = 0; i < FAST_PAGES; i++)
		GUEST_ASSERT_EQ(((uint64_t *)(first + i * 4096))[1], FAST_ROUNDS - 1 + i);
	GUEST_SYNC(pf_count);
}

static void check_fast_fills(struct __test_metadata *_metadata, int fast)
{
	/*
	 * A read fill a page a round, and the first round a write upgrade:
	 * the guest's PTE is Dirty from then on, and later reads map the
	 * page writable at once.
	 */
	const uint64_t fills = FAST_PAGES * (FAST_ROUNDS + 1);
	uint64_t base = lg_test_info_pinned(), v;
	struct lg_fast_run r;

	lg_test_run_fast_switch(&r, guest_fast_fills, fast, &last_exit);
	LG_FAST_RUN_SYNC(&r, &last_exit);
	EXPECT_EQ(FAST_ROUNDS, r.value);
	EXPECT_EQ(FAST_ROUNDS, r.st.pf_reflected);
	EXPECT_LE(fills, r.st.shadow_fills);
	EXPECT_LE(r.st.fastpath_fills, r.st.shadow_fills);
	if (fast) {
		/* Nearly all: a host tick or a cache top-up sends some round. */
		EXPECT_LE(fills * 9 / 10, r.st.fastpath_fills);
	} else {
		EXPECT_EQ(0, r.st.fastpath_fills);
	}
	ASSERT_EQ(UCALL_DONE, run(r.vm, &v));
	lg_test_vm_free(r.vm);
	/* A fill on the fast path counts its leaf in the guest's pin. */
	EXPECT_EQ(base, lg_test_info_pinned());
}

TEST(fills_of_held_pages_by_the_fast_path)
{
	check_fast_fills(_metadata, 1);
}

TEST(fills_of_held_pages_by_the_run_loop)
{
	check_fast_fills(_metadata, 0);
}

/* ------------------------------------------------------------------ */

#define HUGE_PA		(46ULL << 20)		/* the pool's last 2 MiB */
#define GIG_VA		0x0000008000000000ULL	/* slot 1, 1 GiB aligned */

static void guest_huge_pages(void)
{
	volatile uint64_t *two = (volatile uint64_t *)SPARE_VA;
	volatile uint64_t *gig = (volatile uint64_t *)GIG_VA;
	uint64_t off, *pde;

	paging_on();
	/* A 2 MiB page: every 4 KiB of it reaches the right guest page. */
	GUEST_ASSERT_EQ(pt_map_huge(guest_kernel_root, SPARE_VA, HUGE_PA, PTE_RW, 2), 0);
	for (off = 0; off < (2ULL << 20); off += 4096)
		two[off / 8 + 3] = off ^ 0xabcdef;
	for (off = 0; off < (2ULL << 20); off += 4096)
		GUEST_ASSERT_EQ(*(uint64_t *)(HUGE_PA + off + 24), off ^ 0xabcdef);
	pde = pt_entry(guest_kernel_root, SPARE_VA, 2, 0);
	GUEST_ASSERT_EQ(*pde & (PTE_A | PTE_D), PTE_A | PTE_D);

	/* A 1 GiB page over all of guest memory (and beyond it, unused). */
	GUEST_ASSERT_EQ(pt_map_huge(guest_kernel_root, GIG_VA, 0, PTE_RW, 3), 0);
	GUEST_ASSERT_EQ(gig[(uint64_t)&pf_count / 8], pf_count);
	gig[(HUGE_PA + 8) / 8] = 0x1234;
	GUEST_ASSERT_EQ(two[1], 0x1234);
	GUEST_SYNC(1);
}

TEST(huge_pages_are_shadowed_4k_at_a_time)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_huge_pages);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	/* 512 pieces of the 2 MiB page, each filled on its own. */
	EXPECT_LE(512, st.shadow_fills);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

#define NR_SPACES	24
#define CACHED		8
#define USER_VA		0x0000008000000000ULL

static uint64_t spaces[NR_SPACES];

static uint64_t visit(unsigned int i)
{
	guest_load_pgtable(spaces[i]);
	return *(volatile uint64_t *)USER_VA;
}

/*
 * 24 address spaces, each with its own page at the same address: more
 * than the host caches.  Cycling through all of them misses every time;
 * cycling through eight of them hits, and refills nothing.  Every phase
 * runs the same code, and phase 2 goes round twice (the first read of a
 * round happens in the previous round's last space), so phase 3 touches
 * nothing phase 2 did not.
 */
static void guest_many_spaces(void)
{
	static const unsigned int spaces_in[4] = { 0, NR_SPACES, CACHED, CACHED };
	static const unsigned int rounds_in[4] = { 0, 3, 2, 3 };
	unsigned int i, round, phase;

	paging_on();
	for (i = 0; i < NR_SPACES; i++) {
		uint64_t page = guest_page_alloc();

		spaces[i] = guest_page_alloc();
		GUEST_ASSERT(page && spaces[i]);
		((uint64_t *)spaces[i])[0] = ((uint64_t *)guest_kernel_root)[0];
		*(uint64_t *)page = i * 1000 + 7;
		GUEST_ASSERT_EQ(pt_map(spaces[i], USER_VA, page, PTE_RW | PTE_US), 0);
	}
	for (phase = 0; phase < 4; phase++) {
		for (round = 0; round < rounds_in[phase]; round++)
			for (i = 0; i < spaces_in[phase]; i++)
				GUEST_ASSERT_EQ(visit(i), i * 1000 + 7);
		guest_load_pgtable(guest_kernel_root);
		GUEST_SYNC(phase);
	}
}

TEST(address_spaces_cycle_through_the_root_cache)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_many_spaces);
	struct lguest_vcpu_stats s[4];
	struct lguest_info info;
	uint64_t v, i;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, lg_info(t->vm.fd, &info));
	ASSERT_GT(NR_SPACES, info.nr_pgdirs);
	ASSERT_LT(CACHED + 2, info.nr_pgdirs);
	for (i = 0; i < 4; i++) {
		RUN_SYNC(t, &v);
		ASSERT_EQ(i, v);
		ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &s[i]));
	}
	/*
	 * More spaces than the cache holds, least recently used first: no
	 * hits, not even for the kernel's space at the end.
	 */
	EXPECT_EQ(3 * NR_SPACES + 1, s[1].pgtable_switches - s[0].pgtable_switches);
	EXPECT_EQ(0, s[1].pgdir_hits - s[0].pgdir_hits);
	/*
	 * Each eviction empties the old space's tables for the new one: at
	 * least the PDPT, PD and PT under USER_VA (pgtable/tables.c).  Every
	 * visit above read its own space's value through them.
	 */
	EXPECT_LE(3 * (3 * NR_SPACES + 1 - info.nr_pgdirs),
		  s[1].tables_recycled - s[0].tables_recycled);
	/* Eight fit: after one round to bring them in, every switch hits... */
	EXPECT_EQ(3 * CACHED + 1, s[3].pgdir_hits - s[2].pgdir_hits);
	/* ...and costs no rebuild: nothing is filled again. */
	EXPECT_EQ(0, s[3].shadow_fills - s[2].shadow_fills);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

/*
 * The shadow is a TLB: after changing a mapping the guest invalidates it,
 * and only then is the change guaranteed visible.  Directly, through the
 * asynchronous ring, by flushing an address space, and in every address
 * space at once.
 */
static void guest_invalidation(void)
{
	volatile uint64_t *p = (volatile uint64_t *)SPARE_VA;
	uint64_t a, b, *pte, other;

	paging_on();
	a = guest_page_alloc();
	b = guest_page_alloc();
	*(uint64_t *)a = 1;
	*(uint64_t *)b = 2;
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARE_VA, a, PTE_RW), 0);
	pte = pt_entry(guest_kernel_root, SPARE_VA, 1, 0);
	GUEST_ASSERT_EQ(*p, 1);

	*pte = b | PTE_P | PTE_RW;
	guest_invlpg(SPARE_VA, 4096, 0);
	GUEST_ASSERT_EQ(*p, 2);

	*pte = a | PTE_P | PTE_RW;
	guest_async_hcall(LHCALL_INVLPG, SPARE_VA, 4096, 0);
	hcall0(LHCALL_SEND_INTERRUPTS);
	GUEST_ASSERT_EQ(*p, 1);

	*pte = b | PTE_P | PTE_RW;
	guest_flush_tlb(guest_kernel_root);
	GUEST_ASSERT_EQ(*p, 2);

	/* Another address space sharing slot 0, so the same entry. */
	other = guest_page_alloc();
	((uint64_t *)other)[0] = ((uint64_t *)guest_kernel_root)[0];
	guest_load_pgtable(other);
	GUEST_ASSERT_EQ(*p, 2);
	guest_load_pgtable(guest_kernel_root);
	*pte = a | PTE_P | PTE_RW;
	guest_invlpg(SPARE_VA, 4096, 0);
	GUEST_ASSERT_EQ(*p, 1);
	/* Only the current space was told: the other keeps its translation. */
	guest_load_pgtable(other);
	GUEST_ASSERT_EQ(*p, 2);
	guest_invlpg(SPARE_VA, 4096, LG_INVLPG_ALL_SPACES);
	GUEST_ASSERT_EQ(*p, 1);
	guest_load_pgtable(guest_kernel_root);
	*pte = b | PTE_P | PTE_RW;
	guest_invlpg(SPARE_VA, 4096, LG_INVLPG_ALL_SPACES);
	GUEST_ASSERT_EQ(*p, 2);
	guest_load_pgtable(other);
	GUEST_ASSERT_EQ(*p, 2);
	guest_load_pgtable(guest_kernel_root);

	/* Bad requests are refused. */
	GUEST_ASSERT_EQ(hcall3(LHCALL_INVLPG, SPARE_VA, 4096, 2), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall1(LHCALL_NEW_PGTABLE, 123), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(hcall1(LHCALL_NEW_PGTABLE, LG_TEST_MEM), LGUEST_HCALL_EINVAL);
	GUEST_SYNC(1);
}

TEST(invalidation_makes_changes_visible)
{
	LG_RUN_GUEST(guest_invalidation);
}

/* ------------------------------------------------------------------ */

static void guest_maps_beyond_memory(void)
{
	paging_on();
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARE_VA, 1ULL << 30, PTE_RW), 0);
	(void)*(volatile uint64_t *)SPARE_VA;
	GUEST_SYNC(1);
}

static void guest_table_beyond_memory(void)
{
	paging_on();
	((uint64_t *)guest_kernel_root)[2] = (2ULL << 30) | PTE_P | PTE_RW | PTE_US;
	(void)*(volatile uint64_t *)(2ULL << 39);
	GUEST_SYNC(1);
}

/*
 * Where a Linux guest keeps its CPU entry area (slot 508), its kernel and
 * modules (511), and its fixmap (the top 2 MiB): the host kept 508 and 511
 * for itself until lguest 0.4; now they are the guest's like any other.
 */
static const uint64_t linux_vas[] = {
	0xfffffe0000000000ULL,	/* slot 508: cpu_entry_area */
	0xffffffff81000000ULL,	/* slot 511: kernel text */
	0xffffffffc0000000ULL,	/* slot 511: modules */
	0xffffffffffe00000ULL,	/* the top 2 MiB: fixmap */
	0xfffffffffffff000ULL,	/* the very last page */
};

static void guest_maps_linux_slots(void)
{
	uint64_t pages[5], sum = 0;
	unsigned int i;

	paging_on();
	for (i = 0; i < 5; i++) {
		pages[i] = guest_page_alloc();
		GUEST_ASSERT(pages[i]);
		GUEST_ASSERT_EQ(pt_map(guest_kernel_root, linux_vas[i], pages[i], PTE_RW), 0);
		*(volatile uint64_t *)linux_vas[i] = 0x1000 + i;
	}
	/* Each address is its own page: written there, read back here. */
	for (i = 0; i < 5; i++) {
		GUEST_ASSERT_EQ(*(volatile uint64_t *)pages[i], 0x1000 + i);
		sum += *(volatile uint64_t *)linux_vas[i];
	}
	/* And the shared page still works, from the hole. */
	GUEST_ASSERT_EQ(guest_vcpu->nr_vcpus, 1);
	GUEST_SYNC(sum);
}

TEST(a_guest_owns_slots_508_and_511_and_the_top_2mib)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_maps_linux_slots);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(5 * 0x1000 + 0 + 1 + 2 + 3 + 4, v);
	/*
	 * The host maps its kernel with global pages, which a CR3 load keeps:
	 * a guest with mappings there runs after they were flushed.  (QEMU's
	 * TCG drops global entries on every CR3 load anyway, so only the
	 * count shows it here.)
	 */
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_LT(0, st.global_flushes);
	lg_test_vm_free(t);
}

#define RESERVED_VA	0xffff810000000000ULL	/* PML4 slot 258, in the hole */

static void guest_maps_reserved_slot(void)
{
	volatile struct lguest_data *d = guest_vcpu;
	unsigned int i;

	/* The host said which slots are its own: the hole, and nothing else. */
	for (i = 0; i < 512; i++)
		GUEST_ASSERT_EQ(!!(d->reserved_slots[i / 64] & (1ULL << (i % 64))),
				i >= 256 && i < 272);
	paging_on();
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, RESERVED_VA, guest_page_alloc(),
			       PTE_RW), 0);
	(void)*(volatile uint64_t *)RESERVED_VA;
	GUEST_SYNC(1);
}

TEST(a_guest_mapping_outside_its_memory_is_killed)
{
	void (*guests[])(void) = {
		guest_maps_beyond_memory, guest_table_beyond_memory,
		guest_maps_reserved_slot,
	};
	const char *why[] = {
		"it maps 0x4000000000 to gpa 0x40000000, outside its memory",
		"its table for 0x10000000000 is at gpa 0x80000000, outside its memory",
		"it mapped 0xffff810000000000, in PML4 slot 258 which the host reserves",
	};
	uint64_t v, base = lg_test_info_pinned();
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct lg_test_vm *t = lg_test_vm_create(guests[i]);

		ASSERT_NE(NULL, t);
		ASSERT_EQ(UCALL_NONE, run(t, &v));
		EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
		EXPECT_STREQ(why[i], last_exit.msg);
		lg_test_vm_free(t);
	}
	EXPECT_EQ(base, lg_test_info_pinned());
}

/* ------------------------------------------------------------------ */

#define VICTIM		(32ULL << 20)
#define VICTIM_LEN	(4ULL << 20)

static void guest_reads_forever(void)
{
	uint64_t off, sum = 0;

	paging_on();
	for (off = 0; off < VICTIM_LEN; off += 4096)
		*(volatile uint64_t *)(VICTIM + off) = off;
	GUEST_SYNC(1);
	for (;;)
		for (off = 0; off < VICTIM_LEN; off += 4096)
			sum += *(volatile uint64_t *)(VICTIM + off);
}

struct change {
	struct lg_test_vm *t;
	int prot;		/* -1: munmap */
	int ret;
};

static void *change_memory(void *arg)
{
	struct change *c = arg;
	char *at = (char *)c->t->vm.mem + VICTIM;

	usleep(100 * 1000);
	c->ret = c->prot < 0 ? munmap(at, VICTIM_LEN) : mprotect(at, VICTIM_LEN, c->prot);
	return NULL;
}

/*
 * The launcher takes guest memory away (munmap) or makes it read-only
 * (mprotect) while the guest is using it: the host drops the shadows,
 * the guest's next touch finds nothing usable, and the guest (not the
 * host) dies, with a reason.  Nothing stays pinned.
 */
TEST(launcher_changes_memory_under_a_running_guest)
{
	int prots[] = { -1, PROT_READ, PROT_NONE };
	uint64_t v, base = lg_test_info_pinned();
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct lg_test_vm *t = lg_test_vm_create(guest_reads_forever);
		struct change c = { t, prots[i], -1 };
		pthread_t th;

		ASSERT_NE(NULL, t);
		RUN_SYNC(t, &v);
		ASSERT_EQ(0, pthread_create(&th, NULL, change_memory, &c));
		ASSERT_EQ(UCALL_NONE, run(t, &v));
		pthread_join(th, NULL);
		EXPECT_EQ(0, c.ret);
		EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
		EXPECT_EQ(0, strncmp(last_exit.msg,
				     "the launcher no longer has writable memory at gpa 0x2",
				     52)) {
			TH_LOG("killed: %s", last_exit.msg);
		}
		lg_test_vm_free(t);
	}
	EXPECT_EQ(base, lg_test_info_pinned());
}

/* ------------------------------------------------------------------ */

#define SPARSE		800
#define SPARSE_VA(i)	(0x0000010000000000ULL + ((uint64_t)(i) << 30))

/*
 * One page at 800 addresses a gigabyte apart: each needs two shadow tables
 * of its own, past the guest's budget (1024 + 4 per 2 MiB of memory).
 * The host drops the guest's shadows and goes on; every value stays right.
 */
static void guest_sparse(void)
{
	uint64_t page, i, sum = 0;

	paging_on();
	page = guest_page_alloc();
	*(uint64_t *)page = 3;
	for (i = 0; i < SPARSE; i++)
		GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARSE_VA(i), page, PTE_RW), 0);
	for (i = 0; i < SPARSE; i++)
		sum += *(volatile uint64_t *)SPARSE_VA(i);
	GUEST_ASSERT_EQ(sum, 3 * SPARSE);
	GUEST_SYNC(1);
}

TEST(a_guest_that_maps_without_end_starts_afresh)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_sparse);
	struct lguest_info info;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	ASSERT_EQ(0, lg_info(t->vm.fd, &info));
	/* Within the budget, give or take one fill's tables and the roots. */
	EXPECT_GT(1024 + 4 * (LG_TEST_MEM >> 21) + 32, info.guest_tables);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

#define EDGE_PAGE	0x00007ffffffff000ULL	/* the last page of the lower half */

/*
 * A hypercall whose return address falls off the end of the lower half
 * (`syscall` or `int $0x1f` in the last two bytes): the host must never
 * iretq there (it would fault in the switcher, at CPL0), and kills the
 * guest instead, as a CPU would have stopped it.
 */
static void edge_guest(uint8_t insn0, uint8_t insn1)
{
	uint64_t page;

	paging_on();
	page = guest_page_alloc();
	((uint8_t *)page)[4094] = insn0;
	((uint8_t *)page)[4095] = insn1;
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, EDGE_PAGE, page, 0), 0);
	asm volatile("movl $7, %%eax\n\tcall *%0"	/* LHCALL_SEND_INTERRUPTS */
		     : : "r"(EDGE_PAGE + 4094) : "rax", "rcx", "r11", "memory");
	GUEST_SYNC(1);
}

static void guest_syscall_at_the_edge(void)
{
	edge_guest(0x0f, 0x05);
}

static void guest_int_at_the_edge(void)
{
	edge_guest(0xcd, 0x1f);
}

TEST(a_hypercall_at_the_end_of_canonical_memory_kills_the_guest)
{
	void (*guests[])(void) = { guest_syscall_at_the_edge, guest_int_at_the_edge };
	unsigned int i;
	uint64_t v;

	for (i = 0; i < 2; i++) {
		struct lg_test_vm *t = lg_test_vm_create(guests[i]);

		ASSERT_NE(NULL, t);
		ASSERT_EQ(UCALL_NONE, run(t, &v));
		EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
		EXPECT_STREQ("it ran off the end of canonical memory (rip 0x800000000000)",
			     last_exit.msg);
		lg_test_vm_free(t);
	}
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
