// SPDX-License-Identifier: GPL-2.0
/*
 * xen_kernel_test: the launcher's Xen PV kernel loader (launcher/xen/) on
 * the kernel the test VM boots, Debian's own vmlinuz, and on files that are
 * not one.  Runs on the host: no module needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elf.h>
#include <xen/elfnote.h>
#include <xen/io/console.h>
#include <xen/xen.h>

#include "kselftest_harness.h"
#include "xen/kernel.h"

#define GUEST_MEM	(256ULL << 20)

/* The pinned Debian kernel, as tools/deps recorded it. */
static const char *kimage(void)
{
	static char path[4200];
	char line[4096];
	FILE *f;

	if (getenv("LG_KIMAGE"))
		return getenv("LG_KIMAGE");
	f = fopen(".cache/deps.env", "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "KIMAGE=", 7)) {
			snprintf(path, sizeof(path), "%s", line + 7);
			path[strcspn(path, "\n")] = 0;
			fclose(f);
			return path;
		}
	}
	fclose(f);
	return NULL;
}

#define NEED_KIMAGE(path)						\
	do {								\
		path = kimage();					\
		if (!path || access(path, R_OK))			\
			SKIP(return, "no kernel image (run tools/deps)"); \
	} while (0)

/* Debian's kernel loaded into fresh guest memory of GUEST_MEM bytes. */
#define LOAD_DEBIAN(mem, k)						\
	do {								\
		const char *path_;					\
		char err_[256];						\
									\
		NEED_KIMAGE(path_);					\
		mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,	\
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);		\
		ASSERT_NE(MAP_FAILED, mem);				\
		ASSERT_EQ(0, xen_kernel_load(path_, mem, GUEST_MEM, &k,	\
					     err_, sizeof(err_)))	\
			TH_LOG("%s", err_);				\
	} while (0)

/* A copy of @src in a temporary file, changed by @edit; its path. */
static char *edited_copy(const char *src, void (*edit)(unsigned char *, size_t *))
{
	static char path[] = "/tmp/lg-xen-kernel-XXXXXX";
	struct stat st;
	unsigned char *buf;
	size_t len;
	int in, out;

	strcpy(path, "/tmp/lg-xen-kernel-XXXXXX");
	in = open(src, O_RDONLY);
	out = mkstemp(path);
	if (in < 0 || out < 0 || fstat(in, &st))
		return NULL;
	len = st.st_size;
	buf = malloc(len);
	if (!buf || read(in, buf, len) != (ssize_t)len)
		return NULL;
	edit(buf, &len);
	if (write(out, buf, len) != (ssize_t)len)
		return NULL;
	free(buf);
	close(in);
	close(out);
	return path;
}

/* Where the XZ payload starts, from the setup header. */
static size_t payload_at(const unsigned char *b)
{
	unsigned int sects = b[0x1f1] ? b[0x1f1] : 4;

	return (sects + 1) * 512 + (b[0x248] | b[0x249] << 8 | b[0x24a] << 16 |
				    (size_t)b[0x24b] << 24);
}

static void corrupt_payload(unsigned char *b, size_t *len)
{
	size_t p = payload_at(b), i;

	for (i = 0; i < 4096; i++)
		b[p + 100000 + i] ^= 0x5a;
	(void)len;
}

static void truncate_half(unsigned char *b, size_t *len)
{
	(void)b;
	*len /= 2;
}

static void make_gzip(unsigned char *b, size_t *len)
{
	size_t p = payload_at(b);

	b[p] = 0x1f;
	b[p + 1] = 0x8b;
	(void)len;
}

TEST(debian_s_kernel_is_a_xen_pv_kernel_and_loads_by_physical_address)
{
	static const unsigned char startup_xen[] = { 0xfc, 0x48, 0x8b, 0x25 };
	struct xen_kernel k;
	unsigned char *mem;

	LOAD_DEBIAN(mem, k);
	/* The notes arch/x86/xen/xen-head.S declares. */
	EXPECT_STREQ("linux", k.guest_os);
	EXPECT_STREQ("xen-3.0", k.xen_version);
	EXPECT_STREQ("generic", k.loader);
	EXPECT_EQ(0xffffffff80000000ULL, k.virt_base);
	EXPECT_EQ(0, k.paddr_offset);
	EXPECT_EQ(0xffff800000000000ULL, k.hv_start_low);
	EXPECT_EQ(0x8000000000ULL, k.init_p2m);
	EXPECT_EQ(1, k.mod_start_pfn);
	EXPECT_NE(NULL, strstr(k.features, "writable_page_tables"));
	/* At 16 MiB physical (CONFIG_PHYSICAL_START), mapped from VIRT_BASE. */
	EXPECT_EQ(0x1000000, k.pstart);
	EXPECT_LT(k.pstart, k.pend);
	EXPECT_LE(k.pend - k.pstart, k.elf_size * 2);
	/* startup_xen: cld; mov initial_stack(%rip), %rsp. */
	ASSERT_LT(k.entry - k.virt_base, GUEST_MEM);
	EXPECT_EQ(0, memcmp(mem + (k.entry - k.virt_base), startup_xen,
			    sizeof(startup_xen)));
	/* Below the image nothing was written. */
	EXPECT_EQ(0, mem[k.pstart - 1]);
	munmap(mem, GUEST_MEM);
}

TEST(the_notes_alone_need_no_guest_memory)
{
	struct xen_kernel k;
	const char *path;
	char err[256];

	NEED_KIMAGE(path);
	ASSERT_EQ(0, xen_kernel_load(path, NULL, 0, &k, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(0xffffffff80000000ULL, k.virt_base);
}

TEST(too_little_guest_memory_is_refused)
{
	unsigned char *mem = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xen_kernel k;
	const char *path;
	char err[256];

	NEED_KIMAGE(path);
	ASSERT_NE(MAP_FAILED, mem);
	EXPECT_EQ(-1, xen_kernel_load(path, mem, 32 << 20, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "MiB of guest memory")) TH_LOG("%s", err);
	munmap(mem, 32 << 20);
}

TEST(broken_images_get_one_clear_line)
{
	static const struct {
		void (*edit)(unsigned char *, size_t *);
		const char *says;
	} cases[] = {
		{ corrupt_payload, "XZ" },
		{ truncate_half, "outside the file" },
		{ make_gzip, "compressed with gzip" },
	};
	struct xen_kernel k;
	const char *path;
	char err[256], *copy;
	unsigned int i;

	NEED_KIMAGE(path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy = edited_copy(path, cases[i].edit);
		ASSERT_NE(NULL, copy);
		err[0] = 0;
		EXPECT_EQ(-1, xen_kernel_load(copy, NULL, 0, &k, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, cases[i].says)) TH_LOG("case %u: %s", i, err);
		EXPECT_EQ(NULL, strchr(err, '\n'));
		unlink(copy);
	}
}

TEST(files_that_are_not_xen_kernels_are_refused)
{
	struct xen_kernel k;
	char err[256];
	char junk[] = "/tmp/lg-xen-junk-XXXXXX";
	int fd = mkstemp(junk);
	char zeros[4096] = { 0 };

	/* Our own guests are ELF, but without Xen notes. */
	EXPECT_EQ(-1, xen_kernel_load("guest/demo.elf", NULL, 0, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a Xen PV kernel")) TH_LOG("%s", err);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(zeros), write(fd, zeros, sizeof(zeros)));
	close(fd);
	EXPECT_EQ(-1, xen_kernel_load(junk, NULL, 0, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "neither a bzImage nor an ELF")) TH_LOG("%s", err);
	unlink(junk);
	EXPECT_EQ(-1, xen_kernel_load("/nonexistent", NULL, 0, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot open")) TH_LOG("%s", err);
}

/* The page a 4-level walk of @va from the table at @pt_pfn reaches, or -1. */
static int64_t walk(const unsigned char *mem, uint64_t pt_pfn, uint64_t va,
		    uint64_t *leaf)
{
	uint64_t table = pt_pfn * 4096, e = 0;
	int level;

	for (level = 4; level >= 1; level--) {
		e = ((const uint64_t *)(mem + table))[(va >> (12 + 9 * (level - 1))) & 511];
		if (!(e & 1))
			return -1;
		if (level > 1 && (e & 0x67) != 0x67)
			return -1;
		table = e & 0x000ffffffffff000ULL;
	}
	*leaf = e;
	return table / 4096;
}

/*
 * The builder's start of day for Debian's kernel with an initrd: the p2m,
 * start_info, ring pages, tables and stack after the image, in one mapping
 * from VIRT_BASE that the bootstrap tables (L4 slot 511, L3 slot 510, one
 * L2) map 1:1, themselves read-only; the initrd after it, by frame number
 * (the kernel declares MOD_START_PFN).
 */
TEST(the_start_of_day_layout_is_what_linux_expects)
{
	static unsigned char initrd[10000];
	const char *cmdline = "console=hvc0 rdinit=/init";
	const struct start_info *si;
	const uint64_t *p2m, *l4;
	struct xen_layout l;
	struct xen_kernel k;
	uint64_t va, leaf, i, nonzero = 0;
	unsigned char *mem;
	char err[256];
	int64_t pfn;

	LOAD_DEBIAN(mem, k);
	memset(initrd, 0xa5, sizeof(initrd));
	ASSERT_EQ(0, xen_build_layout(&k, mem, GUEST_MEM, initrd, sizeof(initrd),
				      cmdline, &l, err, sizeof(err)))
		TH_LOG("%s", err);

	/* The order of section 2.2, right after the image. */
	EXPECT_EQ(GUEST_MEM / 4096, l.nr_pages);
	EXPECT_EQ(k.pend / 4096, l.p2m_pfn);
	EXPECT_EQ(l.p2m_pfn + l.nr_p2m_pages, l.start_info_pfn);
	EXPECT_EQ(l.start_info_pfn + 1, l.store_pfn);
	EXPECT_EQ(l.store_pfn + 1, l.console_pfn);
	EXPECT_EQ(l.console_pfn + 1, l.pt_pfn);
	EXPECT_EQ(l.pt_pfn + l.nr_pt_frames, l.stack_pfn);
	EXPECT_EQ(0, (l.map_end - k.virt_base) % (4 << 20));
	EXPECT_LE((512 << 10), l.map_end - k.virt_base - (l.stack_pfn + 1) * 4096);
	EXPECT_EQ(0, l.mod_mapped);
	EXPECT_EQ((l.map_end - k.virt_base) / 4096, l.mod_pfn);
	EXPECT_EQ(0, memcmp(mem + l.mod_pfn * 4096, initrd, sizeof(initrd)));

	/* The identity p2m. */
	p2m = (const uint64_t *)(mem + l.p2m_pfn * 4096);
	for (i = 0; i < l.nr_pages; i++)
		ASSERT_EQ(i, p2m[i]);

	si = (const struct start_info *)(mem + l.start_info_pfn * 4096);
	EXPECT_STREQ("xen-3.0-x86_64", si->magic);
	EXPECT_EQ(l.nr_pages, si->nr_pages);
	EXPECT_EQ(l.nr_pages * 4096, si->shared_info);
	EXPECT_EQ(SIF_MOD_START_PFN, si->flags);
	EXPECT_EQ(l.store_pfn, si->store_mfn);
	EXPECT_EQ(0, si->store_evtchn);
	EXPECT_EQ(l.console_pfn, si->console.domU.mfn);
	EXPECT_NE(0, si->console.domU.evtchn);
	EXPECT_EQ(k.virt_base + l.pt_pfn * 4096, si->pt_base);
	EXPECT_EQ(l.nr_pt_frames, si->nr_pt_frames);
	EXPECT_EQ(k.virt_base + l.p2m_pfn * 4096, si->mfn_list);
	EXPECT_EQ(l.mod_pfn, si->mod_start);
	EXPECT_EQ(sizeof(initrd), si->mod_len);
	EXPECT_STREQ(cmdline, (const char *)si->cmd_line);
	EXPECT_EQ(0, si->first_p2m_pfn);

	/* Only L4 slot 511 and L3 slot 510: Linux follows exactly those. */
	l4 = (const uint64_t *)(mem + l.pt_pfn * 4096);
	for (i = 0; i < 512; i++)
		nonzero += l4[i] != 0;
	EXPECT_EQ(1, nonzero);
	EXPECT_NE(0, l4[511]);
	EXPECT_EQ(l.pt_pfn + 1, (l4[511] & 0x000ffffffffff000ULL) / 4096);
	/* Every page of the mapping, 1:1, the tables read-only. */
	for (va = k.virt_base; va < l.map_end; va += 4096) {
		uint64_t want = (va - k.virt_base) / 4096;
		int table = want >= l.pt_pfn && want < l.pt_pfn + l.nr_pt_frames;

		pfn = walk(mem, l.pt_pfn, va, &leaf);
		ASSERT_EQ((int64_t)want, pfn);
		ASSERT_EQ(table ? 0x21 : 0x23, leaf & 0xfff);
	}
	EXPECT_EQ(-1, walk(mem, l.pt_pfn, l.map_end, &leaf));

	/* The registers of section 2.1. */
	EXPECT_EQ(k.entry, l.rip);
	EXPECT_EQ(k.virt_base + (l.stack_pfn + 1) * 4096, l.rsp);
	EXPECT_EQ(k.virt_base + l.start_info_pfn * 4096, l.rsi);
	munmap(mem, GUEST_MEM);
}

TEST(a_layout_that_cannot_be_built_is_refused)
{
	static char long_line[1100];
	struct xen_layout l;
	struct xen_kernel k;
	unsigned char *mem;
	char err[256];

	LOAD_DEBIAN(mem, k);
	memset(long_line, 'x', sizeof(long_line) - 1);
	EXPECT_EQ(-1, xen_build_layout(&k, mem, GUEST_MEM, NULL, 0, long_line,
				       &l, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "command line")) TH_LOG("%s", err);
	/* An initrd larger than what is left of guest memory. */
	EXPECT_EQ(-1, xen_build_layout(&k, mem, GUEST_MEM, mem, GUEST_MEM - (8 << 20),
				       "", &l, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "MiB of guest memory")) TH_LOG("%s", err);
	munmap(mem, GUEST_MEM);
}

/*
 * A small Xen PV ELF of our own, as XTF's are: no VIRT_BASE (so virtual =
 * physical), a HYPERCALL_PAGE, two pages of code at 1 MiB.  @features
 * goes into the FEATURES note.  Returns the temporary file's path.
 */
static const char *tiny_kernel(const char *features)
{
	static char path[] = "/tmp/lg-xen-tiny-XXXXXX";
	static unsigned char f[0x3000];
	Elf64_Ehdr *eh = (void *)f;
	Elf64_Phdr *ph = (void *)(f + sizeof(*eh));
	unsigned char *n = f + 0x200;
	int fd;

	/* A note "Xen" of @type with @len bytes of @desc. */
#define NOTE(type, desc, len) do {					\
		Elf64_Nhdr h = { 4, (len), (type) };			\
		memcpy(n, &h, sizeof(h));				\
		memcpy(n + sizeof(h), "Xen", 4);			\
		memcpy(n + sizeof(h) + 4, (desc), (len));		\
		n += sizeof(h) + 4 + (((len) + 3) & ~3);		\
	} while (0)
	uint64_t entry = 0x100000, hpage = 0x101000;

	memset(f, 0, sizeof(f));
	strcpy(path, "/tmp/lg-xen-tiny-XXXXXX");
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xdead;		/* the ENTRY note wins */
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	NOTE(XEN_ELFNOTE_GUEST_OS, "tiny", 5);
	NOTE(XEN_ELFNOTE_XEN_VERSION, "xen-3.0", 8);
	NOTE(XEN_ELFNOTE_LOADER, "generic", 8);
	NOTE(XEN_ELFNOTE_ENTRY, &entry, 8);
	NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, 8);
	NOTE(XEN_ELFNOTE_FEATURES, features, strlen(features) + 1);
#undef NOTE
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = 0x200;
	ph[0].p_filesz = n - (f + 0x200);
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W | PF_X;
	ph[1].p_offset = 0x1000;
	ph[1].p_vaddr = ph[1].p_paddr = 0x100000;
	ph[1].p_filesz = 0x2000;
	ph[1].p_memsz = 0x3000;
	f[0x1000] = 0xf4;		/* the entry's first byte */
	fd = mkstemp(path);
	if (fd < 0 || write(fd, f, sizeof(f)) != sizeof(f))
		return NULL;
	close(fd);
	return path;
}

/*
 * XTF-style kernels: no VIRT_BASE, a hypercall page filled with Xen's
 * stubs (iret's different), the ENTRY note over e_entry, the tail of the
 * segment zeroed; and a kernel that requires a feature lguest lacks.
 */
TEST(a_small_xen_kernel_gets_its_hypercall_page)
{
	static const unsigned char stub5[] = {
		0x51, 0x41, 0x53, 0xb8, 5, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3,
	};
	static const unsigned char iret[] = {
		0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05,
	};
	unsigned char *mem = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *path = tiny_kernel("writable_page_tables|pae_pgdir_above_4gb");
	struct xen_layout l;
	struct xen_kernel k;
	char err[256];

	ASSERT_NE(NULL, path);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem + 0x102000, 0x77, 0x1000);
	ASSERT_EQ(0, xen_kernel_load(path, mem, 16 << 20, &k, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_STREQ("tiny", k.guest_os);
	EXPECT_EQ(0, k.virt_base);
	EXPECT_EQ(0x100000, k.entry);
	EXPECT_EQ(0x101000, k.hypercall_page);
	EXPECT_EQ(0x100000, k.pstart);
	EXPECT_EQ(0x103000, k.pend);
	EXPECT_EQ(0, mem[0x102000]);
	EXPECT_EQ(0xf4, mem[0x100000]);
	ASSERT_EQ(0, xen_build_layout(&k, mem, 16 << 20, NULL, 0, "", &l, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(0, memcmp(mem + 0x101000 + 32 * 5, stub5, sizeof(stub5)));
	EXPECT_EQ(0, memcmp(mem + 0x101000 + 32 * 23, iret, sizeof(iret)));
	EXPECT_EQ(0xcc, mem[0x101000 + 32 * 5 + sizeof(stub5)]);
	/* The mapping starts at virtual 0 here. */
	EXPECT_EQ(0x103000 / 4096, l.p2m_pfn);
	EXPECT_EQ(l.start_info_pfn * 4096, l.rsi);
	unlink(path);

	path = tiny_kernel("!writable_page_tables|!auto_translated_physmap");
	ASSERT_NE(NULL, path);
	EXPECT_EQ(-1, xen_kernel_load(path, NULL, 0, &k, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "requires Xen feature auto_translated_physmap"))
		TH_LOG("%s", err);
	unlink(path);
	munmap(mem, 16 << 20);
}

/*
 * The console ring's back end: what the guest produced comes out in
 * order, across the ring's wrap, and the consumer index moves up to the
 * producer; a producer more than a ring ahead is refused.
 */
TEST(the_console_ring_drains_in_order_across_the_wrap)
{
	static struct xencons_interface ring;
	const char *msg = "Test result: SUCCESS\n";
	size_t n = strlen(msg), i;
	char out[64] = { 0 };
	int p[2];

	ASSERT_EQ(0, pipe(p));
	/* The guest has written 2040 bytes before: the message wraps. */
	ring.out_cons = ring.out_prod = 2040;
	for (i = 0; i < n; i++)
		ring.out[MASK_XENCONS_IDX(ring.out_prod + i, ring.out)] = msg[i];
	ring.out_prod += n;
	EXPECT_EQ((ssize_t)n, xen_console_drain(&ring, p[1]));
	EXPECT_EQ(ring.out_prod, ring.out_cons);
	EXPECT_EQ((ssize_t)n, read(p[0], out, sizeof(out)));
	EXPECT_STREQ(msg, out);
	/* Nothing new: nothing written. */
	EXPECT_EQ(0, xen_console_drain(&ring, p[1]));
	/* Indices wrap at 2^32 like the guest's. */
	ring.out_cons = 0xfffffffe;
	ring.out_prod = 2;
	EXPECT_EQ(4, xen_console_drain(&ring, -1));
	/* A producer 4096 bytes ahead of a 2048-byte ring. */
	ring.out_prod = ring.out_cons + 4096;
	EXPECT_EQ(-1, xen_console_drain(&ring, p[1]));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
