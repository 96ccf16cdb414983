// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-to-physical table (M2P).
 *
 * A PV kernel's page tables hold machine frame numbers, and it turns one
 * back into its own pseudo-physical number by reading Xen's read-only M2P
 * at 0xffff800000000000, the start of the hypervisor's hole: Linux does
 * so on every pte_val() and, at boot, to follow the builder's tables.
 * lguest's machine frames are guest-physical ones, so the M2P is the
 * identity (m2p[n] = n) whatever the guest: one set of host pages serves
 * every guest.  It grows to the largest guest yet and stays until the
 * module goes (M:037); each Xen guest's kernel roots map it, read-only,
 * at PML4 slot 256, which is the hole's and so never the guest's.
 */
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include "xen.h"

#define M2P_PER_PAGE	(PAGE_SIZE / sizeof(u64))
#define M2P_PAGES	(LGUEST_MAX_MEM / PAGE_SIZE / M2P_PER_PAGE)
/* Each page table maps 512 M2P pages; one PMD and one PUD above them. */
#define M2P_TABLES	DIV_ROUND_UP(M2P_PAGES, 512)

#define M2P_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
#define M2P_LEAF	(_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX)

static DEFINE_MUTEX(m2p_lock);
static u64 *m2p_pud, *m2p_pmd, *m2p_pte[M2P_TABLES];
static struct page *m2p_page[M2P_PAGES];
static unsigned long m2p_nr;		/* pages filled */

static u64 *table_page(void)
{
	return (u64 *)get_zeroed_page(GFP_KERNEL);
}

/*
 * The slot-256 entry that maps an M2P covering @frames frames, or 0 if
 * memory ran out.  Entries are only ever added, so roots that already map
 * the table see the new ones without a flush (x86 caches no non-present
 * entry).
 */
u64 lg_xen_m2p_entry(u64 frames)
{
	unsigned long need = DIV_ROUND_UP(frames, M2P_PER_PAGE);
	u64 ret = 0;

	if (need > M2P_PAGES)
		return 0;
	mutex_lock(&m2p_lock);
	if (!m2p_pud) {
		u64 *pud = table_page(), *pmd = table_page();

		if (!pud || !pmd) {
			free_page((unsigned long)pud);
			free_page((unsigned long)pmd);
			goto out;
		}
		pud[0] = __pa(pmd) | M2P_TABLE;
		m2p_pmd = pmd;
		m2p_pud = pud;
	}
	while (m2p_nr < need) {
		unsigned long n = m2p_nr, i;
		u64 *t = m2p_pte[n / 512], *p;

		if (!t) {
			t = table_page();
			if (!t)
				goto out;
			m2p_pte[n / 512] = t;
			m2p_pmd[n / 512] = __pa(t) | M2P_TABLE;
		}
		m2p_page[n] = alloc_page(GFP_KERNEL);
		if (!m2p_page[n])
			goto out;
		p = page_address(m2p_page[n]);
		for (i = 0; i < M2P_PER_PAGE; i++)
			p[i] = n * M2P_PER_PAGE + i;
		WRITE_ONCE(t[n % 512], page_to_phys(m2p_page[n]) | M2P_LEAF);
		m2p_nr++;
	}
	ret = __pa(m2p_pud) | M2P_TABLE;
out:
	mutex_unlock(&m2p_lock);
	return ret;
}

/* At module unload, when no guest is left. */
void lg_xen_m2p_free(void)
{
	unsigned long i;

	for (i = 0; i < m2p_nr; i++)
		__free_page(m2p_page[i]);
	for (i = 0; i < M2P_TABLES; i++)
		free_page((unsigned long)m2p_pte[i]);
	free_page((unsigned long)m2p_pmd);
	free_page((unsigned long)m2p_pud);
}
