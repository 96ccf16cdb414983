/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Single faulting instructions for guest tests, each a function with a
 * label on the instruction (lg_insn_X) and one after it (lg_insn_X_end),
 * so a handler can check the reported RIP and resume past the instruction.
 * Arguments follow the C calling convention (%rdi, %rsi).
 */
#define INSN(name, body...)			\
	.globl lg_insn_##name, lg_insn_##name##_end, lg_call_##name; \
lg_call_##name:					\
lg_insn_##name:					\
	body;					\
lg_insn_##name##_end:				\
	ret

	.text
INSN(ud2, ud2)
INSN(int3, int3)
INSN(hlt, hlt)
INSN(int80, int $0x80)
INSN(int40, int $0x40)
INSN(rex_int41, .byte 0x66, 0x48; int $0x41)
INSN(sysenter, sysenter)
INSN(read, movq (%rdi), %rax)
INSN(write, movq %rsi, (%rdi))
INSN(outb, outb %al, $0x80)
INSN(inb, inb $0x80, %al)
INSN(read_dr7, movq %dr7, %rax)
INSN(cli, cli)
INSN(wrmsr, wrmsr)
INSN(swapgs, swapgs)
INSN(int1f, int $0x1f)
INSN(fetch, call *%rdi)
INSN(load_ds, movw %di, %ds)

	/* %ecx = 0 first, so the label is on the divide itself. */
	.globl lg_call_div0, lg_insn_div0, lg_insn_div0_end
lg_call_div0:
	xorl	%ecx, %ecx
lg_insn_div0:
	divl	%ecx
lg_insn_div0_end:
	ret

	/* Single-step: set TF, one nop, and the #DB lands after it. */
	.globl lg_call_singlestep, lg_insn_singlestep_end
lg_call_singlestep:
	pushfq
	orq	$0x100, (%rsp)
	popfq
	nop
lg_insn_singlestep_end:
	ret
	.section .note.GNU-stack, "", @progbits
