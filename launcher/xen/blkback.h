/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A Xen block back end (xen/io/blkif.h) on a raw image file: the other
 * half of Linux's xen-blkfront, as Xen's blkback or QEMU's xen-block is.
 */
#ifndef LG_XEN_BLKBACK_H
#define LG_XEN_BLKBACK_H

#include <pthread.h>
#include <stdint.h>

struct lg_vm;
struct xs_server;
struct gnttab;
struct blkback;

/*
 * Open @path (read-only with @ro) for the guest's disk number @index
 * (xvda, xvdb, ...), locked against other launchers (a shared lock for
 * read-only, an exclusive one otherwise).  NULL and one line in @err.
 */
struct blkback *blkback_open(const char *path, int ro, unsigned int index,
			     char *err, size_t errlen);

/*
 * Before the guest runs: its device and back-end nodes in the xenstore
 * (as the toolstack writes them), a watch on its front end, and the
 * back end's thread.  @conn is this back end's xenstore connection
 * (1 and up).  0 or -errno.
 */
int blkback_start(struct blkback *b, struct lg_vm *vm, struct xs_server *xs,
		  struct gnttab *gt, uint32_t store_port, unsigned int conn);

/* The guest signalled event channel @port: 1 if it was this disk's. */
int blkback_event(struct blkback *b, uint32_t port);

/* Something of this back end's changed in the xenstore: look again. */
void blkback_kick(struct blkback *b);

/* Why the guest's ring is no longer served (NULL: it is), for the tests. */
const char *blkback_broken(struct blkback *b);

/* Stop its thread, let go of the guest's grants and close the image. */
void blkback_close(struct blkback *b);

#endif
