// SPDX-License-Identifier: GPL-2.0
/*
 * The selftests' library for Xen PV guests (see xen_test.h): the host side
 * builds what a Xen domain builder would (bootstrap page tables, start_info,
 * a p2m) around a copy of the test binary and runs it; the guest side makes
 * ucalls and registers the trap table.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xen_test.h"

/* In xen_test_entry.S: saves RSI, calls xen_test_guest_fn, then GUEST_DONE. */
extern char xen_test_guest_entry[];
/* The end of the binary's image (the linker's). */
extern char _end[];

struct start_info *xen_test_start_info;
struct xen_test_boot xen_test_boot;
/* The guest function, written into the guest's copy by the host. */
void (*xen_test_guest_fn)(void);
volatile struct xen_ucall xen_test_ucall;
volatile struct xen_trap_record xen_trap_records[XEN_TEST_NR_TRAPS];
volatile struct xen_test_events xen_test_events;

_Static_assert(sizeof(struct xen_trap_record) == 1 << XT_REC_SHIFT,
	       "xen_test_entry.S indexes the records by shifting");
_Static_assert(offsetof(struct xen_trap_record, frame) == XT_REC_FRAME, "");
_Static_assert(offsetof(struct xen_trap_record, has_error) == XT_REC_HAS_ERROR, "");
_Static_assert(offsetof(struct xen_trap_record, cr2) == XT_REC_CR2, "");
_Static_assert(offsetof(struct xen_trap_record, resume) == XT_REC_RESUME, "");
_Static_assert(offsetof(struct shared_info, vcpu_info[0].arch.cr2) ==
	       XEN_TEST_VCPU0_CR2 - XEN_TEST_SHARED_INFO, "");
_Static_assert(sizeof(struct iret_context) == 72, "");
_Static_assert(offsetof(struct shared_info, vcpu_info[0].evtchn_upcall_mask) ==
	       XEN_TEST_VCPU0_MASK - XEN_TEST_SHARED_INFO, "");
_Static_assert(offsetof(struct shared_info, vcpu_info[0].evtchn_pending_sel) ==
	       XEN_TEST_VCPU0_SEL - XEN_TEST_SHARED_INFO, "");
_Static_assert(offsetof(struct shared_info, evtchn_pending) ==
	       XEN_TEST_EVTCHN_PENDING - XEN_TEST_SHARED_INFO, "");
_Static_assert(offsetof(struct xen_test_events, pending) == XT_EV_PENDING, "");
_Static_assert(offsetof(struct xen_test_boot, cs) == XT_BOOT_CS, "");
_Static_assert(offsetof(struct xen_test_boot, rflags) == XT_BOOT_RFLAGS, "");

/* ------------------------------------------------------------------ */
/* Guest side.                                                         */

void xen_guest_ucall(uint64_t type, uint64_t value)
{
	struct evtchn_send send = { .port = XEN_TEST_PORT };

	xen_test_ucall.type = type;
	xen_test_ucall.value = value;
	xen_test_ucall.seq++;
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

/* An unarmed trap (from xen_test_entry.S): say so, then crash. */
void xen_test_trap_unexpected(uint64_t vector, uint64_t rip, uint64_t error)
	__attribute__((noreturn));

void xen_test_trap_unexpected(uint64_t vector, uint64_t rip, uint64_t error)
{
	static struct xen_ucall_assert ua;
	struct sched_shutdown sd = { .reason = SHUTDOWN_crash };

	ua.expr = "unexpected exception (a: vector, b: rip)";
	ua.file = __FILE__;
	ua.line = error;
	ua.a = vector;
	ua.b = rip;
	xen_guest_ucall(XEN_UCALL_ASSERT, (uint64_t)&ua);
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}

long xen_guest_install_traps(void)
{
	static struct trap_info table[XEN_TEST_NR_TRAPS + 1];
	unsigned int v;

	for (v = 0; v < XEN_TEST_NR_TRAPS; v++) {
		table[v].vector = v;
		table[v].flags = (v == 3 || v == 4) ? 3 : 0;
		table[v].cs = FLAT_KERNEL_CS;
		table[v].address = xen_trap_stubs[v];
	}
	table[v].address = 0;	/* the end */
	return HYPERVISOR_set_trap_table(table);
}

void xen_guest_vcpu_context(struct vcpu_guest_context *ctx, void (*fn)(void),
			    void *stack, uint64_t size)
{
	ctx->flags = VGCF_in_kernel;
	ctx->user_regs.rip = (uint64_t)fn;
	/* As if called: the ABI's alignment at a function's entry. */
	ctx->user_regs.rsp = (uint64_t)stack + size - 8;
	ctx->user_regs.cs = FLAT_KERNEL_CS;
	ctx->user_regs.ss = FLAT_KERNEL_SS;
	ctx->kernel_ss = FLAT_KERNEL_SS;
	ctx->kernel_sp = (uint64_t)stack + size;
	ctx->ctrlreg[3] = XEN_TEST_PT_BASE;
}

long xen_guest_install_event_callback(void)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_event,
		.address = (uint64_t)xen_test_event_callback,
	};

	return xen_hcall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
}

long xen_guest_block_past(uint64_t seen, long max)
{
	volatile struct vcpu_info *vi = &xen_test_shared_info()->vcpu_info[0];
	long blocks = 0, ret = 0;

	vi->evtchn_upcall_mask = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	while (xen_test_events.count == seen && blocks < max) {
		/* Unmasks; the upcall (if any) comes as it returns. */
		ret = xen_hcall2(__HYPERVISOR_sched_op, SCHEDOP_block, 0);
		if (ret)
			break;
		blocks++;
		vi->evtchn_upcall_mask = 1;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	vi->evtchn_upcall_mask = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vi->evtchn_upcall_pending)
		xen_hcall2(__HYPERVISOR_xen_version, XENVER_version, 0);
	return ret ? ret : blocks;
}

uint64_t xen_guest_system_time(void)
{
	volatile struct vcpu_time_info *t =
		&xen_test_shared_info()->vcpu_info[0].time;
	uint32_t version, lo, hi, mul;
	uint64_t stamp, system, delta;
	int8_t shift;

	do {
		version = t->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		stamp = t->tsc_timestamp;
		system = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((version & 1) || version != t->version);
	delta = ((uint64_t)hi << 32 | lo) - stamp;
	delta = shift < 0 ? delta >> -shift : delta << shift;
	return system + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* ------------------------------------------------------------------ */
/* Host side.                                                          */

/*
 * The bootstrap page tables: one L4, L3 and L2, and L1s mapping RAM and the
 * shared_info page 1:1 with 4 KiB pages (a PV guest has no PSE), with the
 * domain builder's protections (docs/xen-pv.md 2.2).  Returns the number
 * of frames.
 */
static unsigned int build_page_tables(void *mem)
{
	uint64_t *l4 = (uint64_t *)((char *)mem + XEN_TEST_PT_BASE);
	uint64_t *l3 = l4 + 512, *l2 = l3 + 512, *l1 = l2 + 512;
	uint64_t pages = XEN_TEST_MEM / 4096, nr_l1 = (pages + 511) / 512, i;

	_Static_assert(XEN_TEST_MEM <= (1ULL << 30), "one L2 maps 1 GiB");
	l4[0] = (XEN_TEST_PT_BASE + 0x1000) | 0x67;
	l3[0] = (XEN_TEST_PT_BASE + 0x2000) | 0x67;
	for (i = 0; i < nr_l1; i++)
		l2[i] = (XEN_TEST_PT_BASE + 0x3000 + i * 0x1000) | 0x67;
	for (i = 0; i < pages; i++)
		l1[i] = i * 4096 | 0x23;
	return 3 + nr_l1;
}

static struct xen_test_vm *create(void (*guest_fn)(void), unsigned int nr_vcpus,
				  int devices)
{
	struct xen_test_vm *t;
	struct start_info *si;
	uint64_t entry, i, *p2m;
	unsigned int nr_pt;
	/* Where the module starts vCPU 0, as our domain builder left it. */
	struct lguest_xen_start start = {
		.cr3 = XEN_TEST_PT_BASE,
		.rsp = XEN_TEST_STACK_TOP,
		.rsi = XEN_TEST_START_INFO,
		.shared_info = XEN_TEST_SHARED_INFO,
		.console_port = XEN_TEST_PORT,
	};
	char err[256];

	if (devices) {
		start.store_port = XEN_TEST_STORE_PORT;
		start.gnttab = XEN_TEST_GNTTAB;
		start.gnttab_frames = XEN_TEST_GNTTAB_FRAMES;
	}

	/* The image must stay below what the host builds. */
	if ((uintptr_t)_end > XEN_TEST_START_INFO) {
		fprintf(stderr, "# xen_test_vm_create: the image (to %p) overlaps start_info\n",
			_end);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (lg_vm_create(&t->vm, "/dev/lguest", XEN_TEST_MEM, err, sizeof(err)) ||
	    lg_load_elf("/proc/self/exe", t->vm.mem, XEN_TEST_RAM, &entry,
			err, sizeof(err))) {
		fprintf(stderr, "# xen_test_vm_create: %s\n", err);
		if (t->vm.fd >= 0)
			lg_vm_destroy(&t->vm);
		free(t);
		return NULL;
	}
	t->vm.nr_vcpus = nr_vcpus;

	nr_pt = build_page_tables(t->vm.mem);
	p2m = xen_test_hva(t, (void *)XEN_TEST_P2M);
	for (i = 0; i < XEN_TEST_RAM / 4096; i++)
		p2m[i] = i;
	si = xen_test_hva(t, (void *)XEN_TEST_START_INFO);
	strcpy(si->magic, "xen-3.0-x86_64");
	si->nr_pages = XEN_TEST_RAM / 4096;
	si->shared_info = XEN_TEST_SHARED_INFO;
	si->flags = 0;
	si->store_mfn = XEN_TEST_STORE_RING / 4096;
	si->store_evtchn = start.store_port;
	si->console.domU.mfn = XEN_TEST_CONSOLE_RING / 4096;
	si->console.domU.evtchn = XEN_TEST_PORT;
	si->pt_base = XEN_TEST_PT_BASE;
	si->nr_pt_frames = nr_pt;
	si->mfn_list = XEN_TEST_P2M;
	/* As the domain builder leaves it: every event masked. */
	((struct shared_info *)xen_test_hva(t, (void *)XEN_TEST_SHARED_INFO))
		->vcpu_info[0].evtchn_upcall_mask = 1;
	*(void (**)(void))xen_test_hva(t, &xen_test_guest_fn) = guest_fn;

	if (lg_vm_init_xen(&t->vm, (uintptr_t)xen_test_guest_entry, &start,
			   err, sizeof(err))) {
		fprintf(stderr, "# xen_test_vm_create: %s\n", err);
		lg_vm_destroy(&t->vm);
		free(t);
		return NULL;
	}
	return t;
}

struct xen_test_vm *xen_test_vm_create_smp(void (*guest_fn)(void), unsigned int nr_vcpus)
{
	return create(guest_fn, nr_vcpus, 0);
}

struct xen_test_vm *xen_test_vm_create(void (*guest_fn)(void))
{
	return create(guest_fn, 1, 0);
}

struct xen_test_vm *xen_test_vm_create_devices(void (*guest_fn)(void))
{
	return create(guest_fn, 1, 1);
}

static void xen_test_wake(int sig)
{
	(void)sig;
}

/*
 * A secondary vCPU's thread: in its run request until the guest ends or
 * the test stops it (a signal: the module returns EINTR).  What it ran
 * into last is kept for the test.
 */
static void *xen_test_vcpu_thread(void *arg)
{
	struct xen_test_vcpu *v = arg;
	struct lguest_exit e;
	int r;

	while (!__atomic_load_n(&v->t->stopping, __ATOMIC_ACQUIRE)) {
		r = lg_vm_run(&v->t->vm, v->id, &e);
		if (r == -EINTR)
			continue;
		if (r) {
			v->error = r;
			break;
		}
		v->exit = e;
		v->exits++;
		if (e.reason == LGUEST_EXIT_SHUTDOWN || e.reason == LGUEST_EXIT_KILLED)
			break;
	}
	return NULL;
}

int xen_test_start_vcpus(struct xen_test_vm *t)
{
	struct sigaction sa = { .sa_handler = xen_test_wake };
	unsigned int i;

	/* No SA_RESTART: the signal must end a sleeping run request. */
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 1; i < t->vm.nr_vcpus && i < XEN_TEST_MAX_VCPUS; i++) {
		t->vcpus[i].t = t;
		t->vcpus[i].id = i;
		if (pthread_create(&t->vcpus[i].th, NULL, xen_test_vcpu_thread, &t->vcpus[i]))
			return -1;
		t->vcpus[i].started = 1;
	}
	return 0;
}

static void xen_test_stop_vcpus(struct xen_test_vm *t)
{
	unsigned int i;

	__atomic_store_n(&t->stopping, 1, __ATOMIC_RELEASE);
	for (i = 1; i < XEN_TEST_MAX_VCPUS; i++) {
		if (!t->vcpus[i].started)
			continue;
		/* Until it has seen the flag: a signal may land between runs. */
		while (pthread_tryjoin_np(t->vcpus[i].th, NULL)) {
			pthread_kill(t->vcpus[i].th, SIGUSR1);
			usleep(1000);
		}
		t->vcpus[i].started = 0;
	}
}

void xen_test_vm_free(struct xen_test_vm *t)
{
	if (!t)
		return;
	xen_test_stop_vcpus(t);
	lg_vm_destroy(&t->vm);
	free(t);
}

static void console_add(struct xen_test_vm *t, const struct lguest_exit *e)
{
	uint64_t n = e->args[0];

	t->console_exits++;
	if (n > LGUEST_MSG_LEN) {
		t->console_bad = 1;
		n = LGUEST_MSG_LEN;
	}
	if (n > t->console_max_chunk)
		t->console_max_chunk = n;
	t->console_total += n;
	if (n > XEN_TEST_CONSOLE_MAX - t->console_len)
		n = XEN_TEST_CONSOLE_MAX - t->console_len;
	memcpy(t->console + t->console_len, e->msg, n);
	t->console_len += n;
	t->console[t->console_len] = 0;
}

int xen_test_run(struct xen_test_vm *t, uint64_t *value)
{
	const volatile struct xen_ucall *uc = xen_test_hva(t, &xen_test_ucall);
	struct lguest_exit *e = &t->exit;
	int r;

	for (;;) {
		r = lg_vm_run(&t->vm, 0, e);
		if (r)
			return r;
		if (e->reason == LGUEST_EXIT_CONSOLE) {
			console_add(t, e);
			continue;
		}
		if (e->reason != LGUEST_EXIT_EVTCHN || e->args[0] != XEN_TEST_PORT)
			return XEN_UCALL_NONE;
		t->ucalls++;
		if (value)
			*value = uc->value;
		if (uc->type == XEN_UCALL_ASSERT) {
			uint64_t gva = uc->value;
			const struct xen_ucall_assert *ua;

			if (gva > XEN_TEST_RAM - sizeof(*ua)) {
				printf("# guest assertion failed, record at %#llx\n",
				       (unsigned long long)gva);
				return XEN_UCALL_ASSERT;
			}
			ua = xen_test_hva(t, (void *)gva);
			/* The strings are at the same addresses in our image. */
			printf("# guest assertion failed: %s at %s:%llu (%#llx, %#llx)\n",
			       ua->expr, ua->file, (unsigned long long)ua->line,
			       (unsigned long long)ua->a, (unsigned long long)ua->b);
		}
		return (int)uc->type;
	}
}

int xen_test_stats(struct xen_test_vm *t, struct lguest_vcpu_stats *st)
{
	return lg_vm_stats(&t->vm, 0, st);
}

unsigned int xen_test_abi_version(void)
{
	struct lguest_info info;
	struct {
		uint64_t req;
		struct lguest_req_info args;
	} msg = {
		LHREQ_INFO, { (uintptr_t)&info, sizeof(info) },
	};
	int fd = open("/dev/lguest", O_RDWR);
	unsigned int v = 0;

	if (fd < 0)
		return 0;
	if (write(fd, &msg, sizeof(msg)) == sizeof(msg))
		v = info.abi_version;
	close(fd);
	return v;
}
