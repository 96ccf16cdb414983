// SPDX-License-Identifier: GPL-2.0
/*
 * The host's own slots in every guest root.
 *
 * The guest owns almost all of its address space, but PML4 slots 256-271,
 * the x86-64 hypervisor hole, are ours, and the guest is told
 * (lguest_data.reserved_slots).  We use one of them, 257 (switcher.h has
 * the layout); a guest that maps anything in any of the sixteen is killed
 * when it touches it (shadow.c).  Under slot 257, in every root a vCPU
 * loads:
 *   - the switcher's code and data, supervisor-only, in a page table the
 *     host's own mapping of the hole shares (switcher/hole.c);
 *   - LG_DATA_VA (LGUEST_DATA_VA in the ABI), where the vCPU's shared page
 *     is: readable and writable by the guest kernel (it is the guest's own
 *     memory), supervisor-only for guest user mode;
 *   - the area of the physical CPU the vCPU is about to run on, at
 *     LG_CUR_VA and at LG_CPU_VA(cpu): one PMD entry each, pointing at that
 *     CPU's page table, which map_switcher_in_guest() rewrites when the
 *     vCPU moves.  No other CPU's area is mapped, and nothing else of the
 *     host: not its CPU entry area, not its kernel, not its module.
 * With 4-level paging slot 257 is a PML4 slot; on a 5-level host it is the
 * same slot of the P4D under the top PML5 slot, which is where the guest's
 * upper half lives too (pgdir.c).
 *
 * Each vCPU builds these entries once per virtual privilege level, in
 * tables of its own (private_top[mode]), and every root it ever loads
 * copies the slot's entry.  Intermediate entries allow user access, as
 * Linux's do: the leaves decide.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include "pgtable.h"
#include "switcher.h"

/* Bit n: PML4-level slot n is the host's. */
static DECLARE_BITMAP(reserved_slots, 512);

void lguest_pgtable_init(void)
{
	unsigned int slot;

	for (slot = lg_index(LG_HOLE_START, 4); slot <= lg_index(LG_HOLE_END - 1, 4); slot++)
		__set_bit(slot, reserved_slots);
	lguest_absent_init();
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

/*
 * The entry at @level for @va under private_top[@mode], allocating the
 * tables above it.
 */
static u64 *private_entry(struct lg_cpu *cpu, unsigned int mode,
			  unsigned long va, unsigned int level)
{
	u64 *table = cpu->private_top[mode];
	unsigned int l;

	for (l = 4; l > level; l--) {
		u64 *e = &table[lg_index(va, l)];

		if (!(*e & _PAGE_PRESENT)) {
			u64 *next = private_table(cpu);

			if (!next)
				return NULL;
			*e = __pa(next) | LG_USER_TABLE;
		}
		table = lg_table_of(*e);
	}
	return &table[lg_index(va, level)];
}

int lguest_vcpu_private_init(struct lg_cpu *cpu)
{
	unsigned int m, k;
	u64 *e;

	for (m = 0; m < LG_NR_MODES; m++) {
		cpu->private_top[m] = private_table(cpu);
		if (!cpu->private_top[m])
			return -ENOMEM;
		e = private_entry(cpu, m, LG_TEXT_VA, 2);
		if (!e)
			return -ENOMEM;
		*e = lguest_hole_common_table() | LG_USER_TABLE;
		cpu->data_pte[m] = private_entry(cpu, m, LG_DATA_VA, 1);
		cpu->cur_pmd[m] = private_entry(cpu, m, LG_CUR_VA, 2);
		if (!cpu->data_pte[m] || !cpu->cur_pmd[m])
			return -ENOMEM;
		/* A PMD for every 512 CPUs: moving never allocates. */
		for (k = 0; k * 512 < nr_cpu_ids; k++) {
			cpu->cpu_pmds[m][k] = private_entry(cpu, m, LG_CPU_VA(k * 512), 2);
			if (!cpu->cpu_pmds[m][k])
				return -ENOMEM;
		}
	}
	cpu->mapped_cpu = -1;
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
 * Map physical CPU @pcpu's area, at LG_CUR_VA and LG_CPU_VA(@pcpu), instead
 * of the last one's.  Nothing to flush: guest entries are never global and
 * the switcher loads CR3, without no-flush, on every entry.
 */
void map_switcher_in_guest(struct lg_cpu *cpu, int pcpu)
{
	u64 table = lguest_hole_cpu_table(pcpu) | LG_USER_TABLE;
	int old = cpu->mapped_cpu;
	unsigned int m;

	if (old == pcpu)
		return;
	for (m = 0; m < LG_NR_MODES; m++) {
		if (old >= 0)
			WRITE_ONCE(cpu->cpu_pmds[m][old / 512][old % 512], 0);
		WRITE_ONCE(cpu->cpu_pmds[m][pcpu / 512][pcpu % 512], table);
		WRITE_ONCE(*cpu->cur_pmd[m], table);
	}
	cpu->mapped_cpu = pcpu;
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

/*
 * A Xen PV vCPU has no shared page; its vcpu_info's page goes at
 * LG_DATA_VA instead, in both modes supervisor-only: for the switcher,
 * which reads and writes its event mask on the fast paths (xen/fast.c),
 * and not for the guest, which has its own mapping of its own memory.
 * Nothing to flush: the vCPU is not running (its own run loop maps it),
 * and its next entry loads CR3.
 */
void lguest_map_vcpu_info_page(struct lg_cpu *cpu, struct page *page)
{
	u64 e = page ? page_to_phys(page) | LG_SW_DATA : 0;

	WRITE_ONCE(*cpu->data_pte[LG_MODE_KERNEL], e);
	WRITE_ONCE(*cpu->data_pte[LG_MODE_USER], e);
}
