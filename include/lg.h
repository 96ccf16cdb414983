/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lg.h: the module's private header.  Everything the parts of lg.ko (vcpu/,
 * switcher/, pgtable/, sched/) share but user space must never see lives here;
 * what user space sees lives in include/uapi/linux/lguest.h.
 *
 * Two objects organise the whole hypervisor, as in the original lguest:
 *
 *   struct lguest   one guest: its memory, its shadow page tables, its vCPUs.
 *                   One per open file of /dev/lguest.
 *   struct lg_cpu   one virtual CPU: its registers, what changed since it last
 *                   ran, and which physical CPU's switcher pages it last used.
 *
 * Today a guest is an empty shell that only proves its own lifetime; the
 * world-switch issue fills both structures in.
 */
#ifndef _LG_H
#define _LG_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/lguest.h>

/* The module version reported by modinfo and by LHREQ_INFO. */
#define LG_VERSION "0.1"

struct lguest {
	/* Unique among live guests; reported by LHREQ_INFO. */
	u32 id;
	/* Serialises requests that change the guest as a whole. */
	struct mutex lock;
};

/* vcpu/lguest_user.c: the /dev/lguest character device. */
int lguest_device_init(void);
void lguest_device_remove(void);

#endif /* _LG_H */
