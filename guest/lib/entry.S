/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest entry points: the 256 trap stubs the guest registers with
 * LHCALL_LOAD_IDT_ENTRY, and the entry for user system calls.  The host
 * delivers a trap as an interrupt gate would: on the stack it pushed SS,
 * RSP, RFLAGS, CS, RIP and, for some vectors, an error code.  Each stub
 * makes the frame uniform (a zero error code where there is none, then the
 * vector), saves the general registers and calls guest_trap(), which also
 * restores the virtual interrupt flag.  A user system call builds the same
 * frame by hand, so there is one way back.
 *
 * Back to kernel mode is not iretq, although iretq from CPL3 to CPL3 is
 * legal: QEMU's TCG performs iretq's stack reads as supervisor accesses,
 * so with the host's SMAP on it faults on our (user) stack.  Instead we put
 * RFLAGS and RIP just below the interrupted stack pointer, switch to it,
 * and popfq; ret.  Guests are built without a red zone, so those two words
 * are free; IF and IOPL are not ours to change and popfq leaves them alone.
 *
 * Back to user mode (the frame's CS is LGUEST_USER_CS) is
 * LHCALL_RETURN_TO_USER: the registers the hypercall itself needs (RAX,
 * RCX, R11) and RIP, RSP, RFLAGS go in the shared page, the rest are
 * restored here.
 */

/* struct guest_regs, as guest_trap_common lays it out. */
#define R_R11		32
#define R_RCX		96
#define R_RAX		112
#define R_RIP		136
#define R_CS		144
#define R_RFLAGS	152
#define R_RSP		160
/*
 * The shared page, at LGUEST_DATA_VA in the hypervisor hole: beyond the
 * reach of a 32-bit displacement, so only movabs with %rax reaches it
 * without a register to hold its address.
 */
#define D(field)	(0xffff808000200000 + (field))	/* LGUEST_DATA_VA */
#define D_USER_RIP	D(0x80)
#define D_USER_RSP	D(0x88)
#define D_USER_RFLAGS	D(0x90)
#define D_USER_RAX	D(0x98)
#define D_USER_RCX	D(0xa0)
#define D_USER_R11	D(0xa8)
#define D_SCRATCH0	D(0xb0)	/* the user's RSP, for a moment */
#define D_SCRATCH1	D(0xb8)	/* this vCPU's kernel stack (task.c) */
#define D_SCRATCH4	D(0xd0)	/* the user's RAX, for a moment */

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
	cmpq	$0x33, R_CS(%rsp)		/* LGUEST_USER_CS */
	je	guest_return_to_user

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

/* %rsp: a struct guest_regs from user mode, perhaps another task's. */
	.globl guest_return_to_user
guest_return_to_user:
	movq	R_RIP(%rsp), %rax
	movabsq	%rax, D_USER_RIP
	movq	R_RSP(%rsp), %rax
	movabsq	%rax, D_USER_RSP
	movq	R_RFLAGS(%rsp), %rax
	movabsq	%rax, D_USER_RFLAGS
	movq	R_RAX(%rsp), %rax
	movabsq	%rax, D_USER_RAX
	movq	R_RCX(%rsp), %rax
	movabsq	%rax, D_USER_RCX
	movq	R_R11(%rsp), %rax
	movabsq	%rax, D_USER_R11
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	addq	$8, %rsp		/* r11 */
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	addq	$8, %rsp		/* rcx */
	popq	%rbx
	movl	$15, %eax		/* LHCALL_RETURN_TO_USER */
	syscall
	ud2

/*
 * A user `syscall`: RCX holds the user's RIP, R11 its RFLAGS, RSP is still
 * the user's.  Switch to this vCPU's kernel stack (found in its shared
 * page: no segment register needed) and build a trap frame.
 */
	.globl guest_syscall_entry
guest_syscall_entry:
	movabsq	%rax, D_SCRATCH4
	movq	%rsp, %rax
	movabsq	%rax, D_SCRATCH0
	movabsq	D_SCRATCH1, %rax
	movq	%rax, %rsp
	pushq	$0x2b			/* LGUEST_USER_SS */
	movabsq	D_SCRATCH0, %rax
	pushq	%rax
	movabsq	D_SCRATCH4, %rax
	pushq	%r11
	pushq	$0x33			/* LGUEST_USER_CS */
	pushq	%rcx
	pushq	$0
	pushq	$0x100			/* GUEST_SYSCALL_VECTOR */
	jmp	guest_trap_common
/*
 * Enter user mode with the registers in @r (a struct guest_regs), from
 * anywhere in the kernel: copy them to the top of this vCPU's kernel stack
 * and leave as a trap from user mode would.
 */
	.globl guest_enter_user
guest_enter_user:
	movq	%rdi, %rsi
	movabsq	D_SCRATCH1, %rax
	movq	%rax, %rsp
	subq	$176, %rsp
	movq	%rsp, %rdi
	movl	$22, %ecx
	rep movsq
	jmp	guest_return_to_user

/* A secondary vCPU: RSP is its stack, RDI its number (guest/lib/smp.c). */
	.globl guest_secondary_entry
guest_secondary_entry:
	andq	$-16, %rsp
	call	guest_secondary_main
	ud2

/*
 * A kernel context to come back to (setjmp/longjmp for the task model):
 * guest_ctx_save() returns 0, and 1 again when guest_ctx_restore() resumes
 * it.  The callee-saved registers, the stack pointer and the return address.
 */
	.globl guest_ctx_save, guest_ctx_restore
guest_ctx_save:
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, 48(%rdi)
	movq	(%rsp), %rax
	movq	%rax, 56(%rdi)
	xorl	%eax, %eax
	ret

guest_ctx_restore:
	movq	0(%rdi), %rbx
	movq	8(%rdi), %rbp
	movq	16(%rdi), %r12
	movq	24(%rdi), %r13
	movq	32(%rdi), %r14
	movq	40(%rdi), %r15
	movq	48(%rdi), %rsp
	movl	$1, %eax
	jmp	*56(%rdi)

	.section .note.GNU-stack, "", @progbits
