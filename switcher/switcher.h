/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The switcher's data layout, shared by switcher_64.S and C.  The assembler
 * cannot see C structures, so the offsets are written down here and checked
 * against the structures with BUILD_BUG_ON() in switcher.c.
 *
 * Each physical CPU owns one page of struct lguest_pages.  While a guest
 * runs, map_switcher_in_guest() has mapped this CPU's page at LG_PAGES_VA,
 * the same address on every CPU, in the vCPU's top-level table.  That
 * address lies in the top 2 MiB of the address space, a hole the host never
 * maps (Documentation/x86/x86_64/mm.rst): no host TLB entry can alias it,
 * and since it is within 2 GiB of the top, the switcher reaches it with
 * plain absolute addressing, without a free register and without a stack.
 */
#ifndef _LG_SWITCHER_H
#define _LG_SWITCHER_H

#define LG_PAGES_VA		0xffffffffffe00000
/*
 * The running vCPU's struct lguest_data, in the page after: supervisor-only
 * under a user-mode root, user-accessible (to the guest kernel) under a
 * kernel-mode root.  So the switcher touches it only under a user-mode root,
 * where SMAP allows it.  Its address is ABI: LGUEST_DATA_VA.
 */
#define LG_DATA_VA		(LG_PAGES_VA + 0x1000)
/*
 * The IDT and this CPU's GDT, read-only, at the addresses the guest's sidt
 * and sgdt report (LGUEST_IDT_VA, LGUEST_GDT_VA): the switcher loads these
 * aliases once the guest's root is in CR3, and the real addresses (which
 * would tell a guest where the module and the CPU entry area are) before
 * it leaves it.
 */
#define LG_IDT_VA		(LG_PAGES_VA + 0x2000)
#define LG_GDT_VA		(LG_PAGES_VA + 0x3000)

/* struct lguest_pages: the register frame, in the order the switcher pops. */
#define LGP_R15			0x00
#define LGP_R14			0x08
#define LGP_R13			0x10
#define LGP_R12			0x18
#define LGP_RBP			0x20
#define LGP_RBX			0x28
#define LGP_R11			0x30
#define LGP_R10			0x38
#define LGP_R9			0x40
#define LGP_R8			0x48
#define LGP_RAX			0x50
#define LGP_RCX			0x58
#define LGP_RDX			0x60
#define LGP_RSI			0x68
#define LGP_RDI			0x70
#define LGP_TRAPNUM		0x78
#define LGP_ERRCODE		0x80
#define LGP_RIP			0x88	/* the iretq frame starts here */
#define LGP_CS			0x90
#define LGP_RFLAGS		0x98
#define LGP_RSP			0xa0
#define LGP_SS			0xa8
#define LGP_REGS_END		0xb0
/* State the switcher loads and saves around the guest. */
#define LGP_KERNEL_CR3		0xb0
#define LGP_GUEST_FSBASE	0xb8
#define LGP_GUEST_GSBASE	0xc0
#define LGP_GUEST_TS		0xc8	/* X86_CR0_TS or 0 */
#define LGP_HOST_RSP		0xd0
#define LGP_HOST_CR3		0xd8
#define LGP_CR2			0xe0
#define LGP_SCRATCH		0xe8
#define LGP_USER_CR3		0xf0
#define LGP_GUEST_MODE		0xf8	/* LG_MODE_KERNEL (0) or LG_MODE_USER (1) */
#define LGP_FAST		0x100	/* LG_FAST_* */
#define LGP_SYSCALL_RIP		0x108
#define LGP_NEXT_HCALL		0x110
#define LGP_FAST_SYSCALLS	0x118
#define LGP_FAST_RETURNS	0x120
#define LGP_HOST_GDT		0x128	/* sgdt of the host, for the way back */

/*
 * What the switcher may do without the host's C code (the direct switch):
 * deliver a user syscall to the guest kernel, and return to user mode.  C
 * sets these before each entry; each bit also promises what that path
 * needs: the shared page mapped at LG_DATA_VA, a syscall entry, a user root
 * and no pending interrupt for a return.
 */
#define LG_FAST_SYSCALL		0x1
#define LG_FAST_RETURN		0x2

/* struct lguest_data, as the switcher reads it at LG_DATA_VA. */
#define LGD_IRQ_ENABLED		0x00
#define LGD_USER_RIP		0x80
#define LGD_USER_RSP		0x88
#define LGD_USER_RFLAGS		0x90
#define LGD_USER_RAX		0x98
#define LGD_USER_RCX		0xa0
#define LGD_USER_R11		0xa8
#define LGD_HCALL_STATUS	0xf0
/* A few words of stack for the syscall entry, at the end of the page. */
#define LGP_SYSCALL_STACK	0x1000

/*
 * struct lg_switcher_data: one copy for all CPUs, in the module's data,
 * mapped at its own address in every guest (supervisor, read-write, NX).
 */
#define LGS_IDT			0x0000	/* 256 gates */
#define LGS_GUEST_IDT_DESC	0x1000	/* lidt operand for the guest */
#define LGS_HOST_IDT_DESC	0x1010	/* lidt operand for the host */
#define LGS_CEA_BASE		0x1020	/* first per-CPU entry area */
#define LGS_CEA_SIZE		0x1028	/* sizeof(struct cpu_entry_area) */
#define LGS_HOST_CR3_FLAGS	0x1030	/* ORed into the host's CR3 on the way back */
#define LGS_ALIAS_IDT_DESC	0x1040	/* lidt operand under guest roots */
#define LGS_ALIAS_GDT_DESC	0x1050	/* lgdt operand under guest roots */
#define LGS_VERW_SEL		0x105a	/* a data selector, VERW's operand */
#define LGS_NMI_PENDING		0x1060	/* one byte per entry-area slot */

/*
 * With PCIDs, guest roots carry one the kernel never uses (it takes 1-6,
 * and 0x801-0x806 for KPTI's user halves).  Every guest CR3 load flushes
 * it (no-flush is never set: the shadow's invalidation relies on it), and
 * the host's CR3 comes back with no-flush, so its own entries survive.
 */
#define LG_GUEST_PCID		0x7ff

/* Trap numbers beyond the 256 vectors. */
#define LG_TRAP_SYSCALL		0x100	/* the guest executed syscall */

/* The vector user code uses for int $0x80 system calls, a DPL-3 gate. */
#define LG_INT80_VECTOR		0x80

/* The virtual privilege level a vCPU is in. */
#define LG_MODE_KERNEL		0
#define LG_MODE_USER		1

/* LHCALL_RETURN_TO_USER, which the switcher may handle itself. */
#define LG_HCALL_RETURN_TO_USER	15

/*
 * What the guest may keep of RFLAGS: the arithmetic flags, TF (its own
 * single-stepping), DF, RF and ID.  IF is always on (the guest's interrupt
 * flag is virtual), IOPL is 0, and NT, VM, AC, VIF and VIP never survive.
 */
#define LG_RFLAGS_KEEP		0x210dd5

#ifndef __ASSEMBLY__
#include <linux/threads.h>
#include <asm/desc_defs.h>

/* The layout LGS_* describes (checked in switcher.c). */
struct lg_switcher_data {
	gate_desc idt[256];
	struct desc_ptr guest_idt_desc __aligned(16);
	struct desc_ptr host_idt_desc __aligned(16);
	unsigned long cea_base;
	unsigned long cea_size;
	unsigned long host_cr3_flags;
	struct desc_ptr alias_idt_desc __aligned(16);
	struct desc_ptr alias_gdt_desc __aligned(16);
	u16 verw_sel;
	u8 nmi_pending[NR_CPUS] __aligned(16);
} __aligned(PAGE_SIZE);

extern struct lg_switcher_data lg_switcher_data;

/* In switcher_64.S. */
struct lguest_pages;
extern char lg_switcher_text_start[], lg_switcher_text_end[];
extern char lg_trap_stubs[], lg_syscall_entry[];
u64 lguest_switch_to_guest(struct lguest_pages *pages);
void lg_call_host_handler(unsigned long handler);
#endif

#endif /* _LG_SWITCHER_H */
