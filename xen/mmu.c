// SPDX-License-Identifier: GPL-2.0
/*
 * A Xen PV kernel's page tables.
 *
 * Under Xen the CPU walks a PV guest's own tables, so Xen must see every
 * change to them (mmu_update, update_va_mapping) and validate it.  Under
 * lguest the CPU never walks them: it walks our shadow, filled on demand
 * from a walk of the guest's tables and validated then (pgtable/).  So
 * for us a page-table update is an ordinary write to guest memory, which
 * we pass to the shadow (lguest_tables_written()): a pinned tree's shadow
 * is kept coherent with it, and survives CR3 writes (pgtable/coherent.c).
 * What is left of Xen's machinery is its interface:
 *
 *  - mmu_update writes entries at "machine" (guest-physical) addresses,
 *    preserving Accessed and Dirty if asked;
 *  - update_va_mapping writes the L1 entry that maps one virtual address,
 *    and always drops that address from the shadow;
 *  - mmuext_op switches address spaces and flushes; pinning is
 *    bookkeeping Xen needs for its type counts, of which we keep one bit
 *    per frame for L1s ("this is an L1 table now") and one for L4s ("a
 *    CR3 write to this one keeps its shadow").
 *
 * The L1 bit is for Xen's writable page tables, which Linux relies on: it
 * writes its pinned (read-only) L1 tables directly (ptep_get_and_clear()
 * is an xchg) and expects the hypervisor to trap and emulate the write.
 * We do better than emulate: the first such write faults, and the
 * guest-kernel shadow then maps the L1 frame writable whatever the
 * guest's PTE says (pgtable/shadow.c asks lg_xen_table_writable()), so
 * later writes run at full speed.  It is safe because every entry the
 * guest writes is checked when the shadow is filled from it; and the
 * table is "unsync" until the next flush or CR3 write, which drops the
 * writable leaf and whatever the table produced (coherent.c).  The bit is
 * set by PIN_L1_TABLE and, once, for every L1 under the first L4 pinned
 * (the builder's tables are pinned only through it), and cleared by
 * UNPIN; a frame stays writable through shadow entries already made until
 * the next flush, which Linux does right after an unpin when it maps the
 * page read-write again (M:042).
 */
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/xen/interface.h>
#include "xen.h"

/* Xen's preserve-A/D update keeps these of the old entry. */
#define AD_BITS		(_PAGE_ACCESSED | _PAGE_DIRTY)

static bool frame_ok(struct lguest *lg, u64 pte)
{
	return !(pte & _PAGE_PRESENT) ||
	       lguest_guest_range_ok(lg, pte & PTE_PFN_MASK, PAGE_SIZE);
}

/*
 * Write the entry at guest-physical @gpa, as Xen's MMU_*_PT_UPDATE.  The
 * caller tells the shadow (lguest_tables_written()), once per batch.
 */
static long write_entry(struct lg_cpu *cpu, u64 gpa, u64 val, bool keep_ad)
{
	struct lguest *lg = cpu->lg;
	u64 __user *p;
	u64 old;
	int tries;

	if (!IS_ALIGNED(gpa, 8) || !lguest_guest_range_ok(lg, gpa, 8) ||
	    !frame_ok(lg, val))
		return -EINVAL;
	p = lguest_gpa_to_user(lg, gpa);
	if (!keep_ad)
		return put_user(val, p) ? -EFAULT : 0;
	for (tries = 0; tries < 100; tries++) {
		u64 cur, new;
		int r;

		if (get_user(old, p))
			return -EFAULT;
		cur = old;
		new = (val & ~AD_BITS) | (old & AD_BITS);
		r = __try_cmpxchg_user(p, &cur, new, ad_fault);
		if (r < 0)
			return -EFAULT;
		if (!r)
			return 0;
		/* It changed under us (A or D, from another vCPU): again. */
	}
	/* The guest's other vCPUs keep changing it: as Xen, try later. */
	return -EBUSY;
}

/* One entry of the guest's table at @table, or 0 if it cannot be read. */
static u64 entry_at(struct lguest *lg, u64 table, unsigned int i)
{
	u64 e;

	if (!lguest_guest_range_ok(lg, table, PAGE_SIZE) ||
	    get_user(e, (u64 __user *)lguest_gpa_to_user(lg, table + 8 * i)))
		return 0;
	return e;
}

/*
 * The guest-physical address of the L1 entry that maps @va in the
 * current address space, in *@gpa; false if an upper level is absent
 * (or a large page, which a PV guest cannot have).
 */
static bool l1_entry(struct lg_cpu *cpu, u64 va, u64 *gpa)
{
	u64 table = cpu->pgdir->gcr3;
	unsigned int level;

	for (level = 4; level > 1; level--) {
		u64 e = entry_at(cpu->lg, table, (va >> (12 + 9 * (level - 1))) & 511);

		if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
			return false;
		table = e & PTE_PFN_MASK;
	}
	*gpa = table + 8 * ((va >> 12) & 511);
	return true;
}

bool lg_xen_table_writable(struct lg_cpu *cpu, u64 gpa)
{
	u64 gfn = gpa >> PAGE_SHIFT;

	return gfn < (cpu->lg->mem_size >> PAGE_SHIFT) &&
	       test_bit(gfn, lg_xen(cpu->lg)->l1_frames);
}

/*
 * Mark every L1 table under the L4 at @l4 (guest-physical), outside the
 * hole.  Once per guest, and bounded: at most 512 * 512 L2 tables of 512
 * entries each (a second or so for a hostile guest whose every entry is
 * present), rescheduling as it goes; a bad table address ends a branch.
 */
static void mark_l1s(struct lguest *lg, u64 l4)
{
	unsigned long *bits = lg_xen(lg)->l1_frames;
	u64 nr = lg->mem_size >> PAGE_SHIFT;
	unsigned int i, j, k;

	for (i = 0; i < 512; i++) {
		u64 e4 = entry_at(lg, l4, i);

		/* Slots 256-271 are the hole's, never the guest's. */
		if ((i >= LG_M2P_SLOT && i < LG_M2P_SLOT + 16) || !(e4 & _PAGE_PRESENT))
			continue;
		for (j = 0; j < 512; j++) {
			u64 e3 = entry_at(lg, e4 & PTE_PFN_MASK, j);

			if (!(e3 & _PAGE_PRESENT) || (e3 & _PAGE_PSE))
				continue;
			for (k = 0; k < 512; k++) {
				u64 e2 = entry_at(lg, e3 & PTE_PFN_MASK, k);
				u64 gfn = (e2 & PTE_PFN_MASK) >> PAGE_SHIFT;

				if ((e2 & _PAGE_PRESENT) && !(e2 & _PAGE_PSE) && gfn < nr)
					set_bit(gfn, bits);
			}
		}
		cond_resched();
	}
}

/* Drop @va from the shadow of this space, or of every space. */
static long flush(struct lg_cpu *cpu, u64 va, bool all_spaces, bool whole)
{
	long r;

	if (whole)
		r = lguest_flush_tlb(cpu, all_spaces ? LGUEST_FLUSH_ALL : cpu->pgdir->gcr3);
	else
		r = lguest_invlpg(cpu, va, PAGE_SIZE,
				  all_spaces ? LG_INVLPG_ALL_SPACES : 0);
	return r ? -EINVAL : 0;
}

/* Drop every translation of the current space: what a CR3 write does. */
static long flush_space(struct lg_cpu *cpu)
{
	return lguest_flush_tlb(cpu, cpu->pgdir->gcr3) ? -EINVAL : 0;
}

/* Whether the L4 at @gpa is pinned: a tree whose every change we see. */
static bool l4_pinned(struct lguest *lg, u64 gpa)
{
	u64 gfn = gpa >> PAGE_SHIFT;

	return gpa != LG_NO_PAGING && gfn < (lg->mem_size >> PAGE_SHIFT) &&
	       test_bit(gfn, lg_xen(lg)->l4_frames);
}

/* A pinned L4's tables change only in ways we see: its kernel half may be shared. */
bool lg_xen_root_coherent(struct lguest *lg, u64 gcr3)
{
	return l4_pinned(lg, gcr3);
}

/*
 * A whole flush: the vCPU's kernel and user L4s, or every space.  In a
 * pinned tree the shadow is coherent (pgtable/coherent.c), and a flush
 * only makes what the guest wrote in place visible.
 */
static long flush_local(struct lg_cpu *cpu, bool all_spaces)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	long r;

	/* The list of tables written in place is the guest's, not a space's. */
	lguest_resync(cpu);
	if (l4_pinned(cpu->lg, cpu->pgdir->gcr3))
		return 0;
	r = flush(cpu, 0, all_spaces, true);

	if (!r && !all_spaces && xc->user_cr3)
		r = lguest_flush_tlb(cpu, xc->user_cr3) ? -EINVAL : 0;
	return r;
}

long lg_xen_update_va_mapping(struct lg_cpu *cpu, u64 va, u64 pte, u64 flags)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	u64 target = flags & ~(u64)UVMF_FLUSHTYPE_MASK, gpa, mask;
	long r;

	if (!lguest_canonical(va) || lg_xen_in_hole(va, PAGE_SIZE))
		return -EINVAL;
	if (!l1_entry(cpu, va, &gpa))
		return -EINVAL;
	r = write_entry(cpu, gpa, pte, false);
	if (r)
		return r;
	lguest_tables_written(cpu, &gpa, 1);
	/* UVMF_MULTI's mask must be readable, as on Xen (after the write). */
	if ((flags & UVMF_FLUSHTYPE_MASK) && target != UVMF_LOCAL && target != UVMF_ALL &&
	    lg_xen_read(cpu, target, &mask, sizeof(mask)))
		return -EFAULT;
	/*
	 * Whatever the flags say, our shadow of @va goes: what the entry
	 * produced went above, in every space it was met under.  In an
	 * unpinned tree the path to @va may have changed unseen too, and
	 * then every space's @va goes, as before there was a coherent
	 * shadow: the user L4's maps user addresses too.  Linux's trees are
	 * pinned, and its update_va_mapping (page tables made read-only for
	 * a fork, writable again at an exit) walked every cached space twice
	 * for nothing.  A full flush is of this vCPU's two spaces, or of all
	 * with UVMF_ALL.
	 */
	r = 0;
	if (!l4_pinned(cpu->lg, cpu->pgdir->gcr3) ||
	    (xc->user_cr3 && !l4_pinned(cpu->lg, xc->user_cr3)))
		r = flush(cpu, va, true, false);
	/*
	 * Above the flush type: UVMF_LOCAL (0), UVMF_ALL, or a pointer to a
	 * mask of vCPUs (UVMF_MULTI), which the shared shadow makes all.
	 */
	if (!r && (flags & UVMF_FLUSHTYPE_MASK) == UVMF_TLB_FLUSH)
		r = flush_local(cpu, target);
	return r;
}

/* A _MULTI op's mask of vCPUs must be readable guest memory, as on Xen. */
static bool vcpumask_ok(struct lg_cpu *cpu, const struct mmuext_op *op)
{
	u64 mask;

	if (op->cmd != MMUEXT_TLB_FLUSH_MULTI && op->cmd != MMUEXT_INVLPG_MULTI)
		return true;
	return !lg_xen_read(cpu, (u64)(unsigned long)op->arg2.vcpumask, &mask,
			    sizeof(mask));
}

/*
 * mmu_update and mmuext_op take a count, a place for the number done, and
 * a domain (only DOMID_SELF: lguest guests own nothing else).  They stop
 * at the first entry that fails, with its error, as Xen's do.  First the
 * batch itself: its domain, and at most 4096 entries.
 */
static long batch_ok(u64 count, u64 dom)
{
	if (dom != DOMID_SELF)
		return -EPERM;
	return count > 4096 ? -EINVAL : 0;
}

static long batch_done(struct lg_cpu *cpu, u64 pdone, unsigned int done, long r)
{
	if (pdone && lg_xen_write(cpu, pdone, &done, sizeof(done)))
		return -EFAULT;
	return r;
}

/*
 * A single entry written (Linux's set_pte() outside a lazy-MMU batch: a
 * page fault's new page, a copy-on-write break) that makes present for
 * user mode the page the guest last faulted on (the CR2 it was told):
 * the user space is about to touch it again, so fill its leaf now
 * (pgtable/shadow.c's lguest_prefetch()).  Only for the vCPU's own user
 * space, held while it runs in kernel mode.  Not the other pages a fault
 * maps around it (Linux's fault-around writes sixteen PTEs of a file's
 * text one by one, of which a forked child runs two or three): their
 * fills cost a fork more than the faults they saved.
 */
static void prefetch_user(struct lg_cpu *cpu, u64 egpa, u64 val)
{
	struct lg_pgdir *upd;
	u64 va;

	if ((val & (_PAGE_PRESENT | _PAGE_USER)) != (_PAGE_PRESENT | _PAGE_USER) ||
	    cpu->mode != LG_MODE_KERNEL)
		return;
	upd = lg_xen_user_pgdir(cpu);
	if (upd && lguest_entry_va(cpu->lg, egpa, &va) &&
	    va == (READ_ONCE(lg_xen_vcpu_info(cpu)->arch.cr2) & PAGE_MASK))
		lguest_prefetch(cpu, upd, va);
}

long lg_xen_mmu_update(struct lg_cpu *cpu, u64 va, u64 count, u64 pdone, u64 dom)
{
	struct mmu_update req;
	/* Entries written, for the shadow: one shootdown for many. */
	u64 written[32] __uninitialized;	/* the first nw only (pgtable.h) */
	unsigned int done, nw = 0;
	long r = batch_ok(count, dom);

	if (r)
		return r;
	for (done = 0; done < count; done++, va += sizeof(req)) {
		cond_resched();
		if (lg_xen_read(cpu, va, &req, sizeof(req))) {
			r = -EFAULT;
			break;
		}
		switch (req.ptr & 3) {
		case MMU_NORMAL_PT_UPDATE:
		case MMU_PT_UPDATE_PRESERVE_AD:
			r = write_entry(cpu, req.ptr & ~3ULL, req.val,
					(req.ptr & 3) == MMU_PT_UPDATE_PRESERVE_AD);
			if (r)
				break;
			written[nw++] = req.ptr & ~3ULL;
			if (nw == ARRAY_SIZE(written)) {
				lguest_tables_written(cpu, written, nw);
				nw = 0;
			}
			break;
		case MMU_MACHPHYS_UPDATE:
			/* The M2P is the identity, and stays so. */
			r = (req.ptr >> PAGE_SHIFT) == req.val ? 0 : -EINVAL;
			break;
		default:
			r = -LG_XEN_ENOSYS;
		}
		if (r)
			break;
	}
	lguest_tables_written(cpu, written, nw);
	if (!r && count == 1 && nw == 1)
		prefetch_user(cpu, written[0], req.val);
	return batch_done(cpu, pdone, done, r);
}

long lg_xen_mmuext_op(struct lg_cpu *cpu, u64 va, u64 count, u64 pdone, u64 dom)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct lg_xen *x = lg_xen(cpu->lg);
	struct mmuext_op op;
	unsigned int done;
	long r = batch_ok(count, dom);

	if (r)
		return r;
	for (done = 0; done < count; done++, va += sizeof(op)) {
		u64 gpa, mfn;

		cond_resched();
		if (lg_xen_read(cpu, va, &op, sizeof(op))) {
			r = -EFAULT;
			break;
		}
		/* A frame number must be a frame: no wrapping past 2^52. */
		mfn = op.arg1.mfn < (cpu->lg->mem_size >> PAGE_SHIFT) ?
		      array_index_nospec(op.arg1.mfn, cpu->lg->mem_size >> PAGE_SHIFT) : 0;
		gpa = mfn ? mfn << PAGE_SHIFT : op.arg1.mfn ? cpu->lg->mem_size : 0;
		switch (op.cmd) {
		case MMUEXT_PIN_L1_TABLE:
		case MMUEXT_PIN_L2_TABLE:
		case MMUEXT_PIN_L3_TABLE:
		case MMUEXT_PIN_L4_TABLE:
		case MMUEXT_UNPIN_TABLE:
			if (!lguest_guest_range_ok(cpu->lg, gpa, PAGE_SIZE)) {
				r = -EINVAL;
				break;
			}
			r = 0;
			if (op.cmd == MMUEXT_PIN_L1_TABLE) {
				set_bit(mfn, x->l1_frames);
			} else if (op.cmd == MMUEXT_UNPIN_TABLE) {
				/*
				 * No longer a table: what it mapped goes, and
				 * an L4's spaces with it (its page may be the
				 * next process's L4).
				 */
				clear_bit(mfn, x->l1_frames);
				clear_bit(mfn, x->l4_frames);
				lguest_table_gone(cpu, gpa);
			} else if (op.cmd == MMUEXT_PIN_L4_TABLE) {
				set_bit(mfn, x->l4_frames);
				if (!x->l1_walked) {
					x->l1_walked = true;
					mark_l1s(cpu->lg, gpa);
				}
			}
			break;
		case MMUEXT_NEW_BASEPTR:
			/*
			 * A CR3 write: without PCID or global pages (a PV
			 * guest has neither) it flushes every translation,
			 * and Linux relies on it, for kernel mappings too
			 * (docs/NOTES.md).  A pinned L4's shadow is coherent
			 * with its tables (pgtable/coherent.c): it stays,
			 * once what was written in place is resynced.  Any
			 * other L4's is dropped, as the TLB would be.
			 */
			lguest_resync(cpu);
			r = lguest_new_pgtable(cpu, gpa) ? -EINVAL : 0;
			if (!r && !l4_pinned(cpu->lg, gpa))
				r = flush_space(cpu);
			break;
		case MMUEXT_NEW_USER_BASEPTR:
			/*
			 * The L4 user mode runs on (iret toggles to it).  Part
			 * of the same CR3 write as NEW_BASEPTR: its space's
			 * shadow goes, as the TLB would.
			 */
			if (!op.arg1.mfn) {
				xc->user_cr3 = 0;
				r = 0;
				break;
			}
			r = lguest_guest_range_ok(cpu->lg, gpa, PAGE_SIZE) ? 0 : -EINVAL;
			if (!r) {
				xc->user_cr3 = gpa;
				if (!l4_pinned(cpu->lg, gpa))
					r = lguest_flush_tlb(cpu, gpa) ? -EINVAL : 0;
			}
			/*
			 * Hold its space now, so that the switcher takes the
			 * iret to it (xen/fast.c); if memory is short, C's
			 * iret finds it instead.
			 */
			if (!r && cpu->mode == LG_MODE_KERNEL)
				lguest_hold_other_pgdir(cpu, gpa, LG_MODE_USER);
			break;
		case MMUEXT_TLB_FLUSH_LOCAL:
			r = flush_local(cpu, false);
			break;
		case MMUEXT_TLB_FLUSH_MULTI:
		case MMUEXT_TLB_FLUSH_ALL:
			/*
			 * The shadow is the guest's, shared by its vCPUs, and
			 * a flush of it forces every vCPU in the guest out
			 * (and so through a CR3 load) before it returns: a
			 * mask of vCPUs is all of them, once it reads.
			 */
			if (!vcpumask_ok(cpu, &op)) {
				r = -EFAULT;
				break;
			}
			lguest_resync(cpu);
			r = l4_pinned(cpu->lg, cpu->pgdir->gcr3) ? 0 :
			    flush(cpu, 0, true, true);
			break;
		case MMUEXT_INVLPG_LOCAL:
		case MMUEXT_INVLPG_MULTI:
		case MMUEXT_INVLPG_ALL:
			if (!lguest_canonical(op.arg1.linear_addr)) {
				r = -EINVAL;
				break;
			}
			if (!vcpumask_ok(cpu, &op)) {
				r = -EFAULT;
				break;
			}
			/* Every space: the user L4's shadow maps it too. */
			r = flush(cpu, op.arg1.linear_addr, true, false);
			break;
		case MMUEXT_SET_LDT:
			/* No LDT under lguest (M:039): only the empty one. */
			r = op.arg2.nr_ents ? -EINVAL : 0;
			break;
		default:
			r = -LG_XEN_ENOSYS;
		}
		if (r)
			break;
	}
	return batch_done(cpu, pdone, done, r);
}

/*
 * Load the GDT of @entries descriptors in the frame at @gpa (set_gdt, and
 * VCPUOP_initialise for another vCPU, stopped).
 */
long lg_xen_load_gdt(struct lg_cpu *cpu, u64 gpa, u64 entries)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	u64 *d;

	if (!lguest_guest_range_ok(cpu->lg, gpa, PAGE_SIZE))
		return -EINVAL;
	d = kcalloc(LGUEST_GDT_ENTRIES, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	if (copy_from_user(d, lguest_gpa_to_user(cpu->lg, gpa), entries * 8)) {
		kfree(d);
		return -EFAULT;
	}
	lguest_set_gdt(cpu, d, entries);
	kfree(d);
	xc->gdt_gpa = gpa;
	xc->gdt_entries = entries;
	return 0;
}

/*
 * set_gdt: a list of frames and a count of descriptors.  lguest's GDT
 * holds 512 of the guest's (one frame, all Linux uses); more is -EINVAL.
 */
long lg_xen_set_gdt(struct lg_cpu *cpu, u64 frames_va, u64 entries)
{
	u64 frame;

	if (entries > LGUEST_GDT_ENTRIES)
		return -EINVAL;
	if (!entries) {
		lg_xen_cpu(cpu)->gdt_gpa = 0;
		lguest_gdt_init(cpu);
		return 0;
	}
	if (lg_xen_read(cpu, frames_va, &frame, sizeof(frame)))
		return -EFAULT;
	/* A frame number must be a frame: no wrapping past 2^52. */
	if (frame >= cpu->lg->mem_size >> PAGE_SHIFT)
		return -EINVAL;
	return lg_xen_load_gdt(cpu, frame << PAGE_SHIFT, entries);
}

/*
 * update_descriptor: one descriptor at machine address @ma.  If it is in
 * the GDT this vCPU runs on, that GDT is loaded again from the frame
 * set_gdt named, checked as then (another vCPU's copy is refreshed at its
 * next set_gdt: M:040).
 */
long lg_xen_update_descriptor(struct lg_cpu *cpu, u64 ma, u64 desc)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	if (!IS_ALIGNED(ma, 8) || !lguest_guest_range_ok(cpu->lg, ma, 8))
		return -EINVAL;
	if (put_user(desc, (u64 __user *)lguest_gpa_to_user(cpu->lg, ma)))
		return -EFAULT;
	if (xc->gdt_gpa && ma >= xc->gdt_gpa && ma < xc->gdt_gpa + xc->gdt_entries * 8)
		return lg_xen_load_gdt(cpu, xc->gdt_gpa, xc->gdt_entries);
	return 0;
}
