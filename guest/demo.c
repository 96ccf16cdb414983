// SPDX-License-Identifier: GPL-2.0
/*
 * The demo guest (`make run`): a small SMP guest kernel.  vCPU 0 greets,
 * turns paging on and starts the other vCPUs.  Every vCPU runs two user
 * programs in address spaces of their own (one counts primes and writes
 * the result with a system call, one forks, copy-on-write, and waits for
 * its child), then the vCPUs pass an interrupt round a ring.  vCPU 0 takes
 * 100 timer interrupts at 100 Hz, prints what each vCPU did, and powers
 * off.  Run it with `launcher/lguest run --cpus N guest/demo.elf`.
 */
#include "lguest_guest.h"
#include "guest_user.h"

#define TICK_NS		(10 * 1000 * 1000ULL)
#define TICKS		100
#define RING_VECTOR	0x70
#define DONE_VECTOR	0x71
#define LAPS		10

extern char __executable_start[], __ro_end[];

static volatile uint64_t ticks, tasks_done, hops;
static volatile uint64_t received[GUEST_MAX_CPUS];
static long primes_found[GUEST_MAX_CPUS], fork_status[GUEST_MAX_CPUS];

/* User mode: count the primes below @limit, say so, exit with the count. */
static void user_primes(uint64_t limit)
{
	char buf[64];
	long n = 0, p, d, len = 0, v;
	char digits[20];
	int k;

	for (p = 2; p < (long)limit; p++) {
		for (d = 2; d * d <= p; d++)
			if (p % d == 0)
				break;
		n += d * d > p;
	}
	for (v = n, k = 0; k == 0 || v; v /= 10)
		digits[k++] = '0' + v % 10;
	buf[len++] = '(';
	buf[len++] = 'p';
	buf[len++] = 'i';
	buf[len++] = 'd';
	buf[len++] = ' ';
	buf[len++] = '0' + user_getpid() % 10;
	buf[len++] = ')';
	buf[len++] = ' ';
	while (k)
		buf[len++] = digits[--k];
	buf[len++] = '\n';
	user_write(buf, len);
	user_exit(n);
}

/* User mode: fork; the child writes to a shared page and exits with 42. */
static void user_forker(uint64_t unused)
{
	volatile long *page = user_mmap(4096);
	long child, st;

	(void)unused;
	page[0] = 1;
	child = user_fork();
	if (child == 0) {
		page[0] = 2;
		user_exit(page[0] == 2 ? 42 : 1);
	}
	while ((st = user_wait(child)) == -11)
		user_yield();
	user_exit(page[0] == 1 ? st : 2);
}

static void on_ring(struct guest_regs *r)
{
	unsigned int cpu = guest_cpu(), n = guest_nr_cpus();

	(void)r;
	received[cpu]++;
	if (__atomic_add_fetch(&hops, 1, __ATOMIC_RELAXED) < (uint64_t)n * LAPS)
		guest_send_ipi(1ULL << ((cpu + 1) % n), RING_VECTOR);
}

/* A vCPU finished its programs: waking vCPU 0 is all this is for. */
static void on_done(struct guest_regs *r)
{
	(void)r;
}

static void timer_tick(struct guest_regs *regs)
{
	(void)regs;
	ticks++;
	if (ticks < TICKS)
		guest_set_timer(TICK_NS);
}

/* What every vCPU does: its own user programs, then interrupts as they come. */
static void run_programs(unsigned int cpu)
{
	int primes, forker;

	guest_tasks_init();
	primes = guest_task_spawn(user_primes, 1000 + 1000 * cpu);
	forker = guest_task_spawn(user_forker, 0);
	guest_tasks_run();
	primes_found[cpu] = guest_task_find(primes)->exit_code;
	fork_status[cpu] = guest_task_find(forker)->exit_code;
	__atomic_fetch_add(&tasks_done, 1, __ATOMIC_RELEASE);
	if (cpu)
		guest_send_ipi(1, DONE_VECTOR);
}

long guest_main(void);
long guest_main(void)
{
	unsigned int n = guest_nr_cpus(), c;
	uint64_t t0, t1;

	guest_printf("Hello from an lguest guest: CPL3, no VT-x, %u vCPUs, TSC at %llu kHz\n",
		     n, (unsigned long long)guest_data.tsc_khz);

	guest_pages_init(16ULL << 20, 48ULL << 20);
	guest_load_pgtable(guest_paging_init(64ULL << 20, (uint64_t)__executable_start,
					     (uint64_t)__ro_end));
	guest_set_handler(RING_VECTOR, on_ring);
	guest_set_handler(LGUEST_TIMER_VECTOR, timer_tick);
	guest_set_handler(DONE_VECTOR, on_done);
	for (c = 1; c < n; c++)
		guest_start_vcpu(c, run_programs);
	run_programs(0);
	/* Halted until the others say they are done (an IPI each). */
	guest_irq_enable();
	guest_halt_until(__atomic_load_n(&tasks_done, __ATOMIC_ACQUIRE) >= n);

	guest_send_ipi(1ULL << (1 % n), RING_VECTOR);
	t0 = guest_rdtsc();
	guest_set_timer(TICK_NS);
	guest_halt_until(ticks >= TICKS && hops >= (uint64_t)n * LAPS);
	t1 = guest_rdtsc();

	guest_printf("user programs wrote:\n");
	guest_notify(LGUEST_NOTIFY_CONSOLE, (uint64_t)guest_task_output,
		     guest_task_output_len);
	for (c = 0; c < n; c++)
		guest_printf("vCPU %u: %ld primes, fork+wait gave %ld, %llu ring interrupts\n",
			     c, primes_found[c], fork_status[c],
			     (unsigned long long)received[c]);
	guest_printf("took %llu timer interrupts in %llu ms; powering off\n",
		     (unsigned long long)ticks,
		     (unsigned long long)((t1 - t0) / (guest_data.tsc_khz ?: 1)));
	guest_shutdown(LGUEST_SHUTDOWN_POWEROFF, "demo finished");
}
