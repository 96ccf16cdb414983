// SPDX-License-Identifier: GPL-2.0
/*
 * A guest from user space: guest memory is an anonymous mapping of ours,
 * handed to the module with LHREQ_INITIALIZE; each vCPU runs by pread() on
 * the device.  Shared by the launcher and the selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "launcher.h"

static int lg_write(int fd, uint64_t req, const void *args, size_t len)
{
	unsigned char buf[128];

	_Static_assert(sizeof(req) + sizeof(struct lguest_req_init) <= sizeof(buf),
		       "the largest request fits the buffer");
	if (len > sizeof(buf) - sizeof(req))
		return -EINVAL;
	memcpy(buf, &req, sizeof(req));
	memcpy(buf + sizeof(req), args, len);
	if (write(fd, buf, sizeof(req) + len) != (ssize_t)(sizeof(req) + len))
		return -errno;
	return 0;
}

/*
 * Guest memory comes first and the device second, so that a guest can be
 * loaded, and a bad kernel or guest file refused, before anything exists
 * in the module: lg_vm_create() is both, for callers with nothing to load.
 */
int lg_vm_alloc(struct lg_vm *vm, uint64_t mem_size, char *err, size_t errlen)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(mem_size >> 20), strerror(errno));
		return -1;
	}
	vm->mem_size = mem_size;
	/*
	 * No transparent huge pages: shadows map 4 KiB pages anyway, and
	 * khugepaged collapsing guest memory would drop every shadow of the
	 * guest each time (M:017, M:018).
	 */
	madvise(vm->mem, mem_size, MADV_NOHUGEPAGE);
	return 0;
}

int lg_vm_open(struct lg_vm *vm, const char *device, char *err, size_t errlen)
{
	vm->fd = open(device, O_RDWR | O_CLOEXEC);
	if (vm->fd >= 0)
		return 0;
	if (errno == ENOENT)
		snprintf(err, errlen, "%s does not exist: is the lg module loaded?",
			 device);
	else
		snprintf(err, errlen, "cannot open %s: %s", device, strerror(errno));
	return -1;
}

int lg_vm_create(struct lg_vm *vm, const char *device, uint64_t mem_size,
		 char *err, size_t errlen)
{
	if (lg_vm_alloc(vm, mem_size, err, errlen))
		return -1;
	if (lg_vm_open(vm, device, err, errlen)) {
		lg_vm_destroy(vm);
		return -1;
	}
	return 0;
}

static int vm_init(struct lg_vm *vm, uint64_t entry, uint32_t flags,
		   const struct lguest_xen_start *xen, char *err, size_t errlen)
{
	struct lguest_req_init req = {
		.base = (uintptr_t)vm->mem,
		.size = vm->mem_size,
		.entry = entry,
		.nr_vcpus = vm->nr_vcpus ?: 1,
		.flags = flags,
		.xen = *xen,
	};
	int r = lg_write(vm->fd, LHREQ_INITIALIZE, &req, sizeof(req));

	if (r)
		snprintf(err, errlen, "cannot create the %s (%u vCPUs, %llu MiB): %s%s",
			 flags ? "Xen PV guest" : "guest", req.nr_vcpus,
			 (unsigned long long)(vm->mem_size >> 20), strerror(-r),
			 r == -EINVAL ?
			 " (beyond the module's limits, or a module of another ABI)" : "");
	return r;
}

/* A guest of lguest's own ABI: flags 0, and no Xen start of day. */
int lg_vm_init(struct lg_vm *vm, uint64_t entry, char *err, size_t errlen)
{
	static const struct lguest_xen_start none;

	return vm_init(vm, entry, 0, &none, err, errlen);
}

/* A Xen PV kernel, started where its domain builder's @xen says. */
int lg_vm_init_xen(struct lg_vm *vm, uint64_t entry,
		   const struct lguest_xen_start *xen, char *err, size_t errlen)
{
	return vm_init(vm, entry, LGUEST_INIT_XEN_PV, xen, err, errlen);
}

int lg_vm_run(struct lg_vm *vm, unsigned int vcpu, struct lguest_exit *exit)
{
	if (pread(vm->fd, exit, sizeof(*exit), vcpu) != sizeof(*exit))
		return -errno;
	return 0;
}

int lg_vm_irq(struct lg_vm *vm, unsigned int vcpu, unsigned int vector)
{
	struct lguest_req_irq req = { .vcpu = vcpu, .vector = vector };

	return lg_write(vm->fd, LHREQ_IRQ, &req, sizeof(req));
}

/* The launcher's end of a Xen guest's channel: LGUEST_EVTCHN_BIND or _CLOSE. */
int lg_vm_evtchn(struct lg_vm *vm, unsigned int op, unsigned int port)
{
	struct lguest_req_evtchn req = { .op = op, .port = port };

	return lg_write(vm->fd, LHREQ_EVTCHN, &req, sizeof(req));
}

int lg_vm_regs(struct lg_vm *vm, unsigned int vcpu, struct lguest_regs *regs,
	       int set)
{
	struct lguest_req_regs req = {
		.vcpu = vcpu, .size = sizeof(*regs), .addr = (uintptr_t)regs,
	};

	return lg_write(vm->fd, set ? LHREQ_SETREGS : LHREQ_GETREGS, &req,
			sizeof(req));
}

int lg_vm_stats(struct lg_vm *vm, unsigned int vcpu,
		struct lguest_vcpu_stats *stats)
{
	struct lguest_req_stats req = {
		.vcpu = vcpu, .size = sizeof(*stats), .addr = (uintptr_t)stats,
	};

	return lg_write(vm->fd, LHREQ_VCPU_STATS, &req, sizeof(req));
}

void lg_vm_destroy(struct lg_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->mem && vm->mem != MAP_FAILED)
		munmap(vm->mem, vm->mem_size);
	vm->fd = -1;
	vm->mem = NULL;
}

/*
 * Console output (LGUEST_NOTIFY_CONSOLE): print the guest's text.  Returns 1
 * if @exit was console output, 0 if not, -1 if the text lies outside guest
 * memory.
 */
int lg_vm_console(struct lg_vm *vm, const struct lguest_exit *exit, FILE *out)
{
	uint64_t gpa = exit->args[1], len = exit->args[2];

	if (exit->reason != LGUEST_EXIT_NOTIFY ||
	    exit->args[0] != LGUEST_NOTIFY_CONSOLE)
		return 0;
	if (gpa > vm->mem_size || len > vm->mem_size - gpa)
		return -1;
	fwrite((char *)vm->mem + gpa, 1, len, out);
	fflush(out);
	return 1;
}
