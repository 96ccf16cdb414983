// SPDX-License-Identifier: GPL-2.0
/*
 * A Xen PV guest's state, and its start of day.
 *
 * A Xen domain builder (the launcher's launcher/xen/layout.c) leaves the
 * kernel running in guest kernel mode with paging on, at its ELF entry,
 * with RSI pointing at start_info, on a one-page stack, on the flat
 * selectors 0xe033 and 0xe02b, and with every vCPU's events masked.  The
 * guest knows one page that is not RAM: shared_info, which the launcher
 * puts just above RAM and we keep pinned, since interrupt and event
 * delivery must reach it from any context without faulting.
 *
 * lguest's "machine" frames are guest-physical ones (an identity p2m), so
 * a frame number the guest gives us is a guest-physical page, checked
 * against its memory like every other.
 */
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <asm/debugreg.h>
#include <asm/fpu/types.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/tsc.h>
#include <asm/xen/interface.h>
#include "xen.h"

/*
 * Guest-virtual memory as the guest kernel sees it, for hypercall
 * arguments (Xen's pointers are virtual): 0, or -EFAULT if any byte is
 * unmapped, not writable for a write, or in the hypervisor's hole, as
 * Xen's copy_from_guest() would say.
 */
int lg_xen_read(struct lg_cpu *cpu, u64 va, void *dst, u64 len)
{
	if (va + len < va || lg_xen_in_hole(va, len))
		return -EFAULT;
	return lguest_read_guest(cpu, va, dst, len, 0) == len ? 0 : -EFAULT;
}

int lg_xen_write(struct lg_cpu *cpu, u64 va, const void *src, u64 len)
{
	if (va + len < va || lg_xen_in_hole(va, len))
		return -EFAULT;
	return lguest_copy_to_guest(cpu, va, src, len) ? -EFAULT : 0;
}

/* Xen's system time: nanoseconds since the guest booted. */
u64 lg_xen_system_time(struct lguest *lg)
{
	return ktime_get_ns() - lg_xen(lg)->boot_ns;
}

/*
 * The pvclock scale: ns = ((tsc_delta << shift) * mul) >> 32, with the
 * largest mul below 2^32 for the most precision.  The guest reads the host's
 * TSC with a plain rdtsc, so the scale is the host's TSC rate.
 */
static void tsc_scale(u64 tsc_hz, s8 *shift, u32 *mul)
{
	int s;

	for (s = -31; s < 32; s++) {
		u64 hz = s < 0 ? tsc_hz >> -s : tsc_hz << s;
		u64 m;

		if (!hz)
			continue;
		m = div64_u64((u64)NSEC_PER_SEC << 32, hz);
		if (m < (1ULL << 32)) {
			*shift = s;
			*mul = m;
			return;
		}
	}
	*shift = 0;
	*mul = 0;
}

/*
 * vcpu_time_info, with Xen's version protocol: odd while we write, so a
 * guest reading at the same time retries.  Written from the vCPU's own
 * thread only: when its timer fires, and whenever it enters the guest on
 * another physical CPU than before (ops->moved, interrupts off), since the
 * guest scales the TSC of whichever CPU it runs on and TSCs need not agree
 * (they do not in the test VM: "TSCs unsynchronized").  Xen does the same
 * when it moves a vCPU.
 */
void lg_xen_update_time(struct lg_cpu *cpu)
{
	struct pvclock_vcpu_time_info *t = &lg_xen_vcpu_info(cpu)->time;
	u32 version = READ_ONCE(t->version);
	s8 shift;
	u32 mul;
	u64 tsc, now;

	tsc_scale((u64)tsc_khz * 1000, &shift, &mul);
	WRITE_ONCE(t->version, version | 1);
	/* An odd version before the fields change: readers retry. */
	smp_wmb();
	tsc = rdtsc_ordered();
	now = lg_xen_system_time(cpu->lg);
	WRITE_ONCE(t->tsc_timestamp, tsc);
	WRITE_ONCE(t->system_time, now);
	WRITE_ONCE(t->tsc_to_system_mul, mul);
	WRITE_ONCE(t->tsc_shift, shift);
	/*
	 * Not "stable": each update rebases system_time on the host's
	 * NTP-slewed clock, so the guest's extrapolation may step back a
	 * little, and without the bit Linux keeps its clock monotonic
	 * (pvclock's last_value).  A master clock as KVM's would earn it.
	 */
	WRITE_ONCE(t->flags, 0);
	/* The fields before the even version that vouches for them. */
	smp_wmb();
	WRITE_ONCE(t->version, (version | 1) + 1);
}

/*
 * VCPUOP_register_vcpu_info: the vCPU's vcpu_info moves to guest memory
 * (Linux puts it in its per-CPU data), once, with what it held.  Its page
 * stays pinned, like shared_info, for delivery from any context.
 */
long lg_xen_register_vcpu_info(struct lg_cpu *cpu, u64 mfn, u64 offset)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct vcpu_info *vi;
	struct page *page;

	if (xc->vi_page)
		return -EINVAL;
	/*
	 * Aligned, so that no locked operation of ours on it spans two cache
	 * lines (a split lock, which a host with split-lock detection
	 * answers with #AC in the kernel).
	 */
	if (offset > PAGE_SIZE - sizeof(*vi) || !IS_ALIGNED(offset, 8) ||
	    mfn >= lg_xen(cpu->lg)->nr_ram_pages)
		return -EINVAL;
	if (lguest_pin_kept(cpu->lg, mfn << PAGE_SHIFT, &page))
		return -EFAULT;
	/*
	 * Two vCPUs may register a third's at once (or one its own while
	 * another takes it down): one wins, the other's pin goes back, as
	 * Xen serialises them under its domain lock.
	 */
	if (cmpxchg(&xc->vi_page, NULL, page)) {
		unpin_user_page(page);
		return -EINVAL;
	}
	lguest_account_pins(cpu->lg, 1);
	vi = page_address(page) + offset;
	memcpy(vi, xc->vi, sizeof(*vi));
	/* As Xen does: rescan everything, in case an event was missed. */
	WRITE_ONCE(vi->evtchn_pending_sel, ~0UL);
	WRITE_ONCE(vi->evtchn_upcall_pending, 1);
	/* Delivery reads the new one from here on. */
	WRITE_ONCE(xc->vi, vi);
	return 0;
}

/* The wall clock at system time 0, in shared_info (same protocol). */
static void set_wallclock(struct lg_xen *x)
{
	struct shared_info *s = x->shared;
	u64 wc = ktime_get_real_ns() - (ktime_get_ns() - x->boot_ns);
	u32 version = READ_ONCE(s->wc.version);
	u32 nsec;
	u64 sec = div_u64_rem(wc, NSEC_PER_SEC, &nsec);

	WRITE_ONCE(s->wc.version, version | 1);
	/* As for vcpu_time_info: odd first, then the fields, then even. */
	smp_wmb();
	WRITE_ONCE(s->wc.sec, (u32)sec);
	WRITE_ONCE(s->wc_sec_hi, (u32)(sec >> 32));
	WRITE_ONCE(s->wc.nsec, nsec);
	/* The fields before the even version. */
	smp_wmb();
	WRITE_ONCE(s->wc.version, (version | 1) + 1);
}

/* A start the guest could never have been given by a Xen builder. */
static bool bad_start(const struct lguest_req_init *req)
{
	const struct lguest_xen_start *st = &req->xen;

	return st->pad || !PAGE_ALIGNED(st->shared_info) ||
	       !st->shared_info || st->shared_info >= req->size ||
	       !PAGE_ALIGNED(st->cr3) || st->cr3 >= st->shared_info ||
	       st->console_port >= EVTCHN_2L_NR_CHANNELS ||
	       st->store_port >= EVTCHN_2L_NR_CHANNELS ||
	       (st->store_port && st->store_port == st->console_port) ||
	       /* The grant frames: above shared_info, inside guest memory. */
	       st->gnttab_frames > LGUEST_XEN_GNTTAB_FRAMES ||
	       (st->gnttab_frames &&
		(!PAGE_ALIGNED(st->gnttab) || st->gnttab <= st->shared_info ||
		 st->gnttab >= req->size ||
		 st->gnttab_frames > (req->size - st->gnttab) >> PAGE_SHIFT)) ||
	       !lg_xen_guest_va_ok(req->entry) ||
	       !lguest_canonical(st->rsp) || !lguest_canonical(st->rsi);
}

static void xen_free(struct lguest *lg)
{
	struct lg_xen *x = lg_xen(lg);
	unsigned int i;

	for (i = 0; i < lg->nr_cpus; i++) {
		struct lg_xen_cpu *xc = lg->cpus[i] ? lg->cpus[i]->pstate : NULL;

		if (!xc)
			continue;
		/* No vCPU runs any more; its poll timeout may still be set. */
		hrtimer_cancel(&xc->poll_timer);
		if (xc->vi_page) {
			unpin_user_page(xc->vi_page);
			lguest_account_pins(lg, -1);
		}
		kfree(xc);
		lg->cpus[i]->pstate = NULL;
	}
	if (!x)
		return;
	lg_xen_events_free(lg);
	kvfree(x->l1_frames);
	kvfree(x->l4_frames);
	if (x->shared_page) {
		unpin_user_page(x->shared_page);
		lguest_account_pins(lg, -1);
	}
	kfree(x);
	lg->pstate = NULL;
}

static int xen_init(struct lguest *lg, const struct lguest_req_init *req)
{
	const struct lguest_xen_start *st = &req->xen;
	struct lg_cpu *boot = lg->cpus[0];
	struct lg_xen *x;
	unsigned int i;
	u64 m2p;

	if (bad_start(req))
		return -EINVAL;
	x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	if (!x)
		return -ENOMEM;
	lg->pstate = x;
	mutex_init(&x->smp_lock);
	x->shared_info_gpa = st->shared_info;
	x->nr_ram_pages = st->shared_info >> PAGE_SHIFT;
	x->console_port = st->console_port;
	x->store_port = st->store_port;
	x->gnttab_gpa = st->gnttab;
	x->gnttab_frames = st->gnttab_frames;
	x->boot_ns = ktime_get_ns();
	if (lg_xen_events_init(lg))
		return -ENOMEM;
	x->l1_frames = kvcalloc(BITS_TO_LONGS(req->size >> PAGE_SHIFT),
				sizeof(long), GFP_KERNEL_ACCOUNT);
	x->l4_frames = kvcalloc(BITS_TO_LONGS(req->size >> PAGE_SHIFT),
				sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!x->l1_frames || !x->l4_frames || lguest_track_tables(lg))
		return -ENOMEM;
	if (lguest_pin_kept(lg, st->shared_info, &x->shared_page)) {
		x->shared_page = NULL;
		return -EFAULT;
	}
	lguest_account_pins(lg, 1);
	x->shared = page_address(x->shared_page);
	set_wallclock(x);
	/* Every frame, shared_info's too, has an M2P entry (m2p.c). */
	m2p = lg_xen_m2p_entry(req->size >> PAGE_SHIFT);
	if (!m2p)
		return -ENOMEM;

	for (i = 0; i < lg->nr_cpus; i++) {
		struct lg_cpu *cpu = lg->cpus[i];
		struct lg_xen_cpu *xc = kzalloc(sizeof(*xc), GFP_KERNEL_ACCOUNT);

		if (!xc)
			return -ENOMEM;
		cpu->pstate = xc;
		xc->vi = i < MAX_VIRT_CPUS ? &x->shared->vcpu_info[i] : &xc->spare_vi;
		lg_xen_poll_init(cpu);
		/* Xen's initial state (the design study's 3.6). */
		xc->dr[6] = DR6_RESERVED;
		xc->dr[7] = LG_DR7_FIXED_1;
		xc->xcr0 = XFEATURE_MASK_FP;
		xc->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |
			  (__read_cr4() & (X86_CR4_OSXSAVE | X86_CR4_FSGSBASE));
		/*
		 * Read-only at slot 256 of its kernel roots, as on Xen: the
		 * roots it has already (paging off) included, which a cached
		 * address space reuses when it is evicted (docs/NOTES.md).
		 */
		lguest_set_private_slot(cpu, LG_MODE_KERNEL, LG_M2P_SLOT, m2p);
		cpu->regs.cs = LG_SEL_CS64;
		cpu->regs.ss = LG_SEL_DS;
		WRITE_ONCE(lg_xen_vcpu_info(cpu)->evtchn_upcall_mask, 1);
		lg_xen_update_time(cpu);
	}

	lg_xen_cpu(boot)->initialised = true;
	boot->regs.rip = req->entry;
	boot->regs.rsp = st->rsp;
	boot->regs.rsi = st->rsi;
	/* Paging is on from the first instruction. */
	if (lguest_new_pgtable(boot, st->cr3))
		return -ENOMEM;
	return 0;
}

const struct lg_personality lguest_xen_pv = {
	.name = "xen-pv",
	.irq = lg_xen_irq,
	.evtchn = lg_xen_evtchn,
	.init = xen_init,
	.free = xen_free,
	.hypercall = lg_xen_hypercall,
	.user_syscall = lg_xen_user_syscall,
	.trap = lg_xen_trap,
	.deliver = lg_xen_deliver,
	.deliverable = lg_xen_deliverable,
	.wake = lg_xen_wake,
	.table_writable = lg_xen_table_writable,
	.root_coherent = lg_xen_root_coherent,
	.moved = lg_xen_update_time,
};
