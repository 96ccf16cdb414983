/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the selftests: talking to /dev/lguest the way the
 * launcher does, one write() per request.
 */
#ifndef LGUEST_UTIL_H
#define LGUEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/lguest.h>

#define LGUEST_DEV "/dev/lguest"

/* The module parameter that lets the switcher change modes by itself. */
#define LG_FAST_SWITCH	"/sys/module/lg/parameters/fast_switch"

/* Its value (1 or 0), or -1. */
static inline int lg_get_fast_switch(void)
{
	FILE *f = fopen(LG_FAST_SWITCH, "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

static inline int lg_set_fast_switch(int on)
{
	FILE *f = fopen(LG_FAST_SWITCH, "w");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "%c\n", on ? 'Y' : 'N') == 2 ? 0 : -1;
	return fclose(f) ? -1 : r;
}

/* Write one request: returns 0 or -errno. */
static inline int lg_request(int fd, uint64_t req, const void *args, size_t len)
{
	unsigned char buf[256];
	ssize_t r;

	if (len > sizeof(buf) - sizeof(req))
		return -E2BIG;
	memcpy(buf, &req, sizeof(req));
	memcpy(buf + sizeof(req), args, len);
	r = write(fd, buf, sizeof(req) + len);
	if (r < 0)
		return -errno;
	return r == (ssize_t)(sizeof(req) + len) ? 0 : -EIO;
}

static inline int lg_info(int fd, struct lguest_info *info)
{
	struct lguest_req_info req = {
		.addr = (uintptr_t)info,
		.size = sizeof(*info),
	};

	return lg_request(fd, LHREQ_INFO, &req, sizeof(req));
}

/* Skip the whole program (kselftest's exit code 4) without the device. */
#define LG_REQUIRE_DEVICE()						\
	do {								\
		if (access(LGUEST_DEV, F_OK)) {				\
			printf("1..0 # SKIP %s absent (lg.ko not loaded)\n", \
			       LGUEST_DEV);				\
			return 4;					\
		}							\
	} while (0)

#endif /* LGUEST_UTIL_H */
