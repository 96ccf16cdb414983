// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's page tables, for now: a linear map of guest memory (guest
 * virtual = guest physical, in the low canonical half) built by the host,
 * plus what the switcher needs.  Shadow paging replaces the linear part.
 *
 * Each vCPU has a top-level table of its own.  Its slot 0 points to the
 * guest's shared lower tables for guest memory; the kernel half holds only
 *   - the switcher's code and data pages, at their host addresses,
 *     supervisor-only (code read-only, data no-execute);
 *   - LG_PAGES_VA, where map_switcher_in_guest() puts the page of the
 *     physical CPU the vCPU is about to run on;
 *   - the host's CPU entry area (GDT, TSS, entry and IST stacks), by copying
 *     the host's 512 GiB-level entry that covers it, exactly as KPTI's
 *     user page tables do.
 * Because the top-level table (and below it the chain down to LG_PAGES_VA)
 * is private to the vCPU, two vCPUs of one guest on two CPUs each see their
 * own CPU's page there.
 *
 * Entries are written as raw x86 PTE values: these tables are loaded into
 * CR3 by the switcher and walked by the CPU, never by the kernel's mm code.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/cpu_entry_area.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include "lg.h"
#include "switcher.h"

#define LG_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define LG_USER_TABLE	(LG_TABLE | _PAGE_USER)
#define LG_GUEST_PAGE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | \
			 _PAGE_ACCESSED | _PAGE_DIRTY)
#define LG_SW_TEXT	(_PAGE_PRESENT | _PAGE_ACCESSED)
#define LG_SW_DATA	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | \
			 _PAGE_DIRTY | _PAGE_NX)

static unsigned int lg_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

/* Index of @va in a table at @level (1 = PTE ... 5 = PGD with LA57). */
static unsigned int lg_index(unsigned long va, unsigned int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static u64 *lg_alloc_table(struct lguest *lg)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!page)
		return NULL;
	list_add(&page->lru, &lg->table_pages);
	atomic_long_inc(&lguest_table_pages);
	return page_address(page);
}

static u64 *lg_table_of(u64 entry)
{
	return __va(entry & PTE_PFN_MASK);
}

/*
 * The entry for @va at level 1 under @table (at @level), allocating the
 * tables in between with @flags.
 */
static u64 *lg_walk_alloc(struct lguest *lg, u64 *table, unsigned int level,
			  unsigned long va, u64 flags)
{
	for (; level > 1; level--) {
		u64 *e = &table[lg_index(va, level)];

		if (!(*e & _PAGE_PRESENT)) {
			u64 *next = lg_alloc_table(lg);

			if (!next)
				return NULL;
			*e = __pa(next) | flags;
		}
		table = lg_table_of(*e);
	}
	return &table[lg_index(va, 1)];
}

void lguest_free_tables(struct lguest *lg)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &lg->table_pages, lru) {
		list_del(&page->lru);
		__free_page(page);
		atomic_long_dec(&lguest_table_pages);
	}
}

/*
 * Guest memory: one table one level below the top, shared by every vCPU's
 * top-level slot 0 (LGUEST_MAX_MEM keeps the guest within that slot).
 */
int lguest_map_guest_memory(struct lguest *lg)
{
	unsigned long i, npages = lg->mem_size >> PAGE_SHIFT;

	BUILD_BUG_ON(LGUEST_MAX_MEM > (1ULL << 39));
	lg->low_table = lg_alloc_table(lg);
	if (!lg->low_table)
		return -ENOMEM;
	for (i = 0; i < npages; i++) {
		u64 *pte = lg_walk_alloc(lg, lg->low_table, lg_levels() - 1,
					 i << PAGE_SHIFT, LG_USER_TABLE);

		if (!pte)
			return -ENOMEM;
		*pte = ((u64)page_to_pfn(lg->mem_pages[i]) << PAGE_SHIFT) | LG_GUEST_PAGE;
	}
	return 0;
}

static int lg_map_range(struct lguest *lg, u64 *root, unsigned long start,
			unsigned long end, u64 flags)
{
	unsigned long va;

	for (va = start; va < end; va += PAGE_SIZE) {
		u64 *pte = lg_walk_alloc(lg, root, lg_levels(), va, LG_TABLE);

		if (!pte)
			return -ENOMEM;
		*pte = ((u64)vmalloc_to_pfn((void *)va) << PAGE_SHIFT) | flags;
	}
	return 0;
}

/*
 * The host's entry covering the CPU entry area, copied at the 512 GiB level:
 * the top level with 4-level paging; with 5-level paging the top-level slot
 * also holds kernel text, so only the P4D entry is shared, under a P4D of
 * our own.
 */
static int lg_map_cpu_entry_area(struct lguest *lg, u64 *root)
{
	unsigned long cea = CPU_ENTRY_AREA_BASE;
	u64 *host = __va(read_cr3_pa());
	u64 *mine = root;

	if (pgtable_l5_enabled()) {
		u64 *e = &root[lg_index(cea, 5)];

		if (!(*e & _PAGE_PRESENT)) {
			u64 *p4d = lg_alloc_table(lg);

			if (!p4d)
				return -ENOMEM;
			*e = __pa(p4d) | LG_TABLE;
		}
		mine = lg_table_of(*e);
		host = lg_table_of(host[lg_index(cea, 5)]);
	}
	mine[lg_index(cea, 4)] = host[lg_index(cea, 4)];
	return 0;
}

int lguest_build_vcpu_root(struct lg_cpu *cpu)
{
	struct lguest *lg = cpu->lg;
	unsigned long text, text_end, data, data_end;
	u64 *root, *pte;
	int err;

	root = lg_alloc_table(lg);
	if (!root)
		return -ENOMEM;
	root[0] = __pa(lg->low_table) | LG_USER_TABLE;

	/* The CPU entry area first: its slot must stay the host's own entry. */
	err = lg_map_cpu_entry_area(lg, root);
	if (err)
		return err;

	lguest_switcher_ranges(&text, &text_end, &data, &data_end);
	err = lg_map_range(lg, root, text, text_end, LG_SW_TEXT);
	if (!err)
		err = lg_map_range(lg, root, data, data_end, LG_SW_DATA);
	if (err)
		return err;

	pte = lg_walk_alloc(lg, root, lg_levels(), LG_PAGES_VA, LG_TABLE);
	if (!pte)
		return -ENOMEM;
	cpu->root = root;
	cpu->switcher_pte = pte;
	cpu->mapped_pages = NULL;
	return 0;
}

/*
 * Point LG_PAGES_VA at this physical CPU's page.  Nothing to flush: guest
 * entries are never global and the switcher reloads CR3 on every entry.
 */
void map_switcher_in_guest(struct lg_cpu *cpu, struct lguest_pages *pages)
{
	if (cpu->mapped_pages == pages)
		return;
	WRITE_ONCE(*cpu->switcher_pte, __pa(pages) | LG_SW_DATA);
	cpu->mapped_pages = pages;
	cpu->stats.switcher_maps++;
}
