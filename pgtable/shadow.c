// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow page tables.
 *
 * The CPU walks our tables, not the guest's.  Ours start empty; every
 * access the guest makes that they cannot translate traps with #PF, and
 * lguest_demand_page() walks the guest's own tables (walk.c) to decide:
 *   - the guest's tables do not allow the access either: the fault is the
 *     guest's, and it gets it with the error code a real CPU would report;
 *   - they do: we pin the page of launcher memory behind the guest-physical
 *     address and write one shadow PTE for it, and the guest retries.
 * A shadow PTE is writable only once the guest's PTE is Dirty: the first
 * write to a clean page faults to us, we set Dirty in the guest's PTE and
 * upgrade ours, so Dirty stays exact.  Guest huge pages are shadowed one
 * 4 KiB page at a time, and kernel-mode and user-mode shadows are separate
 * (pgdir.c).  So the shadow is a software TLB: indexed by virtual address,
 * holding only leaves, with no knowledge of the guest's table structure.
 *
 * And like a TLB it is invalidated by the guest, by the same rules: after
 * changing or removing an entry that may be cached, the guest makes
 * LHCALL_INVLPG (a range, in its current address space or in all) or
 * LHCALL_FLUSH_TLB (one address space, or all).  Entries becoming present
 * need nothing: we cache no absent entries.  Invalidations are cheap to
 * batch through the asynchronous ring.
 *
 * Pinning.  A guest page is pinned exactly while some shadow leaf maps it,
 * once per guest however many leaves do (pins.c), and unpinned when the
 * last of them goes.  The launcher's mapping
 * of guest memory is watched by an MMU interval notifier: if the launcher
 * unmaps, remaps or protects any of it, every shadow of the guest is
 * dropped before the change completes, and later faults find out what is
 * there now (or kill the guest with a reason if nothing usable is).
 *
 * Locking.  lg->mmu_lock (a spinlock) guards the shadow tables, templates
 * and address spaces.  Guest tables are read and pages pinned outside it
 * (both may sleep); lg->invalidate_seq, bumped by every invalidation under
 * the lock, and the notifier's own sequence tell a fill that something
 * changed while it was not holding the lock, and it starts again.  What
 * an invalidation removes is only released once no vCPU can still be
 * using it (tables.c); lock order: lg->lock, then cpu->run_lock, then
 * mmap_lock (taken by the notifier's callers and by GUP), then mmu_lock.
 */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <asm/io.h>
#include "pgtable.h"

/* The 48-bit offset a guest address has in the guest's 4-level space. */
#define LG_VA_MASK	((1ULL << 48) - 1)

/* The template that holds @slot of (@pd, @mode). */
static u64 *template(struct lg_pgdir *pd, unsigned int mode, unsigned int slot)
{
	return lg_upper_slot(slot) ? pd->hi[mode] : pd->lo[mode];
}

/*
 * The kernel half, shared.  Every process of a Linux guest has the same
 * upper half: its PML4s' entries 256-511 are copies, pointing at the same
 * tables.  A shadow made per address space refilled, for each new
 * process, every kernel page it touched (a few hundred fills a fork, the
 * larger part of it: M:019).  But what a shadow PDPT holds depends only
 * on the guest tables below the PML4 entry it was made under, and on the
 * mode: so for a coherent shadow (coherent.c), whose tables follow every
 * change the guest makes, address spaces whose PML4 entry for a slot is
 * the same can link the same shadow PDPT, as Xen's processes link the
 * same guest tables.  One per upper slot and mode (lg->kshare): the first
 * space to fill a slot makes it, the rest with the same entry link it,
 * and the last to unlink it frees it.  A space with another entry there
 * keeps a PDPT of its own.
 *
 * What keeps it right:
 *  - only spaces whose PML4 the personality vouches for link it (Xen's
 *    pinned L4s: ops->root_coherent), since an unpinned L4's tables may
 *    change unseen;
 *  - a table met in the upper half is met under every root (coherent.c),
 *    so a change to it is looked for in every space, and found in the
 *    shared PDPT through any space that links it;
 *  - a zap of a whole slot (the PML4 entry itself changed, or the space
 *    goes) unlinks the shared PDPT from that space instead of emptying
 *    it under the others; the kick the zap makes covers the space's vCPUs.
 */
static u64 kshare_key(u64 top)
{
	return top & (LG_PTE_ADDR | _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_NX);
}

/* The shared PDPT's record for (@mode, @slot), or NULL: none can be. */
static struct lg_kshare *kshare_of(struct lguest *lg, unsigned int mode,
				   unsigned int slot)
{
	if (!lg->kshare || !lg_upper_slot(slot))
		return NULL;
	return &lg->kshare[mode * LG_KSHARE_SLOTS + slot - 256];
}

/*
 * Empty (@pd, @mode)'s @slot: its PDPT goes with everything below, unless
 * it is the shared one, which only loses a user (the last frees it).
 * Under mmu_lock.
 */
static void unlink_slot(struct lg_zap *z, struct lg_pgdir *pd,
			unsigned int mode, unsigned int slot)
{
	struct lg_kshare *ks = kshare_of(z->lg, mode, slot);
	u64 *table = lg_table_of(template(pd, mode, slot)[slot]);

	lg_set_template(z->lg, pd, mode, slot, 0);
	if (ks && ks->users && ks->table == table) {
		/* The space's vCPUs may hold what it maps: they must leave. */
		z->flush = true;
		if (--ks->users)
			return;
		ks->table = NULL;
		ks->key = 0;
	}
	lg_zap_subtree(z, table, 3);
}

/*
 * The summary of (@pd, @mode)'s two templates as one: the lower one only
 * ever has slots 0-255 set, the upper one 256-511.
 */
static unsigned long slots_used(struct lg_pgdir *pd, unsigned int mode)
{
	return *lg_used(pd->lo[mode]) | *lg_used(pd->hi[mode]);
}

/*
 * Drop every shadow entry of @pd, both modes.  Under mmu_lock.  An
 * invalidation like any other, for fills walking meanwhile.  The
 * templates stay, empty, for the space's next use.
 */
void lg_shadow_zap_all(struct lg_pgdir *pd, struct lguest *lg,
		       struct lg_zap *z)
{
	unsigned int m, slot;

	lg->invalidate_seq++;

	for (m = 0; m < LG_NR_MODES; m++) {
		unsigned long used = slots_used(pd, m);

		for (slot = lg_next_used(used, 0); slot < 512;
		     slot = lg_next_used(used, slot + 1))
			if (template(pd, m, slot)[slot] & _PAGE_PRESENT)
				unlink_slot(z, pd, m, slot);
		*lg_used(pd->lo[m]) = 0;
		*lg_used(pd->hi[m]) = 0;
	}
	WRITE_ONCE(pd->upper, false);
}

/* Every address space the guest has: after the launcher changed memory. */
void lg_zap_everything(struct lguest *lg, struct lg_zap *z)
{
	unsigned int i;

	lg->invalidate_seq++;
	for (i = 0; i < lg->nr_pgdirs; i++)
		if (lg->pgdirs[i].valid)
			lg_shadow_zap_all(&lg->pgdirs[i], lg, z);
}

/*
 * Clear the leaves for [start, end) below @table, a table at @level
 * covering the 48-bit offsets from @base.  Empty tables stay: they go with
 * the address space.
 */
static void zap_range(struct lg_zap *z, u64 *table, unsigned int level,
		      u64 base, u64 start, u64 end)
{
	u64 size = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	unsigned int i, first = (start - base) / size;
	unsigned int last = min_t(u64, 511, (end - 1 - base) / size);
	unsigned long used = *lg_used(table);

	for (i = lg_next_used(used, first); i <= last; i = lg_next_used(used, i + 1)) {
		u64 from = base + i * size, e;

		e = table[i];
		if (!(e & _PAGE_PRESENT))
			continue;
		if (level == 1) {
			lg_leaf_clear(z, table, i);
		} else {
			zap_range(z, lg_table_of(e), level - 1, from,
				  max(start, from), min(end, from + size));
		}
	}
}

/*
 * Whether [@start, @end) of the shared PDPT @ks was already emptied by
 * this invalidation (for another space that links it): each invalidation
 * bumps lg->invalidate_seq under mmu_lock before it zaps, and holds the
 * lock through its loop over the spaces, so no fill came in between.
 * Without it a change to the kernel half walked the same PDPT once per
 * cached space.  Records the range otherwise.
 */
static bool kshare_zapped(struct lguest *lg, struct lg_kshare *ks, u64 start, u64 end)
{
	if (ks->zapped_seq == lg->invalidate_seq && ks->zapped_start <= start &&
	    end <= ks->zapped_end)
		return true;
	ks->zapped_seq = lg->invalidate_seq;
	ks->zapped_start = start;
	ks->zapped_end = end;
	return false;
}

/*
 * The leaves for the 48-bit offsets [start, end) of @pd, both modes.  A
 * shared PDPT whose whole slot is in the range is unlinked instead: the
 * range may be there because this space's PML4 entry changed, and the
 * other spaces' entry has not.  Under mmu_lock, after the invalidation
 * bumped invalidate_seq.
 */
void lg_zap_range_pgdir(struct lg_zap *z, struct lg_pgdir *pd, u64 start, u64 end)
{
	u64 size = 1ULL << 39;
	unsigned int m, slot, first = start / size;
	unsigned int last = min_t(u64, 511, (end - 1) / size);

	/*
	 * One page, as most drops are (an entry written, an invlpg): its leaf
	 * in each mode, looked up rather than searched for from the slot's
	 * summary down.  A Linux fork's forty single mmu_updates each drop
	 * one in two spaces.
	 */
	if (end - start == PAGE_SIZE) {
		unsigned int i = lg_index(start, 1);

		for (m = 0; m < LG_NR_MODES; m++) {
			u64 *leaf = lg_shadow_leaf_table(pd, m, start);

			if (leaf && (leaf[i] & _PAGE_PRESENT))
				lg_leaf_clear(z, leaf, i);
		}
		return;
	}
	for (m = 0; m < LG_NR_MODES; m++) {
		unsigned long used = slots_used(pd, m);

		for (slot = lg_next_used(used, first); slot <= last;
		     slot = lg_next_used(used, slot + 1)) {
			struct lg_kshare *ks;
			u64 e, from, to;

			e = template(pd, m, slot)[slot];
			if (!(e & _PAGE_PRESENT))
				continue;
			ks = kshare_of(z->lg, m, slot);
			from = max(start, slot * size);
			to = min(end, (slot + 1) * size);
			if (ks && ks->table == lg_table_of(e)) {
				if (from == slot * size && to == (slot + 1) * size)
					unlink_slot(z, pd, m, slot);
				else if (!kshare_zapped(z->lg, ks, from, to))
					zap_range(z, ks->table, 3, slot * size, from, to);
				continue;
			}
			zap_range(z, lg_table_of(e), 3, slot * size, from, to);
		}
	}
}

/*
 * [@start, @end) in every space, for a range strictly inside one upper
 * slot: what a kernel-half table's entries made, which coherent.c looks
 * for in every space.  The spaces that link the slot's shared PDPT all
 * see the range through it, so it is zapped there once; a space with a
 * PDPT of its own there has its range zapped as lg_zap_range_pgdir()
 * would.  The same as lg_zap_range_pgdir() for each space, without a
 * call, a scan of the slots' summary and kshare_zapped() per space and
 * mode: a Linux fork makes many such drops (its page-table pages made
 * read-only in the direct map, and writable again), each of which
 * visited every cached space so.  False, doing nothing, for any other
 * range.  Under mmu_lock, after the invalidation bumped invalidate_seq.
 */
bool lg_zap_upper_range(struct lg_zap *z, u64 start, u64 end)
{
	struct lguest *lg = z->lg;
	u64 size = 1ULL << 39;
	unsigned int slot = start / size, m, n;

	if (!lg->kshare || !lg_upper_slot(slot) || (end - 1) / size != slot ||
	    (start == slot * size && end == (slot + 1) * size))
		return false;
	for (m = 0; m < LG_NR_MODES; m++) {
		struct lg_kshare *ks = kshare_of(lg, m, slot);
		u64 *shared = ks->table;

		if (shared && !kshare_zapped(lg, ks, start, end))
			zap_range(z, shared, 3, slot * size, start, end);
		for (n = 0; n < lg->nr_pgdirs; n++) {
			struct lg_pgdir *pd = &lg->pgdirs[n];
			u64 e;

			if (!pd->valid)
				continue;
			e = template(pd, m, slot)[slot];
			if ((e & _PAGE_PRESENT) && lg_table_of(e) != shared)
				zap_range(z, lg_table_of(e), 3, slot * size, start, end);
		}
	}
	return true;
}

/*
 * The shadow leaf table that maps @va in (@pd, @mode), or NULL if there
 * is none: a lookup, allocating nothing.  Under mmu_lock.
 */
u64 *lg_shadow_leaf_table(struct lg_pgdir *pd, unsigned int mode, u64 va)
{
	unsigned int slot = lg_index(va, 4), level;
	u64 e = template(pd, mode, slot)[slot];

	for (level = 3; level >= 1; level--) {
		if (!(e & _PAGE_PRESENT))
			return NULL;
		if (level == 1)
			return lg_table_of(e);
		e = lg_table_of(e)[lg_index(va, level)];
	}
	return NULL;
}

/*
 * LHCALL_INVLPG: the guest changed the entries mapping [va, va + len) (one
 * page when len is 0) in its current address space, or with
 * LG_INVLPG_ALL_SPACES in every one (kernel mappings shared by all).
 */
long lguest_invlpg(struct lg_cpu *cpu, u64 va, u64 len, u64 flags)
{
	struct lguest *lg = cpu->lg;
	u64 start = va & LG_VA_MASK & PAGE_MASK, end;
	struct lg_zap z __uninitialized;
	unsigned int i;

	if (flags & ~(u64)LG_INVLPG_ALL_SPACES)
		return LGUEST_HCALL_EINVAL;
	len = len ?: 1;
	if (len > (1ULL << 48) - (va & LG_VA_MASK))
		return LGUEST_HCALL_EINVAL;
	end = PAGE_ALIGN((va & LG_VA_MASK) + len);

	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	lg->invalidate_seq++;
	if (flags & LG_INVLPG_ALL_SPACES) {
		for (i = 0; i < lg->nr_pgdirs; i++)
			if (lg->pgdirs[i].valid)
				lg_zap_range_pgdir(&z, &lg->pgdirs[i], start, end);
	} else {
		lg_zap_range_pgdir(&z, cpu->pgdir, start, end);
	}
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	cpu->stats.invalidations++;
	return LGUEST_HCALL_OK;
}

/* LHCALL_FLUSH_TLB: forget the address space @gcr3, or every one. */
long lguest_flush_tlb(struct lg_cpu *cpu, u64 gcr3)
{
	struct lguest *lg = cpu->lg;
	struct lg_zap z __uninitialized;
	unsigned int i;

	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	lg->invalidate_seq++;
	for (i = 0; i < lg->nr_pgdirs; i++) {
		struct lg_pgdir *pd = &lg->pgdirs[i];

		if (pd->valid && (gcr3 == LGUEST_FLUSH_ALL || pd->gcr3 == gcr3))
			lg_shadow_zap_all(pd, lg, &z);
	}
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	cpu->stats.invalidations++;
	return LGUEST_HCALL_OK;
}

/* The index of the shadow PTE @pte in its leaf table (lg_leaf_of()). */
static unsigned int leaf_index(u64 *pte)
{
	return ((unsigned long)pte & ~PAGE_MASK) / sizeof(u64);
}

/*
 * A space with no PDPT in @slot, about to fill under the PML4 entry @top:
 * the shared PDPT if it may link it (see above), and if there is none
 * yet, whether the one it makes becomes it.  Under mmu_lock.
 */
static struct lg_kshare *kshare_for(struct lguest *lg, struct lg_pgdir *pd,
				    unsigned int mode, unsigned int slot, u64 top,
				    bool *link)
{
	struct lg_kshare *ks = kshare_of(lg, mode, slot);

	*link = false;
	if (!ks || !lg->ops->root_coherent || !lg->ops->root_coherent(lg, pd->gcr3))
		return NULL;
	if (!ks->users)
		return ks;
	if (ks->key != kshare_key(top))
		return NULL;
	*link = true;
	return ks;
}

/*
 * The shadow PTE for @va in (@pd, @mode), with the tables above it
 * allocated from the vCPU's cache (or, for an upper slot, the shared
 * PDPT linked), @top the guest's PML4 entry the walk went through.  NULL
 * if the cache ran dry.  Under mmu_lock.
 */
u64 *lg_shadow_pte(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode,
		   u64 va, u64 top)
{
	unsigned int level, slot = lg_index(va, 4);
	u64 *table = template(pd, mode, slot);
	struct lg_kshare *ks = NULL;
	bool link;

	for (level = 4; level > 1; level--) {
		u64 *e = &table[lg_index(va, level)];

		if (level == 4 && !(*e & _PAGE_PRESENT)) {
			ks = kshare_for(cpu->lg, pd, mode, slot, top, &link);
			if (link) {
				ks->users++;
				lg_set_template(cpu->lg, pd, mode, slot,
						__pa(ks->table) | LG_USER_TABLE);
			}
		}
		if (!(*e & _PAGE_PRESENT)) {
			u64 *next;

			/* A leaf table comes with its reverse map (pins.c). */
			if (level == 2 && !cpu->nr_rmaps)
				return NULL;
			next = lg_cache_page(cpu);
			if (!next)
				return NULL;
			if (level == 2)
				set_page_private(virt_to_page(next),
						 (unsigned long)lg_cache_rmap(cpu));
			atomic_long_inc(&cpu->lg->nr_shadow_tables);
			if (level == 4) {
				lg_set_template(cpu->lg, pd, mode, slot,
						__pa(next) | LG_USER_TABLE);
				/* The first of its kind: the one to share. */
				if (ks) {
					ks->key = kshare_key(top);
					ks->table = next;
					ks->users = 1;
				}
			} else {
				lg_set_entry(table, lg_index(va, level),
					     __pa(next) | LG_USER_TABLE);
			}
		}
		table = lg_table_of(*e);
	}
	return &table[lg_index(va, 1)];
}

/*
 * A fault the CPU took although our leaf already allows the access (the
 * guest's PKRU aside) makes no progress if we fill it again: nothing we
 * write changes what the CPU sees.  One such fault is normal: another vCPU
 * filled the leaf while we walked, and vCPUs that fault together after a
 * shootdown lose that race round after round.  But each round starts with
 * an invalidation.  The same address faulting again with no invalidation
 * in between, every entry having reloaded CR3, is a fault we would spin on
 * forever, at the guest's pace: this many times, and the guest dies.
 */
#define LG_PF_STUCK_MAX	16

/* Count a fault that found the leaf already as the walk would make it. */
static bool pf_stuck(struct lg_cpu *cpu, u64 va, u64 seq)
{
	if (cpu->pf_stuck && cpu->pf_stuck_va == va && cpu->pf_stuck_seq == seq) {
		cpu->pf_stuck++;
	} else {
		cpu->pf_stuck = 1;
		cpu->pf_stuck_va = va;
		cpu->pf_stuck_seq = seq;
	}
	return cpu->pf_stuck > LG_PF_STUCK_MAX;
}

static int pf_give_up(struct lg_cpu *cpu, u64 va)
{
	kill_guest(cpu, "page fault at %#llx (error %#llx) at rip %#llx makes no progress",
		   va, cpu->regs.errcode, cpu->regs.rip);
	return LG_PF_DEAD;
}

/*
 * A protection-key fault: the guest's own PKRU refused a data access to a
 * page whose leaf carries the key the guest's PTE has.  The guest kernel
 * runs at CPL3, so to the CPU every guest page is a user page and PKRU
 * applies in both virtual modes (docs/shadow.md).  The fault is the
 * guest's, with the error code the CPU reported and the virtual mode's U.
 */
static int pkey_fault(struct lg_cpu *cpu, u32 access, u64 *guest_error)
{
	*guest_error = (cpu->regs.errcode & (LG_PF_PROT | LG_PF_WRITE | LG_PF_PK)) |
		       (access & LG_PF_USER);
	cpu->stats.pf_reflected++;
	return LG_PF_REFLECT;
}

/*
 * A guest kernel write that its tables refuse, to a page table the
 * personality lets it write in place (a Xen guest's L1s: xen/mmu.c).  If
 * so, @w is the walk that maps it, writable: the shadow leaf will let the
 * write through, as Xen's emulation of it would.
 */
static bool table_write(struct lg_cpu *cpu, u64 va, u32 access, struct lg_walk *w)
{
	bool (*writable)(struct lg_cpu *cpu, u64 gpa) = cpu->lg->ops->table_writable;

	if (!writable || access != LG_PF_WRITE ||
	    (w->error & (LG_PF_PROT | LG_PF_RSVD | LG_PF_PK)) != LG_PF_PROT ||
	    lg_walk(cpu, cpu->pgdir, va, LG_WALK_BIND, w) != LG_WALK_OK ||
	    !writable(cpu, w->gpa))
		return false;
	w->writable = true;
	return true;
}

/*
 * Whether the shadow PTE @pte, now @old, maps @gfn's page already (in
 * @new): another vCPU filled it, or a write upgrades a read.
 */
static bool leaf_holds(u64 *pte, u64 old, u64 new, u32 gfn)
{
	return lg_leaf_maps(old) && (old & PTE_PFN_MASK) == (new & PTE_PFN_MASK) &&
	       lg_leaf_gfns(lg_leaf_of(pte))[leaf_index(pte)] == gfn;
}

/* The shadow leaf's bits for what walk @w allows, less the page. */
static u64 leaf_bits(const struct lg_walk *w)
{
	u64 new = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
		  ((u64)w->pkey << LG_PTE_PKEY_SHIFT);

	if (w->writable)
		new |= _PAGE_RW | _PAGE_DIRTY;
	if (w->nx)
		new |= _PAGE_NX;
	return new;
}

/*
 * The walk the fast path made for this very fault (lguest_demand_page_
 * nowait()), if it left one: no guest instruction ran since, so it is the
 * walk we would make now, and the invalidation count it was made under
 * tells us whether anything changed since.
 */
static bool take_saved(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode,
		       u64 va, u32 access, struct lg_walk *w, u64 *seq,
		       enum lg_walk_result *r)
{
	struct lg_pf_saved *s = &cpu->pf_saved;

	if (!s->valid)
		return false;
	s->valid = false;
	if (s->pd != pd || s->mode != mode || s->va != va || s->access != access)
		return false;
	*w = s->w;
	*seq = s->seq;
	*r = s->result;
	return true;
}

/*
 * Fill the leaf for @va in (@pd, @mode) as a walk for @access allows: for
 * a #PF exit (@fault, the vCPU's own space and mode), or ahead of one
 * (lguest_prefetch()), which kills nobody and counts nothing: a fault
 * that comes after all does both.  Returns LG_PF_FIXED when there is a
 * leaf, LG_PF_REFLECT with the error code the guest must see, LG_PF_GP
 * for a non-canonical address, or LG_PF_DEAD if the guest was killed.
 */
static int fill(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode,
		u64 va, u32 access, u64 *guest_error, bool fault)
{
	struct lguest *lg = cpu->lg;
	u64 seq, old, new, *pte;
	unsigned long mni_seq;
	struct page *page = NULL;
	struct lg_walk w;
	struct lg_zap z __uninitialized;
	enum lg_walk_result r;
	int keep;
	u32 gfn;
	bool stuck = false, in_place = false, pinned;

	/*
	 * A walk the fast path kept was made before this notifier count:
	 * what the count guards is the pin taken below, after it; a change
	 * to guest memory since the walk bumped invalidate_seq, which it
	 * kept too.
	 */
	mni_seq = mmu_interval_read_begin(&lg->mni);
	if (!fault || !take_saved(cpu, pd, mode, va, access, &w, &seq, &r)) {
		seq = READ_ONCE(lg->invalidate_seq);
		/* The count before the guest's tables: a later change bumps it. */
		smp_rmb();
		r = lg_walk(cpu, pd, va, access | LG_PF_PK | LG_WALK_BIND, &w);
	}
	switch (r) {
	case LG_WALK_FAULT:
		if (fault && table_write(cpu, va, access, &w)) {
			in_place = true;
			break;
		}
		*guest_error = w.error;
		if (fault) {
			cpu->stats.pf_reflected++;
			if (w.absent_pte && mode == LG_MODE_USER)
				lg_mark_absent(cpu, pd, va, &w, seq, mni_seq);
		}
		return LG_PF_REFLECT;
	case LG_WALK_GP:
		return LG_PF_GP;
	case LG_WALK_KILLED:
		return LG_PF_DEAD;
	case LG_WALK_SLOW:
		/* Only with LG_WALK_NOWAIT, which this walk is not. */
		WARN_ON_ONCE(1);
		kill_guest(cpu, "internal error: a walk for %#llx gave up", va);
		return LG_PF_DEAD;
	case LG_WALK_OK:
		break;
	}
	if (lguest_slot_reserved(lg_index(va, 4))) {
		if (!fault)
			return LG_PF_REFLECT;
		kill_guest(cpu, "it mapped %#llx, in PML4 slot %u which the host reserves",
			   va, lg_index(va, 4));
		return LG_PF_DEAD;
	}
	if (lg_topup(cpu)) {
		if (!fault)
			return LG_PF_REFLECT;
		kill_guest(cpu, "out of memory for shadow page tables");
		return LG_PF_DEAD;
	}
	/*
	 * A page the guest holds pinned already (another leaf maps it: a
	 * kernel page in every process's space, a library, a page refilled
	 * after an eviction) needs no pin of ours; the leaf only counts
	 * itself in the guest's (lg_pin_get()).  Pinning it anyway, to drop
	 * the pin again under the lock, was a quarter of a fill.  Whether it
	 * is still held is known only under the lock, with no invalidation
	 * since the walk (which would have dropped the guest's pin, had the
	 * launcher's mapping changed): if it went meanwhile, the guest
	 * faults again and that fill pins.
	 */
	gfn = w.gpa >> PAGE_SHIFT;
	pinned = !READ_ONCE(lg->pins[gfn].maps);
	if (pinned && lguest_pin_gpa(lg, w.gpa, &page)) {
		if (!fault)
			return LG_PF_REFLECT;
		kill_guest(cpu, "the launcher no longer has writable memory at gpa %#llx",
			   w.gpa);
		return LG_PF_DEAD;
	}
	new = leaf_bits(&w);

	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	if (mmu_interval_read_retry(&lg->mni, mni_seq) || lg->invalidate_seq != seq)
		goto retry;
	/* A guest that maps without end starts afresh, not the host short. */
	if (atomic_long_read(&lg->nr_shadow_tables) > lg->max_tables)
		lg_zap_everything(lg, &z);
	if (!pinned) {
		if (!lg->pins[gfn].maps)
			goto retry;
		page = lg->pins[gfn].page;
	}
	new |= page_to_phys(page);
	pte = lg_shadow_pte(cpu, pd, mode, va, w.top);
	if (!pte) {
		spin_unlock(&lg->mmu_lock);
		if (pinned)
			unpin_user_page(page);
		lg_zap_finish(&z);
		if (!fault)
			return LG_PF_REFLECT;
		kill_guest(cpu, "out of memory for shadow page tables");
		return LG_PF_DEAD;
	}
	old = *pte;
	if (leaf_holds(pte, old, new, gfn)) {
		/* With no invalidation since our walk, what it allowed holds. */
		keep = 0;
		new |= old & (_PAGE_RW | _PAGE_DIRTY);
		if (fault && old == new)
			stuck = pf_stuck(cpu, va, seq);
		else if (fault)
			cpu->pf_stuck = 0;
	} else {
		keep = lg_pin_get(lg, gfn, page);
		if (keep == -EMLINK) {
			spin_unlock(&lg->mmu_lock);
			unpin_user_page(page);
			lg_zap_finish(&z);
			if (!fault)
				return LG_PF_REFLECT;
			kill_guest(cpu, "the page at gpa %#llx is referenced too often to pin",
				   w.gpa);
			return LG_PF_DEAD;
		}
		if (keep < 0) {
			/* Cannot happen while the notifier keeps pins[] right. */
			stuck = fault && pf_stuck(cpu, va, seq);
			goto retry;
		}
		if (fault)
			cpu->pf_stuck = 0;
		if (lg_leaf_maps(old)) {
			/* Another vCPU's TLB may hold the old page: kick. */
			z.flush = true;
			lg_pin_put(&z, lg_leaf_gfns(lg_leaf_of(pte))[leaf_index(pte)]);
		}
		lg_leaf_gfns(lg_leaf_of(pte))[leaf_index(pte)] = gfn;
	}
	lg_set_entry(lg_leaf_of(pte), leaf_index(pte), new);
	/* A write the guest's tables do not show us: resync it (coherent.c). */
	if (in_place)
		lg_unsync_add(lg, w.gpa, va);
	spin_unlock(&lg->mmu_lock);
	if (pinned && !keep)
		unpin_user_page(page);
	lg_zap_finish(&z);
	if (stuck)
		return pf_give_up(cpu, va);
	if (fault)
		cpu->stats.shadow_fills++;
	return LG_PF_FIXED;

retry:
	/*
	 * Something changed under the walk.  Let the guest fault again
	 * (KVM's RET_PF_RETRY): the run loop between here and there
	 * reschedules and sees signals, so other vCPUs' invalidations cannot
	 * starve this one in a loop of ours.
	 */
	spin_unlock(&lg->mmu_lock);
	if (pinned)
		unpin_user_page(page);
	lg_zap_finish(&z);
	if (!fault)
		return LG_PF_REFLECT;
	cpu->stats.shadow_retries++;
	if (stuck)
		return pf_give_up(cpu, va);
	return LG_PF_FIXED;
}

/* The access a #PF with @errcode made, in virtual mode @mode. */
static u32 fault_access(u64 errcode, unsigned int mode)
{
	return (errcode & (LG_PF_WRITE | LG_PF_INSTR)) |
	       (mode == LG_MODE_USER ? LG_PF_USER : 0);
}

/*
 * A #PF exit: CR2 and the hardware error code are in the vCPU.  Returns
 * LG_PF_FIXED when the guest should simply retry, LG_PF_REFLECT with the
 * error code the guest must see, LG_PF_GP for a non-canonical address, or
 * LG_PF_DEAD if the guest was killed.
 */
int lguest_demand_page(struct lg_cpu *cpu, u64 *guest_error)
{
	u32 access = fault_access(cpu->regs.errcode, cpu->mode);

	if (cpu->regs.errcode & LG_PF_PK)
		return pkey_fault(cpu, access, guest_error);
	return fill(cpu, cpu->pgdir, cpu->mode, cpu->cr2, access, guest_error, true);
}

/*
 * The fast path's fill (vcpu/traps.c): a #PF answered between one world
 * switch and the next, with interrupts and page faults off, on the vCPU's
 * space (@pd) and virtual mode (@mode) as the switcher left them.
 *
 * Most faults a running guest takes are for pages it holds already: its
 * kernel's text and data in every new address space, shared libraries,
 * page cache, what an eviction or an invalidation dropped.  Their fill
 * needs no pin (the guest's is counted, pins.c), so nothing in it sleeps,
 * and it can be made here without going round the run loop.  Anything
 * else is left to the loop's fill, before the leaf is written (the walk
 * may have set Accessed and Dirty, lg_shadow_pte() linked tables above
 * the leaf: both as the loop's fill would have): a page not
 * held (pinning may sleep), a leaf that maps another page (its old
 * translation must be shot down in other vCPUs' TLBs, and waiting for
 * them needs interrupts on), a table not bound yet (coherent.c), a guest
 * table page the launcher does not have in memory, a cache of shadow
 * tables that may not last, mmu_lock held by someone else (whoever holds
 * it may be waiting for this CPU to take an IPI), a fault that makes no
 * progress (pf_stuck()), and every fault that is the guest's own.  The
 * walk, once made, is kept for the loop (take_saved()).
 *
 * The notifier's count is not read here (its reader may sleep): a held
 * page is still the launcher's because an invalidation drops every pin
 * under mmu_lock when it begins, and no fill pins again until it ends;
 * invalidate_seq, bumped by that drop, tells a walk that raced with it.
 */
int lguest_demand_page_nowait(struct lg_cpu *cpu, struct lg_pgdir *pd,
			      unsigned int mode, u64 va, u64 errcode)
{
	struct lg_pf_saved *s = &cpu->pf_saved;
	struct lguest *lg = cpu->lg;
	u32 access = fault_access(errcode, mode), gfn;
	u64 seq, old, new, *pte, *leaf;
	enum lg_walk_result r;
	struct page *page;

	/* Key faults are reflected at once (pkey_fault()): the loop's. */
	if ((errcode & LG_PF_PK) || !lg_can_fill_nowait(cpu))
		return LG_PF_SLOW;
	seq = READ_ONCE(lg->invalidate_seq);
	/* The count before the guest's tables, as in fill(). */
	smp_rmb();
	r = lg_walk(cpu, pd, va, access | LG_PF_PK | LG_WALK_BIND | LG_WALK_NOWAIT, &s->w);
	if (r == LG_WALK_SLOW)
		return LG_PF_SLOW;
	s->result = r;
	s->mode = mode;
	s->access = access;
	s->va = va;
	s->seq = seq;
	s->pd = pd;
	s->valid = true;
	if (r != LG_WALK_OK || lguest_slot_reserved(lg_index(va, 4)))
		return LG_PF_SLOW;

	gfn = s->w.gpa >> PAGE_SHIFT;
	if (!READ_ONCE(lg->pins[gfn].maps) || !spin_trylock(&lg->mmu_lock))
		return LG_PF_SLOW;
	page = lg->pins[gfn].page;
	if (lg->invalidate_seq != seq || !lg->pins[gfn].maps ||
	    atomic_long_read(&lg->nr_shadow_tables) > lg->max_tables)
		goto slow;
	pte = lg_shadow_pte(cpu, pd, mode, va, s->w.top);
	if (!pte)
		goto slow;
	leaf = lg_leaf_of(pte);
	new = leaf_bits(&s->w) | page_to_phys(page);
	old = *pte;
	if (leaf_holds(pte, old, new, gfn)) {
		new |= old & (_PAGE_RW | _PAGE_DIRTY);
		if (old == new)
			goto slow;
	} else if (lg_leaf_maps(old)) {
		/* Another page's: shooting it down means waiting. */
		goto slow;
	} else {
		/* Held (see above): the guest's pin counts this leaf too. */
		lg_pin_get(lg, gfn, page);
	}
	lg_leaf_gfns(leaf)[leaf_index(pte)] = gfn;
	lg_set_entry(leaf, leaf_index(pte), new);
	spin_unlock(&lg->mmu_lock);
	s->valid = false;
	cpu->pf_stuck = 0;
	cpu->stats.shadow_fills++;
	cpu->stats.fastpath_fills++;
	return LG_PF_FIXED;

slow:
	spin_unlock(&lg->mmu_lock);
	return LG_PF_SLOW;
}

/*
 * The guest just made @va present for user mode in (@pd, LG_MODE_USER):
 * fill its leaf now, as the fault that would follow would (KVM updates a
 * shadow entry on a write to the guest entry behind it, too), and save
 * that fault's world switch.  Only when the walk allows a user read, as
 * a CPU that loads the translation early would; it sets Accessed, which a
 * CPU may do for a translation it only prefetches.  Anything the walk
 * refuses, or that goes wrong, is left to the fault.
 */
void lguest_prefetch(struct lg_cpu *cpu, struct lg_pgdir *pd, u64 va)
{
	u64 error;

	if (!pd || !lguest_canonical(va) || lg_topup(cpu))
		return;
	fill(cpu, pd, LG_MODE_USER, va, LG_PF_USER, &error, false);
}

/*
 * The launcher's mapping of guest memory is about to change (munmap,
 * mprotect, madvise, a copy-on-write break...): drop every shadow entry,
 * kick the vCPUs out, and let faults find what is there afterwards.
 * Precise zapping would need a reverse map from guest pages to shadow
 * entries; this happens rarely enough that we keep it simple (M:018).
 */
static bool lg_mn_invalidate(struct mmu_interval_notifier *mni,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq)
{
	struct lguest *lg = container_of(mni, struct lguest, mni);
	struct lg_zap z __uninitialized;

	lg_zap_init(&z, lg, NULL);
	spin_lock(&lg->mmu_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (lg->pgdirs)
		lg_zap_everything(lg, &z);
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	return true;
}

static const struct mmu_interval_notifier_ops lg_mn_ops = {
	.invalidate = lg_mn_invalidate,
};

/* At LHREQ_INITIALIZE, in the launcher's context. */
int lguest_shadow_init(struct lguest *lg)
{
	int err;

	/*
	 * Shadow tables (not templates, roots or private tables) for a few
	 * full address spaces; past that we start afresh.
	 */
	lg->max_tables = 1024 + 4 * (lg->mem_size >> 21);
	err = mmu_interval_notifier_insert(&lg->mni, current->mm, lg->mem_base,
					   lg->mem_size, &lg_mn_ops);
	if (err)
		return err;
	lg->mni_live = true;
	mmgrab(current->mm);
	lg->mm = current->mm;
	return 0;
}

void lguest_shadow_free(struct lguest *lg)
{
	if (lg->mni_live)
		mmu_interval_notifier_remove(&lg->mni);
	lg->mni_live = false;
	if (lg->mm)
		mmdrop(lg->mm);
	lg->mm = NULL;
}
