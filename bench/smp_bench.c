// SPDX-License-Identifier: GPL-2.0
/*
 * smp_bench: what several vCPUs cost, where -icount cannot go (QEMU 7.2
 * hangs bringing up a second CPU under -icount, M:013).  It runs in the
 * 4-CPU test VM under multi-threaded TCG, so its numbers are wall-clock
 * nanoseconds of an emulator whose CPUs are threads of a 2-core host:
 * only ratios to native references measured in the same run mean
 * anything, and even those only roughly.
 *
 * Rows:
 *   null hypercall throughput at 1, 2 and 4 vCPUs, and native getppid()
 *   throughput at 1, 2 and 4 threads: the scaling of each.  No guest-wide
 *   lock on the hot path means lguest should scale as native does.
 *   INVLPG with the other vCPUs halted, and with three vCPUs reading in the
 *   guest on other CPUs: the difference is the shootdown (kick and wait).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lg_test.h"

#define BENCH_VA	0x0000004000000000ULL

static uint64_t iterations;
static volatile uint64_t go, done, stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void must(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "smp_bench: %s failed\n", what);
		exit(1);
	}
}

static void hypercalls(unsigned int cpu)
{
	uint64_t i;

	(void)cpu;
	while (!go)
		asm volatile("pause");
	for (i = 0; i < iterations; i++)
		hcall0(LHCALL_SEND_INTERRUPTS);
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
}

static void guest_throughput(void)
{
	unsigned int c, n = guest_nr_cpus();

	for (c = 1; c < n; c++)
		guest_start_vcpu(c, hypercalls);
	GUEST_SYNC(0);
	go = 1;
	hypercalls(0);
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < n)
		asm volatile("pause");
	GUEST_SYNC(1);
}

static struct lg_test_vm *start(void (*fn)(void), unsigned int nr, uint64_t n)
{
	struct lg_test_vm *t = lg_test_vm_create_smp(fn, nr);

	must(t && !lg_test_start_secondaries(t), "SMP guest");
	*(uint64_t *)lg_test_hva(t, &iterations) = n;
	return t;
}

/* Hypercalls per second, all vCPUs together. */
static double guest_rate(unsigned int nr, uint64_t n)
{
	struct lg_test_vm *t = start(guest_throughput, nr, n);
	uint64_t v, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 0, "start");
	t0 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 1, "run");
	t1 = now_ns();
	lg_test_vm_free(t);
	return nr * n * 1e9 / (double)(t1 - t0);
}

static void *getppids(void *arg)
{
	uint64_t i, n = *(uint64_t *)arg;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	return NULL;
}

static double native_rate(unsigned int nr, uint64_t n)
{
	pthread_t th[4];
	uint64_t t0, t1;
	unsigned int i;

	t0 = now_ns();
	for (i = 0; i < nr; i++)
		must(!pthread_create(&th[i], NULL, getppids, &n), "thread");
	for (i = 0; i < nr; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();
	return nr * n * 1e9 / (double)(t1 - t0);
}

static void reads(unsigned int cpu)
{
	(void)cpu;
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
	while (!stop)
		(void)*(volatile uint64_t *)BENCH_VA;
}

/* vCPU 0 flips a PTE and invalidates it; @readers vCPUs read it meanwhile. */
static void guest_shootdowns(void)
{
	unsigned int c, n = guest_nr_cpus();
	uint64_t a, b, *pte, i;

	lg_test_paging_on();
	a = guest_page_alloc();
	b = guest_page_alloc();
	pt_map(guest_kernel_root, BENCH_VA, a, PTE_RW);
	pte = pt_entry(guest_kernel_root, BENCH_VA, 1, 0);
	for (c = 1; c < n; c++)
		guest_start_vcpu(c, reads);
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < n - 1)
		asm volatile("pause");
	GUEST_SYNC(0);
	for (i = 0; i < iterations; i++) {
		*pte = (i & 1 ? a : b) | PTE_P | PTE_RW;
		guest_invlpg(BENCH_VA, 4096, 0);
	}
	stop = 1;
	GUEST_SYNC(1);
}

static double shootdown_ns(unsigned int nr, uint64_t n, uint64_t *kicks)
{
	struct lg_test_vm *t = start(guest_shootdowns, nr, n);
	struct lguest_vcpu_stats st;
	uint64_t v, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 0, "start");
	t0 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 1, "run");
	t1 = now_ns();
	must(!lg_vm_stats(&t->vm, 0, &st), "stats");
	*kicks = st.shootdowns;
	lg_test_vm_free(t);
	return (double)(t1 - t0) / n;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000, k1, k4;
	double g[3], nat[3], alone, shot;
	unsigned int widths[3] = { 1, 2, 4 }, i;

	if (access("/dev/lguest", F_OK)) {
		fprintf(stderr, "smp_bench: /dev/lguest absent (lg.ko not loaded)\n");
		return 4;
	}
	for (i = 0; i < 3; i++) {
		nat[i] = native_rate(widths[i], n);
		g[i] = guest_rate(widths[i], n);
	}
	alone = shootdown_ns(1, n / 4, &k1);
	shot = shootdown_ns(4, n / 4, &k4);

	printf("# %ld CPUs, wall clock under multi-threaded TCG: compare ratios only\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-40s %12s %12s %8s\n", "throughput (ops/s)", "1", "2", "4");
	printf("%-40s %12.0f %12.0f %12.0f\n", "native getppid(), threads", nat[0], nat[1], nat[2]);
	printf("%-40s %12.0f %12.0f %12.0f\n", "null hypercall, vCPUs", g[0], g[1], g[2]);
	printf("%-40s %12.2f %12.2f %12.2f\n", "scaling, native", 1.0, nat[1] / nat[0],
	       nat[2] / nat[0]);
	printf("%-40s %12.2f %12.2f %12.2f\n", "scaling, lguest", 1.0, g[1] / g[0],
	       g[2] / g[0]);
	printf("%-40s %12.0f ns (%llu kicks)\n", "INVLPG, no other vCPU", alone,
	       (unsigned long long)k1);
	printf("%-40s %12.0f ns (%llu kicks)\n", "INVLPG, 3 vCPUs reading (shootdown)",
	       shot, (unsigned long long)k4);
	printf("%-40s %12.2f\n", "shootdown / local", shot / alone);
	printf("SMP_JSON {\"unit\": \"wall-clock ns under MTTCG\", \"native_rate\": [%.0f, %.0f, %.0f], "
	       "\"hypercall_rate\": [%.0f, %.0f, %.0f], \"invlpg_local_ns\": %.0f, "
	       "\"invlpg_shootdown_ns\": %.0f, \"shootdown_kicks\": %llu}\n",
	       nat[0], nat[1], nat[2], g[0], g[1], g[2], alone, shot,
	       (unsigned long long)k4);
	return 0;
}
