// SPDX-License-Identifier: GPL-2.0
/*
 * A block back end on a raw image: what Xen's blkback (or QEMU's
 * xen-block) is to Linux's xen-blkfront.
 *
 * The two ends meet in the xenstore.  The toolstack writes the device's
 * nodes (frontend: /local/domain/1/device/vbd/<vdev>, backend:
 * /local/domain/0/backend/vbd/1/<vdev>); the back end writes the disk's
 * size and features and goes to InitWait; the front end grants a ring
 * page, allocates an event channel for domain 0, writes both and goes to
 * Initialised; the back end maps the ring (here: finds the granted frame
 * in guest memory, launcher/xen/gnttab.c), binds the channel
 * (LHREQ_EVTCHN) and goes to Connected; the front end reads the size and
 * adds the disk.  Then requests come on the ring: read or write up to 11
 * segments, each a granted page and a range of its eight sectors; flush
 * (with data: a FUA write); discard.  Everything in them is the guest's:
 * each request is copied out of the ring once, then checked; a bad one
 * gets an error response; indices that cannot be stop the ring.
 *
 * The I/O goes straight between the image and guest memory (the grants
 * name the guest's own pages), submitted in batches through io_uring
 * from this back end's thread, never a vCPU's: a vCPU thread that sees
 * the guest's event only wakes it.  Flushes are fdatasync(); a flush or
 * barrier waits for everything before it (IOSQE_IO_DRAIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/lguest.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
/* The barriers xen/io/ring.h's macros use: a full fence for each is enough. */
#define mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>
#include "../launcher.h"
#include "blkback.h"
#include "gnttab.h"
#include "xenbus.h"
#include "xsring.h"

#define SECTOR		512ULL
/* A whole ring's requests at once: 32 on a one-page ring. */
#define BATCH		__CONST_RING_SIZE(blkif, 4096)

struct slot {
	blkif_request_t req;
	struct iovec iov[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	uint32_t grefs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	unsigned int nr_grefs;
	int write;			/* grants held for writing */
	unsigned int sqes, cqes;	/* submitted and completed */
	uint64_t len;			/* bytes the data SQE must move */
	int16_t status;
};

struct blkback {
	char *path;
	int fd, ro, discard;
	uint64_t sectors;
	unsigned int vdev;
	char dev[8], name[96];
	struct xenbus_be xb;		/* first: container_of() is a cast */
	struct gnttab *gt;
	pthread_t th;
	int started, stop;
	/* Connected: the ring (its channel is xb.port). */
	uint32_t ring_ref;
	blkif_back_ring_t ring;
	const char *broken;
	struct io_uring uring;
	int uring_ok;
	struct slot slots[BATCH];
};

static int connect_ring(struct xenbus_be *x);
static void disconnect_ring(struct xenbus_be *x);

struct blkback *blkback_open(const char *path, int ro, unsigned int index,
			     char *err, size_t errlen)
{
	struct blkback *b;
	struct stat st;

	if (index >= 16) {
		snprintf(err, errlen, "at most 16 disks (xvda to xvdp)");
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->xb.efd = -1;
	b->ro = ro;
	b->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "cannot open the disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	/* As QEMU does, so that two guests never write one image. */
	if (flock(b->fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		snprintf(err, errlen, "the disk image %s is in use by another process (%s)",
			 path, errno == EWOULDBLOCK ? "locked" : strerror(errno));
		goto fail;
	}
	if (fstat(b->fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the disk image %s is not a regular file", path);
		goto fail;
	}
	if (!st.st_size || st.st_size % SECTOR) {
		snprintf(err, errlen, "the disk image %s is %lld bytes: not a whole number of %llu-byte sectors",
			 path, (long long)st.st_size, SECTOR);
		goto fail;
	}
	b->sectors = st.st_size / SECTOR;
	b->discard = !ro;
	b->path = strdup(path);
	/* Xen's xvd numbering: major 202, 16 minors a disk. */
	b->vdev = (202 << 8) | (index << 4);
	snprintf(b->dev, sizeof(b->dev), "xvd%c", 'a' + index);
	snprintf(b->xb.fe, sizeof(b->xb.fe), "/local/domain/%u/device/vbd/%u",
		 STORE_GUEST_DOMID, b->vdev);
	snprintf(b->xb.be, sizeof(b->xb.be), "/local/domain/0/backend/vbd/%u/%u",
		 STORE_GUEST_DOMID, b->vdev);
	snprintf(b->name, sizeof(b->name), "disk %s (%s)", b->dev, path);
	b->xb.name = b->name;
	b->xb.connect = connect_ring;
	b->xb.disconnect = disconnect_ring;
	b->xb.efd = eventfd(0, EFD_CLOEXEC);
	if (!b->path || b->xb.efd < 0 || io_uring_queue_init(4 * BATCH, &b->uring, 0)) {
		snprintf(err, errlen, "cannot set up the disk %s: out of resources", path);
		goto fail;
	}
	b->uring_ok = 1;
	return b;
fail:
	blkback_close(b);
	return NULL;
}

static void warn(struct blkback *b, const char *why)
{
	xenbus_warn(&b->xb, why);
}

/* The front end is Initialised: map its ring, bind its channel. */
static int connect_ring(struct xenbus_be *x)
{
	struct blkback *b = (struct blkback *)((char *)x - offsetof(struct blkback, xb));
	long long ref = xenbus_fe_number(x, "ring-ref", 0);
	long long port = xenbus_fe_number(x, "event-channel", 0);
	long long order = xenbus_fe_number(x, "ring-page-order", 1);
	char proto[32] = "";
	void *page;

	xenbus_fe_read(x, "protocol", proto, sizeof(proto));
	if (ref < 0 || port <= 0 || order != 0 ||
	    (proto[0] && strcmp(proto, XEN_IO_PROTO_ABI_X86_64))) {
		warn(b, "the front end's ring-ref, event-channel, ring-page-order or protocol is not one this back end takes");
		return -1;
	}
	page = gnttab_get(b->gt, ref, 1);
	if (!page) {
		warn(b, "the front end's ring page is not granted to domain 0");
		return -1;
	}
	if (lg_vm_evtchn(x->vm, LGUEST_EVTCHN_BIND, port)) {
		gnttab_put(b->gt, ref, 1);
		warn(b, "the front end's event channel is not one allocated for domain 0");
		return -1;
	}
	b->ring_ref = ref;
	BACK_RING_INIT(&b->ring, (blkif_sring_t *)page, 4096);
	b->broken = NULL;
	__atomic_store_n(&b->xb.port, (uint32_t)port, __ATOMIC_RELEASE);
	return 0;
}

static void disconnect_ring(struct xenbus_be *x)
{
	struct blkback *b = (struct blkback *)((char *)x - offsetof(struct blkback, xb));
	uint32_t port = b->xb.port;

	__atomic_store_n(&b->xb.port, 0, __ATOMIC_RELEASE);
	lg_vm_evtchn(x->vm, LGUEST_EVTCHN_CLOSE, port);
	gnttab_put(b->gt, b->ring_ref, 1);
}

/* Let go of what @s holds. */
static void release(struct blkback *b, struct slot *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_grefs; i++)
		gnttab_put(b->gt, s->grefs[i], s->write);
	s->nr_grefs = 0;
}

/*
 * An SQE for @s; @data: the one that moves the request's data, whose
 * length is checked (its tag, bit 0 of the slot's aligned address).
 */
static struct io_uring_sqe *sqe(struct blkback *b, struct slot *s, unsigned int flags,
				int data)
{
	struct io_uring_sqe *q = io_uring_get_sqe(&b->uring);

	/* The queue holds 4 * BATCH; a request takes at most 3. */
	io_uring_sqe_set_data64(q, (uintptr_t)s | !!data);
	q->flags |= flags;
	s->sqes++;
	s->status = BLKIF_RSP_OKAY;
	return q;
}

/*
 * Check @s's request and queue its I/O, or set its status at once.  Its
 * segments' pages are the guest's, granted for this request: a read
 * writes into them, so they must be granted writable.
 */
static void prepare(struct blkback *b, struct slot *s)
{
	const blkif_request_t *r = &s->req;
	const blkif_request_discard_t *d = (const blkif_request_discard_t *)r;
	int flush = r->operation == BLKIF_OP_FLUSH_DISKCACHE ||
		    r->operation == BLKIF_OP_WRITE_BARRIER;
	uint64_t nsect = 0, off;
	unsigned int i;

	s->status = BLKIF_RSP_ERROR;
	s->sqes = s->cqes = 0;
	s->nr_grefs = 0;
	s->len = 0;
	s->write = r->operation == BLKIF_OP_READ;
	switch (r->operation) {
	case BLKIF_OP_DISCARD:
		if (!b->discard || d->nr_sectors > b->sectors ||
		    d->sector_number > b->sectors - d->nr_sectors)
			return;
		io_uring_prep_fallocate(sqe(b, s, 0, 0), b->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					d->sector_number * SECTOR, d->nr_sectors * SECTOR);
		return;
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_FLUSH_DISKCACHE:
	case BLKIF_OP_WRITE_BARRIER:
		break;
	default:
		s->status = BLKIF_RSP_EOPNOTSUPP;
		return;
	}
	if (r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST ||
	    (!r->nr_segments && !flush) ||
	    (r->nr_segments && b->ro && r->operation != BLKIF_OP_READ))
		return;
	for (i = 0; i < r->nr_segments; i++) {
		const struct blkif_request_segment *g = &r->seg[i];
		char *page;

		if (g->first_sect > g->last_sect || g->last_sect >= 4096 / SECTOR)
			goto bad;
		page = gnttab_get(b->gt, g->gref, s->write);
		if (!page)
			goto bad;
		s->grefs[s->nr_grefs++] = g->gref;
		s->iov[i].iov_base = page + g->first_sect * SECTOR;
		s->iov[i].iov_len = (g->last_sect - g->first_sect + 1) * SECTOR;
		nsect += g->last_sect - g->first_sect + 1;
	}
	/* Never a byte outside the image. */
	if (nsect > b->sectors || r->sector_number > b->sectors - nsect)
		goto bad;
	off = r->sector_number * SECTOR;
	s->len = nsect * SECTOR;
	if (flush) {
		/* After everything before it; data then goes to stable storage. */
		io_uring_prep_fsync(sqe(b, s, IOSQE_IO_DRAIN | (nsect ? IOSQE_IO_LINK : 0), 0),
				    b->fd, IORING_FSYNC_DATASYNC);
		if (!nsect)
			return;
		io_uring_prep_writev(sqe(b, s, IOSQE_IO_LINK, 1), b->fd, s->iov,
				     r->nr_segments, off);
		io_uring_prep_fsync(sqe(b, s, 0, 0), b->fd, IORING_FSYNC_DATASYNC);
		return;
	}
	if (r->operation == BLKIF_OP_READ)
		io_uring_prep_readv(sqe(b, s, 0, 1), b->fd, s->iov, r->nr_segments, off);
	else
		io_uring_prep_writev(sqe(b, s, 0, 1), b->fd, s->iov, r->nr_segments, off);
	return;
bad:
	release(b, s);
}

/* One completion: the data SQE must have moved all of it. */
static void complete(const struct io_uring_cqe *c)
{
	uint64_t tag = io_uring_cqe_get_data64(c);
	struct slot *s = (struct slot *)(uintptr_t)(tag & ~1ULL);

	s->cqes++;
	if (c->res < 0 || ((tag & 1) && (uint64_t)c->res != s->len))
		s->status = BLKIF_RSP_ERROR;
}

/* Take a batch of requests, do them, answer them.  0 when the ring is empty. */
static int serve_batch(struct blkback *b)
{
	RING_IDX prod = __atomic_load_n(&b->ring.sring->req_prod, __ATOMIC_ACQUIRE);
	unsigned int n = 0, i, want = 0, notify;

	if (prod - b->ring.req_cons > RING_SIZE(&b->ring)) {
		b->broken = "its ring's request index is impossible; the ring is no longer served";
		warn(b, b->broken);
		return 0;
	}
	while (b->ring.req_cons != prod && n < BATCH) {
		struct slot *s = &b->slots[n++];

		/* Once, out of the guest's reach, before anything is checked. */
		memcpy(&s->req, RING_GET_REQUEST(&b->ring, b->ring.req_cons), sizeof(s->req));
		b->ring.req_cons++;
		prepare(b, s);
		want += s->sqes;
	}
	if (!n)
		return 0;
	if (want && io_uring_submit(&b->uring) < 0)
		want = 0;
	while (want) {
		struct io_uring_cqe *c;

		if (io_uring_wait_cqe(&b->uring, &c))
			break;
		complete(c);
		io_uring_cqe_seen(&b->uring, c);
		want--;
	}
	for (i = 0; i < n; i++) {
		struct slot *s = &b->slots[i];
		blkif_response_t *rsp;

		if (s->sqes && s->cqes != s->sqes)
			s->status = BLKIF_RSP_ERROR;
		release(b, s);
		rsp = RING_GET_RESPONSE(&b->ring, b->ring.rsp_prod_pvt);
		rsp->id = s->req.id;
		rsp->operation = s->req.operation;
		rsp->status = s->status;
		b->ring.rsp_prod_pvt++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->ring, notify);
	if (notify)
		lg_vm_irq(b->xb.vm, 0, b->xb.port);
	return 1;
}

static void serve(struct blkback *b)
{
	int more;

	for (;;) {
		while (!b->broken && serve_batch(b))
			;
		if (b->broken)
			return;
		RING_FINAL_CHECK_FOR_REQUESTS(&b->ring, more);
		if (!more)
			return;
	}
}

static void *blkback_main(void *arg)
{
	struct blkback *b = arg;
	uint64_t v;

	for (;;) {
		if (read(b->xb.efd, &v, sizeof(v)) < 0 && errno == EINTR)
			continue;
		if (__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
			break;
		xenbus_follow(&b->xb);
		if (b->xb.connected && !b->broken)
			serve(b);
	}
	return NULL;
}

void blkback_kick(struct blkback *b)
{
	xenbus_kick(&b->xb);
}

int blkback_event(struct blkback *b, uint32_t port)
{
	return xenbus_event(&b->xb, port);
}

int blkback_start(struct blkback *b, struct lg_vm *vm, struct xs_server *xs,
		  struct gnttab *gt, uint32_t store_port, unsigned int conn)
{
	struct store *s = &xs->store;
	char path[160];
	int r;

	b->xb.vm = vm;
	b->xb.xs = xs;
	b->xb.store_port = store_port;
	b->gt = gt;
	/* The toolstack's part, before the guest runs: no one to signal. */
	r = store_write(s, b->xb.be, "") ?: store_set_perms(s, b->xb.be, "n0r1");
	if (r)
		return r;
#define BE(k, ...)	(snprintf(path, sizeof(path), "%s/" k, b->xb.be), store_writef(s, path, __VA_ARGS__))
#define FE(k, ...)	(snprintf(path, sizeof(path), "%s/" k, b->xb.fe), store_writef(s, path, __VA_ARGS__))
	r = BE("frontend", "%s", b->xb.fe) ?: BE("frontend-id", "%u", STORE_GUEST_DOMID) ?:
	    BE("online", "1") ?: BE("params", "%s", b->path) ?:
	    BE("mode", "%s", b->ro ? "r" : "w") ?: BE("type", "file") ?:
	    BE("dev", "%s", b->dev) ?: BE("device-type", "disk") ?:
	    BE("removable", "0") ?: BE("bootable", "1") ?:
	    BE("sectors", "%llu", (unsigned long long)b->sectors) ?:
	    BE("sector-size", "%llu", SECTOR) ?:
	    BE("physical-sector-size", "%llu", SECTOR) ?:
	    BE("info", "%u", b->ro ? VDISK_READONLY : 0) ?:
	    BE("feature-flush-cache", "1") ?: BE("feature-barrier", "1") ?:
	    BE("feature-discard", "%d", b->discard) ?:
	    BE("discard-granularity", "%llu", SECTOR) ?:
	    BE("discard-alignment", "0") ?: BE("discard-secure", "0") ?:
	    BE("state", "%d", XenbusStateInitWait) ?:
	    FE("backend", "%s", b->xb.be) ?: FE("backend-id", "0") ?:
	    FE("virtual-device", "%u", b->vdev) ?: FE("device-type", "disk") ?:
	    FE("state", "%d", XenbusStateInitialising);
#undef BE
#undef FE
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/state", b->xb.fe);
	r = store_watch(s, conn, path, "state");
	if (r)
		return r;
	r = pthread_create(&b->th, NULL, blkback_main, b);
	if (r)
		return -r;
	b->started = 1;
	return 0;
}

const char *blkback_broken(struct blkback *b)
{
	return __atomic_load_n(&b->broken, __ATOMIC_ACQUIRE);
}

void blkback_close(struct blkback *b)
{
	if (!b)
		return;
	if (b->started) {
		__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
		blkback_kick(b);
		pthread_join(b->th, NULL);
		if (b->xb.connected)
			disconnect_ring(&b->xb);
	}
	if (b->uring_ok)
		io_uring_queue_exit(&b->uring);
	if (b->xb.efd >= 0)
		close(b->xb.efd);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b);
}
