// SPDX-License-Identifier: GPL-2.0
/*
 * The privileged instructions a Xen PV kernel still executes.
 *
 * Linux under Xen replaces almost everything privileged with hypercalls
 * (pv-ops), but a few instructions remain and fault at CPL3: the first
 * instructions of startup_xen write MSR_GS_BASE, `mov %cr4` keeps its
 * shadow of CR4, drivers probe I/O ports, and every pv `cpuid` is the
 * "forced emulation" sequence `ud2; .ascii "xen"; cpuid`, through which
 * Xen shows the guest its CPUID policy rather than the host's.  Xen
 * emulates them (xen/arch/x86/pv/emul-priv-op.c); so do we, for the
 * guest kernel only.  Anything else is the guest's own #GP or #UD.
 *
 * Nothing here touches the real CPU's state: MSRs, CR0 and CR4 are
 * virtual, kept per vCPU, except the FS and GS bases, which the switcher
 * loads for the guest anyway.
 */
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>
#include <asm/xen/interface.h>
#include <xen/interface/version.h>
#include "xen.h"

/* Xen's PAT (XEN_MSR_PAT), which Linux PV expects to read. */
#define XEN_PAT		0x0000050100070406ULL

/* The instruction at RIP, as the guest kernel would fetch it. */
static unsigned int fetch(struct lg_cpu *cpu, u8 *insn, unsigned int max)
{
	return lguest_read_guest(cpu, cpu->regs.rip, insn, max, X86_PF_INSTR);
}

/* General register @n (ModRM numbering, REX extended), in the frame. */
static u64 *gpr(struct lg_cpu *cpu, unsigned int n)
{
	struct lguest_hw_regs *r = &cpu->regs;

	switch (n & 15) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	default: return &r->r15;
	}
}

/* The guest has a #GP handler: an unknown MSR can be its problem. */
static bool has_gp_handler(struct lg_cpu *cpu)
{
	return lg_xen_cpu(cpu)->traps[X86_TRAP_GP].address;
}

/* Intel's MSRs exist where the guest sees Intel: CPUID shows it the host. */
static bool is_intel(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_INTEL;
}

/*
 * IA32_MISC_ENABLE, on Intel: the host's, as Xen shows it to a PV guest
 * (guest_misc_enable()): no performance monitoring, BTS or PEBS, no
 * MONITOR/MWAIT, xTPR messages off.  What Linux wants from it is the
 * fast-strings bit: without it, early_init_intel() turns off REP_GOOD
 * and ERMS and every copy and clear in the guest kernel takes the slow,
 * unrolled path.  Elsewhere the MSR does not exist, and #GPs.
 */
static bool misc_enable(u64 *val)
{
	if (!is_intel() || rdmsrl_safe(MSR_IA32_MISC_ENABLE, val))
		return false;
	*val &= ~(MSR_IA32_MISC_ENABLE_EMON | MSR_IA32_MISC_ENABLE_MWAIT);
	*val |= MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |
		MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
		MSR_IA32_MISC_ENABLE_XTPR_DISABLE;
	return true;
}

static bool emul_rdmsr(struct lg_cpu *cpu, u32 msr, u64 *val)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	switch (msr) {
	case MSR_FS_BASE:
		*val = cpu->fsbase;
		return true;
	case MSR_GS_BASE:
		*val = cpu->gsbase;
		return true;
	case MSR_KERNEL_GS_BASE:
		*val = xc->gs_inactive;
		return true;
	case MSR_EFER:
		*val = EFER_SCE | EFER_LME | EFER_LMA |
		       (boot_cpu_has(X86_FEATURE_NX) ? EFER_NX : 0);
		return true;
	case MSR_IA32_CR_PAT:
		*val = XEN_PAT;
		return true;
	case MSR_IA32_MISC_ENABLE:
		if (misc_enable(val))
			return true;
		break;
	case MSR_IA32_UCODE_REV:
		/* The host's microcode revision, as Xen lets Intel guests read. */
		if (is_intel() && !rdmsrl_safe(MSR_IA32_UCODE_REV, val))
			return true;
		break;
	}
	/* Before it can take a #GP, Xen reads an unknown MSR as 0. */
	if (!has_gp_handler(cpu)) {
		*val = 0;
		return true;
	}
	return false;
}

static bool emul_wrmsr(struct lg_cpu *cpu, u32 msr, u64 val)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	switch (msr) {
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_MISC_ENABLE:
		/*
		 * Linux writes UCODE_REV with 0 before it reads the revision
		 * (intel_get_microcode_revision()), and may clear a bit of
		 * MISC_ENABLE (msr_clear_bit()): on Xen a domU's writes to
		 * either go nowhere.
		 */
		return is_intel();
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!lguest_canonical(val))
			return false;
		if (msr == MSR_FS_BASE)
			cpu->fsbase = val;
		else if (msr == MSR_GS_BASE)
			cpu->gsbase = val;
		else
			xc->gs_inactive = val;
		cpu->changed |= CHANGED_SEGBASE;
		return true;
	}
	return false;
}

static u64 guest_cr0(struct lg_cpu *cpu)
{
	return X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
	       X86_CR0_AM | X86_CR0_PG | cpu->ts;
}

/* mov to or from a control register (0f 20 / 0f 22, register form). */
static bool mov_cr(struct lg_cpu *cpu, u8 op, u8 modrm, u8 rex)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	unsigned int cr = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
	u64 *reg = gpr(cpu, (modrm & 7) | (rex & 1 ? 8 : 0));

	if (op == 0x20) {
		switch (cr) {
		case 0:
			*reg = guest_cr0(cpu);
			return true;
		case 2:
			*reg = READ_ONCE(lg_xen_vcpu_info(cpu)->arch.cr2);
			return true;
		case 3:
			*reg = cpu->pgdir->gcr3;
			return true;
		case 4:
			*reg = xc->cr4;
			return true;
		}
		return false;
	}
	switch (cr) {
	case 0:
		/* Only TS is the guest's to change (fpu_taskswitch's bit). */
		cpu->ts = *reg & X86_CR0_TS;
		cpu->changed |= CHANGED_TS;
		return true;
	case 4:
		/* A shadow only: the real CR4 is the host's. */
		xc->cr4 = *reg;
		return true;
	}
	return false;
}

/*
 * Port I/O: a guest kernel with a virtual IOPL of at least 1
 * (PHYSDEVOP_set_iopl) reads all-ones and its writes go nowhere, as on
 * Xen for a domain with no ports of its own; without it, #GP.
 */
static bool port_io(struct lg_cpu *cpu, u8 op, bool opsize16)
{
	unsigned int size = (op & 1) ? (opsize16 ? 2 : 4) : 1;
	u64 *rax = &cpu->regs.rax;

	if (lg_xen_cpu(cpu)->iopl < 1)
		return false;
	if (op == 0xe4 || op == 0xe5 || op == 0xec || op == 0xed) {
		if (size == 4)
			*rax = 0xffffffffULL;
		else
			*rax |= (1ULL << (8 * size)) - 1;
	}
	return true;
}

/*
 * xsetbv: XCR0 stays the host's, which the guest's FPU state is saved and
 * loaded with.  A guest asking for a part of it (with x87, as the CPU
 * insists) loses nothing: every XSAVE and XRSTOR names the components it
 * moves, and CPUID's XSAVE area size follows the real XCR0, so the guest's
 * buffers fit.  Anything beyond the host's is the CPU's #GP.
 */
static bool xsetbv_ok(struct lg_cpu *cpu, u64 xcr, u64 val)
{
	if (xcr || !boot_cpu_has(X86_FEATURE_OSXSAVE) || !(val & XFEATURE_MASK_FP) ||
	    (val & ~xgetbv(XCR_XFEATURE_ENABLED_MASK)))
		return false;
	lg_xen_cpu(cpu)->xcr0 = val;
	return true;
}

/*
 * The standard-format XSAVE area for the components in @xcr0, as CPUID
 * 0xd reports it for the XCR0 in force: the legacy area and header, and
 * the end of the furthest component.
 */
static u32 xsave_size(u64 xcr0)
{
	u32 size = 576, a, b, c, d;
	unsigned int i;

	for (i = 2; i < 63; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &a, &b, &c, &d);
		size = max(size, a + b);
	}
	return size;
}

/* The CPUID Xen shows a PV guest (the design study's 3.7). */
static void cpuid_policy(struct lg_cpu *cpu, u32 leaf, u32 sub, u32 *r)
{
	if (leaf >= 0x40000000 && leaf < 0x40010000) {
		memset(r, 0, 4 * sizeof(*r));
		switch (leaf) {
		case 0x40000000:
			r[0] = 0x40000004;
			r[1] = 0x566e6558;	/* "XenVMMXenVMM" */
			r[2] = 0x65584d4d;
			r[3] = 0x4d4d566e;
			break;
		case 0x40000001:
			r[0] = 4 << 16 | 17;
			break;
		case 0x40000002:
			r[0] = 1;		/* hypercall pages */
			r[1] = 0x40000000;	/* their MSR */
			break;
		}
		return;
	}
	cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
	switch (leaf) {
	case 1:
		/*
		 * No topology of the host's: the initial APIC ID would be that
		 * of whichever CPU the vCPU's thread runs on now (Xen's PV
		 * policy gives 0 too).
		 */
		r[1] &= 0x00ffffff;
		/* No MONITOR, VMX, SMX, PCID, x2APIC, TSC deadline; a hypervisor. */
		r[2] &= ~(BIT(3) | BIT(5) | BIT(6) | BIT(17) | BIT(21) | BIT(24));
		r[2] |= BIT(31);
		/*
		 * No PSE, MCE, SEP, MTRR, PGE, MCA, PSE36, ACPI: machine checks
		 * are the host's (Xen shows a virtual MCA; we have none).  The
		 * APIC stays, as in Xen's PV policy: Linux then takes its Xen
		 * PV APIC driver (paravirtual, no register is ever touched)
		 * rather than falling back to the NOOP one.
		 */
		r[3] &= ~(BIT(3) | BIT(7) | BIT(11) | BIT(12) | BIT(13) |
			  BIT(14) | BIT(17) | BIT(22));
		break;
	case 7:
		if (sub)
			break;
		/*
		 * No SMEP, INVPCID, MPX, SMAP; no UMIP, PKU, OSPKE, LA57, and
		 * no RDPID: TSC_AUX is the host's (as RDTSCP, below).
		 */
		r[1] &= ~(BIT(7) | BIT(10) | BIT(14) | BIT(20));
		r[2] &= ~(BIT(2) | BIT(3) | BIT(4) | BIT(16) | BIT(22));
		/* No speculation controls: their MSRs are not the guest's. */
		r[3] &= ~GENMASK(31, 26);
		break;
	case 0xa:
	case 0xb:
	case 0x1f:
		/* No PMU; no x2APIC topology of the host's (it moves). */
		memset(r, 0, 4 * sizeof(*r));
		break;
	case 0xd:
		if (!sub && boot_cpu_has(X86_FEATURE_OSXSAVE)) {
			u64 xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);

			/* Only what the host enabled in XCR0 ... */
			r[0] &= (u32)xcr0;
			r[3] &= (u32)(xcr0 >> 32);
			/* ... and the area the guest's own XCR0 needs. */
			r[1] = xsave_size(lg_xen_cpu(cpu)->xcr0);
		} else if (sub == 1) {
			/*
			 * No XSAVEC, XGETBV1, XSAVES: their compacted sizes and
			 * in-use bits follow the real XCR0, not the guest's,
			 * and XSAVES is CPL0's anyway.  XSAVEOPT stays.
			 */
			r[0] &= BIT(0);
			memset(&r[1], 0, 3 * sizeof(*r));
		}
		break;
	case 0x80000001:
		/* No PSE, PGE, PSE36, 1 GiB pages, RDTSCP; no SVM. */
		r[3] &= ~(BIT(3) | BIT(13) | BIT(17) | BIT(26) | BIT(27));
		r[2] &= ~BIT(2);
		break;
	case 0x80000008:
		/* No IBPB, IBRS, STIBP, SSBD and friends. */
		r[1] &= ~GENMASK(31, 12);
		break;
	}
}

/*
 * A #UD: the forced-emulation prefix (`ud2; .ascii "xen"`) before an
 * instruction Xen emulates for it; Linux only ever uses it for cpuid.
 */
bool lg_xen_emulate_ud(struct lg_cpu *cpu)
{
	static const u8 fep_cpuid[] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };
	u8 insn[sizeof(fep_cpuid)];
	u32 r[4];

	if (cpu->mode != LG_MODE_KERNEL ||
	    fetch(cpu, insn, sizeof(insn)) != sizeof(insn) ||
	    memcmp(insn, fep_cpuid, sizeof(insn)))
		return false;
	cpuid_policy(cpu, cpu->regs.rax, cpu->regs.rcx, r);
	cpu->regs.rax = r[0];
	cpu->regs.rbx = r[1];
	cpu->regs.rcx = r[2];
	cpu->regs.rdx = r[3];
	cpu->regs.rip += sizeof(fep_cpuid);
	cpu->stats.emulations++;
	return true;
}

/* One instruction behind a #GP from the guest kernel. */
bool lg_xen_emulate_gp(struct lg_cpu *cpu)
{
	struct lguest_hw_regs *r = &cpu->regs;
	bool opsize16 = false, done = false;
	unsigned int n, i, len = 0;
	u8 insn[15], rex = 0;
	u64 val;

	if (cpu->mode != LG_MODE_KERNEL || r->errcode)
		return false;
	n = fetch(cpu, insn, sizeof(insn));
	for (i = 0; i < n; i++) {
		if (insn[i] == 0x66)
			opsize16 = true;
		else if ((insn[i] & 0xf0) == 0x40)
			rex = insn[i];
		else if (insn[i] != 0x2e && insn[i] != 0x3e && insn[i] != 0x26 &&
			 insn[i] != 0x36 && insn[i] != 0x64 && insn[i] != 0x65 &&
			 insn[i] != 0x67)
			break;
	}
	if (i >= n)
		return false;
	switch (insn[i]) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
		len = i + 2;
		done = len <= n && port_io(cpu, insn[i], opsize16);
		break;
	case 0xec: case 0xed: case 0xee: case 0xef:
		len = i + 1;
		done = port_io(cpu, insn[i], opsize16);
		break;
	case 0xfa: case 0xfb:
		/*
		 * cli and sti, with a virtual IOPL (Linux runs its
		 * this_cpu_cmpxchg16b_emu(), `pushf; cli; ...; popf`, this
		 * way before alternatives are applied): nothing, as on Xen.
		 * Setting the event mask would be worse: the popf cannot
		 * clear it again, and the guest would run on with events
		 * masked while it believes interrupts are on.  Xen calls
		 * this "fast and loose" and leaves the mask alone.
		 */
		len = i + 1;
		done = lg_xen_cpu(cpu)->iopl >= 1;
		break;
	case 0x0f:
		if (i + 1 >= n)
			return false;
		switch (insn[i + 1]) {
		case 0x30:	/* wrmsr */
			len = i + 2;
			done = emul_wrmsr(cpu, r->rcx, (r->rdx << 32) | (u32)r->rax);
			break;
		case 0x32:	/* rdmsr */
			len = i + 2;
			done = emul_rdmsr(cpu, r->rcx, &val);
			if (done) {
				r->rax = (u32)val;
				r->rdx = val >> 32;
			}
			break;
		case 0x09:	/* wbinvd: guest memory is coherent */
			len = i + 2;
			done = true;
			break;
		case 0x20:
		case 0x22:
			if (i + 2 >= n || (insn[i + 2] & 0xc0) != 0xc0)
				return false;
			len = i + 3;
			done = mov_cr(cpu, insn[i + 1], insn[i + 2], rex);
			break;
		case 0x01:
			if (i + 2 >= n || insn[i + 2] != 0xd1)
				return false;
			len = i + 3;
			done = xsetbv_ok(cpu, r->rcx, (r->rdx << 32) | (u32)r->rax);
			break;
		}
		break;
	}
	if (!done)
		return false;
	r->rip += len;
	cpu->stats.emulations++;
	return true;
}
