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
#include <linux/sched.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <linux/lguest.h>

/* The module version reported by modinfo and by LHREQ_INFO. */
#define LG_VERSION "0.2"

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
 * tables are loaded, mapped there at LG_PAGES_VA.
 */
struct lguest_pages {
	struct lguest_hw_regs regs;
	u64 guest_cr3;
	u64 guest_fsbase;
	u64 guest_gsbase;
	u64 guest_ts;
	u64 host_rsp;
	u64 host_cr3;
	u64 cr2;
	u64 scratch;
};

/* What copy_in_guest_info() must copy even on the fast path. */
#define CHANGED_ROOT	BIT(0)	/* guest_cr3 */
#define CHANGED_SEGBASE	BIT(1)	/* guest FS/GS bases */
#define CHANGED_TS	BIT(2)	/* virtual CR0.TS */
#define CHANGED_ALL	(CHANGED_ROOT | CHANGED_SEGBASE | CHANGED_TS)

struct lg_idt_entry {
	u64 handler;
	u32 flags;		/* LG_IDT_* */
};

struct lguest;

struct lg_cpu {
	struct lguest *lg;
	unsigned int id;

	/* Serialises run, GETREGS and SETREGS on this vCPU. */
	struct mutex run_lock;
	/* The thread that runs this vCPU (the first to run it). */
	struct task_struct *tsk;

	struct lguest_hw_regs regs;
	u64 fsbase, gsbase;
	u64 cr2;		/* at the last exit */
	u64 ts;			/* X86_CR0_TS if the guest asked */
	u32 pkru;
	struct fpu_guest fpu;

	/* copy_in_guest_info(): which pages we last ran on, what changed. */
	struct lguest_pages *last_pages;
	unsigned int changed;

	/* map_switcher_in_guest(): our top-level table and its switcher PTE. */
	u64 *root;
	u64 *switcher_pte;
	struct lguest_pages *mapped_pages;

	/* The guest's trap table and trap stack (hypercalls set them). */
	struct lg_idt_entry idt[256];
	u64 trap_stack;

	/* The shared page (guest-physical), 0 until LHCALL_INIT. */
	u64 data_gpa;
	unsigned int next_hcall;

	/* Virtual interrupts: set from any context, delivered by the vCPU. */
	DECLARE_BITMAP(irqs_pending, 256);
	struct hrtimer timer;
	bool halted;

	/* An exit for the launcher, filled by a hypercall (NOTIFY). */
	bool exit_pending;
	struct lguest_exit exit;

	struct lguest_vcpu_stats stats;
};

struct lguest {
	/* Unique among live guests; reported by LHREQ_INFO. */
	u32 id;
	/* Serialises requests that change the guest as a whole. */
	struct mutex lock;

	/* Guest memory: guest-physical 0 is launcher address mem_base. */
	unsigned long mem_base;
	unsigned long mem_size;
	struct page **mem_pages;	/* pinned, mem_size / PAGE_SIZE */

	/* The page-table pages the guest map uses, freed together. */
	struct list_head table_pages;
	u64 *low_table;			/* shared below the top level */

	unsigned int nr_cpus;
	struct lg_cpu *cpus[LGUEST_MAX_VCPUS];

	/* Once dead, every run returns this; the first reason is kept. */
	bool dead;
	u32 dead_reason;		/* LGUEST_EXIT_SHUTDOWN or _KILLED */
	u64 shutdown_code;
	u64 shutdown_status;
	char dead_msg[LGUEST_MSG_LEN];
	/* Guards the four fields above: any vCPU may kill the guest. */
	spinlock_t dead_lock;
};

/* vcpu/lguest_user.c: the /dev/lguest character device. */
int lguest_device_init(void);
void lguest_device_remove(void);

/* vcpu/core.c: the life of a guest. */
extern atomic_long_t lguest_pinned_pages;	/* all guests, for LHREQ_INFO */
extern atomic_long_t lguest_table_pages;
int lguest_initialize(struct lguest *lg, const struct lguest_req_init *req);
void lguest_free(struct lguest *lg);
__printf(2, 3) void kill_guest(struct lg_cpu *cpu, const char *fmt, ...);
bool lguest_guest_range_ok(struct lguest *lg, u64 gpa, u64 len);
void __user *lguest_gpa_to_user(struct lguest *lg, u64 gpa);

/* vcpu/run.c: running a vCPU, virtual interrupts. */
int lguest_run(struct lg_cpu *cpu, struct lguest_exit *exit);
void lguest_set_irq(struct lg_cpu *cpu, unsigned int vector);
void lguest_vcpu_init_timer(struct lg_cpu *cpu);
u64 lguest_sanitize_rflags(u64 rflags);

/* vcpu/traps.c: what a trap out of the guest means. */
void lguest_arch_handle_trap(struct lg_cpu *cpu);
bool lguest_deliver_trap(struct lg_cpu *cpu, unsigned int vector);
bool lguest_deliver_interrupt(struct lg_cpu *cpu);

/* vcpu/hypercalls.c */
void lguest_do_hypercall(struct lg_cpu *cpu);

/* switcher/switcher.c: the world switch itself. */
int lguest_switcher_init(void);
void lguest_switcher_exit(void);
void run_guest_once(struct lg_cpu *cpu);
unsigned long lguest_syscall_entry(void);
void lguest_switcher_ranges(unsigned long *text, unsigned long *text_end,
			    unsigned long *data, unsigned long *data_end);
void lguest_switcher_forget(struct lg_cpu *cpu);

/* pgtable/guest_map.c: the guest's page tables. */
int lguest_map_guest_memory(struct lguest *lg);
int lguest_build_vcpu_root(struct lg_cpu *cpu);
void map_switcher_in_guest(struct lg_cpu *cpu, struct lguest_pages *pages);
void lguest_free_tables(struct lguest *lg);

/* sched/hoststate.c: host state around the guest. */
void lguest_host_state_enter(struct lg_cpu *cpu);
void lguest_host_state_leave(struct lg_cpu *cpu);

#endif /* _LG_H */
