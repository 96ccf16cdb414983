/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a test guest starts: the host put the test's guest function in %r12
 * and the stack at the top of guest memory.  A function that returns has
 * passed: GUEST_DONE.
 */
	.text
	.globl lg_test_guest_entry
lg_test_guest_entry:
	andq	$-16, %rsp
	call	guest_init
	call	*%r12
	movl	$8, %eax		/* LHCALL_NOTIFY */
	movl	$2, %edi		/* LGUEST_NOTIFY_UCALL */
	movl	$3, %esi		/* UCALL_DONE */
	xorl	%edx, %edx
	syscall
	ud2
	.section .note.GNU-stack, "", @progbits
