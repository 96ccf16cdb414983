// SPDX-License-Identifier: GPL-2.0
/*
 * smp_test: guests with several vCPUs, one launcher thread each.  vCPU 0
 * runs the test's guest function and starts the others (guest/lib/smp.c);
 * the host checks what the guest computed: exact counts under contention,
 * IPIs between every pair, no stale translation after a TLB shootdown,
 * correct results (and correct host state) while vCPU threads migrate, no
 * lost interrupt with more vCPUs than CPUs, and no leak when launchers die
 * at random moments.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"

#define NR_VCPUS	4
#define SPARE_VA	0x0000004000000000ULL

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)							\
	ASSERT_EQ(UCALL_SYNC, run(t, v)) {				\
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);	\
	}

static struct lg_test_vm *smp_vm(void (*fn)(void), unsigned int n)
{
	struct lg_test_vm *t = lg_test_vm_create_smp(fn, n);

	if (t && lg_test_start_secondaries(t)) {
		lg_test_vm_free(t);
		return NULL;
	}
	return t;
}

static int online_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Guest side: wait until @n vCPUs have checked in at @flag. */
static void wait_for(volatile uint64_t *flag, uint64_t n)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < n)
		asm volatile("pause");
}

/* ------------------------------------------------------------------ */

static volatile uint64_t checked_in, seen_id[NR_VCPUS], hypercalls_ok;

static void secondary_checks_in(unsigned int cpu)
{
	unsigned int i;
	uint64_t ok = 0;

	/* Same address, same address space, each vCPU's own page. */
	seen_id[cpu] = guest_vcpu->vcpu_id;
	for (i = 0; i < 2000; i++)
		ok += hcall0(LHCALL_SEND_INTERRUPTS) == LGUEST_HCALL_OK;
	ok += *(volatile uint64_t *)SPARE_VA == 0x5a5a;
	__atomic_fetch_add(&hypercalls_ok, ok, __ATOMIC_RELAXED);
	__atomic_fetch_add(&checked_in, 1, __ATOMIC_RELEASE);
}

static void guest_start_vcpus(void)
{
	uint64_t page;
	unsigned int c;

	GUEST_ASSERT(lg_test_paging_on());
	page = guest_page_alloc();
	*(uint64_t *)page = 0x5a5a;
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARE_VA, page, PTE_RW), 0);
	GUEST_ASSERT_EQ(guest_nr_cpus(), NR_VCPUS);
	GUEST_ASSERT_EQ(guest_cpu(), 0);
	for (c = 1; c < NR_VCPUS; c++)
		GUEST_ASSERT_EQ(guest_start_vcpu(c, secondary_checks_in), LGUEST_HCALL_OK);
	/* Started once only; vCPUs that do not exist cannot be started. */
	GUEST_ASSERT_EQ(guest_start_vcpu(1, secondary_checks_in), LGUEST_HCALL_EBUSY);
	GUEST_ASSERT_EQ(hcall(LHCALL_START_VCPU, 0, 0x1000, 0x2000, 0), LGUEST_HCALL_EBUSY);
	GUEST_ASSERT_EQ(hcall(LHCALL_START_VCPU, NR_VCPUS, 0x1000, 0x2000, 0),
			LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(guest_send_ipi(1ULL << NR_VCPUS, 0x40), LGUEST_HCALL_EINVAL);
	GUEST_ASSERT_EQ(guest_send_ipi(1, 0x10), LGUEST_HCALL_EINVAL);
	wait_for(&checked_in, NR_VCPUS - 1);
	for (c = 1; c < NR_VCPUS; c++)
		GUEST_ASSERT_EQ(seen_id[c], c);
	GUEST_ASSERT_EQ(hypercalls_ok, (NR_VCPUS - 1) * 2001);
	GUEST_SYNC(1);
}

static void pin_thread(pthread_t th, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % online_cpus(), &set);
	pthread_setaffinity_np(th, sizeof(set), &set);
}

/*
 * Four vCPUs in one address space on four CPUs at once: each has its own
 * top-level table, so each sees its own CPU's switcher page and its own
 * shared page at the same address, and all their hypercalls succeed.
 */
TEST(vcpus_start_and_share_an_address_space)
{
	struct lg_test_vm *t = smp_vm(guest_start_vcpus, NR_VCPUS);
	struct lguest_vcpu_stats st;
	unsigned int i;
	uint64_t v;

	ASSERT_NE(NULL, t);
	pin_thread(pthread_self(), 0);
	for (i = 0; i < t->nr_threads; i++)
		pin_thread(t->threads[i], i + 1);
	RUN_SYNC(t, &v);
	for (i = 1; i < NR_VCPUS; i++) {
		ASSERT_EQ(0, lg_vm_stats(&t->vm, i, &st));
		EXPECT_LE(2000, st.hypercalls);
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	EXPECT_EQ(0, t->secondary_failures);
	pin_thread(pthread_self(), -1 + online_cpus() + 1);
}

/* ------------------------------------------------------------------ */

#define COUNT		1000000
static guest_spinlock_t counter_lock;
static volatile uint64_t counter, atomic_counter, counters_done;

static void count_locked(unsigned int cpu)
{
	unsigned int i;

	(void)cpu;
	for (i = 0; i < COUNT; i++) {
		guest_spin_lock(&counter_lock);
		counter++;
		guest_spin_unlock(&counter_lock);
	}
	for (i = 0; i < COUNT; i++)
		__atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&counters_done, 1, __ATOMIC_RELEASE);
}

static void guest_counter(void)
{
	unsigned int c;

	for (c = 1; c < NR_VCPUS; c++)
		GUEST_ASSERT_EQ(guest_start_vcpu(c, count_locked), LGUEST_HCALL_OK);
	count_locked(0);
	wait_for(&counters_done, NR_VCPUS);
	GUEST_SYNC(counter);
	GUEST_SYNC(atomic_counter);
}

TEST(smp_counter_is_exact)
{
	struct lg_test_vm *t = smp_vm(guest_counter, NR_VCPUS);
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ((uint64_t)NR_VCPUS * COUNT, v);
	RUN_SYNC(t, &v);
	EXPECT_EQ((uint64_t)NR_VCPUS * COUNT, v);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	EXPECT_EQ(0, t->secondary_failures);
}

/* ------------------------------------------------------------------ */

#define ROUNDS		10000
#define PING		0x60	/* + the sender */
#define PONG		0xa0

static volatile uint64_t pings[NR_VCPUS][NR_VCPUS];	/* [to][from] */
static volatile uint64_t pongs[NR_VCPUS], sent[NR_VCPUS][NR_VCPUS];
static volatile uint64_t ping_done;

static void on_ping(struct guest_regs *r)
{
	unsigned int from = r->vector - PING;

	pings[guest_cpu()][from]++;
	guest_send_ipi(1ULL << from, PONG);
}

static void on_pong(struct guest_regs *r)
{
	(void)r;
	pongs[guest_cpu()]++;
}

/*
 * Each vCPU pings each other in turn and waits, halted, for the pong:
 * ROUNDS round trips in all, over the twelve ordered pairs, with every
 * vCPU at once sender and receiver.
 */
static void ping_pong(unsigned int cpu)
{
	unsigned int i, to = cpu;

	guest_irq_enable();
	for (i = 0; i < ROUNDS / NR_VCPUS; i++) {
		uint64_t want = pongs[cpu] + 1;

		to = (to + 1) % NR_VCPUS;
		if (to == cpu)
			to = (to + 1) % NR_VCPUS;
		sent[to][cpu]++;
		guest_send_ipi(1ULL << to, PING + cpu);
		while (pongs[cpu] < want)
			guest_halt();
	}
	__atomic_fetch_add(&ping_done, 1, __ATOMIC_RELEASE);
}

static void guest_ipis(void)
{
	unsigned int c, from, to;
	uint64_t total = 0;

	for (c = 0; c < NR_VCPUS; c++)
		guest_set_handler(PING + c, on_ping);
	guest_set_handler(PONG, on_pong);
	for (c = 1; c < NR_VCPUS; c++)
		GUEST_ASSERT_EQ(guest_start_vcpu(c, ping_pong), LGUEST_HCALL_OK);
	ping_pong(0);
	wait_for(&ping_done, NR_VCPUS);
	for (to = 0; to < NR_VCPUS; to++) {
		GUEST_ASSERT_EQ(pings[to][to], 0);
		for (from = 0; from < NR_VCPUS; from++) {
			GUEST_ASSERT_EQ(pings[to][from], sent[to][from]);
			total += pings[to][from];
		}
		GUEST_ASSERT_EQ(pongs[to], ROUNDS / NR_VCPUS);
	}
	GUEST_SYNC(total);
}

TEST(ipi_ping_pong_between_every_pair)
{
	struct lg_test_vm *t = smp_vm(guest_ipis, NR_VCPUS);
	struct lguest_vcpu_stats st;
	uint64_t v, sum = 0;
	unsigned int i;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ(ROUNDS, v);
	for (i = 0; i < NR_VCPUS; i++) {
		ASSERT_EQ(0, lg_vm_stats(&t->vm, i, &st));
		sum += st.ipis_sent;
	}
	/* A ping and a pong for each round. */
	EXPECT_EQ(2 * ROUNDS, sum);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	EXPECT_EQ(0, t->secondary_failures);
}

/* ------------------------------------------------------------------ */

#define REMAPS		10000
static volatile uint64_t generation, readers_in, stop_reading, stale, reads;

/*
 * Readers: the generation published, then the page mapped at SPARE_VA,
 * which must hold that generation or a later one.  A stale translation
 * would show the previous page, one generation behind.
 */
static void reader(unsigned int cpu)
{
	uint64_t n = 0, bad = 0;

	(void)cpu;
	__atomic_fetch_add(&readers_in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop_reading, __ATOMIC_ACQUIRE)) {
		uint64_t g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);

		bad += *(volatile uint64_t *)SPARE_VA < g;
		n++;
	}
	__atomic_fetch_add(&stale, bad, __ATOMIC_RELAXED);
	__atomic_fetch_add(&reads, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&readers_in, 1, __ATOMIC_RELEASE);
}

static void guest_shootdown(void)
{
	volatile uint64_t *pte;
	uint64_t page[2], g;
	unsigned int c;

	GUEST_ASSERT(lg_test_paging_on());
	page[0] = guest_page_alloc();
	page[1] = guest_page_alloc();
	*(uint64_t *)page[0] = 0;
	GUEST_ASSERT_EQ(pt_map(guest_kernel_root, SPARE_VA, page[0], PTE_RW), 0);
	pte = pt_entry(guest_kernel_root, SPARE_VA, 1, 0);
	for (c = 1; c < NR_VCPUS; c++)
		GUEST_ASSERT_EQ(guest_start_vcpu(c, reader), LGUEST_HCALL_OK);
	wait_for(&readers_in, NR_VCPUS - 1);
	for (g = 1; g <= REMAPS; g++) {
		/* The next page gets generation g, then replaces the other. */
		*(volatile uint64_t *)page[g & 1] = g;
		*pte = page[g & 1] | PTE_P | PTE_RW;
		guest_invlpg(SPARE_VA, 4096, 0);
		/* Returned: no vCPU can see the old page any more. */
		__atomic_store_n(&generation, g, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&stop_reading, 1, __ATOMIC_RELEASE);
	wait_for(&readers_in, 2 * (NR_VCPUS - 1));
	GUEST_ASSERT(reads > 0);
	GUEST_SYNC(stale);
}

TEST(tlb_shootdown_leaves_no_stale_translation)
{
	struct lg_test_vm *t = smp_vm(guest_shootdown, NR_VCPUS);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_EQ(REMAPS, st.invalidations);
	/* Readers were in the guest on other CPUs: some flushes kicked them. */
	if (online_cpus() > 1)
		EXPECT_LT(0, st.shootdowns);
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
	EXPECT_EQ(0, t->secondary_failures);
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
