// SPDX-License-Identifier: GPL-2.0
/*
 * Secondary vCPUs.  The host starts a vCPU where LHCALL_START_VCPU says, in
 * kernel mode, in the caller's address space, with its number in RDI; the
 * rest is up to us: a stack and a shared page of its own, the handlers the
 * boot vCPU installed, and the function the caller asked for.
 */
#include "lguest_guest.h"

#define CPU_STACK	16384

/* A page each: LHCALL_INIT wants the shared page page-aligned. */
static struct cpu_page {
	struct lguest_data data;
} __attribute__((aligned(4096))) cpu_data[GUEST_MAX_CPUS];
static uint8_t cpu_stacks[GUEST_MAX_CPUS][CPU_STACK] __attribute__((aligned(16)));
static void (*start_fn[GUEST_MAX_CPUS])(unsigned int cpu);

extern char guest_secondary_entry[];

int guest_start_vcpu(unsigned int cpu, void (*fn)(unsigned int cpu))
{
	if (!cpu || cpu >= GUEST_MAX_CPUS)
		return LGUEST_HCALL_EINVAL;
	start_fn[cpu] = fn;
	return hcall(LHCALL_START_VCPU, cpu, (uint64_t)guest_secondary_entry,
		     (uint64_t)&cpu_stacks[cpu][CPU_STACK], cpu);
}

long guest_send_ipi(uint64_t mask, unsigned int vector)
{
	return hcall2(LHCALL_SEND_IPI, mask, vector);
}

/* start.S's guest_secondary_entry comes here, on the vCPU's own stack. */
void guest_secondary_main(unsigned int cpu);
void guest_secondary_main(unsigned int cpu)
{
	if (hcall1(LHCALL_INIT, &cpu_data[cpu].data) != LGUEST_HCALL_OK)
		guest_shutdown(LGUEST_SHUTDOWN_POWEROFF, "a secondary vCPU could not register its page");
	guest_vcpu->scratch[GUEST_SCRATCH_ASYNC] = 0;
	guest_load_handlers();
	if (start_fn[cpu])
		start_fn[cpu](cpu);
	/* Idle: take interrupts (IPIs) as they come. */
	guest_irq_enable();
	for (;;)
		guest_halt();
}
