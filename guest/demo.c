// SPDX-License-Identifier: GPL-2.0
/*
 * The demo guest (`make run`): greets, takes timer interrupts for a second
 * at 100 Hz, reports what it measured and powers off.
 */
#include "lguest_guest.h"

#define TICK_NS		(10 * 1000 * 1000ULL)
#define TICKS		100

static volatile uint64_t ticks;

static void timer_tick(struct guest_regs *regs)
{
	(void)regs;
	ticks++;
	if (ticks < TICKS)
		guest_set_timer(TICK_NS);
}

long guest_main(void);
long guest_main(void)
{
	uint64_t t0, t1;

	guest_printf("Hello from an lguest guest: CPL3, no VT-x, TSC at %llu kHz\n",
		     (unsigned long long)guest_data.tsc_khz);

	guest_set_handler(LGUEST_TIMER_VECTOR, timer_tick);
	t0 = guest_rdtsc();
	guest_irq_enable();
	guest_set_timer(TICK_NS);
	while (ticks < TICKS)
		guest_halt();
	t1 = guest_rdtsc();

	guest_printf("took %llu timer interrupts in %llu ms; powering off\n",
		     (unsigned long long)ticks,
		     (unsigned long long)((t1 - t0) / (guest_data.tsc_khz ?: 1)));
	guest_shutdown(LGUEST_SHUTDOWN_POWEROFF, "demo finished");
}
