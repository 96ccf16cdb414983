// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls: what the guest kernel may ask of the host.  The guest executes
 * `syscall` (LSTAR points at the switcher while it runs) with the number in
 * rax and arguments in rdi, rsi, rdx and r10; the result goes back in rax.
 *
 * Before each synchronous call we drain the asynchronous ring in the shared
 * page, in order, as lguest's lazy mode did: a guest can queue many calls
 * and pay for one world switch.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>
#include <asm/processor-flags.h>
#include "lg.h"
#include "trace.h"

#define DATA_GPA(cpu, field) \
	((cpu)->data_gpa + offsetof(struct lguest_data, field))

/* A guest address the guest may jump to: canonical, in the lower half. */
static bool guest_code_address_ok(u64 addr)
{
	return addr < TASK_SIZE_MAX;
}

static long hcall_init(struct lg_cpu *cpu, u64 gpa)
{
	struct lguest *lg = cpu->lg;
	u8 status[LHCALL_RING_SIZE];
	u64 khz = tsc_khz, now = ktime_get_real_ns();

	if (!PAGE_ALIGNED(gpa) ||
	    !lguest_guest_range_ok(lg, gpa, sizeof(struct lguest_data)))
		return LGUEST_HCALL_EINVAL;
	cpu->data_gpa = gpa;
	memset(status, LHCALL_RING_FREE, sizeof(status));
	if (copy_to_user(lguest_gpa_to_user(lg, DATA_GPA(cpu, tsc_khz)), &khz,
			 sizeof(khz)) ||
	    copy_to_user(lguest_gpa_to_user(lg, DATA_GPA(cpu, time_ns)), &now,
			 sizeof(now)) ||
	    copy_to_user(lguest_gpa_to_user(lg, DATA_GPA(cpu, hcall_status)),
			 status, sizeof(status))) {
		cpu->data_gpa = 0;
		kill_guest(cpu, "cannot write the shared data page at %#llx", gpa);
		return LGUEST_HCALL_EINVAL;
	}
	cpu->next_hcall = 0;
	return LGUEST_HCALL_OK;
}

static long hcall_shutdown(struct lg_cpu *cpu, u64 how, u64 msg_gpa, u64 len,
			   u64 status)
{
	struct lguest *lg = cpu->lg;
	char msg[LGUEST_MSG_LEN];

	if (how != LGUEST_SHUTDOWN_POWEROFF && how != LGUEST_SHUTDOWN_RESTART)
		return LGUEST_HCALL_EINVAL;
	len = min_t(u64, len, sizeof(msg) - 1);
	if (!lguest_guest_range_ok(lg, msg_gpa, len) ||
	    copy_from_user(msg, lguest_gpa_to_user(lg, msg_gpa), len)) {
		kill_guest(cpu, "bad shutdown message at %#llx", msg_gpa);
		return LGUEST_HCALL_EINVAL;
	}
	msg[len] = '\0';

	spin_lock(&lg->dead_lock);
	if (!lg->dead) {
		strscpy(lg->dead_msg, msg, sizeof(lg->dead_msg));
		lg->dead_reason = LGUEST_EXIT_SHUTDOWN;
		lg->shutdown_code = how;
		lg->shutdown_status = status & 0xff;
		WRITE_ONCE(lg->dead, true);
	}
	spin_unlock(&lg->dead_lock);
	return LGUEST_HCALL_OK;
}

static long hcall_load_idt_entry(struct lg_cpu *cpu, u64 vector, u64 handler,
				 u64 flags)
{
	if (vector > 255 || (flags & ~(u64)(LG_IDT_PRESENT | LG_IDT_STACK)))
		return LGUEST_HCALL_EINVAL;
	if ((flags & LG_IDT_PRESENT) && !guest_code_address_ok(handler))
		return LGUEST_HCALL_EINVAL;
	cpu->idt[vector].handler = handler;
	cpu->idt[vector].flags = flags;
	return LGUEST_HCALL_OK;
}

static long hcall_set_clockevent(struct lg_cpu *cpu, u64 ns)
{
	if (!ns) {
		hrtimer_try_to_cancel(&cpu->timer);
		return LGUEST_HCALL_OK;
	}
	/* A floor keeps a guest from turning the host into a timer storm. */
	ns = max_t(u64, ns, 1000);
	hrtimer_start(&cpu->timer, ns_to_ktime(ns), HRTIMER_MODE_REL);
	return LGUEST_HCALL_OK;
}

/*
 * One call, synchronous or from the ring.  @sync is false for ring calls,
 * which may not be NOTIFY or HALT: those need the vCPU to stop here.
 */
static long dispatch(struct lg_cpu *cpu, u64 nr, const u64 *a, bool sync)
{
	switch (nr) {
	case LHCALL_INIT:
		return hcall_init(cpu, a[0]);
	case LHCALL_SHUTDOWN:
		return hcall_shutdown(cpu, a[0], a[1], a[2], a[3]);
	case LHCALL_LOAD_IDT_ENTRY:
		return hcall_load_idt_entry(cpu, a[0], a[1], a[2]);
	case LHCALL_SET_STACK:
		if (!guest_code_address_ok(a[0]))
			return LGUEST_HCALL_EINVAL;
		cpu->trap_stack = a[0];
		return LGUEST_HCALL_OK;
	case LHCALL_SET_CLOCKEVENT:
		return hcall_set_clockevent(cpu, a[0]);
	case LHCALL_SEND_INTERRUPTS:
	case LHCALL_FLUSH_ASYNC:
		/* Draining the ring and delivering happen around every call. */
		return LGUEST_HCALL_OK;
	case LHCALL_TS:
		cpu->ts = a[0] ? X86_CR0_TS : 0;
		cpu->changed |= CHANGED_TS;
		return LGUEST_HCALL_OK;
	case LHCALL_HALT:
		if (!sync)
			break;
		cpu->halted = true;
		cpu->stats.halts++;
		return LGUEST_HCALL_OK;
	case LHCALL_NOTIFY:
		if (!sync)
			break;
		memset(&cpu->exit, 0, sizeof(cpu->exit));
		cpu->exit.reason = LGUEST_EXIT_NOTIFY;
		cpu->exit.vcpu = cpu->id;
		cpu->exit.args[0] = a[0];
		cpu->exit.args[1] = a[1];
		cpu->exit.args[2] = a[2];
		cpu->exit_pending = true;
		return LGUEST_HCALL_OK;
	default:
		return LGUEST_HCALL_ENOSYS;
	}
	kill_guest(cpu, "hypercall %llu cannot be queued", nr);
	return LGUEST_HCALL_EINVAL;
}

/* Run the calls the guest queued, in order, until a free slot. */
static void drain_async_ring(struct lg_cpu *cpu)
{
	struct lguest *lg = cpu->lg;
	struct lguest_hcall_slot slot;
	unsigned int done;
	u8 status;

	for (done = 0; done < LHCALL_RING_SIZE && !READ_ONCE(lg->dead); done++) {
		unsigned int n = cpu->next_hcall;
		u8 __user *st = lguest_gpa_to_user(lg, DATA_GPA(cpu, hcall_status[n]));

		if (get_user(status, st))
			goto bad;
		if (status != LHCALL_RING_QUEUED)
			return;
		if (copy_from_user(&slot, lguest_gpa_to_user(lg, DATA_GPA(cpu, hcalls[n])),
				   sizeof(slot)))
			goto bad;
		trace_hypercall(cpu->id, slot.nr, slot.args[0], slot.args[1], true);
		dispatch(cpu, slot.nr, slot.args, false);
		cpu->stats.async_hypercalls++;
		if (put_user(LHCALL_RING_FREE, st))
			goto bad;
		cpu->next_hcall = (n + 1) % LHCALL_RING_SIZE;
	}
	return;
bad:
	kill_guest(cpu, "cannot use the hypercall ring at %#llx", cpu->data_gpa);
}

void lguest_do_hypercall(struct lg_cpu *cpu)
{
	u64 args[4] = {
		cpu->regs.rdi, cpu->regs.rsi, cpu->regs.rdx, cpu->regs.r10,
	};

	cpu->stats.hypercalls++;
	if (cpu->data_gpa)
		drain_async_ring(cpu);
	if (READ_ONCE(cpu->lg->dead))
		return;
	trace_hypercall(cpu->id, cpu->regs.rax, args[0], args[1], false);
	cpu->regs.rax = dispatch(cpu, cpu->regs.rax, args, true);
}
