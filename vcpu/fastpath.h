/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fast path: an exit handled between one world switch and the next,
 * without leaving run_guest_once() (KVM's EXIT_FASTPATH_REENTER_GUEST,
 * which answers a guest's timer and IPI MSR writes before its run loop sees
 * them).  Two kinds have one: a few hypercalls (vcpu/hypercalls.c) and
 * shadow fills of pages the guest holds already (vcpu/traps.c).
 *
 * The whole way round, through lguest_run(), costs more than the switch:
 * the registers copied out of the switcher's page and back in, the host's
 * PKRU, DR7 and selectors restored and loaded again, interrupts enabled,
 * the loop's checks, the FPU where the host state is eager.  An exit that
 * needs none of it is handled with interrupts still off and the guest's
 * registers still in the switcher's page (@regs; cpu->regs is stale until
 * the exit), and the guest entered again.  A host interrupt that arrived
 * meanwhile is taken the moment the guest runs with IF set, and that exit
 * goes the whole way round: the host keeps its ticks, preemption and
 * signals, and whoever kicks this vCPU (an IPI) gets it out as before.
 *
 * What the switcher loads again without C's checks is what the guest's own
 * exit left: RIP (checked canonical here, as lguest_run() does), CS and SS
 * the switcher's constants, data selectors the guest loaded itself at CPL3
 * from a GDT nothing here changes (so they load at CPL0), and RFLAGS,
 * sanitized again.  Module parameter fast_switch turns it off with the
 * switcher's own shortcuts.
 */
#ifndef _LG_FASTPATH_H
#define _LG_FASTPATH_H

#include <linux/thread_info.h>
#include <asm/processor-flags.h>
#include "lg.h"
#include "trace.h"

/*
 * Whether the personality has something to deliver: lguest's own ABI
 * keeps every interrupt in irqs_pending, a Xen PV guest's events are in
 * its shared info, and ops->deliverable() (an indirect call) reads them.
 */
static inline bool lguest_fastpath_pending(struct lg_cpu *cpu)
{
	return lguest_irqs_pending(cpu) ||
	       (cpu->lg->ops != &lguest_native && cpu->lg->ops->deliverable(cpu));
}

/*
 * Nothing the loop must see first: reschedule, signal, interrupt, death,
 * or a state lguest_arch_handle_trap() kills for (virtual-8086 mode or a
 * CPL0 CS at CPL3, which only an emulator produces, M:054).
 */
static inline bool lguest_fastpath_ok(struct lg_cpu *cpu,
				      const struct lguest_hw_regs *regs)
{
	const unsigned long work = _TIF_NEED_RESCHED | _TIF_SIGPENDING |
				   _TIF_NOTIFY_SIGNAL;

	return READ_ONCE(lguest_fast_switch) && !lguest_fastpath_pending(cpu) &&
	       !(read_thread_flags() & work) && !READ_ONCE(cpu->lg->dead) &&
	       lguest_canonical(regs->rip) && !(regs->rflags & X86_EFLAGS_VM) &&
	       (regs->cs & 3);
}

/*
 * The exit is handled: back into the guest, unless what the handler did
 * needs the loop (an interrupt it raised on this vCPU, state for
 * copy_in_guest_info(), an exit for the launcher, the guest's death).
 * Then the exit goes the whole way with LG_TRAP_DONE, so that
 * lguest_arch_handle_trap() does not handle it twice.
 */
static inline bool lguest_fastpath_reenter(struct lg_cpu *cpu,
					   struct lguest_hw_regs *regs)
{
	if (cpu->changed || lguest_fastpath_pending(cpu) || cpu->exit_pending ||
	    READ_ONCE(cpu->lg->dead)) {
		regs->trapnum = LG_TRAP_DONE;
		return false;
	}
	regs->rflags = lguest_sanitize_rflags(regs->rflags);
	cpu->stats.entries++;
	trace_vcpu_entry(cpu->id, regs->rip);
	return true;
}

#endif /* _LG_FASTPATH_H */
