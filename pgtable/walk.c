// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the guest's page tables the way the CPU would.
 *
 * The guest keeps ordinary 4-level x86-64 page tables in its own memory,
 * with guest-physical addresses in them, and tells us where the top one is
 * (LHCALL_NEW_PGTABLE).  The CPU never walks them: it walks our shadow
 * tables.  So whenever the shadow lacks a translation, we walk the guest's
 * tables here, exactly as the hardware would have: we honour Present, RW,
 * User and NX at every level, we set the Accessed bits on the way down and
 * the Dirty bit on a write, and when the walk fails we compute the page-fault
 * error code the hardware would have reported, so the guest cannot tell us
 * from a CPU.
 *
 * Every table address and every page address the guest gives us is
 * bounds-checked against its memory; one that points outside kills the
 * guest, since no CPU could make sense of it either.  The tables themselves
 * are read through the launcher's mapping (get_user()), so a launcher that
 * unmapped its memory under us makes us kill the guest, not fault the host.
 *
 * Before its first NEW_PGTABLE the guest runs with paging "off": the walk
 * is the identity over its memory.
 */
#include <linux/uaccess.h>
#include "pgtable.h"

/* Bits the hardware would call reserved, in an entry at @level. */
static bool reserved_bits(u64 e, unsigned int level)
{
	if (!(e & _PAGE_PSE) || level == 1)
		return false;
	if (level == 4)
		return true;
	/* A huge page's address must be aligned; bit 12 is its PAT bit. */
	return e & ((1ULL << (PAGE_SHIFT + 9 * (level - 1))) - 1) & ~0x1fffULL;
}

/*
 * Whether the guest's PKRU refuses a data access to a page whose leaf is
 * @leaf.  The guest kernel runs at CPL3, so the CPU checks PKRU for every
 * guest access, kernel or user (M:027); cpu->pkru is the guest's since
 * its last exit.
 */
static bool pkey_denies(struct lg_cpu *cpu, u64 leaf, bool write)
{
	unsigned int key = (leaf & LG_PTE_PKEY) >> LG_PTE_PKEY_SHIFT;
	u32 pkru = cpu->pkru >> (2 * key);

	if (!cpu_feature_enabled(X86_FEATURE_OSPKE))
		return false;
	return (pkru & 1) || (write && (pkru & 2));
}

/*
 * A walk that cannot go on: the run loop's kills the guest with @fmt's
 * reason, a walk between two world switches (LG_WALK_NOWAIT) gives up to
 * the loop's, which decides.
 */
#define walk_fail(cpu, nowait, fmt, ...)				\
	((nowait) ? LG_WALK_SLOW :					\
	 (kill_guest(cpu, fmt, ##__VA_ARGS__), LG_WALK_KILLED))

/*
 * @access: the #PF error bits of the access (Write, User, Instruction
 * fetch), LG_PF_PK if the guest's protection keys apply to it, as to
 * every data access the guest itself makes (not to a frame the host
 * pushes for it), and LG_WALK_BIND for a fill.
 */
enum lg_walk_result lg_walk(struct lg_cpu *cpu, struct lg_pgdir *pd,
			    u64 va, u32 access, struct lg_walk *w)
{
	struct lguest *lg = cpu->lg;
	u64 __user *ptr[4];
	u64 ent[4], table, gpa, size;
	unsigned int level, n, i, tries = 0;
	bool rw, us, nx, keys = access & LG_PF_PK;
	bool bind = (access & LG_WALK_BIND) && lg->ptinfo;
	bool nowait = access & LG_WALK_NOWAIT;

	access &= ~(LG_PF_PK | LG_WALK_BIND | LG_WALK_NOWAIT);
	w->absent_pte = false;
	/* A 4-level CPU takes #GP, not #PF, in the hole between the halves. */
	if (!lguest_canonical(va))
		return LG_WALK_GP;
	if (pd->gcr3 == LG_NO_PAGING) {
		if (va >= lg->mem_size) {
			w->error = access;
			return LG_WALK_FAULT;
		}
		w->gpa = va & PAGE_MASK;
		w->writable = true;
		w->nx = false;
		w->pkey = 0;
		w->top = 0;
		return LG_WALK_OK;
	}

restart:
	table = pd->gcr3;
	rw = true;
	us = true;
	nx = false;
	for (level = 4, n = 0;; level--) {
		u64 egpa = table + 8 * lg_index(va, level), e;

		/* A shadow kept coherent must know where this table is met. */
		if (bind && !lg_bind_table(lg, table, level, va, pd->gcr3, nowait))
			return LG_WALK_SLOW;
		ptr[n] = lguest_gpa_to_user(lg, egpa);
		if (get_user(e, ptr[n]))
			return walk_fail(cpu, nowait, "cannot read its page table at gpa %#llx",
					 egpa);
		if (!(e & _PAGE_PRESENT)) {
			w->error = access;
			/* A PTE: absent.c may say so in the shadow. */
			if (level == 1) {
				w->absent_pte = true;
				w->l1 = table;
				w->top = ent[0];
			}
			return LG_WALK_FAULT;
		}
		if (reserved_bits(e, level)) {
			w->error = access | LG_PF_PROT | LG_PF_RSVD;
			return LG_WALK_FAULT;
		}
		rw &= !!(e & _PAGE_RW);
		us &= !!(e & _PAGE_USER);
		nx |= !!(e & _PAGE_NX);
		ent[n++] = e;
		if (level == 1 || (e & _PAGE_PSE))
			break;
		table = e & LG_PTE_ADDR;
		if (!lguest_guest_range_ok(lg, table, PAGE_SIZE))
			return walk_fail(cpu, nowait,
					 "its table for %#llx is at gpa %#llx, outside its memory",
					 va, table);
	}

	/* Supervisor writes honour RW too: the guest's CR0.WP is always 1. */
	if (((access & LG_PF_USER) && !us) || ((access & LG_PF_WRITE) && !rw) ||
	    ((access & LG_PF_INSTR) && nx)) {
		w->error = access | LG_PF_PROT;
		return LG_WALK_FAULT;
	}
	/* A key fault comes before Dirty is set, as on the CPU. */
	if (keys && !(access & LG_PF_INSTR) &&
	    pkey_denies(cpu, ent[n - 1], access & LG_PF_WRITE)) {
		w->error = access | LG_PF_PROT | LG_PF_PK;
		return LG_WALK_FAULT;
	}

	/*
	 * Accessed at every level, Dirty in the leaf on a write, atomically,
	 * as the CPU does: another vCPU may be changing the same entry.  If
	 * it did, walk again.
	 */
	for (i = 0; i < n; i++) {
		/*
		 * The pointer is read out of the array here: inside the
		 * cmpxchg's user-access window (STAC) no call may happen, and
		 * a sanitizer's bounds check on ptr[i] would be one.
		 */
		u64 __user *p = ptr[i];
		u64 old = ent[i], new = old | _PAGE_ACCESSED;
		int r;

		if (i == n - 1 && (access & LG_PF_WRITE))
			new |= _PAGE_DIRTY;
		if (new == old)
			continue;
		r = __try_cmpxchg_user(p, &old, new, cmpxchg_fault);
		if (r < 0)
			goto efault;
		if (r) {
			if (++tries > 100)
				return walk_fail(cpu, nowait,
						 "its page table entries for %#llx keep changing",
						 va);
			goto restart;
		}
		ent[i] = new;
	}

	size = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	gpa = (ent[n - 1] & LG_PTE_ADDR & ~(size - 1)) | (va & (size - 1) & PAGE_MASK);
	if (!lguest_guest_range_ok(lg, gpa, PAGE_SIZE))
		return walk_fail(cpu, nowait, "it maps %#llx to gpa %#llx, outside its memory",
				 va, gpa);
	w->gpa = gpa;
	w->top = ent[0];
	w->writable = rw && (ent[n - 1] & _PAGE_DIRTY);
	w->nx = nx;
	/* The leaf's protection key goes into the shadow leaf as it is. */
	w->pkey = (ent[n - 1] & LG_PTE_PKEY) >> LG_PTE_PKEY_SHIFT;
	return LG_WALK_OK;

efault:
	return walk_fail(cpu, nowait, "cannot update its page table entry for %#llx", va);
}

/*
 * The host's own accesses to guest-virtual memory (a hypercall's
 * arguments, a frame it pushes) go where the guest kernel's would.  With
 * a coherent shadow (coherent.c) the vCPU's kernel-mode leaf says that at
 * once: present, it was made by a walk that allowed a kernel read (and
 * set Accessed), writable only if the walk allowed a write (and set
 * Dirty), and since then every change the guest made to its tables has
 * dropped it, except a write in place not yet resynced, which leaves it as
 * stale as the CPU's TLB entry for it.  That is what the CPU itself would
 * use, and three loads instead of a walk of four guest tables with a
 * user access each: Linux's mmu_update reads every entry of its batch
 * that way.  Not for a table the kernel may write in place (its leaf is
 * writable for that alone), nor for the hole, nor for user-mode
 * accesses: the walk decides those.  Fills @gpa and returns true if the
 * leaf allows @access.
 */
static bool shadow_gpa(struct lg_cpu *cpu, u64 va, u32 access, u64 *gpa)
{
	struct lguest *lg = cpu->lg;
	unsigned int i = lg_index(va, 1);
	u64 *leaf, e = 0;

	if (!lg->ptinfo || cpu->mode != LG_MODE_KERNEL || (access & LG_PF_USER) ||
	    !lguest_canonical(va) || lguest_slot_reserved(lg_index(va, 4)))
		return false;
	spin_lock(&lg->mmu_lock);
	leaf = lg_shadow_leaf_table(cpu->pgdir, LG_MODE_KERNEL, va);
	if (leaf) {
		e = leaf[i];
		*gpa = (u64)lg_leaf_gfns(leaf)[i] << PAGE_SHIFT;
	}
	spin_unlock(&lg->mmu_lock);
	if (!lg_leaf_maps(e) || ((access & LG_PF_INSTR) && (e & _PAGE_NX)))
		return false;
	if (!(access & LG_PF_WRITE))
		return true;
	return (e & _PAGE_RW) &&
	       !(lg->ops->table_writable && lg->ops->table_writable(cpu, *gpa));
}

/* The guest page @va is on for @access: the shadow's, or a walk's. */
static bool host_access_gpa(struct lg_cpu *cpu, u64 va, u32 access, u64 *gpa)
{
	struct lg_walk w;

	if (shadow_gpa(cpu, va, access, gpa))
		return true;
	if (!lguest_canonical(va) ||
	    lg_walk(cpu, cpu->pgdir, va, access, &w) != LG_WALK_OK)
		return false;
	*gpa = w.gpa;
	return true;
}

/*
 * Read up to @len bytes at guest-virtual @va with @access (LG_PF_INSTR,
 * LG_PF_USER) as the guest's tables allow it, a page at a time: returns
 * how many bytes it read before the first page that does not.
 */
u64 lguest_read_guest(struct lg_cpu *cpu, u64 va, void *dst, u64 len, u32 access)
{
	u64 done = 0, gpa;

	while (done < len) {
		u64 off = va & ~PAGE_MASK, chunk = min_t(u64, len - done, PAGE_SIZE - off);

		if (!host_access_gpa(cpu, va, access, &gpa))
			break;
		if (copy_from_user(dst + done, lguest_gpa_to_user(cpu->lg, gpa + off), chunk))
			break;
		va += chunk;
		done += chunk;
	}
	return done;
}

/*
 * Write @len bytes at guest-virtual @va, as the guest kernel would (a trap
 * frame the host pushes, say).  Returns 0, or -EFAULT if any byte is not
 * mapped writable for the guest kernel.
 */
int lguest_copy_to_guest(struct lg_cpu *cpu, u64 va, const void *src, u64 len)
{
	u64 gpa;

	while (len) {
		u64 off = va & ~PAGE_MASK, chunk = min_t(u64, len, PAGE_SIZE - off);

		if (!host_access_gpa(cpu, va, LG_PF_WRITE, &gpa))
			return -EFAULT;
		if (copy_to_user(lguest_gpa_to_user(cpu->lg, gpa + off), src, chunk))
			return -EFAULT;
		va += chunk;
		src += chunk;
		len -= chunk;
	}
	return 0;
}
