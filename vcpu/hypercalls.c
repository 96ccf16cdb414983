// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls: what the guest kernel may ask of the host.  The guest executes
 * `syscall` (LSTAR points at the switcher while it runs) with the number in
 * rax and arguments in rdi, rsi, rdx and r10; the result goes back in rax.
 * Pointers are guest-physical.  Guest user mode cannot make hypercalls: its
 * `syscall` goes to the guest kernel (traps.c).
 *
 * Before each synchronous call we drain the asynchronous ring in the shared
 * page, in order, as lguest's lazy mode did: a guest can queue many calls
 * (page-table invalidations, say) and pay for one world switch.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>
#include <asm/irq_vectors.h>
#include <asm/processor-flags.h>
#include "lg.h"
#include "trace.h"
#include "fastpath.h"

/* The shared page: unmapped from the switcher, unpinned. */
void lguest_release_data_page(struct lg_cpu *cpu)
{
	if (!cpu->data_page)
		return;
	lguest_map_data_page(cpu, NULL);
	unpin_user_page(cpu->data_page);
	lguest_account_pins(cpu->lg, -1);
	cpu->data_page = NULL;
	cpu->data = NULL;
	cpu->data_gpa = 0;
}

/*
 * LHCALL_INIT: the guest's shared page.  We keep it pinned and reach it
 * through the kernel's own mapping (and the switcher through LG_DATA_VA),
 * so interrupt delivery never faults on it.  The guest may still change it
 * at any moment: every field is read once, with READ_ONCE().
 */
static long hcall_init(struct lg_cpu *cpu, u64 gpa)
{
	struct lguest *lg = cpu->lg;
	struct lguest_data *data;
	struct page *page;

	if (!PAGE_ALIGNED(gpa) || !lguest_guest_range_ok(lg, gpa, PAGE_SIZE))
		return LGUEST_HCALL_EINVAL;
	if (lguest_pin_kept(lg, gpa, &page)) {
		kill_guest(cpu, "cannot use the shared page at gpa %#llx", gpa);
		return LGUEST_HCALL_EINVAL;
	}
	lguest_release_data_page(cpu);
	lguest_account_pins(lg, 1);
	cpu->data_page = page;
	cpu->data_gpa = gpa;
	data = page_address(page);
	WRITE_ONCE(data->tsc_khz, tsc_khz);
	WRITE_ONCE(data->time_ns, ktime_get_real_ns());
	memset(data->reserved_slots, 0, sizeof(data->reserved_slots));
	lguest_reserved_slots(data->reserved_slots);
	memset(data->hcall_status, LHCALL_RING_FREE, sizeof(data->hcall_status));
	WRITE_ONCE(data->vcpu_id, cpu->id);
	WRITE_ONCE(data->nr_vcpus, lg->nr_cpus);
	WRITE_ONCE(data->host_mitigations, lguest_mitigations());
	lguest_map_data_page(cpu, page);
	cpu->next_hcall = 0;
	cpu->data = data;
	return LGUEST_HCALL_OK;
}

/*
 * The guest ends itself: @how is an LGUEST_SHUTDOWN_* reason, @status what
 * the launcher exits with.  Like kill_guest(), the first end is the one
 * every vCPU reports.
 */
void lguest_shutdown(struct lguest *lg, u64 how, u64 status, const char *msg)
{
	spin_lock(&lg->dead_lock);
	if (!lg->dead) {
		strscpy(lg->dead_msg, msg, sizeof(lg->dead_msg));
		lg->dead_reason = LGUEST_EXIT_SHUTDOWN;
		lg->shutdown_code = how;
		lg->shutdown_status = status & 0xff;
		WRITE_ONCE(lg->dead, true);
	}
	spin_unlock(&lg->dead_lock);
	lguest_wake_all(lg);
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
	lguest_shutdown(lg, how, status, msg);
	return LGUEST_HCALL_OK;
}

static long hcall_load_idt_entry(struct lg_cpu *cpu, u64 vector, u64 handler,
				 u64 flags)
{
	const u64 known = LG_IDT_PRESENT | LG_IDT_STACK | LG_IDT_USER;

	if (vector > 255 || (flags & ~known))
		return LGUEST_HCALL_EINVAL;
	if ((flags & LG_IDT_PRESENT) && !lguest_canonical(handler))
		return LGUEST_HCALL_EINVAL;
	cpu->idt[vector].handler = handler;
	cpu->idt[vector].flags = flags;
	return LGUEST_HCALL_OK;
}

static long hcall_set_stack(struct lg_cpu *cpu, u64 rsp, u64 which)
{
	if (!lguest_canonical(rsp))
		return LGUEST_HCALL_EINVAL;
	switch (which) {
	case LG_STACK_KERNEL:
		cpu->kernel_stack = rsp;
		return LGUEST_HCALL_OK;
	case LG_STACK_IST:
		cpu->ist_stack = rsp;
		return LGUEST_HCALL_OK;
	}
	return LGUEST_HCALL_EINVAL;
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

static long hcall_set_syscall(struct lg_cpu *cpu, u64 entry)
{
	if (!lguest_canonical(entry))
		return LGUEST_HCALL_EINVAL;
	cpu->syscall_entry = entry;
	cpu->changed |= CHANGED_ENTRY;
	return LGUEST_HCALL_OK;
}

/*
 * LHCALL_RETURN_TO_USER, when the switcher could not do it alone: the user
 * frame comes from the shared page, read once into our own copy.  A frame
 * no CPU could iretq to kills the guest.
 */
static void hcall_return_to_user(struct lg_cpu *cpu)
{
	struct lguest_user_frame u;

	if (!cpu->data) {
		cpu->regs.rax = LGUEST_HCALL_EINVAL;
		return;
	}
	u.rip = READ_ONCE(cpu->data->user.rip);
	u.rsp = READ_ONCE(cpu->data->user.rsp);
	u.rflags = READ_ONCE(cpu->data->user.rflags);
	u.rax = READ_ONCE(cpu->data->user.rax);
	u.rcx = READ_ONCE(cpu->data->user.rcx);
	u.r11 = READ_ONCE(cpu->data->user.r11);
	if (!lguest_canonical(u.rip) || !lguest_canonical(u.rsp)) {
		kill_guest(cpu, "it returned to user mode at rip %#llx, rsp %#llx",
			   u.rip, u.rsp);
		return;
	}
	if (lguest_need_user_root(cpu)) {
		kill_guest(cpu, "out of memory for shadow page tables");
		return;
	}
	cpu->regs.rip = u.rip;
	cpu->regs.rsp = u.rsp;
	cpu->regs.cs = __USER_CS;
	cpu->regs.ss = __USER_DS;
	cpu->regs.rflags = lguest_sanitize_rflags(u.rflags);
	cpu->regs.rax = u.rax;
	cpu->regs.rcx = u.rcx;
	cpu->regs.r11 = u.r11;
	cpu->mode = LG_MODE_USER;
	cpu->stats.user_returns++;
}

/*
 * LHCALL_START_VCPU: bring a stopped vCPU to life at @rip with @rsp and
 * @arg in RDI, in kernel mode, in the caller's address space.  Its thread
 * may be waiting in its run request already, or arrive later.
 */
static long hcall_start_vcpu(struct lg_cpu *cpu, u64 id, u64 rip, u64 rsp,
			     u64 arg)
{
	struct lguest *lg = cpu->lg;
	struct lg_cpu *t;

	if (id >= lg->nr_cpus || !lguest_canonical(rip) || !lguest_canonical(rsp))
		return LGUEST_HCALL_EINVAL;
	t = lg->cpus[array_index_nospec(id, lg->nr_cpus)];
	if (!lguest_vcpu_claim(t))
		return LGUEST_HCALL_EBUSY;
	if (lguest_share_pgdir(cpu, t)) {
		lguest_vcpu_unclaim(t);
		kill_guest(cpu, "out of memory for shadow page tables");
		return LGUEST_HCALL_EINVAL;
	}
	t->regs.rip = rip;
	t->regs.rsp = rsp;
	t->regs.rdi = arg;
	t->regs.rflags = lguest_sanitize_rflags(0);
	t->mode = LG_MODE_KERNEL;
	lguest_vcpu_start(t);
	return LGUEST_HCALL_OK;
}

/*
 * LHCALL_SEND_IPI: @vector pending on every vCPU in @mask (the caller may
 * be one), each woken if halted and forced out of the guest if running.
 */
static long hcall_send_ipi(struct lg_cpu *cpu, u64 mask, u64 vector)
{
	struct lguest *lg = cpu->lg;
	unsigned long bits = mask;
	unsigned int i;

	if (vector < FIRST_EXTERNAL_VECTOR || vector > 255 ||
	    (lg->nr_cpus < 64 && (mask >> lg->nr_cpus)))
		return LGUEST_HCALL_EINVAL;
	trace_ipi(cpu->id, mask, vector);
	/* Counted first: the target may answer before this loop ends. */
	cpu->stats.ipis_sent += hweight64(mask);
	for_each_set_bit(i, &bits, lg->nr_cpus)
		lguest_set_irq(lg->cpus[i], vector);
	return LGUEST_HCALL_OK;
}

/*
 * One call, synchronous or from the ring.  @sync is false for ring calls,
 * which may not be NOTIFY or HALT (those need the vCPU to stop here),
 * RETURN_TO_USER or INIT (which moves the ring itself).
 */
static long dispatch(struct lg_cpu *cpu, u64 nr, const u64 *a, bool sync)
{
	switch (nr) {
	case LHCALL_INIT:
		/* It replaces the page the ring lives in. */
		if (!sync)
			break;
		return hcall_init(cpu, a[0]);
	case LHCALL_SHUTDOWN:
		return hcall_shutdown(cpu, a[0], a[1], a[2], a[3]);
	case LHCALL_LOAD_IDT_ENTRY:
		return hcall_load_idt_entry(cpu, a[0], a[1], a[2]);
	case LHCALL_SET_STACK:
		return hcall_set_stack(cpu, a[0], a[1]);
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
	case LHCALL_NEW_PGTABLE:
		return lguest_new_pgtable(cpu, a[0]);
	case LHCALL_INVLPG:
		return lguest_invlpg(cpu, a[0], a[1], a[2]);
	case LHCALL_FLUSH_TLB:
		return lguest_flush_tlb(cpu, a[0]);
	case LHCALL_SET_SYSCALL:
		return hcall_set_syscall(cpu, a[0]);
	case LHCALL_START_VCPU:
		return hcall_start_vcpu(cpu, a[0], a[1], a[2], a[3]);
	case LHCALL_SEND_IPI:
		return hcall_send_ipi(cpu, a[0], a[1]);
	case LHCALL_LOAD_GDT:
		return lguest_load_gdt(cpu, a[0], a[1], a[2]);
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
	case LHCALL_RETURN_TO_USER:
		/* Synchronous calls never get here: lguest_do_hypercall(). */
		break;
	default:
		return LGUEST_HCALL_ENOSYS;
	}
	kill_guest(cpu, "hypercall %llu cannot be queued", nr);
	return LGUEST_HCALL_EINVAL;
}

/* Run the calls the guest queued, in order, until a free slot. */
static void drain_async_ring(struct lg_cpu *cpu)
{
	struct lguest_data *data = cpu->data;
	struct lguest_hcall_slot slot;
	unsigned int done, n;

	for (done = 0; done < LHCALL_RING_SIZE && !READ_ONCE(cpu->lg->dead); done++) {
		n = cpu->next_hcall;
		if (READ_ONCE(data->hcall_status[n]) != LHCALL_RING_QUEUED)
			return;
		/* Our copy, so the guest cannot change the call under us. */
		memcpy(&slot, &data->hcalls[n], sizeof(slot));
		barrier();
		trace_hypercall(cpu->id, slot.nr, slot.args[0], slot.args[1], true);
		dispatch(cpu, slot.nr, slot.args, false);
		cpu->stats.async_hypercalls++;
		WRITE_ONCE(data->hcall_status[n], LHCALL_RING_FREE);
		cpu->next_hcall = (n + 1) % LHCALL_RING_SIZE;
	}
}

void lguest_do_hypercall(struct lg_cpu *cpu)
{
	u64 args[4] = {
		cpu->regs.rdi, cpu->regs.rsi, cpu->regs.rdx, cpu->regs.r10,
	};

	cpu->stats.hypercalls++;
	if (cpu->data)
		drain_async_ring(cpu);
	if (READ_ONCE(cpu->lg->dead))
		return;
	trace_hypercall(cpu->id, cpu->regs.rax, args[0], args[1], false);
	if (cpu->regs.rax == LHCALL_RETURN_TO_USER)
		hcall_return_to_user(cpu);
	else
		cpu->regs.rax = dispatch(cpu, cpu->regs.rax, args, true);
}

/*
 * The fast path (vcpu/fastpath.h) for a call that only records a value,
 * arms the timer or raises another vCPU's interrupt.  Anything the loop
 * must see first sends the call the whole way, and so does a call queued
 * in the async ring (they run in order, before this one).  A call that
 * leaves work for the loop (a self-IPI, say) is made by then, and marked
 * done.
 *
 * Only lguest's own ABI has one: a Xen PV guest's frequent calls are its
 * switcher's (xen/fast.c) or need the loop.
 */
bool lguest_hypercall_fastpath(struct lg_cpu *cpu, struct lguest_hw_regs *regs,
			       u64 mode)
{
	struct lguest_data *data = cpu->data;
	u64 nr = regs->rax;
	long ret;

	/* run_guest_once() offers only the calls in LG_FASTPATH_HCALLS. */
	if (mode != LG_MODE_KERNEL || !data || !lguest_fastpath_ok(cpu, regs) ||
	    READ_ONCE(data->hcall_status[cpu->next_hcall]) == LHCALL_RING_QUEUED)
		return false;

	trace_vcpu_exit(cpu->id, regs->trapnum, regs->rip, regs->errcode);
	trace_hypercall(cpu->id, nr, regs->rdi, regs->rsi, false);
	cpu->stats.hypercalls++;
	cpu->stats.fastpath_hcalls++;
	/* dispatch()'s cases, without its argument array and stack canary. */
	switch (nr) {
	case LHCALL_SET_STACK:
		ret = hcall_set_stack(cpu, regs->rdi, regs->rsi);
		break;
	case LHCALL_SET_CLOCKEVENT:
		ret = hcall_set_clockevent(cpu, regs->rdi);
		break;
	case LHCALL_SEND_IPI:
		ret = hcall_send_ipi(cpu, regs->rdi, regs->rsi);
		break;
	default:
		/* SEND_INTERRUPTS and FLUSH_ASYNC: nothing to drain or deliver. */
		ret = LGUEST_HCALL_OK;
	}
	regs->rax = ret;
	return lguest_fastpath_reenter(cpu, regs);
}
