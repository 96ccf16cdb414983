// SPDX-License-Identifier: GPL-2.0
/*
 * A Xen guest's other vCPUs: VCPUOP_initialise, up, down and is_up.
 *
 * vCPU 0 starts where the domain builder left it.  Every other vCPU starts
 * stopped, its launcher thread asleep in its run request, until the guest
 * describes it (VCPUOP_initialise, a struct vcpu_guest_context: registers,
 * trap table, GDT frames, kernel stack, page tables, callbacks, segment
 * bases) and starts it (VCPUOP_up).  Linux does both once per CPU from CPU
 * 0 (cpu_initialize_context() and xen_pv_cpu_up() in smp_pv.c).  A vCPU
 * takes itself down with VCPUOP_down when it goes offline (play_dead) and
 * when the guest panics (stop_self); VCPUOP_up starts it again where it
 * stopped, with everything it had: Linux does not initialise it twice.
 *
 * Xen checks the context (arch_set_info_guest()), and so do we, strictly:
 * everything it would refuse is -EINVAL, plus what lguest cannot give a
 * vCPU (an LDT, M:039; a GDT beyond one frame, M:029; a start in user
 * mode).  Linux's kernel selectors 0x10/0x18 name GDT entries the host
 * keeps for itself (M:029), so a vCPU started on them runs on the flat
 * kernel segments Xen gives vCPU 0 (0xe033/0xe02b), which Linux treats
 * the same.
 */
#include <linux/nospec.h>
#include <linux/slab.h>
#include <asm/xen/interface.h>
#include <xen/interface/callback.h>
#include <xen/interface/vcpu.h>
#include "xen.h"
#include "switcher.h"

/* A selector naming Linux's kernel code or data entry (any RPL). */
static bool linux_kernel_sel(u16 sel, unsigned int entry)
{
	return (sel >> 3) == entry && !(sel & 4);
}

static bool context_ok(struct lg_cpu *t, const struct vcpu_guest_context *c)
{
	const struct cpu_user_regs *u = &c->user_regs;
	unsigned int i;

	/* ctrlreg[1] is a user L4 to start with: Linux starts in the kernel. */
	if (!(c->flags & VGCF_in_kernel) || (c->flags & VGCF_i387_valid) ||
	    c->ctrlreg[1] || c->ldt_ents || c->gdt_ents > LGUEST_GDT_ENTRIES ||
	    (c->gdt_ents && c->gdt_frames[0] >= t->lg->mem_size >> PAGE_SHIFT) ||
	    c->ctrlreg[3] >= t->lg->mem_size || !IS_ALIGNED(c->ctrlreg[3], PAGE_SIZE))
		return false;
	if (!lg_xen_guest_va_ok(u->rip) ||
	    !lguest_canonical(u->rsp) || !lguest_canonical(c->kernel_sp) ||
	    !lguest_canonical(c->fs_base) || !lguest_canonical(c->gs_base_kernel) ||
	    !lguest_canonical(c->gs_base_user))
		return false;
	if (!lg_xen_guest_va_ok(c->event_callback_eip) ||
	    !lg_xen_guest_va_ok(c->failsafe_callback_eip) ||
	    !lg_xen_guest_va_ok(c->syscall_callback_eip))
		return false;
	for (i = 0; i < ARRAY_SIZE(c->trap_ctxt); i++)
		if (c->trap_ctxt[i].address && !lg_xen_guest_va_ok(c->trap_ctxt[i].address))
			return false;
	/* Only 64-bit kernel code: Linux's kernel entries, or Xen's flat ones. */
	if (!linux_kernel_sel(u->cs, GDT_ENTRY_KERNEL_CS) && (u->cs | 3) != LG_SEL_CS64)
		return false;
	return true;
}

/* Apply a checked context to the claimed, stopped vCPU @t. */
static long apply_context(struct lg_cpu *t, const struct vcpu_guest_context *c)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(t);
	const struct cpu_user_regs *u = &c->user_regs;
	unsigned int i;
	long r;

	if (c->gdt_ents) {
		r = lg_xen_load_gdt(t, c->gdt_frames[0] << PAGE_SHIFT, c->gdt_ents);
		if (r)
			return r;
	}
	if (lguest_new_pgtable(t, c->ctrlreg[3]))
		return -ENOMEM;
	t->regs = (struct lguest_hw_regs) {
		.rax = u->rax, .rbx = u->rbx, .rcx = u->rcx, .rdx = u->rdx,
		.rsi = u->rsi, .rdi = u->rdi, .rbp = u->rbp, .rsp = u->rsp,
		.r8 = u->r8, .r9 = u->r9, .r10 = u->r10, .r11 = u->r11,
		.r12 = u->r12, .r13 = u->r13, .r14 = u->r14, .r15 = u->r15,
		.rip = u->rip,
		.rflags = lguest_sanitize_rflags(u->rflags),
		.cs = LG_SEL_CS64,
		.ss = LG_SEL_DS,
	};
	memset(t->sel, 0, sizeof(t->sel));
	t->mode = LG_MODE_KERNEL;
	t->halted = false;
	/* As Xen: IOPL is the virtual one; the real one stays 0. */
	xc->iopl = (u->rflags & X86_EFLAGS_IOPL) >> X86_EFLAGS_IOPL_BIT;
	for (i = 0; i < ARRAY_SIZE(c->trap_ctxt); i++) {
		xc->traps[i].address = c->trap_ctxt[i].address;
		xc->traps[i].flags = c->trap_ctxt[i].flags;
	}
	xc->callback[CALLBACKTYPE_event] = c->event_callback_eip;
	xc->callback[CALLBACKTYPE_failsafe] = c->failsafe_callback_eip;
	xc->callback_flags[CALLBACKTYPE_failsafe] =
		c->flags & VGCF_failsafe_disables_events ? CALLBACKF_mask_events : 0;
	xc->callback[CALLBACKTYPE_syscall] = c->syscall_callback_eip;
	xc->callback_flags[CALLBACKTYPE_syscall] =
		c->flags & VGCF_syscall_disables_events ? CALLBACKF_mask_events : 0;
	xc->kernel_sp = c->kernel_sp;
	t->fsbase = u->fs ? 0 : c->fs_base;
	t->gsbase = c->gs_base_kernel;
	xc->gs_inactive = u->gs ? 0 : c->gs_base_user;
	t->changed |= CHANGED_SEGBASE;
	return 0;
}

/* VCPUOP_initialise: vCPU @t described by the context at @va. */
static long initialise(struct lg_cpu *cpu, struct lg_cpu *t, u64 va)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(t);
	struct vcpu_guest_context *c;
	long r;

	/* As Xen, in its order: initialised once; then the vcpu_info. */
	if (xc->initialised)
		return -EEXIST;
	/* Above the legacy slots, vcpu_info must be the guest's first. */
	if (t->id >= MAX_VIRT_CPUS && !READ_ONCE(xc->vi_page))
		return -EINVAL;
	c = kmalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	r = -EFAULT;
	if (lg_xen_read(cpu, va, c, sizeof(*c)))
		goto out;
	r = -EINVAL;
	if (!context_ok(t, c))
		goto out;
	/* Not initialised, so stopped: the claim is a formality. */
	r = -EEXIST;
	if (!lguest_vcpu_claim(t))
		goto out;
	r = apply_context(t, c);
	if (r) {
		lguest_vcpu_unclaim(t);
		goto out;
	}
	xc->initialised = true;
	if (c->flags & VGCF_online)
		lguest_vcpu_start(t);
	else
		lguest_vcpu_unclaim(t);
out:
	kfree(c);
	return r;
}

/* Every vCPU but @except (NULL: none) is stopped. */
static bool all_down(struct lguest *lg, struct lg_cpu *except)
{
	unsigned int i;

	for (i = 0; i < lg->nr_cpus; i++)
		if (lg->cpus[i] != except &&
		    READ_ONCE(lg->cpus[i]->vstate) != LG_VCPU_STOPPED)
			return false;
	return true;
}

/*
 * VCPUOP_down: the vCPU stops where it is; the last one up powers the
 * guest off, as on Xen.  Two going down at once may each see the other
 * up: whichever looks again after stopping powers off (the first reason
 * to end a guest is the one that stays).
 */
static long down(struct lg_cpu *cpu, struct lg_cpu *t)
{
	struct lguest *lg = cpu->lg;

	if (!all_down(lg, t)) {
		lguest_vcpu_stop(t);
		/* The stop before the second look: a full barrier. */
		smp_mb();
		if (!all_down(lg, NULL))
			return 0;
	}
	lguest_shutdown(lg, LGUEST_SHUTDOWN_POWEROFF, 0, "VCPUOP_down of the last vCPU up");
	return 0;
}

long lg_xen_smp_vcpu_op(struct lg_cpu *cpu, u64 cmd, struct lg_cpu *t, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	long r = 0;

	if (cmd == VCPUOP_is_up)
		/* Pairs with the release that starts a vCPU. */
		return smp_load_acquire(&t->vstate) == LG_VCPU_RUNNING;
	/*
	 * One at a time, as under Xen's domain lock: an up never meets a
	 * half-done initialise, nor two initialises one vCPU.
	 */
	mutex_lock(&x->smp_lock);
	switch (cmd) {
	case VCPUOP_initialise:
		r = initialise(cpu, t, arg);
		break;
	case VCPUOP_up:
		if (!lg_xen_cpu(t)->initialised)
			r = -EINVAL;
		else if (lguest_vcpu_claim(t))
			lguest_vcpu_start(t);
		break;
	case VCPUOP_down:
		r = down(cpu, t);
		break;
	default:
		r = -LG_XEN_ENOSYS;
	}
	mutex_unlock(&x->smp_lock);
	return r;
}
