// SPDX-License-Identifier: GPL-2.0
/*
 * The hypervisor's hole, as the host sees it.
 *
 * switcher.h tells what lives in slot 257 and why.  This file builds the
 * page tables under that slot once, at module load: one table for the
 * switcher's code and data (their module pages, at LG_TEXT_VA and
 * LG_SWDATA_VA), and one per CPU for its area (struct lguest_pages, TSS,
 * IST stacks, GDT) at LG_CPU_VA(cpu).  Guest roots link to the very same
 * tables (pgtable/private.c); the host links to them only while it needs
 * them:
 *
 *   - With 4-level paging a process's top-level kernel entries are its own
 *     copies of the kernel's, so the launcher's own page tables get one
 *     entry for slot 257 when its first guest is created, and lose it with
 *     its last: no other process ever maps the hole.  The kernel copies
 *     entries into processes' tables only where its own table has them
 *     (sync_global_pgds()), and it never has slot 257.
 *   - With 5-level paging the kernel's half of every process shares one
 *     P4D table under the top PML5 slot, so the entry for P4D slot 257 goes
 *     there while any guest lives.  Memory KASLR may put the kernel's own
 *     regions there on such hosts; the module refuses to load if it did.
 *
 * Removing the entry flushes every CPU's TLB (paging-structure caches
 * included): nothing stays mapped after the last guest.  The tables
 * themselves live until the module goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include "lg.h"
#include "switcher.h"

/* The host's entries: supervisor-only, never global. */
#define HOLE_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define HOLE_TEXT	(_PAGE_PRESENT | _PAGE_ACCESSED)
#define HOLE_DATA	(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX)
#define HOLE_RODATA	(_PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_NX)

#ifndef CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING
#define CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING 0
#endif

DEFINE_PER_CPU(struct lg_cpu_area, lg_area);

/*
 * Xen's fixed descriptors, entries 0x1c00-0x1c07 (xen-x86_64.h): ring-0
 * code and data for the switcher, and flat ring-3 32-bit code, data and
 * 64-bit code.  The TSS follows, per CPU.  The accessed bits are set: the
 * CPU never needs to write these tables.
 */
const u64 lguest_gdt_fixed[8] = {
	[1] = 0x00af9b000000ffffULL,	/* 0xe008 */
	[2] = 0x00cf93000000ffffULL,	/* 0xe010 */
	[4] = 0x00cffb000000ffffULL,	/* 0xe023 */
	[5] = 0x00cff3000000ffffULL,	/* 0xe02b */
	[6] = 0x00affb000000ffffULL,	/* 0xe033 */
};

static u64 *hole_pud;			/* what slot 257 points to */
static u64 *hole_pmd0;			/* its first 1 GiB: text, data */
static u64 *hole_common;		/* the text and data pages */
static u64 *hole_cpu_pmd[LG_NR_CPU_PMDS];

/* Who has the entry: one per launcher mm (4-level), or one for all. */
struct hole_user {
	struct list_head list;
	u64 *entry;
	unsigned int users;
};

static LIST_HEAD(hole_users);
static DEFINE_MUTEX(hole_lock);

static u64 *hole_alloc_table(int node)
{
	struct page *page = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);

	return page ? page_address(page) : NULL;
}

static void hole_free_table(u64 *t)
{
	if (t)
		free_page((unsigned long)t);
}

static unsigned int idx(unsigned long va, unsigned int level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* The module pages from @start to @end, at @va on. */
static void map_module(u64 *table, unsigned long va, unsigned long start,
		       unsigned long end, u64 flags)
{
	for (; start < end; start += PAGE_SIZE, va += PAGE_SIZE)
		table[idx(va, 1)] = ((u64)vmalloc_to_pfn((void *)start) << PAGE_SHIFT) | flags;
}

/*
 * CPU @cpu's area: its pages, its page table, its TSS and the fixed part of
 * its GDT.  The TSS has no I/O bitmap (its offset lies past the limit), so
 * every port access from the guest faults; RSP0 is the end of the register
 * frame at LG_CUR_VA; the IST stacks use the host's numbering, which our
 * IDT's gates share with the host's.
 */
static int area_init(int cpu)
{
	struct lg_cpu_area *a = per_cpu_ptr(&lg_area, cpu);
	static const unsigned int stack_off[4] = {
		LGA_DF_STACK, LGA_NMI_STACK, LGA_DB_STACK, LGA_MC_STACK,
	};
	static const unsigned int stack_ist[4] = {
		IST_INDEX_DF, IST_INDEX_NMI, IST_INDEX_DB, IST_INDEX_MCE,
	};
	unsigned long va = LG_CPU_VA(cpu);
	int node = cpu_to_node(cpu);
	struct desc_struct *host_gdt = get_cpu_gdt_rw(cpu);
	u64 zero = page_to_phys(ZERO_PAGE(0));
	tss_desc tss;
	unsigned int i;

	a->table = hole_alloc_table(node);
	a->pages = (void *)hole_alloc_table(node);
	a->tss = (void *)hole_alloc_table(node);
	a->gdt = hole_alloc_table(node);
	a->gdt_fixed = hole_alloc_table(node);
	for (i = 0; i < 4; i++)
		a->stacks[i] = hole_alloc_table(node);
	if (!a->table || !a->pages || !a->tss || !a->gdt || !a->gdt_fixed ||
	    !a->stacks[0] || !a->stacks[1] || !a->stacks[2] || !a->stacks[3])
		return -ENOMEM;

	a->table[idx(LGA_PAGES, 1)] = __pa(a->pages) | HOLE_DATA;
	a->table[idx(LGA_TSS, 1)] = __pa(a->tss) | HOLE_RODATA;
	for (i = 0; i < 4; i++) {
		a->table[idx(stack_off[i], 1)] = __pa(a->stacks[i]) | HOLE_DATA;
		a->tss->ist[stack_ist[i]] = va + stack_off[i] + PAGE_SIZE;
	}
	/*
	 * The guest's part of the GDT is read-only here: every descriptor in
	 * it has its accessed bit set, so the CPU never writes it.  The fixed
	 * page is writable: LTR marks our TSS busy through GDTR.
	 */
	a->table[idx(LGA_GDT, 1)] = __pa(a->gdt) | HOLE_RODATA;
	for (i = 1; i < LG_GDT_PAGES - 1; i++)
		a->table[idx(LGA_GDT, 1) + i] = zero | HOLE_RODATA;
	a->table[idx(LGA_GDT, 1) + LG_GDT_PAGES - 1] = __pa(a->gdt_fixed) | HOLE_DATA;

	a->tss->sp0 = LG_CUR_VA + LGP_REGS_END;
	a->tss->io_bitmap_base = sizeof(struct x86_hw_tss);

	memcpy(a->gdt_fixed, lguest_gdt_fixed, sizeof(lguest_gdt_fixed));
	set_tssldt_descriptor(&tss, va + LGA_TSS, DESC_TSS,
			      sizeof(struct x86_hw_tss) - 1);
	memcpy(&a->gdt_fixed[(LG_SEL_TSS >> 3) - LG_GDT_FIXED], &tss, sizeof(tss));
	/* The entries the host keeps in the guest's part (vcpu/gdt.c). */
	a->gdt_ents = lguest_gdt_host_entries(a->gdt);

	a->pages->gdt_desc.size = LG_GDT_LIMIT;
	a->pages->gdt_desc.address = va + LGA_GDT;
	a->pages->host_gdt_rw.size = GDT_SIZE - 1;
	a->pages->host_gdt_rw.address = (unsigned long)host_gdt;
	a->pages->tss_desc = (u64)&a->gdt_fixed[(LG_SEL_TSS >> 3) - LG_GDT_FIXED];
	a->pages->nmi_slot = lguest_nmi_slot(cpu);
	return 0;
}

static void area_free(int cpu)
{
	struct lg_cpu_area *a = per_cpu_ptr(&lg_area, cpu);
	unsigned int i;

	hole_free_table(a->table);
	hole_free_table((u64 *)a->pages);
	hole_free_table((u64 *)a->tss);
	hole_free_table(a->gdt);
	hole_free_table(a->gdt_fixed);
	for (i = 0; i < 4; i++)
		hole_free_table(a->stacks[i]);
	memset(a, 0, sizeof(*a));
}

/* Where the entry for slot 257 goes in @mm's tables. */
static u64 *hole_entry(struct mm_struct *mm, unsigned int slot)
{
	u64 *top = (u64 *)mm->pgd;

	if (pgtable_l5_enabled()) {
		u64 e = top[idx(LG_SW_BASE, 5)];

		if (!(e & _PAGE_PRESENT))
			return NULL;
		top = __va(e & PTE_PFN_MASK);
	}
	return &top[slot];
}

/* Does [start, start + size) meet the hole? */
static bool meets_hole(unsigned long start, unsigned long size)
{
	return start < LG_HOLE_END && start + size > LG_HOLE_START;
}

/*
 * Is the hole free in the host?  Its slots must be empty now, and no region
 * memory KASLR placed (direct map, vmalloc, vmemmap) may reach into it
 * later.  On 4-level hosts they all start above it; on 5-level hosts they
 * are spread over a range that includes it, and the sizes are computed as
 * arch/x86/mm/kaslr.c does.
 */
static int hole_check(void)
{
	unsigned long mem_tb, vmemmap_tb;
	unsigned int slot;
	int nid;
	unsigned long end_pfn = 0;

	for (slot = idx(LG_HOLE_START, 4); slot <= idx(LG_HOLE_END - 1, 4); slot++) {
		u64 *e = hole_entry(current->mm, slot);

		if (e && *e) {
			pr_err("the hypervisor hole (slot %u) is in use by the host: cannot place the switcher\n",
			       slot);
			return -EBUSY;
		}
	}
	for_each_online_node(nid)
		end_pfn = max(end_pfn, node_end_pfn(nid));
	mem_tb = DIV_ROUND_UP(end_pfn << PAGE_SHIFT, 1UL << 40) +
		 CONFIG_RANDOMIZE_MEMORY_PHYSICAL_PADDING;
	vmemmap_tb = DIV_ROUND_UP((mem_tb << (40 - PAGE_SHIFT)) * sizeof(struct page),
				  1UL << 40);
	if (meets_hole(page_offset_base, mem_tb << 40) ||
	    meets_hole(vmalloc_base, VMALLOC_END - VMALLOC_START + 1) ||
	    meets_hole(vmemmap_base, vmemmap_tb << 40)) {
		pr_err("memory KASLR put the host's memory map (%#lx), vmalloc (%#lx) or vmemmap (%#lx) in the hypervisor hole: reboot to load lguest\n",
		       page_offset_base, vmalloc_base, vmemmap_base);
		return -EBUSY;
	}
	return 0;
}

int lguest_hole_init(void)
{
	unsigned long text, text_end, data, data_end;
	unsigned int k;
	int cpu, err;

	lguest_switcher_ranges(&text, &text_end, &data, &data_end);
	if (text_end - text > LG_TEXT_MAX || data_end - data > LG_SWDATA_MAX)
		return -E2BIG;
	err = hole_check();
	if (err)
		return err;

	hole_pud = hole_alloc_table(NUMA_NO_NODE);
	hole_pmd0 = hole_alloc_table(NUMA_NO_NODE);
	hole_common = hole_alloc_table(NUMA_NO_NODE);
	if (!hole_pud || !hole_pmd0 || !hole_common)
		goto nomem;
	hole_pud[0] = __pa(hole_pmd0) | HOLE_TABLE;
	hole_pmd0[0] = __pa(hole_common) | HOLE_TABLE;
	map_module(hole_common, LG_TEXT_VA, text, text_end, HOLE_TEXT);
	/* The IDT, page 0 of the data, read-only where anyone can find it. */
	map_module(hole_common, LG_SWDATA_VA, data, data + PAGE_SIZE, HOLE_RODATA);
	map_module(hole_common, LG_SWDATA_VA + PAGE_SIZE, data + PAGE_SIZE,
		   data_end, HOLE_DATA);

	for_each_possible_cpu(cpu) {
		k = cpu / 512;
		if (!hole_cpu_pmd[k]) {
			hole_cpu_pmd[k] = hole_alloc_table(NUMA_NO_NODE);
			if (!hole_cpu_pmd[k])
				goto nomem;
			hole_pud[idx(LG_CPU_VA(cpu), 3)] = __pa(hole_cpu_pmd[k]) | HOLE_TABLE;
		}
		if (area_init(cpu))
			goto nomem;
		hole_cpu_pmd[k][idx(LG_CPU_VA(cpu), 2)] =
			__pa(per_cpu(lg_area, cpu).table) | HOLE_TABLE;
	}
	return 0;

nomem:
	lguest_hole_exit();
	return -ENOMEM;
}

/* No guest lives: no host table links to ours any more. */
void lguest_hole_exit(void)
{
	unsigned int k;
	int cpu;

	WARN_ON(!list_empty(&hole_users));
	for_each_possible_cpu(cpu)
		area_free(cpu);
	for (k = 0; k < LG_NR_CPU_PMDS; k++) {
		hole_free_table(hole_cpu_pmd[k]);
		hole_cpu_pmd[k] = NULL;
	}
	hole_free_table(hole_common);
	hole_free_table(hole_pmd0);
	hole_free_table(hole_pud);
	hole_common = NULL;
	hole_pmd0 = NULL;
	hole_pud = NULL;
}

u64 lguest_hole_common_table(void)
{
	return __pa(hole_common);
}

u64 lguest_hole_cpu_table(int cpu)
{
	return __pa(per_cpu(lg_area, cpu).table);
}

/*
 * A guest in @mm is being created: map the hole in @mm's kernel half
 * (which, with 5-level paging, is every process's).
 */
int lguest_hole_get(struct mm_struct *mm)
{
	u64 *e = hole_entry(mm, LG_SW_SLOT);
	struct hole_user *u;
	int err = 0;

	if (!e)
		return -EBUSY;
	mutex_lock(&hole_lock);
	list_for_each_entry(u, &hole_users, list) {
		if (u->entry == e) {
			u->users++;
			goto out;
		}
	}
	if (READ_ONCE(*e)) {
		pr_err("slot %u is in use in this address space\n", LG_SW_SLOT);
		err = -EBUSY;
		goto out;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u) {
		err = -ENOMEM;
		goto out;
	}
	u->entry = e;
	u->users = 1;
	list_add(&u->list, &hole_users);
	/* Nothing caches a not-present entry: no flush to add one. */
	WRITE_ONCE(*e, __pa(hole_pud) | HOLE_TABLE);
out:
	mutex_unlock(&hole_lock);
	return err;
}

/* Does slot 257 hold our table in @mm's page tables (LHREQ_INFO)? */
bool lguest_hole_mapped(struct mm_struct *mm)
{
	u64 *e = hole_entry(mm, LG_SW_SLOT);

	return e && (READ_ONCE(*e) & PTE_PFN_MASK) == __pa(hole_pud);
}

static void flush_this_cpu(void *unused)
{
	__flush_tlb_all();
}

/* That guest is gone (@mm still held by it): its last one unmaps the hole. */
void lguest_hole_put(struct mm_struct *mm)
{
	u64 *e = hole_entry(mm, LG_SW_SLOT);
	struct hole_user *u;

	mutex_lock(&hole_lock);
	list_for_each_entry(u, &hole_users, list) {
		if (u->entry != e)
			continue;
		if (--u->users == 0) {
			WRITE_ONCE(*e, 0);
			list_del(&u->list);
			kfree(u);
			on_each_cpu(flush_this_cpu, NULL, 1);
		}
		break;
	}
	mutex_unlock(&hole_lock);
}
