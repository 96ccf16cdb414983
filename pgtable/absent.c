// SPDX-License-Identifier: GPL-2.0
/*
 * Absent leaves: a guest page fault the switcher can deliver alone.
 *
 * A Linux process that touches fresh memory takes a page fault on each
 * page, which its kernel answers by writing the PTE.  Under Xen the fault
 * is a bounce: the CPU walked the guest's own tables, found the entry not
 * present, and Xen only forwards the fault.  Under lguest the CPU walks
 * our shadow, whose empty leaf says nothing: perhaps the guest's entry is
 * absent, perhaps the shadow has just not been filled.  Only a walk of
 * the guest's tables in C tells, so every such fault cost a full world
 * switch and a pass of the run loop before the guest heard of it: half
 * of what a Linux guest's page fault cost beyond Xen's (docs/performance.md).
 *
 * So where we know the guest's entry is absent, the shadow says so.  An
 * absent leaf is present to the CPU with every address bit set: bits at
 * and above the CPU's MAXPHYADDR are reserved, so any access through it
 * faults with Present and Reserved in the error code, which no leaf that
 * maps a page produces; and the address is the top of the physical
 * address space, where no memory is, so a speculative load through the
 * entry (L1TF) reads nothing, as Linux arranges for its own not-present
 * PTEs.  The switcher bounces such a fault from guest user mode straight
 * to the guest kernel's handler, with the error code the guest's own walk
 * would give: not present, user, and the write and fetch bits the CPU
 * reported (switcher_64.S, lg_exit_pf; xen/fast.c offers it).  Anywhere
 * else (guest kernel mode, the path not offered) the fault exits as any
 * other and C walks, as before.  KVM's shadow MMU once did the same with
 * its "notrap" entries, the error code filtered by VMX instead of a
 * switcher (bypass_guest_pf, removed once EPT made it moot).
 *
 * An absent leaf that outlived the guest's absent entry would not be a
 * hole (it maps nothing) but a livelock: the guest's handler would find
 * its entry present, return, and fault again, never leaving the guest.
 * So they follow the rules of coherent.c's shadow, which sees every
 * change to the tables it shadows:
 *
 *  - one is made only in a coherent shadow, for the lower half, in user
 *    mode, by the fault walk itself: the walk bound the L1 (coherent.c)
 *    before it read the entry absent, and the marking happens under
 *    mmu_lock with no invalidation since (invalidate_seq), as a fill;
 *  - every invalidation clears it as it clears a leaf that maps, so any
 *    change the coherent shadow sees to the entry, or to a table above
 *    it, takes it away; it holds no pin, and needs no shootdown (no CPU
 *    keeps a translation that faulted on a reserved bit);
 *  - an L1 the guest may write in place (an unsync table) has none: none
 *    is made while it is one, and those it had go when it becomes one
 *    (lg_unsync_add()), since such writes are seen only at the resync,
 *    which then keeps an absent leaf only where the entry still is absent.
 *
 * A guest that writes its tables behind our back, through a mapping of
 * its own it left writable, can still livelock itself, as it could leave
 * its own shadow stale before; the host is not concerned.
 *
 * Linux fills a fresh mapping page by page, so the walk that finds one
 * entry absent marks the absent entries of the 64 around it in that L1,
 * in the space and mode that faulted: a 1 MiB mapping written from start
 * to end took 256 such exits; now it takes four.
 */
#include <linux/mmu_notifier.h>
#include <linux/uaccess.h>
#include "pgtable.h"

/*
 * How many PTEs one fault marks: the aligned block around it.  A whole L1
 * was too many: a table's summary (lg_used()) then marked every group,
 * and each zap, resync and teardown of it visited all 512 entries, where
 * a process's tables hold a few dozen (a Linux fork cost a tenth more).
 */
#define LG_ABSENT_BLOCK	64

u64 lg_absent_leaf __read_mostly;

/*
 * The CPU's MAXPHYADDR, as its CPUID says (not boot_cpu_data's, which
 * memory encryption may have lowered below the bits the CPU reserves).
 * At 52 there is no reserved address bit, and no absent leaf.
 */
void lguest_absent_init(void)
{
	unsigned int bits = 36;

	if (boot_cpu_data.extended_cpuid_level >= 0x80000008)
		bits = cpuid_eax(0x80000008) & 0xff;
	lg_absent_leaf = 0;
	if (bits < 52)
		lg_absent_leaf = _PAGE_PRESENT | _PAGE_USER | _PAGE_NX |
				 LG_PTE_ABSENT | GENMASK_ULL(51, PAGE_SHIFT);
}

/*
 * Which of the LG_ABSENT_BLOCK entries of the guest's L1 at @l1 from
 * @first are absent, as bits of @absent.
 */
static bool read_absent(struct lguest *lg, u64 l1, unsigned int first, u64 *absent)
{
	u64 __user *src = lguest_gpa_to_user(lg, l1);
	u64 chunk[LG_ABSENT_BLOCK / 2] __uninitialized;	/* read if copied */
	unsigned int i, j;

	*absent = 0;
	for (i = 0; i < LG_ABSENT_BLOCK; i += ARRAY_SIZE(chunk)) {
		if (copy_from_user(chunk, src + first + i, sizeof(chunk)))
			return false;
		for (j = 0; j < ARRAY_SIZE(chunk); j++)
			if (!(chunk[j] & _PAGE_PRESENT))
				*absent |= BIT_ULL(i + j);
	}
	return true;
}

/*
 * A fault walk of (@pd, user mode) for @va found its PTE absent, in the
 * L1 @w->l1 that it bound; @seq and @mni_seq were read before it.  Mark
 * the absent entries of that L1's block around @va in the leaf table for
 * @va, where the shadow has nothing.  Nothing is marked if anything
 * changed since the walk, if the guest may write the L1 in place, or if
 * memory runs short: the fault is delivered all the same.
 */
void lg_mark_absent(struct lg_cpu *cpu, struct lg_pgdir *pd, u64 va,
		    const struct lg_walk *w, u64 seq, unsigned long mni_seq)
{
	unsigned int i, n = 0, first = lg_index(va, 1) & ~(LG_ABSENT_BLOCK - 1);
	struct lguest *lg = cpu->lg;
	u64 *pte, *leaf, absent;

	if (!lg_absent_leaf || !lg->ptinfo || !READ_ONCE(lguest_fast_switch) ||
	    !w->absent_pte || lg_upper_half(va) ||
	    !lg->ops->root_coherent || !lg->ops->root_coherent(lg, pd->gcr3) ||
	    !read_absent(lg, w->l1, first, &absent) || lg_topup(cpu))
		return;
	spin_lock(&lg->mmu_lock);
	if (mmu_interval_read_retry(&lg->mni, mni_seq) || lg->invalidate_seq != seq ||
	    lg_unsync_has(lg, w->l1) ||
	    atomic_long_read(&lg->nr_shadow_tables) > lg->max_tables)
		goto out;
	pte = lg_shadow_pte(cpu, pd, LG_MODE_USER, va, w->top);
	if (!pte)
		goto out;
	leaf = lg_leaf_of(pte);
	for (i = first; absent; i++, absent >>= 1) {
		if ((absent & 1) && !leaf[i]) {
			lg_set_entry(leaf, i, lg_absent_leaf);
			n++;
		}
	}
	if (n)
		virt_to_page(leaf)->private |= LG_LEAF_ABSENT;
out:
	spin_unlock(&lg->mmu_lock);
	cpu->stats.absent_marked += n;
}

/*
 * Clear the absent leaves of the leaf table @leaf, if it may have any:
 * a fork makes each of its parent's L1s unsync, and most of its tables
 * have none to look for.  Under mmu_lock.
 */
void lg_absent_clear(u64 *leaf)
{
	struct page *page = virt_to_page(leaf);
	unsigned long used = *lg_used(leaf);
	unsigned int i;

	if (!(page->private & LG_LEAF_ABSENT))
		return;
	page->private &= ~LG_LEAF_ABSENT;
	for (i = lg_next_used(used, 0); i < 512; i = lg_next_used(used, i + 1))
		if (leaf[i] & LG_PTE_ABSENT)
			WRITE_ONCE(leaf[i], 0);
}
