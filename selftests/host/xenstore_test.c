// SPDX-License-Identifier: GPL-2.0
/*
 * xenstore_test: the launcher's xenstore (launcher/xen/store.c and
 * xsring.c), driven as a guest drives it: messages written into the
 * request ring of a page of our own, the server kicked, the replies read
 * back from the reply ring.  Xen's semantics, and a guest that sends
 * garbage: impossible indices, oversized payloads, paths that are not
 * paths, quotas, a guest that never reads its replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "xen/xsring.h"

struct guest {
	struct xenstore_domain_interface page;
	struct xs_server x;
	uint32_t req_id;
};

static void put(struct guest *g, const void *p, size_t n)
{
	const char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		g->page.req[MASK_XENSTORE_IDX(g->page.req_prod + i)] = c[i];
	g->page.req_prod += n;
}

/* Send one request whose payload is @n bytes (strings with their 0s). */
static int send_msg(struct guest *g, uint32_t type, uint32_t tx, const void *p, size_t n)
{
	struct xsd_sockmsg h = { type, ++g->req_id, tx, n };
	size_t done = 0;
	int r = 0;

	put(g, &h, sizeof(h));
	/* A payload longer than the ring goes in as the server makes room. */
	while (done < n) {
		size_t room = XENSTORE_RING_SIZE - (g->page.req_prod - g->page.req_cons);
		size_t k = n - done < room ? n - done : room;

		put(g, (const char *)p + done, k);
		done += k;
		r = xs_server_kick(&g->x);
		if (r < 0)
			return r;
	}
	if (!n)
		r = xs_server_kick(&g->x);
	return r;
}

static int get_byte(struct guest *g, char *c)
{
	/* Room made: the server may have more queued. */
	if (g->page.rsp_cons == g->page.rsp_prod &&
	    (xs_server_kick(&g->x) < 0 || g->page.rsp_cons == g->page.rsp_prod))
		return -1;
	*c = g->page.rsp[MASK_XENSTORE_IDX(g->page.rsp_cons)];
	g->page.rsp_cons++;
	return 0;
}

/* Read one message from the reply ring into @buf; its header in *@h. */
static int get_msg(struct guest *g, struct xsd_sockmsg *h, char *buf)
{
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		if (get_byte(g, (char *)h + i))
			return -1;
	if (h->len > XENSTORE_PAYLOAD_MAX)
		return -1;
	for (i = 0; i < h->len; i++)
		if (get_byte(g, buf + i))
			return -1;
	return 0;
}

/* A request and its reply: the reply's type, its payload in @out. */
static uint32_t call(struct guest *g, uint32_t type, uint32_t tx, const void *p,
		     size_t n, char *out, uint32_t *out_len)
{
	struct xsd_sockmsg h;

	if (send_msg(g, type, tx, p, n) < 0)
		return XS_INVALID;
	do {
		if (get_msg(g, &h, out))
			return XS_INVALID;
	} while (h.type == XS_WATCH_EVENT);
	if (out_len)
		*out_len = h.len;
	out[h.len] = 0;
	return h.type;
}

static char *s2(const char *a, const char *b, size_t *n)
{
	static char buf[8192];
	size_t la = strlen(a) + 1, lb = strlen(b);

	memcpy(buf, a, la);
	memcpy(buf + la, b, lb + 1);
	*n = la + lb;
	return buf;
}

static uint32_t gwrite(struct guest *g, uint32_t tx, const char *path, const char *v,
		       char *out)
{
	size_t n;
	char *p = s2(path, v, &n);

	return call(g, XS_WRITE, tx, p, n, out, NULL);
}

static uint32_t gread(struct guest *g, uint32_t tx, const char *path, char *out)
{
	return call(g, XS_READ, tx, path, strlen(path) + 1, out, NULL);
}

static struct guest *guest_new(void)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g || xs_server_init(&g->x, &g->page))
		abort();
	/* As the launcher lays it out: the guest's home is its own. */
	store_write(&g->x.store, "/local/domain/1/name", "test");
	store_set_perms(&g->x.store, "/local/domain/1", "n1");
	store_set_perms(&g->x.store, "/local/domain/1/name", "n1");
	store_write(&g->x.store, "/local/domain/0/secret", "dom0's");
	store_set_perms(&g->x.store, "/local/domain/0/secret", "n0");
	store_write(&g->x.store, "/local/domain/0/public", "readable");
	store_set_perms(&g->x.store, "/local/domain/0/public", "n0r1");
	return g;
}

static void guest_free(struct guest *g)
{
	xs_server_free(&g->x);
	free(g);
}

static char out[XENSTORE_PAYLOAD_MAX + 1], big[XENSTORE_PAYLOAD_MAX];

TEST(read_write_directory_rm)
{
	struct guest *g = guest_new();
	uint32_t len;

	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "device/vbd/51712/state", "1", out));
	EXPECT_STREQ("OK", out);
	EXPECT_EQ(XS_READ, gread(g, 0, "/local/domain/1/device/vbd/51712/state", out));
	EXPECT_STREQ("1", out);
	/* Values are bytes: a 0 inside one comes back. */
	EXPECT_EQ(XS_WRITE, call(g, XS_WRITE, 0, "data\0a\0b", 8, out, NULL));
	EXPECT_EQ(XS_READ, call(g, XS_READ, 0, "data", 5, out, &len));
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(out, "a\0b", 3));
	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "device/vbd/51760/state", "1", out));
	EXPECT_EQ(XS_DIRECTORY, call(g, XS_DIRECTORY, 0, "device/vbd", 11, out, &len));
	EXPECT_EQ(12, len);	/* "51760\0" "51712\0", in some order */
	EXPECT_TRUE(!memcmp(out, "51760\0" "51712", 12) || !memcmp(out, "51712\0" "51760", 12));
	EXPECT_EQ(XS_RM, call(g, XS_RM, 0, "device", 7, out, NULL));
	EXPECT_EQ(XS_ERROR, gread(g, 0, "device/vbd/51712/state", out));
	EXPECT_STREQ("ENOENT", out);
	/* rm of what is not there, under what is: fine, as xenstored. */
	EXPECT_EQ(XS_RM, call(g, XS_RM, 0, "device", 7, out, NULL));
	EXPECT_EQ(XS_ERROR, call(g, XS_RM, 0, "no/such/parent", 15, out, NULL));
	EXPECT_STREQ("ENOENT", out);
	EXPECT_EQ(XS_GET_DOMAIN_PATH, call(g, XS_GET_DOMAIN_PATH, 0, "1", 2, out, NULL));
	EXPECT_STREQ("/local/domain/1", out);
	/* A 4096-byte write: four turns of the ring each way. */
	memcpy(big, "big", 4);
	memset(big + 4, 'x', sizeof(big) - 4);
	EXPECT_EQ(XS_WRITE, call(g, XS_WRITE, 0, big, sizeof(big), out, NULL));
	EXPECT_EQ(XS_READ, call(g, XS_READ, 0, "big", 4, out, &len));
	EXPECT_EQ(sizeof(big) - 4, len);
	EXPECT_EQ(0, memcmp(out, big + 4, len));
	guest_free(g);
}

TEST(permissions)
{
	struct guest *g = guest_new();

	EXPECT_EQ(XS_ERROR, gread(g, 0, "/local/domain/0/secret", out));
	EXPECT_STREQ("EACCES", out);
	EXPECT_EQ(XS_READ, gread(g, 0, "/local/domain/0/public", out));
	EXPECT_STREQ("readable", out);
	EXPECT_EQ(XS_ERROR, gwrite(g, 0, "/local/domain/0/public", "mine", out));
	EXPECT_STREQ("EACCES", out);
	EXPECT_EQ(XS_ERROR, gwrite(g, 0, "/elsewhere", "x", out));
	EXPECT_STREQ("EACCES", out);
	EXPECT_EQ(XS_ERROR, call(g, XS_RM, 0, "/local/domain/0/public", 23, out, NULL));
	EXPECT_STREQ("EACCES", out);
	/* Its own nodes: the guest owns what it creates, and keeps it. */
	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "mine", "1", out));
	EXPECT_EQ(XS_GET_PERMS, call(g, XS_GET_PERMS, 0, "mine", 5, out, NULL));
	EXPECT_STREQ("n1", out);
	EXPECT_EQ(XS_SET_PERMS, call(g, XS_SET_PERMS, 0, "mine\0n1\0r0", 11, out, NULL));
	EXPECT_EQ(XS_ERROR, call(g, XS_SET_PERMS, 0, "mine\0n0", 8, out, NULL));
	EXPECT_STREQ("EPERM", out);
	EXPECT_EQ(XS_ERROR, call(g, XS_SET_PERMS, 0, "mine\0x1", 8, out, NULL));
	EXPECT_STREQ("EINVAL", out);
	/* The toolstack's operations are not the guest's. */
	EXPECT_EQ(XS_ERROR, call(g, XS_INTRODUCE, 0, "1\0" "2\0" "3", 6, out, NULL));
	EXPECT_STREQ("EACCES", out);
	guest_free(g);
}

TEST(transactions_conflict_and_commit)
{
	struct guest *g = guest_new();
	uint32_t t1, t2;

	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "a", "0", out));
	EXPECT_EQ(XS_TRANSACTION_START, call(g, XS_TRANSACTION_START, 0, "", 1, out, NULL));
	t1 = atoi(out);
	EXPECT_EQ(XS_TRANSACTION_START, call(g, XS_TRANSACTION_START, 0, "", 1, out, NULL));
	t2 = atoi(out);
	ASSERT_NE(0, t1);
	ASSERT_NE(t1, t2);
	/* Each sees its own writes, and not the other's. */
	EXPECT_EQ(XS_WRITE, gwrite(g, t1, "a", "1", out));
	EXPECT_EQ(XS_READ, gread(g, t1, "a", out));
	EXPECT_STREQ("1", out);
	EXPECT_EQ(XS_READ, gread(g, 0, "a", out));
	EXPECT_STREQ("0", out);
	EXPECT_EQ(XS_READ, gread(g, t2, "a", out));
	EXPECT_STREQ("0", out);
	EXPECT_EQ(XS_WRITE, gwrite(g, t2, "a", "2", out));
	EXPECT_EQ(XS_WRITE, gwrite(g, t1, "b/c", "new", out));
	/* The first to commit wins; the other met a node that changed. */
	EXPECT_EQ(XS_TRANSACTION_END, call(g, XS_TRANSACTION_END, t1, "T", 2, out, NULL));
	EXPECT_EQ(XS_ERROR, call(g, XS_TRANSACTION_END, t2, "T", 2, out, NULL));
	EXPECT_STREQ("EAGAIN", out);
	EXPECT_EQ(XS_READ, gread(g, 0, "a", out));
	EXPECT_STREQ("1", out);
	EXPECT_EQ(XS_READ, gread(g, 0, "b/c", out));
	EXPECT_STREQ("new", out);
	/* Ended: it is gone.  Aborted: nothing of it stays. */
	EXPECT_EQ(XS_ERROR, gread(g, t1, "a", out));
	EXPECT_STREQ("ENOENT", out);
	EXPECT_EQ(XS_TRANSACTION_START, call(g, XS_TRANSACTION_START, 0, "", 1, out, NULL));
	t1 = atoi(out);
	EXPECT_EQ(XS_WRITE, gwrite(g, t1, "a", "aborted", out));
	EXPECT_EQ(XS_TRANSACTION_END, call(g, XS_TRANSACTION_END, t1, "F", 2, out, NULL));
	EXPECT_EQ(XS_READ, gread(g, 0, "a", out));
	EXPECT_STREQ("1", out);
	EXPECT_EQ(XS_ERROR, call(g, XS_TRANSACTION_END, 12345, "T", 2, out, NULL));
	EXPECT_STREQ("ENOENT", out);
	guest_free(g);
}

/* The watch events the server has sent, as "path token" lines. */
static void events(struct guest *g, char *buf, size_t len)
{
	struct xsd_sockmsg h;
	size_t used = 0;

	buf[0] = 0;
	while (g->page.rsp_cons != g->page.rsp_prod && !get_msg(g, &h, out)) {
		if (h.type == XS_WATCH_EVENT)
			used += snprintf(buf + used, len - used, "%s %s;", out,
					 out + strlen(out) + 1);
	}
}

TEST(watches)
{
	struct guest *g = guest_new();
	char ev[4096];
	uint32_t t;

	/* Set: it fires once, relative as it was given. */
	EXPECT_EQ(XS_WATCH, call(g, XS_WATCH, 0, "device\0tok", 11, out, NULL));
	events(g, ev, sizeof(ev));
	EXPECT_STREQ("device tok;", ev);
	EXPECT_EQ(XS_ERROR, call(g, XS_WATCH, 0, "device\0tok", 11, out, NULL));
	EXPECT_STREQ("EEXIST", out);
	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "device/vbd/1", "x", out));
	events(g, ev, sizeof(ev));
	/* Each node created fires (device, device/vbd, device/vbd/1). */
	EXPECT_NE(NULL, strstr(ev, "device/vbd/1 tok;"));
	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "other", "x", out));
	events(g, ev, sizeof(ev));
	EXPECT_STREQ("", ev);
	/* An absolute watch below; removing its parent fires it. */
	EXPECT_EQ(XS_WATCH, call(g, XS_WATCH, 0,
				 "/local/domain/1/device/vbd/1\0abs", 33, out, NULL));
	events(g, ev, sizeof(ev));
	EXPECT_EQ(XS_RM, call(g, XS_RM, 0, "device/vbd", 11, out, NULL));
	events(g, ev, sizeof(ev));
	EXPECT_NE(NULL, strstr(ev, "/local/domain/1/device/vbd abs;"));
	EXPECT_NE(NULL, strstr(ev, "device/vbd tok;"));
	/* In a transaction: only when it commits. */
	EXPECT_EQ(XS_TRANSACTION_START, call(g, XS_TRANSACTION_START, 0, "", 1, out, NULL));
	t = atoi(out);
	EXPECT_EQ(XS_WRITE, gwrite(g, t, "device/x", "1", out));
	events(g, ev, sizeof(ev));
	EXPECT_STREQ("", ev);
	EXPECT_EQ(XS_TRANSACTION_END, call(g, XS_TRANSACTION_END, t, "T", 2, out, NULL));
	events(g, ev, sizeof(ev));
	EXPECT_NE(NULL, strstr(ev, "device/x tok;"));
	EXPECT_EQ(XS_UNWATCH, call(g, XS_UNWATCH, 0, "device\0tok", 11, out, NULL));
	EXPECT_EQ(XS_WRITE, gwrite(g, 0, "device/y", "1", out));
	events(g, ev, sizeof(ev));
	EXPECT_STREQ("", ev);
	guest_free(g);
}

TEST(paths_that_are_not_paths)
{
	static const char *bad[] = {
		"", "a//b", "a/", "/a/", "sp ace", "dot.dot", "a\nb", "/local/domain/1/x y",
	};
	struct guest *g = guest_new();
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(XS_ERROR, gwrite(g, 0, bad[i], "v", out)) {
			TH_LOG("path '%s'", bad[i]);
		}
		EXPECT_STREQ("EINVAL", out);
	}
	/* No terminating 0 inside the payload. */
	EXPECT_EQ(XS_ERROR, call(g, XS_READ, 0, "abc", 3, out, NULL));
	EXPECT_STREQ("EINVAL", out);
	EXPECT_EQ(XS_ERROR, call(g, XS_WATCH, 0, "abc\0tok", 7, out, NULL));
	EXPECT_STREQ("EINVAL", out);
	/* Types that are not requests. */
	EXPECT_EQ(XS_ERROR, call(g, XS_WATCH_EVENT, 0, "a\0b", 4, out, NULL));
	EXPECT_EQ(XS_ERROR, call(g, 999, 0, "", 1, out, NULL));
	EXPECT_STREQ("EINVAL", out);
	/* A path one past the limit. */
	memset(big, 'a', XENSTORE_REL_PATH_MAX + 1);
	big[XENSTORE_REL_PATH_MAX + 1] = 0;
	EXPECT_EQ(XS_ERROR, gwrite(g, 0, big, "v", out));
	EXPECT_STREQ("EINVAL", out);
	guest_free(g);
}

TEST(quotas)
{
	struct guest *g = guest_new();
	char path[64];
	unsigned int i, ok = 0;

	for (i = 0; i < STORE_MAX_NODES + 10; i++) {
		snprintf(path, sizeof(path), "n/%u", i);
		ok += gwrite(g, 0, path, "x", out) == XS_WRITE;
	}
	EXPECT_GT(STORE_MAX_NODES, ok);
	EXPECT_STREQ("ENOSPC", out);
	for (i = 0, ok = 0; i < STORE_MAX_WATCHES + 10; i++) {
		snprintf(path, sizeof(path), "w%u", i);
		ok += call(g, XS_WATCH, 0, s2(path, "t", &(size_t){0}),
			   strlen(path) + 3, out, NULL) == XS_WATCH;
	}
	EXPECT_EQ(STORE_MAX_WATCHES, ok);
	guest_free(g);
}

TEST(broken_guests_are_no_longer_served)
{
	struct guest *g = guest_new();
	struct xsd_sockmsg h = { XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };

	/* A producer more than a ring ahead. */
	g->page.req_prod = g->page.req_cons + XENSTORE_RING_SIZE + 1;
	EXPECT_EQ(-1, xs_server_kick(&g->x));
	EXPECT_NE(NULL, g->x.broken);
	/* And it stays so: no more reading from that page. */
	EXPECT_EQ(0, xs_server_kick(&g->x));
	guest_free(g);

	g = guest_new();
	put(g, &h, sizeof(h));
	EXPECT_EQ(-1, xs_server_kick(&g->x));
	guest_free(g);

	/* A consumer index of the replies that it cannot have. */
	g = guest_new();
	g->page.rsp_cons = g->page.rsp_prod + 5000;
	EXPECT_EQ(-1, send_msg(g, XS_READ, 0, "name", 5));
	guest_free(g);
}

TEST(a_guest_that_never_reads_cannot_grow_the_queue)
{
	struct guest *g = guest_new();
	unsigned int i;

	memcpy(big, "big", 4);
	memset(big + 4, 'y', sizeof(big) - 4);
	EXPECT_EQ(XS_WRITE, call(g, XS_WRITE, 0, big, sizeof(big), out, NULL));
	/* Reads of 4 KiB, never read back: the server stops taking them. */
	for (i = 0; i < 200; i++) {
		struct xsd_sockmsg h = { XS_READ, i, 0, 4 };

		if (XENSTORE_RING_SIZE - (g->page.req_prod - g->page.req_cons) < 20)
			break;
		put(g, &h, sizeof(h));
		put(g, "big", 4);
		xs_server_kick(&g->x);
	}
	EXPECT_LE(g->x.out_len, XS_OUT_MAX + sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX);
	EXPECT_EQ(NULL, g->x.broken);
	guest_free(g);
}

TEST_HARNESS_MAIN
