// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore's tree, transactions and watches (store.h says what it is
 * for).  A few hundred nodes at most, so plain lists and linear scans:
 * simple enough to be obviously right, which matters more here than
 * speed, since every byte of every request is the guest's.
 *
 * The rules are xenstored's (Xen's tools/xenstored, read, not copied):
 *
 * - Paths are absolute ("/local/domain/1/device") or relative to the
 *   caller's home, /local/domain/<domid>.  Only [A-Za-z0-9_@/-], no
 *   empty component, no trailing '/', within XENSTORE_ABS_PATH_MAX.
 * - Writing a node creates its missing ancestors.  A new node inherits
 *   its parent's permissions, with the creating guest as owner.
 * - Permissions: the first entry names the owner and what everyone else
 *   may do; later entries grant one domain each its own.  The owner may
 *   do anything; domain 0 (the launcher) may do anything anywhere.
 * - A transaction works on its own copy of the tree.  Committing it fails
 *   with EAGAIN if any node it looked at or changed has changed since (a
 *   node changes when it is written or when a child comes or goes);
 *   otherwise its changes are replayed, in order, onto the live tree.
 * - A watch on W fires for a change to W or anything under it, and for
 *   the removal of anything above it; once when it is set; and for a
 *   transaction's changes only when it commits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"

struct store_access {
	char *path;
	uint64_t gen;		/* the live node's when first met; 0: absent */
	int modified;
};

struct store_txn {
	struct store_txn *next;
	uint32_t id;
	unsigned int conn;
	struct store_node *nodes;	/* the transaction's own tree */
	unsigned int nr_nodes;
	struct store_access *acc;
	unsigned int nr_acc, max_acc;
	int failed;			/* out of memory: commit says EAGAIN */
};

/* The tree an operation works on: the live one or a transaction's. */
struct tree {
	struct store_node **nodes;
	unsigned int *nr;
	struct store_txn *txn;
};

static struct store_node *find(struct store_node *n, const char *path)
{
	for (; n; n = n->next)
		if (!strcmp(n->path, path))
			return n;
	return NULL;
}

static void free_node(struct store_node *n)
{
	free(n->path);
	free(n->value);
	free(n);
}

static void free_nodes(struct store_node *n)
{
	while (n) {
		struct store_node *next = n->next;

		free_node(n);
		n = next;
	}
}

/* @path's parent, in @buf: "/a/b" -> "/a", "/a" -> "/". */
static void parent_of(const char *path, char *buf)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == path ? 1 : (size_t)(slash - path);

	memcpy(buf, path, n);
	buf[n] = 0;
}

/* Is @node @path itself or below it? */
static int under(const char *node, const char *path)
{
	size_t n = strlen(path);

	if (!strcmp(path, "/"))
		return 1;
	return !strncmp(node, path, n) && (node[n] == 0 || node[n] == '/');
}

/*
 * The caller's @in (at most @len bytes, 0-terminated within them) as a
 * checked absolute path in @out.  Watch paths may be '@' names.
 */
static int canon(unsigned int dom, const char *in, unsigned int len,
		 char *out, int watch)
{
	size_t n = strnlen(in, len), i;

	if (n == len || !n)
		return EINVAL;
	if (watch && in[0] == '@') {
		if (n > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		memcpy(out, in, n + 1);
		return 0;
	}
	if (in[0] == '/') {
		if (n > XENSTORE_ABS_PATH_MAX)
			return EINVAL;
		memcpy(out, in, n + 1);
	} else {
		if (n > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		snprintf(out, XENSTORE_ABS_PATH_MAX + 1, "/local/domain/%u/%s", dom, in);
	}
	n = strlen(out);
	if (n > 1 && out[n - 1] == '/')
		return EINVAL;
	for (i = 0; i < n; i++) {
		char c = out[i];

		if (c == '/' && out[i + 1] == '/')
			return EINVAL;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '@' || c == '/'))
			return EINVAL;
	}
	return 0;
}

/* What @dom may do to @n: 'r' or 'w' asked, 1 if allowed. */
static int allowed(const struct store_node *n, unsigned int dom, char want)
{
	char mode = n->perms[0].mode;
	unsigned int i;

	if (dom == 0 || n->perms[0].dom == dom)
		return 1;
	for (i = 1; i < n->nr_perms; i++)
		if (n->perms[i].dom == dom)
			mode = n->perms[i].mode;
	return mode == 'b' || mode == want;
}

static uint64_t live_gen(struct store *s, const char *path)
{
	struct store_node *n = find(s->nodes, path);

	return n ? n->gen : 0;
}

/* A transaction meets @path: remember its live generation the first time. */
static void touch(struct tree *t, const char *path, int modified)
{
	struct store_txn *x = t->txn;
	unsigned int i;

	if (!x)
		return;
	for (i = 0; i < x->nr_acc; i++) {
		if (!strcmp(x->acc[i].path, path)) {
			if (modified && !x->acc[i].modified) {
				/* Replayed in order: move it to the end. */
				struct store_access a = x->acc[i];

				memmove(&x->acc[i], &x->acc[i + 1],
					(x->nr_acc - i - 1) * sizeof(a));
				a.modified = 1;
				x->acc[x->nr_acc - 1] = a;
			}
			return;
		}
	}
	if (x->nr_acc == x->max_acc) {
		unsigned int max = x->max_acc ? 2 * x->max_acc : 16;
		struct store_access *acc = realloc(x->acc, max * sizeof(*acc));

		if (!acc) {
			x->failed = 1;
			return;
		}
		x->acc = acc;
		x->max_acc = max;
	}
	x->acc[x->nr_acc].path = strdup(path);
	if (!x->acc[x->nr_acc].path) {
		x->failed = 1;
		return;
	}
	/*
	 * As the transaction's copy had it before it first touched it, which
	 * is the live tree's at the transaction's start.
	 */
	x->acc[x->nr_acc].gen = find(x->nodes, path) ? find(x->nodes, path)->gen : 0;
	x->acc[x->nr_acc].modified = modified;
	x->nr_acc++;
}

static void fire(struct store *s, const char *path, int removed)
{
	char rel[XENSTORE_ABS_PATH_MAX + 32];
	struct store_watch *w;

	for (w = s->watches; w; w = w->next) {
		char abs[XENSTORE_ABS_PATH_MAX + 32];
		const char *told = path;
		size_t home;

		if (w->path[0] == '@')
			continue;
		if (canon(w->dom, w->path, strlen(w->path) + 1, abs, 0))
			continue;
		if (!under(path, abs) && !(removed && under(abs, path)))
			continue;
		/* A relative watch hears relative paths, where they are. */
		home = snprintf(rel, sizeof(rel), "/local/domain/%u/", w->dom);
		if (w->path[0] != '/' && !strncmp(path, rel, home))
			told = path + home;
		s->fire(s->opaque, w->conn, told, w->token);
	}
}

/* The owner's count, against the guest's quota. */
static unsigned int owned(struct tree *t, unsigned int dom)
{
	struct store_node *n;
	unsigned int c = 0;

	for (n = *t->nodes; n; n = n->next)
		c += n->perms[0].dom == dom;
	return c;
}

static struct store_node *new_node(const char *path, const struct store_node *parent,
				   unsigned int dom)
{
	struct store_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->value = strdup("");
	if (!n->path || !n->value) {
		free_node(n);
		return NULL;
	}
	n->nr_perms = parent->nr_perms;
	memcpy(n->perms, parent->perms, sizeof(n->perms));
	if (dom)
		n->perms[0].dom = dom;
	return n;
}

/*
 * The node at @path, created with its missing ancestors if @create;
 * checks that @dom may write it (or, for a new one, its nearest parent).
 */
static int writable(struct store *s, struct tree *t, unsigned int dom,
		    const char *path, int create, struct store_node **out)
{
	char parent[XENSTORE_ABS_PATH_MAX + 32];
	struct store_node *n = find(*t->nodes, path), *p;
	int r;

	touch(t, path, 0);
	if (n) {
		*out = n;
		return allowed(n, dom, 'w') ? 0 : EACCES;
	}
	if (!create)
		return ENOENT;
	parent_of(path, parent);
	r = writable(s, t, dom, parent, 1, &p);
	if (r)
		return r;
	if (dom && owned(t, dom) >= STORE_MAX_NODES)
		return ENOSPC;
	n = new_node(path, p, dom);
	if (!n)
		return ENOMEM;
	n->next = *t->nodes;
	*t->nodes = n;
	(*t->nr)++;
	n->gen = ++s->gen;
	p->gen = ++s->gen;
	touch(t, path, 1);
	touch(t, parent, 1);
	if (!t->txn)
		fire(s, path, 0);
	*out = n;
	return 0;
}

static int do_write(struct store *s, struct tree *t, unsigned int dom,
		    const char *path, const char *value, unsigned int len)
{
	struct store_node *n;
	char *v;
	int r = writable(s, t, dom, path, 1, &n);

	if (r)
		return r;
	v = malloc(len + 1);
	if (!v)
		return ENOMEM;
	memcpy(v, value, len);
	v[len] = 0;
	free(n->value);
	n->value = v;
	n->len = len;
	n->gen = ++s->gen;
	touch(t, path, 1);
	if (!t->txn)
		fire(s, path, 0);
	return 0;
}

/* Remove @path and all under it. */
static int do_rm(struct store *s, struct tree *t, unsigned int dom, const char *path)
{
	char parent[XENSTORE_ABS_PATH_MAX + 32];
	struct store_node **pp, *n, *p;

	if (!strcmp(path, "/"))
		return EINVAL;
	parent_of(path, parent);
	touch(t, path, 0);
	n = find(*t->nodes, path);
	if (!n) {
		touch(t, parent, 0);
		return find(*t->nodes, parent) ? 0 : ENOENT;
	}
	if (!allowed(n, dom, 'w'))
		return EACCES;
	for (pp = t->nodes; *pp;) {
		n = *pp;
		if (!under(n->path, path)) {
			pp = &n->next;
			continue;
		}
		touch(t, n->path, 1);
		*pp = n->next;
		(*t->nr)--;
		free_node(n);
	}
	p = find(*t->nodes, parent);
	if (p) {
		p->gen = ++s->gen;
		touch(t, parent, 1);
	}
	if (!t->txn)
		fire(s, path, 1);
	return 0;
}

/* The node at @path, if @dom may read it. */
static int readable(struct tree *t, unsigned int dom, const char *path,
		    struct store_node **out)
{
	touch(t, path, 0);
	*out = find(*t->nodes, path);
	if (!*out)
		return ENOENT;
	return allowed(*out, dom, 'r') ? 0 : EACCES;
}

/* "r0\0b1\0": @n's permissions, as GET_PERMS replies. */
static unsigned int print_perms(const struct store_node *n, char *out)
{
	unsigned int i, len = 0;

	for (i = 0; i < n->nr_perms; i++)
		len += sprintf(out + len, "%c%u", n->perms[i].mode, n->perms[i].dom) + 1;
	return len;
}

/* Parse @len bytes of "<mode><domid>\0" entries. */
static int parse_perms(const char *in, unsigned int len, struct store_perm *p,
		       unsigned int *nr)
{
	unsigned int off = 0;

	*nr = 0;
	while (off < len) {
		size_t n = strnlen(in + off, len - off);
		char *end;
		unsigned long dom;

		if (n == len - off || n < 2 || *nr == STORE_MAX_PERMS ||
		    !strchr("nrwb", in[off]))
			return EINVAL;
		dom = strtoul(in + off + 1, &end, 10);
		if (*end || dom > 0x7fef || in[off + 1] < '0' || in[off + 1] > '9')
			return EINVAL;
		p[*nr].mode = in[off];
		p[*nr].dom = dom;
		(*nr)++;
		off += n + 1;
	}
	return *nr ? 0 : EINVAL;
}

static struct store_txn *find_txn(struct store *s, uint32_t id, unsigned int conn)
{
	struct store_txn *x;

	for (x = s->txns; x; x = x->next)
		if (x->id == id && x->conn == conn)
			return x;
	return NULL;
}

static void free_txn(struct store_txn *x)
{
	unsigned int i;

	for (i = 0; i < x->nr_acc; i++)
		free(x->acc[i].path);
	free(x->acc);
	free_nodes(x->nodes);
	free(x);
}

static struct store_node *copy_node(const struct store_node *o)
{
	struct store_node *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	*n = *o;
	n->next = NULL;
	n->path = strdup(o->path);
	n->value = malloc(o->len + 1);
	if (!n->path || !n->value) {
		free_node(n);
		return NULL;
	}
	memcpy(n->value, o->value, o->len + 1);
	return n;
}

static int txn_start(struct store *s, unsigned int conn, char *out, unsigned int *out_len)
{
	struct store_node *n, **tail;
	struct store_txn *x;
	unsigned int count = 0;

	for (x = s->txns; x; x = x->next)
		count += x->conn == conn;
	if (conn == 0 && count >= STORE_MAX_TXNS)
		return ENOSPC;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	tail = &x->nodes;
	for (n = s->nodes; n; n = n->next) {
		*tail = copy_node(n);
		if (!*tail) {
			free_txn(x);
			return ENOMEM;
		}
		tail = &(*tail)->next;
	}
	x->nr_nodes = s->nr_nodes;
	x->conn = conn;
	do {
		x->id = ++s->next_txid;
	} while (!x->id || find_txn(s, x->id, conn));
	x->next = s->txns;
	s->txns = x;
	*out_len = sprintf(out, "%u", x->id) + 1;
	return 0;
}

/* Replay what @x changed onto the live tree, if nothing it met moved. */
static int txn_commit(struct store *s, struct store_txn *x)
{
	struct tree live = { &s->nodes, &s->nr_nodes, NULL };
	unsigned int i;

	if (x->failed)
		return EAGAIN;
	for (i = 0; i < x->nr_acc; i++)
		if (live_gen(s, x->acc[i].path) != x->acc[i].gen)
			return EAGAIN;
	for (i = 0; i < x->nr_acc; i++) {
		const char *path = x->acc[i].path;
		struct store_node *mine = find(x->nodes, path), *n;

		if (!x->acc[i].modified)
			continue;
		n = find(s->nodes, path);
		if (!mine) {
			if (n)
				do_rm(s, &live, 0, path);
			continue;
		}
		if (!n) {
			n = copy_node(mine);
			if (!n)
				return ENOMEM;
			n->next = s->nodes;
			s->nodes = n;
			s->nr_nodes++;
		} else {
			char *v = malloc(mine->len + 1);

			if (!v)
				return ENOMEM;
			memcpy(v, mine->value, mine->len + 1);
			free(n->value);
			n->value = v;
			n->len = mine->len;
			n->nr_perms = mine->nr_perms;
			memcpy(n->perms, mine->perms, sizeof(n->perms));
		}
		n->gen = ++s->gen;
		fire(s, path, 0);
	}
	return 0;
}

static int txn_end(struct store *s, unsigned int conn, uint32_t txid,
		   const char *in, unsigned int len)
{
	struct store_txn **pp, *x = find_txn(s, txid, conn);
	int r = 0;

	if (!x)
		return ENOENT;
	if (strnlen(in, len) == len || (strcmp(in, "T") && strcmp(in, "F")))
		return EINVAL;
	if (!strcmp(in, "T"))
		r = txn_commit(s, x);
	for (pp = &s->txns; *pp != x; pp = &(*pp)->next)
		;
	*pp = x->next;
	free_txn(x);
	return r;
}

/* Children's names, each 0-terminated. */
static int directory(struct tree *t, const char *path, char *out, unsigned int *out_len)
{
	size_t plen = strcmp(path, "/") ? strlen(path) : 0;
	struct store_node *n;
	unsigned int len = 0;

	for (n = *t->nodes; n; n = n->next) {
		const char *name;
		size_t nlen;

		if (strncmp(n->path, path, plen) || n->path[plen] != '/' ||
		    !n->path[plen + 1] || strchr(n->path + plen + 1, '/'))
			continue;
		name = n->path + plen + 1;
		nlen = strlen(name) + 1;
		if (len + nlen > XENSTORE_PAYLOAD_MAX)
			return E2BIG;
		memcpy(out + len, name, nlen);
		len += nlen;
	}
	*out_len = len;
	return 0;
}

static int watch_add(struct store *s, unsigned int dom, unsigned int conn,
		     const char *path, const char *token)
{
	struct store_watch *w;
	unsigned int count = 0;

	for (w = s->watches; w; w = w->next) {
		if (w->conn != conn)
			continue;
		if (!strcmp(w->path, path) && !strcmp(w->token, token))
			return EEXIST;
		count++;
	}
	if (conn == 0 && count >= STORE_MAX_WATCHES)
		return ENOSPC;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->conn = conn;
	w->dom = dom;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return ENOMEM;
	}
	w->next = s->watches;
	s->watches = w;
	/* Set: it fires once at once, as xenstored's do. */
	s->fire(s->opaque, conn, path, token);
	return 0;
}

static int watch_del(struct store *s, unsigned int conn, const char *path,
		     const char *token)
{
	struct store_watch **pp, *w;

	for (pp = &s->watches; (w = *pp); pp = &w->next) {
		if (w->conn == conn && !strcmp(w->path, path) &&
		    !strcmp(w->token, token)) {
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
			return 0;
		}
	}
	return ENOENT;
}

void store_unwatch_all(struct store *s, unsigned int conn)
{
	struct store_watch **pp = &s->watches, *w;
	struct store_txn **tp = &s->txns, *x;

	while ((w = *pp)) {
		if (w->conn != conn) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	while ((x = *tp)) {
		if (x->conn != conn) {
			tp = &x->next;
			continue;
		}
		*tp = x->next;
		free_txn(x);
	}
}

/* Two 0-terminated strings filling @len bytes exactly: path and token. */
static int two_strings(const char *in, unsigned int len, const char **b)
{
	size_t a = strnlen(in, len);

	if (a == len || strnlen(in + a + 1, len - a - 1) != len - a - 2)
		return EINVAL;
	*b = in + a + 1;
	return 0;
}

int store_op(struct store *s, unsigned int dom, unsigned int conn,
	     uint32_t type, uint32_t txid, const char *in, unsigned int len,
	     char *out, unsigned int *out_len)
{
	char path[XENSTORE_ABS_PATH_MAX + 32];
	struct tree t = { &s->nodes, &s->nr_nodes, NULL };
	struct store_node *n;
	const char *token;
	unsigned int nr;
	size_t plen = 0;
	int r;

	*out_len = 0;
	if (len > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	if (txid) {
		t.txn = find_txn(s, txid, conn);
		if (!t.txn)
			return ENOENT;
		t.nodes = &t.txn->nodes;
		t.nr = &t.txn->nr_nodes;
	}
#define OK()	(*out_len = sprintf(out, "OK") + 1, 0)
	/* The requests about one node: its path first. */
	switch (type) {
	case XS_READ: case XS_WRITE: case XS_MKDIR: case XS_RM:
	case XS_DIRECTORY: case XS_GET_PERMS: case XS_SET_PERMS:
		r = canon(dom, in, len, path, 0);
		if (r)
			return r;
		plen = strlen(in);
	}
	switch (type) {
	case XS_READ:
		r = readable(&t, dom, path, &n);
		if (r)
			return r;
		memcpy(out, n->value, n->len);
		*out_len = n->len;
		return 0;
	case XS_WRITE:
		r = do_write(s, &t, dom, path, in + plen + 1, len - plen - 1);
		return r ? r : OK();
	case XS_MKDIR:
		r = writable(s, &t, dom, path, 1, &n);
		return r ? r : OK();
	case XS_RM:
		r = do_rm(s, &t, dom, path);
		return r ? r : OK();
	case XS_DIRECTORY:
		r = readable(&t, dom, path, &n);
		return r ? r : directory(&t, path, out, out_len);
	case XS_GET_PERMS:
		r = readable(&t, dom, path, &n);
		if (r)
			return r;
		*out_len = print_perms(n, out);
		return 0;
	case XS_SET_PERMS: {
		struct store_perm p[STORE_MAX_PERMS];

		r = parse_perms(in + plen + 1, len - plen - 1, p, &nr);
		if (r)
			return r;
		r = writable(s, &t, dom, path, 0, &n);
		if (r)
			return r;
		/* A guest may not give its nodes away (xenstored's rule). */
		if (dom && p[0].dom != n->perms[0].dom)
			return EPERM;
		memcpy(n->perms, p, nr * sizeof(p[0]));
		n->nr_perms = nr;
		n->gen = ++s->gen;
		touch(&t, path, 1);
		if (!t.txn)
			fire(s, path, 0);
		return OK();
	}
	case XS_WATCH:
	case XS_UNWATCH:
		if (two_strings(in, len, &token) || canon(dom, in, len, path, 1))
			return EINVAL;
		/* Kept as given: a relative watch hears relative paths. */
		r = type == XS_WATCH ? watch_add(s, dom, conn, in, token) :
				       watch_del(s, conn, in, token);
		return r ? r : OK();
	case XS_RESET_WATCHES:
		store_unwatch_all(s, conn);
		return OK();
	case XS_TRANSACTION_START:
		if (txid)
			return EBUSY;
		return txn_start(s, conn, out, out_len);
	case XS_TRANSACTION_END:
		r = txn_end(s, conn, txid, in, len);
		return r ? r : OK();
	case XS_GET_DOMAIN_PATH: {
		unsigned long d;
		char *end;

		if (strnlen(in, len) == len || !in[0])
			return EINVAL;
		d = strtoul(in, &end, 10);
		if (*end || d > 0x7fef)
			return EINVAL;
		*out_len = sprintf(out, "/local/domain/%lu", d) + 1;
		return 0;
	}
	case XS_IS_DOMAIN_INTRODUCED:
		*out_len = sprintf(out, "T") + 1;
		return 0;
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_RESUME:
	case XS_SET_TARGET:
	case XS_CONTROL:
		/* The toolstack's, which the guest is not. */
		return dom ? EACCES : ENOSYS;
	}
#undef OK
	return EINVAL;
}

int store_init(struct store *s)
{
	struct store_node *root = calloc(1, sizeof(*root));

	s->nodes = NULL;
	s->nr_nodes = 0;
	s->gen = 0;
	s->txns = NULL;
	s->next_txid = 0;
	s->watches = NULL;
	if (!root)
		return -ENOMEM;
	root->path = strdup("/");
	root->value = strdup("");
	if (!root->path || !root->value) {
		free_node(root);
		return -ENOMEM;
	}
	/* Domain 0's, and nobody else may do anything there. */
	root->nr_perms = 1;
	root->perms[0].mode = 'n';
	root->gen = ++s->gen;
	s->nodes = root;
	s->nr_nodes = 1;
	return 0;
}

void store_free(struct store *s)
{
	struct store_txn *x;

	store_unwatch_all(s, 0);
	while (s->watches)
		store_unwatch_all(s, s->watches->conn);
	while ((x = s->txns)) {
		s->txns = x->next;
		free_txn(x);
	}
	free_nodes(s->nodes);
	s->nodes = NULL;
}

int store_write(struct store *s, const char *path, const char *value)
{
	struct tree t = { &s->nodes, &s->nr_nodes, NULL };
	char abs[XENSTORE_ABS_PATH_MAX + 32];
	int r = canon(0, path, strlen(path) + 1, abs, 0);

	return -(r ? r : do_write(s, &t, 0, abs, value, strlen(value)));
}

int store_writef(struct store *s, const char *path, const char *fmt, ...)
{
	char value[XENSTORE_PAYLOAD_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return store_write(s, path, value);
}

int store_set_perms(struct store *s, const char *path, const char *perms)
{
	char buf[XENSTORE_ABS_PATH_MAX + 256], out[64];
	unsigned int len = strlen(path) + 1, out_len;
	const char *p = perms;

	if (len + 2 * strlen(perms) + 2 > sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len);
	/* "b1r0" -> "b1\0r0\0" */
	while (*p) {
		buf[len++] = *p++;
		while (*p >= '0' && *p <= '9')
			buf[len++] = *p++;
		buf[len++] = 0;
	}
	return -store_op(s, 0, 0, XS_SET_PERMS, 0, buf, len, out, &out_len);
}

int store_read(struct store *s, const char *path, char *buf, size_t len)
{
	char out[XENSTORE_PAYLOAD_MAX];
	unsigned int n;
	int r = store_op(s, 0, 0, XS_READ, 0, path, strlen(path) + 1, out, &n);

	if (r)
		return -r;
	if (n >= len)
		n = len - 1;
	memcpy(buf, out, n);
	buf[n] = 0;
	return 0;
}

int store_watch(struct store *s, unsigned int conn, const char *path,
		const char *token)
{
	char in[XENSTORE_PAYLOAD_MAX], out[64];
	size_t a = strlen(path) + 1, b = strlen(token) + 1;
	unsigned int n;

	if (a + b > sizeof(in))
		return -EINVAL;
	memcpy(in, path, a);
	memcpy(in + a, token, b);
	return -store_op(s, 0, conn, XS_WATCH, 0, in, a + b, out, &n);
}
