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
#include <string.h>
#include <unistd.h>
#include <linux/lguest.h>

#define LGUEST_DEV "/dev/lguest"

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
