/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lg.h: the module's private header.  Everything the parts of lg.ko (vcpu/,
 * switcher/, pgtable/, sched/) share but user space must never see lives here;
 * what user space sees lives in include/uapi/linux/lguest.h.
 *
 * Two objects organise the whole hypervisor, as in the original lguest:
 *
 *   struct lguest   one guest: its memory, its page tables, its vCPUs.
 *                   One per open file of /dev/lguest.
 *   struct lg_cpu   one virtual CPU: its registers, what changed since it last
 *                   ran, which physical CPU's switcher pages it last used,
 *                   its pending interrupts and its timer.
 */
#ifndef _LG_H
#define _LG_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <linux/lguest.h>
#include "switcher.h"

/* The module version reported by modinfo and by LHREQ_INFO. */
#define LG_VERSION "0.3"

/*
 * The registers as the switcher saves and restores them (switcher.h gives
 * the offsets): general registers in pop order, the trap number and error
 * code, then the frame iretq consumes.
 */
struct lguest_hw_regs {
	u64 r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	u64 rax, rcx, rdx, rsi, rdi;
	u64 trapnum, errcode;
	u64 rip, cs, rflags, rsp, ss;
};

/*
 * One page per physical CPU: what the switcher needs while the guest's page
 * tables are loaded, mapped there at LG_CUR_VA (and LG_CPU_VA(cpu)).  The
 * fields after the registers are laid out for switcher_64.S (switcher.h
 * has the offsets).
 */
struct lguest_pages {
	struct lguest_hw_regs regs;
	u64 kernel_cr3;		/* the vCPU's roots for its address space */
	u64 guest_fsbase;
	u64 guest_gsbase;
	u64 guest_ts;
	u64 host_rsp;
	u64 host_cr3;
	u64 cr2;
	u64 scratch;
	u64 user_cr3;		/* 0 until the vCPU has a user-mode root */
	u64 guest_mode;		/* LG_MODE_*: which root, and what syscall means */
	u64 fast;		/* LG_FAST_*: what the switcher may do alone */
	u64 syscall_rip;	/* the guest kernel's entry for user syscall */
	u64 next_hcall;		/* the async ring's next slot (the host's) */
	u64 fast_syscalls;	/* direct switches done, collected at exit */
	u64 fast_returns;
	struct desc_ptr gdt_desc __aligned(16);	/* this CPU's GDT, at LG_CPU_VA */
	struct desc_ptr host_gdt_rw __aligned(16);	/* the host's, writable */
	u64 tss_desc;		/* host address of our TSS descriptor */
	u64 guest_sel[4];	/* DS, ES, FS, GS */
	u64 nmi_slot;		/* this CPU's entry-area slot */
	u64 flush_global;	/* the host's global entries must go */
	/* The Xen PV fast paths' state (LG_FAST_XEN_*, xen/fast.c). */
	u64 xen_callback;	/* the guest kernel's syscall callback */
	u64 xen_frame;		/* where its bounce frame goes */
	u64 xen_vi;		/* the vCPU's vcpu_info, at LG_DATA_VA */
	u64 xen_gs_inactive;	/* the GS base of the mode not running */
	u64 tmp[5];		/* the registers a fast path borrows */
	u64 xen_kernel_sp;	/* the stack_switch stack the switcher took */
	u64 fast_stacks;	/* ... how many times, collected at exit */
	u64 fast_segbases;	/* FS bases it loaded for set_segment_base */
	u64 xen_pf_handler;	/* the trap table's #PF entry */
	u64 fast_faults;	/* #PFs on absent leaves it bounced */
};

/* The virtual privilege levels (LG_MODE_*, switcher.h) index shadows. */
#define LG_NR_MODES	2

/* What copy_in_guest_info() must copy even on the fast path. */
#define CHANGED_ROOT	BIT(0)	/* kernel_cr3, user_cr3 */
#define CHANGED_SEGBASE	BIT(1)	/* guest FS/GS bases */
#define CHANGED_TS	BIT(2)	/* virtual CR0.TS */
#define CHANGED_ENTRY	BIT(3)	/* syscall_rip */
#define CHANGED_GDT	BIT(4)	/* the vCPU's GDT entries */
#define CHANGED_ALL	(CHANGED_ROOT | CHANGED_SEGBASE | CHANGED_TS | CHANGED_ENTRY | \
			 CHANGED_GDT)

struct lg_idt_entry {
	u64 handler;
	u32 flags;		/* LG_IDT_* */
};

struct lguest;
struct lg_cpu;

/*
 * A guest's personality: the ABI its kernel speaks (LHREQ_INITIALIZE's
 * flags).  Everything a kernel sees of its hypervisor beyond the bare CPU
 * goes through this table: what its hypercalls mean, how it is told of
 * exceptions and interrupts, and how its day starts.  The switcher, the
 * shadow MMU, the run loop and the host-state rules are the same for all.
 *
 *   lguest_native    lguest's own ABI (vcpu/traps.c, vcpu/hypercalls.c)
 *   lguest_xen_pv    Xen's 64-bit PV ABI, for unmodified Linux (xen/)
 */
struct lg_personality {
	const char *name;
	/*
	 * LHREQ_IRQ: the launcher raises @n on @cpu, whatever an interrupt
	 * is to this personality (a vector, an event-channel port).
	 * 0, or -EINVAL for an @n the launcher may not raise.
	 */
	int (*irq)(struct lg_cpu *cpu, u32 n);
	/* LHREQ_EVTCHN (NULL: the personality has no event channels). */
	int (*evtchn)(struct lguest *lg, u32 op, u32 port);
	/* After the vCPUs exist: the personality's own state, vCPU 0's start. */
	int (*init)(struct lguest *lg, const struct lguest_req_init *req);
	/* Undo init(); also called after a failed or partial one. */
	void (*free)(struct lguest *lg);
	/* `syscall` (and the hypercall gate) from guest kernel mode. */
	void (*hypercall)(struct lg_cpu *cpu);
	/* `syscall` from guest user mode. */
	void (*user_syscall)(struct lg_cpu *cpu);
	/*
	 * An exception for the guest: @vector < 32, or a software interrupt
	 * through one of the switcher's DPL-3 gates.  #PF arrives here only
	 * when the guest's own tables explain it (errcode and cpu->cr2 set).
	 */
	void (*trap)(struct lg_cpu *cpu, unsigned int vector);
	/*
	 * Before each entry: deliver what is pending and deliverable.
	 * Returns false if the guest was killed.
	 */
	bool (*deliver)(struct lg_cpu *cpu);
	/* Something deliver() would deliver now (checked with irqs off). */
	bool (*deliverable)(struct lg_cpu *cpu);
	/* A halted vCPU has something to wake for. */
	bool (*wake)(struct lg_cpu *cpu);
	/*
	 * Optional: the vCPU is about to enter the guest on another physical
	 * CPU than last time (interrupts off).  What the guest reads that
	 * belongs to one CPU must follow it: Xen's pvclock scales this CPU's
	 * TSC, and TSCs need not agree between CPUs.
	 */
	void (*moved)(struct lg_cpu *cpu);
	/*
	 * Optional: the guest kernel may write the page at @gpa in place
	 * although its own tables map it read-only (a page table it hands
	 * the hypervisor, which Xen's guests write directly).
	 */
	bool (*table_writable)(struct lg_cpu *cpu, u64 gpa);
	/*
	 * Optional, with a coherent shadow: the PML4 at @gcr3 is one whose
	 * every table the guest changes only in ways we see (Xen's pinned
	 * L4s), so the shadow of its kernel half may be shared with other
	 * such spaces (pgtable/shadow.c).  Called under mmu_lock.
	 */
	bool (*root_coherent)(struct lguest *lg, u64 gcr3);
};

extern const struct lg_personality lguest_native;
extern const struct lg_personality lguest_xen_pv;
/* xen/fast.c: what the switcher may do alone for a Xen PV vCPU (switcher.c). */
u64 lg_xen_fast_entry(struct lg_cpu *cpu, struct lguest_pages *pages, u64 pcid);
void lg_xen_fast_exit(struct lg_cpu *cpu, struct lguest_pages *pages,
		      unsigned int was_mode);
/* xen/m2p.c: what the Xen personality keeps for all guests. */
void lg_xen_m2p_free(void);

/*
 * The roots one vCPU loads for one address space in one mode
 * (pgtable/pgdir.c): @top holds the PML4-level entries, ours and the
 * guest's; on a 5-level host @pml5 is the root and points at @top for the
 * upper half.
 */
struct lg_vroot {
	u64 *top;
	u64 *pml5;
};

/*
 * One guest address space the host shadows (pgtable/pgdir.c), keyed by the
 * guest-physical address of the guest's PML4.  The shadow trees hang off
 * two template tables per mode, one per half of the PML4: the lower half's
 * template is itself the P4D of a 5-level root, so it holds nothing else.
 */
struct lg_pgdir {
	u64 gcr3;			/* the guest's PML4, or LG_NO_PAGING */
	bool valid;
	unsigned int users;		/* vCPUs running in it */
	u64 last_used;			/* lg->pgdir_clock, for eviction */
	u64 *lo[LG_NR_MODES];		/* shadow PML4 entries 0..255 */
	u64 *hi[LG_NR_MODES];		/* shadow PML4 entries 256..511 */
	/*
	 * The upper half has had a shadow table since the address space was
	 * last emptied: where the host's kernel mappings are, which may be
	 * global in the TLB (switcher.c flushes them before the guest runs).
	 */
	bool upper;
	struct lg_vroot *vroots;	/* [vcpu * LG_NR_MODES + mode] */
};

/* A vCPU's life: vCPU 0 starts running, the others once started. */
#define LG_VCPU_STOPPED		0
#define LG_VCPU_STARTING	1
#define LG_VCPU_RUNNING		2

/* The key of the address space a vCPU runs in before NEW_PGTABLE. */
#define LG_NO_PAGING	(~0ULL)

/* Pages a vCPU allocates before taking the MMU lock, used under it. */
#define LG_PAGE_CACHE	8
/* ... and leaf tables' reverse maps (pgtable/pins.c): one per fill. */
#define LG_RMAP_CACHE	2
/*
 * How many the cache keeps of what the vCPU's own zaps give back, emptied
 * (pgtable/tables.c): an evicted address space's tables serve the next.
 */
#define LG_PAGE_STASH	32
#define LG_RMAP_STASH	8
#define LG_RMAP_SIZE	(512 * sizeof(u32))

/*
 * A guest page the host holds pinned (pgtable/pins.c): the page, and how
 * many shadow leaves map it.  One per guest-physical page.
 */
struct lg_pin {
	struct page *page;
	unsigned int maps;
};

/* What one walk of the guest's tables found (pgtable/walk.c). */
struct lg_walk {
	u64 gpa;		/* of the 4 KiB page holding the address */
	bool writable;		/* RW all the way down, and Dirty is set */
	bool nx;
	u8 pkey;		/* the leaf's protection key */
	u32 error;		/* for LG_WALK_FAULT */
	u64 top;		/* the PML4 entry it went through */
	/* LG_WALK_FAULT on a PTE that is not present: its L1, at @l1. */
	bool absent_pte;
	u64 l1;
};

struct lg_cpu {
	struct lguest *lg;
	unsigned int id;

	/* Serialises run, GETREGS and SETREGS on this vCPU. */
	struct mutex run_lock;
	/* The thread that runs this vCPU (the first to run it). */
	struct task_struct *tsk;
	/* LG_VCPU_*: a secondary waits for LHCALL_START_VCPU. */
	unsigned int vstate;
	/* Lazy host state while the thread is in a run request (sched/). */
	struct preempt_notifier preempt_notifier;

	struct lguest_hw_regs regs;
	u64 fsbase, gsbase;
	u64 cr2;		/* at the last exit */
	u64 ts;			/* X86_CR0_TS if the guest asked */
	u32 pkru;
	struct fpu_guest fpu;

	/* copy_in_guest_info(): which pages we last ran on, what changed. */
	struct lguest_pages *last_pages;
	unsigned int changed;

	/* The physical CPU we are in the guest on, or -1 (sched/kick.c). */
	int guest_on;
	/* The physical CPU of the last entry, or -1: see ops->moved(). */
	int last_pcpu;

	/* pgtable/: the address space and the virtual privilege level. */
	struct lg_pgdir *pgdir;
	unsigned int mode;		/* LG_MODE_* */
	/*
	 * For a guest whose two modes run on two address spaces (a Xen PV
	 * kernel's L4 and its user L4), the other mode's, kept from eviction
	 * so the switcher may change modes by itself (lguest_keep_pgdir()).
	 */
	struct lg_pgdir *other_pgdir;
	struct page *page_cache[LG_PAGE_STASH];
	unsigned int nr_cached;
	u32 *rmap_cache[LG_RMAP_STASH];
	unsigned int nr_rmaps;
	/*
	 * #PF exits at one address, with no invalidation between them, that
	 * found the shadow already as the fill would make it (shadow.c).
	 */
	unsigned int pf_stuck;
	u64 pf_stuck_va;
	u64 pf_stuck_seq;
	/*
	 * A #PF the fast path walked but left to the run loop: the walk, for
	 * the loop's fill to finish rather than repeat (pgtable/shadow.c).
	 * Valid only until the next entry.
	 */
	struct lg_pf_saved {
		bool valid;
		u8 result;		/* enum lg_walk_result */
		u8 mode;
		u32 access;
		u64 va;
		u64 seq;		/* lg->invalidate_seq before the walk */
		struct lg_pgdir *pd;
		struct lg_walk w;
	} pf_saved;

	/*
	 * map_switcher_in_guest(): per mode, the top-level entry only this
	 * vCPU has (slot 257, the hole), the page tables under it, the PTE of
	 * our shared page, and the entries that map the current CPU's area at
	 * LG_CUR_VA and LG_CPU_VA(cpu).
	 */
	u64 *private_top[LG_NR_MODES];
	struct list_head private_tables;
	u64 *data_pte[LG_NR_MODES];
	u64 *cur_pmd[LG_NR_MODES];
	u64 *cpu_pmds[LG_NR_MODES][LG_NR_CPU_PMDS];
	int mapped_cpu;			/* whose area is mapped, or -1 */

	/*
	 * The vCPU's own GDT entries (vcpu/gdt.c), copied into the GDT of
	 * the CPU it runs on: all of them (up to @gdt_ents, which covers the
	 * last one in use) when it last ran elsewhere, else those that
	 * changed.  And its data selectors, which survive every exit.
	 */
	u64 gdt[LGUEST_GDT_ENTRIES];
	unsigned int gdt_ents;
	unsigned int gdt_lo, gdt_hi;	/* entries changed since the last copy */
	u16 sel[4];			/* DS, ES, FS, GS */

	/* The guest's trap table, stacks and syscall entry (hypercalls). */
	struct lg_idt_entry idt[256];
	u64 kernel_stack;		/* LG_STACK_KERNEL: traps from user */
	u64 ist_stack;			/* LG_STACK_IST: LG_IDT_STACK entries */
	u64 syscall_entry;

	/* The shared page, pinned while registered; NULL until LHCALL_INIT. */
	struct lguest_data *data;
	struct page *data_page;
	u64 data_gpa;
	unsigned int next_hcall;

	/*
	 * Virtual interrupts: set from any context, delivered by the vCPU.
	 * lguest_irqs_pending() says whether any is.
	 */
	DECLARE_BITMAP(irqs_pending, 256);
	struct hrtimer timer;
	bool halted;

	/* An exit for the launcher, filled by a hypercall (NOTIFY). */
	bool exit_pending;
	struct lguest_exit exit;

	struct lguest_vcpu_stats stats;

	/* The personality's own per-vCPU state (xen/: struct lg_xen_cpu). */
	void *pstate;
};

/*
 * Whether any virtual interrupt is pending: asked before every entry and
 * on every exit, so four loads in line rather than bitmap_empty()'s call
 * of _find_first_bit() (about 35 instructions a time).  Racy by design,
 * as bitmap_empty() is: a bit set after the test also kicks the vCPU.
 */
static inline bool lguest_irqs_pending(const struct lg_cpu *cpu)
{
	unsigned long any = 0;
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(cpu->irqs_pending) != 4);
	for (i = 0; i < ARRAY_SIZE(cpu->irqs_pending); i++)
		any |= READ_ONCE(cpu->irqs_pending[i]);
	return any;
}

struct lg_ptinfo;
struct lg_kshare;
struct lg_unsync;

struct lguest {
	/* Unique among live guests; reported by LHREQ_INFO. */
	u32 id;
	/* The ABI its kernel speaks; set once, at LHREQ_INITIALIZE. */
	const struct lg_personality *ops;
	void *pstate;			/* its per-guest state (xen/: struct lg_xen) */
	/* Unique for the module's life (ids are reused): IBPB between guests. */
	u64 uid;
	/* Serialises requests that change the guest as a whole. */
	struct mutex lock;

	/*
	 * Guest memory: guest-physical 0 is launcher address mem_base in
	 * mm, the launcher's address space, which only its threads may use.
	 */
	struct mm_struct *mm;
	unsigned long mem_base;
	unsigned long mem_size;
	/* Tells us when the launcher's mapping of guest memory changes. */
	struct mmu_interval_notifier mni;
	bool mni_live;
	/* mm maps the hypervisor hole for us (switcher/hole.c). */
	bool hole_mapped;

	/*
	 * Shadow page tables (pgtable/): the address spaces, guarded by
	 * mmu_lock, with a sequence count every invalidation bumps.
	 */
	spinlock_t mmu_lock;
	u64 invalidate_seq;
	struct lg_pgdir *pgdirs;
	unsigned int nr_pgdirs;
	u64 pgdir_clock;
	struct lg_pin *pins;		/* per guest page (pgtable/pins.c) */
	atomic_long_t nr_pins;		/* pages pinned: mapped ones, shared pages */
	atomic_long_t nr_tables;	/* every table page: shadow, roots, private */
	atomic_long_t nr_shadow_tables;	/* ... of which below the templates */
	long max_tables;		/* for nr_shadow_tables */
	/*
	 * A shadow kept coherent with the guest's tables, for a personality
	 * whose guests show us every change (pgtable/coherent.c): where each
	 * guest page was met as a table, and the tables written in place
	 * since the last resync (under mmu_lock; resyncs one at a time).
	 */
	struct lg_ptinfo *ptinfo;
	struct lg_kshare *kshare;	/* the shared kernel half (shadow.c) */
	struct lg_unsync *unsync, *resyncing;
	u64 *resync_buf;		/* a table's entries, for the resync */
	unsigned int nr_unsync;
	struct mutex resync_lock;	/* one resync at a time */
	unsigned int resync_seq;	/* odd while one runs */

	unsigned int nr_cpus;
	struct lg_cpu *cpus[LGUEST_MAX_VCPUS];
	/* Set (release) once LHREQ_INITIALIZE has fully succeeded. */
	bool ready;

	/* Once dead, every run returns this; the first reason is kept. */
	bool dead;
	u32 dead_reason;		/* LGUEST_EXIT_SHUTDOWN or _KILLED */
	u64 shutdown_code;
	u64 shutdown_status;
	char dead_msg[LGUEST_MSG_LEN];
	/* Guards the four fields above: any vCPU may kill the guest. */
	spinlock_t dead_lock;
};

/*
 * An address a 4-level guest can use: canonical with 48 bits.  (On a
 * 5-level host the CPU would accept more; the guest must not.)
 */
static inline bool lguest_canonical(u64 va)
{
	return (u64)((s64)(va << 16) >> 16) == va;
}

/* vcpu/lguest_user.c: the /dev/lguest character device. */
int lguest_device_init(void);
void lguest_device_remove(void);

/* vcpu/core.c: the life of a guest. */
extern atomic_long_t lguest_pinned_pages;	/* all guests, for LHREQ_INFO */
extern atomic_long_t lguest_table_pages;
int lguest_initialize(struct lguest *lg, const struct lguest_req_init *req);
void lguest_free(struct lguest *lg);
__printf(2, 3) void kill_guest(struct lg_cpu *cpu, const char *fmt, ...);
__printf(2, 3) void kill_guest_lg(struct lguest *lg, const char *fmt, ...);

/*
 * Guest memory is plain launcher memory.  Every access the host makes to it
 * goes through these two helpers, so a hostile guest-physical address can
 * never reach outside the launcher's range.  Inline: a walk of the guest's
 * tables calls both at every level.
 */
static inline bool lguest_guest_range_ok(const struct lguest *lg, u64 gpa, u64 len)
{
	return gpa < lg->mem_size && len <= lg->mem_size - gpa;
}

static inline void __user *lguest_gpa_to_user(const struct lguest *lg, u64 gpa)
{
	return (void __user *)(lg->mem_base + gpa);
}

/* vcpu/run.c: running a vCPU, virtual interrupts. */
int lguest_run(struct lg_cpu *cpu, struct lguest_exit *exit);
void lguest_set_irq(struct lg_cpu *cpu, unsigned int vector);
void lguest_kick_vcpu(struct lg_cpu *cpu);
/*
 * Starting and stopping a vCPU (LHCALL_START_VCPU, Xen's VCPUOP_up and
 * down): claim a stopped one, write its registers, then start it; or
 * give the claim back.  Stopping keeps its registers for the next start.
 */
bool lguest_vcpu_claim(struct lg_cpu *t);
void lguest_vcpu_unclaim(struct lg_cpu *t);
void lguest_vcpu_start(struct lg_cpu *t);
bool lguest_vcpu_stop(struct lg_cpu *t);
void lguest_vcpu_init_timer(struct lg_cpu *cpu);
u64 lguest_sanitize_rflags(u64 rflags);

/* vcpu/traps.c: what a trap out of the guest means. */
void lguest_arch_handle_trap(struct lg_cpu *cpu);
bool lguest_deliver_trap(struct lg_cpu *cpu, unsigned int vector);
bool lguest_has_error_code(unsigned int vector);
unsigned int lguest_decode_int_n(struct lg_cpu *cpu, unsigned int *vector);
extern const char *const lguest_trap_names[32];
bool lguest_pf_fastpath(struct lg_cpu *cpu, struct lguest_hw_regs *regs,
			struct lg_pgdir *pd, unsigned int mode, u64 cr2);

/* vcpu/hypercalls.c */
void lguest_do_hypercall(struct lg_cpu *cpu);
bool lguest_hypercall_fastpath(struct lg_cpu *cpu, struct lguest_hw_regs *regs,
			       u64 mode);
/* The calls it may answer, a bit per LHCALL_*: the rest are not offered it. */
#define LG_FASTPATH_HCALLS						\
	(BIT_ULL(LHCALL_SEND_INTERRUPTS) | BIT_ULL(LHCALL_FLUSH_ASYNC) |	\
	 BIT_ULL(LHCALL_SET_STACK) | BIT_ULL(LHCALL_SET_CLOCKEVENT) |	\
	 BIT_ULL(LHCALL_SEND_IPI))
void lguest_shutdown(struct lguest *lg, u64 how, u64 status, const char *msg);
void lguest_release_data_page(struct lg_cpu *cpu);

/*
 * pgtable/coherent.c: a shadow that survives CR3 writes, for a guest that
 * shows us every change to its tables (Xen's).
 */
int lguest_track_tables(struct lguest *lg);
void lguest_untrack_tables(struct lguest *lg);
void lguest_tables_written(struct lg_cpu *cpu, const u64 *gpas, unsigned int n);
void lguest_table_gone(struct lg_cpu *cpu, u64 gpa);
void lguest_resync(struct lg_cpu *cpu);

/* switcher/hole.c: slot 257 in the host, and each CPU's area there. */
int lguest_hole_init(void);
void lguest_hole_exit(void);
int lguest_hole_get(struct mm_struct *mm);
void lguest_hole_put(struct mm_struct *mm);
bool lguest_hole_mapped(struct mm_struct *mm);
u64 lguest_hole_common_table(void);
u64 lguest_hole_cpu_table(int cpu);

/* vcpu/gdt.c: the guest's own descriptors and selectors. */
extern const u64 lguest_gdt_fixed[8];
void lguest_gdt_init(struct lg_cpu *cpu);
long lguest_load_gdt(struct lg_cpu *cpu, u64 first, u64 count, u64 gpa);
unsigned int lguest_set_gdt(struct lg_cpu *cpu, u64 *d, unsigned int count);
bool lguest_check_segments(struct lg_cpu *cpu);
unsigned int lguest_gdt_host_entries(u64 *gdt);

/* switcher/switcher.c: the world switch itself. */
extern bool lguest_fast_switch;
int lguest_switcher_init(void);
void lguest_switcher_exit(void);
void run_guest_once(struct lg_cpu *cpu);
unsigned long lguest_syscall_entry(void);
void lguest_switcher_ranges(unsigned long *text, unsigned long *text_end,
			    unsigned long *data, unsigned long *data_end);
unsigned long lguest_hole_alias(const void *text);
void lguest_switcher_forget(struct lg_cpu *cpu);
u32 lguest_mitigations(void);

/* pgtable/private.c: the host's own slots in every guest root. */
void lguest_pgtable_init(void);
/* pgtable/absent.c's leaf for "the guest's PTE is absent", or 0: none. */
extern u64 lg_absent_leaf;
bool lguest_slot_reserved(unsigned int slot);
void lguest_reserved_slots(u64 bitmap[8]);
int lguest_vcpu_private_init(struct lg_cpu *cpu);
void lguest_vcpu_private_free(struct lg_cpu *cpu);
void map_switcher_in_guest(struct lg_cpu *cpu, int pcpu);
void lguest_map_data_page(struct lg_cpu *cpu, struct page *page);
void lguest_map_vcpu_info_page(struct lg_cpu *cpu, struct page *page);

/* pgtable/pgdir.c: the address spaces a guest may switch between. */
int lguest_pgdirs_init(struct lguest *lg);
void lguest_pgdirs_free(struct lguest *lg);
int lguest_vcpu_pgdir_init(struct lg_cpu *cpu);
void lguest_vcpu_pgdir_free(struct lg_cpu *cpu);
long lguest_new_pgtable(struct lg_cpu *cpu, u64 gcr3);
int lguest_share_pgdir(struct lg_cpu *from, struct lg_cpu *to);
int lguest_need_user_root(struct lg_cpu *cpu);
u64 lguest_root_cr3(struct lg_cpu *cpu, unsigned int mode);
u64 lguest_pgdir_cr3(struct lg_cpu *cpu, struct lg_pgdir *pd, unsigned int mode);
void lguest_keep_pgdir(struct lg_cpu *cpu, struct lg_pgdir *pd);
int lguest_hold_other_pgdir(struct lg_cpu *cpu, u64 gcr3, unsigned int mode);
void lguest_swap_pgdirs(struct lg_cpu *cpu);
void lguest_set_private_slot(struct lg_cpu *cpu, unsigned int mode,
			     unsigned int slot, u64 val);

/* pgtable/shadow.c: shadow entries, filled on demand and invalidated. */
int lguest_shadow_init(struct lguest *lg);
void lguest_shadow_free(struct lguest *lg);
/* LG_PF_SLOW: lguest_demand_page_nowait() leaves the fault to the loop. */
enum { LG_PF_FIXED, LG_PF_REFLECT, LG_PF_GP, LG_PF_DEAD, LG_PF_SLOW };
int lguest_demand_page(struct lg_cpu *cpu, u64 *guest_error);
int lguest_demand_page_nowait(struct lg_cpu *cpu, struct lg_pgdir *pd,
			      unsigned int mode, u64 va, u64 errcode);
void lguest_prefetch(struct lg_cpu *cpu, struct lg_pgdir *pd, u64 va);
bool lguest_entry_va(struct lguest *lg, u64 egpa, u64 *va);
long lguest_invlpg(struct lg_cpu *cpu, u64 va, u64 len, u64 flags);
long lguest_flush_tlb(struct lg_cpu *cpu, u64 gcr3);

/* pgtable/tables.c */
void lguest_account_pins(struct lguest *lg, long n);

/* pgtable/pins.c: one pin per guest page, however often it is mapped. */
int lguest_pins_init(struct lguest *lg);
void lguest_pins_free(struct lguest *lg);
int lguest_pin_gpa(struct lguest *lg, u64 gpa, struct page **page);
int lguest_pin_kept(struct lguest *lg, u64 gpa, struct page **page);

/* pgtable/walk.c: the guest's own page tables, as the CPU reads them. */
int lguest_copy_to_guest(struct lg_cpu *cpu, u64 va, const void *src, u64 len);
u64 lguest_read_guest(struct lg_cpu *cpu, u64 va, void *dst, u64 len, u32 access);

/* sched/hoststate.c: host state around the guest. */
extern bool lguest_eager_host_state;
void lguest_host_state_init(void);
void lguest_host_state_exit(void);
void lguest_host_state_enter(struct lg_cpu *cpu);
void lguest_host_state_leave(struct lg_cpu *cpu);
void lguest_vcpu_hoststate_init(struct lg_cpu *cpu);
void lguest_vcpu_load(struct lg_cpu *cpu);
void lguest_vcpu_put(struct lg_cpu *cpu);

/* sched/kick.c: getting vCPUs out of the guest. */
bool lguest_kick_running(struct lguest *lg);
void lguest_wake_all(struct lguest *lg);

#endif /* _LG_H */
