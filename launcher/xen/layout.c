// SPDX-License-Identifier: GPL-2.0
/*
 * The start of a PV guest's day: what a Xen domain builder leaves in
 * memory before the kernel's first instruction (the design study's section
 * 2.2, and Xen's tools/libs/guest/xg_dom_x86.c, read, not copied).
 *
 * One virtual region from VIRT_BASE maps pseudo-physical memory 1:1
 * (va = VIRT_BASE + pfn * 4096) and holds, after the kernel image: the
 * initrd (unless the kernel takes it by frame number, MOD_START_PFN), the
 * p2m list, start_info, the xenstore and console ring pages, the bootstrap
 * page tables and a one-page stack, then at least 512 KiB of mapped
 * padding, rounded up to 4 MiB.  Linux follows the builder's tables from
 * L4 slot 511 to L3 slot 510 to a single L2, so the region must fit in the
 * first GiB above VIRT_BASE and be mapped with 4 KiB pages.  The tables
 * map themselves read-only, everything else read-write, as Xen's builder
 * does (Linux patches its own text before anything else).
 *
 * lguest's "machine" frames are guest-physical ones: the p2m is the
 * identity, and a frame number in start_info is a guest-physical page.
 *
 * A kernel that declares a HYPERCALL_PAGE (XTF, Mini-OS; Linux no longer
 * does) gets it filled with Xen's stubs: hypercall i at offset 32 * i is
 * `push %rcx; push %r11; mov $i, %eax; syscall; pop %r11; pop %rcx; ret`,
 * except iret (23), which never returns and keeps RAX on the stack.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xen/xen.h>
#include "kernel.h"

#define PAGE		4096ULL
#define MAP_ALIGN	(4ULL << 20)
#define MAP_PAD		(512ULL << 10)
#define L1_SPAN		(2ULL << 20)
#define MAP_MAX		(1ULL << 30)
/* Entry bits, as the builder writes them. */
#define PT_TABLE	0x67ULL		/* P | RW | U | A | D */
#define PT_PAGE		0x23ULL		/* P | RW | A */
#define PT_PAGE_RO	0x21ULL		/* P | A: the tables themselves */


static unsigned int idx(uint64_t va, unsigned int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static uint64_t *frame(void *mem, uint64_t pfn)
{
	return (uint64_t *)((char *)mem + pfn * PAGE);
}

/*
 * Where everything goes, in frame numbers, from the end of the image
 * (@next): the tables must map themselves, so their number depends on the
 * region's end, which depends on their number; a few rounds settle it.
 */
static void place(const struct xen_kernel *k, uint64_t next, uint64_t initrd_len,
		  struct xen_layout *l)
{
	uint64_t end, nr_l1 = 0, prev;

	if (initrd_len && !k->mod_start_pfn) {
		l->mod_mapped = 1;
		l->mod_pfn = next;
		next += (initrd_len + PAGE - 1) / PAGE;
	}
	l->p2m_pfn = next;
	l->nr_p2m_pages = (l->nr_pages * 8 + PAGE - 1) / PAGE;
	next += l->nr_p2m_pages;
	l->start_info_pfn = next++;
	l->store_pfn = next++;
	l->console_pfn = next++;
	l->pt_pfn = next;
	do {
		prev = nr_l1;
		l->nr_pt_frames = 3 + nr_l1;
		l->stack_pfn = l->pt_pfn + l->nr_pt_frames;
		end = (l->stack_pfn + 1) * PAGE + MAP_PAD;
		end = (end + MAP_ALIGN - 1) & ~(MAP_ALIGN - 1);
		nr_l1 = end / L1_SPAN;
	} while (nr_l1 != prev);
	l->map_end = k->virt_base + end;
	if (initrd_len && !l->mod_mapped)
		l->mod_pfn = end / PAGE;
	l->mod_len = initrd_len;
}

/* Xen's hypercall stubs, int3 between them. */
static void fill_hypercall_page(unsigned char *page)
{
	static const unsigned char iret[] = {
		0x51, 0x41, 0x53, 0x50, 0xb8, __HYPERVISOR_iret, 0, 0, 0, 0x0f, 0x05,
	};
	unsigned int i;

	memset(page, 0xcc, PAGE);
	for (i = 0; i < PAGE / 32; i++) {
		unsigned char *p = page + 32 * i;

		if (i == __HYPERVISOR_iret) {
			memcpy(p, iret, sizeof(iret));
			continue;
		}
		p[0] = 0x51;			/* push %rcx */
		p[1] = 0x41;			/* push %r11 */
		p[2] = 0x53;
		p[3] = 0xb8;			/* mov $i, %eax */
		memcpy(p + 4, &i, 4);
		p[8] = 0x0f;			/* syscall */
		p[9] = 0x05;
		p[10] = 0x41;			/* pop %r11 */
		p[11] = 0x5b;
		p[12] = 0x59;			/* pop %rcx */
		p[13] = 0xc3;			/* ret */
	}
}

/* L4 -> L3 -> one L2 -> L1s mapping [0, map_end - virt_base) from VIRT_BASE. */
static void build_tables(const struct xen_kernel *k, void *mem,
			 const struct xen_layout *l)
{
	uint64_t l4 = l->pt_pfn, l3 = l4 + 1, l2 = l4 + 2, l1 = l4 + 3;
	uint64_t pages = (l->map_end - k->virt_base) / PAGE, pfn, i;

	memset(frame(mem, l4), 0, l->nr_pt_frames * PAGE);
	frame(mem, l4)[idx(k->virt_base, 4)] = l3 * PAGE | PT_TABLE;
	frame(mem, l3)[idx(k->virt_base, 3)] = l2 * PAGE | PT_TABLE;
	for (i = 0; i < l->nr_pt_frames - 3; i++)
		frame(mem, l2)[idx(k->virt_base, 2) + i] = (l1 + i) * PAGE | PT_TABLE;
	for (pfn = 0; pfn < pages; pfn++) {
		int table = pfn >= l->pt_pfn && pfn < l->pt_pfn + l->nr_pt_frames;

		frame(mem, l1)[pfn] = pfn * PAGE | (table ? PT_PAGE_RO : PT_PAGE);
	}
}

int xen_build_layout(const struct xen_kernel *k, void *mem, uint64_t mem_size,
		     const void *initrd, uint64_t initrd_len, const char *cmdline,
		     struct xen_layout *l, char *err, size_t errlen)
{
	struct start_info *si;
	uint64_t *p2m, i, need;

	memset(l, 0, sizeof(*l));
	if (k->virt_base & (MAP_MAX - 1) || idx(k->virt_base, 2))
		return xen_fail(err, errlen, "VIRT_BASE %#llx is not 1 GiB aligned",
			    (unsigned long long)k->virt_base);
	if (strlen(cmdline) >= MAX_GUEST_CMDLINE)
		return xen_fail(err, errlen, "the kernel command line is %zu bytes; Xen allows %d",
			    strlen(cmdline), MAX_GUEST_CMDLINE - 1);
	l->nr_pages = mem_size / PAGE;
	place(k, k->pend / PAGE, initrd_len, l);
	if (l->map_end - k->virt_base > MAP_MAX)
		return xen_fail(err, errlen, "the kernel and its boot data need %llu MiB mapped; Linux takes at most 1024",
			    (unsigned long long)((l->map_end - k->virt_base) >> 20));
	need = l->map_end - k->virt_base;
	if (initrd_len && !l->mod_mapped)
		need = l->mod_pfn * PAGE + l->mod_len;
	if (need > mem_size)
		return xen_fail(err, errlen, "the kernel%s and its boot data need %llu MiB of guest memory: give it more",
			    initrd_len ? ", its initrd" : "",
			    (unsigned long long)((need + (1 << 20) - 1) >> 20));
	l->shared_info_pfn = l->nr_pages;
	l->gnttab_pfn = l->shared_info_pfn + 1;
	if (k->hypercall_page &&
	    (k->hypercall_page & (PAGE - 1) ||
	     k->hypercall_page < k->virt_base + k->pstart ||
	     k->hypercall_page >= k->virt_base + k->pend))
		return xen_fail(err, errlen, "HYPERCALL_PAGE %#llx is not a page of the kernel image",
				(unsigned long long)k->hypercall_page);

	/* Everything past the image is ours to lay out: start clean. */
	memset((char *)mem + k->pend, 0, l->map_end - k->virt_base - k->pend);
	if (initrd_len)
		memcpy(frame(mem, l->mod_pfn), initrd, initrd_len);

	p2m = frame(mem, l->p2m_pfn);
	for (i = 0; i < l->nr_pages; i++)
		p2m[i] = i;

	si = (struct start_info *)frame(mem, l->start_info_pfn);
	snprintf(si->magic, sizeof(si->magic), "xen-3.0-x86_64");
	si->nr_pages = l->nr_pages;
	si->shared_info = l->shared_info_pfn * PAGE;
	si->flags = initrd_len && !l->mod_mapped ? SIF_MOD_START_PFN : 0;
	si->store_mfn = l->store_pfn;
	si->store_evtchn = XEN_STORE_EVTCHN;
	si->console.domU.mfn = l->console_pfn;
	si->console.domU.evtchn = XEN_CONSOLE_EVTCHN;
	si->pt_base = k->virt_base + l->pt_pfn * PAGE;
	si->nr_pt_frames = l->nr_pt_frames;
	si->mfn_list = k->virt_base + l->p2m_pfn * PAGE;
	if (initrd_len)
		si->mod_start = l->mod_mapped ? k->virt_base + l->mod_pfn * PAGE : l->mod_pfn;
	si->mod_len = initrd_len;
	snprintf((char *)si->cmd_line, sizeof(si->cmd_line), "%s", cmdline);

	if (k->hypercall_page)
		fill_hypercall_page((unsigned char *)mem + (k->hypercall_page - k->virt_base));
	build_tables(k, mem, l);

	l->rip = k->entry;
	l->rsp = k->virt_base + (l->stack_pfn + 1) * PAGE;
	l->rsi = k->virt_base + l->start_info_pfn * PAGE;
	return 0;
}
