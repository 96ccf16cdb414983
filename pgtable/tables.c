// SPDX-License-Identifier: GPL-2.0
/*
 * Table pages, and how they (and pinned guest pages) are given back.
 *
 * Allocation.  Shadow tables are filled under the guest's MMU lock, a
 * spinlock, where we cannot sleep to allocate.  So, as KVM does, a vCPU
 * tops up a small cache of zeroed pages before it takes the lock, and takes
 * from the cache under it.  Every table page, shadow or private, is counted
 * in the guest and host-wide.
 *
 * Freeing.  A shadow entry we clear may still sit in the TLB of a CPU that
 * is running one of the guest's vCPUs right now: until that CPU leaves the
 * guest, the page it maps must stay pinned and the tables above it must
 * stay allocated, or the guest could reach memory that is no longer its
 * own.  So whatever an invalidation removes goes into a "zap" first;
 * lg_zap_finish() kicks every vCPU that is in the guest out of it once
 * (every entry reloads CR3, which flushes the guest's translations) and
 * only then unpins and frees.  The pin counts themselves (pins.c) drop
 * at once, under the lock, so that later fills pin afresh; a zap of single
 * leaves that collects a full batch of pins kicks and releases them on
 * the spot, while a whole subtree keeps its last pins in its leaves until
 * the one kick.  The vCPU's cache holds leaf tables' reverse maps too.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "pgtable.h"

static void count_tables(struct lguest *lg, long n)
{
	atomic_long_add(n, &lg->nr_tables);
	atomic_long_add(n, &lguest_table_pages);
}

static void count_pins(struct lguest *lg, long n)
{
	atomic_long_add(n, &lg->nr_pins);
	atomic_long_add(n, &lguest_pinned_pages);
}

int lg_topup(struct lg_cpu *cpu)
{
	while (cpu->nr_cached < LG_PAGE_CACHE) {
		struct page *p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

		if (!p)
			return -ENOMEM;
		p->index = 0;	/* lg_used(): nothing written yet */
		cpu->page_cache[cpu->nr_cached++] = p;
	}
	while (cpu->nr_rmaps < LG_RMAP_CACHE) {
		u32 *r = kmalloc(LG_RMAP_SIZE, GFP_KERNEL_ACCOUNT);

		if (!r)
			return -ENOMEM;
		cpu->rmap_cache[cpu->nr_rmaps++] = r;
	}
	return 0;
}

/* Under the MMU lock: a zeroed page from the cache, or NULL if it ran dry. */
u64 *lg_cache_page(struct lg_cpu *cpu)
{
	if (!cpu->nr_cached)
		return NULL;
	count_tables(cpu->lg, 1);
	return page_address(cpu->page_cache[--cpu->nr_cached]);
}

/* Under the MMU lock: a reverse map for a new leaf table, or NULL. */
u32 *lg_cache_rmap(struct lg_cpu *cpu)
{
	return cpu->nr_rmaps ? cpu->rmap_cache[--cpu->nr_rmaps] : NULL;
}

void lg_drain_cache(struct lg_cpu *cpu)
{
	while (cpu->nr_cached)
		__free_page(cpu->page_cache[--cpu->nr_cached]);
	while (cpu->nr_rmaps)
		kfree(cpu->rmap_cache[--cpu->nr_rmaps]);
}

/* A table page outside the MMU lock (the vCPU's private tables). */
u64 *lg_alloc_table(struct lguest *lg)
{
	struct page *p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!p)
		return NULL;
	p->index = 0;
	count_tables(lg, 1);
	return page_address(p);
}

void lg_free_table(struct lguest *lg, u64 *table)
{
	free_page((unsigned long)table);
	count_tables(lg, -1);
}

/*
 * Recycling.  A zap's tables are freed only after its kick, so an evicted
 * address space's teardown, or a Linux process's exit, gave back a page
 * per table that the very next fills allocated and zeroed again (4 KiB
 * cleared each; under TCG a tenth of an evicted switch).  free_subtree()
 * visits every entry the table's summary marks anyway, so it clears them
 * as it goes, and the page, zero again, goes back to the cache of the
 * vCPU whose zap it was, if the zap runs on that vCPU's own thread (the
 * cache is that thread's alone) and the cache has room; so does a leaf
 * table's reverse map, whose entries are written before any is read.
 */
static bool may_recycle(struct lg_zap *z)
{
	return z->cpu && z->cpu->tsk == current;
}

static void recycle_table(struct lg_zap *z, u64 *table)
{
	struct lg_cpu *cpu = z->cpu;
	struct page *page = virt_to_page(table);

	VM_WARN_ON_ONCE(memchr_inv(table, 0, PAGE_SIZE));
	page->index = 0;
	set_page_private(page, 0);
	if (may_recycle(z) && cpu->nr_cached < LG_PAGE_STASH) {
		cpu->page_cache[cpu->nr_cached++] = page;
		cpu->stats.tables_recycled++;
		count_tables(z->lg, -1);
		return;
	}
	lg_free_table(z->lg, table);
}

static void recycle_rmap(struct lg_zap *z, u32 *rmap)
{
	struct lg_cpu *cpu = z->cpu;

	if (may_recycle(z) && cpu->nr_rmaps < LG_RMAP_STASH)
		cpu->rmap_cache[cpu->nr_rmaps++] = rmap;
	else
		kfree(rmap);
}

/*
 * Every table below @table, which is at @level (0: just the page, a root
 * or a template, freed as it is; otherwise a shadow table, counted as
 * one, emptied and recycled), and the pins its leaves were the last to
 * hold (marked by put_subtree()).
 */
static void free_subtree(struct lg_zap *z, u64 *table, unsigned int level)
{
	struct lguest *lg = z->lg;
	unsigned long used = *lg_used(table);
	unsigned int i;
	long unpinned = 0;

	if (!level) {
		set_page_private(virt_to_page(table), 0);
		lg_free_table(lg, table);
		return;
	}
	atomic_long_dec(&lg->nr_shadow_tables);
	for (i = lg_next_used(used, 0); i < 512; i = lg_next_used(used, i + 1)) {
		u64 e = table[i];

		if (!e)
			continue;
		table[i] = 0;
		if (!(e & _PAGE_PRESENT))
			continue;
		if (level > 1) {
			free_subtree(z, lg_table_of(e), level - 1);
		} else if (e & LG_PTE_LAST) {
			unpin_user_page(pfn_to_page((e & PTE_PFN_MASK) >> PAGE_SHIFT));
			unpinned++;
		}
	}
	count_pins(lg, -unpinned);
	if (level == 1)
		recycle_rmap(z, lg_leaf_gfns(table));
	recycle_table(z, table);
}

/*
 * Drop the references the leaves below @table hold, as their subtree is
 * unlinked, so that fills from now on pin afresh.  A leaf that was the
 * last to map its page keeps the pin, marked, for free_subtree() to
 * release after the zap's one kick: a batch of pins released on the spot
 * would kick every vCPU once per 64 pages, under mmu_lock.  Setting a bit
 * the CPU ignores in a table it may still walk is harmless.  Under
 * mmu_lock.
 */
static void put_subtree(struct lguest *lg, u64 *table, unsigned int level)
{
	u32 *gfns = level == 1 ? lg_leaf_gfns(table) : NULL;
	unsigned long used = *lg_used(table);
	unsigned int i;

	for (i = lg_next_used(used, 0); i < 512; i = lg_next_used(used, i + 1)) {
		if (!(table[i] & _PAGE_PRESENT))
			continue;
		if (level > 1)
			put_subtree(lg, lg_table_of(table[i]), level - 1);
		else if (lg_leaf_maps(table[i]) && lg_pin_unmap(lg, gfns[i]))
			WRITE_ONCE(table[i], table[i] | LG_PTE_LAST);
	}
}

void lg_zap_init(struct lg_zap *z, struct lguest *lg, struct lg_cpu *cpu)
{
	z->lg = lg;
	z->cpu = cpu;
	z->nr_pins = 0;
	z->flush = false;
	INIT_LIST_HEAD(&z->tables);
}

static void lg_zap_release(struct lg_zap *z)
{
	struct page *page, *next;
	unsigned int i;

	if (lguest_kick_running(z->lg) && z->cpu)
		z->cpu->stats.shootdowns++;
	for (i = 0; i < z->nr_pins; i++)
		unpin_user_page(z->pins[i]);
	count_pins(z->lg, -(long)z->nr_pins);
	z->nr_pins = 0;
	z->flush = false;
	list_for_each_entry_safe(page, next, &z->tables, lru) {
		list_del(&page->lru);
		free_subtree(z, page_address(page), page_private(page));
	}
}

/* The pin a cleared leaf held. */
void lg_zap_pin(struct lg_zap *z, struct page *page)
{
	if (z->nr_pins == LG_ZAP_BATCH)
		lg_zap_release(z);
	z->pins[z->nr_pins++] = page;
}

/*
 * A table no longer linked from any live table, with all below it.  Under
 * mmu_lock (or with the guest gone), so that its leaves' pin counts drop
 * with the unlinking; its tables are freed with the zap.
 */
void lg_zap_subtree(struct lg_zap *z, u64 *table, unsigned int level)
{
	struct page *page = virt_to_page(table);

	if (level)
		put_subtree(z->lg, table, level);
	z->flush = true;
	set_page_private(page, level);
	list_add(&page->lru, &z->tables);
}

void lg_zap_finish(struct lg_zap *z)
{
	if (z->flush || z->nr_pins || !list_empty(&z->tables))
		lg_zap_release(z);
}

/* Pins taken (@n > 0) or released outside a zap: a new page, the shared page. */
void lguest_account_pins(struct lguest *lg, long n)
{
	count_pins(lg, n);
}
