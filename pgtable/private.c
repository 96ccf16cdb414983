// SPDX-License-Identifier: GPL-2.0
/*
 * The host's own slots in every guest root.
 *
 * The guest owns almost all of its address space, but a few PML4-level
 * slots of every root it runs under belong to us, and the guest is told
 * which (lguest_data.reserved_slots):
 *   - the switcher's code and data pages, at their host addresses,
 *     supervisor-only (code read-only, data no-execute);
 *   - LG_PAGES_VA, where map_switcher_in_guest() puts the page of the
 *     physical CPU the vCPU is about to run on, supervisor-only;
 *   - LG_DATA_VA (LGUEST_DATA_VA in the ABI), the page after, where the
 *     vCPU's shared page is: readable and writable by the guest kernel
 *     (it is the guest's own memory), supervisor-only for guest user mode;
 *   - LG_IDT_VA and LG_GDT_VA, read-only aliases of our IDT and of this
 *     CPU's GDT, which the CPU uses while the guest runs, so that what a
 *     guest's sidt and sgdt show is a constant (switcher_64.S);
 *   - the host's CPU entry area (GDT, TSS, entry and IST stacks), by copying
 *     the host's 512 GiB-level entry that covers it, exactly as KPTI's user
 *     page tables do.
 * With 4-level paging these are PML4 slots; on a 5-level host they are the
 * same slots of the P4D under the top PML5 slot, which is where the guest's
 * upper half lives too (pgdir.c).
 *
 * Each vCPU builds these entries once per virtual privilege level, in
 * tables of its own (private_top[mode]), and every root it ever loads
 * copies them.  The tables below them are the vCPU's too: two vCPUs of one
 * guest on two CPUs each see their own CPU's page at LG_PAGES_VA, and their
 * own shared page at LG_DATA_VA, and remapping either is one PTE write per
 * mode that every root of the vCPU sees at once.  Intermediate entries
 * allow user access, as Linux's do: the leaves decide.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/cpu_entry_area.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include "pgtable.h"
#include "switcher.h"

/* Bit n: PML4-level slot n is the host's. */
static DECLARE_BITMAP(reserved_slots, 512);

/* Both ends lie in the upper half, where slots grow with addresses. */
static void reserve_range(unsigned long start, unsigned long end)
{
	unsigned int slot;

	for (slot = lg_index(start, 4); slot <= lg_index(end - 1, 4); slot++)
		__set_bit(slot, reserved_slots);
}

int lguest_pgtable_init(void)
{
	unsigned long text, text_end, data, data_end;

	lguest_switcher_ranges(&text, &text_end, &data, &data_end);
	reserve_range(text, text_end);
	reserve_range(data, data_end);
	reserve_range(LG_PAGES_VA, LG_GDT_VA + PAGE_SIZE);
	reserve_range(CPU_ENTRY_AREA_BASE, CPU_ENTRY_AREA_BASE + 1);
	/* Our slots must be in the upper half, where a 5-level root shares. */
	if (find_first_bit(reserved_slots, 512) < 256)
		return -EINVAL;
	return 0;
}

bool lguest_slot_reserved(unsigned int slot)
{
	return test_bit(slot, reserved_slots);
}

void lguest_reserved_slots(u64 bitmap[8])
{
	unsigned int i;

	for (i = 0; i < 512; i++)
		if (test_bit(i, reserved_slots))
			bitmap[i / 64] |= 1ULL << (i % 64);
}

/* A private table, on the vCPU's list so it can all go at once. */
static u64 *private_table(struct lg_cpu *cpu)
{
	u64 *t = lg_alloc_table(cpu->lg);

	if (t)
		list_add(&virt_to_page(t)->lru, &cpu->private_tables);
	return t;
}

/* The PTE for @va under private_top[@mode], allocating the tables between. */
static u64 *private_pte(struct lg_cpu *cpu, unsigned int mode, unsigned long va)
{
	u64 *table = cpu->private_top[mode];
	unsigned int level;

	for (level = 4; level > 1; level--) {
		u64 *e = &table[lg_index(va, level)];

		if (!(*e & _PAGE_PRESENT)) {
			u64 *next = private_table(cpu);

			if (!next)
				return NULL;
			*e = __pa(next) | LG_USER_TABLE;
		}
		table = lg_table_of(*e);
	}
	return &table[lg_index(va, 1)];
}

static int map_range(struct lg_cpu *cpu, unsigned int mode,
		     unsigned long start, unsigned long end, u64 flags)
{
	unsigned long va;

	for (va = start; va < end; va += PAGE_SIZE) {
		u64 *pte = private_pte(cpu, mode, va);

		if (!pte)
			return -ENOMEM;
		*pte = ((u64)vmalloc_to_pfn((void *)va) << PAGE_SHIFT) | flags;
	}
	return 0;
}

/* The module page at @src, read-only, at @va as well. */
static int map_alias(struct lg_cpu *cpu, unsigned int mode, unsigned long va,
		     unsigned long src)
{
	u64 *pte = private_pte(cpu, mode, va);

	if (!pte)
		return -ENOMEM;
	*pte = ((u64)vmalloc_to_pfn((void *)src) << PAGE_SHIFT) | LG_SW_RODATA;
	return 0;
}

/*
 * The host's entry covering the CPU entry area, at the 512 GiB level: in
 * the PML4 with 4-level paging; with 5-level paging in the P4D under the
 * PML5 slot that covers it (which also holds kernel text, so only the P4D
 * entry is shared, as KPTI does).
 */
static u64 host_cea_entry(void)
{
	unsigned long cea = CPU_ENTRY_AREA_BASE;
	u64 *host = __va(read_cr3_pa());

	if (pgtable_l5_enabled())
		host = lg_table_of(host[lg_index(cea, 5)]);
	return host[lg_index(cea, 4)];
}

int lguest_vcpu_private_init(struct lg_cpu *cpu)
{
	unsigned long text, text_end, data, data_end;
	unsigned int m;
	int err;

	lguest_switcher_ranges(&text, &text_end, &data, &data_end);
	for (m = 0; m < LG_NR_MODES; m++) {
		cpu->private_top[m] = private_table(cpu);
		if (!cpu->private_top[m])
			return -ENOMEM;
		cpu->private_top[m][lg_index(CPU_ENTRY_AREA_BASE, 4)] = host_cea_entry();
		err = map_range(cpu, m, text, text_end, LG_SW_TEXT);
		if (!err)
			err = map_range(cpu, m, data, data_end, LG_SW_DATA);
		if (err)
			return err;
		err = map_alias(cpu, m, LG_IDT_VA, (unsigned long)lg_switcher_data.idt);
		if (err)
			return err;
		cpu->switcher_pte[m] = private_pte(cpu, m, LG_PAGES_VA);
		cpu->data_pte[m] = private_pte(cpu, m, LG_DATA_VA);
		cpu->gdt_pte[m] = private_pte(cpu, m, LG_GDT_VA);
		if (!cpu->switcher_pte[m] || !cpu->data_pte[m] || !cpu->gdt_pte[m])
			return -ENOMEM;
	}
	cpu->mapped_pages = NULL;
	return 0;
}

void lguest_vcpu_private_free(struct lg_cpu *cpu)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, &cpu->private_tables, lru) {
		list_del(&page->lru);
		lg_free_table(cpu->lg, page_address(page));
	}
}

/*
 * Point LG_PAGES_VA at this physical CPU's page, and LG_GDT_VA at its GDT
 * (at @gdt_pa).  Nothing to flush: guest entries are never global and the
 * switcher reloads CR3 on every entry.
 */
void map_switcher_in_guest(struct lg_cpu *cpu, struct lguest_pages *pages,
			   u64 gdt_pa)
{
	unsigned int m;

	if (cpu->mapped_pages == pages)
		return;
	for (m = 0; m < LG_NR_MODES; m++) {
		WRITE_ONCE(*cpu->switcher_pte[m], __pa(pages) | LG_SW_DATA);
		WRITE_ONCE(*cpu->gdt_pte[m], gdt_pa | LG_SW_RODATA);
	}
	cpu->mapped_pages = pages;
	cpu->stats.switcher_maps++;
}

/* Map (or, with NULL, unmap) the vCPU's shared page at LG_DATA_VA. */
void lguest_map_data_page(struct lg_cpu *cpu, struct page *page)
{
	u64 pa = page ? page_to_phys(page) : 0;

	WRITE_ONCE(*cpu->data_pte[LG_MODE_KERNEL],
		   page ? pa | LG_SW_DATA | _PAGE_USER : 0);
	WRITE_ONCE(*cpu->data_pte[LG_MODE_USER], page ? pa | LG_SW_DATA : 0);
}
