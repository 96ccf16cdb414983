// SPDX-License-Identifier: GPL-2.0
/*
 * Running a vCPU.  The launcher's vCPU thread calls pread() on /dev/lguest
 * and stays in lguest_run() for as long as the guest needs nothing from it:
 * hypercalls, traps and interrupts are all handled here, in the kernel.  We
 * come back to user space only for a NOTIFY, a shutdown, a dead guest or a
 * signal (-EINTR, so `kill` works even while the guest spins).
 */
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include "lg.h"
#include "switcher.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* Whatever the guest or the launcher asked for, IF is on and IOPL 0. */
u64 lguest_sanitize_rflags(u64 rflags)
{
	return (rflags & LG_RFLAGS_KEEP) | X86_EFLAGS_IF | X86_EFLAGS_FIXED;
}

/*
 * Make @vector pending and make sure the vCPU notices: wake it if it sleeps
 * (HALT), or force it out of the guest if it runs on another CPU.  Safe from
 * any context, including the timer's hard interrupt.
 */
void lguest_set_irq(struct lg_cpu *cpu, unsigned int vector)
{
	set_bit(vector, cpu->irqs_pending);
	lguest_kick_vcpu(cpu);
}

/*
 * Make sure a vCPU notices what was just made pending for it (an
 * interrupt, a Xen event): wake it if it sleeps, force it out of the
 * guest if it runs on another CPU.  Any context.
 */
void lguest_kick_vcpu(struct lg_cpu *cpu)
{
	struct task_struct *tsk = READ_ONCE(cpu->tsk);

	if (tsk) {
		wake_up_process(tsk);
		kick_process(tsk);
	}
}

/* A stopped vCPU, now ours to set up and start: false if it was not stopped. */
bool lguest_vcpu_claim(struct lg_cpu *t)
{
	return cmpxchg(&t->vstate, LG_VCPU_STOPPED, LG_VCPU_STARTING) == LG_VCPU_STOPPED;
}

void lguest_vcpu_unclaim(struct lg_cpu *t)
{
	/* What the claimer wrote, before the next claimer may look. */
	smp_store_release(&t->vstate, LG_VCPU_STOPPED);
}

/*
 * Start a claimed vCPU whose registers are written.  Its thread may be
 * waiting in its run request already (lguest_wait_start()), or arrive
 * later.
 */
void lguest_vcpu_start(struct lg_cpu *t)
{
	struct task_struct *tsk;

	t->changed = CHANGED_ALL;
	/* Pairs with lguest_run()'s acquire: the registers before the state. */
	smp_store_release(&t->vstate, LG_VCPU_RUNNING);
	/* Our vstate before its tsk, as it sets tsk before reading vstate. */
	smp_mb();
	tsk = READ_ONCE(t->tsk);
	if (tsk)
		wake_up_process(tsk);
}

/*
 * Stop a running vCPU where it is: itself, in a hypercall (it parks when
 * the hypercall returns), or another, which is forced out of the guest.
 * False if it was not running.
 */
bool lguest_vcpu_stop(struct lg_cpu *t)
{
	if (cmpxchg(&t->vstate, LG_VCPU_RUNNING, LG_VCPU_STOPPED) != LG_VCPU_RUNNING)
		return false;
	lguest_kick_vcpu(t);
	return true;
}

static enum hrtimer_restart lguest_clockevent(struct hrtimer *timer)
{
	struct lg_cpu *cpu = container_of(timer, struct lg_cpu, timer);

	lguest_set_irq(cpu, LGUEST_TIMER_VECTOR);
	return HRTIMER_NORESTART;
}

void lguest_vcpu_init_timer(struct lg_cpu *cpu)
{
	hrtimer_init(&cpu->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	cpu->timer.function = lguest_clockevent;
}

/*
 * A secondary vCPU's thread waits here until another vCPU starts it
 * (LHCALL_START_VCPU, which writes our registers first: acquire).
 */
static void lguest_wait_start(struct lg_cpu *cpu)
{
	set_current_state(TASK_INTERRUPTIBLE);
	/* Pairs with hcall_start_vcpu()'s release of our registers. */
	if (smp_load_acquire(&cpu->vstate) != LG_VCPU_RUNNING &&
	    !signal_pending(current) && !READ_ONCE(cpu->lg->dead))
		schedule();
	__set_current_state(TASK_RUNNING);
}

/*
 * Sleep for HALT (or a Xen guest's SCHEDOP_block) until the personality
 * sees something to wake for, or a signal arrives.  Whoever makes an
 * interrupt or event pending wakes us after making it visible.
 */
static void lguest_halt(struct lg_cpu *cpu)
{
	const struct lg_personality *ops = cpu->lg->ops;

	set_current_state(TASK_INTERRUPTIBLE);
	if (!ops->wake(cpu) && !signal_pending(current) &&
	    !READ_ONCE(cpu->lg->dead))
		schedule();
	__set_current_state(TASK_RUNNING);
	if (ops->wake(cpu))
		cpu->halted = false;
}

static void lguest_fill_dead_exit(struct lg_cpu *cpu, struct lguest_exit *exit)
{
	struct lguest *lg = cpu->lg;

	memset(exit, 0, sizeof(*exit));
	spin_lock(&lg->dead_lock);
	exit->reason = lg->dead_reason;
	exit->args[0] = lg->shutdown_code;
	exit->args[1] = lg->shutdown_status;
	memcpy(exit->msg, lg->dead_msg, sizeof(exit->msg));
	spin_unlock(&lg->dead_lock);
	exit->vcpu = cpu->id;
}

int lguest_run(struct lg_cpu *cpu, struct lguest_exit *exit)
{
	/* Read once: the guest's FPU is either in for the run, or per entry. */
	bool eager = READ_ONCE(lguest_eager_host_state);
	int ret = 0;

	lguest_vcpu_load(cpu);
	if (!eager)
		fpu_swap_kvm_fpstate(&cpu->fpu, true);
	for (;;) {
		/* An exit not yet seen goes first, even if the guest died since. */
		if (cpu->exit_pending) {
			cpu->exit_pending = false;
			*exit = cpu->exit;
			trace_run_exit(cpu->id, exit->reason);
			break;
		}
		if (READ_ONCE(cpu->lg->dead)) {
			lguest_fill_dead_exit(cpu, exit);
			trace_run_exit(cpu->id, exit->reason);
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/* Acquire: hcall_start_vcpu() wrote our registers first. */
		if (smp_load_acquire(&cpu->vstate) != LG_VCPU_RUNNING) {
			lguest_wait_start(cpu);
			continue;
		}
		if (cpu->halted) {
			lguest_halt(cpu);
			continue;
		}
		if (!cpu->lg->ops->deliver(cpu))
			continue;
		/*
		 * iretq to a non-canonical RIP faults at CPL0, in the switcher.
		 * A guest gets one by running off the end of the lower half
		 * (`syscall` at 0x7ffffffffffe leaves RCX = 1 << 47): the
		 * SYSRET problem (CVE-2012-0217), met before every entry.
		 */
		if (unlikely(!lguest_canonical(cpu->regs.rip))) {
			kill_guest(cpu, "it ran off the end of canonical memory (rip %#llx)",
				   cpu->regs.rip);
			continue;
		}

		/*
		 * The switcher loads CS, SS and the data selectors at CPL0:
		 * each must still name a descriptor it can load (vcpu/gdt.c).
		 */
		if (unlikely(!lguest_check_segments(cpu)))
			continue;

		cond_resched();
		if (eager)
			fpu_swap_kvm_fpstate(&cpu->fpu, true);
		local_irq_disable();
		/*
		 * With interrupts off nothing can kick us any more: whatever
		 * arrived since the checks above must be seen now, or it
		 * waits for the next host tick.
		 */
		if (need_resched() || signal_pending(current) ||
		    cpu->lg->ops->deliverable(cpu)) {
			local_irq_enable();
			if (eager)
				fpu_swap_kvm_fpstate(&cpu->fpu, false);
			continue;
		}
		if (unlikely(cpu->last_pcpu != smp_processor_id())) {
			cpu->last_pcpu = smp_processor_id();
			if (cpu->lg->ops->moved)
				cpu->lg->ops->moved(cpu);
		}
		trace_vcpu_entry(cpu->id, cpu->regs.rip);
		run_guest_once(cpu);
		local_irq_enable();
		if (eager)
			fpu_swap_kvm_fpstate(&cpu->fpu, false);
		trace_vcpu_exit(cpu->id, cpu->regs.trapnum, cpu->regs.rip,
				cpu->regs.errcode);

		lguest_arch_handle_trap(cpu);
	}
	if (!eager)
		fpu_swap_kvm_fpstate(&cpu->fpu, false);
	lguest_vcpu_put(cpu);
	return ret;
}
