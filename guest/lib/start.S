/* SPDX-License-Identifier: GPL-2.0 */
/*
 * _start for stand-alone guests: the launcher starts vCPU 0 here with RSP at
 * the top of guest memory.  guest_main() returning powers the guest off.
 */
	.text
	.globl _start
_start:
	andq	$-16, %rsp
	call	guest_init
	call	guest_main
	movq	%rax, %rdi
	call	guest_exit
	ud2

	.section .note.GNU-stack, "", @progbits
