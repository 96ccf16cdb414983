// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny process model, so guests can run real user programs: tasks with
 * address spaces of their own, system calls (write, mmap, yield, getpid,
 * fork with copy-on-write, wait, exit) and traps that kill the task that
 * caused them, not the kernel.
 *
 * Every entry from user mode (a system call, a trap, an interrupt) arrives
 * on this vCPU's kernel stack as a struct guest_regs; the handler saves it
 * into the current task, does its work, and leaves the registers of
 * whichever task runs next in the same frame, which entry.S then returns to
 * (LHCALL_RETURN_TO_USER).  The kernel keeps nothing on its stack across
 * user mode, so one kernel stack per vCPU is enough.  Each vCPU runs the
 * tasks spawned on it; guest_tasks_run() returns when they have all exited.
 *
 * Address spaces: PML4 slot 0 holds the kernel's identity map and the
 * image's code (user-executable), shared by every task; slot 1 holds the
 * task's own memory.  When a task's address space goes away we tell the
 * host (guest_flush_tlb()) before its root page can be reused, as a kernel
 * would flush a reused PCID.
 */
#include "lguest_guest.h"

struct guest_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
int guest_ctx_save(struct guest_ctx *c);
__attribute__((noreturn)) void guest_ctx_restore(struct guest_ctx *c);
__attribute__((noreturn)) void guest_enter_user(struct guest_regs *r);

#define KSTACK_SIZE	16384

struct guest_task guest_tasks[GUEST_MAX_TASKS];
char guest_task_output[4096];
unsigned int guest_task_output_len;
uint64_t guest_cow_faults;

static uint8_t kstacks[GUEST_MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
static struct guest_ctx main_ctx[GUEST_MAX_CPUS];
static int task_cpu[GUEST_MAX_TASKS];
static int next_pid = 1;
static volatile int tasks_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&tasks_lock, 1, __ATOMIC_ACQUIRE))
		while (tasks_lock)
			asm volatile("pause");
}

static void unlock(void)
{
	__atomic_store_n(&tasks_lock, 0, __ATOMIC_RELEASE);
}

static unsigned int this_cpu(void)
{
	return guest_cpu();
}

static struct guest_task *current(void)
{
	return (struct guest_task *)guest_vcpu->scratch[GUEST_SCRATCH_CURRENT];
}

static void set_current(struct guest_task *t)
{
	guest_vcpu->scratch[GUEST_SCRATCH_CURRENT] = (uint64_t)t;
}

/* The next runnable task of this vCPU after @after, round robin. */
static struct guest_task *pick_next(struct guest_task *after)
{
	int start = after ? (int)(after - guest_tasks) + 1 : 0, i;

	for (i = 0; i < GUEST_MAX_TASKS; i++) {
		int n = (start + i) % GUEST_MAX_TASKS;

		if (guest_tasks[n].state == TASK_RUNNABLE &&
		    task_cpu[n] == (int)this_cpu())
			return &guest_tasks[n];
	}
	return 0;
}

/*
 * Leave @frame holding whoever runs next, in that task's address space;
 * with nobody left, go back to guest_tasks_run().
 */
static void schedule(struct guest_regs *frame)
{
	struct guest_task *prev = current(), *next = pick_next(prev);

	if (!next) {
		set_current(0);
		guest_load_pgtable(guest_kernel_root);
		guest_ctx_restore(&main_ctx[this_cpu()]);
	}
	if (next != prev)
		guest_load_pgtable(next->root);
	set_current(next);
	*frame = next->regs;
}

static struct guest_task *alloc_task(void)
{
	int i;

	lock();
	for (i = 0; i < GUEST_MAX_TASKS; i++) {
		if (guest_tasks[i].state == TASK_FREE) {
			guest_memset(&guest_tasks[i], 0, sizeof(guest_tasks[i]));
			guest_tasks[i].state = TASK_ZOMBIE;	/* not runnable yet */
			guest_tasks[i].pid = next_pid++;
			task_cpu[i] = this_cpu();
			unlock();
			return &guest_tasks[i];
		}
	}
	unlock();
	return 0;
}

/* A root sharing the kernel's slot 0, nothing of its own yet. */
static uint64_t new_root(void)
{
	uint64_t root = guest_page_alloc();

	if (root)
		((uint64_t *)root)[0] = ((uint64_t *)guest_kernel_root)[0];
	return root;
}

/*
 * Every present PTE of slot 1 (the task's own memory), with its address, and
 * every table under the slot once its entries are done.  Stops, returning
 * -1, at the first leaf() that fails.
 */
struct user_walk {
	int (*leaf)(uint64_t *pte, uint64_t va, void *arg);
	void (*table)(uint64_t pa);
	void *arg;
};

static int walk_level(uint64_t *t, unsigned int level, uint64_t base,
		      const struct user_walk *w)
{
	unsigned int i;

	for (i = 0; i < 512; i++) {
		uint64_t va = base + ((uint64_t)i << (12 + 9 * (level - 1)));
		uint64_t *sub = (uint64_t *)(t[i] & PTE_ADDR);

		if (!(t[i] & PTE_P))
			continue;
		if (level == 1) {
			if (w->leaf && w->leaf(&t[i], va, w->arg))
				return -1;
			continue;
		}
		if (walk_level(sub, level - 1, va, w))
			return -1;
		if (w->table)
			w->table((uint64_t)sub);
	}
	return 0;
}

static int walk_user(uint64_t root, const struct user_walk *w)
{
	uint64_t slot = ((uint64_t *)root)[1];

	if (!(slot & PTE_P))
		return 0;
	return walk_level((uint64_t *)(slot & PTE_ADDR), 3, GUEST_USER_BASE, w);
}

static int drop_page(uint64_t *pte, uint64_t va, void *arg)
{
	(void)va;
	(void)arg;
	guest_page_put(*pte & PTE_ADDR);
	return 0;
}

/* The user pages and tables of slot 1 go back to the pool (or lose a user). */
static void free_user_space(uint64_t root)
{
	const struct user_walk w = { drop_page, guest_page_put, 0 };
	uint64_t *pml4 = (uint64_t *)root;

	if (!(pml4[1] & PTE_P))
		return;
	walk_user(root, &w);
	guest_page_put(pml4[1] & PTE_ADDR);
	pml4[1] = 0;
}

/* Share one page with the child (arg: its root), writable ones copy-on-write. */
static int share_page(uint64_t *pte, uint64_t va, void *child)
{
	if (*pte & PTE_RW)
		*pte = (*pte & ~PTE_RW) | PTE_COW;
	if (pt_map((uint64_t)child, va, *pte & PTE_ADDR, *pte & ~(PTE_ADDR | PTE_P)))
		return -1;
	guest_page_get(*pte & PTE_ADDR);
	return 0;
}

static int share_user_space(uint64_t parent, uint64_t child)
{
	const struct user_walk w = { share_page, 0, (void *)child };

	return walk_user(parent, &w);
}

static void task_exit(struct guest_task *t, long code)
{
	/* Off the dying address space before the host forgets it. */
	guest_load_pgtable(guest_kernel_root);
	free_user_space(t->root);
	guest_flush_tlb(t->root);
	guest_page_put(t->root);
	t->root = 0;
	t->exit_code = code;
	t->state = TASK_ZOMBIE;
}

/* The kernel's copy of user memory: every page must be the user's. */
static int user_range_ok(struct guest_task *t, uint64_t va, uint64_t len)
{
	uint64_t p;
	unsigned int level;

	if (va + len < va)
		return 0;
	for (p = va & ~(GUEST_PAGE_SIZE - 1); p < va + len; p += GUEST_PAGE_SIZE) {
		uint64_t *e = pt_leaf(t->root, p, &level);

		if (!e || !(*e & PTE_US))
			return 0;
	}
	return 1;
}

static long sys_write(struct guest_task *t, uint64_t buf, uint64_t len)
{
	uint64_t i;

	if (!user_range_ok(t, buf, len))
		return -14;		/* EFAULT */
	lock();
	for (i = 0; i < len && guest_task_output_len < sizeof(guest_task_output); i++)
		guest_task_output[guest_task_output_len++] =
			*(char *)pt_translate(t->root, buf + i);
	unlock();
	return (long)len;
}

static long sys_mmap(struct guest_task *t, uint64_t len)
{
	uint64_t start, va;

	if (!t->mmap_next)
		t->mmap_next = GUEST_USER_MMAP;
	start = t->mmap_next;
	len = (len + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
	for (va = start; va < start + len; va += GUEST_PAGE_SIZE) {
		uint64_t pa = guest_page_alloc();

		if (!pa || pt_map(t->root, va, pa, PTE_US | PTE_RW | PTE_NX))
			return -12;	/* ENOMEM */
	}
	t->mmap_next = start + len;
	return (long)start;
}

static long sys_fork(struct guest_task *t)
{
	struct guest_task *child = alloc_task();

	if (!child)
		return -11;		/* EAGAIN */
	child->root = new_root();
	if (!child->root || share_user_space(t->root, child->root)) {
		child->state = TASK_FREE;
		return -12;
	}
	/* The parent's writable pages just became read-only: tell the host. */
	guest_invlpg(GUEST_USER_BASE, 1ULL << 39, 0);
	child->regs = t->regs;
	child->regs.rax = 0;
	child->mmap_next = t->mmap_next;
	child->state = TASK_RUNNABLE;
	return child->pid;
}

static long sys_wait(int pid)
{
	int i;

	for (i = 0; i < GUEST_MAX_TASKS; i++) {
		struct guest_task *c = &guest_tasks[i];

		if (c->pid != pid || c->state == TASK_FREE)
			continue;
		if (c->state != TASK_ZOMBIE || c->root)
			return -11;	/* still running: try again */
		c->state = TASK_FREE;
		return c->exit_code;
	}
	return -10;			/* ECHILD */
}

static void syscall_handler(struct guest_regs *r)
{
	struct guest_task *t = current();
	long ret;

	t->regs = *r;
	switch (r->rax) {
	case GUEST_SYS_getpid:
		ret = t->pid;
		break;
	case GUEST_SYS_write:
		ret = sys_write(t, r->rsi, r->rdx);
		break;
	case GUEST_SYS_mmap:
		ret = sys_mmap(t, r->rsi);
		break;
	case GUEST_SYS_fork:
		ret = sys_fork(t);
		break;
	case GUEST_SYS_wait4:
		ret = sys_wait((int)r->rdi);
		break;
	case GUEST_SYS_sched_yield:
		t->regs.rax = 0;
		schedule(r);
		return;
	case GUEST_SYS_exit:
		task_exit(t, (long)r->rdi);
		schedule(r);
		return;
	default:
		ret = -38;		/* ENOSYS */
		break;
	}
	r->rax = (uint64_t)ret;
}

/* Copy-on-write: the write fault of a page fork shared. */
static int cow_fault(struct guest_task *t, uint64_t va)
{
	unsigned int level;
	uint64_t *e = pt_leaf(t->root, va, &level), pa, np;

	if (!e || level != 1 || !(*e & PTE_COW))
		return 0;
	pa = *e & PTE_ADDR;
	if (guest_page_refs(pa) > 1) {
		np = guest_page_alloc();
		if (!np)
			return 0;
		guest_memcpy((void *)np, (void *)pa, GUEST_PAGE_SIZE);
		guest_page_put(pa);
		*e = np | (*e & ~(PTE_ADDR | PTE_COW)) | PTE_RW;
	} else {
		*e = (*e & ~PTE_COW) | PTE_RW;
	}
	guest_invlpg(va & ~(GUEST_PAGE_SIZE - 1), GUEST_PAGE_SIZE, 0);
	__atomic_fetch_add(&guest_cow_faults, 1, __ATOMIC_RELAXED);
	return 1;
}

/* A trap from user mode that is not a copy-on-write fault kills the task. */
static void user_trap(struct guest_regs *r)
{
	struct guest_task *t = current();

	if (r->cs != LGUEST_USER_CS || !t) {
		char msg[96];

		guest_snprintf(msg, sizeof(msg), "kernel trap %llu at %#llx, error %#llx",
			       (unsigned long long)r->vector,
			       (unsigned long long)r->rip,
			       (unsigned long long)r->error_code);
		guest_shutdown(LGUEST_SHUTDOWN_POWEROFF, msg);
	}
	t->regs = *r;
	if (r->vector == 14) {
		t->fault_addr = guest_vcpu->cr2;
		t->fault_error = r->error_code;
		if ((r->error_code & 3) == 3 && cow_fault(t, t->fault_addr))
			return;
	}
	task_exit(t, -(long)r->vector);
	schedule(r);
}

struct guest_task *guest_task_find(int pid)
{
	int i;

	for (i = 0; i < GUEST_MAX_TASKS; i++)
		if (guest_tasks[i].pid == pid && guest_tasks[i].state != TASK_FREE)
			return &guest_tasks[i];
	return 0;
}

/* From a handler of a trap or interrupt taken in user mode. */
void guest_task_kill_current(struct guest_regs *r, long code)
{
	struct guest_task *t = current();

	t->regs = *r;
	task_exit(t, code);
	schedule(r);
}

void guest_tasks_init(void)
{
	unsigned int v, cpu = this_cpu();
	uint64_t top = (uint64_t)&kstacks[cpu][KSTACK_SIZE];

	guest_vcpu->scratch[GUEST_SCRATCH_KSTACK] = top;
	hcall2(LHCALL_SET_STACK, top, LG_STACK_KERNEL);
	guest_set_syscall_handler(syscall_handler);
	guest_set_user_handler(0x80, syscall_handler);
	for (v = 0; v < 32; v++)
		if (v != 2 && v != 8 && v != 18)
			guest_set_handler(v, user_trap);
}

int guest_task_spawn(void (*fn)(uint64_t), uint64_t arg)
{
	struct guest_task *t = alloc_task();
	uint64_t va, pa;

	if (!t)
		return -1;
	t->root = new_root();
	if (!t->root)
		goto fail;
	for (va = GUEST_USER_STACK - 4 * GUEST_PAGE_SIZE; va < GUEST_USER_STACK; va += GUEST_PAGE_SIZE) {
		pa = guest_page_alloc();
		if (!pa || pt_map(t->root, va, pa, PTE_US | PTE_RW | PTE_NX))
			goto fail;
	}
	t->regs.rip = (uint64_t)fn;
	t->regs.rdi = arg;
	t->regs.rsp = GUEST_USER_STACK - 8;	/* as if called */
	t->regs.rflags = 0x202;
	t->regs.cs = LGUEST_USER_CS;
	t->regs.ss = LGUEST_USER_SS;
	t->state = TASK_RUNNABLE;
	return t->pid;
fail:
	t->state = TASK_FREE;
	return -1;
}

int guest_tasks_run(void)
{
	unsigned int cpu = this_cpu();
	struct guest_task *first;
	int was = guest_irqs_enabled();

	if (guest_ctx_save(&main_ctx[cpu]) == 0) {
		first = pick_next(0);
		if (!first)
			return 0;
		set_current(first);
		guest_load_pgtable(first->root);
		guest_enter_user(&first->regs);
	}
	/* Every task of this vCPU has exited: schedule() brought us here. */
	if (was)
		guest_irq_enable();
	return 1;
}
