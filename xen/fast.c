// SPDX-License-Identifier: GPL-2.0
/*
 * A Xen PV system call without the host's C code.
 *
 * A Linux process's system call under Xen PV is two trips through the
 * hypervisor: the `syscall` from guest user mode, which Xen bounces to the
 * guest kernel's syscall callback (traps.c: a frame on the kernel stack,
 * the event mask set, the other GS base and the kernel's L4 loaded), and
 * the kernel's HYPERVISOR_iret back, which undoes all of that.  Xen does
 * both in its entry code.  Through the C run loop each costs a full world
 * switch, and a getpid() cost twice Xen's (docs/performance.md).
 *
 * So the switcher does both itself, as it does our own ABI's direct switch
 * (switcher_64.S, lg_xen_syscall and lg_xen_iret), when C has said it may:
 * before each entry lg_xen_fast_entry() sets LG_FAST_XEN_SYSCALL and
 * LG_FAST_XEN_IRET, whichever mode the vCPU enters in, each only if
 * everything that path needs is in place and vetted, and hands the
 * switcher what it cannot work out under the guest's page tables:
 *
 *  - the other mode's root.  A Xen PV kernel's two modes run on two L4s,
 *    two of our address spaces; the vCPU keeps the other one from
 *    eviction (cpu->other_pgdir, lguest_keep_pgdir()), so that root is
 *    always the shadow of the same guest L4 while the switcher may load it;
 *  - the bounce frame's address: the stack_switch stack, aligned down to
 *    16, less the frame; vetted here, canonical and clear of the hole (the
 *    switcher writes it at CPL0, where our own pages in the hole would be
 *    writable);
 *  - the syscall callback, checked canonical again (an iretq to a
 *    non-canonical RIP faults at CPL0, in the switcher);
 *  - the vcpu_info, for the event mask: mapped at LG_DATA_VA,
 *    supervisor-only, since the guest's own mapping of it is nowhere we
 *    know;
 *  - the GS base of the mode not running, which the switcher swaps with
 *    the live one as Xen's toggle_guest_mode() does.
 *
 * The switcher reads and writes guest memory (the frame, iret's context)
 * through the guest's shadow, so any access may fault: a fault there
 * (lg_trap_in_switcher's fixups) abandons the fast path with the guest's
 * registers as they were, and C takes the trip instead, which can fill the
 * shadow or kill the guest.  An iret that needs anything C does (to kernel
 * mode, selectors other than Xen's flat ones or Linux's own, an event to
 * deliver once unmasked, an address that is not plainly canonical) is
 * left to C the same way.  Linux returns to user space on its own
 * __USER_CS and __USER_DS, not Xen's: until the switcher took those, every
 * Linux iret went through C, and only the system call's way in was fast.
 *
 * Two hypercalls besides iret are the switcher's, which Linux makes on a
 * context switch outside its lazy batch (docs/performance.md), and each
 * through C a world switch for one store: HYPERVISOR_stack_switch, on
 * every switch, which only records the kernel stack the next bounce from
 * user mode lands on, and set_segment_base for FS, on a switch to a task
 * with a TLS base (glibc's processes have one).  The switcher
 * vets the new stack's frame as lg_xen_fast_entry() vets the old one, and
 * takes it for the bounces to come; a stack it cannot vet is C's, which
 * records it and offers no bounce on it.  It loads a plainly canonical FS
 * base, which the exit reads back as after any run; anything else, and
 * the other segments, are C's.
 *
 * One exception goes the same way as a system call: a #PF from user mode
 * on a leaf that says the guest's PTE is absent (pgtable/absent.c), which
 * the guest kernel must hear of however the shadow stands.  Xen forwards
 * that fault from its entry code; through C it was a world switch and a
 * walk of the guest's tables for an answer the shadow already had, on
 * every page a Linux process touched first.  The switcher bounces it to
 * the trap table's handler, a word below where a system call's frame
 * goes (the error code), with CR2 in the vcpu_info.
 *
 * After the exit, lg_xen_fast_exit() learns what the switcher did: the
 * GS bases, the stack, and if the mode it left the guest in is not the
 * one it entered, the two spaces trade places.
 */
#include <linux/mm.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>
#include <asm/xen/interface.h>
#include <xen/interface/callback.h>
#include "xen.h"
#include "switcher.h"

/* The vcpu_info's page, or NULL (the spare, not in a page of ours). */
static struct page *vcpu_info_page(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct lg_xen *x = lg_xen(cpu->lg);

	if (xc->vi_page)
		return xc->vi_page;
	if (xc->vi != &xc->spare_vi)
		return x->shared_page;
	return NULL;
}

/*
 * A #PF on an absent leaf (pgtable/absent.c) from user mode goes the way
 * a system call does, to the same stack with one word more (lg_exit_pf
 * says why the system call's vetting covers it), if the trap table has a
 * handler for it that masks events, as Linux's does (an interrupt gate):
 * with events left on, one pending would have to be delivered at once,
 * which is C's.
 */
static u64 pf_entry(struct lg_cpu *cpu, struct lguest_pages *pages)
{
	const struct lg_xen_trap *t = &lg_xen_cpu(cpu)->traps[X86_TRAP_PF];

	if (!lg_absent_leaf || !t->address || !lg_xen_guest_va_ok(t->address) ||
	    !(t->flags & LG_XEN_TI_MASK))
		return 0;
	pages->xen_pf_handler = t->address;
	return LG_FAST_XEN_PF;
}

/*
 * Before an entry: what the switcher may do alone, and what it needs for
 * it.  Both ways are offered whichever mode the guest enters in: once in
 * the switcher, a getpid() goes back and forth without leaving it.  The
 * kernel's space is the one running in kernel mode, else the other one
 * if it is still the kernel's L4; the same for user mode.  Called by
 * copy_in_guest_info() for a Xen PV vCPU, with @pcid the bits its roots
 * carry.
 */
u64 lg_xen_fast_entry(struct lg_cpu *cpu, struct lguest_pages *pages, u64 pcid)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	bool user = cpu->mode == LG_MODE_USER;
	struct lg_pgdir *kpd = user ? cpu->other_pgdir : cpu->pgdir;
	struct lg_pgdir *upd;
	u64 root, frame, fast = 0;

	/* The vcpu_info moved (or first use): map its page. */
	if (unlikely(xc->vi_mapped != xc->vi)) {
		struct page *page = vcpu_info_page(cpu);

		lguest_map_vcpu_info_page(cpu, page);
		xc->vi_mapped = xc->vi;
		xc->vi_alias = page ? LG_DATA_VA + offset_in_page(xc->vi) : 0;
	}
	/*
	 * A stack_switch returns to the kernel: a virtual interrupt waiting
	 * must be delivered first, which is C's.  lg_xen_fast_exit() takes
	 * the inactive GS base back after any path, so it goes in whatever
	 * is offered: these pages may last have held another vCPU's.
	 */
	pages->xen_gs_inactive = xc->gs_inactive;
	if (!xc->in_multicall && !lguest_irqs_pending(cpu))
		fast |= LG_FAST_XEN_HCALL;
	if (!cpu->other_pgdir || !xc->vi_alias)
		return fast;
	pages->xen_vi = xc->vi_alias;

	/* Into the kernel: its L4, its stack, its callback, masked. */
	frame = (xc->kernel_sp & ~0xfULL) - LG_XEN_FRAME_SIZE;
	if ((!user || kpd->gcr3 == xc->kernel_cr3) && xc->kernel_sp &&
	    frame < xc->kernel_sp && lguest_canonical(frame) &&
	    lguest_canonical(frame + LG_XEN_FRAME_SIZE - 1) &&
	    !lg_xen_in_hole(frame, LG_XEN_FRAME_SIZE) &&
	    xc->callback[CALLBACKTYPE_syscall] &&
	    lg_xen_guest_va_ok(xc->callback[CALLBACKTYPE_syscall]) &&
	    (xc->callback_flags[CALLBACKTYPE_syscall] & CALLBACKF_mask_events)) {
		root = lguest_pgdir_cr3(cpu, kpd, LG_MODE_KERNEL);
		if (root) {
			pages->kernel_cr3 = root | pcid;
			pages->xen_frame = frame;
			pages->xen_callback = xc->callback[CALLBACKTYPE_syscall];
			fast |= LG_FAST_XEN_SYSCALL;
			fast |= pf_entry(cpu, pages);
		}
	}

	/*
	 * Back to user mode: its L4's user root.  A virtual interrupt
	 * waiting (the timer) must be delivered if the iret unmasks: C's.
	 */
	upd = lg_xen_user_pgdir(cpu);
	if (upd && !xc->in_multicall && !lguest_irqs_pending(cpu)) {
		root = lguest_pgdir_cr3(cpu, upd, LG_MODE_USER);
		if (root) {
			pages->user_cr3 = root | pcid;
			fast |= LG_FAST_XEN_IRET;
		}
	}
	return fast;
}

/*
 * @n hypercalls @nr the switcher answered, counted as C counts its own;
 * iret's are fast_returns (copy_out_guest_info()), the others fast_hcalls.
 */
static void count_fast(struct lg_cpu *cpu, unsigned int nr, u64 n)
{
	cpu->stats.hypercalls += n;
	cpu->stats.xen_hcalls[nr] += n;
	if (nr != __HYPERVISOR_iret)
		cpu->stats.fast_hcalls += n;
}

/*
 * After an exit on which the switcher went through any of its paths (it
 * counted): take back the stack, the GS bases, and the spaces if the
 * mode changed.  The hypercalls it answered count as the ones they are.
 */
void lg_xen_fast_exit(struct lg_cpu *cpu, struct lguest_pages *pages,
		      unsigned int was_mode)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	if (pages->fast_stacks)
		xc->kernel_sp = pages->xen_kernel_sp;
	count_fast(cpu, __HYPERVISOR_stack_switch, pages->fast_stacks);
	count_fast(cpu, __HYPERVISOR_set_segment_base, pages->fast_segbases);
	count_fast(cpu, __HYPERVISOR_iret, pages->fast_returns);
	cpu->stats.fast_faults += pages->fast_faults;
	cpu->stats.bounces += pages->fast_faults;
	cpu->stats.traps_delivered += pages->fast_faults;
	cpu->stats.pf_reflected += pages->fast_faults;
	xc->gs_inactive = pages->xen_gs_inactive;
	if (cpu->mode != was_mode) {
		lguest_swap_pgdirs(cpu);
		/*
		 * Left in user mode: the kernel's L4 is the one it ran on
		 * (the guest may have moved to another since C last went to
		 * user mode), as lg_xen_toggle_mode() records it.
		 */
		if (cpu->mode == LG_MODE_USER)
			xc->kernel_cr3 = cpu->other_pgdir->gcr3;
	}
}

/* switcher.h's copy of Xen's ABI, checked. */
static void __maybe_unused fast_abi_checks(void)
{
	BUILD_BUG_ON(__HYPERVISOR_iret != LG_XEN_HCALL_IRET);
	BUILD_BUG_ON(__HYPERVISOR_stack_switch != LG_XEN_HCALL_STACK_SWITCH);
	BUILD_BUG_ON(__HYPERVISOR_set_segment_base != LG_XEN_HCALL_SET_SEGMENT_BASE);
	BUILD_BUG_ON(SEGBASE_FS != 0);
	BUILD_BUG_ON(sizeof(struct iret_context) != LG_XEN_IRET_SIZE);
	BUILD_BUG_ON(VGCF_in_syscall != LG_XEN_IN_SYSCALL);
	BUILD_BUG_ON(offsetof(struct vcpu_info, evtchn_upcall_pending) != LG_XEN_VI_PENDING);
	BUILD_BUG_ON(offsetof(struct vcpu_info, evtchn_upcall_mask) != LG_XEN_VI_MASK);
	BUILD_BUG_ON(offsetof(struct vcpu_info, arch.cr2) != LG_XEN_VI_CR2);
	BUILD_BUG_ON(X86_PF_RSVD != LG_XEN_PF_RSVD || X86_PF_USER != LG_XEN_PF_USER ||
		     (X86_PF_WRITE | X86_PF_INSTR) != LG_XEN_PF_KEEP);
	BUILD_BUG_ON(FLAT_USER_CS64 != LG_SEL_CS64 || FLAT_USER_SS64 != LG_SEL_DS);
}
