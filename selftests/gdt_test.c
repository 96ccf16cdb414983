// SPDX-License-Identifier: GPL-2.0
/*
 * gdt_test: the guest's own descriptors (LHCALL_LOAD_GDT) and what the
 * descriptor registers tell it.
 *
 * While a guest runs, the CPU uses lguest's GDT, TSS and IDT in the
 * hypervisor hole; the guest's entries are checked as they come in, and
 * its selectors before every entry (vcpu/gdt.c).  These tests load code
 * and data segments and run on them across exits, try the descriptors the
 * host must refuse, change a descriptor under a selector in use, and read
 * what sgdt, sidt, str and sldt show.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "lg_test.h"

static struct lguest_exit last_exit;

static int run(struct lg_test_vm *t, uint64_t *v)
{
	return lg_test_run(t, v, &last_exit);
}

#define RUN_SYNC(t, v)	LG_RUN_SYNC(t, v, &last_exit)

/* Flat descriptors, as the CPU wants them (the accessed bit clear). */
#define CODE64_DPL3	0x00affa000000ffffULL
#define DATA_DPL3	0x00cff2000000ffffULL
#define DATA_DPL0	0x00cf92000000ffffULL
#define CODE32_DPL3	0x00cffa000000ffffULL
#define TSS_DESC	0x0000890000000067ULL	/* a system descriptor */
#define MY_CS		(7 << 3 | 3)		/* 0x3b */
#define MY_DS		(8 << 3 | 3)		/* 0x43 */

/* LHCALL_LOAD_GDT through int $0x1f, which keeps CS as it is. */
static long load_gdt_int(uint64_t first, uint64_t count, const uint64_t *d)
{
	long ret;

	asm volatile("int $0x1f" : "=a"(ret)
		     : "a"(LHCALL_LOAD_GDT), "D"(first), "S"(count), "d"(d)
		     : "memory");
	return ret;
}

static long load_gdt(uint64_t first, uint64_t count, const uint64_t *d)
{
	return hcall(LHCALL_LOAD_GDT, first, count, (uint64_t)d, 0);
}

static inline uint16_t read_cs(void)
{
	uint16_t v;

	asm volatile("mov %%cs, %0" : "=r"(v));
	return v;
}

static inline uint16_t read_ds(void)
{
	uint16_t v;

	asm volatile("mov %%ds, %0" : "=r"(v));
	return v;
}

static inline void write_ds(uint16_t v)
{
	asm volatile("mov %0, %%ds" :: "r"(v) : "memory");
}

/*
 * A far jump to @cs, right here, through a 16:32 pointer (the code is
 * below 4 GiB; AMD CPUs have no 16:64 form).  Not lretq: QEMU 7.2's TCG
 * reads a CPL3 far return's stack as a supervisor access, which SMAP
 * refuses (docs/NOTES.md).
 */
static inline void switch_cs(uint16_t cs)
{
	struct {
		uint32_t off;
		uint16_t sel;
	} __attribute__((packed)) far = { .sel = cs };

	asm volatile("leaq 1f(%%rip), %%rax\n\t"
		     "movl %%eax, %0\n\t"
		     "ljmpl *%0\n"
		     "1:" : "+m"(far) :: "rax", "memory");
}

/* Would the CPU load @sel?  lar says, and sets ZF if so. */
static inline int selector_usable(uint16_t sel)
{
	uint8_t ok;

	asm volatile("lar %1, %%eax\n\tsetz %0" : "=q"(ok) : "r"((uint32_t)sel) : "rax", "cc");
	return ok;
}

static uint64_t descs[4];

static void guest_own_segments(void)
{
	uint16_t cs_after, ds_after;

	descs[0] = CODE64_DPL3;
	descs[1] = DATA_DPL3;
	GUEST_ASSERT_EQ(load_gdt(7, 2, descs), LGUEST_HCALL_OK);
	GUEST_ASSERT(selector_usable(MY_CS));
	GUEST_ASSERT(selector_usable(MY_DS));

	/* A data segment of its own survives an exit to the launcher. */
	write_ds(MY_DS);
	GUEST_SYNC(read_ds());
	GUEST_ASSERT_EQ(read_ds(), MY_DS);

	/* So does a code segment, across a hypercall that keeps CS. */
	switch_cs(MY_CS);
	GUEST_ASSERT_EQ(read_cs(), MY_CS);
	GUEST_ASSERT_EQ(load_gdt_int(9, 1, descs), LGUEST_HCALL_OK);
	cs_after = read_cs();
	ds_after = read_ds();
	switch_cs(LGUEST_USER_CS);
	GUEST_ASSERT_EQ(cs_after, MY_CS);
	GUEST_ASSERT_EQ(ds_after, MY_DS);
	GUEST_ASSERT(selector_usable(9 << 3 | 3));

	/* Xen's flat selectors are always there. */
	write_ds(0xe02b);
	GUEST_ASSERT_EQ(read_ds(), 0xe02b);
	switch_cs(0xe033);
	GUEST_ASSERT_EQ(read_cs(), 0xe033);
	switch_cs(LGUEST_USER_CS);

	/* A data selector whose entry goes reads back as null. */
	write_ds(MY_DS);
	descs[2] = 0;
	GUEST_ASSERT_EQ(load_gdt(8, 1, &descs[2]), LGUEST_HCALL_OK);
	GUEST_ASSERT(!selector_usable(MY_DS));
	GUEST_SYNC(read_ds());
	GUEST_DONE();
}

TEST(a_guest_runs_on_its_own_code_and_data_segments)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_own_segments);
	struct lguest_vcpu_stats st;
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ(MY_DS, v);
	RUN_SYNC(t, &v);
	EXPECT_EQ(0, v);
	ASSERT_EQ(UCALL_DONE, run(t, &v)) {
		TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
	}
	/* Copied into the CPU's GDT when they changed, not on every entry. */
	ASSERT_EQ(0, lg_vm_stats(&t->vm, 0, &st));
	EXPECT_LT(3, st.gdt_loads);
	EXPECT_GT(st.entries, st.gdt_loads);
	lg_test_vm_free(t);
}

static void guest_bad_descriptors(void)
{
	/* index, descriptor: each refused, and nothing loaded. */
	static const uint64_t bad[][2] = {
		{ 9, TSS_DESC }, { 9, DATA_DPL0 }, { 9, CODE32_DPL3 },
		{ 0, DATA_DPL3 }, { 2, DATA_DPL3 }, { 5, DATA_DPL3 },
		{ 6, CODE64_DPL3 }, { 512, DATA_DPL3 },
	};
	unsigned int i, refused = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		descs[0] = bad[i][1];
		refused += load_gdt(bad[i][0], 1, descs) == LGUEST_HCALL_EINVAL;
	}
	/* A batch with one bad descriptor loads none of them. */
	descs[0] = DATA_DPL3;
	descs[1] = DATA_DPL3;
	descs[2] = DATA_DPL0;
	refused += load_gdt(10, 3, descs) == LGUEST_HCALL_EINVAL;
	GUEST_ASSERT(!selector_usable(10 << 3 | 3));
	/* A count that runs past the guest's entries. */
	refused += load_gdt(511, 2, descs) == LGUEST_HCALL_EINVAL;
	/* The host's own entries still work. */
	GUEST_ASSERT(selector_usable(LGUEST_USER_CS));
	GUEST_ASSERT(selector_usable(LGUEST_USER_SS));
	GUEST_SYNC(refused);
}

TEST(system_and_privileged_descriptors_are_refused)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_bad_descriptors);
	uint64_t v;

	ASSERT_NE(NULL, t);
	RUN_SYNC(t, &v);
	EXPECT_EQ(10, v);
	lg_test_vm_free(t);
}

static void guest_pulls_its_code_segment(void)
{
	descs[0] = CODE64_DPL3;
	GUEST_ASSERT_EQ(load_gdt(7, 1, descs), LGUEST_HCALL_OK);
	switch_cs(MY_CS);
	/* Its own CS becomes a data segment: it cannot run on that. */
	descs[1] = DATA_DPL3;
	load_gdt_int(7, 1, &descs[1]);
	GUEST_SYNC(1);
}

TEST(a_guest_that_pulls_its_code_segment_is_killed)
{
	const char *why = lg_test_kill_reason(guest_pulls_its_code_segment, &last_exit);

	ASSERT_NE(NULL, why);
	EXPECT_EQ(0, strncmp(why, "guest left 64-bit mode (cs 0x3b, ss 0x2b)", 41))
		TH_LOG("%s", why);
}

/*
 * A 32-bit IRET whose EFLAGS image has VM set (docs/limits.md M:054).  In
 * long mode a CPU ignores VM there: the guest goes on at the frame's
 * CS:EIP, on Xen's flat CS64 here (always in the GDT), or takes a #GP if
 * the selector's RPL is 0.  QEMU's TCG enters virtual-8086 mode instead, at
 * linear CS * 16 + IP, and the next trap's frame holds that CS, which
 * reads as CPL0 if its RPL is 0: that is where the fuzzer left a host CPU
 * stopped in the switcher.  So the V86 code goes there, and leaves V86
 * mode each of the three ways there are: a trap (hlt is privileged), a
 * `syscall`, an interrupt of the host's (a spin with IF on).  The host
 * must go on either way, and the guest with it (a CPU) or be killed,
 * saying so, at the exit we meant (an emulator).
 */
#define XEN_CS64	0xe033
static const uint8_t v86_code[][2] = {
	{ 0xf4, 0xf4 },		/* hlt: #GP(0) in V86 mode */
	{ 0x0f, 0x05 },		/* syscall */
	{ 0xeb, 0xfe },		/* jmp . until a host interrupt */
};
#define V86_WAYS	3
static const unsigned int v86_exit[V86_WAYS] = { 13, 0x100 /* LG_TRAP_SYSCALL */, 32 };
static uint64_t v86_variant;	/* way, + V86_WAYS for CS with RPL 3 */

static void guest_iretl_with_vm(void)
{
	unsigned int way = v86_variant % V86_WAYS;
	uint32_t frame[9] = { 0 };
	uint8_t *v86;

	frame[1] = v86_variant < V86_WAYS ? XEN_CS64 & ~3 : XEN_CS64;
	frame[2] = 0x20202;		/* VM | IF | the fixed bit */
	frame[4] = LGUEST_USER_SS;
	asm volatile("leaq 1f(%%rip), %%rax\n\t"
		     "movl %%eax, %0\n\t"
		     : "=m"(frame[0]) :: "rax");
	v86 = (uint8_t *)(uintptr_t)(frame[1] * 16 + (frame[0] & 0xffff));
	v86[0] = v86_code[way][0];
	v86[1] = v86_code[way][1];
	/* ESP: this one, zero-extended by a CPU (the stack is below 4 GiB). */
	asm volatile("movq %%rsp, %%rax\n\t"
		     "movl %%eax, 12(%0)\n\t"
		     "movq %0, %%rsp\n\t"
		     "iretl\n"
		     "1:"
		     :: "r"(frame) : "rax", "memory");
	GUEST_ASSERT_EQ(read_cs(), XEN_CS64);
	switch_cs(LGUEST_USER_CS);
	GUEST_SYNC(1);
}

TEST(an_iret_into_virtual_8086_mode_leaves_the_host_running)
{
	unsigned int i, v86 = 0;

	for (i = 0; i < 2 * V86_WAYS; i++) {
		unsigned int vector, tries = 0;
		struct lg_test_vm *t;
		uint64_t v;
		int r;

again:
		t = lg_test_vm_create(guest_iretl_with_vm);
		ASSERT_NE(NULL, t);
		SET_GUEST(t, v86_variant, i);
		r = run(t, &v);
		if (sscanf(last_exit.msg, "it entered virtual-8086 mode (vector %u at",
			   &vector) == 1) {
			/*
			 * IF is set in V86 mode, so a host interrupt (a
			 * vector below 0x100, which is a syscall's exit) may
			 * come before the way's first instruction: that exit
			 * is right too, but the way's own is the one to test,
			 * so up to 10 tries.  If the host's timer came first
			 * at every one (the debug kernel under TCG, whose
			 * ticks are slow), the interrupt's exit is the one
			 * tested, and the test says so.
			 */
			bool host_irq = vector >= 32 && vector < 0x100;

			if (host_irq && v86_exit[i % V86_WAYS] != 32 && ++tries < 10) {
				lg_test_vm_free(t);
				goto again;
			}
			/* An emulator: killed at the exit of the way it left. */
			ASSERT_EQ(UCALL_NONE, r);
			EXPECT_EQ(LGUEST_EXIT_KILLED, last_exit.reason);
			if (v86_exit[i % V86_WAYS] == 32 || host_irq) {
				EXPECT_TRUE(host_irq) TH_LOG("vector %u", vector);
				if (v86_exit[i % V86_WAYS] != 32)
					TH_LOG("way %u: a host interrupt (vector %u) came first at %u entries",
					       i, vector, tries);
			} else if (v86_exit[i % V86_WAYS] == 0x100 && vector == 6) {
				/* Intel's SYSCALL is #UD outside 64-bit mode. */
			} else {
				EXPECT_EQ(v86_exit[i % V86_WAYS], vector);
			}
			v86++;
		} else if (i < V86_WAYS) {
			/* The SDM's CPU: a #GP for the RPL 0 selector... */
			ASSERT_EQ(UCALL_NONE, r);
			EXPECT_EQ(0, strncmp(last_exit.msg, "unhandled trap 13 (#GP)", 23))
				TH_LOG("%s", last_exit.msg);
		} else {
			/* ... and with RPL 3, VM ignored, on in 64-bit mode. */
			ASSERT_EQ(UCALL_SYNC, r)
				TH_LOG("exit %u: %s", last_exit.reason, last_exit.msg);
			EXPECT_EQ(1, v);
		}
		lg_test_vm_free(t);
	}
	/* All or nothing: a CPU never enters V86 mode, an emulator always. */
	EXPECT_TRUE(v86 == 0 || v86 == i);
	if (v86)
		TH_LOG("this CPU entered V86 mode in long mode (QEMU's TCG does)");
}

/*
 * `mov %eax, %cs` is #UD on a CPU.  QEMU's TCG loads the null selector
 * into CS and goes on at CPL3 (M:054), so that the next trap's frame says
 * CPL0; the ud2 after it makes that trap come at once.
 */
static void guest_mov_to_cs(void)
{
	asm volatile("xorl %%eax, %%eax\n\t"
		     ".byte 0x8e, 0xc8\n\t"	/* mov %eax, %cs */
		     "ud2" ::: "rax");
	GUEST_SYNC(1);
}

TEST(a_null_cs_at_cpl3_leaves_the_host_running)
{
	unsigned int vector, tries = 0;
	const char *why;

	/* A host interrupt may come before the ud2: then try again. */
	do {
		why = lg_test_kill_reason(guest_mov_to_cs, &last_exit);
		ASSERT_NE(NULL, why);
	} while (sscanf(why, "it ran on CS 0x0 at CPL3 (vector %u", &vector) == 1 &&
		 vector >= 32 && ++tries < 10);
	if (strncmp(why, "unhandled trap 6 (#UD)", 22)) {
		/* An emulator's: killed at the ud2's #UD, saying why. */
		EXPECT_EQ(0, strncmp(why, "it ran on CS 0x0 at CPL3 (vector 6 at", 37))
			TH_LOG("%s", why);
		TH_LOG("this CPU loaded a null CS at CPL3 (QEMU's TCG does)");
	}
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
