/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The switcher's data layout, shared by switcher_64.S and C.  The assembler
 * cannot see C structures, so the offsets are written down here and checked
 * against the structures with BUILD_BUG_ON() in switcher.c.
 *
 * Where the switcher lives: the hypervisor's hole.
 *
 * x86-64 leaves PML4 slots 256-271 (0xffff800000000000-0xffff87ffffffffff)
 * to a hypervisor: Linux never maps them ("guard hole, also reserved for
 * hypervisor", Documentation/x86/x86_64/mm.rst) and Xen's PV ABI gives a
 * guest every other slot.  So do we: everything the host needs inside a
 * guest's address space sits in slot 257 (256 stays free for a Xen guest's
 * machine-to-phys table), and the guest owns the other 496 slots, the top
 * 2 MiB, 508 (a Linux guest's CPU entry area) and 511 (its kernel) included.
 *
 * The same pages sit at the same addresses in the host while a launcher
 * switches (hole.c puts one entry for slot 257 into its page tables), so the
 * instruction after each CR3 load finds itself in both worlds:
 *
 *   LG_TEXT_VA     the switcher's code (the .lg_switcher.text section)
 *   LG_SWDATA_VA   struct lg_switcher_data: the IDT, shared by all CPUs
 *   LG_DATA_VA     the running vCPU's struct lguest_data  (guest roots only)
 *   LG_CUR_VA      the area of the CPU the vCPU runs on   (guest roots only)
 *   LG_CPU_VA(n)   CPU n's area: every CPU's in the host, only the current
 *                  one's in a guest root
 *
 * A CPU's area (2 MiB-aligned, one page table) holds its struct
 * lguest_pages, its TSS, the stacks the CPU takes on a trap, and its GDT.
 * A guest root maps it twice: at LG_CPU_VA(n), where GDTR and TR point
 * while we switch (the host maps it there too, so both stay valid across
 * the CR3 load), and at LG_CUR_VA, the same for every CPU, which code
 * without a free register reaches RIP-relative (the syscall entry), where
 * TSS.RSP0 points, and what the guest's sgdt shows.
 */
#ifndef _LG_SWITCHER_H
#define _LG_SWITCHER_H

#define LG_HOLE_START		0xffff800000000000	/* PML4 slot 256 */
#define LG_HOLE_END		0xffff880000000000	/* slot 272 */
#define LG_SW_BASE		0xffff808000000000	/* slot 257, all ours */
#define LG_SW_SLOT		257
#define LG_TEXT_VA		LG_SW_BASE
#define LG_TEXT_MAX		0x10000
#define LG_SWDATA_VA		(LG_SW_BASE + 0x10000)
#define LG_SWDATA_MAX		0x10000
#define LG_DATA_VA		(LG_SW_BASE + 0x200000)
#define LG_CUR_VA		(LG_SW_BASE + 0x400000)
#define LG_CPUS_VA		(LG_SW_BASE + 0x40000000)
#define LG_CPU_SHIFT		21
#define LG_CPU_VA(n)		(LG_CPUS_VA + ((unsigned long)(n) << LG_CPU_SHIFT))
/* CPU n's area hangs off entry 1 + n / 512 of slot 257's table. */
#define LG_NR_CPU_PMDS		((CONFIG_NR_CPUS + 511) / 512)

/* In a CPU's area; the pages between are unmapped guards. */
#define LGA_PAGES		0x00000	/* struct lguest_pages */
#define LGA_TSS			0x01000	/* struct x86_hw_tss */
#define LGA_DF_STACK		0x03000	/* the IST stacks, a page each */
#define LGA_NMI_STACK		0x05000
#define LGA_DB_STACK		0x07000
#define LGA_MC_STACK		0x09000
#define LGA_GDT			0x10000	/* LG_GDT_PAGES pages */
#define LG_GDT_PAGES		15
#define LG_GDT_LIMIT		(LG_GDT_PAGES * 4096 - 1)

/*
 * The GDT every CPU loads while a guest runs, in Xen's layout (docs/abi.md):
 * entries 0-511 are the running vCPU's own (LHCALL_LOAD_GDT), except the
 * few the host keeps; entries 0x1c00-0x1dff are fixed, at Xen's selectors.
 * Entry 2 is the host's own kernel code segment (its __KERNEL_CS): our
 * IDT's gates use that selector, valid in the host's GDT and in ours alike,
 * so an NMI finds a good code segment at every instant of the switch,
 * whichever GDT is loaded.  A guest `syscall` lands on 0xe008 (STAR is
 * switched with LSTAR), whose stack selector 0xe010 is ours too.
 */
#define LG_SEL_HV_CS		0xe008	/* ring-0 64-bit code */
#define LG_SEL_HV_DS		0xe010	/* ring-0 data */
#define LG_SEL_CS32		0xe023	/* ring-3 compatibility-mode code */
#define LG_SEL_DS		0xe02b	/* ring-3 data */
#define LG_SEL_CS64		0xe033	/* ring-3 64-bit code */
#define LG_SEL_TSS		0xe040	/* this CPU's TSS */
#define LG_GDT_FIXED		0x1c00	/* index of the first fixed entry */
#define LG_STAR			(((u64)LG_SEL_CS32 << 48) | ((u64)LG_SEL_HV_CS << 32))	/* low half 0 */

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
#define LGP_GDT_DESC		0x130	/* lgdt operand: this CPU's GDT at LG_CPU_VA */
#define LGP_HOST_GDT_RW		0x140	/* lgdt operand: the host's writable GDT */
#define LGP_TSS_DESC		0x150	/* our TSS descriptor, at its host address */
#define LGP_GUEST_DS		0x158	/* the guest's data selectors */
#define LGP_GUEST_ES		0x160
#define LGP_GUEST_FS		0x168
#define LGP_GUEST_GS		0x170
#define LGP_NMI_SLOT		0x178	/* this CPU's byte of LGS_NMI_PENDING */
#define LGP_FLUSH_GLOBAL	0x180	/* flush global TLB entries after the CR3 load */
#define LGP_XEN_CALLBACK	0x188	/* the Xen fast paths' (xen/fast.c) */
#define LGP_XEN_FRAME		0x190
#define LGP_XEN_VI		0x198
#define LGP_XEN_GS_INACTIVE	0x1a0
#define LGP_TMP			0x1a8	/* five words */
#define LGP_XEN_KERNEL_SP	0x1d0
#define LGP_FAST_STACKS		0x1d8
#define LGP_FAST_SEGBASES	0x1e0
#define LGP_XEN_PF_HANDLER	0x1e8
#define LGP_FAST_FAULTS		0x1f0

/*
 * What the switcher may do without the host's C code (the direct switch):
 * deliver a user syscall to the guest kernel, and return to user mode.  C
 * sets these before each entry; each bit also promises what that path
 * needs: the shared page mapped at LG_DATA_VA, a syscall entry, a user root
 * and no pending interrupt for a return.
 */
#define LG_FAST_SYSCALL		0x1
#define LG_FAST_RETURN		0x2
/*
 * The same for a Xen PV guest (xen/fast.c): bounce a user syscall to the
 * kernel's callback, and take HYPERVISOR_iret back to user mode.  Each
 * promises the other mode's root, and for the first a vetted frame
 * address and callback, for the second no pending virtual interrupt.
 */
#define LG_FAST_XEN_SYSCALL	0x4
#define LG_FAST_XEN_IRET	0x8
/*
 * And answer two hypercalls of kernel mode: stack_switch, recording a
 * stack whose bounce frame it vets itself, and set_segment_base for FS;
 * promises no pending virtual interrupt.
 */
#define LG_FAST_XEN_HCALL	0x10
/*
 * And bounce a #PF on an absent leaf (pgtable/absent.c) from user mode to
 * the kernel's handler; promises what LG_FAST_XEN_SYSCALL does, a vetted
 * handler that masks events, and is offered only with it.
 */
#define LG_FAST_XEN_PF		0x20

/*
 * What those paths need of Xen's ABI (checked against its headers in
 * xen/fast.c): the iret, stack_switch and set_segment_base hypercalls'
 * numbers, the first's context (RAX, R11, RCX,
 * flags, RIP, CS, RFLAGS, RSP, SS) and the flag that keeps RCX and R11;
 * vcpu_info's pending and mask bytes; a bounce frame from user mode
 * (RCX, R11, RIP, CS, RFLAGS, RSP, SS).
 */
#define LG_XEN_HCALL_IRET	23
#define LG_XEN_HCALL_STACK_SWITCH 3
#define LG_XEN_HCALL_SET_SEGMENT_BASE 25
#define LG_XEN_IRET_SIZE	72
#define LG_XEN_IN_SYSCALL	0x100
#define LG_XEN_VI_PENDING	0
#define LG_XEN_VI_MASK		1
#define LG_XEN_FRAME_SIZE	56
/*
 * An exception's frame has the error code too; vcpu_info holds CR2 for
 * Linux; the #PF error code bits: Reserved (the CPU's, on an absent
 * leaf), and those the guest sees: User, and Write and Fetch as the CPU
 * reported them.
 */
#define LG_XEN_PF_FRAME_SIZE	64
#define LG_XEN_VI_CR2		16
#define LG_XEN_PF_RSVD		0x08
#define LG_XEN_PF_USER		0x04
#define LG_XEN_PF_KEEP		0x12

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
 * mapped at LG_SWDATA_VA in every guest and in the host (supervisor,
 * read-write, NX).
 */
#define LGS_IDT			0x0000	/* 256 gates */
#define LGS_IDT_DESC		0x1000	/* lidt operand: the IDT at LG_SWDATA_VA */
#define LGS_HOST_IDT_DESC	0x1010	/* lidt operand for the host */
#define LGS_CEA_BASE		0x1020	/* first per-CPU entry area */
#define LGS_CEA_SIZE		0x1028	/* sizeof(struct cpu_entry_area) */
#define LGS_HOST_CR3_FLAGS	0x1030	/* ORed into the host's CR3 on the way back */
#define LGS_ALIAS_GDT_DESC	0x1040	/* lgdt operand: the GDT at LG_CUR_VA */
#define LGS_VERW_SEL		0x104a	/* a data selector, VERW's operand */
#define LGS_NMI_PENDING		0x1050	/* one byte per CPU entry area slot */
#define LGS_MC_PENDING		(LGS_NMI_PENDING + CONFIG_NR_CPUS)	/* ditto, #MC */

/*
 * With PCIDs, guest roots carry one the kernel never uses (it takes 1-6,
 * and 0x801-0x806 for KPTI's user halves).  Every guest CR3 load flushes
 * it (no-flush is never set: the shadow's invalidation relies on it), and
 * the host's CR3 comes back with no-flush, so its own entries survive.
 */
#define LG_GUEST_PCID		0x7ff

/* Trap numbers beyond the 256 vectors. */
#define LG_TRAP_SYSCALL		0x100	/* the guest executed syscall */
#define LG_TRAP_PENDING		0x101	/* left before entry: an NMI or #MC waits */
#define LG_TRAP_DONE		0x102	/* an exit the fast path handled */

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
#include <linux/percpu.h>
#include <linux/threads.h>
#include <asm/desc_defs.h>

struct x86_hw_tss;

/* The layout LGS_* describes (checked in switcher.c). */
struct lg_switcher_data {
	gate_desc idt[256];
	struct desc_ptr idt_desc __aligned(16);
	struct desc_ptr host_idt_desc __aligned(16);
	unsigned long cea_base;
	unsigned long cea_size;
	unsigned long host_cr3_flags;
	struct desc_ptr alias_gdt_desc __aligned(16);
	u16 verw_sel;
	u8 nmi_pending[NR_CPUS] __aligned(16);
	u8 mc_pending[NR_CPUS];
} __aligned(PAGE_SIZE);

extern struct lg_switcher_data lg_switcher_data;

/* A CPU's area (hole.c), at its host addresses. */
struct lg_cpu_area {
	struct lguest_pages *pages;
	struct x86_hw_tss *tss;
	u64 *gdt;		/* entries 0-511: the running vCPU's */
	u64 *gdt_fixed;		/* entries 0x1c00-0x1dff */
	u64 *table;		/* the page table that maps the area */
	void *stacks[4];	/* IST stacks: #DF, NMI, #DB, #MC */
	unsigned int gdt_ents;	/* entries of @gdt a vCPU filled */
};
DECLARE_PER_CPU(struct lg_cpu_area, lg_area);

/* In switcher_64.S. */
struct lguest_pages;
extern char lg_switcher_text_start[], lg_switcher_text_end[];
extern char lg_trap_stubs[], lg_syscall_entry[];
u64 lguest_switch_to_guest(struct lguest_pages *pages);
void lg_call_host_handler(unsigned long handler);
unsigned long lguest_nmi_slot(int cpu);
#endif

#endif /* _LG_SWITCHER_H */
