/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of lguest: what a paravirtual guest kernel written against
 * this repository's runtime (guest/lib) can call.  Freestanding: no libc.
 *
 * The guest kernel runs at CPL3.  It starts with paging off (guest-virtual
 * = guest-physical) and may build page tables of its own (paging.c), run
 * user tasks in address spaces of their own (task.c), and find its vCPU's
 * shared page at LGUEST_DATA_VA.  Its interrupt flag is virtual
 * (irq_enabled there); traps and interrupts arrive through handlers
 * registered with guest_set_handler().
 */
#ifndef LGUEST_GUEST_H
#define LGUEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/lguest.h>

/* What a trap handler sees: general registers, then the hardware frame. */
struct guest_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct guest_regs *regs);

/* vCPU 0's shared page, registered by guest_init(). */
extern struct lguest_data guest_data;

/* The running vCPU's shared page, as the guest kernel sees it. */
#define guest_vcpu	((volatile struct lguest_data *)LGUEST_DATA_VA)

/* How the runtime uses each vCPU's lguest_data.scratch[] (entry.S too). */
#define GUEST_SCRATCH_USER_RSP	0	/* a user's RSP, during syscall entry */
#define GUEST_SCRATCH_KSTACK	1	/* this vCPU's kernel stack top */
#define GUEST_SCRATCH_ASYNC	2	/* next slot of the hypercall ring */
#define GUEST_SCRATCH_CURRENT	3	/* the task running here (task.c) */
#define GUEST_SCRATCH_USER_RAX	4	/* a user's RAX, during syscall entry */

/* What guest_trap() gets for a user syscall (entry.S builds a trap frame). */
#define GUEST_SYSCALL_VECTOR	0x100

/*
 * A hypercall by @insn, `syscall` or the gate's `int $0x1f`: the same
 * registers either way (rcx and r11 are lost to syscall; the gate keeps
 * them, but a caller may not count on that).
 */
#define DEFINE_HCALL(name, insn)						\
static inline long name(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,	\
			uint64_t a3)						\
{										\
	register uint64_t r10 asm("r10") = a3;					\
	long ret;								\
										\
	asm volatile(insn							\
		     : "=a"(ret)						\
		     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)		\
		     : "rcx", "r11", "memory");					\
	return ret;								\
}

DEFINE_HCALL(hcall, "syscall")
/* Every argument through the interrupt gate (fuzz_test). */
DEFINE_HCALL(hcall_gate, "int $0x1f")

/* The same call through the interrupt gate (for comparison). */
static inline long hcall_int(uint64_t nr, uint64_t a0)
{
	long ret;

	asm volatile("int $0x1f" : "=a"(ret) : "a"(nr), "D"(a0) : "memory");
	return ret;
}

#define hcall0(nr)		hcall(nr, 0, 0, 0, 0)
#define hcall1(nr, a)		hcall(nr, (uint64_t)(a), 0, 0, 0)
#define hcall2(nr, a, b)	hcall(nr, (uint64_t)(a), (uint64_t)(b), 0, 0)
#define hcall3(nr, a, b, c)	hcall(nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0)

/* Runtime: guest/lib/runtime.c. */
void guest_init(void);
void guest_set_handler(unsigned int vector, guest_handler_t fn);
void guest_set_handler_on_stack(unsigned int vector, guest_handler_t fn);
void guest_set_handler_async(unsigned int vector, guest_handler_t fn);
void guest_irq_disable(void);
void guest_irq_enable(void);
int guest_irqs_enabled(void);
void guest_halt(void);

/*
 * Sleep until @cond holds, woken by interrupts, and return with interrupts
 * on.  `while (!cond) guest_halt();` is racy: an interrupt taken between
 * the test and the halt makes @cond true and the halt then sleeps with
 * nothing pending.  Here @cond is tested with interrupts off; one that
 * arrives stays pending, and HALT returns at once for a pending interrupt
 * whatever the virtual IF.
 */
#define guest_halt_until(cond)						\
	do {								\
		guest_irq_disable();					\
		while (!(cond)) {					\
			hcall0(LHCALL_HALT);				\
			guest_irq_enable();				\
			guest_irq_disable();				\
		}							\
		guest_irq_enable();					\
	} while (0)
void guest_set_timer(uint64_t ns);
void guest_async_hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
void guest_flush_async(void);
void guest_notify(uint64_t a0, uint64_t a1, uint64_t a2);
__attribute__((noreturn)) void guest_shutdown(int how, const char *msg);
__attribute__((noreturn)) void guest_poweroff(int status, const char *msg);

/*
 * SMP (smp.c).  vCPU 0 starts the others: each registers a shared page of
 * its own, takes on every handler registered so far (guest_load_handlers()),
 * calls @fn with its number on a stack of its own, and then idles with
 * interrupts on.  Handlers registered later apply to the vCPU that
 * registers them.
 */
#define GUEST_MAX_CPUS	LGUEST_MAX_VCPUS
int guest_start_vcpu(unsigned int cpu, void (*fn)(unsigned int cpu));
long guest_send_ipi(uint64_t mask, unsigned int vector);
void guest_load_handlers(void);

static inline unsigned int guest_cpu(void)
{
	return guest_vcpu->vcpu_id;
}

static inline unsigned int guest_nr_cpus(void)
{
	return guest_vcpu->nr_vcpus;
}

/* A spinlock for the guest kernel (interrupts are the caller's business). */
typedef struct {
	volatile uint32_t locked;
} guest_spinlock_t;

static inline void guest_spin_lock(guest_spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			asm volatile("pause" ::: "memory");
}

static inline void guest_spin_unlock(guest_spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* The syscall handler: called with the user's registers, rax = number. */
void guest_set_syscall_handler(guest_handler_t fn);
/* A handler user mode may raise with int $vector (LG_IDT_USER). */
void guest_set_user_handler(unsigned int vector, guest_handler_t fn);

/* Console (LGUEST_NOTIFY_CONSOLE). */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *guest_memset(void *s, int c, size_t n);
void *guest_memcpy(void *d, const void *s, size_t n);
size_t guest_strlen(const char *s);

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Paging (paging.c).  Page-table entries are x86-64's; physical pages come
 * from a pool the kernel hands over; the kernel reaches every physical page
 * at the same virtual address (its identity map, which every address space
 * shares), so a physical address is also a pointer.
 */
#define PTE_P		0x001ULL
#define PTE_RW		0x002ULL
#define PTE_US		0x004ULL
#define PTE_A		0x020ULL
#define PTE_D		0x040ULL
#define PTE_PS		0x080ULL
#define PTE_COW		0x200ULL	/* software: copy on write */
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL
#define GUEST_PAGE_SIZE	4096ULL

void guest_pages_init(uint64_t start, uint64_t end);
uint64_t guest_page_alloc(void);	/* zeroed; 0 when none is left */
void guest_page_get(uint64_t pa);	/* one more user of a page */
void guest_page_put(uint64_t pa);	/* freed when the last user goes */
unsigned int guest_page_refs(uint64_t pa);
uint64_t guest_pages_free(void);

/* The entry for @va at @level (1: 4K, 2: 2M, 3: 1G), allocating tables. */
uint64_t *pt_entry(uint64_t root, uint64_t va, unsigned int level, int alloc);
int pt_map(uint64_t root, uint64_t va, uint64_t pa, uint64_t flags);
int pt_map_huge(uint64_t root, uint64_t va, uint64_t pa, uint64_t flags,
		unsigned int level);
/* The leaf mapping @va (any size) and its level, or NULL. */
uint64_t *pt_leaf(uint64_t root, uint64_t va, unsigned int *level);
uint64_t pt_translate(uint64_t root, uint64_t va);	/* ~0 if unmapped */

/*
 * The kernel's address space: guest memory identity-mapped, kernel-only,
 * with the image's code [text, text_end) also open to user mode (read and
 * execute) so user tasks can run functions of the image.  Returns its root;
 * guest_load_pgtable() switches to it.
 */
uint64_t guest_paging_init(uint64_t mem_size, uint64_t text, uint64_t text_end);
extern uint64_t guest_kernel_root;
void guest_load_pgtable(uint64_t root);
void guest_invlpg(uint64_t va, uint64_t len, uint64_t flags);
void guest_flush_tlb(uint64_t root);

/*
 * Tasks (task.c): user programs in address spaces of their own, with the
 * kernel's mappings shared (PML4 slot 0) and their own memory from
 * GUEST_USER_BASE (slot 1).  System calls follow Linux's numbers.
 */
#define GUEST_USER_BASE		0x0000008000000000ULL
#define GUEST_USER_STACK	(GUEST_USER_BASE + 0x100000)	/* grows down */
#define GUEST_USER_MMAP		(GUEST_USER_BASE + 0x10000000)
#define GUEST_MAX_TASKS		64

#define GUEST_SYS_write	1
#define GUEST_SYS_mmap	9
#define GUEST_SYS_sched_yield	24
#define GUEST_SYS_getpid	39
#define GUEST_SYS_fork	57
#define GUEST_SYS_exit	60
#define GUEST_SYS_wait4	61

struct guest_task {
	int pid;
	int state;		/* TASK_* */
	long exit_code;		/* or -vector if a trap killed it */
	uint64_t fault_addr;	/* cr2 of a fatal #PF */
	uint64_t fault_error;
	uint64_t root;
	uint64_t mmap_next;
	struct guest_regs regs;
};

enum { TASK_FREE, TASK_RUNNABLE, TASK_ZOMBIE };

extern struct guest_task guest_tasks[GUEST_MAX_TASKS];

/* Set up syscalls and user traps; the kernel stack is this vCPU's. */
void guest_tasks_init(void);
/* A new task running fn(arg) in user mode; its pid, or -1. */
int guest_task_spawn(void (*fn)(uint64_t), uint64_t arg);
/* The task with @pid (running, or exited and not yet waited for), or NULL. */
struct guest_task *guest_task_find(int pid);
/* From a handler of a trap taken in user mode: that task exits with @code. */
void guest_task_kill_current(struct guest_regs *r, long code);
/* Run this vCPU's tasks until all have exited; 0 if there were none. */
int guest_tasks_run(void);
/* Bytes user tasks wrote with GUEST_SYS_write, for checks. */
extern char guest_task_output[4096];
extern unsigned int guest_task_output_len;
/* Counts, for tests: user page faults fixed by copy-on-write. */
extern uint64_t guest_cow_faults;

#endif /* LGUEST_GUEST_H */
