// SPDX-License-Identifier: GPL-2.0
/*
 * isolation_test: what a guest must never be able to touch.  Each test has
 * the guest try, and the host check its own state afterwards: memory of the
 * switcher, the host and other guests; the launcher thread's FS/GS bases and
 * selectors, FPU/SSE/AVX registers, PKRU, RFLAGS.AC/DF and I/O permissions;
 * and the host's SYSCALL entry, on every CPU, while guests run.
 */
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"

#define SWITCHER_TEXT	0xffff808000000000ULL	/* LG_TEXT_VA */
#define SWITCHER_ADDR	0xffff808000400000ULL	/* LG_CUR_VA */
#define CEA_ADDR	0xfffffe0000001000ULL	/* a CPU entry area page */
#define HOST_TEXT	0xffffffff81000000ULL

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

/* Set by the host in the guest's copy before the guest runs. */
static uint64_t host_arg, host_arg2;

/* A launcher global whose guest copy keeps the value the file gave it. */
static volatile uint64_t launcher_secret;

static void set_guest_arg(struct lg_test_vm *t, uint64_t a, uint64_t b)
{
	*(uint64_t *)lg_test_hva(t, &host_arg) = a;
	*(uint64_t *)lg_test_hva(t, &host_arg2) = b;
}

static int cpu_has(unsigned int leaf, unsigned int sub, int reg, unsigned int bit)
{
	unsigned int r[4];

	if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]))
		return 0;
	return !!(r[reg] & (1U << bit));
}

#define EBX 1
#define ECX 2
#define EDX 3

/* ------------------------------------------------------------------ */

static volatile uint64_t pf_count, pf_error, pf_cr2, pf_resume;

static void on_pf(struct guest_regs *r)
{
	pf_count++;
	pf_error = r->error_code;
	pf_cr2 = guest_data.cr2;
	r->rip = pf_resume;
}

static void expect_pf(uint64_t (*fn)(uint64_t, uint64_t), const void *end,
		      uint64_t addr, uint64_t error)
{
	uint64_t n = pf_count;

	pf_resume = (uint64_t)end;
	fn(addr, 0x5a5a5a5a);
	GUEST_ASSERT_EQ(pf_count, n + 1);
	GUEST_ASSERT_EQ(pf_error, error);
	GUEST_ASSERT_EQ(pf_cr2, addr);
}

static void guest_probe_memory(void)
{
	guest_set_handler(14, on_pf);
	/*
	 * The switcher's code and this CPU's page are there, supervisor
	 * only, but the guest is told what its own tables say: not present.
	 * The host's CPU entry area is not there at all.
	 */
	expect_pf(lg_call_read, lg_insn_read_end, SWITCHER_TEXT, 0);
	expect_pf(lg_call_read, lg_insn_read_end, SWITCHER_ADDR, 0);
	expect_pf(lg_call_write, lg_insn_write_end, SWITCHER_ADDR + 8, 2);
	expect_pf(lg_call_read, lg_insn_read_end, CEA_ADDR, 0);
	/* Host kernel text and the launcher's high mappings: not there. */
	expect_pf(lg_call_read, lg_insn_read_end, HOST_TEXT, 0);
	expect_pf(lg_call_read, lg_insn_read_end, host_arg, 0);
	/* The launcher's addresses below the top hold guest memory. */
	GUEST_ASSERT_EQ(launcher_secret, 0);
	launcher_secret = 0xb0b;
	GUEST_SYNC(pf_count);
}

TEST(guest_cannot_reach_switcher_host_or_launcher_memory)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_probe_memory);
	uint64_t *high, v;

	ASSERT_NE(NULL, t);
	launcher_secret = 0x5ec7e7;
	high = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, high);
	*high = 0x5ec7e7;
	set_guest_arg(t, (uintptr_t)high, 0);

	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(6, v);
	EXPECT_EQ(0x5ec7e7, launcher_secret);
	EXPECT_EQ(0x5ec7e7, *high);
	EXPECT_EQ(0xb0b, *(uint64_t *)lg_test_hva(t, (void *)&launcher_secret));
	lg_test_vm_free(t);
}

static uint64_t guest_scratch[512] __attribute__((aligned(4096)));

static void guest_write_own_page(void)
{
	GUEST_ASSERT_EQ(guest_scratch[7], 0);
	guest_scratch[7] = host_arg;
	GUEST_SYNC(guest_scratch[7]);
}

TEST(guests_do_not_share_memory)
{
	struct lg_test_vm *a = lg_test_vm_create(guest_write_own_page);
	struct lg_test_vm *b = lg_test_vm_create(guest_write_own_page);
	uint64_t v;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	set_guest_arg(a, 0xaaaa, 0);
	set_guest_arg(b, 0xbbbb, 0);
	ASSERT_EQ(UCALL_SYNC, run(a, &v));
	EXPECT_EQ(0xaaaa, v);
	ASSERT_EQ(UCALL_SYNC, run(b, &v));
	EXPECT_EQ(0xbbbb, v);
	EXPECT_EQ(0xaaaa, ((uint64_t *)lg_test_hva(a, guest_scratch))[7]);
	EXPECT_EQ(0xbbbb, ((uint64_t *)lg_test_hva(b, guest_scratch))[7]);
	lg_test_vm_free(a);
	lg_test_vm_free(b);
}

/* ------------------------------------------------------------------ */

static uint64_t rdfsbase(void)
{
	uint64_t v;

	asm volatile("rdfsbase %0" : "=r"(v));
	return v;
}

static uint64_t rdgsbase(void)
{
	uint64_t v;

	asm volatile("rdgsbase %0" : "=r"(v));
	return v;
}

static void guest_segments(void)
{
	uint16_t sel = 0x2b;

	if (host_arg) {
		/* No host address leaks through the bases. */
		GUEST_ASSERT_EQ(rdfsbase(), 0);
		GUEST_ASSERT_EQ(rdgsbase(), 0);
	}
	asm volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %0, %%gs"
		     :: "r"(sel));
	if (host_arg) {
		asm volatile("wrfsbase %0" :: "r"(0x1234000ULL));
		asm volatile("wrgsbase %0" :: "r"(0x5678000ULL));
	}
	GUEST_SYNC(1);
	if (host_arg) {
		GUEST_ASSERT_EQ(rdfsbase(), 0x1234000);
		GUEST_ASSERT_EQ(rdgsbase(), 0x5678000);
	}
	GUEST_SYNC(2);
}

static __thread uint64_t tls_word = 0x7157;

static void read_selectors(uint16_t s[4])
{
	asm volatile("mov %%ds, %0; mov %%es, %1; mov %%fs, %2; mov %%gs, %3"
		     : "=r"(s[0]), "=r"(s[1]), "=r"(s[2]), "=r"(s[3]));
}

TEST(guest_cannot_change_launcher_fs_gs)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_segments);
	unsigned long fs0, gs0, fs1, gs1;
	uint16_t sel0[4], sel1[4];
	struct lguest_regs regs;
	int fsgsbase = cpu_has(7, 0, EBX, 0);
	uint64_t v;

	ASSERT_NE(NULL, t);
	set_guest_arg(t, fsgsbase, 0);
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS, &fs0));
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_GS, &gs0));
	read_selectors(sel0);

	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	read_selectors(sel1);
	EXPECT_EQ(0, memcmp(sel0, sel1, sizeof(sel0)));
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_FS, &fs1));
	ASSERT_EQ(0, syscall(SYS_arch_prctl, ARCH_GET_GS, &gs1));
	EXPECT_EQ(fs0, fs1);
	EXPECT_EQ(gs0, gs1);
	EXPECT_EQ(0x7157, tls_word);

	if (fsgsbase) {
		ASSERT_EQ(0, lg_vm_regs(&t->vm, 0, &regs, 0));
		EXPECT_EQ(0x1234000, regs.fs_base);
		EXPECT_EQ(0x5678000, regs.gs_base);
	}
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(2, v);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

#define GUEST_PATTERN	0x6765737467657374ULL	/* "gestgest" */
#define HOST_PATTERN	0x686f7374686f7374ULL	/* "hosthost" */

static void guest_fpu(void)
{
	uint64_t out[2] = { 0, 0 };

	/* Clobber every vector register, then keep ours across an exit. */
	if (host_arg)
		asm volatile("vpcmpeqb %%ymm0, %%ymm0, %%ymm0\n"
			     "vmovdqa %%ymm0, %%ymm8\n vmovdqa %%ymm0, %%ymm9\n"
			     "vmovdqa %%ymm0, %%ymm10\n vmovdqa %%ymm0, %%ymm11\n"
			     "vmovdqa %%ymm0, %%ymm12\n vmovdqa %%ymm0, %%ymm13\n"
			     "vmovdqa %%ymm0, %%ymm14\n vmovdqa %%ymm0, %%ymm15\n"
			     ::: "xmm0", "xmm8", "xmm9", "xmm10", "xmm11",
			     "xmm12", "xmm13", "xmm14", "xmm15");
	asm volatile("movq %0, %%xmm9\n pcmpeqb %%xmm8, %%xmm8\n"
		     "pxor %%xmm10, %%xmm10\n pxor %%xmm11, %%xmm11\n"
		     "pxor %%xmm12, %%xmm12\n pxor %%xmm13, %%xmm13\n"
		     "pxor %%xmm14, %%xmm14\n pxor %%xmm15, %%xmm15\n"
		     :: "r"(GUEST_PATTERN)
		     : "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		       "xmm14", "xmm15");
	GUEST_SYNC(1);
	asm volatile("movq %%xmm9, %0" : "=r"(out[0]));
	GUEST_ASSERT_EQ(out[0], GUEST_PATTERN);
	GUEST_SYNC(2);
}

/*
 * One run with host values in xmm8-15 (ymm8-15 with AVX) held across the
 * system call itself, so no library code can touch them in between.
 */
static long run_holding_vectors(struct lg_test_vm *t, struct lguest_exit *e,
				int avx, uint64_t out[8])
{
	register long r10 asm("r10") = 0;
	uint64_t pattern = HOST_PATTERN;
	long ret;

	if (avx)
		asm volatile("vbroadcastsd %[p], %%ymm8\n vmovdqa %%ymm8, %%ymm9\n"
			     "vmovdqa %%ymm8, %%ymm10\n vmovdqa %%ymm8, %%ymm11\n"
			     "vmovdqa %%ymm8, %%ymm12\n vmovdqa %%ymm8, %%ymm13\n"
			     "vmovdqa %%ymm8, %%ymm14\n vmovdqa %%ymm8, %%ymm15\n"
			     "syscall\n"
			     "vpextrq $0, %%xmm8, 0(%[o])\n"
			     "vextracti128 $1, %%ymm9, %%xmm0\n vmovq %%xmm0, 8(%[o])\n"
			     "vpextrq $1, %%xmm10, 16(%[o])\n"
			     "vextracti128 $1, %%ymm11, %%xmm0\n vpextrq $1, %%xmm0, 24(%[o])\n"
			     "vmovq %%xmm12, 32(%[o])\n vmovq %%xmm13, 40(%[o])\n"
			     "vextracti128 $1, %%ymm14, %%xmm0\n vmovq %%xmm0, 48(%[o])\n"
			     "vmovq %%xmm15, 56(%[o])\n"
			     : "=a"(ret)
			     : "a"(SYS_pread64), "D"(t->vm.fd), "S"(e),
			       "d"(sizeof(*e)), "r"(r10), [p] "m"(pattern),
			       [o] "r"(out)
			     : "rcx", "r11", "memory", "xmm0", "xmm8", "xmm9",
			       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	else
		asm volatile("movq %[p], %%xmm8\n movq %[p], %%xmm9\n"
			     "movq %[p], %%xmm10\n movq %[p], %%xmm11\n"
			     "movq %[p], %%xmm12\n movq %[p], %%xmm13\n"
			     "movq %[p], %%xmm14\n movq %[p], %%xmm15\n"
			     "syscall\n"
			     "movq %%xmm8, 0(%[o])\n movq %%xmm9, 8(%[o])\n"
			     "movq %%xmm10, 16(%[o])\n movq %%xmm11, 24(%[o])\n"
			     "movq %%xmm12, 32(%[o])\n movq %%xmm13, 40(%[o])\n"
			     "movq %%xmm14, 48(%[o])\n movq %%xmm15, 56(%[o])\n"
			     : "=a"(ret)
			     : "a"(SYS_pread64), "D"(t->vm.fd), "S"(e),
			       "d"(sizeof(*e)), "r"(r10), [p] "r"(pattern),
			       [o] "r"(out)
			     : "rcx", "r11", "memory", "xmm8", "xmm9", "xmm10",
			       "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	return ret;
}

TEST(guest_cannot_change_launcher_vector_registers)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_fpu);
	int avx = cpu_has(1, 0, ECX, 28) && cpu_has(7, 0, EBX, 5);
	struct lguest_exit e;
	uint64_t out[8], v;
	int i, round;

	ASSERT_NE(NULL, t);
	set_guest_arg(t, avx, 0);
	for (round = 1; round <= 2; round++) {
		memset(out, 0, sizeof(out));
		ASSERT_EQ(sizeof(e), run_holding_vectors(t, &e, avx, out));
		ASSERT_EQ(LGUEST_EXIT_NOTIFY, e.reason) {
			TH_LOG("exit %u: %s", e.reason, e.msg);
		}
		EXPECT_EQ(UCALL_SYNC, e.args[1]);
		EXPECT_EQ(round, e.args[2]);
		for (i = 0; i < 8; i++)
			EXPECT_EQ(HOST_PATTERN, out[i]) {
				TH_LOG("register %d lost the host's value", 8 + i);
			}
	}
	ASSERT_EQ(UCALL_DONE, run(t, &v));
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static void wrpkru(uint32_t v)
{
	asm volatile("wrpkru" :: "a"(v), "c"(0), "d"(0));
}

static void guest_pkru(void)
{
	wrpkru(0x55555550);	/* deny keys 1-15; key 0 is all of ours */
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(rdpkru(), 0x55555550);
	GUEST_SYNC(2);
}

TEST(guest_cannot_change_launcher_pkru)
{
	struct lg_test_vm *t;
	uint32_t before;
	uint64_t v;

	if (!cpu_has(7, 0, ECX, 4))
		SKIP(return, "no OSPKE");
	t = lg_test_vm_create(guest_pkru);
	ASSERT_NE(NULL, t);
	before = rdpkru();
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(before, rdpkru());
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	EXPECT_EQ(2, v);
	EXPECT_EQ(before, rdpkru());
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static void guest_flags(void)
{
	uint64_t flags;

	/* AC and DF set across a hypercall; only asm may run meanwhile. */
	asm volatile("pushfq\n orq $0x40400, (%%rsp)\n popfq\n"
		     "movl $8, %%eax\n movl $2, %%edi\n movl $1, %%esi\n"
		     "movl $1, %%edx\n syscall\n"
		     "pushfq\n popq %0\n cld\n"
		     "pushfq\n andq $~0x40000, (%%rsp)\n popfq\n"
		     : "=r"(flags) :: "rax", "rdi", "rsi", "rdx", "rcx", "r11",
		     "memory", "cc");
	/* The guest keeps its own DF; AC never survives into the guest. */
	GUEST_ASSERT_EQ(flags & 0x400, 0x400);
	GUEST_ASSERT_EQ(flags & 0x40000, 0);
	GUEST_SYNC(2);
}

TEST(guest_cannot_change_launcher_ac_df)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_flags);
	register long r10 asm("r10") = 0;
	struct lguest_exit e;
	uint64_t flags, v;
	long ret;

	ASSERT_NE(NULL, t);
	asm volatile("syscall\n pushfq\n popq %1"
		     : "=a"(ret), "=r"(flags)
		     : "a"(SYS_pread64), "D"(t->vm.fd), "S"(&e), "d"(sizeof(e)),
		       "r"(r10)
		     : "rcx", "r11", "memory");
	ASSERT_EQ(sizeof(e), ret);
	ASSERT_EQ(LGUEST_EXIT_NOTIFY, e.reason);
	EXPECT_EQ(0, flags & 0x40400);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(2, v);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t gp_count;

static void on_gp(struct guest_regs *r)
{
	gp_count++;
	r->rip = pf_resume;
}

static void guest_ports(void)
{
	guest_set_handler(13, on_gp);
	pf_resume = (uint64_t)lg_insn_outb_end;
	lg_call_outb(0, 0);
	pf_resume = (uint64_t)lg_insn_inb_end;
	lg_call_inb(0, 0);
	GUEST_SYNC(gp_count);
}

TEST(guest_cannot_use_launcher_io_ports)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_ports);
	uint64_t v;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, ioperm(0x80, 1, 1));
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(2, v);
	/* ... while the launcher itself still may. */
	outb(0, 0x80);
	lg_test_vm_free(t);
}

/* ------------------------------------------------------------------ */

static volatile uint64_t ldt_faults, ldt_error;

static void on_ldt_gp(struct guest_regs *r)
{
	ldt_faults++;
	ldt_error = r->error_code;
	r->rip = (uint64_t)lg_insn_load_ds_end;
}

/* Selector 7: LDT entry 0, RPL 3, the launcher's data segment. */
static void guest_uses_ldt(void)
{
	guest_set_handler(13, on_ldt_gp);
	lg_call_load_ds(7, 0);
	GUEST_SYNC(ldt_faults);
	GUEST_SYNC(ldt_error);
}

struct ldt_desc {		/* struct user_desc */
	unsigned int entry_number;
	unsigned int base_addr;
	unsigned int limit;
	unsigned int flags;	/* seg_32bit 1, contents 2, ... useable 64 */
};

/*
 * The launcher has an LDT (modify_ldt()).  While the guest runs there is
 * none: its descriptors would be read through the guest's page tables.
 * Loading an LDT selector is the guest's #GP, and the launcher's own LDT
 * works again afterwards.
 */
TEST(guest_cannot_use_the_launchers_ldt)
{
	struct ldt_desc d = { 0, 0, 0xfffff, 1 | 16 | 64 };	/* 32-bit, pages, useable */
	struct lg_test_vm *t;
	uint16_t sel = 7, saved;
	uint64_t v;

	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)))
		SKIP(return, "no modify_ldt() here");
	t = lg_test_vm_create(guest_uses_ldt);
	ASSERT_NE(NULL, t);
	ASSERT_EQ(UCALL_SYNC, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	EXPECT_EQ(1, v);
	ASSERT_EQ(UCALL_SYNC, run(t, &v));
	EXPECT_EQ(4, v);	/* #GP(selector): LDT, index 0 */
	lg_test_vm_free(t);
	asm volatile("movw %%ds, %0\n\tmovw %1, %%ds\n\tmovw %0, %%ds"
		     : "=&r"(saved) : "r"(sel));
}

/* ------------------------------------------------------------------ */

static volatile int hammering;

struct hammer {
	int cpu;
	unsigned long calls, wrong;
};

/* System calls on every CPU while guests come and go. */
static void *hammer_syscalls(void *arg)
{
	struct hammer *h = arg;
	cpu_set_t set;
	pid_t ppid = getppid();

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (hammering) {
		if (syscall(SYS_getppid) != ppid)
			h->wrong++;
		h->calls++;
	}
	return NULL;
}

static void guest_many_exits(void)
{
	uint64_t i;

	for (i = 0;; i++)
		GUEST_SYNC(i);
}

TEST(host_syscalls_work_on_every_cpu_while_guests_run)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), i;
	struct lg_test_vm *t = lg_test_vm_create(guest_many_exits);
	struct hammer h[64];
	pthread_t th[64];
	cpu_set_t set;
	uint64_t v;

	ASSERT_NE(NULL, t);
	if (ncpu > 64)
		ncpu = 64;
	hammering = 1;
	for (i = 0; i < ncpu; i++) {
		h[i] = (struct hammer){ .cpu = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, hammer_syscalls, &h[i]));
	}
	for (i = 0; i < 4000; i++) {
		if (i % 100 == 0) {
			CPU_ZERO(&set);
			CPU_SET((i / 100) % ncpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		ASSERT_EQ(UCALL_SYNC, run(t, &v));
		ASSERT_EQ(i, v);
		/* And the vCPU thread's own system calls. */
		ASSERT_EQ(getpid(), syscall(SYS_getpid));
	}
	hammering = 0;
	for (i = 0; i < ncpu; i++) {
		pthread_join(th[i], NULL);
		EXPECT_LT(0, h[i].calls);
		EXPECT_EQ(0, h[i].wrong);
	}
	lg_test_vm_free(t);
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
