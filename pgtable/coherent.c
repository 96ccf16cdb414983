// SPDX-License-Identifier: GPL-2.0
/*
 * A shadow that survives the guest's CR3 writes.
 *
 * shadow.c's shadow is a TLB: the guest invalidates what it changed, and a
 * switch of address space that a CPU without PCID or global pages would
 * flush must drop the whole shadow of the space switched to.  A Xen PV
 * kernel is such a guest, and Linux relies on that flush, for kernel
 * mappings too (docs/NOTES.md): so every context switch refilled the
 * shadow, kernel half included, and a pipe between two processes on one
 * vCPU cost 53 times what it costs under Xen (M:043).
 *
 * But a Xen PV guest shows its hypervisor every change to the tables it
 * runs on: once pinned, a table is read-only to it, and it changes one by
 * hypercall (mmu_update, update_va_mapping) or by a plain write that
 * faults (Xen's "writable page tables").  A shadow told of every change
 * can stay coherent with the guest's tables, as Xen's real tables are,
 * and then a CR3 write needs to flush nothing.  KVM's shadow MMU does the
 * same for any guest, by write-protecting every table it shadows; we lean
 * on the protection the Xen ABI makes the guest keep.  Three pieces:
 *
 *  - Binding.  Every guest table a walk goes through is bound to where it
 *    was met: its level, and the offset of the first address it maps
 *    (lg->ptinfo, two such bindings per guest page).  Linux has one place
 *    for most tables (the kernel half's are shared by every PML4, at the
 *    same address) and two for the L1s that map its own image (the
 *    direct map and the kernel's mapping share them), so the bindings
 *    name exactly which shadow leaves an entry of the table can have
 *    produced.  A table met in a third place takes the second binding's
 *    place, and what that one produced is dropped first; a PML4 is bound
 *    to offset 0, and what it produced is in the spaces it keys.  A table
 *    also keeps the PML4s it was met under (its roots, two at most, else
 *    "any"): a process's own tables are met under its two L4s (Xen PV's
 *    kernel and user ones), so what they produced is looked for in those
 *    spaces only, not in every space cached.
 *
 *  - Written entries.  A hypercall that writes an entry of a bound table
 *    drops, at once and in every space of its roots, the leaves that entry
 *    produced (lguest_tables_written()).  That is more than a TLB
 *    promises, never less.
 *
 *  - Unsync tables.  Linux writes its L1 tables in place too: the
 *    personality lets a kernel write through to one although the guest
 *    maps it read-only (shadow.c's table_write()), and that write is the
 *    one change we do not see happen.  Such a leaf is recorded here, with
 *    the table it lets the guest write (KVM calls the table "unsync").  A
 *    flush, or a CR3 write, resyncs: the writable leaves go first, and
 *    every vCPU leaves the guest once, so that no later write can go
 *    unseen; then each written table is read, and of the leaves it
 *    produced those that allow more than it now says are made read-only
 *    or go, the rest stay (a fork write-protects its parent's every
 *    private page: dropping them all made the parent fault each one back
 *    in).  Until then a leaf may be stale, as a TLB entry may be until
 *    the flush.  The
 *    list is the guest's, not a vCPU's: a resync takes every vCPU's
 *    writes with it, and so a flush that finds the list empty while a
 *    resync on another vCPU is between taking it and dropping what the
 *    tables produced must wait for that one to finish (M:056: it did
 *    not, and fork's parent wrote on through its stale writable leaves
 *    into the frames its children now shared).
 *
 * What the guest does outside that protocol (writing a table it pinned
 * through a mapping of its own that it left writable) only leaves its own
 * shadow stale: every leaf still maps the guest's own memory, pinned by
 * us, and the host is safe whatever the guest does.
 *
 * Ordering.  A walk binds a table before it reads the entry; a writer
 * writes the entry before it reads the binding; a full barrier on each
 * side (lg_bind_table(), lguest_tables_written()) means that either the
 * walk reads the new entry or the writer sees the binding, and drops what
 * the walk made (a fill that had not finished sees invalidate_seq move
 * and walks again).
 */
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include "pgtable.h"

/* A binding: the level (1-4; 0, not bound) and the offset of entry 0. */
#define LG_PT_LEVEL	0x7ULL
#define LG_PT_VA	0x0000fffffffff000ULL

/* Writable leaves of unsync tables, at most; past it a resync drops all. */
#define LG_MAX_UNSYNC	128

/*
 * What a guest page is as a table: its two bindings, and the PML4s it was
 * met under (its "roots"), so that what one of its entries produced is
 * looked for only in the spaces those PML4s key.  A root is the PML4's
 * frame number plus one (0: none) with that PML4's @gen when it was
 * recorded; @gen counts the times the page stopped being a table, and a
 * root whose PML4 has moved on is dead: the spaces it keyed were dropped
 * then, and its place may be taken.  A table met under a third live root
 * is met under LG_ROOTS_ANY, and looked for everywhere, as Linux's kernel
 * half is (every PML4 shares it).
 */
#define LG_ROOTS_ANY	U32_MAX

struct lg_ptinfo {
	u64 b[2];
	u32 root[2];
	u16 root_gen[2];
	u16 gen;
};

struct lg_unsync {
	u64 gfn;
	u64 va;		/* the leaf that lets the guest write it */
};

/* How much one entry of a table at @level maps. */
static u64 entry_span(unsigned int level)
{
	return 1ULL << (PAGE_SHIFT + 9 * (level - 1));
}

/*
 * Whether the table @p (at @gpa, bound at @level) can have produced leaves
 * in @pd: a PML4 only in the spaces it keys, any other table only in the
 * spaces of its roots.  A fork's copy-on-write faults each write one entry
 * of one of the process's L1s, and looking in every cached space for what
 * it made was a fifth of a Linux guest's fork.
 */
static bool made_in(const struct lg_ptinfo *p, u64 gpa, unsigned int level,
		    const struct lg_pgdir *pd)
{
	u32 r = (pd->gcr3 >> PAGE_SHIFT) + 1;

	if (!pd->valid)
		return false;
	if (level == 4)
		return pd->gcr3 == gpa;
	return p->root[0] == LG_ROOTS_ANY || p->root[0] == r || p->root[1] == r;
}

/*
 * Drop the leaves produced through the table at @gpa, bound as @b: those
 * of entries @i to @last, or of every entry if @i is negative.  Under
 * mmu_lock.
 */
static void drop_bound(struct lg_zap *z, struct lguest *lg, u64 gpa, u64 b,
		       int i, int last)
{
	const struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	unsigned int level = b & LG_PT_LEVEL, n;
	u64 start = b & LG_PT_VA, len = entry_span(level) * 512;

	if (!level)
		return;
	if (i >= 0) {
		start += i * entry_span(level);
		len = (last - i + 1) * entry_span(level);
	}
	lg->invalidate_seq++;
	/* A kernel-half table, met in every space: its slot's shared PDPT. */
	if (level < 4 && p->root[0] == LG_ROOTS_ANY &&
	    lg_zap_upper_range(z, start, start + len))
		return;
	for (n = 0; n < lg->nr_pgdirs; n++) {
		struct lg_pgdir *pd = &lg->pgdirs[n];

		if (made_in(p, gpa, level, pd))
			lg_zap_range_pgdir(z, pd, start, start + len);
	}
}

/* Both bindings of the table at @gpa: entries @i to @last's leaves. */
static void drop_table(struct lg_zap *z, struct lguest *lg, u64 gpa, int i, int last)
{
	struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];

	drop_bound(z, lg, gpa, p->b[0], i, last);
	if (p->b[1] != p->b[0])
		drop_bound(z, lg, gpa, p->b[1], i, last);
}

/*
 * Read the groups of eight entries that @want marks (lg_used()'s summary)
 * of the table at @gpa into @g, at their own indices, a run of groups at
 * a time; returns the groups read.  Under mmu_lock, so without sleeping:
 * a page the launcher does not have in memory just now fails, and the
 * caller drops what it cannot check.  A process's L1 has leaves in a few
 * groups: reading those, not the whole page, was two fifths of a resync
 * (a fork's parent resyncs five tables, and a page's copy counts 4,096
 * instructions under TCG).
 */
static unsigned long read_groups(struct lguest *lg, u64 gpa, u64 *g,
				 unsigned long want)
{
	unsigned long have = 0;
	unsigned int first, end;

	for_each_set_bitrange(first, end, &want, BITS_PER_LONG)
		if (!copy_from_user_nofault(g + first * 8,
					    lguest_gpa_to_user(lg, gpa + first * 64),
					    (end - first) * 64))
			have |= GENMASK(end - 1, first);
	return have;
}

/*
 * Bring the leaves that the L1 at @gpa, bound at @b, may have produced in
 * line with its entries, read into @g as the leaves need them (@have: the
 * groups read so far) now that the guest can no longer write it in place:
 * a leaf that still agrees with its entry stays, one that allows more
 * than the entry now does is made read-only or goes (KVM's sync_page()),
 * as does one whose entry could not be read.  Only ever less than the
 * leaf allowed: the range's leaves in another space, made through another
 * L1, are at worst dropped for nothing.  An entry that lost Accessed, or
 * Dirty under a writable leaf, must fault again to have it set, as on the
 * CPU.  Under mmu_lock.
 */
static void sync_bound(struct lg_zap *z, struct lguest *lg, u64 gpa, u64 b,
		       u64 *g, unsigned long *have)
{
	const struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	u64 *seen[LG_NR_MODES] = { };
	unsigned long used;
	unsigned int n, m, i;

	for (n = 0; n < lg->nr_pgdirs; n++) {
		struct lg_pgdir *pd = &lg->pgdirs[n];

		for (m = 0; made_in(p, gpa, 1, pd) && m < LG_NR_MODES; m++) {
			u64 *leaf = lg_shadow_leaf_table(pd, m, b & LG_PT_VA);
			u32 *gfns;

			/* A kernel-half table: the shared one, once (shadow.c). */
			if (!leaf || leaf == seen[m])
				continue;
			if (lg_upper_half(b))
				seen[m] = leaf;
			gfns = lg_leaf_gfns(leaf);
			used = *lg_used(leaf);
			*have |= read_groups(lg, gpa, g, used & ~*have);
			for (i = lg_next_used(used, 0); i < 512; i = lg_next_used(used, i + 1)) {
				u64 s = leaf[i], e;

				if (!(s & _PAGE_PRESENT))
					continue;
				if (!(*have & BIT(i / 8))) {
					lg_leaf_clear(z, leaf, i);
					continue;
				}
				e = g[i];
				/* An absent leaf stays while its entry is absent. */
				if (s & LG_PTE_ABSENT) {
					if (e & _PAGE_PRESENT)
						lg_leaf_clear(z, leaf, i);
					continue;
				}
				if ((e & (_PAGE_PRESENT | _PAGE_ACCESSED)) !=
				    (_PAGE_PRESENT | _PAGE_ACCESSED) ||
				    (e & LG_PTE_ADDR) >> PAGE_SHIFT != gfns[i] ||
				    ((e & ~s) & _PAGE_NX) || ((s ^ e) & LG_PTE_PKEY) ||
				    (m == LG_MODE_USER && !(e & _PAGE_USER))) {
					lg_leaf_clear(z, leaf, i);
				} else if ((s & _PAGE_RW) &&
					   (~e & (_PAGE_RW | _PAGE_DIRTY))) {
					WRITE_ONCE(leaf[i], s & ~(u64)_PAGE_RW);
					z->flush = true;
				}
			}
		}
	}
}

/*
 * A table written in place, now that it cannot be: of what it produced as
 * an L1, what no longer agrees with its entries goes; as any other table,
 * all of it.  Under mmu_lock, and resync_lock, which owns resync_buf.
 */
static void sync_table(struct lg_zap *z, struct lguest *lg, u64 gpa)
{
	struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	unsigned long have = 0;
	unsigned int i;

	lg->invalidate_seq++;
	for (i = 0; i < 2; i++) {
		u64 b = p->b[i];

		if (i == 1 && b == p->b[0])
			break;
		if ((b & LG_PT_LEVEL) == 1)
			sync_bound(z, lg, gpa, b, lg->resync_buf, &have);
		else
			drop_bound(z, lg, gpa, b, -1, 0);
	}
}

/* Whether @p was met under the PML4 numbered @r (plus one) as it is now. */
static bool has_root(const struct lguest *lg, const struct lg_ptinfo *p, u32 r)
{
	u16 gen;

	if (READ_ONCE(p->root[0]) == LG_ROOTS_ANY)
		return true;
	if (r == LG_ROOTS_ANY)
		return false;
	gen = READ_ONCE(lg->ptinfo[r - 1].gen);
	return (READ_ONCE(p->root[0]) == r && READ_ONCE(p->root_gen[0]) == gen) ||
	       (READ_ONCE(p->root[1]) == r && READ_ONCE(p->root_gen[1]) == gen);
}

/* Record @r as a root of @p: in a free or dead place, or as "any".  Locked. */
static void add_root(struct lguest *lg, struct lg_ptinfo *p, u32 r)
{
	unsigned int i;

	for (i = 0; i < 2 && r != LG_ROOTS_ANY && p->root[0] != LG_ROOTS_ANY; i++) {
		if (p->root[i] && p->root[i] != r &&
		    p->root_gen[i] == lg->ptinfo[p->root[i] - 1].gen)
			continue;
		WRITE_ONCE(p->root_gen[i], lg->ptinfo[r - 1].gen);
		WRITE_ONCE(p->root[i], r);
		return;
	}
	WRITE_ONCE(p->root[0], LG_ROOTS_ANY);
}

/* lg_bind_table()'s slow path: record @want and @r for @p, under the lock. */
static noinline void bind_table_locked(struct lguest *lg, struct lg_ptinfo *p,
				       u64 gpa, u64 want, u32 r)
{
	struct lg_zap z __uninitialized;

	lg_zap_init(&z, lg, NULL);
	spin_lock(&lg->mmu_lock);
	if (!p->b[0]) {
		WRITE_ONCE(p->b[0], want);
	} else if (p->b[0] != want && p->b[1] != want) {
		/* A third place (or the first's second): the second goes. */
		drop_bound(&z, lg, gpa, p->b[1], -1, 0);
		WRITE_ONCE(p->b[1], want);
	}
	if (r && !has_root(lg, p, r))
		add_root(lg, p, r);
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	/* The binding before the walk reads the entry (the writer's order). */
	smp_mb();
}

/*
 * walk.c, before it reads the entry of the table at @gpa that maps @va,
 * at @level, in a walk from the PML4 at @root.  Outside mmu_lock: it may
 * drop what an old binding made.  Four times a walk, nearly always for a
 * table bound already: that case takes no lock and needs no barrier (the
 * binding was published, with its barrier, when it was made).  A walk
 * between two world switches (@nowait) only asks whether it is: binding
 * takes the lock, and dropping may kick other vCPUs and wait for them,
 * neither of which it may do with interrupts off.  Returns whether the
 * table is bound.
 */
bool lg_bind_table(struct lguest *lg, u64 gpa, unsigned int level, u64 va,
		   u64 root, bool nowait)
{
	struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	u64 want;
	u32 r;

	/*
	 * A PML4 is its own root; one outside memory cannot be walked.  A
	 * table in the upper half may produce leaves in a shared PDPT
	 * (shadow.c), which spaces that never walked it link: its root is
	 * any.
	 */
	if (level == 4 || root >= lg->mem_size)
		r = 0;
	else if (lg->kshare && lg_upper_half(va))
		r = LG_ROOTS_ANY;
	else
		r = (root >> PAGE_SHIFT) + 1;

	want = (va & LG_PT_VA & ~(entry_span(level) * 512 - 1)) | level;
	if ((READ_ONCE(p->b[0]) == want || READ_ONCE(p->b[1]) == want) &&
	    (!r || has_root(lg, p, r)))
		return true;
	if (nowait)
		return false;
	bind_table_locked(lg, p, gpa, want, r);
	return true;
}

/*
 * The L1 at @gpa may be written in place from now on: the absent leaves
 * it produced (absent.c, user mode only) would not hear of it until the
 * resync, so they go, in every space they can be in.  Under mmu_lock.
 */
static void clear_absent(struct lguest *lg, u64 gpa)
{
	const struct lg_ptinfo *p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	unsigned int i, n;

	for (i = 0; i < 2; i++) {
		u64 b = p->b[i];

		if ((i == 1 && b == p->b[0]) || (b & LG_PT_LEVEL) != 1 || lg_upper_half(b))
			continue;
		for (n = 0; n < lg->nr_pgdirs; n++) {
			struct lg_pgdir *pd = &lg->pgdirs[n];
			u64 *leaf;

			if (!made_in(p, gpa, 1, pd))
				continue;
			leaf = lg_shadow_leaf_table(pd, LG_MODE_USER, b & LG_PT_VA);
			if (leaf)
				lg_absent_clear(leaf);
		}
	}
}

/* shadow.c, under mmu_lock: a kernel write goes through to the table @gpa. */
void lg_unsync_add(struct lguest *lg, u64 gpa, u64 va)
{
	if (!lg->unsync)
		return;
	if (lg_absent_leaf)
		clear_absent(lg, gpa);
	if (lg->nr_unsync < LG_MAX_UNSYNC) {
		lg->unsync[lg->nr_unsync].gfn = gpa >> PAGE_SHIFT;
		lg->unsync[lg->nr_unsync].va = va;
	}
	/* Past the end it only counts: the resync drops everything. */
	if (lg->nr_unsync <= LG_MAX_UNSYNC)
		WRITE_ONCE(lg->nr_unsync, lg->nr_unsync + 1);
}

/*
 * Whether the guest may be writing the table at @gpa in place, unseen:
 * listed since the last resync, or past the list's end.  Under mmu_lock.
 */
bool lg_unsync_has(struct lguest *lg, u64 gpa)
{
	unsigned int i;

	if (!lg->unsync || lg->nr_unsync > LG_MAX_UNSYNC)
		return true;
	for (i = 0; i < lg->nr_unsync; i++)
		if (lg->unsync[i].gfn == gpa >> PAGE_SHIFT)
			return true;
	return false;
}

/*
 * The personality wrote the entries at @gpas[0..n) of tables (a batch of
 * mmu_update, an update_va_mapping): what those entries produced goes, in
 * every space, with one shootdown for the batch.  A run of entries of one
 * table (a fork write-protecting its parent's PTEs one batch at a time)
 * goes as one range, from its lowest entry to its highest: one walk of
 * every cached space instead of one per entry, which was a sixth of a
 * Linux guest's fork.  Entries between them that were not written may
 * lose their leaves too, which costs a fill, never a stale leaf.
 */
void lguest_tables_written(struct lg_cpu *cpu, const u64 *gpas, unsigned int n)
{
	struct lguest *lg = cpu->lg;
	unsigned int i, k;
	struct lg_zap z __uninitialized;

	if (!lg->ptinfo || !n)
		return;
	/* The entries before their tables' bindings (lg_bind_table()'s order). */
	smp_mb();
	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	for (i = 0; i < n; i = k) {
		u64 table = gpas[i] & PAGE_MASK;
		int lo = (gpas[i] & ~PAGE_MASK) / 8, hi = lo;

		for (k = i + 1; k < n && (gpas[k] & PAGE_MASK) == table; k++) {
			int e = (gpas[k] & ~PAGE_MASK) / 8;

			lo = min(lo, e);
			hi = max(hi, e);
		}
		if (table < lg->mem_size && lg->ptinfo[table >> PAGE_SHIFT].b[0])
			drop_table(&z, lg, table, lo, hi);
	}
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
}

/*
 * The address the entry at @egpa maps, if its table is an L1 met in one
 * place only, in the lower half (a process's own).  Read without the lock:
 * the answer only says where a prefetch (a fill like any other, which
 * walks from the root) is worth trying.
 */
bool lguest_entry_va(struct lguest *lg, u64 egpa, u64 *va)
{
	struct lg_ptinfo *p;
	u64 b, b1;

	if (!lg->ptinfo || egpa >= lg->mem_size)
		return false;
	p = &lg->ptinfo[egpa >> PAGE_SHIFT];
	b = READ_ONCE(p->b[0]);
	b1 = READ_ONCE(p->b[1]);
	if ((b & LG_PT_LEVEL) != 1 || lg_upper_half(b) || (b1 && b1 != b))
		return false;
	*va = (b & LG_PT_VA) + ((egpa & ~PAGE_MASK) / 8) * PAGE_SIZE;
	return true;
}

/*
 * The page at @gpa is no longer a table (Xen's unpin): what it produced
 * goes, and it is bound afresh wherever it is met next.  For a PML4,
 * that is everything of the spaces it keys: its page may be any other
 * PML4 next.
 */
void lguest_table_gone(struct lg_cpu *cpu, u64 gpa)
{
	struct lguest *lg = cpu->lg;
	struct lg_ptinfo *p;
	struct lg_zap z __uninitialized;
	unsigned int i;

	if (!lg->ptinfo || gpa >= lg->mem_size)
		return;
	gpa &= PAGE_MASK;
	p = &lg->ptinfo[gpa >> PAGE_SHIFT];
	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	/*
	 * What it made as a PML4 is the whole of the spaces it keys, which
	 * go below at once; clearing those leaves one by one first (each a
	 * pin put, a kick every LG_ZAP_BATCH) was most of an exit's cost.
	 */
	for (i = 0; i < 2; i++)
		if ((p->b[i] & LG_PT_LEVEL) != 4 && (i == 0 || p->b[1] != p->b[0]))
			drop_bound(&z, lg, gpa, p->b[i], -1, 0);
	WRITE_ONCE(p->b[0], 0);
	WRITE_ONCE(p->b[1], 0);
	WRITE_ONCE(p->root[0], 0);
	WRITE_ONCE(p->root[1], 0);
	/* As a PML4, its spaces go below: every table's root on it dies. */
	WRITE_ONCE(p->gen, p->gen + 1);
	for (i = 0; i < lg->nr_pgdirs; i++)
		if (lg->pgdirs[i].valid && lg->pgdirs[i].gcr3 == gpa)
			lg_shadow_zap_all(&lg->pgdirs[i], lg, &z);
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
}

/* Whether the table of @u[@i] was listed before it (one sync is enough). */
static bool seen_before(const struct lg_unsync *u, unsigned int i)
{
	unsigned int k;

	for (k = 0; k < i; k++)
		if (u[k].gfn == u[i].gfn)
			return true;
	return false;
}

/*
 * A flush or a CR3 write of a guest whose shadow is kept coherent: what
 * the guest wrote in place since the last one becomes visible.
 */
void lguest_resync(struct lg_cpu *cpu)
{
	struct lguest *lg = cpu->lg;
	struct lg_unsync *u;
	unsigned int n, i;
	struct lg_zap z __uninitialized;

	if (!lg->ptinfo)
		return;
	/*
	 * Nothing written in place since the last resync took the list.  If
	 * that one has finished (resync_seq even), there is nothing to do;
	 * if it is still running it may hold this vCPU's writes, and the
	 * flush must not return before it does: we wait on its mutex.  The
	 * order pairs with the resync's: the list taken, then seq odd.
	 */
	if (!READ_ONCE(lg->nr_unsync)) {
		/* The list, then the seq: pairs with the smp_wmb()s below. */
		smp_rmb();
		if (!(READ_ONCE(lg->resync_seq) & 1))
			return;
	}
	mutex_lock(&lg->resync_lock);
	if (!READ_ONCE(lg->nr_unsync)) {
		/* The resync we waited for took our writes with it. */
		mutex_unlock(&lg->resync_lock);
		return;
	}
	u = lg->resyncing;
	/*
	 * First the writable leaves, and every vCPU out of the guest once:
	 * a write to these tables after that faults, and is recorded again.
	 */
	lg_zap_init(&z, lg, cpu);
	spin_lock(&lg->mmu_lock);
	n = lg->nr_unsync;
	WRITE_ONCE(lg->resync_seq, lg->resync_seq + 1);
	/* Running (odd) before the list shows empty: see above. */
	smp_wmb();
	WRITE_ONCE(lg->nr_unsync, 0);
	if (n > LG_MAX_UNSYNC) {
		lg_zap_everything(lg, &z);
	} else {
		memcpy(u, lg->unsync, n * sizeof(*u));
		lg->invalidate_seq++;
		/* A page at a time in every space: a shared PDPT's once. */
		for (i = 0; i < n; i++) {
			u64 va = u[i].va & LG_PT_VA;
			unsigned int k;

			for (k = 0; k < lg->nr_pgdirs; k++)
				if (lg->pgdirs[k].valid)
					lg_zap_range_pgdir(&z, &lg->pgdirs[k], va,
							   va + PAGE_SIZE);
		}
	}
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	/*
	 * Then what the tables produced, written as they may have been: each
	 * read (no vCPU can write it in place now without faulting and
	 * listing it again), and its leaves checked against what it says.
	 */
	if (n <= LG_MAX_UNSYNC) {
		lg_zap_init(&z, lg, cpu);
		for (i = 0; i < n; i++) {
			if (seen_before(u, i))
				continue;
			spin_lock(&lg->mmu_lock);
			sync_table(&z, lg, (u64)u[i].gfn << PAGE_SHIFT);
			spin_unlock(&lg->mmu_lock);
		}
		lg_zap_finish(&z);
	}
	/* Done: what it dropped is gone before a flush may skip the wait. */
	smp_wmb();
	WRITE_ONCE(lg->resync_seq, lg->resync_seq + 1);
	mutex_unlock(&lg->resync_lock);
	cpu->stats.invalidations++;
}

/* The personality's guests show us every change (at its init). */
int lguest_track_tables(struct lguest *lg)
{
	lg->ptinfo = kvcalloc(lg->mem_size >> PAGE_SHIFT, sizeof(*lg->ptinfo),
			      GFP_KERNEL_ACCOUNT);
	lg->unsync = kcalloc(LG_MAX_UNSYNC, sizeof(*lg->unsync), GFP_KERNEL_ACCOUNT);
	lg->resyncing = kcalloc(LG_MAX_UNSYNC, sizeof(*lg->unsync), GFP_KERNEL_ACCOUNT);
	lg->resync_buf = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	lg->kshare = kcalloc(LG_NR_MODES * LG_KSHARE_SLOTS, sizeof(*lg->kshare),
			     GFP_KERNEL_ACCOUNT);
	mutex_init(&lg->resync_lock);
	if (!lg->ptinfo || !lg->unsync || !lg->resyncing || !lg->resync_buf ||
	    !lg->kshare) {
		lguest_untrack_tables(lg);
		return -ENOMEM;
	}
	return 0;
}

void lguest_untrack_tables(struct lguest *lg)
{
	kvfree(lg->ptinfo);
	kfree(lg->unsync);
	kfree(lg->resyncing);
	kfree(lg->resync_buf);
	kfree(lg->kshare);
	lg->kshare = NULL;
	lg->resync_buf = NULL;
	lg->ptinfo = NULL;
	lg->unsync = NULL;
	lg->resyncing = NULL;
}
