// SPDX-License-Identifier: GPL-2.0
/*
 * Address spaces.
 *
 * A guest switches address spaces with LHCALL_NEW_PGTABLE, naming the
 * guest-physical address of its PML4 the way a real kernel writes CR3.  We
 * keep the shadows of the last few address spaces it used, as lguest did
 * (it kept four; we keep LG_NR_PGDIRS, or more for guests with many vCPUs,
 * and evict the least recently used one that no vCPU is running in), so
 * switching back to one costs a CR3 load and not a rebuild: like a TLB
 * tagged with PCIDs, the shadow of an address space survives while the
 * guest runs elsewhere, and the guest invalidates it by the same rules
 * (shadow.c).
 *
 * Each address space has two shadows, one per virtual privilege level:
 * the guest kernel and guest user both run at CPL3, so the User bit of the
 * guest's entries cannot protect the kernel from its users.  The user-mode
 * shadow simply never maps a page the guest marked supervisor-only.
 *
 * Each shadow hangs off a template: the PML4-level entries the guest's
 * mappings need, lower half in one page and upper half in another.  A vCPU
 * never loads a template.  It loads a root of its own per address space and
 * mode (a "vroot"): a copy of its private entries (private.c) plus the
 * template's, kept in step by lg_set_template().  That way vCPUs sharing an
 * address space share every shadow table below the top level, while each
 * sees its own CPU's area in the hole.  On a 5-level host the root is a PML5
 * whose slot 0 points straight at the lower template and whose last slot
 * points at the vCPU's copy, which holds the upper half.
 *
 * Locking: the pgdir array, templates and vroots change under lg->mmu_lock;
 * vroots are only ever added while the guest lives, so the run loop may
 * read a vCPU's root without the lock.
 */
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include "pgtable.h"

#define LG_NR_PGDIRS	16
static unsigned int nr_pgdirs = LG_NR_PGDIRS;
module_param(nr_pgdirs, uint, 0444);
MODULE_PARM_DESC(nr_pgdirs, "address spaces a guest's shadow cache holds (4..256, default 16; at least 2 x vCPUs + 4)");

static struct lg_vroot *vroot(struct lg_pgdir *pd, struct lg_cpu *cpu,
			      unsigned int mode)
{
	return &pd->vroots[cpu->id * LG_NR_MODES + mode];
}

int lguest_pgdirs_init(struct lguest *lg)
{
	unsigned int i, n = clamp(nr_pgdirs, 4U, 256U);

	/* Each vCPU may hold two (its space and its other mode's). */
	n = max(n, 2 * lg->nr_cpus + 4);
	lg->pgdirs = kcalloc(n, sizeof(*lg->pgdirs), GFP_KERNEL_ACCOUNT);
	if (!lg->pgdirs)
		return -ENOMEM;
	lg->nr_pgdirs = n;
	for (i = 0; i < n; i++) {
		lg->pgdirs[i].vroots = kcalloc(lg->nr_cpus * LG_NR_MODES,
					       sizeof(struct lg_vroot),
					       GFP_KERNEL_ACCOUNT);
		if (!lg->pgdirs[i].vroots)
			return -ENOMEM;
	}
	return 0;
}

/* At the guest's end, nothing runs: every shadow, template and root goes. */
void lguest_pgdirs_free(struct lguest *lg)
{
	struct lg_zap z __uninitialized;
	unsigned int i, m, c;

	if (!lg->pgdirs)
		return;
	lg_zap_init(&z, lg, NULL);
	for (i = 0; i < lg->nr_pgdirs; i++) {
		struct lg_pgdir *pd = &lg->pgdirs[i];

		if (pd->lo[0])
			lg_shadow_zap_all(pd, lg, &z);
		for (m = 0; pd->lo[0] && m < LG_NR_MODES; m++) {
			lg_zap_subtree(&z, pd->lo[m], 0);
			lg_zap_subtree(&z, pd->hi[m], 0);
		}
		for (c = 0; pd->vroots && c < lg->nr_cpus * LG_NR_MODES; c++) {
			if (pd->vroots[c].top)
				lg_zap_subtree(&z, pd->vroots[c].top, 0);
			if (pd->vroots[c].pml5)
				lg_zap_subtree(&z, pd->vroots[c].pml5, 0);
		}
		kfree(pd->vroots);
	}
	lg_zap_finish(&z);
	kfree(lg->pgdirs);
	lg->pgdirs = NULL;
}

/*
 * A template entry changed (a shadow PDPT appeared or went): every vroot of
 * this address space gets the same entry, except that on a 5-level host
 * the lower template is itself every root's P4D.  Under mmu_lock.
 */
void lg_set_template(struct lguest *lg, struct lg_pgdir *pd,
		     unsigned int mode, unsigned int slot, u64 val)
{
	unsigned int c;

	lg_set_entry(lg_upper_slot(slot) ? pd->hi[mode] : pd->lo[mode], slot, val);
	if (lg_upper_slot(slot) && val)
		WRITE_ONCE(pd->upper, true);
	if (!lg_upper_slot(slot) && pgtable_l5_enabled())
		return;
	for (c = 0; c < lg->nr_cpus; c++) {
		u64 *top = pd->vroots[c * LG_NR_MODES + mode].top;

		if (top)
			WRITE_ONCE(top[slot], val);
	}
}

/*
 * A host-owned top-level entry of @cpu's in @mode (the hole's slots): in
 * the table every new root copies, and in every root it already has,
 * cached ones included (an evicted address space keeps its roots).
 */
void lguest_set_private_slot(struct lg_cpu *cpu, unsigned int mode,
			     unsigned int slot, u64 val)
{
	struct lguest *lg = cpu->lg;
	unsigned int i;

	spin_lock(&lg->mmu_lock);
	WRITE_ONCE(cpu->private_top[mode][slot], val);
	for (i = 0; i < lg->nr_pgdirs; i++) {
		struct lg_vroot *vr = &lg->pgdirs[i].vroots[cpu->id * LG_NR_MODES + mode];

		if (vr->top)
			WRITE_ONCE(vr->top[slot], val);
	}
	spin_unlock(&lg->mmu_lock);
}

/* Build this vCPU's root for (@pd, @mode) if it has none.  Under mmu_lock. */
static int build_vroot(struct lg_cpu *cpu, struct lg_pgdir *pd,
		       unsigned int mode)
{
	struct lg_vroot *vr = vroot(pd, cpu, mode);
	bool l5 = pgtable_l5_enabled();
	unsigned int i;
	u64 *top, *pml5 = NULL;

	if (vr->top)
		return 0;
	top = lg_cache_page(cpu);
	if (l5 && top)
		pml5 = lg_cache_page(cpu);
	if (!top || (l5 && !pml5)) {
		if (top)
			lg_free_table(cpu->lg, top);
		return -ENOMEM;
	}
	memcpy(top, cpu->private_top[mode], PAGE_SIZE);
	for (i = l5 ? 256 : 0; i < 512; i++) {
		u64 e = (i < 256 ? pd->lo[mode] : pd->hi[mode])[i];

		if (e)
			top[i] = e;
	}
	if (l5) {
		pml5[0] = __pa(pd->lo[mode]) | LG_USER_TABLE;
		pml5[511] = __pa(top) | LG_USER_TABLE;
	}
	vr->pml5 = pml5;
	/* The run loop reads vr->top without the lock: publish it last. */
	smp_store_release(&vr->top, top);
	return 0;
}

/*
 * The address space for @gcr3: cached, or a free slot, or the least
 * recently used one nobody runs in, emptied.  Under mmu_lock.
 */
static struct lg_pgdir *get_pgdir(struct lg_cpu *cpu, u64 gcr3,
				  struct lg_zap *z, bool *hit)
{
	struct lguest *lg = cpu->lg;
	struct lg_pgdir *pd, *victim = NULL;
	unsigned int i, m;

	*hit = false;
	for (i = 0; i < lg->nr_pgdirs; i++) {
		pd = &lg->pgdirs[i];
		if (pd->valid && pd->gcr3 == gcr3) {
			*hit = true;
			return pd;
		}
	}
	for (i = 0; i < lg->nr_pgdirs; i++) {
		pd = &lg->pgdirs[i];
		if (pd->users)
			continue;
		if (!pd->valid) {
			victim = pd;
			break;
		}
		if (!victim || pd->last_used < victim->last_used)
			victim = pd;
	}
	if (!victim)
		return NULL;

	if (victim->valid) {
		/* Evicted: its templates and vroots stay, emptied, for reuse. */
		lg_shadow_zap_all(victim, lg, z);
	} else if (!victim->lo[0]) {
		/* First use of the slot: its templates (lg_topup() made room). */
		if (cpu->nr_cached < 2 * LG_NR_MODES)
			return NULL;
		for (m = 0; m < LG_NR_MODES; m++) {
			victim->lo[m] = lg_cache_page(cpu);
			victim->hi[m] = lg_cache_page(cpu);
		}
	}
	victim->gcr3 = gcr3;
	victim->valid = true;
	return victim;
}

/* Make *@held, one of the vCPU's spaces, @pd (or none).  Under mmu_lock. */
static void hold(struct lg_pgdir **held, struct lg_pgdir *pd)
{
	if (*held == pd)
		return;
	if (*held)
		(*held)->users--;
	if (pd)
		pd->users++;
	*held = pd;
}

/*
 * Make the space of @gcr3, found or made (the least recently used one no
 * vCPU holds emptied for it), with @cpu's root for @mode in it, the one
 * *@held names: @cpu's current space or its other one.  @cpu's page cache
 * is topped up first; @zapper is the vCPU whose thread this is (@cpu, or
 * a vCPU starting the stopped @cpu), which the eviction's zap is
 * accounted to.
 */
static int take_pgdir(struct lg_cpu *cpu, struct lg_cpu *zapper, u64 gcr3,
		      unsigned int mode, struct lg_pgdir **held, bool *hit)
{
	struct lguest *lg = cpu->lg;
	struct lg_pgdir *pd;
	struct lg_zap z __uninitialized;
	int err = lg_topup(cpu);

	if (err)
		return err;
	lg_zap_init(&z, lg, zapper);
	spin_lock(&lg->mmu_lock);
	pd = get_pgdir(cpu, gcr3, &z, hit);
	err = pd ? build_vroot(cpu, pd, mode) : -ENOMEM;
	if (!err) {
		hold(held, pd);
		pd->last_used = ++lg->pgdir_clock;
	}
	spin_unlock(&lg->mmu_lock);
	lg_zap_finish(&z);
	return err;
}

/* A new vCPU starts with paging off: guest-virtual = guest-physical. */
int lguest_vcpu_pgdir_init(struct lg_cpu *cpu)
{
	bool hit;
	int err;

	err = take_pgdir(cpu, cpu, LG_NO_PAGING, LG_MODE_KERNEL, &cpu->pgdir, &hit);
	cpu->changed |= CHANGED_ROOT;
	return err;
}

void lguest_vcpu_pgdir_free(struct lg_cpu *cpu)
{
	if (cpu->pgdir)
		cpu->pgdir->users--;
	if (cpu->other_pgdir)
		cpu->other_pgdir->users--;
	cpu->pgdir = NULL;
	cpu->other_pgdir = NULL;
	lg_drain_cache(cpu);
}

/* LHCALL_NEW_PGTABLE: @gcr3 is the guest-physical address of a PML4. */
long lguest_new_pgtable(struct lg_cpu *cpu, u64 gcr3)
{
	bool hit;

	if (!PAGE_ALIGNED(gcr3) || !lguest_guest_range_ok(cpu->lg, gcr3, PAGE_SIZE))
		return LGUEST_HCALL_EINVAL;
	if (take_pgdir(cpu, cpu, gcr3, LG_MODE_KERNEL, &cpu->pgdir, &hit)) {
		kill_guest(cpu, "out of memory for shadow page tables");
		return LGUEST_HCALL_EINVAL;
	}
	cpu->changed |= CHANGED_ROOT;
	cpu->stats.pgtable_switches++;
	if (hit)
		cpu->stats.pgdir_hits++;
	return LGUEST_HCALL_OK;
}

/*
 * LHCALL_START_VCPU: the new vCPU @to starts in @from's address space.
 * @to is stopped, so its page cache is ours to fill.
 */
int lguest_share_pgdir(struct lg_cpu *from, struct lg_cpu *to)
{
	bool hit;
	int err;

	err = take_pgdir(to, from, from->pgdir->gcr3, LG_MODE_KERNEL, &to->pgdir, &hit);
	to->changed |= CHANGED_ROOT;
	return err;
}

/* Before entering user mode: the vCPU's user-mode root must exist. */
int lguest_need_user_root(struct lg_cpu *cpu)
{
	struct lguest *lg = cpu->lg;
	int err;

	if (vroot(cpu->pgdir, cpu, LG_MODE_USER)->top)
		return 0;
	err = lg_topup(cpu);
	if (err)
		return err;
	spin_lock(&lg->mmu_lock);
	err = build_vroot(cpu, cpu->pgdir, LG_MODE_USER);
	spin_unlock(&lg->mmu_lock);
	cpu->changed |= CHANGED_ROOT;
	return err;
}

/*
 * Keep @pd, the space the vCPU's other mode runs on, from eviction while
 * it is the vCPU's other_pgdir (a Xen PV guest's kernel and user L4s are
 * two spaces, and the switcher changes between them by itself): a space
 * some vCPU holds is never emptied for another CR3 (get_pgdir()), so its
 * roots stay those of the same guest L4.  @pd NULL lets go.
 */
void lguest_keep_pgdir(struct lg_cpu *cpu, struct lg_pgdir *pd)
{
	struct lguest *lg = cpu->lg;

	if (cpu->other_pgdir == pd)
		return;
	spin_lock(&lg->mmu_lock);
	hold(&cpu->other_pgdir, pd);
	spin_unlock(&lg->mmu_lock);
}

/*
 * Hold the address space of @gcr3 as the vCPU's other one, with the
 * vCPU's root for @mode in it: a Xen PV kernel names its user L4
 * (MMUEXT_NEW_USER_BASEPTR) as it switches processes, and the switcher can
 * only go to a user space the vCPU holds.  Left to the iret, the first
 * return to user mode after every context switch went through C to find
 * the space.  The space may be a miss, filled later by faults as any.
 */
int lguest_hold_other_pgdir(struct lg_cpu *cpu, u64 gcr3, unsigned int mode)
{
	bool hit;

	return take_pgdir(cpu, cpu, gcr3, mode, &cpu->other_pgdir, &hit);
}

/*
 * The switcher changed modes, and so spaces: the one it ran on is now the
 * other.  Both are held, so no count changes.
 */
void lguest_swap_pgdirs(struct lg_cpu *cpu)
{
	swap(cpu->pgdir, cpu->other_pgdir);
}

/* What CR3 gets for @mode of @pd, or 0 if the vCPU has no such root yet. */
u64 lguest_pgdir_cr3(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode)
{
	struct lg_vroot *vr = vroot(pd, cpu, mode);
	/* Pairs with build_vroot()'s release: a root is whole once seen. */
	u64 *top = smp_load_acquire(&vr->top);

	if (!top)
		return 0;
	return __pa(pgtable_l5_enabled() ? vr->pml5 : top);
}

/* What CR3 gets for @mode, or 0 if the vCPU has no such root yet. */
u64 lguest_root_cr3(struct lg_cpu *cpu, unsigned int mode)
{
	return lguest_pgdir_cr3(cpu, cpu->pgdir, mode);
}
