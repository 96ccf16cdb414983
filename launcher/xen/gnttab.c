// SPDX-License-Identifier: GPL-2.0
/*
 * Grant references, from the back end's side.  On Xen a back end asks the
 * hypervisor to map or copy a frame by (domain, reference); Xen checks
 * the guest's entry (a permit for this domain, writable if it is to be
 * written), sets GTF_reading and GTF_writing in it while the frame is in
 * use, and clears them after, so that the guest can tell when it may
 * take its page back (gnttab_end_foreign_access() refuses while they are
 * set).  lguest's back ends are the launcher, which maps all of guest
 * memory already: this file does Xen's part on the entries themselves
 * (the table is in guest memory, xen/gnttab.c in the module hands the
 * guest its frames), with the same atomic update of the entry's flags
 * and domid word that Xen's _set_status_v1() makes, since the guest
 * writes its entries concurrently.  A frame must be RAM: never the grant
 * table's own frames, shared_info, or outside guest memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include "gnttab.h"

int gnttab_init(struct gnttab *g, void *mem, uint64_t pfn, unsigned int frames,
		uint64_t nr_ram_pages)
{
	memset(g, 0, sizeof(*g));
	g->mem = mem;
	g->e = (struct grant_entry_v1 *)((char *)mem + pfn * 4096);
	g->nr = frames * 4096 / sizeof(struct grant_entry_v1);
	g->nr_ram_pages = nr_ram_pages;
	g->readers = calloc(g->nr, sizeof(*g->readers));
	g->writers = calloc(g->nr, sizeof(*g->writers));
	pthread_mutex_init(&g->lock, NULL);
	return g->readers && g->writers ? 0 : -ENOMEM;
}

void gnttab_free(struct gnttab *g)
{
	free(g->readers);
	free(g->writers);
	pthread_mutex_destroy(&g->lock);
}

/*
 * The entry's first word: flags in the low 16 bits, domid in the high.
 * Xen reads and updates them as one, so that a guest changing its permit
 * meanwhile makes our update fail and retry on what it now says.
 */
static uint32_t *word(struct gnttab *g, uint32_t ref)
{
	return (uint32_t *)&g->e[ref];
}

/* Set @bits in entry @ref if it permits domain 0 (and writing, if asked). */
static int mark(struct gnttab *g, uint32_t ref, uint16_t bits, int write)
{
	uint32_t *w = word(g, ref), old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	int tries;

	for (tries = 0; tries < 16; tries++) {
		uint16_t flags = old & 0xffff, domid = old >> 16;

		if ((flags & GTF_type_mask) != GTF_permit_access || domid != 0 ||
		    (write && (flags & GTF_readonly)))
			return -EACCES;
		if (__atomic_compare_exchange_n(w, &old, old | bits, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 0;
	}
	/* A guest flipping its entry without end: as Xen, give up. */
	return -EBUSY;
}

void *gnttab_get(struct gnttab *g, uint32_t ref, int write)
{
	uint64_t frame;
	int err = 0;

	if (ref >= g->nr)
		return NULL;
	pthread_mutex_lock(&g->lock);
	if (g->readers[ref] == UINT16_MAX ||
	    (!g->readers[ref] && mark(g, ref, GTF_reading, 0)))
		err = 1;
	else if (write && (g->writers[ref] == UINT16_MAX ||
			   (!g->writers[ref] && mark(g, ref, GTF_writing, 1))))
		err = 2;
	if (err) {
		if (err == 2 && !g->readers[ref])
			__atomic_fetch_and(word(g, ref), ~(uint32_t)GTF_reading, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&g->lock);
		return NULL;
	}
	g->readers[ref]++;
	if (write)
		g->writers[ref]++;
	/* The frame after the flags: the guest may not change it while they are set. */
	frame = __atomic_load_n(&g->e[ref].frame, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&g->lock);
	if (frame >= g->nr_ram_pages) {
		gnttab_put(g, ref, write);
		return NULL;
	}
	return g->mem + frame * 4096;
}

void gnttab_put(struct gnttab *g, uint32_t ref, int write)
{
	uint32_t clear = 0;

	if (ref >= g->nr)
		return;
	pthread_mutex_lock(&g->lock);
	if (write && g->writers[ref] && !--g->writers[ref])
		clear |= GTF_writing;
	if (g->readers[ref] && !--g->readers[ref])
		clear |= GTF_reading;
	if (clear)
		__atomic_fetch_and(word(g, ref), ~clear, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g->lock);
}
