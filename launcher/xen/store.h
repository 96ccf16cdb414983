/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xenstore's data: a tree of nodes named by '/'-separated paths, each
 * with a value of up to 4096 bytes and permissions, plus transactions
 * and watches (docs/xen-pv.md section 5, Xen's docs/misc/xenstore.txt).
 * This half knows nothing of rings or threads: store_op() takes one
 * request as it arrives on the wire and gives the reply's payload, so
 * the tests drive it directly (selftests/host/xenstore_test.c).  Callers
 * serialise: one mutex around every call (xsring.c holds it).
 */
#ifndef LG_XEN_STORE_H
#define LG_XEN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

/* The guest's domain id: what its relative paths hang under. */
#define STORE_GUEST_DOMID	1

/* What one guest may own, as xenstored's quotas. */
#define STORE_MAX_NODES		1000
#define STORE_MAX_WATCHES	128
#define STORE_MAX_TXNS		16
#define STORE_MAX_PERMS		8

struct store_perm {
	uint16_t dom;
	char mode;		/* 'n', 'r', 'w' or 'b' (both) */
};

struct store_node {
	struct store_node *next;
	char *path;		/* absolute; "/" is the root */
	char *value;
	unsigned int len;
	unsigned int nr_perms;	/* perms[0]: owner, and everyone's default */
	struct store_perm perms[STORE_MAX_PERMS];
	uint64_t gen;		/* the store's generation when last changed */
};

struct store_watch {
	struct store_watch *next;
	unsigned int conn;	/* who is told (0: the guest) */
	unsigned int dom;	/* whose home its relative path is under */
	char *path;		/* as given: relative paths are told relative */
	char *token;
};

struct store_txn;

/*
 * Fired watches go to @fire (path and token as the watcher registered
 * them); the caller queues them, it must not call back into the store.
 */
struct store {
	struct store_node *nodes;
	unsigned int nr_nodes;
	uint64_t gen;
	struct store_txn *txns;
	uint32_t next_txid;
	struct store_watch *watches;
	void (*fire)(void *opaque, unsigned int conn, const char *path,
		     const char *token);
	void *opaque;
};

int store_init(struct store *s);
void store_free(struct store *s);

/*
 * One request of @type, transaction @txid, payload @len bytes at @in,
 * from domain @dom (0: the launcher, which may do anything) over
 * connection @conn.  The reply's payload goes to @out (room for
 * XENSTORE_PAYLOAD_MAX bytes), its length to *@out_len.  Returns 0, or a
 * positive errno whose name is the XS_ERROR reply (xsd_errors[]).
 */
int store_op(struct store *s, unsigned int dom, unsigned int conn,
	     uint32_t type, uint32_t txid, const char *in, unsigned int len,
	     char *out, unsigned int *out_len);

/* Helpers for the launcher's own nodes (domain 0, no transaction). */
int store_write(struct store *s, const char *path, const char *value);
int store_writef(struct store *s, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "n0", "b1r0" ...: perms as SET_PERMS takes them, one string. */
int store_set_perms(struct store *s, const char *path, const char *perms);
/* The value at @path, 0-terminated (truncated to @len - 1), or -ENOENT. */
int store_read(struct store *s, const char *path, char *buf, size_t len);
int store_watch(struct store *s, unsigned int conn, const char *path,
		const char *token);
/* Drop every watch of @conn (a connection that goes away). */
void store_unwatch_all(struct store *s, unsigned int conn);

#endif
