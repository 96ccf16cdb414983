// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of the switcher: the IDT every guest runs under, this CPU's
 * struct lguest_pages, and run_guest_once(), which puts one vCPU on this
 * physical CPU for one trip and hands the host whatever interrupted it.
 * Read switcher_64.S first: this file only prepares what it needs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/segment.h>
#include <asm/irq_vectors.h>
#include <asm/nospec-branch.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include <asm/traps.h>
#include "lg.h"
#include "switcher.h"

/*
 * Guest `int $0x80` comes through a DPL-3 gate of vector 0x80, which the
 * host must never use for a device: it keeps it (IA32_SYSCALL_VECTOR) only
 * with ia32 emulation.
 */
#if !IS_ENABLED(CONFIG_IA32_EMULATION)
#error "lguest needs CONFIG_IA32_EMULATION: it keeps vector 0x80 from devices"
#endif

/* Shared by every CPU and mapped into every guest. */
struct lg_switcher_data lg_switcher_data __section(".lg_switcher.data");

/* What guest roots carry in CR3's low bits: a private PCID, or nothing. */
static u64 lg_guest_pcid;
/* The host maps its kernel with global pages (CR4.PGE). */
static bool lg_host_global;

/* The vCPU that last ran on this CPU (copy_in_guest_info()). */
static DEFINE_PER_CPU(struct lg_cpu *, lg_last_cpu);
/* The guest (struct lguest's uid) that last ran on this CPU, for IBPB. */
static DEFINE_PER_CPU(u64, lg_last_guest);

/*
 * The direct switch (switcher_64.S) on or off: off, every user syscall and
 * every return to user mode goes through the host's C code, for comparison
 * (make bench) and as the always-correct slow path.
 */
bool lguest_fast_switch = true;
module_param_named(fast_switch, lguest_fast_switch, bool, 0644);
MODULE_PARM_DESC(fast_switch, "switch between guest user and kernel mode inside the switcher (default on)");

/* Where @text, in the switcher's section, runs: its alias in the hole. */
unsigned long lguest_hole_alias(const void *text)
{
	return LG_TEXT_VA + ((unsigned long)text - (unsigned long)lg_switcher_text_start);
}

unsigned long lguest_syscall_entry(void)
{
	return lguest_hole_alias(lg_syscall_entry);
}

/*
 * Our IDT: every vector goes to the switcher's stubs in the hole.  The
 * guest may raise #BP and #OF itself (int3, into), as user code can
 * natively, make hypercalls through LGUEST_HCALL_VECTOR and system calls
 * through int $0x80 (a vector the host never uses for a device, so it
 * cannot be mistaken for a host interrupt); every other `int n` it tries
 * hits a DPL-0 gate and becomes a #GP, which traps.c decodes.  The vectors
 * that need a known-good stack (#DF, NMI, #DB, #MC) use the host's IST
 * numbers: our TSS has our stacks under them, and while the host's TSS is
 * loaded (the edges of the switch) they are the host's own.  The gates use
 * the host's __KERNEL_CS, which our GDTs keep as entry 2.
 */
static void lguest_build_idt(void)
{
	unsigned int v, dpl, ist;

	for (v = 0; v < 256; v++) {
		dpl = (v == X86_TRAP_BP || v == X86_TRAP_OF ||
		       v == LGUEST_HCALL_VECTOR || v == LG_INT80_VECTOR) ? 3 : 0;
		switch (v) {
		case X86_TRAP_DF:
			ist = IST_INDEX_DF + 1;
			break;
		case X86_TRAP_NMI:
			ist = IST_INDEX_NMI + 1;
			break;
		case X86_TRAP_DB:
			ist = IST_INDEX_DB + 1;
			break;
		case X86_TRAP_MC:
			ist = IST_INDEX_MCE + 1;
			break;
		default:
			ist = 0;
			break;
		}
		pack_gate(&lg_switcher_data.idt[v], GATE_INTERRUPT,
			  lguest_hole_alias(lg_trap_stubs) + 16 * v, dpl, ist,
			  __KERNEL_CS);
	}
	lg_switcher_data.idt_desc.size = sizeof(lg_switcher_data.idt) - 1;
	lg_switcher_data.idt_desc.address = LG_SWDATA_VA + LGS_IDT;
	/* The GDT at an address that says nothing about which CPU this is. */
	lg_switcher_data.alias_gdt_desc.size = LG_GDT_LIMIT;
	lg_switcher_data.alias_gdt_desc.address = LG_CUR_VA + LGA_GDT;
	/* VERW's operand: a data selector of ours. */
	lg_switcher_data.verw_sel = LG_SEL_HV_DS;
}

/* The switcher's pages, for pgtable/ to map into each guest. */
void lguest_switcher_ranges(unsigned long *text, unsigned long *text_end,
			    unsigned long *data, unsigned long *data_end)
{
	*text = (unsigned long)lg_switcher_text_start;
	*text_end = (unsigned long)lg_switcher_text_end;
	*data = (unsigned long)&lg_switcher_data;
	*data_end = *data + sizeof(lg_switcher_data);
}

/*
 * The host's global TLB entries survive the CR3 load: if the guest maps
 * anything in the upper half, where they are, they must go
 * (switcher_64.S).  Its lower half never meets one.  A Xen PV guest's fast
 * paths may load the other mode's space too.  Worked out again after a
 * fill on the fast path, which may map the upper half for the first time.
 */
static void set_flush_global(struct lg_cpu *cpu, struct lguest_pages *pages)
{
	pages->flush_global = lg_host_global &&
		(READ_ONCE(cpu->pgdir->upper) ||
		 ((pages->fast & (LG_FAST_XEN_SYSCALL | LG_FAST_XEN_IRET)) &&
		  READ_ONCE(cpu->other_pgdir->upper)));
	if (pages->flush_global)
		cpu->stats.global_flushes++;
}

/*
 * copy_in_guest_info(): the registers always go in (C code changes them on
 * nearly every exit); the rest only when it changed, or when this CPU's pages
 * last held another vCPU, or this vCPU last used another CPU's pages.
 */
static void copy_in_guest_info(struct lg_cpu *cpu, struct lguest_pages *pages)
{
	bool full = false;
	u64 fast = 0;

	if (__this_cpu_read(lg_last_cpu) != cpu || cpu->last_pages != pages) {
		full = true;
		__this_cpu_write(lg_last_cpu, cpu);
		cpu->last_pages = pages;
		cpu->changed = CHANGED_ALL;
		cpu->stats.full_copies++;
	}
	pages->regs = cpu->regs;
	pages->guest_sel[0] = cpu->sel[0];
	pages->guest_sel[1] = cpu->sel[1];
	pages->guest_sel[2] = cpu->sel[2];
	pages->guest_sel[3] = cpu->sel[3];
	/* Whatever the guest or the launcher left there, IF is on, IOPL 0. */
	pages->regs.rflags = lguest_sanitize_rflags(cpu->regs.rflags);
	pages->guest_mode = cpu->mode;
	pages->next_hcall = cpu->next_hcall;
	if (cpu->changed & CHANGED_ROOT) {
		u64 user = lguest_root_cr3(cpu, LG_MODE_USER);

		pages->kernel_cr3 = lguest_root_cr3(cpu, LG_MODE_KERNEL) | lg_guest_pcid;
		pages->user_cr3 = user ? user | lg_guest_pcid : 0;
	}
	if (cpu->changed & CHANGED_SEGBASE) {
		pages->guest_fsbase = cpu->fsbase;
		pages->guest_gsbase = cpu->gsbase;
	}
	if (cpu->changed & CHANGED_TS)
		pages->guest_ts = cpu->ts;
	if (cpu->changed & CHANGED_ENTRY)
		pages->syscall_rip = cpu->syscall_entry;
	if (cpu->changed & CHANGED_GDT) {
		struct lg_cpu_area *a = this_cpu_ptr(&lg_area);

		if (full) {
			/* The vCPU's entries, and nothing another left above. */
			memcpy(a->gdt, cpu->gdt, cpu->gdt_ents * sizeof(u64));
			if (a->gdt_ents > cpu->gdt_ents)
				memset(&a->gdt[cpu->gdt_ents], 0,
				       (a->gdt_ents - cpu->gdt_ents) * sizeof(u64));
			a->gdt_ents = cpu->gdt_ents;
		} else if (cpu->gdt_hi > cpu->gdt_lo) {
			/* This CPU has the rest already: a TLS switch, say. */
			memcpy(&a->gdt[cpu->gdt_lo], &cpu->gdt[cpu->gdt_lo],
			       (cpu->gdt_hi - cpu->gdt_lo) * sizeof(u64));
			a->gdt_ents = max(a->gdt_ents, cpu->gdt_hi);
		}
		cpu->gdt_lo = LGUEST_GDT_ENTRIES;
		cpu->gdt_hi = 0;
		cpu->stats.gdt_loads++;
	}
	cpu->changed = 0;

	/* What the switcher may do alone (switcher.h explains the promises). */
	if (READ_ONCE(lguest_fast_switch)) {
		if (cpu->data) {
			if (cpu->syscall_entry)
				fast |= LG_FAST_SYSCALL;
			if (pages->user_cr3 && !lguest_irqs_pending(cpu))
				fast |= LG_FAST_RETURN;
		} else if (cpu->lg->ops == &lguest_xen_pv) {
			fast = lg_xen_fast_entry(cpu, pages, lg_guest_pcid);
		}
	}
	pages->fast = fast;
	set_flush_global(cpu, pages);
}

static void copy_out_guest_info(struct lg_cpu *cpu, struct lguest_pages *pages)
{
	cpu->regs = pages->regs;
	cpu->sel[0] = pages->guest_sel[0];
	cpu->sel[1] = pages->guest_sel[1];
	cpu->sel[2] = pages->guest_sel[2];
	cpu->sel[3] = pages->guest_sel[3];
	cpu->fsbase = pages->guest_fsbase;
	cpu->gsbase = pages->guest_gsbase;
	cpu->cr2 = pages->cr2;
	/* The switcher may have changed modes by itself, and counted. */
	if (pages->fast_syscalls | pages->fast_returns | pages->fast_stacks |
	    pages->fast_segbases | pages->fast_faults) {
		unsigned int was = cpu->mode;

		cpu->mode = pages->guest_mode;
		if (cpu->lg->ops == &lguest_xen_pv)
			lg_xen_fast_exit(cpu, pages, was);
		cpu->stats.fast_syscalls += pages->fast_syscalls;
		cpu->stats.fast_returns += pages->fast_returns;
		pages->fast_syscalls = 0;
		pages->fast_returns = 0;
		pages->fast_stacks = 0;
		pages->fast_segbases = 0;
		pages->fast_faults = 0;
	}
}

/*
 * The mitigations the switcher applies on this host (LGUEST_MIT_*): the
 * alternatives in switcher_64.S were patched at load by the same feature
 * bits, which the host kernel chose at boot from the CPU's bugs and the
 * command line (mitigations=, spectre_v2=, retbleed=, mds=, ...).
 */
u32 lguest_mitigations(void)
{
	u32 m = 0;

	if (cpu_feature_enabled(X86_FEATURE_CLEAR_CPU_BUF) ||
	    cpu_feature_enabled(X86_FEATURE_CLEAR_CPU_BUF_VM))
		m |= LGUEST_MIT_VERW;
	if (cpu_feature_enabled(X86_FEATURE_KERNEL_IBRS))
		m |= LGUEST_MIT_IBRS;
	if (cpu_feature_enabled(X86_FEATURE_RSB_VMEXIT) ||
	    cpu_feature_enabled(X86_FEATURE_RSB_VMEXIT_LITE))
		m |= LGUEST_MIT_RSB_FILL;
	if (cpu_feature_enabled(X86_FEATURE_UNRET) ||
	    cpu_feature_enabled(X86_FEATURE_SRSO_ALIAS))
		m |= LGUEST_MIT_UNTRAIN_RET;
	if (cpu_feature_enabled(X86_FEATURE_ENTRY_IBPB))
		m |= LGUEST_MIT_ENTRY_IBPB;
	if (cpu_feature_enabled(X86_FEATURE_CLEAR_BHB_LOOP) ||
	    cpu_feature_enabled(X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT))
		m |= LGUEST_MIT_BHB_CLEAR;
	if (cpu_feature_enabled(X86_FEATURE_USE_IBPB))
		m |= LGUEST_MIT_IBPB_GUESTS;
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		m |= LGUEST_MIT_IBPB_USER;
	return m;
}

/* Which byte of nmi_pending the switcher uses for @cpu. */
unsigned long lguest_nmi_slot(int cpu)
{
	unsigned long ea = (unsigned long)get_cpu_entry_area(cpu);

	return (ea - lg_switcher_data.cea_base) / lg_switcher_data.cea_size;
}

/*
 * One trip into the guest and back, with interrupts off throughout.  The
 * guest runs with IF set, so a host interrupt or NMI that arrives meanwhile
 * brings it straight back here; we then call the host's own handler as if
 * the interrupt had arrived now.
 */
/*
 * The launcher's data selectors, which the switcher leaves null: reloaded
 * with the kernel's helpers, whose fixups load a null selector where the
 * launcher left one that no longer loads (a TLS or LDT entry it cleared
 * while the selector stayed in the register), as KVM does after a VM
 * exit.  Loading FS or GS clobbers the matching base, which comes back.
 */
struct lg_host_sel {
	u16 ds, es, fs, gs;
};

static void save_host_selectors(struct lg_host_sel *h)
{
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
}

static void restore_host_selectors(const struct lg_host_sel *h)
{
	unsigned long base;

	if (h->ds)
		loadsegment(ds, h->ds);
	if (h->es)
		loadsegment(es, h->es);
	if (h->fs) {
		rdmsrl(MSR_FS_BASE, base);
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, base);
	}
	if (h->gs) {
		/* The launcher's GS base is in KERNEL_GS_BASE while we run. */
		rdmsrl(MSR_KERNEL_GS_BASE, base);
		load_gs_index(h->gs);
		wrmsrl(MSR_KERNEL_GS_BASE, base);
	}
}

/*
 * A machine check while the guest ran, or noted in the switcher: the
 * host's handler, as if it had come from user mode (KVM's
 * kvm_machine_check()).
 */
static void lg_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/*
 * Whether the exit just taken was handled on the fast path (vcpu/
 * fastpath.h), and the guest may go straight back in.  Not with an NMI or
 * machine check noted meanwhile: those go the whole way.  A #PF is filled
 * in the space the switcher ran the guest in, which is cpu->pgdir unless
 * a Xen PV guest's switcher changed modes, and so spaces, by itself
 * (xen/fast.c): that is left to the loop, after copy_out_guest_info().
 */
static bool fast_again(struct lg_cpu *cpu, struct lguest_pages *pages,
		       unsigned long slot)
{
	struct lguest_hw_regs *regs = &pages->regs;

	if (lg_switcher_data.nmi_pending[slot] || lg_switcher_data.mc_pending[slot])
		return false;
	switch (regs->trapnum) {
	case LG_TRAP_SYSCALL:
		if (regs->rax >= 64 || !(LG_FASTPATH_HCALLS & BIT_ULL(regs->rax)) ||
		    !lguest_hypercall_fastpath(cpu, regs, pages->guest_mode))
			return false;
		break;
	case X86_TRAP_PF:
		if (pages->guest_mode != cpu->mode && cpu->other_pgdir)
			return false;
		if (!lguest_pf_fastpath(cpu, regs, cpu->pgdir, pages->guest_mode,
					pages->cr2))
			return false;
		break;
	default:
		return false;
	}
	/*
	 * A fill may have mapped the upper half for the first time; the
	 * rest only count an entry that flushes, as every entry is counted
	 * (not worked out again: a hypercall's re-entry is 14 instructions
	 * dearer for it).
	 */
	if (regs->trapnum == X86_TRAP_PF && !pages->flush_global)
		set_flush_global(cpu, pages);
	else if (pages->flush_global)
		cpu->stats.global_flushes++;
	return true;
}

void run_guest_once(struct lg_cpu *cpu)
{
	struct lguest_pages *pages = __this_cpu_read(lg_area.pages);
	unsigned int pcpu = smp_processor_id();
	unsigned long trap, slot = pages->nmi_slot;
	struct lg_host_sel sel;
	gate_desc *host_idt;

	lockdep_assert_irqs_disabled();

	/* The guest's FPU registers must be in the CPU, not in memory. */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	/*
	 * Another guest than this CPU last ran: nothing it trained into the
	 * branch predictors may steer this one (KVM's IBPB when it loads
	 * another VM's VMCS).  Nothing between vCPUs of one guest, which
	 * trust each other.  indirect_branch_prediction_barrier() does
	 * nothing unless the host chose IBPB (spectre_v2_user).
	 */
	if (__this_cpu_read(lg_last_guest) != cpu->lg->uid) {
		__this_cpu_write(lg_last_guest, cpu->lg->uid);
		indirect_branch_prediction_barrier();
	}

	copy_in_guest_info(cpu, pages);
	map_switcher_in_guest(cpu, pcpu);
	lguest_host_state_enter(cpu);

	/* Seen by lguest_kick_running() before our CR3 load (sched/kick.c). */
	WRITE_ONCE(cpu->guest_on, smp_processor_id());
	/* Pairs with lguest_kick_running(): guest_on before the CR3 load. */
	smp_mb();
	save_host_selectors(&sel);
	/*
	 * An exit the fast path handles goes straight back in, on the host
	 * state loaded for this entry (vcpu/fastpath.h).
	 */
	cpu->pf_saved.valid = false;
	do {
		lguest_switch_to_guest(pages);
	} while (fast_again(cpu, pages, slot));
	restore_host_selectors(&sel);
	WRITE_ONCE(cpu->guest_on, -1);

	copy_out_guest_info(cpu, pages);
	lguest_host_state_leave(cpu);
	cpu->stats.entries++;
	/*
	 * Where the host protects user space from what a guest trained
	 * (VMSCAPE), the launcher gets an IBPB before it runs again, as a VMM
	 * does after KVM's VM exits.
	 */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);

	trap = cpu->regs.trapnum;
	if (trap == X86_TRAP_MC || lg_switcher_data.mc_pending[slot]) {
		lg_switcher_data.mc_pending[slot] = 0;
		lg_machine_check();
	}
	if (trap == X86_TRAP_NMI || lg_switcher_data.nmi_pending[slot]) {
		lg_switcher_data.nmi_pending[slot] = 0;
		cpu->stats.host_nmis++;
		lg_call_host_handler((unsigned long)asm_exc_nmi_noist);
	}
	/* Vector 0x80 is the guest's int $0x80; no host device uses it. */
	if (trap >= FIRST_EXTERNAL_VECTOR && trap < NR_VECTORS &&
	    trap != LG_INT80_VECTOR) {
		host_idt = (gate_desc *)lg_switcher_data.host_idt_desc.address;
		cpu->stats.host_irqs++;
		lg_call_host_handler(gate_offset(&host_idt[trap]));
	}
}

int lguest_switcher_init(void)
{
	int cpu;

	BUILD_BUG_ON(offsetof(struct lguest_pages, regs.r15) != LGP_R15);
	BUILD_BUG_ON(offsetof(struct lguest_pages, regs.rdi) != LGP_RDI);
	BUILD_BUG_ON(offsetof(struct lguest_pages, regs.trapnum) != LGP_TRAPNUM);
	BUILD_BUG_ON(offsetof(struct lguest_pages, regs.rip) != LGP_RIP);
	BUILD_BUG_ON(offsetof(struct lguest_pages, regs.ss) != LGP_SS);
	BUILD_BUG_ON(sizeof(struct lguest_hw_regs) != LGP_REGS_END);
	BUILD_BUG_ON(offsetof(struct lguest_pages, kernel_cr3) != LGP_KERNEL_CR3);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_fsbase) != LGP_GUEST_FSBASE);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_gsbase) != LGP_GUEST_GSBASE);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_ts) != LGP_GUEST_TS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, host_rsp) != LGP_HOST_RSP);
	BUILD_BUG_ON(offsetof(struct lguest_pages, host_cr3) != LGP_HOST_CR3);
	BUILD_BUG_ON(offsetof(struct lguest_pages, cr2) != LGP_CR2);
	BUILD_BUG_ON(offsetof(struct lguest_pages, scratch) != LGP_SCRATCH);
	BUILD_BUG_ON(offsetof(struct lguest_pages, user_cr3) != LGP_USER_CR3);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_mode) != LGP_GUEST_MODE);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast) != LGP_FAST);
	BUILD_BUG_ON(offsetof(struct lguest_pages, syscall_rip) != LGP_SYSCALL_RIP);
	BUILD_BUG_ON(offsetof(struct lguest_pages, next_hcall) != LGP_NEXT_HCALL);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast_syscalls) != LGP_FAST_SYSCALLS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast_returns) != LGP_FAST_RETURNS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, gdt_desc) != LGP_GDT_DESC);
	BUILD_BUG_ON(offsetof(struct lguest_pages, host_gdt_rw) != LGP_HOST_GDT_RW);
	BUILD_BUG_ON(offsetof(struct lguest_pages, tss_desc) != LGP_TSS_DESC);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_sel[0]) != LGP_GUEST_DS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, guest_sel[3]) != LGP_GUEST_GS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, nmi_slot) != LGP_NMI_SLOT);
	BUILD_BUG_ON(offsetof(struct lguest_pages, flush_global) != LGP_FLUSH_GLOBAL);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_callback) != LGP_XEN_CALLBACK);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_frame) != LGP_XEN_FRAME);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_vi) != LGP_XEN_VI);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_gs_inactive) != LGP_XEN_GS_INACTIVE);
	BUILD_BUG_ON(offsetof(struct lguest_pages, tmp) != LGP_TMP);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_kernel_sp) != LGP_XEN_KERNEL_SP);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast_stacks) != LGP_FAST_STACKS);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast_segbases) != LGP_FAST_SEGBASES);
	BUILD_BUG_ON(offsetof(struct lguest_pages, xen_pf_handler) != LGP_XEN_PF_HANDLER);
	BUILD_BUG_ON(offsetof(struct lguest_pages, fast_faults) != LGP_FAST_FAULTS);
	/* The syscall stack lies above all of it. */
	BUILD_BUG_ON(sizeof(struct lguest_pages) + 256 > LGP_SYSCALL_STACK);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, mc_pending) != LGS_MC_PENDING);
	BUILD_BUG_ON(offsetof(struct lguest_data, irq_enabled) != LGD_IRQ_ENABLED);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.rip) != LGD_USER_RIP);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.rsp) != LGD_USER_RSP);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.rflags) != LGD_USER_RFLAGS);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.rax) != LGD_USER_RAX);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.rcx) != LGD_USER_RCX);
	BUILD_BUG_ON(offsetof(struct lguest_data, user.r11) != LGD_USER_R11);
	BUILD_BUG_ON(offsetof(struct lguest_data, hcall_status) != LGD_HCALL_STATUS);
	BUILD_BUG_ON(sizeof(struct lguest_data) > PAGE_SIZE);
	BUILD_BUG_ON(LHCALL_RETURN_TO_USER != LG_HCALL_RETURN_TO_USER);
	BUILD_BUG_ON(LHCALL_RING_QUEUED != 0);
	/* The syscall entry's few words of stack sit at the end of the page. */
	BUILD_BUG_ON(sizeof(struct lguest_pages) > PAGE_SIZE - 64);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, idt_desc) != LGS_IDT_DESC);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, host_idt_desc) != LGS_HOST_IDT_DESC);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, cea_base) != LGS_CEA_BASE);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, cea_size) != LGS_CEA_SIZE);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, host_cr3_flags) != LGS_HOST_CR3_FLAGS);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, alias_gdt_desc) != LGS_ALIAS_GDT_DESC);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, verw_sel) != LGS_VERW_SEL);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, nmi_pending) != LGS_NMI_PENDING);
	BUILD_BUG_ON(offsetof(struct lg_switcher_data, idt) != 0);
	BUILD_BUG_ON(LG_SWDATA_VA + LGS_IDT != LGUEST_IDT_VA ||
		     LG_CUR_VA + LGA_GDT != LGUEST_GDT_VA ||
		     LG_DATA_VA != LGUEST_DATA_VA || LG_GDT_LIMIT != LGUEST_GDT_LIMIT ||
		     LG_SEL_TSS != LGUEST_TSS_SEL || LG_HOLE_START != LGUEST_HOLE_START ||
		     LG_HOLE_END != LGUEST_HOLE_END);
	BUILD_BUG_ON(sizeof(lg_switcher_data) > LG_SWDATA_MAX);
	BUILD_BUG_ON(LG_CPU_VA(CONFIG_NR_CPUS) > LG_SW_BASE + (1UL << 39));
	BUILD_BUG_ON(LGUEST_GDT_ENTRIES * 8 > PAGE_SIZE);

	/* The hole's entry is written raw, as no paravirtualised MMU allows. */
	if (cpu_feature_enabled(X86_FEATURE_XENPV)) {
		pr_err("cannot run as a Xen PV guest\n");
		return -ENODEV;
	}
	if (((unsigned long)&lg_switcher_data | (unsigned long)lg_switcher_text_start)
	    & ~PAGE_MASK) {
		pr_err("switcher sections are not page aligned\n");
		return -EINVAL;
	}

	lguest_build_idt();
	store_idt(&lg_switcher_data.host_idt_desc);
	lg_switcher_data.cea_base = CPU_ENTRY_AREA_PER_CPU;
	lg_switcher_data.cea_size = CPU_ENTRY_AREA_SIZE;
	/*
	 * An NMI in the switcher is noted in nmi_pending[], indexed by the
	 * CPU's entry-area slot: on the host's NMI stack (at the edges of the
	 * switch) the stack tells it, on ours the CPU's area does
	 * (hole.c).  Kernels that randomise entry areas over a wide range
	 * (6.2 on) could put that beyond the array: refuse.
	 */
	for_each_possible_cpu(cpu) {
		if (lguest_nmi_slot(cpu) >= ARRAY_SIZE(lg_switcher_data.nmi_pending)) {
			pr_err("CPU %d's entry area is beyond the switcher's NMI slots\n", cpu);
			return -EINVAL;
		}
	}
	lg_host_global = cr4_read_shadow() & X86_CR4_PGE;
	if (cr4_read_shadow() & X86_CR4_PCIDE) {
		lg_guest_pcid = LG_GUEST_PCID;
		lg_switcher_data.host_cr3_flags = X86_CR3_PCID_NOFLUSH;
	}

	return lguest_hole_init();
}

void lguest_switcher_exit(void)
{
	int cpu;

	lguest_hole_exit();
	for_each_possible_cpu(cpu)
		per_cpu(lg_last_cpu, cpu) = NULL;
}

/*
 * A vCPU that goes away must not be mistaken for the last one to use a CPU's
 * pages if a new vCPU is later allocated at the same address.
 */
void lguest_switcher_forget(struct lg_cpu *cpu)
{
	int c;

	for_each_possible_cpu(c)
		cmpxchg(per_cpu_ptr(&lg_last_cpu, c), cpu, NULL);
}
