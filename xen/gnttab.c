// SPDX-License-Identifier: GPL-2.0
/*
 * Grant tables, version 1: how a Xen guest lets another domain at its
 * pages.  The guest fills in entries of a table that lives in frames the
 * hypervisor owns and hands it: entry N says "domain D may read (or
 * write) my frame F", and a front end passes N, the grant reference,
 * to its back end through a ring.  On Xen the back end then asks the
 * hypervisor to map or copy by reference, and the hypervisor checks
 * the entry and marks it in use.
 *
 * Here every back end is the launcher, "domain 0", which already maps
 * all of guest memory: it reads the entries itself, checks them as Xen
 * would and marks them in use with the same atomic flags Xen sets,
 * in the launcher's xen/ directory.  So all the hypervisor keeps is where the
 * table is: frames the launcher put above RAM (after shared_info) and
 * named at LHREQ_INITIALIZE.  The guest asks for them with
 * GNTTABOP_setup_table and maps them as any other frame; nothing about
 * their contents passes through here.  A guest given no frames has no
 * grant table: Xen's ENOSYS, after which Linux carries on without one.
 * Mapping and copying by reference (what back ends inside a guest
 * would do) are not offered: there are none (M:049).
 */
#include <linux/nospec.h>
#include <xen/interface/grant_table.h>
#include "xen.h"

/* A table of @n frames: as Xen, growing only, up to the launcher's. */
static bool grow(struct lg_xen *x, u32 n)
{
	u32 used = READ_ONCE(x->gnttab_used), prev;

	if (n > x->gnttab_frames)
		return false;
	while (n > used) {
		prev = cmpxchg(&x->gnttab_used, used, n);
		if (prev == used)
			break;
		used = prev;
	}
	return true;
}

static long setup_table(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct gnttab_setup_table st;
	u64 frame, va;
	u32 i;

	if (lg_xen_read(cpu, arg, &st, sizeof(st)))
		return -EFAULT;
	if (st.dom != DOMID_SELF)
		st.status = GNTST_permission_denied;
	else if (!grow(x, st.nr_frames))
		st.status = GNTST_general_error;
	else
		st.status = GNTST_okay;
	va = (u64)(unsigned long)st.frame_list;
	for (i = 0; st.status == GNTST_okay && i < st.nr_frames; i++) {
		frame = (x->gnttab_gpa >> PAGE_SHIFT) + i;
		if (lg_xen_write(cpu, va + i * sizeof(frame), &frame, sizeof(frame)))
			return -EFAULT;
	}
	return lg_xen_write(cpu, arg, &st, sizeof(st));
}

static long query_size(struct lg_cpu *cpu, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct gnttab_query_size q;

	if (lg_xen_read(cpu, arg, &q, sizeof(q)))
		return -EFAULT;
	if (q.dom != DOMID_SELF) {
		q.status = GNTST_permission_denied;
	} else {
		q.nr_frames = READ_ONCE(x->gnttab_used);
		q.max_nr_frames = x->gnttab_frames;
		q.status = GNTST_okay;
	}
	return lg_xen_write(cpu, arg, &q, sizeof(q));
}

/* Version 1 only, as a Xen whose max_grant_version is 1 answers. */
static long set_version(struct lg_cpu *cpu, u64 arg)
{
	struct gnttab_set_version v;

	if (lg_xen_read(cpu, arg, &v, sizeof(v)))
		return -EFAULT;
	if (v.version == 1)
		return 0;
	/* The version in force goes back, as Xen writes it. */
	v.version = 1;
	return lg_xen_write(cpu, arg, &v, sizeof(v)) ?: -EINVAL;
}

static long get_version(struct lg_cpu *cpu, u64 arg)
{
	struct gnttab_get_version v;

	if (lg_xen_read(cpu, arg, &v, sizeof(v)))
		return -EFAULT;
	if (v.dom != DOMID_SELF)
		return -EPERM;
	v.version = 1;
	return lg_xen_write(cpu, arg, &v, sizeof(v));
}

long lg_xen_grant_table_op(struct lg_cpu *cpu, u64 cmd, u64 arg, u64 count)
{
	if (!lg_xen(cpu->lg)->gnttab_frames)
		return -LG_XEN_ENOSYS;
	switch (cmd) {
	case GNTTABOP_setup_table:
	case GNTTABOP_query_size:
	case GNTTABOP_set_version:
	case GNTTABOP_get_version:
		/* One at a time, as Xen takes these. */
		if (count != 1)
			return -EINVAL;
		break;
	default:
		return -LG_XEN_ENOSYS;
	}
	switch (cmd) {
	case GNTTABOP_setup_table:
		return setup_table(cpu, arg);
	case GNTTABOP_query_size:
		return query_size(cpu, arg);
	case GNTTABOP_set_version:
		return set_version(cpu, arg);
	default:
		return get_version(cpu, arg);
	}
}
