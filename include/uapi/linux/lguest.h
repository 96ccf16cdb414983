/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lguest's user ABI: the one place where request numbers, structure layouts
 * and limits shared by the module (lg.ko), the launcher and the tests live.
 *
 * The launcher talks to the module by writing requests to /dev/lguest, as the
 * original lguest did.  Every write carries exactly one request: a __u64
 * request number followed by that request's argument structure, and nothing
 * else.  The module insists on the exact length, so a short or oversized
 * write, or an unknown number, fails with EINVAL before anything is touched.
 * A successful write returns the number of bytes written.
 *
 * Requests that return data carry a user pointer and the size the caller
 * believes the reply has; a size mismatch is EINVAL, never a silent
 * truncation, so an old launcher cannot misread a new module.
 */
#ifndef _UAPI_LINUX_LGUEST_H
#define _UAPI_LINUX_LGUEST_H

#include <linux/types.h>

/* Bumped whenever a structure below or the meaning of a request changes. */
#define LGUEST_ABI_VERSION	1

/* The most vCPUs one guest may have (the SMP issue brings them to life). */
#define LGUEST_MAX_VCPUS	64

/* Request numbers: the first __u64 of every write to /dev/lguest. */
enum lguest_req {
	LHREQ_INFO = 1,		/* struct lguest_req_info */
};

/* LHREQ_INFO: copy a struct lguest_info to user memory at @addr. */
struct lguest_req_info {
	__u64 addr;		/* user pointer to a struct lguest_info */
	__u64 size;		/* must be sizeof(struct lguest_info) */
};

/* Host capabilities, as the module sees them (lguest_info.host_caps). */
#define LGUEST_HOST_LA57	(1ULL << 0)	/* 5-level paging is on */
#define LGUEST_HOST_PTI		(1ULL << 1)	/* kernel page-table isolation */
#define LGUEST_HOST_SMEP	(1ULL << 2)	/* CR4.SMEP set */
#define LGUEST_HOST_SMAP	(1ULL << 3)	/* CR4.SMAP set */
#define LGUEST_HOST_PCID	(1ULL << 4)	/* CR4.PCIDE set */
#define LGUEST_HOST_FSGSBASE	(1ULL << 5)	/* CR4.FSGSBASE set */
#define LGUEST_HOST_XSAVE	(1ULL << 6)	/* CR4.OSXSAVE set */
#define LGUEST_HOST_PKU		(1ULL << 7)	/* CR4.PKE set */

#define LGUEST_VERSION_LEN	32

struct lguest_info {
	__u32 abi_version;		/* LGUEST_ABI_VERSION */
	__u32 max_vcpus;		/* LGUEST_MAX_VCPUS */
	__u64 host_caps;		/* LGUEST_HOST_* */
	__u32 host_cpus;		/* online host CPUs */
	__u32 guest_id;			/* this open file's guest, unique while open */
	__u32 nr_guests;		/* guests (open files) alive on the host */
	__u32 pad;
	char version[LGUEST_VERSION_LEN];	/* module version, NUL-terminated */
};

#endif /* _UAPI_LINUX_LGUEST_H */
