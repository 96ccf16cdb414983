/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest entry points: the 256 trap stubs the guest registers with
 * LHCALL_LOAD_IDT_ENTRY.  The host delivers a trap as an interrupt gate
 * would: on the stack it pushed SS, RSP, RFLAGS, CS, RIP and, for some
 * vectors, an error code.  Each stub makes the frame uniform (a zero error
 * code where there is none, then the vector), saves the general registers
 * and calls guest_trap(), which also restores the virtual interrupt flag.
 *
 * The way back is not iretq, although iretq from CPL3 to CPL3 is legal:
 * QEMU's TCG performs iretq's stack reads as supervisor accesses, so with
 * the host's SMAP on it faults on our (user) stack.  Instead we put RFLAGS
 * and RIP just below the interrupted stack pointer, switch to it, and
 * popfq; ret.  Guests are built without a red zone, so those two words are
 * free; IF and IOPL are not ours to change and popfq leaves them alone.
 */
	.text
	.balign 16
	.globl guest_trap_stubs
guest_trap_stubs:
	vector = 0
	.rept 256
	.balign 16
	.if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30
	.else
	pushq	$0
	.endif
	pushq	$vector
	jmp	guest_trap_common
	vector = vector + 1
	.endr

guest_trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	/* The frame is 16-byte aligned plus 8 or 0: align for the C call. */
	movq	%rsp, %rbx
	andq	$-16, %rsp
	call	guest_trap
	movq	%rbx, %rsp

	/* Offsets: 15 registers, then vector, error code, RIP, CS, RFLAGS, RSP. */
	movq	160(%rsp), %rax		/* the interrupted RSP */
	subq	$16, %rax
	movq	136(%rsp), %rcx		/* RIP */
	movq	%rcx, 8(%rax)
	movq	152(%rsp), %rcx		/* RFLAGS */
	movq	%rcx, (%rax)
	/* The vector's slot lies below anything we just wrote: keep RSP there. */
	movq	%rax, 120(%rsp)
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	movq	(%rsp), %rsp
	popfq
	ret
	.section .note.GNU-stack, "", @progbits
