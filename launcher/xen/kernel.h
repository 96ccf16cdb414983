/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a Xen PV kernel (docs/xen-pv.md and the design study it
 * corrects): what its ELF notes say, and its image in guest memory.
 */
#ifndef LG_XEN_KERNEL_H
#define LG_XEN_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Format one line into @err (@errlen bytes) and return -1. */
int xen_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What the Xen ELF notes say (0 or "" where a note is absent). */
struct xen_kernel {
	uint64_t entry;			/* ENTRY, else the ELF's e_entry */
	uint64_t virt_base;		/* VIRT_BASE: where pfn 0 is mapped */
	uint64_t paddr_offset;		/* PADDR_OFFSET */
	uint64_t hypercall_page;	/* HYPERCALL_PAGE (gone from Linux 6.1) */
	uint64_t init_p2m;		/* INIT_P2M */
	uint64_t hv_start_low;		/* HV_START_LOW */
	uint64_t supported_features;	/* SUPPORTED_FEATURES bits */
	uint64_t mod_start_pfn;		/* MOD_START_PFN: initrd may be unmapped */
	char guest_os[16];
	char guest_version[16];
	char xen_version[16];
	char loader[16];
	char features[128];		/* FEATURES, '!' marks a required one */
	/* The image, loaded by physical address: [pstart, pend). */
	uint64_t pstart, pend;
	/* The ELF, once decompressed (bytes). */
	uint64_t elf_size;
};

/*
 * Read @path (a bzImage with an XZ payload, or a plain ELF), check that it
 * is a 64-bit Xen PV kernel whose required features lguest has, and fill
 * @k.  With @mem (guest memory of @mem_size bytes), also load each PT_LOAD
 * segment at its physical address there, the tails zeroed.  Returns 0, or
 * -1 with one line in @err.
 */
int xen_kernel_load(const char *path, void *mem, uint64_t mem_size,
		    struct xen_kernel *k, char *err, size_t errlen);

/*
 * The start-of-day layout a Xen domain builder leaves a PV kernel (the
 * design study's section 2.2), as frame numbers (lguest's "machine" frames
 * are guest-physical ones: an identity p2m) and the registers it starts
 * with.
 */
struct xen_layout {
	uint64_t nr_pages;		/* RAM, and the p2m's length */
	uint64_t p2m_pfn, nr_p2m_pages;	/* the p2m list, mapped */
	uint64_t start_info_pfn;
	uint64_t store_pfn;		/* xenstore ring page (zeroed) */
	uint64_t console_pfn;		/* console ring page (zeroed) */
	uint64_t pt_pfn, nr_pt_frames;	/* bootstrap tables: L4, L3, L2, L1s */
	uint64_t stack_pfn;		/* one page */
	uint64_t mod_pfn, mod_len;	/* the initrd (0, 0 without one) */
	int mod_mapped;			/* inside the mapping, else after it */
	uint64_t map_end;		/* the mapping is [virt_base, map_end) */
	uint64_t shared_info_pfn;	/* just above RAM: not RAM, not in the p2m */
	uint64_t gnttab_pfn;		/* then the grant table's frames */
	uint64_t rip, rsp, rsi;		/* entry, stack top, start_info's VA */
};

/* The console's event channel in start_info (never 0: Linux needs one). */
#define XEN_CONSOLE_EVTCHN	1
/* The xenstore's. */
#define XEN_STORE_EVTCHN	2
/*
 * Grant-table frames above shared_info: Xen's default max_grant_frames,
 * 16384 references, which Linux's front ends never come near.
 */
#define XEN_GNTTAB_FRAMES	32
/*
 * Where shared_info keeps its event channel bitmaps (Xen's public/xen.h,
 * x86_64): after the 32 legacy vcpu_info of 64 bytes, evtchn_pending[64]
 * and then evtchn_mask[64], each a 64-bit word of 64 ports.
 */
#define XEN_SI_EVTCHN_PENDING	2048
#define XEN_SI_EVTCHN_MASK	2560
/* What guest memory holds beyond RAM: shared_info and the grant frames. */
#define XEN_EXTRA_PAGES		(1 + XEN_GNTTAB_FRAMES)

/*
 * Build that layout in guest memory (@mem, @mem_size bytes of RAM, and
 * XEN_EXTRA_PAGES more above it), around a
 * kernel xen_kernel_load() put there: the p2m, start_info (with @cmdline
 * and the @initrd of @initrd_len bytes), the ring pages, the bootstrap page
 * tables and the stack.  Returns 0, or -1 with one line in @err.
 */
int xen_build_layout(const struct xen_kernel *k, void *mem, uint64_t mem_size,
		     const void *initrd, uint64_t initrd_len, const char *cmdline,
		     struct xen_layout *l, char *err, size_t errlen);

/*
 * Copy what the guest wrote to its console ring (@ring, the page in guest
 * memory) to @fd (none if negative) and give the space back.  Returns the
 * byte count, or -1 with errno: EPROTO if the ring's indices are
 * impossible, else why writing to @fd failed.
 */
struct xencons_interface;
ssize_t xen_console_drain(struct xencons_interface *ring, int fd);

/*
 * Put up to @len bytes of @buf in the ring's input side for the guest to
 * read.  Returns how many fitted (0 when the ring is full), or -1 with
 * errno EPROTO when the guest's in_cons is impossible (ahead of in_prod,
 * or more than a ring behind).  The caller then raises the channel.
 */
ssize_t xen_console_feed(struct xencons_interface *ring, const char *buf,
			 size_t len);

/*
 * Seed @s (launcher/xen/store.h) with what Xen's toolstack writes for a
 * PV domain named @name with @mem_kib KiB of RAM and @nr_cpus vCPUs.
 * 0 or -errno.
 */
struct store;
int xen_store_seed(struct store *s, const char *name, uint64_t mem_kib,
		   unsigned int nr_cpus);

#endif
