// SPDX-License-Identifier: GPL-2.0
/*
 * Pins: which guest pages the host holds, and how often they are mapped.
 *
 * A page a shadow leaf maps must stay where it is while the CPU may use
 * that leaf, so it is pinned (FOLL_PIN | FOLL_LONGTERM).  The obvious way,
 * one pin per leaf, is wrong: a pin of a small page adds 1024 to its
 * reference count (GUP_PIN_COUNTING_BIAS), and a guest controls how many
 * leaves map one page.  A few page tables of its own, pointing at
 * themselves level after level, map one page at millions of addresses;
 * two million pins overflow the page's 32-bit count.
 *
 * So a guest holds at most one pin per guest-physical page (gfn), however
 * many leaves map it, and counts the leaves itself: lg->pins[gfn] has the
 * page and the number of leaves mapping it.  The first leaf takes the pin,
 * the last one to go gives it back (through a zap, after every vCPU left
 * the guest: tables.c).  To know which gfn a leaf maps when it goes, each
 * leaf table carries a reverse map, one u32 gfn per entry, in an array its
 * struct page points to (page->private): the hardware format has no room
 * for it.
 *
 * That bounds one guest to one pin per page.  Guests sharing memory (one
 * launcher's memfd mapped into several, or guests of one process sharing
 * a mapping) each hold their own, and the launcher can alias one page at
 * many gfns; so every pin we take is also checked against page_ref_limit:
 * a page referenced more than that is refused and the guest that asked is
 * killed, long before the count could wrap.
 *
 * Locking: the counts change under lg->mmu_lock, with the leaves.
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include "pgtable.h"

/*
 * Half of INT_MAX: a million pins of headroom (each adds at most 1024)
 * before any 32-bit reference count could go negative.  Tests lower it.
 */
static int page_ref_limit = INT_MAX / 2;
module_param(page_ref_limit, int, 0644);
MODULE_PARM_DESC(page_ref_limit, "refuse to pin a guest page already referenced this often (default INT_MAX/2)");

int lguest_pins_init(struct lguest *lg)
{
	lg->pins = kvcalloc(lg->mem_size >> PAGE_SHIFT, sizeof(*lg->pins),
			    GFP_KERNEL_ACCOUNT);
	return lg->pins ? 0 : -ENOMEM;
}

/* After every shadow is gone: every count is back to zero. */
void lguest_pins_free(struct lguest *lg)
{
	kvfree(lg->pins);
	lg->pins = NULL;
}

/*
 * Pin the launcher's page behind @gpa for the host's own use (a shadow
 * fill, the shared page).  0, -EFAULT if the launcher has no writable
 * memory there, or -EMLINK if the page is referenced too often already.
 */
int lguest_pin_gpa(struct lguest *lg, u64 gpa, struct page **page)
{
	if (pin_user_pages_fast(lg->mem_base + gpa, 1, FOLL_WRITE | FOLL_LONGTERM,
				page) != 1)
		return -EFAULT;
	if (folio_ref_count(page_folio(*page)) > READ_ONCE(page_ref_limit)) {
		unpin_user_page(*page);
		return -EMLINK;
	}
	return 0;
}

/*
 * A new leaf maps @gfn, and @page is pinned for it.  Returns true if the
 * guest keeps that pin (the first leaf), false if it already held one and
 * the caller must drop its own.  -EAGAIN: the page at @gfn is not the one
 * the guest holds; the launcher's mapping changed under the fill, which
 * must start again.  Under mmu_lock.
 */
int lg_pin_get(struct lguest *lg, u32 gfn, struct page *page)
{
	struct lg_pin *pin = &lg->pins[gfn];

	if (pin->maps) {
		if (pin->page != page)
			return -EAGAIN;
		pin->maps++;
		return false;
	}
	pin->page = page;
	pin->maps = 1;
	lguest_account_pins(lg, 1);
	return true;
}

/* A leaf mapping @gfn went; the last one's pin goes with @z.  Under mmu_lock. */
void lg_pin_put(struct lg_zap *z, u32 gfn)
{
	struct lg_pin *pin = &z->lg->pins[gfn];

	if (--pin->maps)
		return;
	lg_zap_pin(z, pin->page);
	pin->page = NULL;
}

/* The reverse map of a leaf table: the gfn each of its entries maps. */
u32 *lg_leaf_gfns(u64 *leaf)
{
	return (u32 *)page_private(virt_to_page(leaf));
}

/* Under mmu_lock: clear entry @i of @leaf, dropping its gfn's reference. */
void lg_leaf_clear(struct lg_zap *z, u64 *leaf, unsigned int i)
{
	WRITE_ONCE(leaf[i], 0);
	z->flush = true;
	lg_pin_put(z, lg_leaf_gfns(leaf)[i]);
}
