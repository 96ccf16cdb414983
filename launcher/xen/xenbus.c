// SPDX-License-Identifier: GPL-2.0
/*
 * xenbus from the back end's side.  A split device's two halves meet in
 * the xenstore: each has a directory (the front end's under the guest's
 * device/, ours under domain 0's backend/) with a "state" node, and
 * each watches the other's.  The dance, as Xen's drivers do it:
 *
 *   back end   InitWait      features written, waiting for the front end
 *   front end  Initialised   rings granted, channels allocated, written
 *   back end   Connected     rings mapped, channels bound
 *   front end  Connected     the device is the guest's
 *   front end  Closing/Closed -> back end lets go and follows
 *
 * Everything the front end writes is the guest's, read as text and
 * parsed strictly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xen/io/xenbus.h>
#include "../launcher.h"
#include "xenbus.h"
#include "xsring.h"

int xenbus_put(struct xenbus_be *x, const char *key, const char *fmt, ...)
{
	char path[160], value[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", x->be, key);
	r = xs_server_write(x->xs, path, value);
	if (r > 0)
		lg_vm_irq(x->vm, 0, x->store_port);
	return r < 0 ? r : 0;
}

int xenbus_fe_read(struct xenbus_be *x, const char *key, char *buf, size_t len)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", x->fe, key);
	return xs_server_read(x->xs, path, buf, len);
}

long long xenbus_fe_number(struct xenbus_be *x, const char *key, int missing_ok)
{
	char buf[32], *end;
	long long v;

	if (xenbus_fe_read(x, key, buf, sizeof(buf)))
		return missing_ok ? 0 : -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end || v < 0 || v > UINT32_MAX)
		return -1;
	return v;
}

void xenbus_kick(struct xenbus_be *x)
{
	uint64_t one = 1;

	if (write(x->efd, &one, sizeof(one)) < 0) {
		/* The counter is at its limit: a kick is pending anyway. */
	}
}

int xenbus_event(struct xenbus_be *x, uint32_t port)
{
	if (!port || __atomic_load_n(&x->port, __ATOMIC_ACQUIRE) != port)
		return 0;
	xenbus_kick(x);
	return 1;
}

void xenbus_warn(struct xenbus_be *x, const char *why)
{
	fprintf(stderr, "\r\nlguest: %s: %s\r\n", x->name, why);
}

static void let_go(struct xenbus_be *x)
{
	if (!x->connected)
		return;
	x->disconnect(x);
	x->connected = 0;
}

void xenbus_follow(struct xenbus_be *x)
{
	long long st = xenbus_fe_number(x, "state", 0);
	char path[160], buf[8] = "";
	int mine;

	snprintf(path, sizeof(path), "%s/state", x->be);
	xs_server_read(x->xs, path, buf, sizeof(buf));
	mine = atoi(buf);
	switch (st) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (x->connected || mine != XenbusStateInitWait)
			break;
		if (x->connect(x)) {
			xenbus_put(x, "state", "%d", XenbusStateClosing);
			break;
		}
		x->connected = 1;
		xenbus_put(x, "state", "%d", XenbusStateConnected);
		break;
	case XenbusStateClosing:
		let_go(x);
		if (mine != XenbusStateClosing && mine != XenbusStateClosed)
			xenbus_put(x, "state", "%d", XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case 0:
	case -1:
		let_go(x);
		if (mine != XenbusStateClosed)
			xenbus_put(x, "state", "%d", XenbusStateClosed);
		break;
	case XenbusStateInitialising:
		/* A front end starting over (its driver reloaded). */
		if (!x->connected && mine == XenbusStateClosed)
			xenbus_put(x, "state", "%d", XenbusStateInitWait);
		break;
	}
}
