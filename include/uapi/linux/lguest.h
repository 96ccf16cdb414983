/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lguest's user ABI: the one place where request numbers, structure layouts
 * and limits shared by the module (lg.ko), the launcher and the tests live.
 *
 * The launcher talks to the module by writing requests to /dev/lguest, as the
 * original lguest did.  Every write carries exactly one request: a __u64
 * request number followed by that request's argument structure, and nothing
 * else.  The module insists on the exact length, so a short or oversized
 * write, or an unknown number, fails with EINVAL before anything is touched.
 * A successful write returns the number of bytes written.
 *
 * Requests that return data carry a user pointer and the size the caller
 * believes the reply has; a size mismatch is EINVAL, never a silent
 * truncation, so an old launcher cannot misread a new module.
 */
#ifndef _UAPI_LINUX_LGUEST_H
#define _UAPI_LINUX_LGUEST_H

#include <linux/types.h>

/* Bumped whenever a structure below or the meaning of a request changes. */
#define LGUEST_ABI_VERSION	5

/* The most vCPUs one guest may have: LHCALL_SEND_IPI's mask has 64 bits. */
#define LGUEST_MAX_VCPUS	64

/* Request numbers: the first __u64 of every write to /dev/lguest. */
enum lguest_req {
	LHREQ_INFO = 1,		/* struct lguest_req_info */
	LHREQ_INITIALIZE = 2,	/* struct lguest_req_init */
	LHREQ_IRQ = 3,		/* struct lguest_req_irq */
	LHREQ_GETREGS = 4,	/* struct lguest_req_regs */
	LHREQ_SETREGS = 5,	/* struct lguest_req_regs */
	LHREQ_VCPU_STATS = 6,	/* struct lguest_req_stats */
	LHREQ_EVTCHN = 7,	/* struct lguest_req_evtchn */
};

/* LHREQ_INFO: copy a struct lguest_info to user memory at @addr. */
struct lguest_req_info {
	__u64 addr;		/* user pointer to a struct lguest_info */
	__u64 size;		/* must be sizeof(struct lguest_info) */
};

/* Host capabilities, as the module sees them (lguest_info.host_caps). */
#define LGUEST_HOST_LA57	(1ULL << 0)	/* 5-level paging is on */
#define LGUEST_HOST_PTI		(1ULL << 1)	/* kernel page-table isolation */
#define LGUEST_HOST_SMEP	(1ULL << 2)	/* CR4.SMEP set */
#define LGUEST_HOST_SMAP	(1ULL << 3)	/* CR4.SMAP set */
#define LGUEST_HOST_PCID	(1ULL << 4)	/* CR4.PCIDE set */
#define LGUEST_HOST_FSGSBASE	(1ULL << 5)	/* CR4.FSGSBASE set */
#define LGUEST_HOST_XSAVE	(1ULL << 6)	/* CR4.OSXSAVE set */
#define LGUEST_HOST_PKU		(1ULL << 7)	/* CR4.PKE set */
#define LGUEST_HOST_UMIP	(1ULL << 8)	/* CR4.UMIP set */

#define LGUEST_VERSION_LEN	32

struct lguest_info {
	__u32 abi_version;		/* LGUEST_ABI_VERSION */
	__u32 max_vcpus;		/* LGUEST_MAX_VCPUS */
	__u64 host_caps;		/* LGUEST_HOST_* */
	__u32 host_cpus;		/* online host CPUs */
	__u32 guest_id;			/* this open file's guest, unique while open */
	__u32 nr_guests;		/* guests (open files) alive on the host */
	__u32 hole_mapped;		/* the caller's page tables map the switcher */
	char version[LGUEST_VERSION_LEN];	/* module version, NUL-terminated */
	__u64 pinned_pages;		/* guest pages pinned, all guests */
	__u64 table_pages;		/* page-table pages, all guests */
	__u64 guest_pinned;		/* ... and by this guest */
	__u64 guest_tables;
	__u32 nr_pgdirs;		/* address spaces each guest may cache */
	__u32 mitigations;		/* LGUEST_MIT_*: what the switcher does */
};

/*
 * The speculative-execution mitigations the switcher applies at the
 * guest/host boundary on this host: the sequences the host kernel
 * selected at boot for its own user/kernel boundary and for VM exits
 * (docs/limits.md M:008).  A guest is less trusted than any user process.
 */
#define LGUEST_MIT_VERW		(1U << 0)	/* clear CPU buffers before every entry */
#define LGUEST_MIT_IBRS		(1U << 1)	/* IBRS on in the host, off in the guest */
#define LGUEST_MIT_RSB_FILL	(1U << 2)	/* return stack stuffed on every exit */
#define LGUEST_MIT_UNTRAIN_RET	(1U << 3)	/* return predictions untrained on every exit */
#define LGUEST_MIT_ENTRY_IBPB	(1U << 4)	/* IBPB on every exit */
#define LGUEST_MIT_BHB_CLEAR	(1U << 5)	/* branch history cleared on every exit */
#define LGUEST_MIT_IBPB_GUESTS	(1U << 6)	/* IBPB when a CPU moves to another guest */
#define LGUEST_MIT_IBPB_USER	(1U << 7)	/* IBPB before the launcher's return to user */

/*
 * LHREQ_INITIALIZE: turn this (empty) guest into one that can run.  Guest
 * physical address 0 is launcher address @base; the guest has @size bytes.
 * Both are page aligned, and the range must be the launcher's own memory,
 * readable and writable.  Nothing is pinned here: a page is pinned while a
 * shadow page-table entry maps it.
 *
 * @flags chooses the guest's personality: the ABI its kernel speaks.
 *
 * 0: lguest's own ABI (the hypercalls below).  vCPU 0 starts at @entry with
 * RSP = @size, in kernel mode, with paging "off" (guest-virtual =
 * guest-physical) until its first LHCALL_NEW_PGTABLE.  The other vCPUs (1
 * to LGUEST_MAX_VCPUS in all) wait, in their run request, until the guest
 * starts them with LHCALL_START_VCPU.  @xen must be all zero.
 *
 * LGUEST_INIT_XEN_PV: a 64-bit Xen PV kernel (docs/xen-pv-guests.md), which
 * makes Xen's hypercalls and gets Xen's exception frames.  vCPU 0 starts
 * as a Xen domain builder leaves it: at guest-virtual @entry, in kernel
 * mode, with paging on at @xen.cr3 (the guest-physical address of the
 * bootstrap L4), RSP = @xen.rsp, RSI = @xen.rsi (start_info's virtual
 * address), CS 0xe033 and SS 0xe02b, events masked.  The page at
 * @xen.shared_info (guest-physical, inside @size but above the RAM the
 * guest was told of) is its shared_info.  @xen.console_port and
 * @xen.store_port are the event channels the launcher's console and
 * xenstore listen on (an EVTCHNOP_send there is an LGUEST_EXIT_EVTCHN);
 * 0 for none.  With a xenstore the guest may also allocate channels to
 * the launcher ("domain 0", LHREQ_EVTCHN).  @xen.gnttab_frames frames
 * from @xen.gnttab (guest-physical, above shared_info, inside @size) are
 * its grant table (version 1), which GNTTABOP_setup_table hands it; 0
 * frames: no grant table.  "Machine" frames are guest-physical ones: the
 * p2m and the M2P are the identity.
 */
struct lguest_xen_start {
	__u64 cr3;
	__u64 rsp;
	__u64 rsi;
	__u64 shared_info;
	__u32 console_port;
	__u32 store_port;
	__u64 gnttab;
	__u32 gnttab_frames;	/* at most LGUEST_XEN_GNTTAB_FRAMES */
	__u32 pad;		/* must be 0 */
};

/* Xen's default max_grant_frames: 32 frames, 16384 v1 entries. */
#define LGUEST_XEN_GNTTAB_FRAMES	32

#define LGUEST_INIT_XEN_PV	(1U << 0)

struct lguest_req_init {
	__u64 base;
	__u64 size;		/* at most LGUEST_MAX_MEM */
	__u64 entry;		/* guest address of the first instruction */
	__u32 nr_vcpus;		/* 1..LGUEST_MAX_VCPUS */
	__u32 flags;		/* 0 or LGUEST_INIT_XEN_PV */
	struct lguest_xen_start xen;
};

#define LGUEST_MAX_MEM		(4ULL << 30)

/*
 * LHREQ_IRQ: make interrupt @vector pending on vCPU @vcpu, and kick it.
 * For a Xen PV guest (LGUEST_INIT_XEN_PV), @vector is an event-channel
 * port whose other end is the launcher's (lguest_xen_start.console_port):
 * it is raised as Xen raises an interdomain channel, on the vCPU the
 * guest bound it to.
 */
struct lguest_req_irq {
	__u32 vcpu;
	__u32 vector;		/* 32..255; a Xen guest: the launcher's port */
};

/*
 * A vCPU's registers.  rflags is sanitised on SETREGS (IF always on, IOPL
 * 0, no NT/VM/AC/VIF/VIP).  cs and ss say which virtual privilege level
 * the vCPU is in (LGUEST_KERNEL_CS/SS or LGUEST_USER_CS/SS); SETREGS
 * ignores them.
 */
struct lguest_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags, cs, ss;
	__u64 fs_base, gs_base;
};

/*
 * LHREQ_EVTCHN: the launcher's end of a Xen PV guest's event channel.
 * LGUEST_EVTCHN_BIND connects @port, which the guest allocated for
 * domain 0 (EVTCHNOP_alloc_unbound, remote_dom 0; a front end tells its
 * back end the number through the xenstore), as Xen's
 * EVTCHNOP_bind_interdomain from domain 0 would: from then on the
 * guest's EVTCHNOP_send there is an LGUEST_EXIT_EVTCHN, and LHREQ_IRQ
 * raises it.  LGUEST_EVTCHN_CLOSE is the back end going away: the
 * guest's end is unbound again, as on Xen.  EINVAL for a port in any
 * other state, and for the console's and the xenstore's, which stay.
 */
struct lguest_req_evtchn {
	__u32 op;		/* LGUEST_EVTCHN_* */
	__u32 port;
};

#define LGUEST_EVTCHN_BIND	1
#define LGUEST_EVTCHN_CLOSE	2

/* LHREQ_GETREGS / LHREQ_SETREGS: copy a struct lguest_regs out or in. */
struct lguest_req_regs {
	__u32 vcpu;
	__u32 size;		/* sizeof(struct lguest_regs) */
	__u64 addr;
};

/* Xen hypercall numbers counted one by one (0 to 47). */
#define LGUEST_XEN_HCALLS	48

/* Per-vCPU counters, for tests and benchmarks (LHREQ_VCPU_STATS). */
struct lguest_vcpu_stats {
	__u64 entries;		/* world switches into the guest */
	__u64 hypercalls;	/* synchronous hypercalls */
	__u64 async_hypercalls;	/* calls drained from the ring */
	__u64 host_irqs;	/* host interrupts taken while the guest ran */
	__u64 host_nmis;
	__u64 traps_delivered;	/* exceptions reflected to the guest */
	__u64 irqs_delivered;	/* virtual interrupts delivered */
	__u64 full_copies;	/* copy_in_guest_info() slow paths */
	__u64 switcher_maps;	/* map_switcher_in_guest() PTE rewrites */
	__u64 halts;
	/* Shadow paging (pgtable/). */
	__u64 shadow_fills;	/* #PF exits that filled a shadow entry */
	__u64 pf_reflected;	/* #PF exits the guest's own tables explain */
	__u64 pgtable_switches;	/* LHCALL_NEW_PGTABLE calls */
	__u64 pgdir_hits;	/* ... that found the address space cached */
	__u64 invalidations;	/* INVLPG and FLUSH_TLB calls */
	/* Guest user mode. */
	__u64 user_syscalls;	/* user syscalls delivered by the host's C code */
	__u64 user_returns;	/* RETURN_TO_USER done by the host's C code */
	__u64 fast_syscalls;	/* ... done inside the switcher (direct switch) */
	__u64 fast_returns;
	/* SMP. */
	__u64 ipis_sent;	/* vCPUs this one sent an interrupt to */
	__u64 shootdowns;	/* invalidations that had to kick other vCPUs */
	__u64 msr_loads;	/* SYSCALL MSRs pointed at the switcher */
	__u64 shadow_retries;	/* fills given up: the tables changed meanwhile */
	__u64 gdt_loads;	/* the vCPU's GDT entries copied into a CPU's */
	__u64 int_n_decoded;	/* #GP exits that were an `int n` */
	__u64 global_flushes;	/* entries that flushed the host's global TLB entries */
	/* Xen PV guests (docs/xen-pv-guests.md). */
	__u64 emulations;	/* privileged instructions emulated */
	__u64 bounces;		/* exception, event and syscall frames built */
	__u64 xen_hcalls[LGUEST_XEN_HCALLS];	/* by Xen hypercall number */
	/* Shadow tables this vCPU's zaps emptied and its page cache took back. */
	__u64 tables_recycled;
	/* Xen PV hypercalls other than iret done inside the switcher. */
	__u64 fast_hcalls;
	/* Absent leaves made (pgtable/absent.c), and faults on them the switcher delivered. */
	__u64 absent_marked;
	__u64 fast_faults;
	/* Of the hypercalls, those answered without leaving run_guest_once(). */
	__u64 fastpath_hcalls;
	/* Of the shadow fills, those made without leaving run_guest_once(). */
	__u64 fastpath_fills;
};

struct lguest_req_stats {
	__u32 vcpu;
	__u32 size;		/* sizeof(struct lguest_vcpu_stats) */
	__u64 addr;
};

/*
 * Running a vCPU: pread(fd, &exit, sizeof(exit), vcpu).  It runs the guest
 * until something needs the launcher, and describes that in the record.
 * Errors: EINTR (a signal arrived; run again to continue), EPERM (another
 * thread owns this vCPU, or the caller is not of the process that created
 * the guest), EINVAL (no such vCPU, guest not initialized, or a size other
 * than sizeof(struct lguest_exit)).
 */
enum lguest_exit_reason {
	LGUEST_EXIT_NOTIFY = 1,		/* guest NOTIFY hypercall: args[0..2] */
	LGUEST_EXIT_SHUTDOWN = 2,	/* args[0]: LGUEST_SHUTDOWN_*, [1]: status; msg */
	LGUEST_EXIT_KILLED = 3,		/* the host killed the guest: msg */
	/*
	 * Console output the module collected (a Xen guest's console_io):
	 * args[0] bytes in msg, not NUL-terminated.  Longer writes come as
	 * several exits.
	 */
	LGUEST_EXIT_CONSOLE = 4,
	/* A Xen guest signalled an event channel the launcher owns: args[0]. */
	LGUEST_EXIT_EVTCHN = 5,
};

/*
 * How a guest ended (LGUEST_EXIT_SHUTDOWN's args[0]).  The numbers are
 * Xen's SHUTDOWN_* reasons; a native guest has only the first two.
 */
#define LGUEST_SHUTDOWN_POWEROFF	0
#define LGUEST_SHUTDOWN_RESTART		1
#define LGUEST_SHUTDOWN_CRASH		3
#define LGUEST_SHUTDOWN_WATCHDOG	4

#define LGUEST_MSG_LEN	128

struct lguest_exit {
	__u32 reason;			/* LGUEST_EXIT_* */
	__u32 vcpu;
	__u64 args[3];
	char msg[LGUEST_MSG_LEN];	/* NUL-terminated */
};

/*
 * Hypercalls.  The guest kernel executes `syscall` with the call number in
 * rax and arguments in rdi, rsi, rdx, r10; the result comes back in rax; rcx
 * and r11 are clobbered (as for a Linux system call).  Addresses passed to a
 * hypercall are guest-physical, except where a call says otherwise.
 *
 * Only the guest kernel makes hypercalls: a `syscall` in guest user mode
 * goes to the entry the kernel registered with LHCALL_SET_SYSCALL, with
 * RCX = the user's RIP and R11 = its RFLAGS, as on a real CPU.
 */
enum lguest_hcall {
	LHCALL_INIT = 1,		/* gpa of struct lguest_data */
	LHCALL_SHUTDOWN = 2,		/* LGUEST_SHUTDOWN_*, msg gpa, len, status */
	LHCALL_LOAD_IDT_ENTRY = 3,	/* vector, handler, LG_IDT_* flags */
	LHCALL_SET_STACK = 4,		/* guest stack for LG_IDT_STACK traps */
	LHCALL_HALT = 5,		/* sleep until an interrupt is pending */
	LHCALL_SET_CLOCKEVENT = 6,	/* one-shot timer in ns; 0 cancels */
	LHCALL_SEND_INTERRUPTS = 7,	/* deliver pending interrupts now */
	LHCALL_NOTIFY = 8,		/* exit to the launcher with 3 args */
	LHCALL_TS = 9,			/* virtual CR0.TS: 0 or 1 */
	LHCALL_FLUSH_ASYNC = 10,	/* only drain the async ring */
	/* Paging: the guest's own page tables, shadowed by the host. */
	LHCALL_NEW_PGTABLE = 11,	/* gpa of the top-level (PML4) table */
	LHCALL_INVLPG = 12,		/* va, length in bytes, LG_INVLPG_* */
	LHCALL_FLUSH_TLB = 13,		/* gpa of a PML4, or LGUEST_FLUSH_ALL */
	/* Guest user mode. */
	LHCALL_SET_SYSCALL = 14,	/* entry for user syscall; 0 removes */
	LHCALL_RETURN_TO_USER = 15,	/* enter user mode: lguest_data.user */
	/* SMP. */
	LHCALL_START_VCPU = 16,		/* vcpu, rip, rsp, rdi for it */
	LHCALL_SEND_IPI = 17,		/* mask of vCPUs, vector (32..255) */
	/* Descriptors. */
	LHCALL_LOAD_GDT = 18,		/* first entry, count, gpa of the u64s */
	LHCALL_NR
};

/*
 * The same hypercalls through `int $LGUEST_HCALL_VECTOR` (a DPL-3 gate; a
 * vector the CPU and the host's devices never use), with the same registers.
 * `syscall` is the faster path (docs/performance.md); this one exists for
 * the comparison and for guests that cannot use syscall.
 */
#define LGUEST_HCALL_VECTOR	0x1f

/* Results, in rax. */
#define LGUEST_HCALL_OK		0
#define LGUEST_HCALL_EINVAL	(-22LL)
#define LGUEST_HCALL_EBUSY	(-16LL)
#define LGUEST_HCALL_ENOSYS	(-38LL)

/* LHCALL_LOAD_IDT_ENTRY flags. */
#define LG_IDT_PRESENT	(1U << 0)	/* otherwise: remove the entry */
#define LG_IDT_STACK	(1U << 1)	/* deliver on the LG_STACK_IST stack */
#define LG_IDT_USER	(1U << 2)	/* user mode may raise it with int n */

/* LHCALL_SET_STACK's second argument: which stack. */
#define LG_STACK_KERNEL	0	/* traps from user mode land here (TSS.RSP0) */
#define LG_STACK_IST	1	/* LG_IDT_STACK entries land here (an IST) */

/*
 * The virtual privilege levels, as the CS and SS the host pushes in trap
 * frames and reports in struct lguest_regs.  Both run at the real CPL3 with
 * the host's user selectors; `testb $3, CS(frame)` tells them apart, as on
 * real hardware.
 */
#define LGUEST_KERNEL_CS	0x10
#define LGUEST_KERNEL_SS	0x18
#define LGUEST_USER_CS		0x33
#define LGUEST_USER_SS		0x2b

/* LHCALL_INVLPG flags. */
#define LG_INVLPG_ALL_SPACES	(1U << 0)	/* every cached address space */
/* LHCALL_FLUSH_TLB: every address space, instead of one PML4. */
#define LGUEST_FLUSH_ALL	(~0ULL)

/* The virtual interrupt the clock event raises. */
#define LGUEST_TIMER_VECTOR	32

/* The asynchronous hypercall ring, in struct lguest_data. */
#define LHCALL_RING_SIZE	64
#define LHCALL_RING_FREE	0xff	/* status: slot free (host done) */
#define LHCALL_RING_QUEUED	0	/* status: guest queued a call */

struct lguest_hcall_slot {
	__u64 nr;
	__u64 args[4];
};

/*
 * What LHCALL_RETURN_TO_USER loads, as iretq and sysretq would: the guest
 * kernel restores every other register of the user context itself, puts
 * these (which it cannot restore, since the hypercall itself uses them) in
 * lguest_data.user and makes the call.
 */
struct lguest_user_frame {
	__u64 rip, rsp, rflags;
	__u64 rax, rcx, r11;
};

/*
 * The page the guest shares with the host, registered by LHCALL_INIT, one
 * per vCPU (page aligned, in guest-physical memory; the host keeps it
 * pinned).  Once registered, the guest kernel also sees its vCPU's page at
 * LGUEST_DATA_VA, the same address on every vCPU and in every address
 * space (a reserved slot, invisible to guest user mode): per-vCPU data
 * without a segment register, which is what scratch[] is for.
 * The guest writes irq_enabled (its virtual RFLAGS.IF: 0 or 0x200) as its
 * cli/sti; the host sets irq_pending bits and cr2.  A guest that enables
 * interrupts and finds a pending bit makes LHCALL_SEND_INTERRUPTS.
 */
#define LGUEST_DATA_VA		0xffff808000200000ULL

/*
 * The host's part of every guest address space: PML4 slots 256-271, the
 * x86-64 hypervisor hole (0xffff800000000000-0xffff87ffffffffff), as in
 * Xen's PV ABI.  Every other slot is the guest's.
 */
#define LGUEST_HOLE_START	0xffff800000000000ULL
#define LGUEST_HOLE_END		0xffff880000000000ULL

/*
 * Where the guest's IDTR and GDTR point while it runs, as `sidt` and `sgdt`
 * show on a CPU without UMIP (with UMIP they raise #GP): addresses in the
 * hole, the same on every host and every CPU, so that they say nothing
 * about the host.  Neither table is readable by the guest.  `str` shows
 * LGUEST_TSS_SEL and `sldt` a null selector.
 */
#define LGUEST_IDT_VA		0xffff808000010000ULL
#define LGUEST_GDT_VA		0xffff808000410000ULL
#define LGUEST_GDT_LIMIT	0xefff
#define LGUEST_TSS_SEL		0xe040

/*
 * LHCALL_LOAD_GDT: the vCPU's own GDT entries, 0 to LGUEST_GDT_ENTRIES - 1
 * (each vCPU has its own table, as each CPU has).  A descriptor is 0 (the
 * entry becomes empty) or a code or data segment of DPL 3, present or not;
 * code segments must be 64-bit (L set, D clear).  System descriptors,
 * other privilege levels and the entries the host keeps (0, 2, and
 * LGUEST_USER_SS/CS's 5 and 6, which the switcher uses) are refused with
 * LGUEST_HCALL_EINVAL, and then nothing is loaded.  The accessed bit is
 * set for the guest.  Selectors above the guest's entries, at Xen's flat
 * ones (0xe023, 0xe02b, 0xe033: 32-bit code, data, 64-bit code, DPL 3),
 * are fixed and always usable.  DS, ES, FS and GS keep what the guest
 * loads across every exit; a selector whose entry changed under it so
 * that it can no longer be loaded reads back as null.
 */
#define LGUEST_GDT_ENTRIES	512

struct lguest_data {
	__u64 irq_enabled;
	__u64 irq_pending[4];		/* 256 vectors */
	__u64 cr2;			/* of the last #PF delivered */
	__u64 tsc_khz;
	__u64 time_ns;			/* CLOCK_REALTIME at the last timer irq */
	/*
	 * Top-level (PML4) slots the host reserves for itself: bit n of word
	 * n / 64 is slot n.  Exactly the hole, 256-271.  A guest that maps
	 * anything there is killed when it touches it.
	 */
	__u64 reserved_slots[8];
	struct lguest_user_frame user;	/* for LHCALL_RETURN_TO_USER */
	__u64 scratch[8];		/* the guest's own; the host never touches them */
	__u8 hcall_status[LHCALL_RING_SIZE];
	struct lguest_hcall_slot hcalls[LHCALL_RING_SIZE];
	__u32 vcpu_id;			/* written by the host at LHCALL_INIT */
	__u32 nr_vcpus;
	/*
	 * LGUEST_MIT_*: what the host does at the boundary between this guest
	 * and the host.  Its own user/kernel boundary is the guest's to
	 * mitigate: CPUID shows it the hardware as it is.
	 */
	__u32 host_mitigations;
	__u32 pad;
};

/*
 * Launcher conventions for LHCALL_NOTIFY's first argument: what this
 * repository's launcher and selftests understand.
 */
#define LGUEST_NOTIFY_CONSOLE	1	/* args: gpa of text, length */
#define LGUEST_NOTIFY_UCALL	2	/* selftests: args: type, value */

#endif /* _UAPI_LINUX_LGUEST_H */
