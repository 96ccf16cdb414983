// SPDX-License-Identifier: GPL-2.0
/*
 * Test guest: vCPU 0 spins in spin_here() for ever, counting in RBX, and
 * every other vCPU sleeps in HALT for ever: what the launcher's report on
 * SIGUSR1 (launcher/dump.c) shows of a hung guest (launcher_cli_test.sh).
 */
#include "lguest_guest.h"

long guest_main(void);

static void sleeper(unsigned int cpu)
{
	(void)cpu;
	for (;;)
		guest_halt();
}

/* Its address is what the report must show vCPU 0 at. */
void __attribute__((noinline, noreturn)) spin_here(void);
void spin_here(void)
{
	uint64_t n = 0;

	for (;;)
		asm volatile("inc %0" : "+b"(n));
}

long guest_main(void)
{
	unsigned int c;

	for (c = 1; c < guest_nr_cpus(); c++)
		guest_start_vcpu(c, sleeper);
	guest_printf("spinning on vCPU 0\n");
	spin_here();
}
