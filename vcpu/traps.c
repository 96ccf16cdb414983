// SPDX-License-Identifier: GPL-2.0
/*
 * What a trap out of the guest means, and how the guest gets traps and
 * interrupts of its own.
 *
 * The guest registers handlers with LHCALL_LOAD_IDT_ENTRY.  We deliver to a
 * handler the way an x86 interrupt gate would: aligned to 16 bytes, we push
 * SS, RSP, RFLAGS, CS, RIP and, for the vectors that have one, the error
 * code; RFLAGS carries the guest's virtual IF, which we then clear, along
 * with TF, NT and RF.  The stack is the one the CPU would pick: the
 * LG_STACK_IST stack for entries that ask (an IST), else the guest kernel's
 * stack for traps from user mode (TSS.RSP0's part), else the current one.
 * CS and SS in the frame say which virtual privilege level the trap came
 * from (LGUEST_KERNEL_CS or LGUEST_USER_CS), and every trap ends up in the
 * guest kernel.
 *
 * Guest kernel and guest user both run at CPL3, so the CPU cannot tell them
 * apart; we can, and translate: a `syscall` is a hypercall from the kernel
 * but a system call from user mode, a page fault's User bit is the virtual
 * mode's, and `int $0x80` reaches the kernel only if it allowed it.
 *
 * A trap the guest has no handler for kills it, with a reason naming the
 * trap, RIP and error code, which the launcher prints.
 */
#include <linux/uaccess.h>
#include <asm/pkru.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <asm/traps.h>
#include <asm/trapnr.h>
#include "lg.h"
#include "switcher.h"
#include "trace.h"
#include "fastpath.h"

const char *const lguest_trap_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "coprocessor segment overrun", "#TS", "#NP", "#SS", "#GP",
	"#PF", "reserved 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

bool lguest_has_error_code(unsigned int vector)
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

/*
 * The guest's virtual IF: user mode always runs with interrupts on (it
 * cannot turn them off, as on a real CPU); the kernel says in its shared
 * page, and has them off until it registers one.
 */
static u64 guest_irq_flag(struct lg_cpu *cpu)
{
	if (cpu->mode == LG_MODE_USER)
		return X86_EFLAGS_IF;
	if (!cpu->data)
		return 0;
	return READ_ONCE(cpu->data->irq_enabled) & X86_EFLAGS_IF;
}

/*
 * Push an interrupt frame for @vector and enter the guest kernel at its
 * handler.  Returns false (and kills the guest) if that is impossible.
 */
static bool push_guest_frame(struct lg_cpu *cpu, unsigned int vector,
			     bool error_code)
{
	struct lg_idt_entry *e = &cpu->idt[vector];
	bool from_user = cpu->mode == LG_MODE_USER;
	u64 frame[6], rsp;
	unsigned int n = 0;

	if (e->flags & LG_IDT_STACK)
		rsp = cpu->ist_stack;
	else if (from_user)
		rsp = cpu->kernel_stack;
	else
		rsp = cpu->regs.rsp;
	if (from_user && !rsp) {
		kill_guest(cpu, "trap %u in user mode, and no kernel stack to take it on",
			   vector);
		return false;
	}
	rsp &= ~0xfULL;
	if (error_code)
		frame[n++] = cpu->regs.errcode;
	frame[n++] = cpu->regs.rip;
	frame[n++] = from_user ? LGUEST_USER_CS : LGUEST_KERNEL_CS;
	frame[n++] = (cpu->regs.rflags & ~X86_EFLAGS_IF) | guest_irq_flag(cpu);
	frame[n++] = cpu->regs.rsp;
	frame[n++] = from_user ? LGUEST_USER_SS : LGUEST_KERNEL_SS;
	rsp -= n * sizeof(u64);

	/* The kernel takes the trap: its stack is written as it sees it. */
	cpu->mode = LG_MODE_KERNEL;
	if (lguest_copy_to_guest(cpu, rsp, frame, n * sizeof(u64))) {
		kill_guest(cpu, "cannot push the frame for vector %u at %#llx",
			   vector, rsp);
		return false;
	}
	if (cpu->data)
		WRITE_ONCE(cpu->data->irq_enabled, 0);
	cpu->regs.rsp = rsp;
	cpu->regs.rip = e->handler;
	/* The kernel runs on the flat segments, whatever user mode had. */
	cpu->regs.cs = __USER_CS;
	cpu->regs.ss = __USER_DS;
	cpu->regs.rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF);
	return true;
}

bool lguest_deliver_trap(struct lg_cpu *cpu, unsigned int vector)
{
	if (!(cpu->idt[vector].flags & LG_IDT_PRESENT))
		return false;
	if (push_guest_frame(cpu, vector, lguest_has_error_code(vector)))
		cpu->stats.traps_delivered++;
	return true;
}

/* Copy our pending bits to the guest, so it knows to SEND_INTERRUPTS. */
static void mirror_pending(struct lg_cpu *cpu)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		WRITE_ONCE(cpu->data->irq_pending[i], cpu->irqs_pending[i]);
}

/* An interrupt is pending that the guest would take right now. */
static bool native_deliverable(struct lg_cpu *cpu)
{
	return lguest_irqs_pending(cpu) && cpu->data &&
	       guest_irq_flag(cpu);
}

/*
 * Before each entry: if an interrupt is pending and the guest's virtual IF
 * allows, deliver the highest pending vector (as a local APIC would).
 * Returns false if the guest was killed.
 */
static bool native_deliver(struct lg_cpu *cpu)
{
	unsigned int vector;

	if (!lguest_irqs_pending(cpu) || !cpu->data)
		return true;
	if (!guest_irq_flag(cpu)) {
		mirror_pending(cpu);
		return true;
	}

	vector = find_last_bit(cpu->irqs_pending, 256);
	if (!test_and_clear_bit(vector, cpu->irqs_pending))
		return true;
	if (!(cpu->idt[vector].flags & LG_IDT_PRESENT)) {
		kill_guest(cpu, "interrupt %u arrived with no handler", vector);
		return false;
	}
	if (vector == LGUEST_TIMER_VECTOR)
		WRITE_ONCE(cpu->data->time_ns, ktime_get_real_ns());
	if (!push_guest_frame(cpu, vector, false))
		return false;
	mirror_pending(cpu);
	cpu->stats.irqs_delivered++;
	return true;
}

static void kill_for_trap(struct lg_cpu *cpu, unsigned int vector)
{
	kill_guest(cpu, "unhandled trap %u (%s) at rip %#llx, error %#llx%s",
		   vector, lguest_trap_names[vector] ?: "reserved",
		   cpu->regs.rip, cpu->regs.errcode,
		   vector == X86_TRAP_PF ? ", see cr2" : "");
}

static void deliver_or_kill(struct lg_cpu *cpu, unsigned int vector)
{
	if (lguest_deliver_trap(cpu, vector))
		return;
	if (vector == X86_TRAP_PF)
		kill_guest(cpu, "unhandled page fault at %#llx (error %#llx) at rip %#llx",
			   cpu->cr2, cpu->regs.errcode, cpu->regs.rip);
	else
		kill_for_trap(cpu, vector);
}

/*
 * `int $n`, with RIP already past its @len bytes: a software interrupt for
 * the guest kernel if its gate would let this mode in (no error code,
 * whatever the vector: software interrupts never push one), otherwise the
 * #GP a real CPU raises for a gate of too high a privilege, with the IDT
 * error code n*8+2, pointing at the instruction.
 */
static void software_interrupt(struct lg_cpu *cpu, unsigned int vector,
			       unsigned int len)
{
	struct lg_idt_entry *e = &cpu->idt[vector];

	if ((e->flags & LG_IDT_PRESENT) &&
	    (cpu->mode == LG_MODE_KERNEL || (e->flags & LG_IDT_USER))) {
		if (push_guest_frame(cpu, vector, false))
			cpu->stats.traps_delivered++;
		return;
	}
	cpu->regs.rip -= len;
	cpu->regs.errcode = vector * 8 + 2;
	deliver_or_kill(cpu, X86_TRAP_GP);
}

/*
 * A #GP whose error code has the IDT bit: the CPU refused a gate, which
 * for a guest means `int n` met one of our DPL-0 gates (every vector but
 * the four the guest may raise directly).  Which vector it asked for we
 * read from the instruction at RIP, never from the error code: hardware
 * reports n*8+2, QEMU's TCG n*16+2 (docs/NOTES.md).  The instruction is CD
 * ib after any legacy or REX prefixes.  Returns its length, or 0 if the
 * bytes there are not an `int n` (the guest changed them meanwhile, or an
 * emulator raised this #GP for something else): that #GP goes to the
 * guest as the CPU made it.
 */
unsigned int lguest_decode_int_n(struct lg_cpu *cpu, unsigned int *vector)
{
	u32 access = X86_PF_INSTR | (cpu->mode == LG_MODE_USER ? X86_PF_USER : 0);
	u8 insn[15];
	u64 n, i;

	n = lguest_read_guest(cpu, cpu->regs.rip, insn, sizeof(insn), access);
	for (i = 0; i < n; i++) {
		switch (insn[i]) {
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64:
		case 0x65: case 0x66: case 0x67: case 0xf0: case 0xf2:
		case 0xf3:
		case 0x40 ... 0x4f:
			continue;
		case 0xcd:
			if (i + 1 >= n)
				return 0;
			*vector = insn[i + 1];
			return i + 2;
		default:
			return 0;
		}
	}
	return 0;
}

static void general_protection(struct lg_cpu *cpu)
{
	unsigned int vector, len;

	if ((cpu->regs.errcode & 3) == 2) {
		len = lguest_decode_int_n(cpu, &vector);
		if (READ_ONCE(cpu->lg->dead))
			return;
		if (len) {
			cpu->stats.int_n_decoded++;
			cpu->regs.rip += len;
			software_interrupt(cpu, vector, len);
			return;
		}
	}
	deliver_or_kill(cpu, X86_TRAP_GP);
}

/*
 * A `syscall` in guest user mode: enter the guest kernel at its syscall
 * entry, as the CPU would.  The CPU already put the user's RIP in RCX and
 * its RFLAGS in R11; the kernel gets interrupts off and clean flags, and
 * switches stacks itself.  Without an entry, the CPU would raise #UD.
 * The switcher does the same by itself when it may (switcher_64.S).
 */
static void native_user_syscall(struct lg_cpu *cpu)
{
	cpu->stats.user_syscalls++;
	if (!cpu->syscall_entry) {
		cpu->regs.rip -= 2;
		deliver_or_kill(cpu, X86_TRAP_UD);
		return;
	}
	/* RCX and R11 already hold the user's RIP and RFLAGS: the CPU's doing. */
	cpu->regs.rip = cpu->syscall_entry;
	cpu->regs.rflags = X86_EFLAGS_IF | X86_EFLAGS_FIXED;
	cpu->mode = LG_MODE_KERNEL;
	if (cpu->data)
		WRITE_ONCE(cpu->data->irq_enabled, 0);
}

/*
 * An exception for a native guest: a software interrupt through one of the
 * switcher's DPL-3 gates (the hypercall gate is a hypercall from the
 * kernel), an `int n` behind a #GP, or a trap its IDT may take.  A #PF
 * comes with the guest's own error code; the kernel reads CR2 from its
 * shared page.
 */
static void native_trap(struct lg_cpu *cpu, unsigned int vector)
{
	switch (vector) {
	case LGUEST_HCALL_VECTOR:
		if (cpu->mode == LG_MODE_USER)
			software_interrupt(cpu, vector, 2);
		else
			lguest_do_hypercall(cpu);
		return;
	case LG_INT80_VECTOR:
		software_interrupt(cpu, vector, 2);
		return;
	case X86_TRAP_GP:
		general_protection(cpu);
		return;
	case X86_TRAP_PF:
		if (cpu->data)
			WRITE_ONCE(cpu->data->cr2, cpu->cr2);
		break;
	}
	deliver_or_kill(cpu, vector);
}

/* A halted native vCPU wakes for any pending vector, as HLT does. */
static bool native_wake(struct lg_cpu *cpu)
{
	return lguest_irqs_pending(cpu);
}

/* LHREQ_IRQ: a device's vector; the exception vectors are not the launcher's. */
static int native_irq(struct lg_cpu *cpu, u32 vector)
{
	if (vector < FIRST_EXTERNAL_VECTOR || vector > 255)
		return -EINVAL;
	lguest_set_irq(cpu, vector);
	return 0;
}

const struct lg_personality lguest_native = {
	.name = "lguest",
	.irq = native_irq,
	.hypercall = lguest_do_hypercall,
	.user_syscall = native_user_syscall,
	.trap = native_trap,
	.deliver = native_deliver,
	.deliverable = native_deliverable,
	.wake = native_wake,
};

/*
 * A #PF exit: fill the shadow, or give the guest its own fault (LG_PF_GP:
 * the address is one no CPU could use, a #GP with error code 0).
 */
static void page_fault(struct lg_cpu *cpu)
{
	u64 error = 0;
	int outcome = lguest_demand_page(cpu, &error);

	trace_shadow_fault(cpu->id, cpu->cr2, cpu->regs.errcode, outcome);
	switch (outcome) {
	case LG_PF_FIXED:
	case LG_PF_DEAD:
		return;
	case LG_PF_GP:
		cpu->regs.errcode = 0;
		cpu->lg->ops->trap(cpu, X86_TRAP_GP);
		return;
	case LG_PF_REFLECT:
		cpu->regs.errcode = error;
		cpu->lg->ops->trap(cpu, X86_TRAP_PF);
		return;
	}
}

/*
 * The fast path (vcpu/fastpath.h) for a #PF whose fill needs nothing that
 * sleeps or waits: a page the guest holds already.  @pd and @mode are the
 * space and virtual mode the switcher ran the guest in, @cr2 the address.
 * The walk runs with page faults off (a guest table the launcher has paged
 * out gives up), and with the guest's own PKRU, which it may have changed
 * since its last exit: it is still in the register.  Whatever the fill
 * cannot do here, and every fault that is the guest's, goes the whole way
 * round with the walk kept (pgtable/shadow.c), so it is not made twice.
 */
bool lguest_pf_fastpath(struct lg_cpu *cpu, struct lguest_hw_regs *regs,
			struct lg_pgdir *pd, unsigned int mode, u64 cr2)
{
	int outcome;

	/* On PREEMPT_RT mmu_lock sleeps: not even a trylock here. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT) || !lguest_fastpath_ok(cpu, regs))
		return false;
	if (cpu_feature_enabled(X86_FEATURE_OSPKE))
		cpu->pkru = read_pkru();
	pagefault_disable();
	outcome = lguest_demand_page_nowait(cpu, pd, mode, cr2, regs->errcode);
	pagefault_enable();
	if (outcome != LG_PF_FIXED)
		return false;
	trace_vcpu_exit(cpu->id, regs->trapnum, regs->rip, regs->errcode);
	trace_shadow_fault(cpu->id, cr2, regs->errcode, outcome);
	return lguest_fastpath_reenter(cpu, regs);
}

/*
 * Called after every exit, with interrupts on, in the vCPU's thread.  What
 * is the host's is handled here; what is the guest's goes to its
 * personality.
 */
void lguest_arch_handle_trap(struct lg_cpu *cpu)
{
	const struct lg_personality *ops = cpu->lg->ops;
	unsigned int vector = cpu->regs.trapnum;

	/*
	 * Virtual-8086 mode, or a CS that says CPL0 while the guest ran at
	 * CPL3: no x86-64 CPU gets there, QEMU's TCG does (switcher_64.S says
	 * how the exit got here, M:054 the rest).  Nothing can be made of
	 * such a state, so the guest goes no further.
	 */
	if (unlikely(cpu->regs.rflags & X86_EFLAGS_VM)) {
		kill_guest(cpu,
			   "it entered virtual-8086 mode (vector %u at %#llx), an emulator bug",
			   vector, cpu->regs.rip);
		return;
	}
	if (unlikely(!(cpu->regs.cs & 3))) {
		kill_guest(cpu, "it ran on CS %#llx at CPL3 (vector %u at %#llx), an emulator bug",
			   cpu->regs.cs, vector, cpu->regs.rip);
		return;
	}

	switch (vector) {
	case LG_TRAP_SYSCALL:
		if (cpu->mode == LG_MODE_USER)
			ops->user_syscall(cpu);
		else
			ops->hypercall(cpu);
		return;
	case X86_TRAP_NMI:
	case LG_TRAP_PENDING:
		/* The host's, and handled. */
		return;
	case LG_TRAP_DONE:
		/* Handled by the fast path (vcpu/fastpath.h). */
		return;
	case X86_TRAP_MC:
		/* The host's handler has seen it (switcher.c). */
		kill_guest(cpu, "machine check while the guest ran");
		return;
	case X86_TRAP_PF:
		page_fault(cpu);
		return;
	}
	/* Host interrupts were the host's, and are handled. */
	if (vector >= FIRST_EXTERNAL_VECTOR && vector != LG_INT80_VECTOR)
		return;
	ops->trap(cpu, vector);
}
