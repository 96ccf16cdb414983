/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's grant table, as its back ends (the launcher's) use it: a
 * grant reference to the guest frame it grants, checked and marked in
 * use as Xen marks it.
 */
#ifndef LG_XEN_GNTTAB_H
#define LG_XEN_GNTTAB_H

#include <pthread.h>
#include <stdint.h>

struct grant_entry_v1;

struct gnttab {
	struct grant_entry_v1 *e;	/* in guest memory */
	unsigned int nr;		/* entries */
	char *mem;			/* guest memory */
	uint64_t nr_ram_pages;		/* a grant may name only these */
	pthread_mutex_t lock;
	uint16_t *readers, *writers;	/* our uses of each entry */
};

/* The table in @frames frames at @pfn of guest memory @mem.  0 or -ENOMEM. */
int gnttab_init(struct gnttab *g, void *mem, uint64_t pfn, unsigned int frames,
		uint64_t nr_ram_pages);
void gnttab_free(struct gnttab *g);

/*
 * The frame grant @ref gives domain 0, to read (and with @write, to
 * write), marked in use (GTF_reading, GTF_writing) until gnttab_put();
 * NULL if the guest has not granted it so.
 */
void *gnttab_get(struct gnttab *g, uint32_t ref, int write);
void gnttab_put(struct gnttab *g, uint32_t ref, int write);

#endif
