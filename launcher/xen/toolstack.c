// SPDX-License-Identifier: GPL-2.0
/*
 * What Xen's toolstack (libxl, for `xl create`) writes in the xenstore
 * before a PV domain starts, so that its drivers find the layout they
 * expect: the domain's home, /local/domain/1, readable by it but Domain
 * 0's; under it the directories the guest itself writes (device,
 * control's feature flags, data...) and the nodes it reads (name,
 * domid, memory/target for its balloon driver, each vCPU's
 * availability for its vCPU hotplug).  Back ends add their
 * device and backend directories as they are created.
 */
#include <stdio.h>
#include "kernel.h"
#include "store.h"

#define HOME	"/local/domain/1"

int xen_store_seed(struct store *s, const char *name, uint64_t mem_kib,
		   unsigned int nr_cpus)
{
	/* libxl's rwperm nodes: the guest's to write. */
	static const char *const guest_dirs[] = {
		"device", "data", "drivers", "feature", "attr", "error",
		"control/shutdown", "control/sysrq", "control/feature-poweroff",
		"control/feature-reboot", "control/feature-suspend",
		"control/platform-feature-multiprocessor-suspend",
		"control/platform-feature-xs_reset_watches",
	};
	char path[128];
	unsigned int i;
	int r;

	r = store_write(s, "/local/domain/0/name", "Domain-0") ?:
	    store_write(s, "/local/domain/0/domid", "0") ?:
	    store_write(s, HOME, "") ?:
	    store_set_perms(s, HOME, "n0r1") ?:
	    store_write(s, HOME "/name", name) ?:
	    store_writef(s, HOME "/domid", "%u", STORE_GUEST_DOMID) ?:
	    store_write(s, HOME "/control", "") ?:
	    store_writef(s, HOME "/memory/static-max", "%llu", (unsigned long long)mem_kib) ?:
	    store_writef(s, HOME "/memory/target", "%llu", (unsigned long long)mem_kib) ?:
	    store_writef(s, HOME "/memory/videoram", "0");
	for (i = 0; !r && i < sizeof(guest_dirs) / sizeof(guest_dirs[0]); i++) {
		snprintf(path, sizeof(path), HOME "/%s", guest_dirs[i]);
		/* The guest's own: it owns them, Domain 0 may look. */
		r = store_write(s, path, "") ?: store_set_perms(s, path, "n1r0");
	}
	/* Each vCPU's availability, which Linux's vCPU hotplug reads. */
	for (i = 0; !r && i < nr_cpus; i++) {
		snprintf(path, sizeof(path), HOME "/cpu/%u/availability", i);
		r = store_write(s, path, "online");
	}
	return r;
}
