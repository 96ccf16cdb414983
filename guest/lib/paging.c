// SPDX-License-Identifier: GPL-2.0
/*
 * The guest kernel's page tables: ordinary x86-64 4-level tables in guest
 * memory, which the host shadows.  Like a kernel on real hardware we write
 * entries with plain stores; unlike one, we tell the host when an entry it
 * may have cached changed (guest_invlpg(), guest_flush_tlb()), since the
 * shadow is the TLB here.
 *
 * Physical pages come from a pool with a reference count per page, so
 * copy-on-write can share them between address spaces.
 */
#include "lguest_guest.h"

static uint64_t pool_start, pool_pages, free_head, nr_free, pool_fresh;
static guest_spinlock_t pool_lock;
static uint16_t refs[65536];		/* up to 256 MiB of pool */
uint64_t guest_kernel_root;

/*
 * Freed pages are linked through their first word; pages never handed out
 * yet are the ones from pool_fresh up, taken in order.  Linking all of
 * them here instead would touch every page of the pool at boot, and under
 * a host that fills shadow entries one fault at a time that is thousands
 * of exits before the guest does anything.
 */
void guest_pages_init(uint64_t start, uint64_t end)
{
	pool_start = start;
	pool_pages = (end - start) / GUEST_PAGE_SIZE;
	if (pool_pages > sizeof(refs) / sizeof(refs[0]))
		pool_pages = sizeof(refs) / sizeof(refs[0]);
	free_head = 0;
	pool_fresh = start;
	nr_free = pool_pages;
	guest_memset(refs, 0, pool_pages * sizeof(refs[0]));
}

uint64_t guest_page_alloc(void)
{
	uint64_t pa;

	guest_spin_lock(&pool_lock);
	pa = free_head;
	if (pa)
		free_head = *(uint64_t *)pa;
	else if (pool_fresh < pool_start + pool_pages * GUEST_PAGE_SIZE)
		pa = pool_fresh, pool_fresh += GUEST_PAGE_SIZE;
	if (pa) {
		nr_free--;
		refs[(pa - pool_start) / GUEST_PAGE_SIZE] = 1;
	}
	guest_spin_unlock(&pool_lock);
	if (pa)
		guest_memset((void *)pa, 0, GUEST_PAGE_SIZE);
	return pa;
}

static int in_pool(uint64_t pa)
{
	return pa >= pool_start && pa < pool_start + pool_pages * GUEST_PAGE_SIZE;
}

void guest_page_get(uint64_t pa)
{
	if (!in_pool(pa))
		return;
	guest_spin_lock(&pool_lock);
	refs[(pa - pool_start) / GUEST_PAGE_SIZE]++;
	guest_spin_unlock(&pool_lock);
}

void guest_page_put(uint64_t pa)
{
	uint16_t *r;

	if (!in_pool(pa))
		return;
	guest_spin_lock(&pool_lock);
	r = &refs[(pa - pool_start) / GUEST_PAGE_SIZE];
	if (*r && --*r == 0) {
		*(uint64_t *)pa = free_head;
		free_head = pa;
		nr_free++;
	}
	guest_spin_unlock(&pool_lock);
}

unsigned int guest_page_refs(uint64_t pa)
{
	return in_pool(pa) ? refs[(pa - pool_start) / GUEST_PAGE_SIZE] : 0;
}

uint64_t guest_pages_free(void)
{
	return nr_free;
}

static unsigned int index_of(uint64_t va, unsigned int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/*
 * Intermediate entries allow everything, as Linux's do: the leaves decide
 * (the host combines the permissions of every level, as the CPU does).
 */
uint64_t *pt_entry(uint64_t root, uint64_t va, unsigned int level, int alloc)
{
	uint64_t *table = (uint64_t *)root;
	unsigned int l;

	for (l = 4; l > level; l--) {
		uint64_t *e = &table[index_of(va, l)];

		if (!(*e & PTE_P)) {
			uint64_t pa;

			if (!alloc || !(pa = guest_page_alloc()))
				return 0;
			*e = pa | PTE_P | PTE_RW | PTE_US;
		} else if (*e & PTE_PS) {
			return 0;
		}
		table = (uint64_t *)(*e & PTE_ADDR);
	}
	return &table[index_of(va, level)];
}

int pt_map(uint64_t root, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *e = pt_entry(root, va, 1, 1);

	if (!e)
		return -1;
	*e = (pa & PTE_ADDR) | flags | PTE_P;
	return 0;
}

int pt_map_huge(uint64_t root, uint64_t va, uint64_t pa, uint64_t flags,
		unsigned int level)
{
	uint64_t *e = pt_entry(root, va, level, 1);

	if (!e)
		return -1;
	*e = (pa & PTE_ADDR) | flags | PTE_P | PTE_PS;
	return 0;
}

uint64_t *pt_leaf(uint64_t root, uint64_t va, unsigned int *level)
{
	uint64_t *table = (uint64_t *)root;
	unsigned int l;

	for (l = 4;; l--) {
		uint64_t *e = &table[index_of(va, l)];

		if (!(*e & PTE_P))
			return 0;
		if (l == 1 || (*e & PTE_PS)) {
			*level = l;
			return e;
		}
		table = (uint64_t *)(*e & PTE_ADDR);
	}
}

uint64_t pt_translate(uint64_t root, uint64_t va)
{
	unsigned int level;
	uint64_t *e = pt_leaf(root, va, &level), size;

	if (!e)
		return ~0ULL;
	size = 1ULL << (12 + 9 * (level - 1));
	return (*e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
}

/*
 * Guest memory, identity-mapped in 2 MiB pages, kernel-only; the 2 MiB
 * regions holding [text, text_end) in 4 KiB pages so that exactly the
 * image's code is user-accessible (read-only).  Everything lives in PML4
 * slot 0, which every address space shares.
 */
uint64_t guest_paging_init(uint64_t mem_size, uint64_t text, uint64_t text_end)
{
	uint64_t root = guest_page_alloc(), va, pa;
	const uint64_t huge = 2ULL << 20;

	if (!root)
		return 0;
	text &= ~(GUEST_PAGE_SIZE - 1);
	for (va = 0; va < mem_size; va += huge) {
		if (va + huge <= text || va >= text_end) {
			if (pt_map_huge(root, va, va, PTE_RW, 2))
				return 0;
			continue;
		}
		for (pa = va; pa < va + huge && pa < mem_size; pa += GUEST_PAGE_SIZE) {
			uint64_t flags = (pa >= text && pa < text_end) ? PTE_US : PTE_RW;

			if (pt_map(root, pa, pa, flags))
				return 0;
		}
	}
	guest_kernel_root = root;
	return root;
}

void guest_load_pgtable(uint64_t root)
{
	hcall1(LHCALL_NEW_PGTABLE, root);
}

void guest_invlpg(uint64_t va, uint64_t len, uint64_t flags)
{
	hcall3(LHCALL_INVLPG, va, len, flags);
}

void guest_flush_tlb(uint64_t root)
{
	hcall1(LHCALL_FLUSH_TLB, root);
}
