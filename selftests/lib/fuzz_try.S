/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuzz_try(fn, arg, slot): guest code for fuzz_test's guests, both
 * personalities.  Calls fn(arg) with the callee-saved registers pushed
 * (and the slot's address: the seventh push also aligns the call) and
 * the stack pointer kept in *slot (and the slot's address in
 * fuzz_try_last), and returns 0.  A trap handler that gives up on fn
 * sends the vCPU to one of the recovery entries, which return 1 from
 * fuzz_try instead, whatever fn did to the registers:
 *   fuzz_try_recover        with RSP already *slot (the handler set it);
 *   fuzz_try_recover_reload with RSP anything: it reloads *fuzz_try_last
 *                           (one vCPU only: the Xen guest's handlers
 *                           cannot set RSP in their return frame).
 * The slot is emptied while RSP still points where it says, before a
 * register is popped: a handler that finds it non-zero may always jump
 * back, even if its interrupt landed on the way out.
 */
	.text
	.globl	fuzz_try
fuzz_try:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdx
	movq	%rsp, (%rdx)
	movq	%rdx, fuzz_try_last(%rip)
	movq	%rdi, %rax
	movq	%rsi, %rdi
	call	*%rax
	xorl	%eax, %eax
	jmp	1f

	.globl	fuzz_try_recover_reload
fuzz_try_recover_reload:
	movq	fuzz_try_last(%rip), %rax
	movq	(%rax), %rsp
	.globl	fuzz_try_recover
fuzz_try_recover:
	movl	$1, %eax
1:	movq	(%rsp), %rdx
	movq	$0, (%rdx)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	cld
	ret

	.bss
	.p2align 3
	.globl	fuzz_try_last
fuzz_try_last:
	.quad	0

	.section .note.GNU-stack, "", @progbits
