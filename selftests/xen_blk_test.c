// SPDX-License-Identifier: GPL-2.0
/*
 * xen_blk_test: the launcher's block back end (launcher/xen/blkback.c)
 * against a front end that speaks the raw ring protocol and means harm.
 *
 * The test process is the launcher here: it serves the guest's xenstore
 * and grant table with the launcher's own code and runs a back end on a
 * 1 MiB image in a temporary file.  It writes the front end's xenstore
 * nodes itself (the guest has no xenbus), so the guest only sets up the
 * ring, its grants and an event channel for domain 0, then puts requests
 * on the ring one at a time: good ones, and ones with bad segments,
 * sectors past the end, grants it never made, read-only grants to be
 * written, frames that are not RAM, operations that do not exist, and at
 * the end a ring index that cannot be.  Each must get the response Xen's
 * blkback gives (or none, for the broken ring), and nothing may be
 * written outside the image.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "xen_test.h"
#include <xen/grant_table.h>
#define mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#include <xen/io/blkif.h>
/* Whichever names this interface version gives them. */
#ifndef xen_mb
#define xen_mb()	mb()
#define xen_rmb()	rmb()
#define xen_wmb()	wmb()
#endif
#include "xen/blkback.h"
#include "xen_launcher.h"

#define IMAGE_SECTORS	2048		/* 1 MiB */
#define RING_VA		XEN_TEST_SCRATCH
#define DATA_VA(i)	(XEN_TEST_SCRATCH + (1 + (i)) * 4096ULL)
#define FE		"/local/domain/1/device/vbd/51712"
#define BE		"/local/domain/0/backend/vbd/1/51712"

/* The guest's side. */

enum { G_RING = 1, G_DATA, G_IN, G_IN_RO, G_NEVER, G_NOT_RAM, G_NR };

enum {
	C_WRITE, C_READ, C_READ_INTO_RO, C_NOT_GRANTED, C_BEYOND_TABLE,
	C_NOT_RAM, C_PAST_END, C_LAST_PAGE, C_HUGE_SECTOR, C_FIRST_GT_LAST,
	C_LAST_SECT_8, C_NO_SEGMENTS, C_TOO_MANY_SEGMENTS, C_UNKNOWN_OP,
	C_INDIRECT, C_FLUSH, C_FUA_WRITE, C_DISCARD_PAST_END, C_DISCARD,
	C_SAME_GRANT_TWICE, NR_CASES
};

static struct {
	uint32_t port;
	int16_t status[NR_CASES];
	uint64_t same;			/* the read gave back what was written */
	uint16_t flags_after[G_NR];	/* grant flags once all is done */
	int ro;				/* set by the host: a read-only disk */
} blk_res;

static blkif_front_ring_t front;

static void grant(uint32_t ref, uint64_t va, int ro)
{
	volatile struct grant_entry_v1 *gt = (void *)XEN_TEST_GNTTAB;

	gt[ref].domid = 0;
	gt[ref].frame = va >> 12;
	wmb();
	gt[ref].flags = GTF_permit_access | (ro ? GTF_readonly : 0);
}

/* Word by word: a struct copy could become a call to libc's memcpy. */
static void copy(void *dst, const void *src, size_t n)
{
	volatile uint64_t *d = dst;
	const volatile uint64_t *s = src;
	size_t i;

	for (i = 0; i < n / 8; i++)
		d[i] = s[i];
}

static void notify(void)
{
	struct evtchn_send s = { .port = blk_res.port };

	HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

/* One request on the ring; its response's status. */
static int16_t request(const blkif_request_t *req)
{
	blkif_response_t *rsp;
	int n, i;

	copy(RING_GET_REQUEST(&front, front.req_prod_pvt), req, sizeof(*req));
	front.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, n);
	/* Told every time, whatever req_event says: the back end must cope. */
	(void)n;
	notify();
	for (i = 0; i < 1000000 && !RING_HAS_UNCONSUMED_RESPONSES(&front); i++)
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	GUEST_ASSERT(RING_HAS_UNCONSUMED_RESPONSES(&front));
	rsp = RING_GET_RESPONSE(&front, front.rsp_cons);
	front.rsp_cons++;
	GUEST_ASSERT_EQ(rsp->id, req->id);
	return rsp->status;
}

static int16_t rw(int id, uint8_t op, uint64_t sector, unsigned int nseg,
		  uint32_t gref, uint8_t first, uint8_t last)
{
	blkif_request_t r = {
		.operation = op, .nr_segments = nseg, .id = id,
		.sector_number = sector,
	};
	unsigned int i;

	for (i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		r.seg[i] = (struct blkif_request_segment){ gref, first, last };
	return request(&r);
}

static int16_t discard(int id, uint64_t sector, uint64_t nr)
{
	blkif_request_t r = { .operation = BLKIF_OP_DISCARD, .id = id };
	blkif_request_discard_t *d = (blkif_request_discard_t *)&r;

	d->sector_number = sector;
	d->nr_sectors = nr;
	return request(&r);
}

static void guest_blk(void)
{
	static struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
	volatile uint64_t *ring = (void *)RING_VA, *out = (void *)DATA_VA(0),
			  *in = (void *)DATA_VA(1);
	volatile struct grant_entry_v1 *gt = (void *)XEN_TEST_GNTTAB;
	int16_t *st = blk_res.status;
	unsigned int i;

	for (i = 0; i < 512; i++) {
		ring[i] = 0;
		out[i] = 0x6c67756573740000ULL | i;	/* "lguest" and the word */
		in[i] = 0;
	}
	SHARED_RING_INIT((blkif_sring_t *)RING_VA);
	FRONT_RING_INIT(&front, (blkif_sring_t *)RING_VA, 4096);
	grant(G_RING, RING_VA, 0);
	grant(G_DATA, DATA_VA(0), 1);		/* written from: read-only is enough */
	grant(G_IN, DATA_VA(1), 0);
	grant(G_IN_RO, DATA_VA(2), 1);
	grant(G_NOT_RAM, XEN_TEST_SHARED_INFO, 0);
	GUEST_ASSERT_EQ(0, HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au));
	blk_res.port = au.port;
	/* The host plays xenbus: front end Initialised, back end Connected. */
	GUEST_SYNC(au.port);

	st[C_WRITE] = rw(C_WRITE, BLKIF_OP_WRITE, 0, 1, G_DATA, 0, 7);
	st[C_READ] = rw(C_READ, BLKIF_OP_READ, 0, 1, G_IN, 0, 7);
	blk_res.same = 1;
	for (i = 0; i < 512; i++)
		blk_res.same &= in[i] == out[i];
	st[C_READ_INTO_RO] = rw(C_READ_INTO_RO, BLKIF_OP_READ, 0, 1, G_IN_RO, 0, 7);
	st[C_NOT_GRANTED] = rw(C_NOT_GRANTED, BLKIF_OP_READ, 0, 1, G_NEVER, 0, 7);
	st[C_BEYOND_TABLE] = rw(C_BEYOND_TABLE, BLKIF_OP_READ, 0, 1, 0xffffffff, 0, 7);
	st[C_NOT_RAM] = rw(C_NOT_RAM, BLKIF_OP_READ, 0, 1, G_NOT_RAM, 0, 7);
	st[C_PAST_END] = rw(C_PAST_END, BLKIF_OP_READ, IMAGE_SECTORS - 7, 1, G_IN, 0, 7);
	st[C_LAST_PAGE] = rw(C_LAST_PAGE, BLKIF_OP_READ, IMAGE_SECTORS - 8, 1, G_IN, 0, 7);
	st[C_HUGE_SECTOR] = rw(C_HUGE_SECTOR, BLKIF_OP_READ, ~7ULL, 1, G_IN, 0, 7);
	st[C_FIRST_GT_LAST] = rw(C_FIRST_GT_LAST, BLKIF_OP_READ, 0, 1, G_IN, 4, 3);
	st[C_LAST_SECT_8] = rw(C_LAST_SECT_8, BLKIF_OP_READ, 0, 1, G_IN, 0, 8);
	st[C_NO_SEGMENTS] = rw(C_NO_SEGMENTS, BLKIF_OP_READ, 0, 0, G_IN, 0, 7);
	st[C_TOO_MANY_SEGMENTS] = rw(C_TOO_MANY_SEGMENTS, BLKIF_OP_READ, 0, 12, G_IN, 0, 7);
	st[C_UNKNOWN_OP] = rw(C_UNKNOWN_OP, 99, 0, 1, G_IN, 0, 7);
	st[C_INDIRECT] = rw(C_INDIRECT, BLKIF_OP_INDIRECT, 0, 1, G_IN, 0, 7);
	st[C_FLUSH] = rw(C_FLUSH, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0, 0);
	st[C_FUA_WRITE] = rw(C_FUA_WRITE, BLKIF_OP_FLUSH_DISKCACHE, 8, 1, G_DATA, 0, 7);
	st[C_DISCARD_PAST_END] = discard(C_DISCARD_PAST_END, IMAGE_SECTORS - 8, 16);
	st[C_DISCARD] = discard(C_DISCARD, 0, 8);
	st[C_SAME_GRANT_TWICE] = rw(C_SAME_GRANT_TWICE, BLKIF_OP_WRITE, 16, 2, G_DATA, 0, 7);
	for (i = 0; i < G_NR; i++)
		blk_res.flags_after[i] = gt[i].flags;
	GUEST_SYNC(100);

	/* A producer index a ring and more ahead: the ring stops. */
	((blkif_sring_t *)RING_VA)->req_prod = front.req_prod_pvt + 1000;
	notify();
	GUEST_SYNC(101);
}

/* The host's side: the launcher's part. */

struct host {
	struct xen_test_launcher l;
	struct blkback *b;
	char image[64];
};

static void backend_fire(void *opaque, unsigned int conn)
{
	struct host *h = opaque;

	if (conn == 1)
		blkback_kick(h->b);
}

static struct host *host_new(int ro)
{
	struct host *h = calloc(1, sizeof(*h));
	struct xen_test_vm *t;
	char err[256];
	int fd;

	if (!h)
		return NULL;
	t = xen_test_vm_create_devices(guest_blk);
	if (!t)
		return NULL;
	*(int *)xen_test_hva(t, &blk_res.ro) = ro;
	snprintf(h->image, sizeof(h->image), "/tmp/xen_blk_test.XXXXXX");
	fd = mkstemp(h->image);
	if (fd < 0 || ftruncate(fd, IMAGE_SECTORS * 512) || close(fd))
		return NULL;
	if (xtl_init(&h->l, t, backend_fire, h))
		return NULL;
	h->b = blkback_open(h->image, ro, 0, err, sizeof(err));
	if (!h->b || blkback_start(h->b, &t->vm, &h->l.xs, &h->l.gt, XEN_TEST_STORE_PORT, 1)) {
		fprintf(stderr, "# %s\n", err);
		return NULL;
	}
	return h;
}

static void host_free(struct host *h)
{
	blkback_close(h->b);
	xtl_free(&h->l);
	unlink(h->image);
	free(h);
}

static int disk_event(void *b, uint32_t port)
{
	return blkback_event(b, port);
}

/* Run to the guest's next ucall, waking the back end on its events. */
static int run(struct host *h, uint64_t *v)
{
	return xtl_run(&h->l, v, disk_event, h->b);
}

/* Play the front end's xenbus part, and wait for the back end's. */
static int connect_front(struct host *h, uint32_t port)
{
	static const char *const keys[] = {
		"ring-ref", "1", "protocol", "x86_64-abi", NULL,
	};

	return xtl_front_ready(&h->l, FE, keys, port, BE);
}

TEST(hostile_requests_get_xens_answers)
{
	struct host *h = host_new(0);
	unsigned char buf[8192];
	uint64_t v;
	struct stat st;
	int fd, i;

	ASSERT_NE(NULL, h);
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(0, connect_front(h, v));
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(100, v);
	typeof(blk_res) *r = xen_test_hva(h->l.t, &blk_res);
	static const struct {
		const char *what;
		int16_t want;
	} want[NR_CASES] = {
		[C_WRITE] = { "a write of one page", BLKIF_RSP_OKAY },
		[C_READ] = { "a read of it", BLKIF_RSP_OKAY },
		[C_READ_INTO_RO] = { "a read into a read-only grant", BLKIF_RSP_ERROR },
		[C_NOT_GRANTED] = { "a reference never granted", BLKIF_RSP_ERROR },
		[C_BEYOND_TABLE] = { "a reference past the table", BLKIF_RSP_ERROR },
		[C_NOT_RAM] = { "a grant of a frame that is not RAM", BLKIF_RSP_ERROR },
		[C_PAST_END] = { "sectors past the end", BLKIF_RSP_ERROR },
		[C_LAST_PAGE] = { "the last page", BLKIF_RSP_OKAY },
		[C_HUGE_SECTOR] = { "a sector near 2^64", BLKIF_RSP_ERROR },
		[C_FIRST_GT_LAST] = { "first_sect after last_sect", BLKIF_RSP_ERROR },
		[C_LAST_SECT_8] = { "last_sect 8", BLKIF_RSP_ERROR },
		[C_NO_SEGMENTS] = { "a read of no segments", BLKIF_RSP_ERROR },
		[C_TOO_MANY_SEGMENTS] = { "12 segments", BLKIF_RSP_ERROR },
		[C_UNKNOWN_OP] = { "operation 99", BLKIF_RSP_EOPNOTSUPP },
		[C_INDIRECT] = { "an indirect request (not offered)", BLKIF_RSP_EOPNOTSUPP },
		[C_FLUSH] = { "a flush", BLKIF_RSP_OKAY },
		[C_FUA_WRITE] = { "a flush with data", BLKIF_RSP_OKAY },
		[C_DISCARD_PAST_END] = { "a discard past the end", BLKIF_RSP_ERROR },
		[C_DISCARD] = { "a discard", BLKIF_RSP_OKAY },
		[C_SAME_GRANT_TWICE] = { "one grant in two segments", BLKIF_RSP_OKAY },
	};

	for (i = 0; i < NR_CASES; i++) {
		const char *what = want[i].what ? want[i].what : "?";
		int16_t got = r->status[i], wanted = want[i].want;

		EXPECT_EQ(wanted, got) {
			TH_LOG("%s: status %d", what, got);
		}
	}
	EXPECT_EQ(1, r->same);
	/* The ring's grant in use while connected, as Xen maps it ... */
	EXPECT_EQ(GTF_reading | GTF_writing,
		  r->flags_after[G_RING] & (GTF_reading | GTF_writing));
	/* ... and every other given back: no reading or writing flag left. */
	for (i = G_DATA; i < G_NR; i++) {
		uint16_t flags = r->flags_after[i];

		EXPECT_EQ(0, flags & (GTF_reading | GTF_writing)) {
			TH_LOG("grant %d: flags %#x", i, flags);
		}
	}
	/* The image: sector 0 discarded, 8 and 16-31 written, its size the same. */
	fd = open(h->image, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(IMAGE_SECTORS * 512, st.st_size);
	ASSERT_EQ(4096, pread(fd, buf, 4096, 0));
	for (i = 0; i < 4096 && !buf[i]; i++)
		;
	EXPECT_EQ(4096, i);
	ASSERT_EQ(4096, pread(fd, buf, 4096, 8 * 512));
	EXPECT_EQ(0, memcmp(buf, xen_test_hva(h->l.t, (void *)DATA_VA(0)), 4096));
	ASSERT_EQ(8192, pread(fd, buf, 8192, 16 * 512));
	EXPECT_EQ(0, memcmp(buf, xen_test_hva(h->l.t, (void *)DATA_VA(0)), 4096));
	EXPECT_EQ(0, memcmp(buf + 4096, xen_test_hva(h->l.t, (void *)DATA_VA(0)), 4096));
	close(fd);

	/* The broken ring: no longer served, and the guest runs on. */
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(101, v);
	for (i = 0; i < 100 && !blkback_broken(h->b); i++)
		usleep(10 * 1000);
	EXPECT_NE(NULL, blkback_broken(h->b));
	host_free(h);
}

TEST(a_read_only_disk_refuses_writes)
{
	struct host *h = host_new(1);
	uint64_t v;

	ASSERT_NE(NULL, h);
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(0, connect_front(h, v));
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	typeof(blk_res) *r = xen_test_hva(h->l.t, &blk_res);

	EXPECT_EQ(BLKIF_RSP_ERROR, r->status[C_WRITE]);
	EXPECT_EQ(BLKIF_RSP_OKAY, r->status[C_READ]);
	EXPECT_EQ(BLKIF_RSP_ERROR, r->status[C_FUA_WRITE]);
	EXPECT_EQ(BLKIF_RSP_ERROR, r->status[C_DISCARD]);
	EXPECT_EQ(BLKIF_RSP_OKAY, r->status[C_FLUSH]);
	host_free(h);
}

int main(int argc, char **argv)
{
	if (access("/dev/lguest", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/lguest absent (lg.ko not loaded)\n");
		return 4;
	}
	return test_harness_run(argc, argv);
}
