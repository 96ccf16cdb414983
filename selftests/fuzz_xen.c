// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_test's Xen PV half (see fuzz_test.c): a guest of the Xen
 * personality making random hypercalls with random and edge arguments,
 * with more care where Xen's interface has structure worth reaching:
 * mmu_update requests aimed at the guest's own page-table entries,
 * mmuext_ops, multicalls (nested ones too), event-channel and grant-table
 * operations, vCPU operations, and exceptions taken on a random stack, so
 * the module builds bounce frames wherever the guest's RSP points.
 * Privileged instructions it emulates are thrown in with random operands.
 *
 * Its own file because xen_test.h and lg_test.h each define the guest's
 * GUEST_SYNC and friends; fuzz_test.c calls fuzz_xen_one().
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xen_test.h"
#include "fuzz.h"

int fuzz_xen_one(uint64_t seed, struct fuzz_tally *tally, char *why, size_t len);

static uint64_t xg_seed, xg_ops;

/*
 * Every trap is armed to resume at fuzz_try_recover_reload: the trap may
 * have come on any stack, and these handlers cannot set RSP.
 */
static uint64_t xfuzz_slot;

static void arm_all(void)
{
	unsigned int v;

	for (v = 0; v < XEN_TEST_NR_TRAPS; v++)
		xen_trap_expect(v, 0, fuzz_try_recover_reload);
}

/* The machine address of the L1 entry mapping page @n (xen_test.c's tables). */
static uint64_t l1e_of(uint64_t n)
{
	return XEN_TEST_PT_BASE + 0x3000 + n * 8;
}

/* A page of the scratch area, whose mappings are the guest's to break. */
static uint64_t scratch_page(uint64_t *s)
{
	return (XEN_TEST_SCRATCH >> 12) +
	       fuzz_below(s, (XEN_TEST_RAM - XEN_TEST_SCRATCH) >> 12);
}

static uint64_t frame(uint64_t *s)
{
	switch (fuzz_below(s, 4)) {
	case 0: return fuzz_below(s, XEN_TEST_RAM >> 12);
	case 1: return (XEN_TEST_PT_BASE >> 12) + fuzz_below(s, 40);	/* a table */
	case 2: return fuzz_arg(s, XEN_TEST_MEM) >> 12;
	default: return scratch_page(s);
	}
}

struct xop {
	uint64_t s;
	unsigned int kind;
};

static union {
	struct mmu_update mu[8];
	struct mmuext_op me[4];
	struct multicall_entry mc[8];
	uint8_t bytes[512];
} xbuf __attribute__((aligned(64)));

static uint8_t stack_area[8192] __attribute__((aligned(16)));

static void fill_random(uint64_t *s, void *p, size_t n)
{
	uint64_t *q = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		q[i] = fuzz_below(s, 3) ? fuzz_arg(s, XEN_TEST_MEM) : fuzz_below(s, 64);
}

static void do_xop(void *arg)
{
	struct xop *x = arg;
	uint64_t *s = &x->s, i, n;

	switch (x->kind) {
	case 0:	/* anything */
		xen_hypercall(fuzz_below(s, 4) ? fuzz_below(s, 50) : fuzz_arg(s, XEN_TEST_MEM),
			      fuzz_arg(s, XEN_TEST_MEM), fuzz_arg(s, XEN_TEST_MEM),
			      fuzz_arg(s, XEN_TEST_MEM), fuzz_arg(s, XEN_TEST_MEM),
			      fuzz_arg(s, XEN_TEST_MEM));
		break;
	case 1:	/* mmu_update on our own entries, mostly */
		n = 1 + fuzz_below(s, 8);
		for (i = 0; i < n; i++) {
			xbuf.mu[i].ptr = fuzz_below(s, 4) ? l1e_of(scratch_page(s)) :
					 fuzz_below(s, 2) ? l1e_of(fuzz_below(s, XEN_TEST_RAM >> 12)) :
					 fuzz_arg(s, XEN_TEST_MEM);
			xbuf.mu[i].ptr |= fuzz_below(s, 4) ? 0 : fuzz_below(s, 4);
			xbuf.mu[i].val = frame(s) << 12 | (fuzz_rand(s) & 0x8000000000000fffULL);
		}
		xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)xbuf.mu,
			      fuzz_below(s, 8) ? n : fuzz_arg(s, 100),
			      fuzz_below(s, 2) ? 0 : fuzz_arg(s, XEN_TEST_MEM),
			      fuzz_below(s, 4) ? DOMID_SELF : fuzz_arg(s, 0x10000), 0);
		break;
	case 2:	/* mmuext_op */
		n = 1 + fuzz_below(s, 4);
		for (i = 0; i < n; i++) {
			xbuf.me[i].cmd = fuzz_below(s, 24);
			xbuf.me[i].arg1.mfn = frame(s);
			if (fuzz_below(s, 2))
				xbuf.me[i].arg1.linear_addr = fuzz_arg(s, XEN_TEST_MEM);
			xbuf.me[i].arg2.nr_ents = fuzz_arg(s, XEN_TEST_MEM);
		}
		xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)xbuf.me, n,
			      fuzz_below(s, 2) ? 0 : fuzz_arg(s, XEN_TEST_MEM), DOMID_SELF, 0);
		break;
	case 3:	/* multicall, random entries, some of them multicalls */
		n = 1 + fuzz_below(s, 8);
		for (i = 0; i < n; i++) {
			xbuf.mc[i].op = fuzz_below(s, 8) ? fuzz_below(s, 48) : __HYPERVISOR_multicall;
			xbuf.mc[i].result = 0;
			fill_random(s, xbuf.mc[i].args, sizeof(xbuf.mc[i].args));
		}
		HYPERVISOR_multicall(xbuf.mc, fuzz_below(s, 8) ? n : fuzz_arg(s, 1000));
		break;
	case 4:	/* event channels */
		fill_random(s, xbuf.bytes, 64);
		HYPERVISOR_event_channel_op(fuzz_below(s, 16), xbuf.bytes);
		break;
	case 5:	/* grant tables */
		fill_random(s, xbuf.bytes, 128);
		HYPERVISOR_grant_table_op(fuzz_below(s, 16), xbuf.bytes,
					  fuzz_below(s, 4) ? 1 : fuzz_arg(s, 1000));
		break;
	case 6:	/* vCPU operations */
		fill_random(s, xbuf.bytes, sizeof(xbuf.bytes));
		HYPERVISOR_vcpu_op(fuzz_below(s, 16), fuzz_below(s, 4) ? fuzz_below(s, 3) :
				   fuzz_arg(s, XEN_TEST_MEM), xbuf.bytes);
		break;
	case 7: {
		/*
		 * A trap on another stack: inside our stack area, at its
		 * edge, unmapped, or anywhere; the module writes its bounce
		 * frame there or kills us for it.
		 */
		uint64_t sp;

		switch (fuzz_below(s, 32)) {
		case 0: sp = (uint64_t)stack_area + fuzz_below(s, 64); break;
		case 1: sp = XEN_TEST_UNMAPPED + fuzz_below(s, 8192); break;
		case 2: sp = fuzz_arg(s, XEN_TEST_MEM); break;
		default: sp = (uint64_t)stack_area + 4096 + fuzz_below(s, 4096); break;
		}
		/* Each ends in a trap: the stack is not ours to go on with. */
		switch (fuzz_below(s, 3)) {
		case 0: asm volatile("movq %0, %%rsp\n int3\n ud2" :: "r"(sp) : "memory"); break;
		case 1: asm volatile("movq %0, %%rsp\n ud2" :: "r"(sp) : "memory"); break;
		default: asm volatile("movq %0, %%rsp\n movq (%%rsp), %%rax\n ud2" :: "r"(sp)
				      : "rax", "memory"); break;
		}
		break;
	}
	default: {
		/* What the module emulates, with random operands. */
		uint32_t msr = fuzz_below(s, 2) ? (uint32_t)fuzz_rand(s) :
			       0xc0000000 + fuzz_below(s, 0x110);
		uint64_t v = fuzz_arg(s, XEN_TEST_MEM);

		switch (fuzz_below(s, 6)) {
		case 0: (void)xen_rdmsr(msr); break;
		case 1: xen_wrmsr(msr, v); break;
		case 2: asm volatile("outb %%al, %%dx" :: "a"(v), "d"(msr & 0xffff)); break;
		case 3: asm volatile("inb %%dx, %%al" : "=a"(v) : "d"(msr & 0xffff)); break;
		case 4: asm volatile("movq %0, %%cr3" :: "r"(v) : "memory"); break;
		default: asm volatile("lgdt (%0)" :: "r"(xbuf.bytes) : "memory"); break;
		}
	}
	}
}

static void xen_guest_fuzz(void)
{
	struct xop x = { .s = xg_seed };
	uint64_t i;

	GUEST_ASSERT_EQ(0, xen_guest_install_traps());
	GUEST_SYNC(FUZZ_READY);
	for (i = 0; i < xg_ops; i++) {
		uint64_t r = fuzz_rand(&x.s);

		x.kind = r % 9;
		/* A shutdown would end the iteration at once: few of them. */
		if (!x.kind && (r >> 8) % 4)
			x.kind = 1 + (r >> 12) % 8;
		arm_all();
		fuzz_try(do_xop, &x, &xfuzz_slot);
	}
}

/*
 * One iteration: a guest with devices (a grant table, a xenstore
 * channel) half the time, run until it ends or 2 s pass.  Until the
 * guest's GUEST_SYNC(FUZZ_READY), a failed assertion fails; after it,
 * console output and ucalls are read and dropped: random EVTCHNOP_sends
 * may fake them, but only GUEST_DONE's ucall record says done.
 */
int fuzz_xen_one(uint64_t seed, struct fuzz_tally *tally, char *why, size_t len)
{
	uint64_t s = seed;
	struct xen_test_vm *t = fuzz_below(&s, 2) ? xen_test_vm_create_devices(xen_guest_fuzz) :
				xen_test_vm_create(xen_guest_fuzz);
	const volatile struct xen_ucall *uc;
	struct lguest_exit e;
	int r, ret = 0, ready = 0;

	if (!t) {
		snprintf(why, len, "cannot create a Xen guest");
		return -1;
	}
	*(uint64_t *)xen_test_hva(t, &xg_seed) = fuzz_rand(&s);
	*(uint64_t *)xen_test_hva(t, &xg_ops) = 200;
	uc = xen_test_hva(t, &xen_test_ucall);
	fuzz_alarm(2000);
	for (;;) {
		/* Checked before each run too: it may fire between them. */
		r = fuzz_alarm_fired ? -EINTR : lg_vm_run(&t->vm, 0, &e);
		if (r == -EINTR) {
			if (!fuzz_alarm_fired)
				continue;
			tally->timeout++;
			break;
		}
		if (r) {
			snprintf(why, len, "a Xen vCPU run failed: %s", strerror(-r));
			ret = -1;
			break;
		}
		if (e.reason == LGUEST_EXIT_CONSOLE || e.reason == LGUEST_EXIT_NOTIFY)
			continue;
		if (e.reason == LGUEST_EXIT_EVTCHN && e.args[0] == XEN_TEST_PORT && !ready) {
			if (uc->type == XEN_UCALL_SYNC && uc->value == FUZZ_READY) {
				ready = 1;
				tally->ready++;
				continue;
			}
			if (uc->type == XEN_UCALL_ASSERT) {
				snprintf(why, len, "a guest assertion failed in its setup");
				ret = -1;
				break;
			}
		}
		if (e.reason == LGUEST_EXIT_EVTCHN) {
			if (e.args[0] == XEN_TEST_PORT && uc->type == XEN_UCALL_DONE) {
				tally->done++;
				break;
			}
			continue;
		}
		if (e.reason == LGUEST_EXIT_SHUTDOWN) {
			tally->shutdown++;
			break;
		}
		if (e.reason == LGUEST_EXIT_KILLED && e.msg[0]) {
			fuzz_tally_kill(tally, e.msg);
			break;
		}
		snprintf(why, len, "exit %u (%s) from a Xen guest%s", e.reason,
			 fuzz_exit_name(e.reason), e.msg[0] ? "" : ", without a reason");
		ret = -1;
		break;
	}
	fuzz_alarm(0);
	xen_test_vm_free(t);
	return ret;
}
