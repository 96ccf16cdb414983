// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore's wire protocol, on the page the guest found in
 * start_info (store_mfn) and signals on start_info's store_evtchn.
 *
 * The page holds two rings of 1024 bytes with free-running 32-bit
 * indices: req[], which the guest fills (req_prod is its, req_cons
 * ours), and rsp[], which we fill (rsp_prod ours, rsp_cons its).  A
 * message is a struct xsd_sockmsg (type, req_id, tx_id, len) and len
 * bytes of payload, at most 4096, so one may span several turns of a
 * ring: we keep a partial request until the rest arrives, and replies
 * and watch events queue here until the guest makes room.  Every index
 * the guest writes is read once and checked: a producer more than a
 * ring ahead of its consumer, or a payload longer than Xen allows, is a
 * broken guest, which xenstored stops serving, and so do we.
 *
 * A guest that sends requests but never reads the replies would make
 * the queue grow without end: past XS_OUT_MAX we stop reading its
 * requests (it can only wait on itself), and drop watch events, which
 * xenstored also limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "xsring.h"

static int append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *b;

		while (c < *len + n)
			c *= 2;
		b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static int queue_msg(char **buf, size_t *len, size_t *cap, uint32_t type,
		     uint32_t req_id, uint32_t tx_id, const void *payload,
		     uint32_t plen)
{
	struct xsd_sockmsg h = { type, req_id, tx_id, plen };

	return append(buf, len, cap, &h, sizeof(h)) ?:
	       append(buf, len, cap, payload, plen);
}

/* store.h's fire(): a watch event for the guest (connection 0). */
static void fire(void *opaque, unsigned int conn, const char *path, const char *token)
{
	struct xs_server *x = opaque;
	char p[XENSTORE_PAYLOAD_MAX];
	size_t a = strlen(path) + 1, b = strlen(token) + 1;

	if (conn) {
		if (x->backend_fire)
			x->backend_fire(x->backend_opaque, conn);
		return;
	}
	if (a + b > sizeof(p) || x->out_len + x->ev_len > XS_OUT_MAX) {
		x->dropped++;
		return;
	}
	memcpy(p, path, a);
	memcpy(p + a, token, b);
	if (queue_msg(&x->ev, &x->ev_len, &x->ev_cap, XS_WATCH_EVENT, 0, 0, p, a + b))
		x->dropped++;
}

int xs_server_init(struct xs_server *x, void *ring)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->ring = ring;
	x->store.fire = fire;
	x->store.opaque = x;
	return store_init(&x->store);
}

void xs_server_free(struct xs_server *x)
{
	store_free(&x->store);
	free(x->out);
	free(x->ev);
	pthread_mutex_destroy(&x->lock);
}

static const char *errno_name(int e)
{
	unsigned int i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == e)
			return xsd_errors[i].errstring;
	return "EIO";
}

/* One whole request in x->in: its reply, then its watch events, queued. */
static int serve(struct xs_server *x)
{
	const struct xsd_sockmsg *h = (const struct xsd_sockmsg *)x->in;
	static char reply[XENSTORE_PAYLOAD_MAX];
	unsigned int len;
	int e;

	if (h->type == XS_WATCH_EVENT || h->type == XS_ERROR)
		e = EINVAL;
	else
		e = store_op(&x->store, STORE_GUEST_DOMID, 0, h->type, h->tx_id,
			     x->in + sizeof(*h), h->len, reply, &len);
	if (e) {
		const char *name = errno_name(e);

		return queue_msg(&x->out, &x->out_len, &x->out_cap, XS_ERROR,
				 h->req_id, h->tx_id, name, strlen(name) + 1);
	}
	if (queue_msg(&x->out, &x->out_len, &x->out_cap, h->type, h->req_id,
		      h->tx_id, reply, len))
		return -ENOMEM;
	if (x->ev_len && append(&x->out, &x->out_len, &x->out_cap, x->ev, x->ev_len))
		return -ENOMEM;
	x->ev_len = 0;
	return 0;
}

/* Take what the guest wrote, up to one request at a time.  1: progress. */
static int take(struct xs_server *x)
{
	struct xenstore_domain_interface *r = x->ring;
	XENSTORE_RING_IDX cons = __atomic_load_n(&r->req_cons, __ATOMIC_RELAXED);
	XENSTORE_RING_IDX prod = __atomic_load_n(&r->req_prod, __ATOMIC_ACQUIRE);
	XENSTORE_RING_IDX avail = prod - cons;
	unsigned int want, n = 0;

	if (avail > XENSTORE_RING_SIZE) {
		x->broken = "its request ring's indices are impossible";
		return -1;
	}
	want = sizeof(struct xsd_sockmsg);
	if (x->in_len >= want)
		want += ((struct xsd_sockmsg *)x->in)->len;
	while (n < avail && x->in_len < want) {
		x->in[x->in_len++] = r->req[MASK_XENSTORE_IDX(cons + n)];
		n++;
		if (x->in_len == sizeof(struct xsd_sockmsg)) {
			uint32_t len = ((struct xsd_sockmsg *)x->in)->len;

			if (len > XENSTORE_PAYLOAD_MAX) {
				x->broken = "it sent a request longer than Xen allows";
				return -1;
			}
			want += len;
		}
	}
	/* The bytes are ours before the guest may reuse their place. */
	__atomic_store_n(&r->req_cons, cons + n, __ATOMIC_RELEASE);
	if (x->in_len == want) {
		if (serve(x))
			return -ENOMEM;
		x->in_len = 0;
		return 1;
	}
	return n > 0;
}

/* Put in the ring what fits of the queue.  1: progress. */
static int give(struct xs_server *x)
{
	struct xenstore_domain_interface *r = x->ring;
	XENSTORE_RING_IDX prod = __atomic_load_n(&r->rsp_prod, __ATOMIC_RELAXED);
	XENSTORE_RING_IDX cons = __atomic_load_n(&r->rsp_cons, __ATOMIC_ACQUIRE);
	XENSTORE_RING_IDX used = prod - cons;
	size_t n = 0;

	if (used > XENSTORE_RING_SIZE) {
		x->broken = "its reply ring's indices are impossible";
		return -1;
	}
	while (n < x->out_len && used + n < XENSTORE_RING_SIZE) {
		r->rsp[MASK_XENSTORE_IDX(prod + n)] = x->out[n];
		n++;
	}
	if (!n)
		return 0;
	/* The bytes before the index that hands them over. */
	__atomic_store_n(&r->rsp_prod, prod + n, __ATOMIC_RELEASE);
	memmove(x->out, x->out + n, x->out_len - n);
	x->out_len -= n;
	return 1;
}

int xs_server_kick(struct xs_server *x)
{
	int notify = 0, progress, r = 0;

	pthread_mutex_lock(&x->lock);
	/* Broken before: said once already, and nothing more to do. */
	if (x->broken) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	for (;;) {
		progress = 0;
		if (x->out_len <= XS_OUT_MAX) {
			r = take(x);
			if (r < 0)
				break;
			progress |= r;
		}
		r = give(x);
		if (r < 0)
			break;
		progress |= r;
		notify |= progress;
		if (!progress)
			break;
	}
	if (r == -ENOMEM)
		x->broken = "the launcher ran out of memory";
	pthread_mutex_unlock(&x->lock);
	return x->broken ? -1 : notify;
}

int xs_server_write(struct xs_server *x, const char *path, const char *value)
{
	int r, notify = 0;

	pthread_mutex_lock(&x->lock);
	r = store_write(&x->store, path, value);
	/* Its watch events go straight out: there is no reply to follow. */
	if (!r && x->ev_len && !append(&x->out, &x->out_len, &x->out_cap, x->ev, x->ev_len))
		x->ev_len = 0;
	if (!r && !x->broken)
		notify = give(x) > 0;
	pthread_mutex_unlock(&x->lock);
	return r ? r : notify;
}

int xs_server_read(struct xs_server *x, const char *path, char *buf, size_t len)
{
	int r;

	pthread_mutex_lock(&x->lock);
	r = store_read(&x->store, path, buf, len);
	pthread_mutex_unlock(&x->lock);
	return r;
}
