/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The switcher: the only code that runs with the guest's page tables
 * loaded.  It lives in its own page-aligned section so that exactly these
 * pages (read-only, executable, supervisor-only) can be mapped into every
 * guest at the address they have in the host; the CR3 write in the middle of
 * lguest_switch_to_guest() then continues at the next instruction in both
 * worlds.
 *
 * Going in (lguest_switch_to_guest, called by C with interrupts off):
 * save the host's callee-saved registers, RFLAGS, FS/GS selectors and bases
 * and LDT on the host stack and the stack pointer, GDTR and CR3 in this
 * CPU's struct lguest_pages; clear IBRS as for user space; load our IDT, a
 * null LDT, the guest's FS/GS bases and the guest's CR3, then the aliases
 * of our IDT and this CPU's GDT that exist only in guest roots (what sidt
 * and sgdt show the guest); pop the guest's registers from struct
 * lguest_pages, now at LG_PAGES_VA, clear the CPU's buffers (VERW) and
 * iretq to CPL3 with IF set.
 *
 * Coming back (any trap, interrupt or syscall from the guest): the CPU
 * switches to this CPU's entry stack (TSS.sp0, in the CPU entry area that is
 * mapped in the guest) or an IST stack, and jumps through our IDT to a
 * stub that pushes the vector.  lg_exit_common stores the guest's registers
 * and that frame at LG_PAGES_VA with absolute addressing (no register is
 * free and the stack is the CPU's, not ours), puts back the host's GDTR and
 * our IDT's real address, then reloads the host's stack, CR3, LDT,
 * selectors and bases, applies the host's speculation mitigations before
 * any RET, and only then loads the host's IDT and returns to C as if
 * lguest_switch_to_guest() had returned.
 */
#include <linux/linkage.h>
#include <asm/segment.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/smap.h>
#include "switcher.h"

#define P(off)	(LG_PAGES_VA + (off))

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
	verw	lg_switcher_data+LGS_VERW_SEL(%rip)
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

	.section .lg_switcher.text, "ax"
	.balign 4096
SYM_CODE_START_NOALIGN(lg_switcher_text_start)
	int3
SYM_CODE_END(lg_switcher_text_start)

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

	/* FS and GS bases, then the data selectors. */
	movl	$MSR_FS_BASE, %ecx
	rdmsr
	push	%rdx
	push	%rax
	movl	$MSR_GS_BASE, %ecx
	rdmsr
	push	%rdx
	push	%rax
	movl	%ds, %eax
	push	%rax
	movl	%es, %eax
	push	%rax
	movl	%fs, %eax
	push	%rax
	movl	%gs, %eax
	push	%rax
	/* And the launcher's LDT, if it has one (modify_ldt()). */
	xorl	%eax, %eax
	sldt	%ax
	push	%rax

	movq	%rsp, LGP_HOST_RSP(%rdi)
	sgdt	LGP_HOST_GDT(%rdi)
	/* IBRS off for the guest, as for user space; GS is still the host's. */
	LG_IBRS_EXIT
	movq	%cr3, %rax
	orq	lg_switcher_data+LGS_HOST_CR3_FLAGS(%rip), %rax
	movq	%rax, LGP_HOST_CR3(%rdi)

	/*
	 * Our IDT first, before the GS base changes: an NMI from here on
	 * must find our handler, which needs no per-CPU data, and never the
	 * host's, which (without FSGSBASE) trusts the GS base to tell kernel
	 * from user.  It must also never find the host's IDT under the
	 * guest's page tables.
	 */
	lidt	lg_switcher_data+LGS_GUEST_IDT_DESC(%rip)

	/*
	 * No LDT while the guest runs: its descriptors would be read through
	 * the guest's page tables, at an address the guest can map.
	 */
	cmpw	$0, (%rsp)		/* the LDT selector we saved */
	je	3f
	xorl	%eax, %eax
	lldt	%ax
3:
	/*
	 * The guest starts with null data selectors.  Loading %gs may clear
	 * the kernel's GS base: no per-CPU access from here until it is back.
	 */
	xorl	%eax, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$MSR_FS_BASE, %ecx
	movl	LGP_GUEST_FSBASE(%rdi), %eax
	movl	LGP_GUEST_FSBASE+4(%rdi), %edx
	wrmsr
	movl	$MSR_GS_BASE, %ecx
	movl	LGP_GUEST_GSBASE(%rdi), %eax
	movl	LGP_GUEST_GSBASE+4(%rdi), %edx
	wrmsr

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
2:	movq	%rax, %cr3

	/*
	 * Under the guest's root, the same IDT and GDT at their aliases: on
	 * a CPU without UMIP the guest can read IDTR and GDTR (sidt, sgdt),
	 * and the real addresses would tell it where the module and this
	 * CPU's entry area are.  The aliases exist only in guest roots, so
	 * they are loaded only while one is in CR3.
	 */
	lidt	lg_switcher_data+LGS_ALIAS_IDT_DESC(%rip)
	lgdt	lg_switcher_data+LGS_ALIAS_GDT_DESC(%rip)

	/* Now this CPU's lguest_pages are at LG_PAGES_VA: pop the guest. */
	movq	$LG_PAGES_VA, %rsp
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
SYM_FUNC_END(lguest_switch_to_guest)

/*
 * The guest executed syscall: RCX holds its RIP, R11 its RFLAGS, RSP is
 * still the guest's and interrupts are off (SFMASK).
 *
 * Two cases the switcher handles alone, if C allowed it (LGP_FAST), without
 * ever reaching the host's C code: this is PVM's "direct switch", and what
 * makes a guest's own system calls cheap.
 *   - Guest user mode made a system call: enter the guest kernel at its
 *     syscall entry, as a CPU would (RCX and R11 already hold what the
 *     kernel expects).
 *   - The guest kernel made LHCALL_RETURN_TO_USER: load the user frame it
 *     left in its shared page and enter user mode.
 * Anything else is a hypercall, or a case C must see (a ring of queued
 * calls to run, a frame to check): build the frame an interrupt gate
 * would have built, on a few words at the end of this CPU's page, and leave
 * like any other trap.
 */
SYM_CODE_START(lg_syscall_entry)
	cmpq	$LG_MODE_USER, P(LGP_GUEST_MODE)
	je	lg_user_syscall
	cmpq	$LG_HCALL_RETURN_TO_USER, %rax
	je	lg_return_to_user
lg_syscall_exit:
	movq	%rsp, P(LGP_SCRATCH)
	movq	$P(LGP_SYSCALL_STACK), %rsp
	pushq	$__USER_DS
	pushq	P(LGP_SCRATCH)
	pushq	%r11
	pushq	$__USER_CS
	pushq	%rcx
	pushq	$0
	pushq	$LG_TRAP_SYSCALL
	jmp	lg_exit_common

lg_user_syscall:
	testq	$LG_FAST_SYSCALL, P(LGP_FAST)
	jz	lg_syscall_exit
	/*
	 * The kernel is entered with its virtual interrupts off.  Write that
	 * while the user root is loaded: there the shared page is ours alone,
	 * and SMAP lets us write it (under the kernel root it is the guest
	 * kernel's, user-accessible, and SMAP would fault us).
	 */
	movq	$0, LG_DATA_VA+LGD_IRQ_ENABLED
	movq	%rax, P(LGP_SCRATCH)
	movq	P(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	$LG_MODE_KERNEL, P(LGP_GUEST_MODE)
	incq	P(LGP_FAST_SYSCALLS)
	movq	P(LGP_SCRATCH), %rax
	/* The stack stays the user's: the guest kernel switches, as Linux does. */
	movq	%rsp, P(LGP_SCRATCH)
	movq	$P(LGP_SYSCALL_STACK), %rsp
	pushq	$__USER_DS
	pushq	P(LGP_SCRATCH)
	pushq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED)
	pushq	$__USER_CS
	pushq	P(LGP_SYSCALL_RIP)
	LG_CLEAR_CPU_BUFFERS
	iretq

lg_return_to_user:
	testq	$LG_FAST_RETURN, P(LGP_FAST)
	jz	lg_syscall_exit
	/* RCX, the hypercall's return address, is needed if we give up. */
	movq	%rcx, P(LGP_SCRATCH)
	/* The user root first: under it SMAP lets us read the shared page. */
	movq	P(LGP_USER_CR3), %rax
	movq	%rax, %cr3
	/* Calls queued in the ring run before this one: C does that. */
	movq	P(LGP_NEXT_HCALL), %rax
	cmpb	$0, LG_DATA_VA+LGD_HCALL_STATUS(%rax)
	je	1f
	/*
	 * A non-canonical RIP or RSP would make iretq fault here, at CPL0:
	 * leave that guest to C, which kills it.  Read each word once: the
	 * guest may be changing them from another vCPU.
	 */
	movq	LG_DATA_VA+LGD_USER_RIP, %rax
	movq	%rax, %rcx
	shlq	$16, %rcx
	sarq	$16, %rcx
	cmpq	%rax, %rcx
	jne	1f
	movq	LG_DATA_VA+LGD_USER_RSP, %r11
	movq	%r11, %rcx
	shlq	$16, %rcx
	sarq	$16, %rcx
	cmpq	%r11, %rcx
	jne	1f

	movq	$P(LGP_SYSCALL_STACK), %rsp
	pushq	$__USER_DS
	pushq	%r11
	movq	LG_DATA_VA+LGD_USER_RFLAGS, %rcx
	andq	$LG_RFLAGS_KEEP, %rcx
	orq	$(X86_EFLAGS_IF | X86_EFLAGS_FIXED), %rcx
	pushq	%rcx
	pushq	$__USER_CS
	pushq	%rax
	movq	$LG_MODE_USER, P(LGP_GUEST_MODE)
	incq	P(LGP_FAST_RETURNS)
	movq	LG_DATA_VA+LGD_USER_RAX, %rax
	movq	LG_DATA_VA+LGD_USER_RCX, %rcx
	movq	LG_DATA_VA+LGD_USER_R11, %r11
	LG_CLEAR_CPU_BUFFERS
	iretq
1:	movq	P(LGP_KERNEL_CR3), %rax
	movq	%rax, %cr3
	movq	P(LGP_SCRATCH), %rcx
	movl	$LG_HCALL_RETURN_TO_USER, %eax
	jmp	lg_syscall_exit
SYM_CODE_END(lg_syscall_entry)

/*
 * The 256 IDT stubs, 16 bytes apart.  Vectors for which the CPU pushes no
 * error code push a zero, so every frame has the same shape.
 */
	.balign 16
SYM_CODE_START_NOALIGN(lg_trap_stubs)
	vector = 0
	.rept 256
	.balign 16
	.if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30
	.else
	pushq	$0
	.endif
	pushq	$vector
	jmp	lg_exit_common
	vector = vector + 1
	.endr
SYM_CODE_END(lg_trap_stubs)

/*
 * Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS.  From CPL3 it is the
 * guest leaving; from CPL0 it is something that hit the switcher itself.
 */
SYM_CODE_START_NOALIGN(lg_exit_common)
	testb	$3, 24(%rsp)
	jz	lg_trap_in_switcher
	/*
	 * An interrupt gate clears neither AC nor DF, which the guest may
	 * have set: no host code runs with SMAP off or strings backwards.
	 * (The flags the guest had are in the frame, and the host's own come
	 * back with popfq.)
	 */
	cld
	ASM_CLAC

	movq	%r15, P(LGP_R15)
	movq	%r14, P(LGP_R14)
	movq	%r13, P(LGP_R13)
	movq	%r12, P(LGP_R12)
	movq	%rbp, P(LGP_RBP)
	movq	%rbx, P(LGP_RBX)
	movq	%r11, P(LGP_R11)
	movq	%r10, P(LGP_R10)
	movq	%r9, P(LGP_R9)
	movq	%r8, P(LGP_R8)
	movq	%rax, P(LGP_RAX)
	movq	%rcx, P(LGP_RCX)
	movq	%rdx, P(LGP_RDX)
	movq	%rsi, P(LGP_RSI)
	movq	%rdi, P(LGP_RDI)
	popq	P(LGP_TRAPNUM)
	popq	P(LGP_ERRCODE)
	popq	P(LGP_RIP)
	popq	P(LGP_CS)
	popq	P(LGP_RFLAGS)
	popq	P(LGP_RSP)
	popq	P(LGP_SS)
	movq	%cr2, %rax
	movq	%rax, P(LGP_CR2)

	movl	$MSR_FS_BASE, %ecx
	rdmsr
	movl	%eax, P(LGP_GUEST_FSBASE)
	movl	%edx, P(LGP_GUEST_FSBASE+4)
	movl	$MSR_GS_BASE, %ecx
	rdmsr
	movl	%eax, P(LGP_GUEST_GSBASE)
	movl	%edx, P(LGP_GUEST_GSBASE+4)

	/* CR0.TS is never left set for host code. */
	cmpq	$0, P(LGP_GUEST_TS)
	je	1f
	clts
1:
	/* The real tables' addresses before the aliases' root goes. */
	lgdt	P(LGP_HOST_GDT)
	lidt	lg_switcher_data+LGS_GUEST_IDT_DESC(%rip)
	movq	P(LGP_HOST_RSP), %rsp
	movq	P(LGP_HOST_CR3), %rax
	movq	%rax, %cr3

	/* The launcher's LDT, if it had one: its GDT entry is still there. */
	popq	%rax
	testw	%ax, %ax
	jz	2f
	lldt	%ax
2:
	/* Selectors first: loading %gs and %fs clobbers their bases. */
	popq	%rax
	movl	%eax, %gs
	popq	%rax
	movl	%eax, %fs
	popq	%rax
	movl	%eax, %es
	popq	%rax
	movl	%eax, %ds
	movl	$MSR_GS_BASE, %ecx
	popq	%rax
	popq	%rdx
	wrmsr
	movl	$MSR_FS_BASE, %ecx
	popq	%rax
	popq	%rdx
	wrmsr
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
SYM_CODE_END(lg_exit_common)

/*
 * Something hit the switcher at CPL0, with interrupts off.  Only an NMI (or
 * a stray #DB) can: note the NMI in a byte per CPU entry area slot, which is
 * mapped in host and guest alike (we may be under either CR3), and return.
 * The C code hands the NMI to the host once the switch is over.  The NMI
 * frame has no error code: drop exactly the two words our stub pushed.
 */
SYM_CODE_START_NOALIGN(lg_trap_in_switcher)
	cmpq	$2, (%rsp)
	je	1f
	cmpq	$1, (%rsp)
	je	2f
	/* Anything else is a switcher bug: stop here, loudly. */
	ud2
1:
	pushq	%rax
	pushq	%rdx
	movq	%rsp, %rax
	subq	lg_switcher_data+LGS_CEA_BASE(%rip), %rax
	xorl	%edx, %edx
	divq	lg_switcher_data+LGS_CEA_SIZE(%rip)
	leaq	lg_switcher_data+LGS_NMI_PENDING(%rip), %rdx
	movb	$1, (%rdx,%rax)
	popq	%rdx
	popq	%rax
2:
	addq	$16, %rsp
	iretq
SYM_CODE_END(lg_trap_in_switcher)

	.balign 4096
SYM_CODE_START_NOALIGN(lg_switcher_text_end)
SYM_CODE_END(lg_switcher_text_end)

	.text
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
