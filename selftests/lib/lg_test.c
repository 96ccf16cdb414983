// SPDX-License-Identifier: GPL-2.0
/* The host side of the selftests' guest library (see lg_test.h). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "lg_test.h"
#include "../lguest_util.h"

/* In lg_test_entry.S: calls guest_init(), then the function in %r12. */
extern char lg_test_guest_entry[];

struct lg_test_vm *lg_test_vm_create(void (*guest_fn)(void))
{
	return lg_test_vm_create_smp(guest_fn, 1);
}

struct lg_test_vm *lg_test_vm_create_smp(void (*guest_fn)(void),
					 unsigned int nr_vcpus)
{
	return lg_test_vm_create_mem(guest_fn, nr_vcpus, LG_TEST_MEM);
}

struct lg_test_vm *lg_test_vm_create_mem(void (*guest_fn)(void),
					 unsigned int nr_vcpus, uint64_t mem_size)
{
	struct lg_test_vm *t;
	struct lguest_regs regs;
	uint64_t entry;
	char err[256];

	if (mem_size < LG_TEST_MEM) {
		fprintf(stderr, "# lg_test_vm_create: less memory than LG_TEST_MEM\n");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (lg_vm_create(&t->vm, "/dev/lguest", mem_size, err, sizeof(err)) ||
	    (t->vm.nr_vcpus = nr_vcpus, 0) ||
	    lg_load_elf("/proc/self/exe", t->vm.mem, t->vm.mem_size, &entry,
			err, sizeof(err)) ||
	    lg_vm_init(&t->vm, (uintptr_t)lg_test_guest_entry, err, sizeof(err))) {
		fprintf(stderr, "# lg_test_vm_create: %s\n", err);
		if (t->vm.fd >= 0)
			lg_vm_destroy(&t->vm);
		free(t);
		return NULL;
	}
	if (lg_vm_regs(&t->vm, 0, &regs, 0)) {
		fprintf(stderr, "# GETREGS: %s\n", strerror(errno));
		lg_test_vm_free(t);
		return NULL;
	}
	regs.r12 = (uintptr_t)guest_fn;
	/* Within what lg_test_paging_on() maps, however large memory is. */
	regs.rsp = LG_TEST_MEM - 64;
	if (lg_vm_regs(&t->vm, 0, &regs, 1)) {
		fprintf(stderr, "# SETREGS: %s\n", strerror(errno));
		lg_test_vm_free(t);
		return NULL;
	}
	return t;
}

struct secondary {
	struct lg_test_vm *t;
	unsigned int vcpu;
};

static void on_stop_signal(int sig)
{
	(void)sig;
}

/* A secondary vCPU's thread: run until the guest dies or we are stopped. */
static void *run_secondary(void *arg)
{
	struct secondary *s = arg;
	struct lg_test_vm *t = s->t;
	struct lguest_exit *e = &t->secondary_exit[s->vcpu];
	int r;

	t->tids[s->vcpu] = gettid();
	for (;;) {
		r = lg_vm_run(&t->vm, s->vcpu, e);
		if (r == -EINTR && !t->stopping)
			continue;
		if (r)
			break;
		if (lg_vm_console(&t->vm, e, stdout))
			continue;
		if (e->reason != LGUEST_EXIT_NOTIFY)
			break;
		if (e->args[0] == LGUEST_NOTIFY_UCALL && e->args[1] == UCALL_ASSERT) {
			struct ucall_assert *ua = lg_test_hva(t, (void *)e->args[2]);

			printf("# vCPU %u: guest assertion failed: %s at %s:%llu (%#llx, %#llx)\n",
			       s->vcpu, ua->expr, ua->file, (unsigned long long)ua->line,
			       (unsigned long long)ua->a, (unsigned long long)ua->b);
			__atomic_fetch_add(&t->secondary_failures, 1, __ATOMIC_RELAXED);
		}
	}
	free(s);
	return NULL;
}

/* A thread for each vCPU but 0, ready for the guest to start them. */
int lg_test_start_secondaries(struct lg_test_vm *t)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	unsigned int i;

	/* No SA_RESTART: the signal must end a run with EINTR. */
	if (sigaction(SIGUSR1, &sa, NULL))
		return -errno;
	for (i = 1; i < t->vm.nr_vcpus; i++) {
		struct secondary *s = malloc(sizeof(*s));

		if (!s)
			return -ENOMEM;
		s->t = t;
		s->vcpu = i;
		if (pthread_create(&t->threads[t->nr_threads], NULL, run_secondary, s)) {
			free(s);
			return -EAGAIN;
		}
		t->nr_threads++;
	}
	return 0;
}

int lg_test_vm_free(struct lg_test_vm *t)
{
	unsigned int i;
	int failures;

	if (!t)
		return 0;
	t->stopping = 1;
	for (i = 0; i < t->nr_threads; i++) {
		/* Signal until it notices: a run may be starting as we send. */
		while (pthread_tryjoin_np(t->threads[i], NULL)) {
			pthread_kill(t->threads[i], SIGUSR1);
			usleep(1000);
		}
	}
	failures = t->secondary_failures;
	lg_vm_destroy(&t->vm);
	free(t);
	return failures;
}

int lg_test_run(struct lg_test_vm *t, uint64_t *value, struct lguest_exit *exit)
{
	struct lguest_exit e;
	int r;

	for (;;) {
		r = lg_vm_run(&t->vm, 0, &e);
		if (r)
			return r;
		if (lg_vm_console(&t->vm, &e, stdout))
			continue;
		if (exit)
			*exit = e;
		if (e.reason != LGUEST_EXIT_NOTIFY ||
		    e.args[0] != LGUEST_NOTIFY_UCALL)
			return UCALL_NONE;
		if (value)
			*value = e.args[2];
		if (e.args[1] == UCALL_ASSERT) {
			struct ucall_assert *ua = lg_test_hva(t, (void *)e.args[2]);

			/* The strings are at the same address in our memory. */
			printf("# guest assertion failed: %s at %s:%llu (%#llx, %#llx)\n",
			       ua->expr, ua->file, (unsigned long long)ua->line,
			       (unsigned long long)ua->a, (unsigned long long)ua->b);
		}
		return (int)e.args[1];
	}
}

void lg_test_run_fast_switch(struct lg_fast_run *r, void (*guest_fn)(void),
			     int fast, struct lguest_exit *exit)
{
	int was = lg_get_fast_switch();

	memset(r, 0, sizeof(*r));
	r->ucall = -1;
	r->stats = -1;
	r->restored = -1;
	if (was < 0 || lg_set_fast_switch(fast))
		return;
	r->vm = lg_test_vm_create(guest_fn);
	if (r->vm) {
		r->ucall = lg_test_run(r->vm, &r->value, exit);
		r->stats = lg_vm_stats(&r->vm->vm, 0, &r->st);
	}
	r->restored = lg_set_fast_switch(was);
}

const char *lg_test_kill_reason(void (*guest_fn)(void), struct lguest_exit *exit)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_fn);
	uint64_t v;
	int r;

	if (!t)
		return NULL;
	r = lg_test_run(t, &v, exit);
	lg_test_vm_free(t);
	if (r != UCALL_NONE || exit->reason != LGUEST_EXIT_KILLED) {
		printf("# the guest was not killed: run %d, exit %u: %s\n",
		       r, exit->reason, exit->msg);
		return NULL;
	}
	return exit->msg;
}

int lg_test_info(struct lguest_info *info)
{
	struct {
		uint64_t req;
		struct lguest_req_info args;
	} msg = {
		LHREQ_INFO, { (uintptr_t)info, sizeof(*info) },
	};
	int fd = open("/dev/lguest", O_RDWR), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, &msg, sizeof(msg)) != sizeof(msg))
		r = -errno;
	close(fd);
	return r;
}

uint64_t lg_test_info_pinned(void)
{
	struct lguest_info info;

	return lg_test_info(&info) ? ~0ULL : info.pinned_pages;
}

/*
 * Guest side: paging on, as the tests' guest kernels want it.  The image's
 * read-only segments (code and constants, up to the page where writable
 * data starts) are open to user mode; everything else is the kernel's.
 * The ELF header sits at the start of the image, loaded like the rest.
 */
extern char __executable_start[];

uint64_t lg_test_paging_on(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__executable_start;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(__executable_start + eh->e_phoff);
	uint64_t ro_end = ~0ULL, root;
	unsigned int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W) &&
		    ph[i].p_vaddr < ro_end)
			ro_end = ph[i].p_vaddr & ~(GUEST_PAGE_SIZE - 1);
	guest_pages_init(LG_TEST_POOL_START, LG_TEST_POOL_END);
	root = guest_paging_init(LG_TEST_MEM, (uint64_t)__executable_start, ro_end);
	if (root)
		guest_load_pgtable(root);
	return root;
}
