// SPDX-License-Identifier: GPL-2.0
/*
 * How a Xen PV kernel hears of exceptions, and how it returns from them.
 *
 * A PV kernel has no IDT of its own: it gives Xen a trap table
 * (set_trap_table), and Xen "bounces" each exception to the handler there
 * by writing a frame on the guest kernel's stack, much as the CPU would,
 * with two words more at the bottom: the RCX and R11 Xen's own `sysret`
 * path would have clobbered.  Lowest address first:
 *
 *	RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS
 *
 * aligned to 16 bytes, as the CPU aligns its own.  CS is the interrupted
 * selector with its RPL cleared if the guest kernel was interrupted (so
 * Linux's `regs->cs & 3` tells kernel from user, though both run at CPL3),
 * and bits 32-39 of that word hold the event mask as it was; RFLAGS.IF is
 * the inverse of that mask: the guest's virtual IF.  A trap from guest
 * user mode first switches to guest kernel mode and its stack (the one
 * stack_switch named).
 *
 * The kernel returns with the iret hypercall, not `iretq`: only the host
 * can change the virtual privilege level and the event mask together.
 */
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include <asm/xen/interface.h>
#include <xen/interface/callback.h>
#include "xen.h"
#include "switcher.h"

/*
 * Write a bounce frame and enter the guest kernel at @handler.  @mask: set
 * the event mask (an interrupt gate, or a callback that asked for it).
 * Returns false if the guest was killed.
 */
bool lg_xen_bounce(struct lg_cpu *cpu, u64 handler, bool has_error, bool mask)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	bool from_user = cpu->mode == LG_MODE_USER;
	u8 old_mask = READ_ONCE(lg_xen_vcpu_info(cpu)->evtchn_upcall_mask) ? 1 : 0;
	u64 frame[9], rsp, cs = cpu->regs.cs, ss = cpu->regs.ss;
	u64 rip = cpu->regs.rip, old_rsp = cpu->regs.rsp;
	unsigned int n = 0;

	if (from_user) {
		/* Into the kernel first: its tables, its GS, its stack. */
		if (!xc->kernel_sp) {
			kill_guest(cpu, "a trap from user mode at rip %#llx, no stack_switch stack",
				   rip);
			return false;
		}
		if (!lg_xen_toggle_mode(cpu))
			return false;
		rsp = xc->kernel_sp;
	} else {
		rsp = old_rsp;
		/* Linux tells kernel from user by CS's RPL: 0 here. */
		cs &= ~3ULL;
	}
	rsp &= ~0xfULL;
	frame[n++] = cpu->regs.rcx;
	frame[n++] = cpu->regs.r11;
	if (has_error)
		frame[n++] = cpu->regs.errcode;
	frame[n++] = rip;
	frame[n++] = cs | (u64)old_mask << 32;
	frame[n++] = (cpu->regs.rflags & ~X86_EFLAGS_IF) |
		     (old_mask ? 0 : X86_EFLAGS_IF);
	frame[n++] = old_rsp;
	frame[n++] = ss;
	rsp -= n * sizeof(u64);
	if (lg_xen_write(cpu, rsp, frame, n * sizeof(u64))) {
		if (!READ_ONCE(cpu->lg->dead))
			kill_guest(cpu, "cannot write an exception frame at %#llx (rip %#llx)",
				   rsp, rip);
		return false;
	}
	if (mask)
		WRITE_ONCE(lg_xen_vcpu_info(cpu)->evtchn_upcall_mask, 1);
	cpu->regs.rsp = rsp;
	cpu->regs.rip = handler;
	cpu->regs.cs = LG_SEL_CS64;
	cpu->regs.ss = LG_SEL_DS;
	cpu->regs.rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF |
			      X86_EFLAGS_AC | X86_EFLAGS_DF);
	cpu->stats.bounces++;
	return true;
}

/*
 * Xen's toggle_guest_mode(): between guest kernel and guest user mode, a
 * PV guest changes page tables (its kernel L4 and its user L4, which
 * holds only the user half) and swaps its two GS bases, as `swapgs`
 * would.  Under lguest each L4 is an address space of its own, shadowed
 * for its mode.  Returns false if the guest was killed.
 */
bool lg_xen_toggle_mode(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	bool to_user = cpu->mode == LG_MODE_KERNEL;
	struct lg_pgdir *was = cpu->pgdir;
	u64 gs = cpu->gsbase;

	if (to_user) {
		if (!xc->user_cr3) {
			kill_guest(cpu, "iret to user mode with no user L4 (NEW_USER_BASEPTR)");
			return false;
		}
		xc->kernel_cr3 = cpu->pgdir->gcr3;
		if (lguest_new_pgtable(cpu, xc->user_cr3) || lguest_need_user_root(cpu)) {
			kill_guest(cpu, "out of memory for shadow page tables");
			return false;
		}
		cpu->mode = LG_MODE_USER;
	} else {
		cpu->mode = LG_MODE_KERNEL;
		if (lguest_new_pgtable(cpu, xc->kernel_cr3))
			return false;
	}
	cpu->gsbase = xc->gs_inactive;
	xc->gs_inactive = gs;
	cpu->changed |= CHANGED_SEGBASE | CHANGED_ROOT;
	/* The space left behind is the other mode's: fast.c's way back. */
	lguest_keep_pgdir(cpu, was);
	return true;
}

/* Bounce @vector to the trap table's handler, or kill the guest. */
static void inject(struct lg_cpu *cpu, unsigned int vector, bool has_error)
{
	struct lg_xen_trap *t = &lg_xen_cpu(cpu)->traps[vector];

	if (!t->address) {
		kill_guest(cpu, "%s %u (%s) at rip %#llx, error %#llx, not in its trap table",
			   vector < 32 ? "exception" : "software interrupt", vector,
			   vector < 32 ? lguest_trap_names[vector] ?: "reserved" : "int n",
			   cpu->regs.rip, cpu->regs.errcode);
		return;
	}
	if (lg_xen_bounce(cpu, t->address, has_error, t->flags & LG_XEN_TI_MASK))
		cpu->stats.traps_delivered++;
}

/*
 * `int n`, with RIP past its @len bytes.  Xen's gates are DPL 0, so every
 * `int n` reaches it as a #GP, and it lets the guest kernel raise a vector
 * whose trap-table DPL is at least 1 and guest user mode one whose DPL is
 * 3; anything else is the #GP the CPU would raise, error n * 8 + 2,
 * pointing at the instruction.  Software interrupts never push an error
 * code.
 */
static void software_interrupt(struct lg_cpu *cpu, unsigned int vector,
			       unsigned int len)
{
	struct lg_xen_trap *t = &lg_xen_cpu(cpu)->traps[vector];
	unsigned int cpl = cpu->mode == LG_MODE_USER ? 3 : 1;

	if (t->address && LG_XEN_TI_DPL(t->flags) >= cpl) {
		inject(cpu, vector, false);
		return;
	}
	cpu->regs.rip -= len;
	cpu->regs.errcode = vector * 8 + 2;
	inject(cpu, X86_TRAP_GP, true);
}

/* An exception for the guest (the personality's trap()). */
void lg_xen_trap(struct lg_cpu *cpu, unsigned int vector)
{
	unsigned int n, len;

	switch (vector) {
	case X86_TRAP_GP:
		if ((cpu->regs.errcode & 3) == 2) {
			len = lguest_decode_int_n(cpu, &n);
			if (READ_ONCE(cpu->lg->dead))
				return;
			if (len) {
				cpu->stats.int_n_decoded++;
				cpu->regs.rip += len;
				software_interrupt(cpu, n, len);
				return;
			}
		}
		if (lg_xen_emulate_gp(cpu))
			return;
		break;
	case X86_TRAP_UD:
		if (lg_xen_emulate_ud(cpu))
			return;
		break;
	case X86_TRAP_NM:
		/*
		 * The guest set TS (fpu_taskswitch, or CR0) to hear of its
		 * next FPU instruction: this is it, and as on Xen, telling it
		 * clears TS, so its handler's return re-executes the
		 * instruction.  Lazy FPU as Linux once did it.
		 */
		if (cpu->ts) {
			cpu->ts = 0;
			cpu->changed |= CHANGED_TS;
		}
		break;
	case X86_TRAP_PF:
		/* Linux reads CR2 from here, never from the register. */
		WRITE_ONCE(lg_xen_vcpu_info(cpu)->arch.cr2, cpu->cr2);
		break;
	case LGUEST_HCALL_VECTOR:
	case LG_INT80_VECTOR:
		/* Through one of the switcher's DPL-3 gates: `int n` too. */
		software_interrupt(cpu, vector, 2);
		return;
	}
	inject(cpu, vector, vector < 32 && lguest_has_error_code(vector));
}

/*
 * HYPERVISOR_iret: the guest kernel's return from a frame, which Linux
 * uses for every return that changes the event mask or the privilege
 * level.  At the `syscall`, the stack holds Xen's struct iret_context:
 * RAX, R11, RCX (the hypercall's own clobbers), flags, then an iretq frame.
 * The result is the saved RAX.
 */
long lg_xen_iret(struct lg_cpu *cpu)
{
	struct iret_context c;

	if (lg_xen_read(cpu, cpu->regs.rsp, &c, sizeof(c))) {
		kill_guest(cpu, "iret: cannot read its frame at %#llx", cpu->regs.rsp);
		return -EFAULT;
	}
	/* Back to user mode: its tables and its GS first. */
	if ((c.cs & 3) == 3 && !lg_xen_toggle_mode(cpu))
		return -EINVAL;
	if (!lguest_canonical(c.rip) || !lguest_canonical(c.rsp)) {
		kill_guest(cpu, "iret to rip %#llx, rsp %#llx", c.rip, c.rsp);
		return -EINVAL;
	}
	cpu->regs.rip = c.rip;
	cpu->regs.cs = (c.cs & 0xffff) | 3;
	cpu->regs.rflags = lguest_sanitize_rflags(c.rflags);
	cpu->regs.rsp = c.rsp;
	cpu->regs.ss = (c.ss & 0xffff) | 3;
	if (!(c.flags & VGCF_in_syscall)) {
		cpu->regs.r11 = c.r11;
		cpu->regs.rcx = c.rcx;
	}
	WRITE_ONCE(lg_xen_vcpu_info(cpu)->evtchn_upcall_mask,
		   !(c.rflags & X86_EFLAGS_IF));
	return c.rax;
}

/*
 * set_trap_table: entries until one whose address is 0; a NULL table
 * clears them all.  A handler must be canonical and outside the hole.
 */
long lg_xen_set_trap_table(struct lg_cpu *cpu, u64 va)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct trap_info ti;
	unsigned int i;

	if (!va) {
		memset(xc->traps, 0, sizeof(xc->traps));
		return 0;
	}
	/* 256 vectors: a longer table repeats itself, and ends here. */
	for (i = 0; i < 1024; i++, va += sizeof(ti)) {
		if (lg_xen_read(cpu, va, &ti, sizeof(ti)))
			return -EFAULT;
		if (!ti.address)
			return 0;
		if (!lg_xen_guest_va_ok(ti.address))
			return -EINVAL;
		xc->traps[ti.vector].address = ti.address;
		xc->traps[ti.vector].flags = ti.flags;
	}
	return -E2BIG;
}

/*
 * `syscall` from guest user mode: into the kernel at its syscall callback,
 * with a frame as for a trap whose RIP and RFLAGS are what the CPU put in
 * RCX and R11 (Linux then writes its own CS and SS over Xen's guess).
 * Without a callback, the #UD the CPU would raise.
 */
void lg_xen_user_syscall(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	cpu->stats.user_syscalls++;
	if (!xc->callback[CALLBACKTYPE_syscall]) {
		cpu->regs.rip -= 2;
		inject(cpu, X86_TRAP_UD, false);
		return;
	}
	cpu->regs.cs = FLAT_USER_CS64;
	cpu->regs.ss = FLAT_USER_SS64;
	cpu->regs.rflags = lguest_sanitize_rflags(cpu->regs.r11);
	lg_xen_bounce(cpu, xc->callback[CALLBACKTYPE_syscall], false,
		      xc->callback_flags[CALLBACKTYPE_syscall] & CALLBACKF_mask_events);
}
