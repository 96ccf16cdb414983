// SPDX-License-Identifier: GPL-2.0
/*
 * What a trap out of the guest means, and how the guest gets traps and
 * interrupts of its own.
 *
 * The guest registers handlers with LHCALL_LOAD_IDT_ENTRY.  We deliver to a
 * handler the way an x86 interrupt gate would: on the current stack (or the
 * SET_STACK stack, for entries that ask, as an IST would), aligned to 16
 * bytes, we push SS, RSP, RFLAGS, CS, RIP and, for the vectors that have one,
 * the error code; RFLAGS carries the guest's virtual IF, which we then clear,
 * along with TF, NT and RF.  The guest returns with a plain iretq (legal at
 * CPL3 to CPL3) after restoring its virtual IF from the frame.
 *
 * A trap the guest has no handler for kills it, with a reason naming the
 * trap, RIP and error code, which the launcher prints.
 */
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>
#include <asm/trapnr.h>
#include "lg.h"
#include "switcher.h"

static const char *const trap_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "coprocessor segment overrun", "#TS", "#NP", "#SS", "#GP",
	"#PF", "reserved 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static bool has_error_code(unsigned int vector)
{
	switch (vector) {
	case X86_TRAP_DF:
	case X86_TRAP_TS:
	case X86_TRAP_NP:
	case X86_TRAP_SS:
	case X86_TRAP_GP:
	case X86_TRAP_PF:
	case X86_TRAP_AC:
	case X86_TRAP_CP:
	case X86_TRAP_VC:
	case 30:
		return true;
	}
	return false;
}

static u64 __user *lguest_data_field(struct lg_cpu *cpu, size_t off)
{
	return lguest_gpa_to_user(cpu->lg, cpu->data_gpa + off);
}

#define DATA_FIELD(cpu, field) \
	lguest_data_field(cpu, offsetof(struct lguest_data, field))

/* The guest's virtual IF, X86_EFLAGS_IF or 0 (0 until it registers data). */
static int guest_irq_enabled(struct lg_cpu *cpu, u64 *flag)
{
	*flag = 0;
	if (!cpu->data_gpa)
		return 0;
	if (get_user(*flag, DATA_FIELD(cpu, irq_enabled)))
		return -EFAULT;
	*flag &= X86_EFLAGS_IF;
	return 0;
}

/*
 * Push an interrupt frame for @vector and point the guest at its handler.
 * Returns false (and kills the guest) if that is impossible.
 */
static bool push_guest_frame(struct lg_cpu *cpu, unsigned int vector)
{
	struct lg_idt_entry *e = &cpu->idt[vector];
	u64 frame[6], rsp, irq_flag;
	unsigned int n = 0;

	if (guest_irq_enabled(cpu, &irq_flag)) {
		kill_guest(cpu, "cannot read the shared data page at %#llx",
			   cpu->data_gpa);
		return false;
	}

	rsp = (e->flags & LG_IDT_STACK) ? cpu->trap_stack : cpu->regs.rsp;
	rsp &= ~0xfULL;
	if (has_error_code(vector))
		frame[n++] = cpu->regs.errcode;
	frame[n++] = cpu->regs.rip;
	frame[n++] = cpu->regs.cs;
	frame[n++] = (cpu->regs.rflags & ~X86_EFLAGS_IF) | irq_flag;
	frame[n++] = cpu->regs.rsp;
	frame[n++] = cpu->regs.ss;
	rsp -= n * sizeof(u64);

	/* Guest virtual = guest physical until shadow paging arrives. */
	if (!lguest_guest_range_ok(cpu->lg, rsp, n * sizeof(u64)) ||
	    copy_to_user(lguest_gpa_to_user(cpu->lg, rsp), frame,
			 n * sizeof(u64))) {
		kill_guest(cpu, "cannot push the frame for vector %u at %#llx",
			   vector, rsp);
		return false;
	}
	if (cpu->data_gpa && put_user(0, DATA_FIELD(cpu, irq_enabled))) {
		kill_guest(cpu, "cannot write the shared data page");
		return false;
	}
	cpu->regs.rsp = rsp;
	cpu->regs.rip = e->handler;
	cpu->regs.rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF);
	return true;
}

bool lguest_deliver_trap(struct lg_cpu *cpu, unsigned int vector)
{
	if (!(cpu->idt[vector].flags & LG_IDT_PRESENT))
		return false;
	if (push_guest_frame(cpu, vector))
		cpu->stats.traps_delivered++;
	return true;
}

/* Copy our pending bits to the guest, so it knows to SEND_INTERRUPTS. */
static int mirror_pending(struct lg_cpu *cpu)
{
	unsigned long bits[4];

	bitmap_copy(bits, cpu->irqs_pending, 256);
	return copy_to_user(DATA_FIELD(cpu, irq_pending), bits, sizeof(bits));
}

/*
 * Before each entry: if an interrupt is pending and the guest's virtual IF
 * allows, deliver the highest pending vector (as a local APIC would).
 * Returns false if the guest was killed.
 */
bool lguest_deliver_interrupt(struct lg_cpu *cpu)
{
	unsigned int vector;
	u64 enabled;

	if (bitmap_empty(cpu->irqs_pending, 256) || !cpu->data_gpa)
		return true;
	if (guest_irq_enabled(cpu, &enabled))
		goto bad_data;
	if (!enabled) {
		if (mirror_pending(cpu))
			goto bad_data;
		return true;
	}

	vector = find_last_bit(cpu->irqs_pending, 256);
	if (!test_and_clear_bit(vector, cpu->irqs_pending))
		return true;
	if (!(cpu->idt[vector].flags & LG_IDT_PRESENT)) {
		kill_guest(cpu, "interrupt %u arrived with no handler", vector);
		return false;
	}
	if (vector == LGUEST_TIMER_VECTOR &&
	    put_user(ktime_get_real_ns(), DATA_FIELD(cpu, time_ns)))
		goto bad_data;
	if (!push_guest_frame(cpu, vector) || mirror_pending(cpu))
		goto bad_data;
	cpu->stats.irqs_delivered++;
	return true;

bad_data:
	kill_guest(cpu, "cannot use the shared data page at %#llx",
		   cpu->data_gpa);
	return false;
}

static void kill_for_trap(struct lg_cpu *cpu, unsigned int vector)
{
	kill_guest(cpu, "unhandled trap %u (%s) at rip %#llx, error %#llx%s",
		   vector, trap_names[vector] ?: "reserved",
		   cpu->regs.rip, cpu->regs.errcode,
		   vector == X86_TRAP_PF ? ", see cr2" : "");
}

/* Called after every exit, with interrupts on, in the vCPU's thread. */
void lguest_arch_handle_trap(struct lg_cpu *cpu)
{
	unsigned int vector = cpu->regs.trapnum;

	/* The guest must stay a 64-bit user of the host's selectors. */
	if (cpu->regs.cs != __USER_CS || cpu->regs.ss != __USER_DS) {
		kill_guest(cpu, "guest left 64-bit mode (cs %#llx, ss %#llx) at rip %#llx",
			   cpu->regs.cs, cpu->regs.ss, cpu->regs.rip);
		return;
	}

	if (vector == LG_TRAP_SYSCALL || vector == LGUEST_HCALL_VECTOR) {
		lguest_do_hypercall(cpu);
		return;
	}
	/* Host interrupts and NMIs were the host's, and are handled. */
	if (vector >= FIRST_EXTERNAL_VECTOR || vector == X86_TRAP_NMI)
		return;
	if (vector == X86_TRAP_MC) {
		kill_guest(cpu, "machine check while the guest ran");
		return;
	}
	if (vector == X86_TRAP_PF && cpu->data_gpa &&
	    put_user(cpu->cr2, DATA_FIELD(cpu, cr2))) {
		kill_guest(cpu, "cannot write the shared data page");
		return;
	}
	if (!lguest_deliver_trap(cpu, vector)) {
		if (vector == X86_TRAP_PF)
			kill_guest(cpu, "unhandled page fault at %#llx (error %#llx) at rip %#llx",
				   cpu->cr2, cpu->regs.errcode, cpu->regs.rip);
		else
			kill_for_trap(cpu, vector);
	}
}
