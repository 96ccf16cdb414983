// SPDX-License-Identifier: GPL-2.0
/*
 * switch_bench: what a world switch costs, in instructions.
 *
 * Run under QEMU with -icount shift=0 (tools/bench does), where one guest
 * instruction is one virtual nanosecond: CLOCK_MONOTONIC then counts
 * instructions, the one stable figure TCG can give.  Every row is measured
 * beside a native getppid() round trip in the same VM, and reported as a
 * ratio to it.  The numbers say nothing about time on real hardware.
 *
 * Rows:
 *   native getppid()            a system call round trip of the host
 *   null hypercall (syscall)    guest -> host kernel -> guest, LSTAR path
 *   null hypercall (int 0x1f)   the same through an interrupt gate
 *   exit to launcher            guest -> launcher (pread returns) -> guest
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lg_test.h"

static uint64_t iterations;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void guest_null_syscall(void)
{
	uint64_t i;

	GUEST_SYNC(0);
	for (i = 0; i < iterations; i++)
		hcall0(LHCALL_SEND_INTERRUPTS);
	GUEST_SYNC(1);
}

static void guest_null_int(void)
{
	uint64_t i;

	GUEST_SYNC(0);
	for (i = 0; i < iterations; i++)
		hcall_int(LHCALL_SEND_INTERRUPTS, 0);
	GUEST_SYNC(1);
}

static void guest_exits(void)
{
	uint64_t i;

	for (i = 0;; i++)
		GUEST_SYNC(i);
}

static struct lg_test_vm *start(void (*fn)(void), uint64_t n)
{
	struct lg_test_vm *t = lg_test_vm_create(fn);

	if (!t)
		exit(1);
	*(uint64_t *)lg_test_hva(t, &iterations) = n;
	return t;
}

static void must(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "switch_bench: %s failed\n", what);
		exit(1);
	}
}

/* Guest loops @n calls between two SYNCs; per call, in ns. */
static double bench_guest_loop(void (*fn)(void), uint64_t n, uint64_t *entries)
{
	struct lguest_vcpu_stats a, b;
	struct lg_test_vm *t = start(fn, n);
	uint64_t v, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC, "warm-up run");
	must(!lg_vm_stats(&t->vm, 0, &a), "stats");
	t0 = now_ns();
	must(lg_test_run(t, &v, NULL) == UCALL_SYNC && v == 1, "timed run");
	t1 = now_ns();
	must(!lg_vm_stats(&t->vm, 0, &b), "stats");
	*entries = b.entries - a.entries;
	lg_test_vm_free(t);
	return (double)(t1 - t0) / n;
}

static double bench_exits(uint64_t n)
{
	struct lg_test_vm *t = start(guest_exits, n);
	uint64_t v, i, t0, t1;

	must(lg_test_run(t, &v, NULL) == UCALL_SYNC, "warm-up run");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		lg_test_run(t, &v, NULL);
	t1 = now_ns();
	lg_test_vm_free(t);
	return (double)(t1 - t0) / n;
}

static double bench_getppid(uint64_t n)
{
	uint64_t i, t0, t1;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	return (double)(t1 - t0) / n;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000, e1, e2;
	double native, hc, hi, ex;

	if (access("/dev/lguest", F_OK)) {
		fprintf(stderr, "switch_bench: /dev/lguest absent (lg.ko not loaded)\n");
		return 4;
	}
	native = bench_getppid(n);
	hc = bench_guest_loop(guest_null_syscall, n, &e1);
	hi = bench_guest_loop(guest_null_int, n, &e2);
	ex = bench_exits(n);

	printf("%-32s %14s %10s\n", "operation", "insns/op", "x getppid");
	printf("%-32s %14.0f %10.2f\n", "native getppid()", native, 1.0);
	printf("%-32s %14.0f %10.2f\n", "null hypercall (syscall)", hc, hc / native);
	printf("%-32s %14.0f %10.2f\n", "null hypercall (int 0x1f)", hi, hi / native);
	printf("%-32s %14.0f %10.2f\n", "exit to launcher round trip", ex, ex / native);
	printf("# world switches per hypercall: syscall %.3f, int %.3f\n",
	       (double)e1 / n, (double)e2 / n);
	printf("BENCH_JSON {\"iterations\": %llu, \"unit\": \"instructions (icount shift=0)\", "
	       "\"native_getppid\": %.0f, \"hypercall_syscall\": %.0f, "
	       "\"hypercall_int\": %.0f, \"exit_to_launcher\": %.0f}\n",
	       (unsigned long long)n, native, hc, hi, ex);
	return 0;
}
