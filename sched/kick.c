// SPDX-License-Identifier: GPL-2.0
/*
 * Getting vCPUs out of the guest.
 *
 * A vCPU in the guest runs with interrupts on, so any interrupt brings its
 * CPU back into the switcher and from there into the host's handler.  That
 * is all a kick is: an IPI.  When we want to be sure a vCPU has left the
 * guest, because we removed a shadow entry it may still have in its TLB, we
 * send the IPI and wait for the handler to run: by then the CPU has loaded
 * the host's CR3, and its next entry loads the guest's CR3 afresh, which
 * flushes every guest translation (guest roots never use PCID's no-flush).
 *
 * Which CPUs?  Each vCPU publishes the physical CPU it is entering the guest
 * on (guest_on) before it loads the guest's CR3, with a full barrier in
 * between; we read guest_on after our own writes to the shadow tables, also
 * behind a full barrier.  A vCPU we miss therefore loads its CR3 after our
 * writes, and cannot see what we removed.
 */
#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include "lg.h"

static void lg_kick_nop(void *info)
{
}

static int guest_cpu_of(struct lguest *lg, unsigned int i)
{
	struct lg_cpu *cpu = READ_ONCE(lg->cpus[i]);

	/* NULL while LHREQ_INITIALIZE is still creating it. */
	return cpu ? READ_ONCE(cpu->guest_on) : -1;
}

bool lguest_kick_running(struct lguest *lg)
{
	cpumask_var_t mask;
	unsigned int i;
	bool any = false;
	int c;

	/* Our shadow writes before their guest_on: see the comment above. */
	smp_mb();
	for (i = 0; i < lg->nr_cpus && !any; i++)
		any = guest_cpu_of(lg, i) >= 0;
	if (!any)
		return false;
	if (!zalloc_cpumask_var(&mask, GFP_ATOMIC)) {
		/* No memory for a mask: kick every CPU instead. */
		on_each_cpu(lg_kick_nop, NULL, true);
		return true;
	}
	for (i = 0; i < lg->nr_cpus; i++) {
		c = guest_cpu_of(lg, i);
		if (c >= 0)
			cpumask_set_cpu(c, mask);
	}
	/* The caller's own CPU is never in the guest: it is here. */
	preempt_disable();
	smp_call_function_many(mask, lg_kick_nop, NULL, true);
	preempt_enable();
	free_cpumask_var(mask);
	return true;
}

/*
 * The guest died: every vCPU must notice, whether it sleeps (HALT, or
 * waiting to be started) or runs in the guest on another CPU.
 */
void lguest_wake_all(struct lguest *lg)
{
	unsigned int i;

	for (i = 0; i < lg->nr_cpus; i++) {
		struct lg_cpu *cpu = READ_ONCE(lg->cpus[i]);
		struct task_struct *tsk = cpu ? READ_ONCE(cpu->tsk) : NULL;

		if (tsk) {
			wake_up_process(tsk);
			kick_process(tsk);
		}
	}
}
