/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xenstore's wire: requests and replies on the guest's xenstore page
 * (xen/io/xs_wire.h), served from the store (store.h).
 */
#ifndef LG_XEN_XSRING_H
#define LG_XEN_XSRING_H

#include <pthread.h>
#include <stddef.h>
#include "store.h"

/* What the guest may leave unread before we stop reading its requests. */
#define XS_OUT_MAX	(64 * 1024)

struct xs_server {
	pthread_mutex_t lock;		/* around everything, the store too */
	struct store store;
	struct xenstore_domain_interface *ring;
	/* The request being read: header, then payload. */
	char in[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	unsigned int in_len;
	/* Replies and watch events not yet in the ring, oldest first. */
	char *out;
	size_t out_len, out_cap;
	/* Watch events of the request being served: they follow its reply. */
	char *ev;
	size_t ev_len, ev_cap;
	unsigned long dropped;		/* watch events past XS_OUT_MAX */
	/* Why we stopped serving the guest (NULL: we serve it). */
	const char *broken;
	/*
	 * The launcher's own watches (connections 1 and up, its back
	 * ends'): called with the lock held, so it may only wake the back
	 * end, which then reads what changed.
	 */
	void (*backend_fire)(void *opaque, unsigned int conn);
	void *backend_opaque;
};

/* Serve the xenstore page at @ring (in guest memory).  0 or -ENOMEM. */
int xs_server_init(struct xs_server *x, void *ring);
void xs_server_free(struct xs_server *x);

/*
 * The guest signalled its channel: read its requests, answer them and
 * put in the ring what fits.  Returns 1 if the guest should be signalled
 * (we took requests or gave replies), 0 if not, -1 if the guest broke
 * the protocol just now (x->broken says how; from then on it is not
 * served, and kicks return 0).
 * Takes the lock.
 */
int xs_server_kick(struct xs_server *x);

/*
 * The launcher writes @path (as domain 0), from any thread.  Returns 1
 * if the guest should be signalled (a watch of its fired), 0 if not, or
 * -errno.  Takes the lock.
 */
int xs_server_write(struct xs_server *x, const char *path, const char *value);
/* The value at @path (0-terminated, cut to @len - 1), or -errno.  Locks. */
int xs_server_read(struct xs_server *x, const char *path, char *buf, size_t len);

#endif
