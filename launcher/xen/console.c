// SPDX-License-Identifier: GPL-2.0
/*
 * The back end of a Xen PV console (xen/io/console.h): a page the guest
 * shares with us, with an output ring it fills and we drain (out_prod is
 * the guest's, out_cons ours) and an input ring the other way round
 * (in_prod ours, in_cons the guest's).  The guest tells us with an event
 * on the console's channel that it wrote or read; we move out_cons so
 * that it sees room again (XTF waits for exactly that), and raise the
 * channel (LHREQ_IRQ) when we put input in the ring.
 *
 * The indices are free-running 32-bit counters in guest memory, which the
 * guest may change at any moment: each is read once, and a producer more
 * than a ring ahead of the consumer is a broken guest, not a reason to
 * read past the ring.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <xen/io/console.h>
#include "kernel.h"

ssize_t xen_console_drain(struct xencons_interface *ring, int fd)
{
	XENCONS_RING_IDX cons = __atomic_load_n(&ring->out_cons, __ATOMIC_RELAXED);
	XENCONS_RING_IDX prod = __atomic_load_n(&ring->out_prod, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX len = prod - cons, done = 0;
	char buf[sizeof(ring->out)];
	ssize_t n;

	if (len > sizeof(ring->out)) {
		errno = EPROTO;
		return -1;
	}
	while (done < len) {
		buf[done] = ring->out[MASK_XENCONS_IDX(cons + done, ring->out)];
		done++;
	}
	/* The bytes are ours before the guest may overwrite them. */
	__atomic_store_n(&ring->out_cons, prod, __ATOMIC_RELEASE);
	/* A terminal may take less than all of it, or a signal cut in. */
	for (done = 0; fd >= 0 && done < len; done += n) {
		n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR) {
			n = 0;
		} else if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
	}
	return len;
}

ssize_t xen_console_feed(struct xencons_interface *ring, const char *buf,
			 size_t len)
{
	XENCONS_RING_IDX prod = __atomic_load_n(&ring->in_prod, __ATOMIC_RELAXED);
	XENCONS_RING_IDX cons = __atomic_load_n(&ring->in_cons, __ATOMIC_ACQUIRE);
	XENCONS_RING_IDX used = prod - cons, n, i;

	if (used > sizeof(ring->in)) {
		errno = EPROTO;
		return -1;
	}
	n = sizeof(ring->in) - used;
	if (n > len)
		n = len;
	for (i = 0; i < n; i++)
		ring->in[MASK_XENCONS_IDX(prod + i, ring->in)] = buf[i];
	/* The bytes before the index that hands them over. */
	__atomic_store_n(&ring->in_prod, prod + n, __ATOMIC_RELEASE);
	return n;
}
