// SPDX-License-Identifier: GPL-2.0
/*
 * fake_lguest.so: a /dev/lguest of our own, preloaded into the launcher, so
 * that the host tests can run `lguest run` to its end without the module.
 *
 * Opening /fake/lguest gives a file whose LHREQ_INITIALIZE is printed on
 * stderr (one "fake: init ..." line, the fields the module would see) and
 * whose vCPU 0 plays back the exits $LG_FAKE_EXITS lists, separated by
 * ';', then fails with EIO:
 *
 *   c=TEXT        LGUEST_EXIT_CONSOLE with TEXT
 *   r=TEXT        TEXT into the Xen guest's console ring (no exit)
 *   b             the ring's producer put more than a ring ahead (no exit)
 *   e=PORT        LGUEST_EXIT_EVTCHN on PORT
 *   s=HOW,STATUS  LGUEST_EXIT_SHUTDOWN
 *   k=MSG         LGUEST_EXIT_KILLED
 *
 * "\n" in TEXT is a newline.  The ring is found as the guest would find
 * it: start_info at RSI, through the bootstrap page tables at CR3.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/lguest.h>
#include <xen/xen.h>
#include <xen/io/console.h>

#define FAKE_DEVICE	"/fake/lguest"

static int fake_fd = -1;
static struct lguest_req_init init;
static char *script, *next_step;

/* Guest-physical @gpa in the launcher's memory, or NULL outside it. */
static void *gpa_to_host(uint64_t gpa, uint64_t len)
{
	if (gpa > init.size || len > init.size - gpa)
		return NULL;
	return (char *)(uintptr_t)init.base + gpa;
}

/* A 4-level walk of @va from the L4 at @cr3: its guest-physical address. */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
	uint64_t table = cr3, *e = NULL;
	int level;

	for (level = 4; level >= 1; level--) {
		e = gpa_to_host(table + ((va >> (12 + 9 * (level - 1))) & 511) * 8, 8);
		if (!e || !(*e & 1))
			return ~0ULL;
		table = *e & 0x000ffffffffff000ULL;
	}
	return table + (va & 4095);
}

static struct xencons_interface *console_ring(void)
{
	start_info_t *si = gpa_to_host(walk(init.xen.cr3, init.xen.rsi), sizeof(*si));

	if (!si)
		return NULL;
	return gpa_to_host(si->console.domU.mfn * 4096, 4096);
}

static void ring_write(const char *text)
{
	struct xencons_interface *ring = console_ring();
	size_t i;

	if (!ring)
		return;
	for (i = 0; text[i]; i++)
		ring->out[MASK_XENCONS_IDX(ring->out_prod + i, ring->out)] = text[i];
	ring->out_prod += i;
}

/* "\n" to a newline, in place. */
static char *unescape(char *s)
{
	char *in = s, *out = s;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'n') {
			*out++ = '\n';
			in += 2;
		} else {
			*out++ = *in++;
		}
	}
	*out = 0;
	return s;
}

static int open_fake(void)
{
	const char *exits = getenv("LG_FAKE_EXITS");

	script = strdup(exits ? exits : "");
	next_step = script;
	fake_fd = memfd_create("fake-lguest", MFD_CLOEXEC);
	return fake_fd;
}

int open(const char *path, int flags, ...)
{
	static int (*real_open)(const char *, int, ...);
	va_list ap;
	int mode;

	if (!strcmp(path, FAKE_DEVICE))
		return open_fake();
	if (!real_open)
		real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	return real_open(path, flags, mode);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real_write)(int, const void *, size_t);
	uint64_t req;

	if (fd != fake_fd || fd < 0) {
		if (!real_write)
			real_write = (ssize_t (*)(int, const void *, size_t))
				     dlsym(RTLD_NEXT, "write");
		return real_write(fd, buf, len);
	}
	memcpy(&req, buf, sizeof(req));
	if (req != LHREQ_INITIALIZE || len != sizeof(req) + sizeof(init)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&init, (const char *)buf + sizeof(req), sizeof(init));
	fprintf(stderr, "fake: init size %#llx entry %#llx vcpus %u flags %u cr3 %#llx rsp %#llx rsi %#llx shared_info %#llx console_port %u store_port %u gnttab %#llx frames %u pad %u\n",
		(unsigned long long)init.size, (unsigned long long)init.entry,
		init.nr_vcpus, init.flags, (unsigned long long)init.xen.cr3,
		(unsigned long long)init.xen.rsp, (unsigned long long)init.xen.rsi,
		(unsigned long long)init.xen.shared_info, init.xen.console_port,
		init.xen.store_port, (unsigned long long)init.xen.gnttab,
		init.xen.gnttab_frames, init.xen.pad);
	return len;
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	static ssize_t (*real_pread)(int, void *, size_t, off_t);
	struct lguest_exit *exit = buf;
	char *step;

	if (fd != fake_fd || fd < 0) {
		if (!real_pread)
			real_pread = (ssize_t (*)(int, void *, size_t, off_t))
				     dlsym(RTLD_NEXT, "pread");
		return real_pread(fd, buf, len, off);
	}
	if (len != sizeof(*exit) || off) {
		errno = EINVAL;
		return -1;
	}
	memset(exit, 0, sizeof(*exit));
	while ((step = strsep(&next_step, ";"))) {
		char *arg = step[0] && step[1] == '=' ? unescape(step + 2) : "";

		switch (step[0]) {
		case 'r':
			ring_write(arg);
			continue;
		case 'b':
			if (console_ring())
				console_ring()->out_prod = console_ring()->out_cons + 5000;
			continue;
		case 'c':
			exit->reason = LGUEST_EXIT_CONSOLE;
			exit->args[0] = strlen(arg);
			memcpy(exit->msg, arg, exit->args[0]);
			return len;
		case 'e':
			exit->reason = LGUEST_EXIT_EVTCHN;
			exit->args[0] = strtoull(arg, NULL, 0);
			return len;
		case 's':
			exit->reason = LGUEST_EXIT_SHUTDOWN;
			exit->args[0] = strtoull(arg, &arg, 0);
			exit->args[1] = strtoull(arg + (*arg == ','), NULL, 0);
			return len;
		case 'k':
			exit->reason = LGUEST_EXIT_KILLED;
			snprintf(exit->msg, sizeof(exit->msg), "%s", arg);
			return len;
		}
	}
	errno = EIO;
	return -1;
}
