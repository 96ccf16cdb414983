// SPDX-License-Identifier: GPL-2.0
/*
 * Event channels: a Xen guest's interrupts (2-level ABI).
 *
 * A port is a bit in shared_info's evtchn_pending, with a mask bit beside
 * it that the guest sets and clears itself.  Raising a port sets its
 * pending bit; if the port is unmasked, the bit of its 64-port word in the
 * notified vCPU's evtchn_pending_sel, and then that vCPU's
 * evtchn_upcall_pending, the one flag the vCPU's delivery looks at.  The
 * guest clears them as it scans (events_2l.c in Linux); we only ever set
 * them, atomically, since the guest writes the same words concurrently.
 * Xen's rules (xen/common/event_2l.c), which we follow:
 *
 *   raise:   test_and_set(pending[p]) || mask[p] || test_and_set(sel[p/64])
 *            || set upcall_pending, kick the vCPU
 *   unmask:  test_and_clear(mask[p]) && pending[p] && !test_and_set(sel)
 *            -> upcall_pending, kick
 *
 * Delivery is an upcall: before entering the guest, a vCPU with
 * upcall_pending set and its event mask (the virtual IF) clear gets a
 * bounce frame to its event callback, which masks events until its iret.
 *
 * Ports the guest binds: VIRQs (the timer, per vCPU), IPIs between its
 * vCPUs.  Two ports it may be given: the console's and the xenstore's,
 * whose other end is the launcher (an EVTCHNOP_send there is an exit;
 * LHREQ_IRQ is its way back).  With a xenstore, the guest's front ends
 * allocate more for their back ends, which are the launcher too:
 * EVTCHNOP_alloc_unbound for domain 0 leaves a port unbound until the
 * launcher binds it (LHREQ_EVTCHN), as domain 0's bind_interdomain would
 * on Xen.  FIFO events answer Xen's ENOSYS (M:036).
 */
#include <linux/nospec.h>
#include <linux/slab.h>
#include <xen/interface/callback.h>
#include <xen/interface/event_channel.h>
#include <xen/interface/sched.h>
#include "xen.h"

/*
 * The vCPUs in SCHEDOP_poll on @port, just made pending.  Pairs with
 * lg_xen_poll(): it says it polls, then looks at the ports; we made the
 * port pending (a full barrier), then look at who polls.
 */
static void wake_pollers(struct lguest *lg, unsigned int port)
{
	unsigned int i;

	for (i = 0; i < lg->nr_cpus; i++) {
		struct lg_xen_cpu *xc = lg_xen_cpu(lg->cpus[i]);

		if (READ_ONCE(xc->polling) && test_bit(port, xc->poll_ports))
			lguest_kick_vcpu(lg->cpus[i]);
	}
}

/* Make @port pending (any context that may sleep or not: atomics only). */
static void raise_port(struct lguest *lg, unsigned int port)
{
	struct lg_xen *x = lg_xen(lg);
	struct shared_info *s = x->shared;
	struct lg_cpu *cpu = lg->cpus[READ_ONCE(x->ports[port].vcpu)];
	struct vcpu_info *vi = lg_xen_vcpu_info(cpu);

	if (test_and_set_bit(port, (unsigned long *)s->evtchn_pending))
		return;
	/* A vCPU polling it wakes, masked or not (SCHEDOP_poll). */
	if (atomic_read(&x->pollers))
		wake_pollers(lg, port);
	if (test_bit(port, (unsigned long *)s->evtchn_mask) ||
	    test_and_set_bit(port / BITS_PER_LONG, (unsigned long *)&vi->evtchn_pending_sel))
		return;
	WRITE_ONCE(vi->evtchn_upcall_pending, 1);
	lguest_kick_vcpu(cpu);
}

/* A free port, or 0 (port 0 is never valid).  Under evtchn_lock. */
static unsigned int alloc_port(struct lg_xen *x, u8 state, u32 vcpu)
{
	unsigned int p;

	for (p = 1; p < LG_XEN_PORTS; p++) {
		if (x->ports[p].state == EVTCHNSTAT_closed) {
			x->ports[p].state = state;
			x->ports[p].vcpu = vcpu;
			x->ports[p].virq = 0;
			return p;
		}
	}
	return 0;
}

int lg_xen_events_init(struct lguest *lg)
{
	struct lg_xen *x = lg_xen(lg);

	spin_lock_init(&x->evtchn_lock);
	x->ports = kcalloc(LG_XEN_PORTS, sizeof(*x->ports), GFP_KERNEL_ACCOUNT);
	if (!x->ports)
		return -ENOMEM;
	/* The console's and the xenstore's: the launcher's ("domain 0"). */
	if (x->console_port)
		x->ports[x->console_port].state = EVTCHNSTAT_interdomain;
	if (x->store_port)
		x->ports[x->store_port].state = EVTCHNSTAT_interdomain;
	return 0;
}

void lg_xen_events_free(struct lguest *lg)
{
	kfree(lg_xen(lg)->ports);
}

/* The timer fired (the hrtimer noted it): VIRQ_TIMER, if bound. */
static void timer_virq(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	unsigned int port;

	if (!test_and_clear_bit(LGUEST_TIMER_VECTOR, cpu->irqs_pending))
		return;
	lg_xen_update_time(cpu);
	port = READ_ONCE(xc->virq_port[VIRQ_TIMER]);
	if (port)
		raise_port(cpu->lg, port);
}

static bool upcall_due(struct lg_cpu *cpu)
{
	struct vcpu_info *vi = lg_xen_vcpu_info(cpu);

	return READ_ONCE(vi->evtchn_upcall_pending) && !READ_ONCE(vi->evtchn_upcall_mask);
}

/*
 * SCHEDOP_poll: sleep until one of the ports named is pending, masked or
 * not, or an event is due, or the timeout (absolute system time, 0: none)
 * passes; at once if one is pending already.  Linux's paravirtual
 * spinlocks wait here for the unlocker's kick (a masked IPI channel).
 * Xen's limits: 128 ports, each below the last channel.
 */
#define LG_XEN_POLL_MAX	128

static bool poll_ready(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	return READ_ONCE(xc->poll_timed_out) ||
	       bitmap_intersects(xc->poll_ports,
				 (unsigned long *)lg_xen(cpu->lg)->shared->evtchn_pending,
				 LG_XEN_PORTS);
}

static void stop_polling(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	if (!xc->polling)
		return;
	WRITE_ONCE(xc->polling, false);
	atomic_dec(&lg_xen(cpu->lg)->pollers);
	/* Process context: wait for a callback running now, or it sets the flag late. */
	hrtimer_cancel(&xc->poll_timer);
	WRITE_ONCE(xc->poll_timed_out, false);
}

static enum hrtimer_restart poll_timeout(struct hrtimer *timer)
{
	struct lg_xen_cpu *xc = container_of(timer, struct lg_xen_cpu, poll_timer);

	WRITE_ONCE(xc->poll_timed_out, true);
	lguest_kick_vcpu(xc->cpu);
	return HRTIMER_NORESTART;
}

void lg_xen_poll_init(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	xc->cpu = cpu;
	hrtimer_init(&xc->poll_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	xc->poll_timer.function = poll_timeout;
}

long lg_xen_poll(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	evtchn_port_t ports[LG_XEN_POLL_MAX];
	struct sched_poll p;
	unsigned int i;
	u64 now;

	/* A poll before this one's end (a multicall of two): that one is over. */
	stop_polling(cpu);
	if (lg_xen_read(cpu, arg, &p, sizeof(p)))
		return -EFAULT;
	if (p.nr_ports > LG_XEN_POLL_MAX)
		return -EINVAL;
	if (lg_xen_read(cpu, (u64)(unsigned long)p.ports, ports,
			p.nr_ports * sizeof(ports[0])))
		return -EFAULT;
	bitmap_zero(xc->poll_ports, LG_XEN_PORTS);
	for (i = 0; i < p.nr_ports; i++) {
		if (ports[i] >= LG_XEN_PORTS)
			return -EINVAL;
		__set_bit(array_index_nospec(ports[i], LG_XEN_PORTS), xc->poll_ports);
	}
	now = lg_xen_system_time(cpu->lg);
	if (p.timeout && p.timeout <= now)
		return 0;
	WRITE_ONCE(xc->polling, true);
	atomic_inc(&x->pollers);
	/* We poll, before we look: see wake_pollers(). */
	smp_mb__after_atomic();
	if (lg_xen_wake(cpu)) {
		stop_polling(cpu);
		return 0;
	}
	if (p.timeout)
		hrtimer_start(&xc->poll_timer,
			      ns_to_ktime(min_t(u64, p.timeout - now, KTIME_MAX)),
			      HRTIMER_MODE_REL);
	cpu->halted = true;
	cpu->stats.halts++;
	return 0;
}

/* The personality's deliver(): before every entry. */
bool lg_xen_deliver(struct lg_cpu *cpu)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	/* Awake again (deliver() runs only then): the poll is over. */
	stop_polling(cpu);

	timer_virq(cpu);
	if (!upcall_due(cpu) || !xc->callback[CALLBACKTYPE_event])
		return true;
	if (!lg_xen_bounce(cpu, xc->callback[CALLBACKTYPE_event], false, true))
		return false;
	cpu->stats.irqs_delivered++;
	return true;
}

bool lg_xen_deliverable(struct lg_cpu *cpu)
{
	return test_bit(LGUEST_TIMER_VECTOR, cpu->irqs_pending) ||
	       (upcall_due(cpu) && lg_xen_cpu(cpu)->callback[CALLBACKTYPE_event]);
}

/*
 * SCHEDOP_block sleeps until this (the mask was cleared first).  So does
 * SCHEDOP_poll, which leaves the mask as it is: as Xen's do_poll(), only an
 * event it can deliver ends it, or one of its ports pending.  Linux polls
 * with interrupts off, and must sleep although some other event waits.
 */
bool lg_xen_wake(struct lg_cpu *cpu)
{
	struct vcpu_info *vi = lg_xen_vcpu_info(cpu);

	if (test_bit(LGUEST_TIMER_VECTOR, cpu->irqs_pending))
		return true;
	if (!READ_ONCE(lg_xen_cpu(cpu)->polling))
		return READ_ONCE(vi->evtchn_upcall_pending);
	return upcall_due(cpu) || poll_ready(cpu);
}

/* A guest port number, checked, or 0. */
static unsigned int guest_port(u32 port)
{
	return port && port < LG_XEN_PORTS ? array_index_nospec(port, LG_XEN_PORTS) : 0;
}

/*
 * LHREQ_IRQ: the launcher signals its end of a channel (the console's,
 * when it put input in the ring).  Only its own ports: the guest's VIRQs
 * and IPIs are not the launcher's to raise.  The vCPU the port notifies
 * is the guest's choice (EVTCHNOP_bind_vcpu), not the request's.
 */
int lg_xen_irq(struct lg_cpu *cpu, u32 n)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	unsigned int port = guest_port(n);

	if (!port || READ_ONCE(x->ports[port].state) != EVTCHNSTAT_interdomain)
		return -EINVAL;
	raise_port(cpu->lg, port);
	return 0;
}

static long bind_virq(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct evtchn_bind_virq b;
	struct lg_xen_cpu *xc;
	unsigned int port;

	if (lg_xen_read(cpu, arg, &b, sizeof(b)))
		return -EFAULT;
	/* Only the per-vCPU VIRQs mean anything here: timer, debug. */
	if (b.virq >= LG_XEN_VIRQS)
		return -EINVAL;
	if (b.vcpu >= cpu->lg->nr_cpus)
		return -ENOENT;
	b.virq = array_index_nospec(b.virq, LG_XEN_VIRQS);
	xc = lg_xen_cpu(cpu->lg->cpus[array_index_nospec(b.vcpu, cpu->lg->nr_cpus)]);
	spin_lock(&x->evtchn_lock);
	if (xc->virq_port[b.virq]) {
		spin_unlock(&x->evtchn_lock);
		return -EEXIST;
	}
	port = alloc_port(x, EVTCHNSTAT_virq, b.vcpu);
	if (port) {
		x->ports[port].virq = b.virq;
		/* The vCPU's own thread reads it unlocked (timer_virq()). */
		WRITE_ONCE(xc->virq_port[b.virq], port);
	}
	spin_unlock(&x->evtchn_lock);
	if (!port)
		return -ENOSPC;
	b.port = port;
	return lg_xen_write(cpu, arg, &b, sizeof(b));
}

static long bind_ipi(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct evtchn_bind_ipi b;
	unsigned int port;

	if (lg_xen_read(cpu, arg, &b, sizeof(b)))
		return -EFAULT;
	if (b.vcpu >= cpu->lg->nr_cpus)
		return -ENOENT;
	spin_lock(&x->evtchn_lock);
	port = alloc_port(x, EVTCHNSTAT_ipi, b.vcpu);
	spin_unlock(&x->evtchn_lock);
	if (!port)
		return -ENOSPC;
	b.port = port;
	return lg_xen_write(cpu, arg, &b, sizeof(b));
}

/* The console's and the xenstore's ports: the launcher's for good. */
static bool fixed_port(struct lg_xen *x, unsigned int port)
{
	return port == x->console_port || port == x->store_port;
}

static long close_port(struct lg_cpu *cpu, unsigned int port)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct lg_xen_port *p = &x->ports[port];
	long r = 0;

	spin_lock(&x->evtchn_lock);
	switch (p->state) {
	case EVTCHNSTAT_virq:
		WRITE_ONCE(lg_xen_cpu(cpu->lg->cpus[p->vcpu])->virq_port[p->virq], 0);
		fallthrough;
	case EVTCHNSTAT_ipi:
	case EVTCHNSTAT_unbound:
	case EVTCHNSTAT_interdomain:
		if (fixed_port(x, port)) {
			r = -EINVAL;
			break;
		}
		/*
		 * A front end letting go of its back end's channel: from now
		 * on the launcher's LHREQ_IRQ there is refused.
		 */
		WRITE_ONCE(p->state, EVTCHNSTAT_closed);
		/* As Xen does: a rebound port starts with nothing pending. */
		clear_bit(port, (unsigned long *)x->shared->evtchn_pending);
		break;
	default:
		r = -EINVAL;
	}
	spin_unlock(&x->evtchn_lock);
	return r;
}

/*
 * EVTCHNOP_alloc_unbound: a port for domain 0, the launcher, to bind.
 * Only where there is a xenstore to tell the launcher of it; without one,
 * Xen's ENOSYS keeps Linux's xenbus quiet (its local-xenstored fallback
 * asks for one to itself, DOMID_SELF, and gives up on ENOSYS only).
 */
static long alloc_unbound(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct evtchn_alloc_unbound a;
	unsigned int port;

	if (!x->store_port)
		return -LG_XEN_ENOSYS;
	if (lg_xen_read(cpu, arg, &a, sizeof(a)))
		return -EFAULT;
	if (a.dom != DOMID_SELF)
		return -EPERM;
	/* No domain here but the guest and the launcher. */
	if (a.remote_dom != 0)
		return -ESRCH;
	spin_lock(&x->evtchn_lock);
	port = alloc_port(x, EVTCHNSTAT_unbound, 0);
	spin_unlock(&x->evtchn_lock);
	if (!port)
		return -ENOSPC;
	a.port = port;
	return lg_xen_write(cpu, arg, &a, sizeof(a));
}

/* LHREQ_EVTCHN: the launcher binds or closes its end of @n. */
int lg_xen_evtchn(struct lguest *lg, u32 op, u32 n)
{
	struct lg_xen *x = lg_xen(lg);
	unsigned int port = guest_port(n);
	struct lg_xen_port *p = &x->ports[port];
	int r = -EINVAL;

	if (!port || fixed_port(x, port))
		return -EINVAL;
	spin_lock(&x->evtchn_lock);
	if (op == LGUEST_EVTCHN_BIND && p->state == EVTCHNSTAT_unbound) {
		WRITE_ONCE(p->state, EVTCHNSTAT_interdomain);
		r = 0;
	} else if (op == LGUEST_EVTCHN_CLOSE && p->state == EVTCHNSTAT_interdomain) {
		WRITE_ONCE(p->state, EVTCHNSTAT_unbound);
		r = 0;
	}
	spin_unlock(&x->evtchn_lock);
	return r;
}

/* EVTCHNOP_send: an IPI, or the launcher's channel (an exit). */
static long send(struct lg_cpu *cpu, unsigned int port)
{
	struct lg_xen *x = lg_xen(cpu->lg);

	switch (READ_ONCE(x->ports[port].state)) {
	case EVTCHNSTAT_ipi:
		raise_port(cpu->lg, port);
		cpu->stats.ipis_sent++;
		return 0;
	case EVTCHNSTAT_unbound:
		/* Nobody at the other end yet: Xen drops it. */
		return 0;
	case EVTCHNSTAT_interdomain:
		/* Already told (an earlier entry of this multicall)? */
		if (cpu->exit_pending)
			return cpu->exit.reason == LGUEST_EXIT_EVTCHN &&
			       cpu->exit.args[0] == port ? 0 : -EBUSY;
		memset(&cpu->exit, 0, sizeof(cpu->exit));
		cpu->exit.reason = LGUEST_EXIT_EVTCHN;
		cpu->exit.vcpu = cpu->id;
		cpu->exit.args[0] = port;
		cpu->exit_pending = true;
		return 0;
	}
	return -EINVAL;
}

static long unmask(struct lg_cpu *cpu, unsigned int port)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct shared_info *s = x->shared;
	struct lg_cpu *v = cpu->lg->cpus[READ_ONCE(x->ports[port].vcpu)];
	struct vcpu_info *vi = lg_xen_vcpu_info(v);

	if (test_and_clear_bit(port, (unsigned long *)s->evtchn_mask) &&
	    test_bit(port, (unsigned long *)s->evtchn_pending) &&
	    !test_and_set_bit(port / BITS_PER_LONG, (unsigned long *)&vi->evtchn_pending_sel)) {
		WRITE_ONCE(vi->evtchn_upcall_pending, 1);
		lguest_kick_vcpu(v);
	}
	return 0;
}

static long status(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct evtchn_status st;
	unsigned int port;

	if (lg_xen_read(cpu, arg, &st, sizeof(st)))
		return -EFAULT;
	if (st.dom != DOMID_SELF)
		return -ESRCH;
	port = guest_port(st.port);
	if (!port)
		return -EINVAL;
	st.status = READ_ONCE(x->ports[port].state);
	st.vcpu = READ_ONCE(x->ports[port].vcpu);
	memset(&st.u, 0, sizeof(st.u));
	if (st.status == EVTCHNSTAT_virq)
		st.u.virq = x->ports[port].virq;
	/* The other end: domain 0 (u.unbound.dom is 0 already). */
	if (st.status == EVTCHNSTAT_interdomain)
		st.u.interdomain.port = port;
	return lg_xen_write(cpu, arg, &st, sizeof(st));
}

/* EVTCHNOP_bind_vcpu: notify another vCPU (not for per-vCPU ports). */
static long bind_vcpu(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct evtchn_bind_vcpu b;
	unsigned int port;
	long r = 0;

	if (lg_xen_read(cpu, arg, &b, sizeof(b)))
		return -EFAULT;
	port = guest_port(b.port);
	if (!port)
		return -EINVAL;
	if (b.vcpu >= cpu->lg->nr_cpus)
		return -ENOENT;
	spin_lock(&x->evtchn_lock);
	if (x->ports[port].state == EVTCHNSTAT_interdomain ||
	    x->ports[port].state == EVTCHNSTAT_unbound)
		WRITE_ONCE(x->ports[port].vcpu, b.vcpu);
	else
		r = -EINVAL;
	spin_unlock(&x->evtchn_lock);
	return r;
}

long lg_xen_event_channel_op(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	u32 port;

	switch (cmd) {
	case EVTCHNOP_bind_virq:
		return bind_virq(cpu, arg);
	case EVTCHNOP_bind_ipi:
		return bind_ipi(cpu, arg);
	case EVTCHNOP_status:
		return status(cpu, arg);
	case EVTCHNOP_bind_vcpu:
		return bind_vcpu(cpu, arg);
	case EVTCHNOP_alloc_unbound:
		return alloc_unbound(cpu, arg);
	case EVTCHNOP_close:
	case EVTCHNOP_send:
	case EVTCHNOP_unmask:
		/* All three take a struct holding just the port. */
		if (lg_xen_read(cpu, arg, &port, sizeof(port)))
			return -EFAULT;
		port = guest_port(port);
		if (!port)
			return -EINVAL;
		if (cmd == EVTCHNOP_close)
			return close_port(cpu, port);
		if (cmd == EVTCHNOP_send)
			return send(cpu, port);
		return unmask(cpu, port);
	}
	/*
	 * FIFO events (init_control) must be exactly Xen's ENOSYS: Linux
	 * falls back to 2-level; anything else is a BUG_ON.
	 */
	return -LG_XEN_ENOSYS;
}
