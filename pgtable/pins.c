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
 * before any 32-bit reference count could go negative.  Tests lower it,
 * but never below one pin's worth, which would refuse every page.
 */
#define LG_MIN_REF_LIMIT	(2 * GUP_PIN_COUNTING_BIAS)
static int page_ref_limit = INT_MAX / 2;

static int set_ref_limit(const char *val, const struct kernel_param *kp)
{
	int n, err = kstrtoint(val, 0, &n);

	if (err)
		return err;
	if (n < LG_MIN_REF_LIMIT)
		return -EINVAL;
	WRITE_ONCE(page_ref_limit, n);
	return 0;
}

static const struct kernel_param_ops ref_limit_ops = {
	.set = set_ref_limit,
	.get = param_get_int,
};
module_param_cb(page_ref_limit, &ref_limit_ops, &page_ref_limit, 0644);
MODULE_PARM_DESC(page_ref_limit, "refuse to keep a pin of a guest page referenced more often (default INT_MAX/2, at least 2048)");

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

/* A pin the host is about to keep would take @page past the limit. */
static bool too_often(struct page *page)
{
	return folio_ref_count(page_folio(page)) > READ_ONCE(page_ref_limit);
}

/*
 * Pin the launcher's page behind @gpa (with the pin's own reference).
 * 0, or -EFAULT if the launcher has no writable memory there.  A fill
 * pins before it knows whether the guest holds the page already; only a
 * pin that is kept counts against page_ref_limit (lg_pin_get()).
 */
int lguest_pin_gpa(struct lguest *lg, u64 gpa, struct page **page)
{
	if (pin_user_pages_fast(lg->mem_base + gpa, 1, FOLL_WRITE | FOLL_LONGTERM,
				page) != 1)
		return -EFAULT;
	return 0;
}

/* The shared page: kept for as long as it is registered. */
int lguest_pin_kept(struct lguest *lg, u64 gpa, struct page **page)
{
	int err = lguest_pin_gpa(lg, gpa, page);

	if (!err && too_often(*page)) {
		unpin_user_page(*page);
		return -EMLINK;
	}
	return err;
}

/*
 * A new leaf maps @gfn, and @page is pinned for it.  Returns 1 if the
 * guest keeps that pin (the first leaf), 0 if it already held one and the
 * caller must drop its own.  -EMLINK: the page is referenced too often to
 * keep another pin.  -EAGAIN: the page at @gfn is not the one the guest
 * holds; the launcher's mapping changed under the fill, which must start
 * again.  Under mmu_lock.
 */
int lg_pin_get(struct lguest *lg, u32 gfn, struct page *page)
{
	struct lg_pin *pin = &lg->pins[gfn];

	if (pin->maps) {
		if (pin->page != page)
			return -EAGAIN;
		pin->maps++;
		return 0;
	}
	if (too_often(page))
		return -EMLINK;
	pin->page = page;
	pin->maps = 1;
	lguest_account_pins(lg, 1);
	return 1;
}

/*
 * A leaf mapping @gfn goes.  Returns true if it was the last: the pin is
 * then the caller's to release, once no CPU can use the leaf.  Under
 * mmu_lock.
 */
bool lg_pin_unmap(struct lguest *lg, u32 gfn)
{
	struct lg_pin *pin = &lg->pins[gfn];

	if (--pin->maps)
		return false;
	pin->page = NULL;
	return true;
}

/* A leaf mapping @gfn went; the last one's pin goes with @z.  Under mmu_lock. */
void lg_pin_put(struct lg_zap *z, u32 gfn)
{
	struct page *page = z->lg->pins[gfn].page;

	if (lg_pin_unmap(z->lg, gfn))
		lg_zap_pin(z, page);
}

/*
 * The reverse map of a leaf table: the gfn each of its entries maps.  It
 * hangs from the table page's ->private, whose bit 0 (LG_LEAF_ABSENT; the
 * map is a kmalloc()ed 2 KiB) says the table may hold absent leaves.
 */
u32 *lg_leaf_gfns(u64 *leaf)
{
	return (u32 *)(page_private(virt_to_page(leaf)) & ~LG_LEAF_ABSENT);
}

/*
 * Under mmu_lock: clear entry @i of @leaf, dropping its gfn's reference.
 * An absent leaf (absent.c) holds none, and no CPU keeps a translation
 * from it: it just goes.
 */
void lg_leaf_clear(struct lg_zap *z, u64 *leaf, unsigned int i)
{
	u64 e = leaf[i];

	WRITE_ONCE(leaf[i], 0);
	if (e & LG_PTE_ABSENT)
		return;
	z->flush = true;
	lg_pin_put(z, lg_leaf_gfns(leaf)[i]);
}
