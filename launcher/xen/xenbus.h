/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The back end's half of xenbus: the handshake every split device does
 * through the xenstore (Xen's xen/io/xenbus.h states), shared by the
 * launcher's back ends.
 */
#ifndef LG_XEN_XENBUS_H
#define LG_XEN_XENBUS_H

#include <stddef.h>
#include <stdint.h>

struct lg_vm;
struct xs_server;

struct xenbus_be {
	struct lg_vm *vm;
	struct xs_server *xs;
	uint32_t store_port;
	char fe[64], be[80];	/* the front end's and our directories */
	const char *name;	/* for messages: "disk xvda (disk.img)" */
	int connected;
	int efd;		/* the back end's thread waits on it */
	uint32_t port;		/* the bound event channel (0: none) */
	/* Map the rings, bind the channels: 0, or -1 (said why) to give up. */
	int (*connect)(struct xenbus_be *x);
	void (*disconnect)(struct xenbus_be *x);
};

/* Write @key under our directory; signal the guest if it watches.  0 or -errno. */
int xenbus_put(struct xenbus_be *x, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A number the front end wrote under its directory (0..2^32-1), or -1. */
long long xenbus_fe_number(struct xenbus_be *x, const char *key, int missing_ok);
/* A string it wrote there, or -errno. */
int xenbus_fe_read(struct xenbus_be *x, const char *key, char *buf, size_t len);
/* Wake the back end's thread (an event, or a xenstore change). */
void xenbus_kick(struct xenbus_be *x);
/* The guest signalled @port: 1 (and the thread woken) if it is ours. */
int xenbus_event(struct xenbus_be *x, uint32_t port);
/* One line on stderr about this device. */
void xenbus_warn(struct xenbus_be *x, const char *why);
/*
 * Where the front end is now, and where that takes us: Initialised
 * (or Connected) -> connect(), and we are Connected; Closing or Closed
 * -> disconnect(), and we follow; Initialising again after Closed ->
 * InitWait, for a front end starting over.
 */
void xenbus_follow(struct xenbus_be *x);

#endif
