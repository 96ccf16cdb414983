/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A Xen network back end (xen/io/netif.h) on a tap device: the other half
 * of Linux's xen-netfront, as Xen's netback is.
 */
#ifndef LG_XEN_NETBACK_H
#define LG_XEN_NETBACK_H

#include <stddef.h>
#include <stdint.h>

struct lg_vm;
struct xs_server;
struct gnttab;
struct netback;

/*
 * Open @spec ("tap=NAME") for the guest's interface number @index (its
 * eth0, eth1...).  NULL and one line in @err.
 */
struct netback *netback_open(const char *spec, unsigned int index, char *err,
			     size_t errlen);

/* As blkback_start(): the xenstore nodes, a watch, the thread. */
int netback_start(struct netback *n, struct lg_vm *vm, struct xs_server *xs,
		  struct gnttab *gt, uint32_t store_port, unsigned int conn);

/* The guest signalled event channel @port: 1 if it was this interface's. */
int netback_event(struct netback *n, uint32_t port);

/* Something of this back end's changed in the xenstore: look again. */
void netback_kick(struct netback *n);

/* Why the guest's rings are no longer served (NULL: they are), for the tests. */
const char *netback_broken(struct netback *n);

void netback_close(struct netback *n);

#endif
