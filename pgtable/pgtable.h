/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of pgtable/ share and nobody else needs: entry flags,
 * index arithmetic, the allocation of table pages, and "zaps", which
 * collect what an invalidation takes away until no CPU can still be using
 * it.
 *
 * Shadow entries are raw x86 PTE values: these tables are loaded into CR3 by
 * the switcher and walked by the CPU, never by the kernel's mm code.  Levels
 * count as the CPU does: 1 is a PTE, 4 a PML4 entry, 5 a PML5 entry.
 */
#ifndef _LG_PGTABLE_H
#define _LG_PGTABLE_H

#include <linux/list.h>
#include <linux/mm.h>
#include <asm/pgtable.h>
#include "lg.h"

/*
 * Intermediate shadow entries allow everything: permissions live in the
 * leaves, where the guest's own permissions (combined over its levels) are
 * written.  Host-owned entries are supervisor-only.
 */
#define LG_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define LG_USER_TABLE	(LG_TABLE | _PAGE_USER)
#define LG_SW_TEXT	(_PAGE_PRESENT | _PAGE_ACCESSED)
#define LG_SW_DATA	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | \
			 _PAGE_DIRTY | _PAGE_NX)
#define LG_SW_RODATA	(_PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_NX)

/* The guest's page-table format: 4-level x86-64, guest-physical. */
#define LG_PTE_ADDR	0x000ffffffffff000ULL
/*
 * In an unlinked leaf table only: this entry was the last to map its page,
 * and its pin is released with the table (tables.c).  A bit the CPU
 * ignores.
 */
#define LG_PTE_LAST	_PAGE_SOFTW2
/*
 * An absent leaf (absent.c): the guest's own entry is not present, and
 * the switcher may tell the guest so without the host.  Present to the
 * CPU, with reserved address bits; this bit, which the CPU ignores, tells
 * it from a leaf that maps a page.  lg_absent_leaf is its value, or 0
 * where the CPU has no reserved address bit to set.
 */
#define LG_PTE_ABSENT	_PAGE_SOFTW1
/* In a leaf table's page->private (pins.c): it may hold absent leaves. */
#define LG_LEAF_ABSENT	1UL

/* The leaf table that holds the shadow PTE @pte. */
static inline u64 *lg_leaf_of(u64 *pte)
{
	return (u64 *)((unsigned long)pte & PAGE_MASK);
}

/* Whether leaf @e maps a page (and holds a reference on its pin). */
static inline bool lg_leaf_maps(u64 e)
{
	return (e & (_PAGE_PRESENT | LG_PTE_ABSENT)) == _PAGE_PRESENT;
}

/* A leaf's protection key (bits 59-62): meaningful where CR4.PKE is set. */
#define LG_PTE_PKEY_SHIFT	59
#define LG_PTE_PKEY	(0xfULL << LG_PTE_PKEY_SHIFT)
#define LG_PF_PROT	BIT(0)	/* #PF error code bits */
#define LG_PF_WRITE	BIT(1)
#define LG_PF_USER	BIT(2)
#define LG_PF_RSVD	BIT(3)
#define LG_PF_INSTR	BIT(4)
#define LG_PF_PK	BIT(5)

static inline unsigned int lg_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

/* Index of @va in a table at @level. */
static inline unsigned int lg_index(u64 va, unsigned int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static inline u64 *lg_table_of(u64 entry)
{
	return __va(entry & PTE_PFN_MASK);
}

/*
 * The guest's kernel half: PML4 slots 256-511, the addresses with bit 47
 * set.  Shadows keep it in a template of its own (pgdir.c), and coherent
 * shadows share its tables between address spaces (shadow.c).
 */
static inline bool lg_upper_slot(unsigned int slot)
{
	return slot >= 256;
}

static inline bool lg_upper_half(u64 va)
{
	return lg_upper_slot(lg_index(va, 4));
}

/*
 * Which entries of a table may be non-zero.  A shadow table of a guest
 * process typically holds a few dozen entries of its 512, yet tearing an
 * address space down scanned every entry of every table twice (once to
 * drop the pins' references, once to free), and zeroed every new table
 * page whole: most of what an evicted address space cost.  So each table
 * keeps a summary, bit j for entries 8j..8j+7, set when one of them is
 * written non-zero and cleared only once the whole table is empty.  It is
 * written under mmu_lock (or before the table is linked anywhere) and read
 * under it or once the table is unlinked, as the entries are.
 *
 * It lives in the table page's struct page, in ->index: a page the page
 * allocator gave us and that is mapped nowhere (no page cache, no rmap)
 * leaves ->index to its owner, as ->private (a leaf's reverse map) and
 * ->lru (a zap's list).  Every table page starts with it zero
 * (tables.c).
 */
static inline unsigned long *lg_used(u64 *table)
{
	return &virt_to_page(table)->index;
}

/* Write entry @i of @table, which is ours (a shadow table or template). */
static inline void lg_set_entry(u64 *table, unsigned int i, u64 val)
{
	WRITE_ONCE(table[i], val);
	if (val)
		*lg_used(table) |= BIT(i / 8);
}

/*
 * The entry to visit after @i - 1 in a table whose summary is @used: @i
 * itself inside a group, else the first entry of the next group marked,
 * or 512.  An empty entry in a marked group costs a load and a test, as
 * does each entry left of a group a range starts inside (all empty, if
 * the group is unmarked).  Loops go for (i = lg_next_used(used, first);
 * i <= last; i = lg_next_used(used, i + 1)).
 */
static inline unsigned int lg_next_used(unsigned long used, unsigned int i)
{
	unsigned long rest;

	if (i & 7)
		return i;
	if (i >= 512)
		return 512;
	rest = used & (~0UL << (i / 8));
	return rest ? __ffs(rest) * 8 : 512;
}

/*
 * Table pages.  Shadow tables are taken from the vCPU's page cache under
 * the MMU lock (filled by lg_topup() before it); everything is counted per
 * guest and host-wide, so tests can see that nothing is left behind.
 */
int lg_topup(struct lg_cpu *cpu);
u64 *lg_cache_page(struct lg_cpu *cpu);
u32 *lg_cache_rmap(struct lg_cpu *cpu);
void lg_drain_cache(struct lg_cpu *cpu);
u64 *lg_alloc_table(struct lguest *lg);
void lg_free_table(struct lguest *lg, u64 *table);

/*
 * A zap: what invalidations remove, kept until every vCPU that might still
 * hold it in its TLB has left the guest once (lguest_kick_running()).  Only
 * then are pages unpinned and tables freed.  A full batch of pins is
 * released on the spot, kick first.  A leaf that goes while its page stays
 * pinned (mapped elsewhere too) needs the kick all the same: it is the
 * shootdown that makes the invalidation true on every vCPU.
 *
 * Every fill and every invalidation has one on its stack, and Debian's
 * kernel, like most distributions', is built to clear every local
 * variable on entry (CONFIG_INIT_STACK_ALL_ZERO): 552 bytes at each fill
 * and, before the fast path below split from the slow one, at each
 * binding check of a walk, four a walk.  A TCG instruction count saw 69
 * stores each time, some 450 for a Linux page fault.  lg_zap_init() sets
 * every field but pins[], of which only the first nr_pins are ever read,
 * so each is declared __uninitialized, as the kernel declares such
 * buffers in its own hot paths.
 */
#define LG_ZAP_BATCH	64

struct lg_zap {
	struct lguest *lg;
	struct lg_cpu *cpu;		/* whose invalidation, or NULL */
	struct page *pins[LG_ZAP_BATCH];
	unsigned int nr_pins;
	bool flush;			/* a leaf went: kick even with no pin */
	struct list_head tables;	/* page->private: the table's level */
};

void lg_zap_init(struct lg_zap *z, struct lguest *lg, struct lg_cpu *cpu);
void lg_zap_pin(struct lg_zap *z, struct page *page);
void lg_zap_subtree(struct lg_zap *z, u64 *table, unsigned int level);
void lg_zap_finish(struct lg_zap *z);

/*
 * Whether lg_shadow_pte() has what it may take from the vCPU's cache, a
 * table for each level under the PML4 and a leaf table's reverse map,
 * without lg_topup(), which may sleep.
 */
static inline bool lg_can_fill_nowait(const struct lg_cpu *cpu)
{
	return cpu->nr_cached >= 3 && cpu->nr_rmaps >= 1;
}

/* pins.c: a guest's pins, counted by the leaves that map each page. */
int lg_pin_get(struct lguest *lg, u32 gfn, struct page *page);
bool lg_pin_unmap(struct lguest *lg, u32 gfn);
void lg_pin_put(struct lg_zap *z, u32 gfn);
u32 *lg_leaf_gfns(u64 *leaf);
void lg_leaf_clear(struct lg_zap *z, u64 *leaf, unsigned int i);

/* shadow.c, for pgdir.c: an address space's whole shadow goes. */
void lg_shadow_zap_all(struct lg_pgdir *pd, struct lguest *lg,
		       struct lg_zap *z);
/* shadow.c: ranges of one address space, or everything the guest has. */
void lg_zap_range_pgdir(struct lg_zap *z, struct lg_pgdir *pd, u64 start, u64 end);
bool lg_zap_upper_range(struct lg_zap *z, u64 start, u64 end);
u64 *lg_shadow_leaf_table(struct lg_pgdir *pd, unsigned int mode, u64 va);
u64 *lg_shadow_pte(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode,
		   u64 va, u64 top);
void lg_zap_everything(struct lguest *lg, struct lg_zap *z);
/* coherent.c, for walk.c and shadow.c. */
bool lg_bind_table(struct lguest *lg, u64 gpa, unsigned int level, u64 va,
		   u64 root, bool nowait);
void lg_unsync_add(struct lguest *lg, u64 gpa, u64 va);
bool lg_unsync_has(struct lguest *lg, u64 gpa);
/* absent.c: absent leaves, made after a fault walk and cleared in bulk. */
void lguest_absent_init(void);
void lg_mark_absent(struct lg_cpu *cpu, struct lg_pgdir *pd, u64 va,
		    const struct lg_walk *w, u64 seq, unsigned long mni_seq);
void lg_absent_clear(u64 *leaf);
/* pgdir.c, for shadow.c: a template entry changed; tell every vroot. */
void lg_set_template(struct lguest *lg, struct lg_pgdir *pd,
		     unsigned int mode, unsigned int slot, u64 val);

/* walk.c: one walk of the guest's tables. */
enum lg_walk_result {
	LG_WALK_OK,		/* @gpa and the permissions are valid */
	LG_WALK_FAULT,		/* the guest's tables say #PF: @error */
	LG_WALK_GP,		/* not canonical for a 4-level guest: #GP(0) */
	LG_WALK_KILLED,		/* the guest's tables were unusable */
	LG_WALK_SLOW,		/* LG_WALK_NOWAIT: this walk needs the run loop */
};

/* struct lg_walk, its result, is in lg.h: a vCPU keeps one (pf_saved). */

/*
 * A shadow PDPT that every coherent address space whose guest PML4 has
 * the same entry (@key: its address and permissions) in one upper slot
 * links, in one mode (shadow.c), and how many templates link it.
 */
struct lg_kshare {
	u64 key;
	u64 *table;
	unsigned int users;
	/* The last range zapped in it, and under which invalidate_seq. */
	u64 zapped_seq, zapped_start, zapped_end;
};

#define LG_KSHARE_SLOTS	256	/* the upper half's */

/*
 * In lg_walk()'s @access: the walk is for a fill, and binds the tables it
 * goes through (coherent.c).  Walks that only read or write guest memory
 * for the host make no leaf, and need not.
 */
#define LG_WALK_BIND	BIT(31)
/*
 * ... between two world switches (vcpu/traps.c): with interrupts and page
 * faults off, so a table not bound yet, a table page the launcher does not
 * have in memory or anything else that would kill the guest gives up with
 * LG_WALK_SLOW instead, for the run loop's walk to decide.
 */
#define LG_WALK_NOWAIT	BIT(30)

enum lg_walk_result lg_walk(struct lg_cpu *cpu, struct lg_pgdir *pd,
			    u64 va, u32 access, struct lg_walk *w);

#endif /* _LG_PGTABLE_H */
