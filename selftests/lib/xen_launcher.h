/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's part, played by a test process to a guest of its own
 * (xen_blk_test, xen_net_test): the guest's xenstore and grant table, a
 * run loop that wakes a back end on the guest's events, and the front
 * end's xenbus part written on the guest's behalf.  Header-only: only
 * the tests that link the launcher's Xen objects include it.
 */
#ifndef XEN_LAUNCHER_H
#define XEN_LAUNCHER_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "xen_test.h"
#include "xen/gnttab.h"
#include "xen/kernel.h"
#include "xen/xsring.h"

struct xen_test_launcher {
	struct xen_test_vm *t;
	struct xs_server xs;
	struct gnttab gt;
};

/* Serve @t's xenstore (seeded as the toolstack would) and grant table. */
static inline int xtl_init(struct xen_test_launcher *l, struct xen_test_vm *t,
			   void (*fire)(void *opaque, unsigned int conn), void *opaque)
{
	l->t = t;
	if (xs_server_init(&l->xs, xen_test_hva(t, (void *)XEN_TEST_STORE_RING)) ||
	    xen_store_seed(&l->xs.store, "test", XEN_TEST_RAM >> 10, 1) ||
	    gnttab_init(&l->gt, t->vm.mem, XEN_TEST_GNTTAB / 4096,
			XEN_TEST_GNTTAB_FRAMES, XEN_TEST_RAM / 4096))
		return -1;
	l->xs.backend_fire = fire;
	l->xs.backend_opaque = opaque;
	return 0;
}

/* After the back end has been closed. */
static inline void xtl_free(struct xen_test_launcher *l)
{
	gnttab_free(&l->gt);
	xs_server_free(&l->xs);
	xen_test_vm_free(l->t);
}

/* Run to the guest's next ucall, giving its events to @event (the back end's). */
static inline int xtl_run(struct xen_test_launcher *l, uint64_t *v,
			  int (*event)(void *be, uint32_t port), void *be)
{
	for (;;) {
		int r = xen_test_run(l->t, v);

		if (r != XEN_UCALL_NONE || l->t->exit.reason != LGUEST_EXIT_EVTCHN ||
		    !event(be, l->t->exit.args[0]))
			return r;
	}
}

/*
 * The front end's xenbus part: @keys (pairs, NULL-ended) and its event
 * channel @port under @fe, then Initialised; then wait for the back end
 * under @be to say Connected.  0, or -1 if it never does.
 */
static inline int xtl_front_ready(struct xen_test_launcher *l, const char *fe,
				  const char *const *keys, uint32_t port, const char *be)
{
	char path[160], buf[16];
	int i;

	for (i = 0; keys[i]; i += 2) {
		snprintf(path, sizeof(path), "%s/%s", fe, keys[i]);
		if (xs_server_write(&l->xs, path, keys[i + 1]) < 0)
			return -1;
	}
	snprintf(buf, sizeof(buf), "%u", port);
	snprintf(path, sizeof(path), "%s/event-channel", fe);
	if (xs_server_write(&l->xs, path, buf) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/state", fe);
	if (xs_server_write(&l->xs, path, "3") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/state", be);
	for (i = 0; i < 500; i++) {
		if (!xs_server_read(&l->xs, path, buf, sizeof(buf)) && !strcmp(buf, "4"))
			return 0;
		usleep(10 * 1000);
	}
	return -1;
}

#endif
