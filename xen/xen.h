/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Xen PV personality: what lguest must be for an unmodified 64-bit
 * Xen PV kernel (Debian's, say) to believe it runs on Xen.  The guest's
 * kernel already runs deprivileged at CPL3 under Xen, exactly as lguest
 * runs every guest kernel, and asks its hypervisor for everything
 * privileged; so this directory only has to answer in Xen's words.
 *
 * Read in this order: xen.c (a guest's state and its start of day),
 * traps.c (exception frames, `iret`, events reaching the guest),
 * emulate.c (the few privileged instructions Linux still executes),
 * hypercalls.c (what the guest may ask).  The design study behind it is
 * docs/xen-pv.md; what works and what does not is docs/xen-pv-guests.md.
 *
 * The ABI comes from the headers the kernel ships (xen/interface/ and
 * asm/xen/interface.h), not re-typed here.
 */
#ifndef _LG_XEN_H
#define _LG_XEN_H

#include <linux/types.h>
#include <xen/interface/xen.h>
#include <xen/interface/event_channel.h>
#include "lg.h"

/*
 * Xen's errno values are Linux's (xen/include/public/errno.h); this one is
 * named apart because Xen's "no such call or feature" is a hypercall
 * result the guest depends on, not the host's system-call error.
 */
#define LG_XEN_ENOSYS	38

/* DR7's bit that reads as 1 (the SDM's; KVM keeps its own copy too). */
#define LG_DR7_FIXED_1	0x400

/* Event channels (events.c): 2-level, 4096 ports; VIRQs per vCPU. */
#define LG_XEN_PORTS	EVTCHN_2L_NR_CHANNELS
#define LG_XEN_VIRQS	NR_VIRQS

struct lg_xen_port {
	u8 state;		/* EVTCHNSTAT_* */
	u8 virq;		/* for EVTCHNSTAT_virq */
	u32 vcpu;		/* the vCPU it notifies */
};

/* A Xen-PV guest's per-guest state (lguest.pstate). */
struct lg_xen {
	/* shared_info: a page above RAM, pinned while the guest lives. */
	u64 shared_info_gpa;
	struct page *shared_page;
	struct shared_info *shared;
	/* Guest-physical frames below this are RAM (and the M2P's span). */
	u64 nr_ram_pages;
	/* The launcher's console and xenstore event channels (0: none). */
	u32 console_port;
	u32 store_port;
	/*
	 * The grant table (gnttab.c): frames from gnttab_gpa, of which the
	 * guest has asked for gnttab_used so far.
	 */
	u64 gnttab_gpa;
	u32 gnttab_frames;
	u32 gnttab_used;
	/* Event channels: allocation and state changes under the lock. */
	spinlock_t evtchn_lock;
	struct lg_xen_port *ports;
	/*
	 * Writable page tables (mmu.c): the frames that are L1 tables now,
	 * which the guest kernel writes in place; and whether the first
	 * PIN_L4 walked the boot tables to find the builder's.
	 */
	unsigned long *l1_frames;
	bool l1_walked;
	/*
	 * The frames pinned as L4 tables: a CR3 write to one keeps its
	 * shadow (pgtable/coherent.c).
	 */
	unsigned long *l4_frames;
	/* VMASST_TYPE_* the guest enabled. */
	unsigned long vm_assist;
	/* How many vCPUs sit in SCHEDOP_poll (raise_port() looks if any). */
	atomic_t pollers;
	/* VCPUOP_initialise, up and down, one at a time (smp.c). */
	struct mutex smp_lock;
	/* System time 0: the guest's boot, in host monotonic ns. */
	u64 boot_ns;
};

/* What set_trap_table() records for one vector (Xen's struct trap_info). */
struct lg_xen_trap {
	u64 address;		/* 0: none */
	u8 flags;		/* DPL in bits 0-1, LG_XEN_TI_MASK */
};

/* Xen's trap_info flags: the DPL `int n` needs, and "mask events". */
#define LG_XEN_TI_DPL(f)	((f) & 3)
#define LG_XEN_TI_MASK		4

/* Callbacks (CALLBACKOP_register) lguest keeps: Xen's CALLBACKTYPE_*. */
#define LG_XEN_CALLBACKS	8

/* A Xen-PV vCPU's own state (lg_cpu.pstate). */
struct lg_xen_cpu {
	/*
	 * Its vcpu_info: the legacy slot in shared_info until the guest
	 * moves it into its own memory (VCPUOP_register_vcpu_info), whose
	 * page we then keep pinned.
	 */
	struct vcpu_info *vi;
	struct page *vi_page;
	/*
	 * vCPUs 32 and up have no legacy slot: until the guest registers
	 * theirs, this one stands in (Xen's dummy_vcpu_info).
	 */
	struct vcpu_info spare_vi;
	/* VCPUOP_initialise has described it (vCPU 0: the builder has). */
	bool initialised;
	/*
	 * SCHEDOP_poll: the ports it sleeps on (even masked ones, unlike
	 * SCHEDOP_block), whether it still does, and its timeout.
	 */
	unsigned long poll_ports[BITS_TO_LONGS(LG_XEN_PORTS)];
	bool polling;
	bool poll_timed_out;
	struct hrtimer poll_timer;
	struct lg_cpu *cpu;
	struct lg_xen_trap traps[256];
	u64 callback[LG_XEN_CALLBACKS];
	u16 callback_flags[LG_XEN_CALLBACKS];
	/* stack_switch(): where traps from guest user mode land. */
	u64 kernel_sp;
	/* The GS base of the mode not running (virtual swapgs). */
	u64 gs_inactive;
	/* Virtual CR4 and XCR0 (the real ones are the host's), and IOPL. */
	u64 cr4;
	u64 xcr0;
	unsigned int iopl;
	/* Debug registers as the guest set them (never loaded yet). */
	u64 dr[8];
	/* The port bound to each VIRQ on this vCPU, or 0. */
	u32 virq_port[LG_XEN_VIRQS];
	/* The kernel's and the user's L4 (NEW_USER_BASEPTR), guest-physical. */
	u64 kernel_cr3, user_cr3;
	/* The GDT set_gdt loaded: its (one) frame, and its entries. */
	u64 gdt_gpa, gdt_entries;
	/* A multicall is running: no iret, no multicall inside it. */
	bool in_multicall;
	/* fast.c: the vcpu_info mapped at LG_DATA_VA, and its alias (0: none). */
	struct vcpu_info *vi_mapped;
	u64 vi_alias;
};

static inline struct lg_xen *lg_xen(struct lguest *lg)
{
	return lg->pstate;
}

static inline struct lg_xen_cpu *lg_xen_cpu(struct lg_cpu *cpu)
{
	return cpu->pstate;
}

/*
 * The address space the vCPU's user mode runs on, where the vCPU holds
 * it: the one it runs on in user mode, or in kernel mode the other it
 * keeps (lguest_keep_pgdir()), if that is still the shadow of the user L4
 * the kernel last named.  NULL otherwise.
 */
static inline struct lg_pgdir *lg_xen_user_pgdir(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	if (!xc->user_cr3)
		return NULL;
	if (cpu->mode == LG_MODE_USER)
		return cpu->pgdir;
	if (!cpu->other_pgdir || cpu->other_pgdir->gcr3 != xc->user_cr3)
		return NULL;
	return cpu->other_pgdir;
}

static inline struct vcpu_info *lg_xen_vcpu_info(struct lg_cpu *cpu)
{
	return lg_xen_cpu(cpu)->vi;
}

/* The hypervisor's hole, which no guest pointer may reach. */
static inline bool lg_xen_in_hole(u64 va, u64 len)
{
	return va < LGUEST_HOLE_END && va + len > LGUEST_HOLE_START;
}

/*
 * An address the guest may give us to run at or watch (a handler, a
 * callback, an entry point, a breakpoint): canonical, outside the hole.
 */
static inline bool lg_xen_guest_va_ok(u64 va)
{
	return lguest_canonical(va) && !lg_xen_in_hole(va, 1);
}

/* xen.c: guest-virtual memory, as the guest kernel sees it. */
int lg_xen_read(struct lg_cpu *cpu, u64 va, void *dst, u64 len);
int lg_xen_write(struct lg_cpu *cpu, u64 va, const void *src, u64 len);
u64 lg_xen_system_time(struct lguest *lg);
void lg_xen_update_time(struct lg_cpu *cpu);
long lg_xen_register_vcpu_info(struct lg_cpu *cpu, u64 mfn, u64 offset);

/* smp.c: VCPUOP_initialise, up, down, is_up of vCPU @t. */
long lg_xen_smp_vcpu_op(struct lg_cpu *cpu, u64 cmd, struct lg_cpu *t, u64 arg);

/* traps.c */
bool lg_xen_bounce(struct lg_cpu *cpu, u64 handler, bool has_error, bool mask);
bool lg_xen_toggle_mode(struct lg_cpu *cpu);
void lg_xen_trap(struct lg_cpu *cpu, unsigned int vector);
void lg_xen_user_syscall(struct lg_cpu *cpu);

/* events.c */
int lg_xen_events_init(struct lguest *lg);
void lg_xen_events_free(struct lguest *lg);
bool lg_xen_deliver(struct lg_cpu *cpu);
bool lg_xen_deliverable(struct lg_cpu *cpu);
bool lg_xen_wake(struct lg_cpu *cpu);
int lg_xen_irq(struct lg_cpu *cpu, u32 n);
long lg_xen_poll(struct lg_cpu *cpu, u64 arg);
void lg_xen_poll_init(struct lg_cpu *cpu);
long lg_xen_event_channel_op(struct lg_cpu *cpu, u64 cmd, u64 arg);
int lg_xen_evtchn(struct lguest *lg, u32 op, u32 port);

/* gnttab.c */
long lg_xen_grant_table_op(struct lg_cpu *cpu, u64 cmd, u64 arg, u64 count);
long lg_xen_iret(struct lg_cpu *cpu);
long lg_xen_set_trap_table(struct lg_cpu *cpu, u64 va);

/* emulate.c: true if the instruction at RIP was emulated (or killed). */
bool lg_xen_emulate_gp(struct lg_cpu *cpu);
bool lg_xen_emulate_ud(struct lg_cpu *cpu);

/* m2p.c: the identity machine-to-physical table, at PML4 slot 256. */
#define LG_M2P_SLOT	256
u64 lg_xen_m2p_entry(u64 frames);

/* mmu.c */
long lg_xen_update_va_mapping(struct lg_cpu *cpu, u64 va, u64 pte, u64 flags);
long lg_xen_mmu_update(struct lg_cpu *cpu, u64 va, u64 count, u64 pdone, u64 dom);
long lg_xen_mmuext_op(struct lg_cpu *cpu, u64 va, u64 count, u64 pdone, u64 dom);
long lg_xen_set_gdt(struct lg_cpu *cpu, u64 frames_va, u64 entries);
long lg_xen_load_gdt(struct lg_cpu *cpu, u64 gpa, u64 entries);
long lg_xen_update_descriptor(struct lg_cpu *cpu, u64 ma, u64 desc);
bool lg_xen_table_writable(struct lg_cpu *cpu, u64 gpa);
bool lg_xen_root_coherent(struct lguest *lg, u64 gcr3);

/* hypercalls.c */
void lg_xen_hypercall(struct lg_cpu *cpu);

#endif /* _LG_XEN_H */
