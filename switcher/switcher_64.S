/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The switcher: the only code that runs with the guest's page tables
 * loaded.  switcher.h tells where it lives (the hypervisor's hole, slot
 * 257) and what each CPU's area holds; this file is the world switch.
 *
 * It comes in two halves.  The half in the ordinary module text runs only
 * under the host's page tables, and does what needs the host: saving and
 * restoring its registers, its descriptor tables, its speculation state.
 * The half in .lg_switcher.text runs at its alias in the hole (LG_TEXT_VA),
 * mapped in the host and in every guest root: the CR3 loads, the guest's
 * registers, the syscall entry, the trap stubs.  It may reach nothing by a
 * relative address outside its own section (the assembler computed those
 * for the module's copy), so it reaches the hole's data RIP-relative with
 * HV() and leaves for the module text by a far return.
 *
 * Going in (lguest_switch_to_guest, called by C with interrupts off):
 *  1. save the host's callee-saved registers, RFLAGS, FS/GS bases, LDT,
 *     SS and GDTR on the host stack (C keeps its data selectors); clear
 *     IBRS as for user space;
 *  2. load our IDT (its gates use the host's kernel CS, good in both GDTs),
 *     a null SS, this CPU's GDT (GDTR at LG_CPU_VA(n), so it survives the
 *     CR3 load) and our TSS (TR 0xe040: RSP0 and IST stacks in the hole);
 *  3. the guest's data selectors and bases, its CR0.TS;
 *  4. far-return into the hole, load the guest's CR3, on hosts without UMIP
 *     point GDTR at LG_CUR_VA (what sgdt shows is then a constant), pop the
 *     guest's registers, clear the CPU's buffers (VERW) and iretq.
 *
 * Coming back (any trap, interrupt or syscall from the guest): the CPU
 * takes TSS.RSP0, which is the end of the register frame in this CPU's
 * struct lguest_pages at LG_CUR_VA, so its interrupt frame lands exactly
 * there; the stub pushes the vector and we push the general registers
 * below it (traps on an IST stack copy their frame there first).  Then:
 *  1. GDTR back to LG_CPU_VA(n); CR2, the guest's bases and selectors;
 *  2. the host's stack and CR3, and a far return to lg_exit_host in the
 *     module text, on the host's kernel CS;
 *  3. the host's writable GDT, its TSS (LTR after clearing the busy bit, as
 *     the kernel's force_reload_TR() does), then its own read-only GDTR;
 *  4. LDT, null data selectors, bases, SS; the host's speculation
 *     mitigations before any RET; only then the host's IDT; and return to
 *     C as if lguest_switch_to_guest() had returned, which reloads the
 *     launcher's data selectors with the kernel's fault-safe helpers.
 * At every instant an NMI or machine check finds an IDT, a GDT with the
 * gate's code segment, a TSS with its IST stack, and the stub's code all
 * mapped: lg_trap_in_switcher notes the NMI and C hands it to the host.
 */
#include <linux/linkage.h>
#include <asm/segment.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/smap.h>
#include <asm/cpufeatures.h>
#include <asm/ibt.h>
#include "switcher.h"

/*
 * From the hole's code, an address in the hole, RIP-relative: the
 * assembler computes the distance from the instruction's own alias.
 */
#define HV(va)		((va) - LG_TEXT_VA + lg_switcher_text_start)(%rip)
#define CUR(off)	HV(LG_CUR_VA + (off))
#define SWD(off)	HV(LG_SWDATA_VA + (off))
/* The alias of a symbol of the hole's code, as an immediate. */
#define ALIAS(sym)	(LG_TEXT_VA + ((sym) - lg_switcher_text_start))

/*
 * Speculation at the guest/host boundary.  A guest is less trusted than
 * any user process, and its exits reach the host through our IDT and this
 * switcher, never through the host's entry code: so what that code does
 * on every entry from user space and exit to it, and what KVM does around
 * a VM exit (arch/x86/kvm/vmx/vmenter.S, svm/vmenter.S), happens here.
 * Every sequence is an alternative patched at module load by the feature
 * bits the host chose at boot, so a host booted with mitigations=off
 * runs a jump or a few NOPs; lguest_mitigations() reports the same bits.
 *
 * IBRS (X86_FEATURE_KERNEL_IBRS): the host runs with SPEC_CTRL.IBRS set
 * in the kernel and clear in user space; the guest is user space.  The
 * per-CPU x86_spec_ctrl_current needs the host's GS base.
 */
.macro LG_IBRS_ENTER
	ALTERNATIVE "jmp .Lno_ibrs_\@", "", X86_FEATURE_KERNEL_IBRS
	movl	$MSR_IA32_SPEC_CTRL, %ecx
	movq	PER_CPU_VAR(x86_spec_ctrl_current), %rdx
	movl	%edx, %eax
	shrq	$32, %rdx
	wrmsr
.Lno_ibrs_\@:
.endm

.macro LG_IBRS_EXIT
	ALTERNATIVE "jmp .Lno_ibrs_\@", "", X86_FEATURE_KERNEL_IBRS
	movl	$MSR_IA32_SPEC_CTRL, %ecx
	movq	PER_CPU_VAR(x86_spec_ctrl_current), %rdx
	andl	$(~SPEC_CTRL_IBRS), %edx
	movl	%edx, %eax
	shrq	$32, %rdx
	wrmsr
.Lno_ibrs_\@:
.endm

/*
 * VERW with a memory operand clears the CPU's buffers (MDS, TAA, MMIO
 * stale data, RFDS, TSA) on CPUs whose microcode makes it do so: last
 * thing before every iretq into the guest, as the host does before sysret
 * and iret to user space.  Its operand lives in our data, which the
 * guest's root maps: the kernel's x86_verw_sel is not there.  It clobbers
 * ZF only, and iretq loads the guest's flags.
 */
.macro LG_CLEAR_CPU_BUFFERS
	ALTERNATIVE_2 "jmp .Lno_verw_\@", "", X86_FEATURE_CLEAR_CPU_BUF, \
		"", X86_FEATURE_CLEAR_CPU_BUF_VM
	verw	SWD(LGS_VERW_SEL)
.Lno_verw_\@:
.endm

/*
 * Coming back from the guest, under the host's CR3 and GS base and on the
 * host's stack, before the first RET or indirect branch: IBRS on, the
 * return stack stuffed (what the guest left there must not be predicted:
 * KVM's RSB_VMEXIT), return predictions untrained (retbleed, SRSO: the
 * host's UNTRAIN_RET, which may also be an IBPB), branch history cleared
 * (BHI, for system calls or for VM exits, whichever the host chose).
 * Clobbers RAX, RCX, RDX.
 */
.macro LG_SPEC_FROM_GUEST
	LG_IBRS_ENTER
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
		X86_FEATURE_RSB_VMEXIT_LITE
	UNTRAIN_RET
	ALTERNATIVE_2 "", "call clear_bhb_loop", X86_FEATURE_CLEAR_BHB_LOOP, \
		"call clear_bhb_loop", X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT
.endm

/*
 * The FS and GS bases, in %rax.  Where the host enabled FSGSBASE
 * (CR4.FSGSBASE: X86_FEATURE_FSGSBASE, Linux 5.9 and later on every CPU
 * since Ivy Bridge and Zen), RDFSBASE and its kin: a few cycles each,
 * where RDMSR and WRMSR of these MSRs cost tens to hundreds, and WRMSR
 * serialises.  The host's context switch made the same change.  The MSR
 * way clobbers %rcx and %rdx.  A round trip does eight of these.
 */
.macro LG_RDBASE seg:req, msr:req
	ALTERNATIVE __stringify(movl $\msr, %ecx; rdmsr; shlq $32, %rdx; orq %rdx, %rax), \
		__stringify(rd\seg\()base %rax), X86_FEATURE_FSGSBASE
.endm

.macro LG_WRBASE seg:req, msr:req
	ALTERNATIVE __stringify(movl $\msr, %ecx; movq %rax, %rdx; shrq $32, %rdx; wrmsr), \
		__stringify(wr\seg\()base %rax), X86_FEATURE_FSGSBASE
.endm

/*
 * Load @src into @reg, once (the guest may be changing it from another
 * vCPU), and jump to @slow unless it is canonical with 48 bits: an iretq
 * to anything else would fault at CPL0.  Clobbers @tmp.
 */
.macro LG_CANONICAL_OR src:req, reg:req, tmp:req, slow:req
	movq	\src, \reg
	movq	\reg, \tmp
	shlq	$16, \tmp
	sarq	$16, \tmp
	cmpq	\reg, \tmp
	jne	\slow
.endm

	.text
/* u64 lguest_switch_to_guest(struct lguest_pages *pages): pages in %rdi. */
SYM_FUNC_START(lguest_switch_to_guest)
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	/* The host's AC and DF come back exactly, whatever the guest did. */
	pushfq

	/*
	 * FS and GS bases.  The data selectors are C's (run_guest_once()):
	 * one the launcher left stale can fault when reloaded, which only
	 * the kernel's own helpers, with their fixups, may do.
	 */
	LG_RDBASE fs, MSR_FS_BASE
	push	%rax
	LG_RDBASE gs, MSR_GS_BASE
	push	%rax
	/* The launcher's LDT, if it has one (modify_ldt()), SS and GDTR. */
	xorl	%eax, %eax
	sldt	%ax
	push	%rax
	movl	%ss, %eax
	push	%rax
	subq	$16, %rsp
	sgdt	(%rsp)
	/* And where this CPU's pages are, for the way back. */
	push	%rdi

	movq	%rsp, LGP_HOST_RSP(%rdi)
	/* IBRS off for the guest, as for user space; GS is still the host's. */
	LG_IBRS_EXIT
	movq	%cr3, %rax
	orq	lg_switcher_data+LGS_HOST_CR3_FLAGS(%rip), %rax
	movq	%rax, LGP_HOST_CR3(%rdi)

	/*
	 * Our IDT first, while the host's GDT and TSS are loaded: its gates
	 * use the host's __KERNEL_CS and the host's IST numbers, good in both
	 * worlds.  An NMI from here on finds our handler, which needs no
	 * per-CPU data, and never the host's, which (without FSGSBASE) trusts
	 * the GS base to tell kernel from user and must never run under the
	 * guest's page tables.
	 */
	lidt	lg_switcher_data+LGS_IDT_DESC(%rip)

	/*
	 * No LDT while the guest runs: its descriptors would be read through
	 * the guest's page tables, at an address the guest can map.
	 */
	cmpw	$0, 32(%rsp)		/* the LDT selector we saved */
	je	3f
	xorl	%eax, %eax
	lldt	%ax
3:
	/*
	 * A null SS: the host's (if any) names an entry of its GDT, which in
	 * ours is the guest's, and an NMI's iretq would reload it.
	 */
	xorl	%eax, %eax
	movl	%eax, %ss
	/*
	 * This CPU's GDT and TSS.  LTR wants the descriptor marked available;
	 * it marks it busy itself.
	 */
	lgdt	LGP_GDT_DESC(%rdi)
	movq	LGP_TSS_DESC(%rdi), %rax
	andb	$~0x02, 5(%rax)
	movl	$LG_SEL_TSS, %eax
	ltr	%ax

	/*
	 * The guest's data selectors (C checked each against this GDT), then
	 * its bases: loading %gs clears the kernel's GS base, so no per-CPU
	 * access from here until it is back.
	 */
	movl	LGP_GUEST_DS(%rdi), %eax
	movl	%eax, %ds
	movl	LGP_GUEST_ES(%rdi), %eax
	movl	%eax, %es
	movl	LGP_GUEST_FS(%rdi), %eax
	movl	%eax, %fs
	movl	LGP_GUEST_GS(%rdi), %eax
	movl	%eax, %gs
	movq	LGP_GUEST_FSBASE(%rdi), %rax
	LG_WRBASE fs, MSR_FS_BASE
	movq	LGP_GUEST_GSBASE(%rdi), %rax
	LG_WRBASE gs, MSR_GS_BASE

	/* The guest's virtual CR0.TS becomes real for its first FPU use. */
	movq	LGP_GUEST_TS(%rdi), %rdx
	testq	%rdx, %rdx
	jz	1f
	movq	%cr0, %rax
	orq	%rdx, %rax
	movq	%rax, %cr0
1:
	movq	LGP_KERNEL_CR3(%rdi), %rax
	cmpq	$LG_MODE_USER, LGP_GUEST_MODE(%rdi)
	jne	2f
	movq	LGP_USER_CR3(%rdi), %rax
2:
	/*
	 * Into the hole, by a far return: not a near indirect branch, the
	 * kind retpolines and IBRS guard, which IBRS_EXIT just turned off.
	 */
	pushq	$__KERNEL_CS
	movabsq	$ALIAS(lg_hole_enter), %rcx
	pushq	%rcx
	lretq
SYM_FUNC_END(lguest_switch_to_guest)

/*
 * The way back, from the hole's exit code: the host's CR3 and stack are
 * loaded, CS is the host's __KERNEL_CS and SS is null; GDTR, TR and IDTR
 * are still ours.  No RET or indirect branch until LG_SPEC_FROM_GUEST.
 */
SYM_CODE_START(lg_exit_host)
	popq	%rdi
	/* The host's writable GDT, where LTR may mark its TSS busy. */
	lgdt	LGP_HOST_GDT_RW(%rdi)
	movq	LGP_HOST_GDT_RW+2(%rdi), %rax
	andb	$~0x02, GDT_ENTRY_TSS*8+5(%rax)
	movl	$(GDT_ENTRY_TSS*8), %eax
	ltr	%ax
	/* Then the GDTR the host had: its read-only alias. */
	lgdt	(%rsp)
	addq	$16, %rsp
	popq	%rax
	movl	%eax, %ss

	/* The launcher's LDT, if it had one: its GDT entry is still there. */
	popq	%rax
	testw	%ax, %ax
	jz	2f
	lldt	%ax
2:
	/*
	 * Null data selectors (C reloads the launcher's), then the bases:
	 * loading %gs and %fs clobbers them.
	 */
	xorl	%eax, %eax
	movl	%eax, %gs
	movl	%eax, %fs
	movl	%eax, %es
	movl	%eax, %ds
	popq	%rax
	LG_WRBASE gs, MSR_GS_BASE
	popq	%rax
	LG_WRBASE fs, MSR_FS_BASE
	/*
	 * No RET or indirect branch has run since the guest: mitigate now.
	 * Our IDT is still loaded, so an NMI in the calls below is only
	 * noted (lg_trap_in_switcher) and reaches the host's handler after.
	 */
	LG_SPEC_FROM_GUEST
	/* The host's IDT only now, with the host's GS base back. */
	lidt	lg_switcher_data+LGS_HOST_IDT_DESC(%rip)

	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	RET
SYM_CODE_END(lg_exit_host)

/*
 * void lg_call_host_handler(unsigned long handler): call a host IDT handler
 * as if the CPU had delivered an interrupt here, with a frame whose RFLAGS
 * has IF clear (we run with interrupts off), as KVM's VMX code does.
 */
SYM_FUNC_START(lg_call_host_handler)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	CALL_NOSPEC rdi
	leave
	RET
SYM_FUNC_END(lg_call_host_handler)

/*
 * The hole's code.  Everything below runs at its alias in slot 257, under
 * the host's root or a guest's.
 */
	.section .lg_switcher.text, "ax"
	.balign 4096
SYM_CODE_START_NOALIGN(lg_switcher_text_start)
	int3
SYM_CODE_END(lg_switcher_text_start)

/* From lguest_switch_to_guest: the guest's CR3 in %rax. */
SYM_CODE_START_NOALIGN(lg_hole_enter)
	movq	%rax, %cr3
	/*
	 * The host's kernel mappings may be global, and a CR3 load keeps
	 * global TLB entries: where the guest maps addresses in the upper
	 * half (its own kernel at the host's, say), flip CR4.PGE, which drops
	 * every TLB entry, global ones included, for every PCID.  Nothing of
	 * the host runs again before the next exit, so none comes back.
	 */
	cmpq	$0, CUR(LGP_FLUSH_GLOBAL)
	je	1f
	movq	%cr4, %rax
	xorq	$X86_CR4_PGE, %rax
	movq	%rax, %cr4
	xorq	$X86_CR4_PGE, %rax
	movq	%rax, %cr4
1:
	/*
	 * Where the guest can read GDTR (no UMIP), show it the same GDT at
	 * LG_CUR_VA, an address that says nothing about which CPU this is.
	 */
	ALTERNATIVE "", "jmp .Lalias_done", X86_FEATURE_UMIP
	lgdt	SWD(LGS_ALIAS_GDT_DESC)
.Lalias_done:
	/*
	 * An NMI or machine check that hit the switcher since our IDT went
	 * in waits in nmi_pending[] or mc_pending[] for the next exit; do not
	 * make it wait for the guest (a CPU without host interrupts might
	 * never leave it, and other CPUs may be waiting for this one in the
	 * machine-check rendezvous): leave now, the guest's registers
	 * untouched, with LG_TRAP_PENDING.  One arriving after this check
	 * waits for the next exit.
	 */
	movq	CUR(LGP_NMI_SLOT), %rax
	leaq	SWD(LGS_NMI_PENDING), %rdx
	cmpb	$0, (%rdx,%rax)
	jne	lg_enter_pending
	leaq	SWD(LGS_MC_PENDING), %rdx
	cmpb	$0, (%rdx,%rax)
	jne	lg_enter_pending
	/* Now this CPU's lguest_pages are at LG_CUR_VA: pop the guest. */
	leaq	CUR(LGA_PAGES), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rax
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	addq	$16, %rsp		/* trapnum, errcode */
	LG_CLEAR_CPU_BUFFERS
	iretq
lg_enter_pending:
	leaq	CUR(LGA_PAGES), %rsp
	movq	$LG_TRAP_PENDING, LGP_TRAPNUM(%rsp)
	jmp	lg_exit_saved
SYM_CODE_END(lg_hole_enter)

/*
 * The guest executed syscall: RCX holds its RIP, R11 its RFLAGS, RSP is
 * still the guest's, CS and SS are 0xe008 and 0xe010 (STAR), and
 * interrupts are off (SFMASK).
 *
 * Two cases the switcher handles alone, if C allowed it (LGP_FAST), without
 * ever reaching the host's C code: this is PVM's "direct switch", and what
 * makes a guest's own system calls cheap.
 *   - Guest user mode made a system call: enter the guest kernel at its
 *     syscall entry, as a CPU would (RCX and R11 already hold what the
 *     kernel expects).
 *   - The guest kernel made LHCALL_RETURN_TO_USER: load the user frame it
 *     left in its shared page and enter user mode.
 * A Xen PV guest's iret, stack_switch and set_segment_base for FS are
 * handled here too (xen/fast.c).
 * Anything else is a hypercall, or a case C must see (a ring of queued
 * calls to run, a frame to check): build the frame an interrupt gate
 * would have built, where TSS.RSP0 would have put it, and leave like any
 * other trap.
 */
SYM_CODE_START_NOALIGN(lg_syscall_entry)
	ENDBR
	cmpq	$LG_MODE_USER, CUR(LGP_GUEST_MODE)
	je	lg_user_syscall
	cmpq	$LG_HCALL_RETURN_TO_USER, %rax
	je	lg_return_to_user
	cmpq	$LG_XEN_HCALL_IRET, %rax
	je	lg_xen_iret
	cmpq	$LG_XEN_HCALL_STACK_SWITCH, %rax
	je	lg_xen_stack_switch
	cmpq	$LG_XEN_HCALL_SET_SEGMENT_BASE, %rax
	je	lg_xen_set_segment_base
lg_syscall_exit:
	movq	%rsp, CUR(LGP_SCRATCH)
	leaq	CUR(LGP_REGS_END), %rsp
	pushq	$__USER_DS
	pushq	CUR(LGP_SCRATCH)
	pushq	%r11
	pushq	$__USER_CS
	pushq	%rcx
	pushq	$0
	pushq	$LG_TRAP_SYSCALL
	jmp	lg_exit_guest

lg_user_syscall:
	testq	$LG_FAST_XEN_SYSCALL, CUR(LGP_FAST)
	jnz	lg_xen_syscall
	testq	$LG_FAST_SYSCALL, CUR(LGP_FAST)
	jz	lg_syscall_exit
	/*
	 * The kernel is entered with its virtual interrupts off.  Write that
	 * while the user root is loaded: there the shared page is ours alone,
	 * and SMAP lets us write it (under the kernel root it is the guest
	 * kernel's, user-accessible, and SMAP would fault us).
	 */
	movq	$0, HV(LG_DATA_VA + LGD_IRQ_ENABLED)
	movq	%rax, CUR(LGP_SCRATCH)
	movq	CUR(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	$LG_MODE_KERNEL, CUR(LGP_GUEST_MODE)
	incq	CUR(LGP_FAST_SYSCALLS)
	movq	CUR(LGP_SCRATCH), %rax
	/* The stack stays the user's: the guest kernel switches, as Linux does. */
	movq	%rsp, CUR(LGP_SCRATCH)
	leaq	CUR(LGP_SYSCALL_STACK), %rsp
	pushq	$__USER_DS
	pushq	CUR(LGP_SCRATCH)
	pushq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED)
	pushq	$__USER_CS
	pushq	CUR(LGP_SYSCALL_RIP)
	LG_CLEAR_CPU_BUFFERS
	iretq

lg_return_to_user:
	testq	$LG_FAST_RETURN, CUR(LGP_FAST)
	jz	lg_syscall_exit
	/* RCX, the hypercall's return address, is needed if we give up. */
	movq	%rcx, CUR(LGP_SCRATCH)
	/* The user root first: under it SMAP lets us read the shared page. */
	movq	CUR(LGP_USER_CR3), %rax
	movq	%rax, %cr3
	/* Calls queued in the ring run before this one: C does that. */
	movq	CUR(LGP_NEXT_HCALL), %rax
	leaq	HV(LG_DATA_VA + LGD_HCALL_STATUS), %rcx
	cmpb	$0, (%rcx,%rax)
	je	1f
	/* A non-canonical RIP or RSP: leave that guest to C, which kills it. */
	LG_CANONICAL_OR HV(LG_DATA_VA + LGD_USER_RIP), %rax, %rcx, 1f
	LG_CANONICAL_OR HV(LG_DATA_VA + LGD_USER_RSP), %r11, %rcx, 1f

	leaq	CUR(LGP_SYSCALL_STACK), %rsp
	pushq	$__USER_DS
	pushq	%r11
	movq	HV(LG_DATA_VA + LGD_USER_RFLAGS), %rcx
	andq	$LG_RFLAGS_KEEP, %rcx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rcx
	pushq	%rcx
	pushq	$__USER_CS
	pushq	%rax
	movq	$LG_MODE_USER, CUR(LGP_GUEST_MODE)
	incq	CUR(LGP_FAST_RETURNS)
	movq	HV(LG_DATA_VA + LGD_USER_RAX), %rax
	movq	HV(LG_DATA_VA + LGD_USER_RCX), %rcx
	movq	HV(LG_DATA_VA + LGD_USER_R11), %r11
	LG_CLEAR_CPU_BUFFERS
	iretq
1:	movq	CUR(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	CUR(LGP_SCRATCH), %rcx
	movl	$LG_HCALL_RETURN_TO_USER, %eax
	jmp	lg_syscall_exit

/*
 * The Xen PV fast paths (xen/fast.c says what C vetted for them).  Both
 * move to our own stack at once: guest memory is touched only between
 * labels lg_trap_in_switcher knows, where a #PF or #GP at CPL0 lands on
 * that stack and resumes at the path's way out to C, with the registers
 * the guest had; nothing the guest can see has changed before the last
 * access.  Five registers are borrowed, in LGP_TMP.
 */
.macro LG_BORROW
	movq	%rax, CUR(LGP_TMP)
	movq	%rcx, CUR(LGP_TMP + 8)
	movq	%rdx, CUR(LGP_TMP + 16)
	movq	%rbx, CUR(LGP_TMP + 24)
	movq	%r11, CUR(LGP_TMP + 32)
.endm

.macro LG_GIVE_BACK
	movq	CUR(LGP_TMP), %rax
	movq	CUR(LGP_TMP + 8), %rcx
	movq	CUR(LGP_TMP + 16), %rdx
	movq	CUR(LGP_TMP + 24), %rbx
	movq	CUR(LGP_TMP + 32), %r11
.endm

/*
 * A Xen fast path's start: onto our stack, the guest's RSP kept in
 * LGP_SCRATCH (lg_xen_to_c goes back to it), the registers borrowed.
 */
.macro LG_XEN_FAST_ENTER
	movq	%rsp, CUR(LGP_SCRATCH)
	leaq	CUR(LGP_SYSCALL_STACK), %rsp
	LG_BORROW
.endm

/*
 * [\reg, \reg + \size) clear of the hole, else to \slow: the switcher
 * runs at CPL0, where our own pages there are writable.  Clobbers \tmp.
 */
.macro LG_CLEAR_OF_HOLE_OR reg:req, size:req, tmp:req, slow:req
	movabsq	$LG_HOLE_END, \tmp
	cmpq	\tmp, \reg
	jae	.Lclear_of_hole\@
	movabsq	$(LG_HOLE_START - \size), \tmp
	cmpq	\tmp, \reg
	ja	\slow
.Lclear_of_hole\@:
.endm

/*
 * Back to the guest kernel after a hypercall answered here: RIP and RFLAGS
 * from the RCX and R11 it made the call with (borrowed), its RSP as it
 * was, the registers given back, and 0 in RAX.
 */
.macro LG_XEN_RETURN_0
	movq	CUR(LGP_TMP + 32), %rbx
	andq	$LG_RFLAGS_KEEP, %rbx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rbx
	pushq	$LG_SEL_DS
	pushq	CUR(LGP_SCRATCH)
	pushq	%rbx
	pushq	$LG_SEL_CS64
	pushq	CUR(LGP_TMP + 8)
	LG_GIVE_BACK
	xorl	%eax, %eax
	LG_CLEAR_CPU_BUFFERS
	iretq
.endm

/*
 * The event mask as a bounce frame records it: in %rax, 1 or 0 shifted to
 * CS's bits 32-39, and IF set in \flags (clear on entry) if it is 0.
 * Clobbers \vi.
 */
.macro LG_XEN_FRAME_MASK flags:req, vi:req
	movq	CUR(LGP_XEN_VI), \vi
	movzbl	LG_XEN_VI_MASK(\vi), %eax
	testl	%eax, %eax
	setnz	%al
	jnz	.Lmasked_\@
	orq	$X86_EFLAGS_IF, \flags
.Lmasked_\@:
	shlq	$32, %rax
.endm

/*
 * The guest's GS base and the other mode's trade places, as `swapgs`
 * would (Xen's toggle_guest_mode()).  Clobbers RAX, RBX, RCX, RDX.
 */
.macro LG_XEN_SWAP_GS
	LG_RDBASE gs, MSR_GS_BASE
	movq	%rax, %rbx
	movq	CUR(LGP_XEN_GS_INACTIVE), %rax
	LG_WRBASE gs, MSR_GS_BASE
	movq	%rbx, CUR(LGP_XEN_GS_INACTIVE)
.endm

/*
 * Xen PV: guest user mode made a system call (RCX its RIP, R11 its
 * RFLAGS).  Bounce it as xen/traps.c's lg_xen_bounce() would: into the
 * kernel's L4, a frame of RCX, R11, RIP, CS, RFLAGS, RSP, SS on the
 * stack_switch stack (CS carrying the event mask as it was, RFLAGS.IF its
 * inverse), events masked, the kernel's GS base, and on to the syscall
 * callback with the user's flags less TF, DF and RF.
 */
lg_xen_syscall:
	LG_XEN_FAST_ENTER
	movq	CUR(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	%r11, %rbx
	andq	$LG_RFLAGS_KEEP, %rbx
	orq	$X86_EFLAGS_FIXED, %rbx
	LG_XEN_FRAME_MASK %rbx, %rdx
	orq	$LG_SEL_CS64, %rax
	movq	CUR(LGP_XEN_FRAME), %rdx
	ASM_STAC
.Lxen_frame_start:
	movq	%rcx, 0(%rdx)
	movq	%r11, 8(%rdx)
	movq	%rcx, 16(%rdx)
	movq	%rax, 24(%rdx)
	movq	%rbx, 32(%rdx)
	movq	CUR(LGP_SCRATCH), %rax
	movq	%rax, 40(%rdx)
	movq	$LG_SEL_DS, 48(%rdx)
.Lxen_frame_end:
	ASM_CLAC
	movq	CUR(LGP_XEN_VI), %rdx
	movb	$1, LG_XEN_VI_MASK(%rdx)
	LG_XEN_SWAP_GS
	movq	$LG_MODE_KERNEL, CUR(LGP_GUEST_MODE)
	incq	CUR(LGP_FAST_SYSCALLS)
	movq	%r11, %rbx
	andq	$(LG_RFLAGS_KEEP & ~(X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_RF)), %rbx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rbx
	pushq	$LG_SEL_DS
	pushq	CUR(LGP_XEN_FRAME)
	pushq	%rbx
	pushq	$LG_SEL_CS64
	pushq	CUR(LGP_XEN_CALLBACK)
	LG_GIVE_BACK
	LG_CLEAR_CPU_BUFFERS
	iretq

/*
 * Xen PV: HYPERVISOR_iret from guest kernel mode, its context (RAX, R11,
 * RCX, flags, RIP, CS, RFLAGS, RSP, SS) at RSP.  Only the common case is
 * ours, as xen/traps.c's lg_xen_iret() would do it: to user mode, on the
 * flat 64-bit selectors (Xen's or Linux's), to plainly canonical
 * addresses, and no event becoming deliverable.  The context is copied to
 * our stack first, so that every check reads what the last one read.
 */
lg_xen_iret:
	testq	$LG_FAST_XEN_IRET, CUR(LGP_FAST)
	jz	lg_syscall_exit
	LG_XEN_FAST_ENTER
	/* Canonical, and all of it clear of the hole. */
	LG_CANONICAL_OR CUR(LGP_SCRATCH), %rbx, %rax, lg_xen_to_c
	LG_CLEAR_OF_HOLE_OR %rbx, LG_XEN_IRET_SIZE, %rax, lg_xen_to_c
	ASM_STAC
.Lxen_ctx_start:
	pushq	64(%rbx)
	pushq	56(%rbx)
	pushq	48(%rbx)
	pushq	40(%rbx)
	pushq	32(%rbx)
	pushq	24(%rbx)
	pushq	16(%rbx)
	pushq	8(%rbx)
	pushq	0(%rbx)
.Lxen_ctx_end:
	ASM_CLAC
	/*
	 * (%rsp): RAX, R11, RCX, flags, RIP, CS, RFLAGS, RSP, SS.  The
	 * selectors: Xen's flat ones, or Linux's own (which are the host's,
	 * so in every GDT a vCPU runs on).  CS's RPL says which mode the
	 * iret goes to, and must be 3; SS's is made 3, as C does.
	 */
	movzwl	40(%rsp), %eax
	cmpl	$LG_SEL_CS64, %eax
	je	5f
	cmpl	$__USER_CS, %eax
	jne	lg_xen_to_c
5:	movzwl	64(%rsp), %eax
	orl	$3, %eax
	cmpl	$LG_SEL_DS, %eax
	je	6f
	cmpl	$__USER_DS, %eax
	jne	lg_xen_to_c
6:
	LG_CANONICAL_OR 32(%rsp), %rbx, %rax, lg_xen_to_c
	LG_CANONICAL_OR 56(%rsp), %rbx, %rax, lg_xen_to_c
	/*
	 * The event mask becomes RFLAGS.IF's inverse.  Unmasking with an
	 * event pending means delivering it: C's.  The mask is written
	 * before pending is read, as the guest's own unmask does, so that a
	 * sender who saw the mask still set has set pending by now (and if
	 * not, it will kick us once we are in the guest).
	 */
	movq	CUR(LGP_XEN_VI), %rdx
	testl	$X86_EFLAGS_IF, 48(%rsp)
	jz	2f
	movb	$0, LG_XEN_VI_MASK(%rdx)
	lock orl $0, (%rsp)
	cmpb	$0, LG_XEN_VI_PENDING(%rdx)
	jne	lg_xen_to_c
	jmp	3f
2:	movb	$1, LG_XEN_VI_MASK(%rdx)
3:
	movq	CUR(LGP_USER_CR3), %rax
	movq	%rax, %cr3
	LG_XEN_SWAP_GS
	movq	$LG_MODE_USER, CUR(LGP_GUEST_MODE)
	incq	CUR(LGP_FAST_RETURNS)
	/* RAX from the context; RCX and R11 too unless it says "in syscall". */
	movq	0(%rsp), %rax
	movq	%rax, CUR(LGP_TMP)
	testl	$LG_XEN_IN_SYSCALL, 24(%rsp)
	jnz	4f
	movq	16(%rsp), %rax
	movq	%rax, CUR(LGP_TMP + 8)
	movq	8(%rsp), %rax
	movq	%rax, CUR(LGP_TMP + 32)
4:	movq	48(%rsp), %rbx
	andq	$LG_RFLAGS_KEEP, %rbx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rbx
	movq	32(%rsp), %rcx
	movq	56(%rsp), %rdx
	movzwl	64(%rsp), %eax
	orl	$3, %eax
	pushq	%rax
	pushq	%rdx
	pushq	%rbx
	movzwl	40 + 24(%rsp), %eax
	pushq	%rax
	pushq	%rcx
	LG_GIVE_BACK
	LG_CLEAR_CPU_BUFFERS
	iretq
/*
 * Xen PV: HYPERVISOR_stack_switch(ss, sp) from guest kernel mode (RSI the
 * new stack), which only records where the next bounce from user mode
 * goes.  Its frame is vetted as lg_xen_fast_entry() vets it: below the
 * stack aligned down to 16, without wrapping, canonical, and clear of the
 * hole; then the stack is recorded for the bounces to come and for C, and
 * the kernel gets 0 back.  RCX and R11 (its RIP and RFLAGS, which the
 * hypercall page keeps) and RSP must be plainly canonical, as an iret's.
 * Anything else is C's.
 */
lg_xen_stack_switch:
	testq	$LG_FAST_XEN_HCALL, CUR(LGP_FAST)
	jz	lg_syscall_exit
	LG_XEN_FAST_ENTER
	LG_CANONICAL_OR %rcx, %rbx, %rax, lg_xen_to_c
	LG_CANONICAL_OR CUR(LGP_SCRATCH), %rbx, %rax, lg_xen_to_c
	LG_CANONICAL_OR %rsi, %rbx, %rax, lg_xen_to_c
	andq	$~0xf, %rbx
	subq	$LG_XEN_FRAME_SIZE, %rbx
	jb	lg_xen_to_c
	LG_CANONICAL_OR %rbx, %rdx, %rax, lg_xen_to_c
	LG_CLEAR_OF_HOLE_OR %rbx, LG_XEN_FRAME_SIZE, %rax, lg_xen_to_c
	movq	%rsi, CUR(LGP_XEN_KERNEL_SP)
	movq	%rbx, CUR(LGP_XEN_FRAME)
	incq	CUR(LGP_FAST_STACKS)
	LG_XEN_RETURN_0

/*
 * Xen PV: HYPERVISOR_set_segment_base(SEGBASE_FS, base) from guest kernel
 * mode (RDI 0, RSI the base), which Linux's context switch makes for a
 * task with a TLS base: the base is loaded, if plainly canonical (a base
 * that is not would fault in the host: XSA-193), and the exit reads it
 * back for C as after any run.  RCX and RSP as for stack_switch.  The
 * other segments, and anything else, are C's.
 */
lg_xen_set_segment_base:
	testq	$LG_FAST_XEN_HCALL, CUR(LGP_FAST)
	jz	lg_syscall_exit
	testq	%rdi, %rdi
	jnz	lg_syscall_exit
	LG_XEN_FAST_ENTER
	LG_CANONICAL_OR %rcx, %rbx, %rax, lg_xen_to_c
	LG_CANONICAL_OR CUR(LGP_SCRATCH), %rbx, %rax, lg_xen_to_c
	LG_CANONICAL_OR %rsi, %rax, %rbx, lg_xen_to_c
	LG_WRBASE fs, MSR_FS_BASE
	incq	CUR(LGP_FAST_SEGBASES)
	LG_XEN_RETURN_0

/*
 * Any path's way out to C, or a fault's on guest memory: the guest's
 * registers and RSP as they were at the syscall (the CR3 loaded does not
 * matter: the exit loads the host's).
 */
lg_xen_to_c:
	ASM_CLAC
	LG_GIVE_BACK
	movq	CUR(LGP_SCRATCH), %rsp
	jmp	lg_syscall_exit
SYM_CODE_END(lg_syscall_entry)

/*
 * Who was interrupted, from the frame (vector, error code, RIP, CS,
 * RFLAGS, RSP, SS): the guest if CS says CPL3, else the switcher itself,
 * unless SS says CPL3 or RFLAGS says virtual-8086 mode.  On a CPU, CS.RPL
 * and SS.RPL are both the CPL, and V86 mode does not exist in long mode
 * (the SDM's IRET in IA-32e mode has no path to it).  QEMU's TCG breaks
 * all three for a CPL3 program: `mov %eax, %cs` (#UD on a CPU) loads a
 * null CS and stays at CPL3, and an `iretl` whose EFLAGS image has VM set
 * enters V86 mode with a real-mode CS; either way the next trap's CS reads
 * as CPL0, and without the other tests the CPU would stop in
 * lg_trap_in_switcher.  The switcher's own SS is always RPL 0 (null, the
 * host's, or STAR's 0xe010).  C kills such a guest (docs/limits.md
 * M:054).  The guest's exits take the first branch; only the switcher's
 * own traps pay for the others.
 */
.macro FROM_GUEST_OR in_switcher
	testb	$3, 24(%rsp)
	jnz	.Lfrom_guest_\@
	testb	$3, 48(%rsp)
	jnz	.Lfrom_guest_\@
	testl	$X86_EFLAGS_VM, 32(%rsp)
	jz	\in_switcher
.Lfrom_guest_\@:
.endm

/*
 * The 256 IDT stubs, 16 bytes apart (an ENDBR for kernels with IBT, which
 * wants one where every interrupt lands).  Vectors for which the CPU
 * pushes no error code push a zero, so every frame has the same shape.  #DF, NMI,
 * #DB and #MC arrive on IST stacks, the others at TSS.RSP0.
 */
	.balign 16
SYM_CODE_START_NOALIGN(lg_trap_stubs)
	vector = 0
	.rept 256
	.balign 16
	ENDBR
	.if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30
	.else
	pushq	$0
	.endif
	pushq	$vector
	.if vector == 1 || vector == 2 || vector == 8 || vector == 18
	jmp	lg_exit_ist
	.elseif vector == 14
	jmp	lg_exit_pf
	.else
	jmp	lg_exit_common
	.endif
	vector = vector + 1
	.endr
SYM_CODE_END(lg_trap_stubs)

/*
 * An IST vector: from the guest, move the frame (vector, error code, RIP,
 * CS, RFLAGS, RSP, SS) to where TSS.RSP0 would have put it, and go on as
 * for any trap; at CPL0 it hit the switcher itself.
 */
SYM_CODE_START_NOALIGN(lg_exit_ist)
	FROM_GUEST_OR lg_trap_in_switcher
	/* The seven words, in the order LGP_TRAPNUM .. LGP_SS lay them out. */
	pushq	%rax
	word = 0
	.rept (LGP_REGS_END - LGP_TRAPNUM) / 8
	movq	8 + 8 * word(%rsp), %rax
	movq	%rax, CUR(LGP_TRAPNUM + 8 * word)
	word = word + 1
	.endr
	popq	%rax
	leaq	CUR(LGP_TRAPNUM), %rsp
	jmp	lg_exit_guest
SYM_CODE_END(lg_exit_ist)

/*
 * A #PF.  One from guest user mode on an absent leaf (pgtable/absent.c:
 * the error code has Reserved, which no other leaf of ours can produce)
 * is the guest kernel's own, and if C allowed it (LG_FAST_XEN_PF) it goes
 * there from here, as xen/traps.c's lg_xen_bounce() would send it: into
 * the kernel's L4, a frame of RCX, R11, the error code, RIP, CS (the event
 * mask as it was in bits 32-39), RFLAGS (IF the mask's inverse), RSP and
 * SS, a word below where a system call's frame goes, CR2 in the vcpu_info
 * (Linux reads it there), events masked, the kernel's GS base, and on to
 * the trap table's handler.  The guest sees the error code its own walk
 * would give: not present, user, write and fetch as the CPU reported.
 * Until the last write to the frame nothing the guest can see has
 * changed; a fault on it (lg_trap_in_switcher) goes back to the trap
 * frame, CR2 as it was, and exits as below.  Anything else exits.
 */
SYM_CODE_START_NOALIGN(lg_exit_pf)
	FROM_GUEST_OR lg_trap_in_switcher
	testq	$LG_FAST_XEN_PF, CUR(LGP_FAST)
	jz	lg_exit_guest
	testb	$LG_XEN_PF_RSVD, CUR(LGP_ERRCODE)
	jz	lg_exit_guest
	cmpq	$LG_MODE_USER, CUR(LGP_GUEST_MODE)
	jne	lg_exit_guest
	LG_XEN_FAST_ENTER
	movq	%cr2, %rax
	movq	%rax, CUR(LGP_CR2)
	/*
	 * The system call's frame [F, F + 56) was vetted (xen/fast.c, or
	 * lg_xen_stack_switch): F is a 16-aligned T less 56.  Ours, [F - 8,
	 * F + 56), is T - 64 up: it ends where that one does, and since T is
	 * a multiple of 16 it starts at or above the hole's end (or zero)
	 * exactly when F does, so it is as canonical and clear of the hole.
	 */
	movq	CUR(LGP_XEN_FRAME), %rdx
	subq	$(LG_XEN_PF_FRAME_SIZE - LG_XEN_FRAME_SIZE), %rdx
	movq	CUR(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	CUR(LGP_RFLAGS), %r11
	andq	$~X86_EFLAGS_IF, %r11
	LG_XEN_FRAME_MASK %r11, %rcx
	movzwl	CUR(LGP_CS), %ebx
	orq	%rbx, %rax
	movq	CUR(LGP_ERRCODE), %rcx
	andl	$LG_XEN_PF_KEEP, %ecx
	orl	$LG_XEN_PF_USER, %ecx
	ASM_STAC
.Lxen_pf_frame_start:
	movq	%rcx, 16(%rdx)
	movq	CUR(LGP_TMP + 8), %rcx
	movq	%rcx, 0(%rdx)
	movq	CUR(LGP_TMP + 32), %rcx
	movq	%rcx, 8(%rdx)
	movq	CUR(LGP_RIP), %rcx
	movq	%rcx, 24(%rdx)
	movq	%rax, 32(%rdx)
	movq	%r11, 40(%rdx)
	movq	CUR(LGP_RSP), %rcx
	movq	%rcx, 48(%rdx)
	movzwl	CUR(LGP_SS), %ecx
	movq	%rcx, 56(%rdx)
.Lxen_pf_frame_end:
	ASM_CLAC
	movq	CUR(LGP_XEN_VI), %rcx
	movq	CUR(LGP_CR2), %rax
	movq	%rax, LG_XEN_VI_CR2(%rcx)
	movb	$1, LG_XEN_VI_MASK(%rcx)
	LG_XEN_SWAP_GS
	movq	$LG_MODE_KERNEL, CUR(LGP_GUEST_MODE)
	incq	CUR(LGP_FAST_FAULTS)
	/* Into the handler with the flags less TF, DF and RF, as C would. */
	movq	CUR(LGP_RFLAGS), %rbx
	andq	$(LG_RFLAGS_KEEP & ~(X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_RF)), %rbx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rbx
	movq	CUR(LGP_XEN_FRAME), %rax
	subq	$(LG_XEN_PF_FRAME_SIZE - LG_XEN_FRAME_SIZE), %rax
	pushq	$LG_SEL_DS
	pushq	%rax
	pushq	%rbx
	pushq	$LG_SEL_CS64
	pushq	CUR(LGP_XEN_PF_HANDLER)
	LG_GIVE_BACK
	LG_CLEAR_CPU_BUFFERS
	iretq

/* The way out, given up or on a fault: the trap frame as it came, CR2 too. */
lg_xen_pf_to_c:
	ASM_CLAC
	movq	CUR(LGP_CR2), %rax
	movq	%rax, %cr2
	LG_GIVE_BACK
	movq	CUR(LGP_SCRATCH), %rsp
	jmp	lg_exit_guest
SYM_CODE_END(lg_exit_pf)

/*
 * Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS.  From CPL3 it is the
 * guest leaving, and the stack is the top of the register frame at
 * LG_CUR_VA; from CPL0 it is something that hit the switcher itself.
 */
SYM_CODE_START_NOALIGN(lg_exit_common)
	FROM_GUEST_OR lg_trap_in_switcher
lg_exit_guest:
	/*
	 * An interrupt gate clears neither AC nor DF, which the guest may
	 * have set: no host code runs with SMAP off or strings backwards.
	 * (The flags the guest had are in the frame, and the host's own come
	 * back with popfq.)
	 */
	cld
	ASM_CLAC
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%rax
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	/* %rsp is LG_CUR_VA: struct lguest_pages, registers filled in. */
lg_exit_saved:

	/* GDTR back where the host's root maps it too. */
	ALTERNATIVE "", "jmp .Lunalias_done", X86_FEATURE_UMIP
	lgdt	LGP_GDT_DESC(%rsp)
.Lunalias_done:
	movq	%cr2, %rax
	movq	%rax, LGP_CR2(%rsp)
	LG_RDBASE fs, MSR_FS_BASE
	movq	%rax, LGP_GUEST_FSBASE(%rsp)
	LG_RDBASE gs, MSR_GS_BASE
	movq	%rax, LGP_GUEST_GSBASE(%rsp)
	movl	%ds, %eax
	movq	%rax, LGP_GUEST_DS(%rsp)
	movl	%es, %eax
	movq	%rax, LGP_GUEST_ES(%rsp)
	movl	%fs, %eax
	movq	%rax, LGP_GUEST_FS(%rsp)
	movl	%gs, %eax
	movq	%rax, LGP_GUEST_GS(%rsp)

	/* CR0.TS is never left set for host code. */
	cmpq	$0, LGP_GUEST_TS(%rsp)
	je	2f
	clts
2:
	movq	LGP_HOST_CR3(%rsp), %rax
	movq	LGP_HOST_RSP(%rsp), %rsp
	movq	%rax, %cr3
	/*
	 * Back to the module's text, on the host's kernel CS: a far return
	 * (an absolute address: no relative one is right from the hole).
	 * SS is null from the trap (or 0xe010 from syscall, which is ours):
	 * make it null before the host's GDT, where 0xe010 is nothing.
	 */
	xorl	%eax, %eax
	movl	%eax, %ss
	pushq	$__KERNEL_CS
	movabsq	$lg_exit_host, %rax
	pushq	%rax
	lretq
SYM_CODE_END(lg_exit_common)

/*
 * Something hit the switcher at CPL0, with interrupts off.  Only an NMI, a
 * machine check (or a stray #DB) can: note the NMI or #MC in a byte per
 * CPU entry-area slot and return.  We may be on our IST stack in this
 * CPU's area, which holds the slot, or (early on the way in, late on the
 * way out, while the host's TSS is loaded) on the host's IST stack in that
 * entry area: either tells the slot.  The C code hands the NMI or #MC to
 * the host once the switch is over.  Neither frame has an error code: drop
 * exactly the two words our stub pushed.
 */
SYM_CODE_START_NOALIGN(lg_trap_in_switcher)
	cmpq	$2, (%rsp)
	je	1f
	cmpq	$1, (%rsp)
	je	2f
	cmpq	$14, (%rsp)
	je	.Lguest_access
	cmpq	$13, (%rsp)
	je	.Lguest_access
	cmpq	$18, (%rsp)
	jne	5f
	/*
	 * A machine check we may return from (MCG_STATUS.RIPV): note it.
	 * Without RIPV the interrupted instruction cannot be resumed: stop.
	 */
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	movl	$MSR_IA32_MCG_STATUS, %ecx
	rdmsr
	testl	$1, %eax
	popq	%rdx
	popq	%rcx
	popq	%rax
	jnz	1f
	/*
	 * Anything else is a switcher bug.  Stop this CPU where it is (NMIs
	 * still come and go): the other CPUs' watchdogs will say so, where
	 * another fault here would recurse into a triple fault.
	 */
5:	hlt
	jmp	5b
1:
	pushq	%rax
	pushq	%rdx
	movq	%rsp, %rax
	movabsq	$LG_CPUS_VA, %rdx
	subq	%rdx, %rax
	shrq	$LG_CPU_SHIFT, %rax
	cmpq	$CONFIG_NR_CPUS, %rax
	jae	4f
	/* Our stack: the area it is in has the slot. */
	movq	%rsp, %rax
	andq	$~((1 << LG_CPU_SHIFT) - 1), %rax
	movq	LGA_PAGES + LGP_NMI_SLOT(%rax), %rax
	jmp	3f
4:	/* The host's: its entry area's slot. */
	movq	%rsp, %rax
	subq	SWD(LGS_CEA_BASE), %rax
	xorl	%edx, %edx
	divq	SWD(LGS_CEA_SIZE)
3:
	leaq	SWD(LGS_NMI_PENDING), %rdx
	cmpq	$2, 16(%rsp)
	je	6f
	leaq	SWD(LGS_MC_PENDING), %rdx
6:
	movb	$1, (%rdx,%rax)
	popq	%rdx
	popq	%rax
2:
	addq	$16, %rsp
	iretq

/*
 * A #PF or #GP at CPL0: the Xen fast paths' guest accesses may fault (a
 * page the shadow does not have yet, or a hostile address), and resume
 * at their way out to C.  Anywhere else it is a switcher bug.  Stack:
 * vector, error code, RIP, CS, RFLAGS, RSP, SS.
 */
.macro LG_FIXUP start:req, end:req, fixup:req
	leaq	\start(%rip), %rdx
	cmpq	%rdx, %rax
	jb	.Lnot_\@
	leaq	\end(%rip), %rdx
	cmpq	%rdx, %rax
	jae	.Lnot_\@
	leaq	\fixup(%rip), %rdx
	jmp	.Lfixed
.Lnot_\@:
.endm
.Lguest_access:
	pushq	%rax
	pushq	%rdx
	movq	32(%rsp), %rax
	LG_FIXUP .Lxen_frame_start, .Lxen_frame_end, lg_xen_to_c
	LG_FIXUP .Lxen_ctx_start, .Lxen_ctx_end, lg_xen_to_c
	LG_FIXUP .Lxen_pf_frame_start, .Lxen_pf_frame_end, lg_xen_pf_to_c
	jmp	5b
.Lfixed:
	movq	%rdx, 32(%rsp)
	popq	%rdx
	popq	%rax
	addq	$16, %rsp
	iretq
SYM_CODE_END(lg_trap_in_switcher)

	.balign 4096
SYM_CODE_START_NOALIGN(lg_switcher_text_end)
SYM_CODE_END(lg_switcher_text_end)
