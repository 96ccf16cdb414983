// SPDX-License-Identifier: GPL-2.0
/*
 * Host state the guest could otherwise reach, and when it is switched.
 *
 *   SYSCALL/SYSENTER MSRs  A guest `syscall` must land in the switcher, not
 *                          in the host's entry code under the guest's CR3,
 *                          and on a code segment of our GDT (STAR: Xen's
 *                          0xe008, switcher.h), with VM in SFMASK too;
 *                          SYSENTER_CS = 0 makes `sysenter` fault.
 *   PKRU                   the guest may WRPKRU at CPL3; PKRU also governs
 *                          the host's own accesses to user memory.
 *   DR7 / DR6              host breakpoints must not fire in the guest; a
 *                          guest single-step leaves DR6 bits behind.
 *   FPU/SSE/AVX            the guest's from the start of a run request to
 *                          its end (fpu_swap_kvm_fpstate(), as KVM does).
 *
 * The MSRs are switched lazily, as KVM switches its "user return" MSRs:
 * the first entry on a CPU points them at the switcher, and they stay so
 * while the vCPU thread stays in the kernel on that CPU, however many
 * trips it makes into the guest; they go back to the host's values when
 * the thread is scheduled out (a preempt notifier) or leaves the run
 * request to return to user space (lguest_vcpu_put()).  No other task can
 * run on the CPU in between, and the host kernel itself never executes
 * `syscall`, so nothing but the guest can see them.  The FPU works the same
 * way: the guest's registers stay loaded across consecutive entries; the
 * kernel's context switch saves them on sched_out, and run_guest_once()
 * reloads them.  PKRU and DR7 are cheap and stay eager:
 * PKRU must be the host's whenever our C code touches launcher memory.
 *
 * eager_host_state=1 switches the MSRs and the FPU around every single
 * entry instead, for `make bench` to compare.
 */
#include <linux/hw_breakpoint.h>
#include <linux/moduleparam.h>
#include <linux/preempt.h>
#include <linux/smp.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/pkru.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/trapnr.h>
#include "lg.h"

bool lguest_eager_host_state;
module_param_named(eager_host_state, lguest_eager_host_state, bool, 0644);
MODULE_PARM_DESC(eager_host_state, "switch SYSCALL MSRs and FPU on every guest entry (default: lazily)");

struct lg_host_msrs {
	bool loaded;		/* the switcher's values are in the MSRs */
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 sysenter_cs;
	u32 pkru;
	bool dr7_cleared;
};

static DEFINE_PER_CPU(struct lg_host_msrs, lg_host_msrs);

/* Interrupts off, or preemption off with no guest on this CPU. */
static void load_switcher_msrs(struct lg_host_msrs *h)
{
	unsigned long entry = lguest_syscall_entry();

	rdmsrl(MSR_STAR, h->star);
	rdmsrl(MSR_LSTAR, h->lstar);
	rdmsrl(MSR_CSTAR, h->cstar);
	rdmsrl(MSR_SYSCALL_MASK, h->sfmask);
	rdmsrl(MSR_IA32_SYSENTER_CS, h->sysenter_cs);
	wrmsr(MSR_STAR, 0, LG_STAR >> 32);
	wrmsrl(MSR_LSTAR, entry);
	wrmsrl(MSR_CSTAR, entry);
	/*
	 * VM as well as the host's flags: a no-op on a CPU, where V86 mode
	 * does not exist in long mode.  Under QEMU's TCG a guest can reach
	 * it (switcher_64.S, FROM_GUEST_OR), and its `syscall` would then
	 * run the switcher with VM set, loading segments as V86 code does.
	 */
	wrmsrl(MSR_SYSCALL_MASK, h->sfmask | X86_EFLAGS_VM);
	wrmsrl(MSR_IA32_SYSENTER_CS, 0);
	h->loaded = true;
}

static void restore_host_msrs(struct lg_host_msrs *h)
{
	if (!h->loaded)
		return;
	wrmsrl(MSR_STAR, h->star);
	wrmsrl(MSR_LSTAR, h->lstar);
	wrmsrl(MSR_CSTAR, h->cstar);
	wrmsrl(MSR_SYSCALL_MASK, h->sfmask);
	wrmsrl(MSR_IA32_SYSENTER_CS, h->sysenter_cs);
	h->loaded = false;
}

void lguest_host_state_enter(struct lg_cpu *cpu)
{
	struct lg_host_msrs *h = this_cpu_ptr(&lg_host_msrs);

	if (!h->loaded) {
		load_switcher_msrs(h);
		cpu->stats.msr_loads++;
	}

	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		h->pkru = read_pkru();
		if (h->pkru != cpu->pkru)
			write_pkru(cpu->pkru);
	}

	h->dr7_cleared = hw_breakpoint_active();
	if (h->dr7_cleared)
		set_debugreg(0, 7);
}

void lguest_host_state_leave(struct lg_cpu *cpu)
{
	struct lg_host_msrs *h = this_cpu_ptr(&lg_host_msrs);

	if (READ_ONCE(lguest_eager_host_state))
		restore_host_msrs(h);

	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		cpu->pkru = read_pkru();
		if (cpu->pkru != h->pkru)
			write_pkru(h->pkru);
	}

	if (h->dr7_cleared)
		hw_breakpoint_restore();
	else if (cpu->regs.trapnum == X86_TRAP_DB)
		set_debugreg(DR6_RESERVED, 6);
}

/* Scheduled out, with interrupts off: the next task gets the host's MSRs. */
static void lg_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	restore_host_msrs(this_cpu_ptr(&lg_host_msrs));
}

/* Scheduled in: nothing, the next entry loads what it needs. */
static void lg_sched_in(struct preempt_notifier *pn, int cpu)
{
}

static struct preempt_ops lg_preempt_ops = {
	.sched_in = lg_sched_in,
	.sched_out = lg_sched_out,
};

/* Once, when the vCPU is created. */
void lguest_vcpu_hoststate_init(struct lg_cpu *cpu)
{
	preempt_notifier_init(&cpu->preempt_notifier, &lg_preempt_ops);
}

/* The start of a run request (KVM's vcpu_load()). */
void lguest_vcpu_load(struct lg_cpu *cpu)
{
	preempt_disable();
	preempt_notifier_register(&cpu->preempt_notifier);
	preempt_enable();
}

/* The end of one, on the way back to user space (KVM's vcpu_put()). */
void lguest_vcpu_put(struct lg_cpu *cpu)
{
	preempt_disable();
	restore_host_msrs(this_cpu_ptr(&lg_host_msrs));
	preempt_notifier_unregister(&cpu->preempt_notifier);
	preempt_enable();
}

static void restore_this_cpu(void *unused)
{
	restore_host_msrs(this_cpu_ptr(&lg_host_msrs));
}

void lguest_host_state_init(void)
{
	preempt_notifier_inc();
}

/* At unload no vCPU runs, so every CPU has the host's MSRs; make sure. */
void lguest_host_state_exit(void)
{
	on_each_cpu(restore_this_cpu, NULL, true);
	preempt_notifier_dec();
}
