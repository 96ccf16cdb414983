// SPDX-License-Identifier: GPL-2.0
/*
 * Host state the guest could otherwise reach, switched around each trip
 * into the guest (run_guest_once(), interrupts off):
 *
 *   SYSCALL/SYSENTER MSRs  A guest `syscall` must land in the switcher, not
 *                          in the host's entry code under the guest's CR3;
 *                          SYSENTER_CS = 0 makes `sysenter` fault.
 *   the TSS I/O bitmap     belongs to the launcher thread (ioperm); the
 *                          kernel rebuilds it on the way back to user space.
 *   PKRU                   the guest may WRPKRU at CPL3; PKRU also governs
 *                          the host's own accesses to user memory.
 *   DR7 / DR6              host breakpoints must not fire in the guest; a
 *                          guest single-step leaves DR6 bits behind.
 *
 * The FPU/SSE/AVX registers are the guest's from the start of a run request
 * to its end (fpu_swap_kvm_fpstate(), as KVM does); the kernel's context
 * switch code saves and restores them as the vCPU thread's own.
 *
 * Today everything here is eager: written before every entry and restored
 * after every exit.  The SMP issue moves the MSRs to preempt and user-return
 * notifiers so a run of hypercalls pays for them once.
 */
#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/pkru.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/trapnr.h>
#include "lg.h"

struct lg_host_msrs {
	u64 lstar;
	u64 cstar;
	u64 sysenter_cs;
	u32 pkru;
	bool dr7_cleared;
};

static DEFINE_PER_CPU(struct lg_host_msrs, lg_host_msrs);

void lguest_host_state_enter(struct lg_cpu *cpu)
{
	struct lg_host_msrs *h = this_cpu_ptr(&lg_host_msrs);
	unsigned long entry = lguest_syscall_entry();

	rdmsrl(MSR_LSTAR, h->lstar);
	rdmsrl(MSR_CSTAR, h->cstar);
	rdmsrl(MSR_IA32_SYSENTER_CS, h->sysenter_cs);
	wrmsrl(MSR_LSTAR, entry);
	wrmsrl(MSR_CSTAR, entry);
	wrmsrl(MSR_IA32_SYSENTER_CS, 0);

	this_cpu_write(cpu_tss_rw.x86_tss.io_bitmap_base,
		       IO_BITMAP_OFFSET_INVALID);

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

	wrmsrl(MSR_LSTAR, h->lstar);
	wrmsrl(MSR_CSTAR, h->cstar);
	wrmsrl(MSR_IA32_SYSENTER_CS, h->sysenter_cs);

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
