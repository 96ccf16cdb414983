// SPDX-License-Identifier: GPL-2.0
/*
 * xen_user_test: a Xen PV guest's user mode.  A user process's system call
 * is bounced to the guest kernel's syscall callback, which returns with
 * HYPERVISOR_iret; the switcher does both itself when the module lets it
 * (xen/fast.c, module parameter fast_switch), and C does them otherwise.
 * Each test runs the same guest both ways where that means anything, and
 * asserts what the guest saw (frames, GS bases, the event mask, registers)
 * and which way each trip went (the vCPU's counters); the hostile ones
 * check that a frame or context the switcher must not touch kills the
 * guest, as it does in C.
 *
 * The guest kernel makes a few of its pages user-accessible (the boot
 * tables map everything supervisor-only) and runs user mode on a second
 * L4 (NEW_USER_BASEPTR) sharing the first one's lower half.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "xen_test.h"


#define XS(x)		#x
#define XSTR(x)		XS(x)

#define NR_CALLS	64
#define DONE_CALL	0xd09e
#define USER_GS_MAGIC	0x7573657267730001ULL
#define KERNEL_GS_MAGIC	0x6b65726e67730002ULL
#define CALLEE_MAGIC	0x0123456789abcdefULL
/* A page the kernel makes user-accessible after user mode has run. */
#define PF_PAGE		0x3880000	/* XEN_TEST_SCRATCH + 0x80000 */
/* Pages user mode faults on, which its kernel maps in its #PF handler. */
#define PF_AREA		0x3900000	/* XEN_TEST_SCRATCH + 0x100000 */
#define NR_PF		16
/* Linux's __USER_CS and __USER_DS on x86-64 (Xen's are 0xe033, 0xe02b). */
#define LINUX_USER_CS	0x33
#define LINUX_USER_DS	0x2b

/*
 * In the hole: the switcher's per-CPU area (switcher.h's LG_CUR_VA), whose
 * first words are the guest's registers as its last exit saved them, so
 * that a switcher that forgot the hole would find a context the guest
 * chose there (and write a frame over them).
 */
#define HOLE_ADDR	0xffff808000400000ULL
#define PTE_USER	0x4ULL
#define PTE_ADDR	0x000ffffffffff000ULL

/* What the syscall callback saw, one record per call (xen_user_entry). */
struct cb_rec {
	uint64_t frame[7];	/* RCX, R11, RIP, CS, RFLAGS, RSP, SS */
	uint64_t entry_rsp;
	uint64_t gs;		/* %gs:0 in the callback: the kernel's GS */
	uint64_t mask;		/* vcpu_info's event mask in the callback */
	uint64_t rax, rdi;
	uint64_t cr3;		/* the kernel's L4 (mov from CR3, emulated) */
};

#define CB_REC_SIZE	104

struct cb_rec cb_recs[NR_CALLS + 1];
uint64_t cb_count;
uint64_t xt_kernel_rsp;
volatile uint8_t *xt_mask = (volatile uint8_t *)XEN_TEST_VCPU0_MASK;

/* User mode's pages: its stack, its GS data (magic, then errors). */
static uint8_t user_stack[4096] __attribute__((aligned(4096)));
volatile uint64_t user_data[512] __attribute__((aligned(4096)));
static volatile uint64_t kernel_data[512] __attribute__((aligned(4096)));
/* The stack_switch stack: never touched before the first system call. */
static uint8_t kstack[2 * 4096] __attribute__((aligned(4096)));

extern char xt_user_start[], xt_user_end[], xt_user_after_syscall[], xt_user_after_done[];
extern char xt_user_touch[], xt_user_faults[], xt_user_fault_store[], xt_user_load[];
void xt_pf_entry(void);
void xt_enter_user(uint64_t rip, uint64_t rsp);
void xt_syscall_cb(void);
void xt_hostile_iret(uint64_t rsp, uint64_t user_rip, uint64_t user_rsp);

/*
 * User mode's loop, in pages of its own: NR_CALLS system calls, each with
 * its index in RAX and the user GS's magic in RDI, expecting 2 * i + 1
 * back and RBX kept; then DONE_CALL.  A wrong answer counts in
 * user_data[1].
 *
 * User mode records the CS it came back on in user_data[2 + i].
 *
 * The callback records the frame and its own view, and returns with
 * HYPERVISOR_iret as Linux's xen_iret does (flags 0: RCX and R11 from
 * the context), or for DONE_CALL goes back to xt_enter_user()'s caller.
 * For odd calls it returns on Linux's own user selectors, __USER_CS and
 * __USER_DS (its GDT's, which Linux's iret passes), for even ones on the
 * frame's, Xen's flat ones.
 */
__asm__(
	".text\n"
	".balign 4096\n"
	".globl xt_user_start, xt_user_end, xt_user_after_syscall, xt_user_after_done\n"
	"xt_user_start:\n"
	"	xorl %r12d, %r12d\n"
	"	movabsq $0x0123456789abcdef, %rbx\n"
	"1:	movq %gs:0, %rdi\n"
	"	movq %r12, %rax\n"
	"	syscall\n"
	"xt_user_after_syscall:\n"
	"	leaq 1(%r12,%r12), %rcx\n"
	"	cmpq %rcx, %rax\n"
	"	jne 2f\n"
	"	movabsq $0x0123456789abcdef, %rcx\n"
	"	cmpq %rcx, %rbx\n"
	"	je 3f\n"
	"2:	incq %gs:8\n"
	"3:	movl %cs, %ecx\n"
	"	movq %rcx, %gs:16(,%r12,8)\n"
	"	incq %r12\n"
	"	cmpq $" XSTR(NR_CALLS) ", %r12\n"
	"	jb 1b\n"
	"	movq $" XSTR(DONE_CALL) ", %rax\n"
	"	syscall\n"
	"xt_user_after_done:\n"
	"	ud2\n"
	/* Read the page at PF_PAGE into user_data[128], then DONE_CALL. */
	".globl xt_user_touch\n"
	"xt_user_touch:\n"
	"	movabsq $" XSTR(PF_PAGE) ", %rcx\n"
	"	movq (%rcx), %rax\n"
	"	movq %rax, %gs:1024\n"
	"	movq $" XSTR(DONE_CALL) ", %rax\n"
	"	syscall\n"
	"	ud2\n"
	/*
	 * Write i to page i of PF_AREA, for each of NR_PF pages, with RAX,
	 * RCX, RDX and R11 holding values of i each store must keep (the
	 * switcher borrows them when it bounces a fault); a changed one
	 * counts in user_data[1].  Then DONE_CALL.
	 */
	".globl xt_user_faults, xt_user_fault_store\n"
	"xt_user_faults:\n"
	"	xorl %r12d, %r12d\n"
	"	movabsq $" XSTR(PF_AREA) ", %rbx\n"
	"1:	leaq 0x100(%r12), %rax\n"
	"	leaq 0x200(%r12), %rcx\n"
	"	leaq 0x300(%r12), %rdx\n"
	"	leaq 0x400(%r12), %r11\n"
	"xt_user_fault_store:\n"
	"	movq %r12, (%rbx)\n"
	"	leaq 0x100(%r12), %r13\n"
	"	cmpq %r13, %rax\n"
	"	jne 2f\n"
	"	leaq 0x200(%r12), %r13\n"
	"	cmpq %r13, %rcx\n"
	"	jne 2f\n"
	"	leaq 0x300(%r12), %r13\n"
	"	cmpq %r13, %rdx\n"
	"	jne 2f\n"
	"	leaq 0x400(%r12), %r13\n"
	"	cmpq %r13, %r11\n"
	"	je 3f\n"
	"2:	incq %gs:8\n"
	"3:	addq $4096, %rbx\n"
	"	incq %r12\n"
	"	cmpq $" XSTR(NR_PF) ", %r12\n"
	"	jb 1b\n"
	"	movq $" XSTR(DONE_CALL) ", %rax\n"
	"	syscall\n"
	"	ud2\n"
	/* Load from the address in user_data[130] into user_data[131]. */
	".globl xt_user_load\n"
	"xt_user_load:\n"
	"	movq %gs:1040, %rcx\n"
	"	movq (%rcx), %rax\n"
	"	movq %rax, %gs:1048\n"
	"	movq $" XSTR(DONE_CALL) ", %rax\n"
	"	syscall\n"
	"	ud2\n"
	".balign 4096\n"
	"xt_user_end:\n"
	"\n"
	".globl xt_enter_user, xt_syscall_cb, xt_hostile_iret\n"
	"xt_enter_user:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, xt_kernel_rsp(%rip)\n"
	/* iret_context: RAX, R11, RCX, flags, RIP, CS, RFLAGS, RSP, SS. */
	"	pushq $0xe02b\n"
	"	pushq %rsi\n"
	"	pushq $0x202\n"
	"	pushq $0xe033\n"
	"	pushq %rdi\n"
	"	pushq $0\n"
	"	pushq $0\n"
	"	pushq $0\n"
	"	pushq $0\n"
	"	movl $23, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"\n"
	"xt_syscall_cb:\n"
	"	movq cb_count(%rip), %r9\n"
	"	cmpq $" XSTR(NR_CALLS) ", %r9\n"
	"	jbe 1f\n"
	"	movq $" XSTR(NR_CALLS) ", %r9\n"
	"1:	imulq $" XSTR(CB_REC_SIZE) ", %r9\n"
	"	leaq cb_recs(%rip), %r8\n"
	"	addq %r8, %r9\n"
	"	.irp w, 0, 1, 2, 3, 4, 5, 6\n"
	"	movq 8 * \\w(%rsp), %r8\n"
	"	movq %r8, 8 * \\w(%r9)\n"
	"	.endr\n"
	"	movq %rsp, 56(%r9)\n"
	"	movq %gs:0, %r8\n"
	"	movq %r8, 64(%r9)\n"
	"	movq xt_mask(%rip), %r8\n"
	"	movzbl (%r8), %r8d\n"
	"	movq %r8, 72(%r9)\n"
	"	movq %rax, 80(%r9)\n"
	"	movq %rdi, 88(%r9)\n"
	"	movq %cr3, %r8\n"
	"	movq %r8, 96(%r9)\n"
	"	incq cb_count(%rip)\n"
	"	cmpq $" XSTR(DONE_CALL) ", %rax\n"
	"	je 2f\n"
	"	testb $1, %al\n"
	"	jz 3f\n"
	"	movq $" XSTR(LINUX_USER_CS) ", 24(%rsp)\n"
	"	movq $" XSTR(LINUX_USER_DS) ", 48(%rsp)\n"
	"3:	leaq 1(%rax,%rax), %rax\n"
	"	popq %rcx\n"
	"	popq %r11\n"
	"	pushq $0\n"
	"	pushq %rcx\n"
	"	pushq %r11\n"
	"	pushq %rax\n"
	"	movl $23, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"2:	movq xt_kernel_rsp(%rip), %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	"\n"
	/*
	 * HYPERVISOR_iret with its context at @rsp, after a hypercall whose
	 * exit saved R15 .. R9 (where the hole's area has them) as a context
	 * back to @user_rip, @user_rsp.
	 */
	"xt_hostile_iret:\n"
	"	movq %rdi, %rax\n"
	"	xorl %r15d, %r15d\n"
	"	xorl %r14d, %r14d\n"
	"	xorl %r13d, %r13d\n"
	"	xorl %r12d, %r12d\n"
	"	movq %rsi, %rbp\n"
	"	movl $0xe033, %ebx\n"
	"	movq %rdx, %r10\n"
	"	movl $0xe02b, %r9d\n"
	"	pushq %rax\n"
	"	movl $" XSTR(__HYPERVISOR_xen_version) ", %eax\n"
	"	xorl %edi, %edi\n"
	"	xorl %esi, %esi\n"
	"	syscall\n"
	"	popq %rsp\n"
	"	movl $23, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"\n"
	/*
	 * The #PF handler, as Linux's xen_asm_exc_page_fault enters its
	 * own: the frame (RCX, R11, error code, RIP, CS, RFLAGS, RSP, SS)
	 * to xt_pf_c(), every register kept, and back by HYPERVISOR_iret
	 * with RCX and R11 from the frame.
	 */
	".globl xt_pf_entry\n"
	"xt_pf_entry:\n"
	"	pushq %rax\n"
	"	pushq %rdx\n"
	"	pushq %rsi\n"
	"	pushq %rdi\n"
	"	pushq %r8\n"
	"	pushq %r9\n"
	"	pushq %r10\n"
	"	leaq 56(%rsp), %rdi\n"
	"	subq $8, %rsp\n"
	"	call xt_pf_c\n"
	"	addq $8, %rsp\n"
	"	popq %r10\n"
	"	popq %r9\n"
	"	popq %r8\n"
	"	popq %rdi\n"
	"	popq %rsi\n"
	"	popq %rdx\n"
	"	popq %rax\n"
	"	popq %rcx\n"
	"	popq %r11\n"
	"	addq $8, %rsp\n"
	"	pushq $0\n"
	"	pushq %rcx\n"
	"	pushq %r11\n"
	"	pushq %rax\n"
	"	movl $23, %eax\n"
	"	syscall\n"
	"	ud2\n");

/* Let user mode reach [@start, @end), by mmu_update as a PV kernel must. */
static long make_user(uint64_t start, uint64_t end)
{
	uint64_t va;
	long r = 0;

	for (va = start & ~4095ULL; va < end && !r; va += 4096) {
		struct mmu_update u = {
			.ptr = (uint64_t)xen_test_l1e(va),
			.val = *xen_test_l1e(va) | PTE_USER,
		};

		r = xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u, 1, 0,
				  DOMID_SELF, 0);
	}
	return r;
}

static struct {
	long setup[6];
	uint64_t gs_after;	/* %gs:0 back in kernel mode */
} res;

/*
 * Everything user mode needs: its pages, its L4, both GS bases, the
 * kernel stack for traps from it (@ksp), the syscall callback.
 */
/* Set: setup_user_mode() leaves the user GS base as the guest named it. */
static int user_gs_named;

static void setup_user_mode(uint64_t ksp)
{
	struct callback_register cb = {
		.type = CALLBACKTYPE_syscall,
		.flags = CALLBACKF_mask_events,
		.address = (uint64_t)xt_syscall_cb,
	};
	uint64_t *user_l4 = (uint64_t *)XEN_TEST_SCRATCH;
	struct mmuext_op op = { .cmd = MMUEXT_NEW_USER_BASEPTR };
	unsigned int i;

	user_data[0] = USER_GS_MAGIC;
	kernel_data[0] = KERNEL_GS_MAGIC;
	/* Its own L4, sharing the kernel's lower half. */
	for (i = 0; i < 512; i++)
		user_l4[i] = i ? 0 : ((uint64_t *)XEN_TEST_PT_BASE)[0];
	op.arg1.mfn = XEN_TEST_SCRATCH >> 12;
	res.setup[0] = make_user((uint64_t)xt_user_start, (uint64_t)xt_user_end);
	res.setup[1] = make_user((uint64_t)user_stack, (uint64_t)user_stack + 4096);
	res.setup[2] = make_user((uint64_t)user_data, (uint64_t)user_data + 4096);
	res.setup[3] = xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0,
				     DOMID_SELF, 0);
	res.setup[4] = (user_gs_named ? 0 :
			HYPERVISOR_set_segment_base(SEGBASE_GS_USER, (uint64_t)user_data)) |
		       HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL, (uint64_t)kernel_data);
	res.setup[5] = xen_hcall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, ksp) |
		       xen_hcall2(__HYPERVISOR_callback_op, CALLBACKOP_register, &cb);
}

static void guest_syscalls(void)
{
	setup_user_mode((uint64_t)kstack + sizeof(kstack));
	xt_enter_user((uint64_t)xt_user_start, (uint64_t)user_stack + sizeof(user_stack));
	res.gs_after = read_gs0();
}

/*
 * Run @fn's guest with fast_switch @fast, to its end or its death; the
 * parameter is the whole module's, and goes back before any assertion.
 */
static struct xen_test_vm *run_with(struct __test_metadata *_metadata,
				    void (*fn)(void), int fast, int *ucall,
				    struct lguest_vcpu_stats *st)
{
	int was = lg_get_fast_switch(), stats = -1;
	struct xen_test_vm *t = NULL;
	uint64_t v;

	*ucall = -1;
	ASSERT_LE(0, was) {
		TH_LOG("cannot read %s", LG_FAST_SWITCH);
	}
	if (!lg_set_fast_switch(fast)) {
		t = xen_test_vm_create(fn);
		*ucall = t ? xen_test_run(t, &v) : -1;
		stats = t ? xen_test_stats(t, st) : -1;
	}
	ASSERT_EQ(0, lg_set_fast_switch(was));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, stats);
	return t;
}

/* The same, for a guest that must get to its end. */
static struct xen_test_vm *run_to_done(struct __test_metadata *_metadata,
				       void (*fn)(void), int fast,
				       struct lguest_vcpu_stats *st)
{
	struct xen_test_vm *t;
	int ucall;

	t = run_with(_metadata, fn, fast, &ucall, st);
	ASSERT_EQ(XEN_UCALL_DONE, ucall) {
		TH_LOG("exit %u: %s", t->exit.reason, t->exit.msg);
	}
	return t;
}

static void check_syscalls(struct __test_metadata *_metadata, int fast)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	uint64_t ktop = ((uint64_t)kstack + sizeof(kstack)) & ~15ULL;
	unsigned int i;

	t = run_to_done(_metadata, guest_syscalls, fast, &st);
	typeof(res) *r = xen_test_hva(t, &res);
	const struct cb_rec *rec = xen_test_hva(t, cb_recs);
	const uint64_t *count = xen_test_hva(t, &cb_count);
	const volatile uint64_t *ud = xen_test_hva(t, user_data);

	for (i = 0; i < 6; i++)
		EXPECT_EQ(0, r->setup[i]);
	EXPECT_EQ(NR_CALLS + 1, *count);
	/* What user mode checked: every answer, RBX kept. */
	EXPECT_EQ(0, ud[1]);
	/* ... and the selector each iret asked for, either way. */
	for (i = 0; i < NR_CALLS; i++)
		EXPECT_EQ(i & 1 ? LINUX_USER_CS : 0xe033, ud[2 + i]);
	for (i = 0; i <= NR_CALLS; i++) {
		const struct cb_rec *c = &rec[i];
		uint64_t ret = (uint64_t)(i < NR_CALLS ? xt_user_after_syscall :
					  xt_user_after_done);

		/* Xen's frame: RCX and RIP the return address, R11 the flags. */
		EXPECT_EQ(ret, c->frame[0]);
		EXPECT_EQ(ret, c->frame[2]);
		EXPECT_EQ(0x200, c->frame[1] & 0x200);
		/* User CS, events unmasked before (mask 0 in bits 32-39). */
		EXPECT_EQ(0xe033ULL, c->frame[3]);
		/* The user's flags, IF the virtual one: on. */
		EXPECT_EQ((c->frame[1] & 0x210dd5) | 0x202, c->frame[4]);
		EXPECT_EQ((uint64_t)user_stack + sizeof(user_stack), c->frame[5]);
		EXPECT_EQ(0xe02bULL, c->frame[6]);
		/* On the stack_switch stack, aligned, below the frame. */
		EXPECT_EQ(ktop - 56, c->entry_rsp);
		/* The kernel's GS, events masked (CALLBACKF_mask_events). */
		EXPECT_EQ(KERNEL_GS_MAGIC, c->gs);
		EXPECT_EQ(1, c->mask);
		EXPECT_EQ(i < NR_CALLS ? i : DONE_CALL, c->rax);
		EXPECT_EQ(USER_GS_MAGIC, c->rdi);
		EXPECT_EQ(XEN_TEST_PT_BASE, c->cr3);
	}
	EXPECT_EQ(KERNEL_GS_MAGIC, r->gs_after);

	/* Every iret the guest made counts, fast or not: the first enters. */
	EXPECT_EQ(NR_CALLS + 1, st.xen_hcalls[__HYPERVISOR_iret]);
	/* The one stack_switch, the switcher's if it may (xen/fast.c). */
	EXPECT_EQ(1, st.xen_hcalls[__HYPERVISOR_stack_switch]);
	EXPECT_EQ(fast ? 1 : 0, st.fast_hcalls);
	if (fast) {
		/*
		 * The first call's frame faults in the switcher (the stack's
		 * page is not in the shadow yet) and C bounces it; the rest
		 * stay in the switcher, and so does every return to user
		 * mode, the first included: NEW_USER_BASEPTR made the vCPU
		 * hold the user L4's space (xen/mmu.c).
		 */
		EXPECT_EQ(1, st.user_syscalls);
		EXPECT_EQ(NR_CALLS, st.fast_syscalls);
		EXPECT_EQ(NR_CALLS + 1, st.fast_returns);
	} else {
		EXPECT_EQ(NR_CALLS + 1, st.user_syscalls);
		EXPECT_EQ(0, st.fast_syscalls);
		EXPECT_EQ(0, st.fast_returns);
	}
	xen_test_vm_free(t);
}

TEST(user_syscalls_and_iret_in_the_switcher)
{
	check_syscalls(_metadata, 1);
}

TEST(user_syscalls_and_iret_in_c)
{
	check_syscalls(_metadata, 0);
}

/*
 * A second round after the kernel moved to another L4 (a copy of the
 * first) and another stack_switch stack, untouched: the switcher takes
 * the iret to user mode, its bounce of the next call faults on the new
 * stack and C bounces it, from user mode, into the kernel's L4 as it is
 * now, not as it was when C last went to user mode.
 */
static uint8_t kstack2[4096] __attribute__((aligned(4096)));
static uint64_t moved_l4;

static void guest_kernel_moves(void)
{
	uint64_t *l4 = (uint64_t *)(XEN_TEST_SCRATCH + 4096);
	struct mmuext_op op = { .cmd = MMUEXT_NEW_BASEPTR };
	unsigned int i;

	guest_syscalls();
	cb_count = 0;
	for (i = 0; i < 512; i++)
		l4[i] = ((uint64_t *)XEN_TEST_PT_BASE)[i];
	moved_l4 = (uint64_t)l4;
	op.arg1.mfn = moved_l4 >> 12;
	GUEST_ASSERT(!xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0,
				    DOMID_SELF, 0));
	GUEST_ASSERT(!xen_hcall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS,
				 (uint64_t)kstack2 + sizeof(kstack2)));
	xt_enter_user((uint64_t)xt_user_start, (uint64_t)user_stack + sizeof(user_stack));
}

TEST(a_kernel_l4_changed_in_kernel_mode_is_where_calls_land)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	unsigned int i;

	t = run_to_done(_metadata, guest_kernel_moves, 1, &st);
	const struct cb_rec *rec = xen_test_hva(t, cb_recs);
	const uint64_t *moved = xen_test_hva(t, &moved_l4);

	EXPECT_EQ(NR_CALLS + 1, *(uint64_t *)xen_test_hva(t, &cb_count));
	for (i = 0; i <= NR_CALLS; i++) {
		EXPECT_EQ(*moved, rec[i].cr3) {
			TH_LOG("call %u ran on L4 %#llx", i,
			       (unsigned long long)rec[i].cr3);
		}
		EXPECT_EQ(((uint64_t)kstack2 + sizeof(kstack2)) - 56, rec[i].entry_rsp);
	}
	/* Both rounds' first calls went through C, the rest not. */
	EXPECT_EQ(2, st.user_syscalls);
	EXPECT_EQ(2 * NR_CALLS, st.fast_syscalls);
	/* Both stack_switches stayed in the switcher, which told C. */
	EXPECT_EQ(2, st.xen_hcalls[__HYPERVISOR_stack_switch]);
	EXPECT_EQ(2, st.fast_hcalls);
	xen_test_vm_free(t);
}

/*
 * Stacks the switcher cannot vet go to C, which records them as Xen
 * does (0 back): none (0), one too low for a frame, one past the
 * canonical lower half, one in the hole.  Then a good one, the
 * switcher's, is where every call lands.
 */
static const uint64_t bad_stacks[] = {
	0, 0x20, 0x0000800000000040ULL, HOLE_ADDR + 56,
};

static void guest_stacks_vetted(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(bad_stacks) / sizeof(bad_stacks[0]); i++)
		GUEST_ASSERT(!xen_hcall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS,
					 bad_stacks[i]));
	guest_syscalls();
}

TEST(stacks_the_switcher_cannot_vet_are_left_to_c)
{
	uint64_t ktop = ((uint64_t)kstack + sizeof(kstack)) & ~15ULL;
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	unsigned int i;

	t = run_to_done(_metadata, guest_stacks_vetted, 1, &st);
	const struct cb_rec *rec = xen_test_hva(t, cb_recs);

	EXPECT_EQ(NR_CALLS + 1, *(uint64_t *)xen_test_hva(t, &cb_count));
	for (i = 0; i <= NR_CALLS; i++)
		EXPECT_EQ(ktop - 56, rec[i].entry_rsp);
	EXPECT_EQ(sizeof(bad_stacks) / sizeof(bad_stacks[0]) + 1,
		  st.xen_hcalls[__HYPERVISOR_stack_switch]);
	EXPECT_EQ(1, st.fast_hcalls);
	EXPECT_EQ(NR_CALLS, st.fast_syscalls);
	xen_test_vm_free(t);
}

/*
 * A context switch as Linux makes it: in kernel mode, the kernel names
 * another user L4 (here a copy of the first) and returns to user mode.
 * The space it named is held from the hypercall on, so the switcher takes
 * that first iret too, and every one after it: none goes through C.
 */
static void guest_user_l4_moves(void)
{
	uint64_t *l4 = (uint64_t *)(XEN_TEST_SCRATCH + 2 * 4096);
	struct mmuext_op op = { .cmd = MMUEXT_NEW_USER_BASEPTR };
	unsigned int i;

	guest_syscalls();
	cb_count = 0;
	for (i = 0; i < 512; i++)
		l4[i] = ((uint64_t *)XEN_TEST_SCRATCH)[i];
	op.arg1.mfn = (uint64_t)l4 >> 12;
	GUEST_ASSERT(!xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0,
				    DOMID_SELF, 0));
	xt_enter_user((uint64_t)xt_user_start, (uint64_t)user_stack + sizeof(user_stack));
}

TEST(a_user_l4_named_in_kernel_mode_is_where_the_switcher_returns)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;

	t = run_to_done(_metadata, guest_user_l4_moves, 1, &st);
	EXPECT_EQ(NR_CALLS + 1, *(uint64_t *)xen_test_hva(t, &cb_count));
	/* What user mode checked in the second round: every answer. */
	EXPECT_EQ(0, ((const volatile uint64_t *)xen_test_hva(t, user_data))[1]);
	/* Two rounds of NR_CALLS + 1 irets, every one in the switcher. */
	EXPECT_EQ(2 * (NR_CALLS + 1), st.xen_hcalls[__HYPERVISOR_iret]);
	EXPECT_EQ(2 * (NR_CALLS + 1), st.fast_returns);
	xen_test_vm_free(t);
}

/*
 * A page the kernel maps for user mode with one mmu_update (Linux's
 * set_pte() for a page fault's new page) is filled in the user space
 * before user mode touches it (xen/mmu.c's prefetch_user()), when it is
 * the page the guest was told it faulted on (the vcpu_info's CR2, which
 * the guest sets here as Xen's delivery of that fault would): between the
 * two syncs, user mode runs again on pages it has used before, reads the
 * new one, and nothing is filled.  Any other page (Linux's fault-around
 * maps a dozen beside the one that faulted) is left to its own fault:
 * one fill.
 */
_Static_assert(PF_PAGE == XEN_TEST_SCRATCH + 0x80000, "PF_PAGE in the scratch area");

static struct {
	long map;
} pf_res;

static void prefetch(uint64_t cr2)
{
	volatile uint64_t *l1e = xen_test_l1e(PF_PAGE);
	struct mmu_update u = {
		.ptr = (uint64_t)l1e,
		.val = PF_PAGE | 0x1 | 0x2 | PTE_USER | 0x40,	/* P, RW, U, D */
	};

	guest_syscalls();
	*(volatile uint64_t *)PF_PAGE = 0xfeed;
	/* Seen by the hypercall (its asm clobbers memory). */
	*(uint64_t *)XEN_TEST_VCPU0_CR2 = cr2;
	pf_res.map = xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u, 1, 0,
				   DOMID_SELF, 0);
	GUEST_SYNC(1);
	xt_enter_user((uint64_t)xt_user_touch, (uint64_t)user_stack + sizeof(user_stack));
	GUEST_SYNC(2);
}

static void guest_prefetch_faulted(void)
{
	prefetch(PF_PAGE + 0x123);
}

static void guest_prefetch_around(void)
{
	prefetch(PF_PAGE + 0x1000);
}

static void check_prefetch(struct __test_metadata *_metadata, void (*guest)(void),
			   uint64_t expect_fills)
{
	struct xen_test_vm *t = xen_test_vm_create(guest);
	uint64_t fills;

	XEN_FILLS_BETWEEN_SYNCS(t, fills);
	XEN_RUN_DONE(t);
	typeof(pf_res) *r = xen_test_hva(t, &pf_res);
	const volatile uint64_t *ud = xen_test_hva(t, user_data);

	EXPECT_EQ(0, r->map);
	EXPECT_EQ(0xfeed, ud[128]);
	EXPECT_EQ(expect_fills, fills);
	xen_test_vm_free(t);
}

TEST(the_page_a_fault_is_answered_with_is_filled_before_it_is_touched)
{
	check_prefetch(_metadata, guest_prefetch_faulted, 0);
}

TEST(a_page_mapped_around_the_fault_waits_for_its_own)
{
	check_prefetch(_metadata, guest_prefetch_around, 1);
}

/*
 * set_segment_base for FS, a task's TLS base on Linux's context switch, is
 * the switcher's (xen/fast.c): the base it loads is the one the kernel
 * reads through %fs, then and after an exit through C; a non-canonical one
 * is C's, refused (XSA-193), and leaves the base as it was.  The same
 * either way, with the switcher's count the only difference.
 */
static struct {
	uint64_t fs[4];
	long bad;
} fs_res;

static void guest_fs_bases(void)
{
	user_data[0] = USER_GS_MAGIC;
	kernel_data[0] = KERNEL_GS_MAGIC;
	GUEST_ASSERT(!HYPERVISOR_set_segment_base(SEGBASE_FS, (uint64_t)kernel_data));
	fs_res.fs[0] = read_fs0();
	GUEST_ASSERT(!HYPERVISOR_set_segment_base(SEGBASE_FS, (uint64_t)user_data));
	fs_res.fs[1] = read_fs0();
	GUEST_ASSERT(HYPERVISOR_xen_version(XENVER_version, NULL) > 0);
	fs_res.fs[2] = read_fs0();
	fs_res.bad = HYPERVISOR_set_segment_base(SEGBASE_FS, 0x0000800000000000ULL);
	fs_res.fs[3] = read_fs0();
}

static void check_fs_bases(struct __test_metadata *_metadata, int fast)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;

	t = run_to_done(_metadata, guest_fs_bases, fast, &st);
	typeof(fs_res) *r = xen_test_hva(t, &fs_res);

	EXPECT_EQ(KERNEL_GS_MAGIC, r->fs[0]);
	EXPECT_EQ(USER_GS_MAGIC, r->fs[1]);
	EXPECT_EQ(USER_GS_MAGIC, r->fs[2]);
	EXPECT_EQ(-EINVAL, r->bad);
	EXPECT_EQ(USER_GS_MAGIC, r->fs[3]);
	EXPECT_EQ(3, st.xen_hcalls[__HYPERVISOR_set_segment_base]);
	EXPECT_EQ(fast ? 2 : 0, st.fast_hcalls);
	xen_test_vm_free(t);
}

TEST(fs_bases_set_in_the_switcher)
{
	check_fs_bases(_metadata, 1);
}

TEST(fs_bases_set_in_c)
{
	check_fs_bases(_metadata, 0);
}

/*
 * A user process's page faults on memory its kernel maps on demand, as
 * Linux maps a fresh mapping page by page: the #PF handler (xt_pf_entry,
 * in the trap table as an interrupt gate, masking events as Linux's is)
 * maps the page CR2 names by mmu_update and returns with
 * HYPERVISOR_iret.  The user L4 is pinned, so its shadow is coherent
 * (pgtable/coherent.c): the first fault's walk, in C, finds the PTE absent
 * and marks every absent PTE of that L1 in the shadow (pgtable/absent.c),
 * and with fast_switch the switcher bounces the other faults itself.
 * Either way the kernel sees the same thing: the frame a CPU-and-Xen would
 * give (RCX, R11, error code "not present, user, write", the store's RIP,
 * the user's CS with the mask as it was, RFLAGS with the virtual IF, RSP,
 * SS), CR2 in the vcpu_info, events masked, its own GS base, its stack
 * less 64 bytes; and user mode finds its registers kept and its stores
 * done.
 */
struct pf_rec {
	uint64_t frame[8];
	uint64_t at, cr2, mask, gs;
};

static struct pf_rec pf_recs[NR_PF + 1];
static uint64_t pf_count;
static long pf_map;

void xt_pf_c(const uint64_t *f);
void xt_pf_c(const uint64_t *f)
{
	struct pf_rec *r = &pf_recs[pf_count < NR_PF ? pf_count : NR_PF];
	uint64_t cr2 = *(volatile uint64_t *)XEN_TEST_VCPU0_CR2;
	struct mmu_update u = {
		.ptr = (uint64_t)xen_test_l1e(cr2),
		.val = (cr2 & PTE_ADDR) | 0x67,	/* P, RW, U, A, D */
	};
	unsigned int i;

	for (i = 0; i < 8; i++)
		r->frame[i] = f[i];
	r->at = (uint64_t)f;
	r->cr2 = cr2;
	r->mask = *xt_mask;
	r->gs = read_gs0();
	pf_count++;
	GUEST_ASSERT(cr2 >= PF_AREA && cr2 < PF_AREA + NR_PF * 4096);
	pf_map |= xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u, 1, 0, DOMID_SELF, 0);
}

static struct {
	long absent, traps, pin;
	uint64_t got[NR_PF];
} fault_res;

/* User mode set up, its L4 pinned, PF_AREA absent, the handler in. */
static void setup_faults(void)
{
	struct trap_info ti[2] = {
		{ .vector = 14, .flags = 4, .cs = FLAT_KERNEL_CS,
		  .address = (uint64_t)xt_pf_entry },
	};
	struct mmuext_op pin = {
		.cmd = MMUEXT_PIN_L4_TABLE, .arg1.mfn = XEN_TEST_SCRATCH >> 12,
	};
	unsigned int i;

	setup_user_mode((uint64_t)kstack + sizeof(kstack));
	for (i = 0; i < NR_PF; i++) {
		struct mmu_update u = {
			.ptr = (uint64_t)xen_test_l1e(PF_AREA + i * 4096), .val = 0,
		};

		fault_res.absent |= xen_hypercall(__HYPERVISOR_mmu_update, (uint64_t)&u,
						  1, 0, DOMID_SELF, 0);
	}
	fault_res.traps = HYPERVISOR_set_trap_table(ti);
	fault_res.pin = xen_hypercall(__HYPERVISOR_mmuext_op, (uint64_t)&pin, 1, 0,
				      DOMID_SELF, 0);
}

static void guest_faults(void)
{
	unsigned int i;

	setup_faults();
	xt_enter_user((uint64_t)xt_user_faults, (uint64_t)user_stack + sizeof(user_stack));
	for (i = 0; i < NR_PF; i++)
		fault_res.got[i] = *(volatile uint64_t *)(PF_AREA + i * 4096UL);
}

static void check_faults(struct __test_metadata *_metadata, int fast)
{
	uint64_t ktop = ((uint64_t)kstack + sizeof(kstack)) & ~15ULL;
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	unsigned int i;

	t = run_to_done(_metadata, guest_faults, fast, &st);
	typeof(fault_res) *r = xen_test_hva(t, &fault_res);
	const struct pf_rec *rec = xen_test_hva(t, pf_recs);
	const volatile uint64_t *ud = xen_test_hva(t, user_data);

	EXPECT_EQ(0, r->absent);
	EXPECT_EQ(0, r->traps);
	EXPECT_EQ(0, r->pin);
	EXPECT_EQ(0, *(long *)xen_test_hva(t, &pf_map));
	EXPECT_EQ(NR_PF, *(uint64_t *)xen_test_hva(t, &pf_count));
	EXPECT_EQ(0, ud[1]);
	for (i = 0; i < NR_PF; i++) {
		const struct pf_rec *c = &rec[i];

		EXPECT_EQ(i, r->got[i]);
		EXPECT_EQ(PF_AREA + i * 4096, c->cr2);
		EXPECT_EQ(0x200 + i, c->frame[0]);
		EXPECT_EQ(0x400 + i, c->frame[1]);
		/* Not present, a write, from user mode. */
		EXPECT_EQ(6, c->frame[2]);
		EXPECT_EQ((uint64_t)xt_user_fault_store, c->frame[3]);
		/* The user's CS, events unmasked before; IF the virtual one. */
		EXPECT_EQ(0xe033ULL, c->frame[4]);
		EXPECT_EQ(0x200, c->frame[5] & 0x200);
		EXPECT_EQ((uint64_t)user_stack + sizeof(user_stack), c->frame[6]);
		EXPECT_EQ(0xe02bULL, c->frame[7]);
		EXPECT_EQ(ktop - 64, c->at);
		EXPECT_EQ(1, c->mask);
		EXPECT_EQ(KERNEL_GS_MAGIC, c->gs);
	}
	/* Each a trap delivered, whichever way it went. */
	EXPECT_EQ(NR_PF, st.pf_reflected);
	if (fast) {
		/* The first walk marks the L1's absent PTEs, then no exit. */
		EXPECT_EQ(NR_PF, st.absent_marked);
		EXPECT_EQ(NR_PF - 1, st.fast_faults);
		/*
		 * Fills of pages the guest holds already are made between two
		 * world switches, through tables the coherent shadow has bound.
		 */
		EXPECT_LT(0, st.fastpath_fills);
	} else {
		EXPECT_EQ(0, st.absent_marked);
		EXPECT_EQ(0, st.fast_faults);
		EXPECT_EQ(0, st.fastpath_fills);
	}
	xen_test_vm_free(t);
}

TEST(user_page_faults_in_the_switcher)
{
	check_faults(_metadata, 1);
}

TEST(user_page_faults_in_c)
{
	check_faults(_metadata, 0);
}

/*
 * An L1 the kernel writes in place (pinned, read-only to it: the write
 * traps once and the table is unsync until the next flush) loses its
 * absent leaves at that first write: the PTE it makes present is used at
 * once, with no fault, as on a CPU (which caches no absent entry).  A
 * stale absent leaf would have the switcher bounce a fault on a present
 * PTE to the kernel: the handler would count a second fault.
 */
static struct {
	long table_ro;
	uint64_t loaded;
} in_place_res;

static void guest_absent_written_in_place(void)
{
	volatile uint64_t *l1 = xen_test_l1e(PF_AREA);
	uint64_t t = (uint64_t)l1 & PTE_ADDR;
	volatile uint64_t *ud = user_data;

	/* Its page keeps what it holds while it is not mapped. */
	*(volatile uint64_t *)(PF_AREA + 0x5000UL) = 0x5eed;
	setup_faults();
	ud[130] = PF_AREA;
	xt_enter_user((uint64_t)xt_user_load, (uint64_t)user_stack + sizeof(user_stack));
	in_place_res.table_ro = xen_hypercall(__HYPERVISOR_update_va_mapping, t,
					      t | 0x1 | 0x20, UVMF_INVLPG, 0, 0);
	l1[5] = (PF_AREA + 0x5000) | 0x67;
	ud[130] = PF_AREA + 0x5000;
	xt_enter_user((uint64_t)xt_user_load, (uint64_t)user_stack + sizeof(user_stack));
	in_place_res.loaded = ud[131];
}

TEST(absent_leaves_go_when_their_l1_is_written_in_place)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;

	t = run_to_done(_metadata, guest_absent_written_in_place, 1, &st);
	typeof(in_place_res) *r = xen_test_hva(t, &in_place_res);

	EXPECT_EQ(0, *(long *)xen_test_hva(t, &pf_map));
	EXPECT_EQ(0, r->table_ro);
	EXPECT_EQ(0x5eed, r->loaded);
	/* The first load's fault, through C, marked the L1's PTEs... */
	EXPECT_EQ(NR_PF, st.absent_marked);
	/* ... and the second load found its PTE, not a stale leaf. */
	EXPECT_EQ(1, *(uint64_t *)xen_test_hva(t, &pf_count));
	EXPECT_EQ(0, st.fast_faults);
	xen_test_vm_free(t);
}

/*
 * The inactive GS base comes back to C after any of the switcher's paths
 * (lg_xen_fast_exit()), so it must go in with every entry: a CPU's pages
 * may last have held another guest's.  The first guest leaves its own
 * there, a kernel address; the second, on the same CPU, names its user GS
 * base through C before it has a user L4 (when only stack_switch is
 * offered), and the switcher takes its stack_switch.  Its user mode must
 * find its own base, not the first guest's.
 */
static void guest_leaves_its_gs_base(void)
{
	setup_user_mode((uint64_t)kstack + sizeof(kstack));
	GUEST_ASSERT(!HYPERVISOR_set_segment_base(SEGBASE_GS_USER, (uint64_t)kernel_data));
	GUEST_ASSERT(!xen_hcall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS,
				 (uint64_t)kstack + sizeof(kstack)));
}

static void guest_names_its_gs_base_first(void)
{
	GUEST_ASSERT(!HYPERVISOR_set_segment_base(SEGBASE_GS_USER, (uint64_t)user_data));
	GUEST_ASSERT(!xen_hcall2(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS,
				 (uint64_t)kstack + sizeof(kstack)));
	user_gs_named = 1;
	guest_syscalls();
}

TEST(a_user_gs_base_is_never_another_guests)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	cpu_set_t one;
	unsigned int i;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	t = run_to_done(_metadata, guest_leaves_its_gs_base, 1, &st);
	EXPECT_EQ(2, st.fast_hcalls);
	xen_test_vm_free(t);

	t = run_to_done(_metadata, guest_names_its_gs_base_first, 1, &st);
	const struct cb_rec *rec = xen_test_hva(t, cb_recs);

	EXPECT_EQ(NR_CALLS + 1, *(uint64_t *)xen_test_hva(t, &cb_count));
	EXPECT_EQ(0, ((const volatile uint64_t *)xen_test_hva(t, user_data))[1]);
	for (i = 0; i <= NR_CALLS; i++)
		EXPECT_EQ(USER_GS_MAGIC, rec[i].rdi);
	EXPECT_EQ(2, st.fast_hcalls);
	xen_test_vm_free(t);
}

/* ------------------------------------------------------------------ */
/* Hostile frames: what the switcher must leave to C, which kills.    */

/* The frame would go over the area's first words. */
static void guest_frame_in_the_hole(void)
{
	setup_user_mode(HOLE_ADDR + 56);
	xt_enter_user((uint64_t)xt_user_start, (uint64_t)user_stack + sizeof(user_stack));
	GUEST_ASSERT(!"a system call bounced to a stack in the hole");
}

static uint64_t hostile_rsp;

/*
 * A round of user mode first (so the switcher may take the iret), then
 * an iret whose context is at hostile_rsp.
 */
static void guest_iret_context(void)
{
	setup_user_mode((uint64_t)kstack + sizeof(kstack));
	xt_enter_user((uint64_t)xt_user_start, (uint64_t)user_stack + sizeof(user_stack));
	xt_hostile_iret(hostile_rsp, (uint64_t)xt_user_start,
			(uint64_t)user_stack + sizeof(user_stack));
	GUEST_ASSERT(!"a hostile iret came back");
}

static void guest_iret_in_the_hole(void)
{
	hostile_rsp = HOLE_ADDR;
	guest_iret_context();
}

/* Canonical, but its last words are not: a #GP in the switcher. */
static void guest_iret_across_canonical(void)
{
	hostile_rsp = 0x00007fffffffffc8ULL;
	guest_iret_context();
}

/* Not mapped: a #PF in the switcher. */
static void guest_iret_unmapped(void)
{
	hostile_rsp = XEN_TEST_UNMAPPED;
	guest_iret_context();
}

static void expect_killed(struct __test_metadata *_metadata, void (*fn)(void),
			  const char *why, uint64_t fast_before)
{
	struct lguest_vcpu_stats st;
	struct xen_test_vm *t;
	int ucall;

	t = run_with(_metadata, fn, 1, &ucall, &st);
	EXPECT_EQ(XEN_UCALL_NONE, ucall);
	EXPECT_EQ(LGUEST_EXIT_KILLED, t->exit.reason);
	EXPECT_NE(NULL, strstr(t->exit.msg, why)) {
		TH_LOG("killed: %.128s", t->exit.msg);
	}
	/* Each went through user mode first, with fast irets. */
	EXPECT_EQ(fast_before, st.fast_returns);
	xen_test_vm_free(t);
}

/* Our own pages are writable at CPL0: the switcher must not write there. */
TEST(a_bounce_frame_in_the_hole_kills)
{
	expect_killed(_metadata, guest_frame_in_the_hole,
		      "cannot write an exception frame", 1);
}

TEST(an_iret_context_in_the_hole_kills)
{
	expect_killed(_metadata, guest_iret_in_the_hole, "iret: cannot read its frame",
		      NR_CALLS + 1);
}

TEST(an_iret_context_running_off_the_canonical_half_kills)
{
	expect_killed(_metadata, guest_iret_across_canonical, "iret: cannot read its frame",
		      NR_CALLS + 1);
}

TEST(an_unmapped_iret_context_kills)
{
	expect_killed(_metadata, guest_iret_unmapped, "iret: cannot read its frame",
		      NR_CALLS + 1);
}

TEST_HARNESS_MAIN
