/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Xen PV test guests (xen_test.h): where they start, and their exception
 * handlers.
 */
#include "xen_test.h"

/*
 * Where a Xen PV test guest starts, as a domain builder leaves it: RSI =
 * start_info, RSP = the top of the boot stack.  The registers it found
 * go to xen_test_boot.  A guest function that returns has passed:
 * GUEST_DONE.
 */
	.text
	.globl	xen_test_guest_entry
xen_test_guest_entry:
	movq	%rsp, xen_test_boot + XT_BOOT_RSP(%rip)
	movq	%rsi, xen_test_boot + XT_BOOT_RSI(%rip)
	movq	%rsi, xen_test_start_info(%rip)
	xorl	%eax, %eax
	movw	%cs, %ax
	movq	%rax, xen_test_boot + XT_BOOT_CS(%rip)
	movw	%ss, %ax
	movq	%rax, xen_test_boot + XT_BOOT_SS(%rip)
	movw	%ds, %ax
	movq	%rax, xen_test_boot + XT_BOOT_DS(%rip)
	movw	%es, %ax
	movq	%rax, xen_test_boot + XT_BOOT_ES(%rip)
	movw	%fs, %ax
	movq	%rax, xen_test_boot + XT_BOOT_FS(%rip)
	movw	%gs, %ax
	movq	%rax, xen_test_boot + XT_BOOT_GS(%rip)
	pushfq
	popq	xen_test_boot + XT_BOOT_RFLAGS(%rip)
	andq	$-16, %rsp
	call	*xen_test_guest_fn(%rip)
	movl	$3, %edi		/* XEN_UCALL_DONE */
	xorl	%esi, %esi
	call	xen_guest_ucall
	ud2

/*
 * Exception handlers.  The module enters one on a bounce frame (lowest
 * address first): RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS.  Each
 * stub keeps RAX and RBX on the stack, points RBX at its vector's record,
 * says in EAX whether the frame has an error code, and goes to the common
 * part, which records the frame and returns with HYPERVISOR_iret.  RCX and
 * R11 are free there: the return restores them from the frame.
 */
	.macro	XEN_TRAP_STUB vec
	.p2align 4
xen_trap_stub_\vec:
	pushq	%rax
	pushq	%rbx
	leaq	xen_trap_records + (\vec << XT_REC_SHIFT)(%rip), %rbx
	movq	$\vec, XT_REC_VECTOR(%rbx)
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21)
	movl	$1, %eax
	.else
	xorl	%eax, %eax
	.endif
	jmp	xen_trap_common
	.endm

	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	XEN_TRAP_STUB \vec
	.endr

/* %rbx: the record; %eax: 1 with an error code; stack: rbx, rax, frame. */
xen_trap_common:
	incq	XT_REC_COUNT(%rbx)
	leaq	16(%rsp), %rcx			/* the frame */
	movq	%rcx, XT_REC_FRAME(%rbx)
	movq	(%rcx), %r11
	movq	%r11, XT_REC_RCX(%rbx)
	movq	8(%rcx), %r11
	movq	%r11, XT_REC_R11(%rbx)
	movq	%rax, XT_REC_HAS_ERROR(%rbx)
	movq	$0, XT_REC_ERROR(%rbx)
	testl	%eax, %eax
	jz	1f
	movq	16(%rcx), %r11
	movq	%r11, XT_REC_ERROR(%rbx)
	addq	$8, %rcx
1:	/* 16(%rcx): RIP, CS, RFLAGS, RSP, SS */
	movq	16(%rcx), %r11
	movq	%r11, XT_REC_RIP(%rbx)
	movq	24(%rcx), %r11
	movq	%r11, XT_REC_CS(%rbx)
	movq	32(%rcx), %r11
	movq	%r11, XT_REC_RFLAGS(%rbx)
	movq	40(%rcx), %r11
	movq	%r11, XT_REC_RSP(%rbx)
	movq	48(%rcx), %r11
	movq	%r11, XT_REC_SS(%rbx)
	movq	0 + XEN_TEST_VCPU0_CR2, %r11
	movq	%r11, XT_REC_CR2(%rbx)
	cmpq	$0, XT_REC_ARMED(%rbx)
	je	.Lunexpected
	movq	$0, XT_REC_ARMED(%rbx)
	/* Where to return: resume if set, else RIP + skip. */
	movq	XT_REC_RESUME(%rbx), %r11
	testq	%r11, %r11
	jnz	2f
	movq	16(%rcx), %r11
	addq	XT_REC_SKIP(%rbx), %r11
2:	movq	%r11, 16(%rcx)
	testl	%eax, %eax
	jnz	3f
	popq	%rbx
	popq	%rax
	popq	%rcx
	popq	%r11
	jmp	xen_test_iret
3:	popq	%rbx
	popq	%rax
	popq	%rcx
	popq	%r11
	addq	$8, %rsp			/* the error code */
	jmp	xen_test_iret

.Lunexpected:
	movq	XT_REC_VECTOR(%rbx), %rdi
	movq	16(%rcx), %rsi
	movq	XT_REC_ERROR(%rbx), %rdx
	andq	$-16, %rsp
	call	xen_test_trap_unexpected
	ud2

/*
 * The event callback (CALLBACKTYPE_event): the module enters it on a bounce
 * frame without an error code (RCX, R11, RIP, CS, RFLAGS, RSP, SS) with
 * events masked.  See struct xen_test_events: it records, acknowledges
 * (upcall_pending, then pending_sel, then the pending ports: the order
 * Linux's xen_evtchn_do_upcall() clears them in, so that a port raised
 * meanwhile sets them again) and returns through HYPERVISOR_iret.
 */
	.globl	xen_test_event_callback
xen_test_event_callback:
	pushq	%rax
	incq	xen_test_events + XT_EV_COUNT(%rip)
	movq	24(%rsp), %rax			/* the frame's RIP */
	movq	%rax, xen_test_events + XT_EV_RIP(%rip)
	movzbl	XEN_TEST_VCPU0_MASK, %eax
	movq	%rax, xen_test_events + XT_EV_MASK(%rip)
	movb	$0, XEN_TEST_VCPU0_PENDING
	xorl	%eax, %eax
	xchgq	%rax, XEN_TEST_VCPU0_SEL
	orq	%rax, xen_test_events + XT_EV_SEL(%rip)
	xorl	%eax, %eax
	xchgq	%rax, XEN_TEST_EVTCHN_PENDING
	orq	%rax, xen_test_events + XT_EV_PENDING(%rip)
	popq	%rax
	popq	%rcx
	popq	%r11
	jmp	xen_test_iret

/*
 * HYPERVISOR_iret from {rip, cs, rflags, rsp, ss} on the stack, as Linux's
 * xen_iret: struct iret_context is {rax, r11, rcx, flags, rip, cs, rflags,
 * rsp, ss} from the lowest address.
 */
	.globl	xen_test_iret
xen_test_iret:
	pushq	$0				/* flags: not VGCF_in_syscall */
	pushq	%rcx
	pushq	%r11
	pushq	%rax
	movl	$23, %eax			/* __HYPERVISOR_iret */
	syscall
	ud2

	.section .rodata
	.p2align 3
	.globl	xen_trap_stubs
xen_trap_stubs:
	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	xen_trap_stub_\vec
	.endr

	.section .note.GNU-stack, "", @progbits
