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
#include <sys/wait.h>
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
	EXPECT_EQ(XEN_STORE_EVTCHN, si->store_evtchn);
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
 * Console input: what the user typed goes in order into the ring's input
 * side, across its wrap, as much as fits; in_prod moves by what went in;
 * an impossible consumer (ahead of the producer, or more than a ring
 * behind) is refused.
 */
TEST(console_input_fills_the_ring_in_order_as_far_as_it_fits)
{
	static struct xencons_interface ring;
	static char big[3000];
	XENCONS_RING_IDX i;

	ring.in_cons = ring.in_prod = 1020;
	EXPECT_EQ(5, xen_console_feed(&ring, "ls -l", 5));
	EXPECT_EQ(1025U, ring.in_prod);
	for (i = 0; i < 5; i++)
		EXPECT_EQ("ls -l"[i], ring.in[MASK_XENCONS_IDX(1020 + i, ring.in)]);
	/* The guest read nothing: only the ring's room (1024 - 5) goes in. */
	memset(big, 'y', sizeof(big));
	EXPECT_EQ((ssize_t)sizeof(ring.in) - 5, xen_console_feed(&ring, big, sizeof(big)));
	EXPECT_EQ(ring.in_cons + sizeof(ring.in), ring.in_prod);
	EXPECT_EQ(0, xen_console_feed(&ring, "z", 1));
	/* The guest read it all: room again, across 2^32. */
	ring.in_cons = ring.in_prod = 0xfffffffe;
	EXPECT_EQ(4, xen_console_feed(&ring, "abcd", 4));
	EXPECT_EQ(2U, ring.in_prod);
	EXPECT_EQ('c', ring.in[0]);
	/* A consumer ahead of our producer, or a ring and more behind. */
	ring.in_cons = ring.in_prod + 1;
	errno = 0;
	EXPECT_EQ(-1, xen_console_feed(&ring, "q", 1));
	EXPECT_EQ(EPROTO, errno);
	ring.in_cons = ring.in_prod - sizeof(ring.in) - 1;
	EXPECT_EQ(-1, xen_console_feed(&ring, "q", 1));
	EXPECT_EQ(2U, ring.in_prod);
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
	errno = 0;
	EXPECT_EQ(-1, xen_console_drain(&ring, p[1]));
	EXPECT_EQ(EPROTO, errno);
	close(p[0]);
	close(p[1]);
}

/*
 * `lguest run --kernel` as a user meets it, without the module: each
 * mistake is one line and a non-zero status, found before the launcher
 * goes near /dev/lguest.  Every run names a device that does not exist,
 * so a check made too late (or a good run) says "is the lg module
 * loaded?" instead.
 */
#define LAUNCHER	"launcher/lguest"
#define NO_MODULE	"lguest: /nonexistent/lguest does not exist: is the lg module loaded?\n"

#define FAKE_LGUEST	"selftests/host/fake_lguest.so"

/*
 * launcher/lguest --device @device run @args: its status and its output
 * (stdout and stderr, in order).  With @exits, the device is fake_lguest.so
 * playing them back.
 */
static int lguest_exec(char *out, size_t len, const char *device, const char *exits,
		       const char *const args[])
{
	const char *argv[16] = { "lguest", "--device", device, "run" };
	char preload[4096];
	size_t got = 0, n = 4;
	int p[2], status;
	ssize_t r;
	pid_t pid;

	while (*args && n < sizeof(argv) / sizeof(argv[0]) - 1)
		argv[n++] = *args++;
	if (pipe(p) || (exits && !realpath(FAKE_LGUEST, preload)))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		/* No console input, and never the terminal make check runs on. */
		if (null >= 0)
			dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		if (exits) {
			setenv("LD_PRELOAD", preload, 1);
			setenv("LG_FAKE_EXITS", exits, 1);
		}
		execv(LAUNCHER, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (got < len - 1 && (r = read(p[0], out + got, len - 1 - got)) > 0)
		got += r;
	out[got] = 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int lguest_run(char *out, size_t len, const char *const args[])
{
	return lguest_exec(out, len, "/nonexistent/lguest", NULL, args);
}

/* A run that must end with status @want and one line containing @says. */
#define EXPECT_RUN(want, says, ...)					\
	do {								\
		const char *const args_[] = { __VA_ARGS__, NULL };	\
		char out_[4096];					\
		int rc_ = lguest_run(out_, sizeof(out_), args_);	\
									\
		EXPECT_EQ(want, rc_) TH_LOG("%s", out_);		\
		EXPECT_NE(NULL, strstr(out_, says)) TH_LOG("%s", out_);	\
		EXPECT_EQ(out_ + strlen(out_) - 1, strchr(out_, '\n'))	\
			TH_LOG("not one line: %s", out_);		\
	} while (0)

#define NEED_LAUNCHER()							\
	do {								\
		if (access(LAUNCHER, X_OK))				\
			SKIP(return, LAUNCHER " not built (make launcher)"); \
	} while (0)

/* A sparse file of @size bytes: an initrd too large for guest memory. */
static const char *sparse_file(uint64_t size)
{
	static char path[] = "/tmp/lg-xen-initrd-XXXXXX";
	int fd;

	strcpy(path, "/tmp/lg-xen-initrd-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, size))
		return NULL;
	close(fd);
	return path;
}

TEST(lguest_run_kernel_refuses_mistakes_before_the_module)
{
	char append[1100];

	NEED_LAUNCHER();
	memset(append, 'x', sizeof(append));
	append[1024] = 0;
	/* Usage errors: status 2. */
	EXPECT_RUN(2, "lguest: --initrd goes with --kernel VMLINUZ", "--initrd", "i.img",
		   "guest/demo.elf");
	EXPECT_RUN(2, "lguest: --append goes with --kernel VMLINUZ", "--append", "quiet",
		   "guest/demo.elf");
	EXPECT_RUN(2, "lguest: run takes a GUEST.elf or --kernel VMLINUZ, not both",
		   "--kernel", "vmlinuz", "guest/demo.elf");
	EXPECT_RUN(2, "lguest: --append is 1024 bytes long; a Xen PV kernel's command line holds at most 1023",
		   "--kernel", "vmlinuz", "--append", append);
	/* Files that are not a Xen PV kernel: status 1. */
	EXPECT_RUN(1, "lguest: cannot open /nonexistent-vmlinuz: No such file or directory\n",
		   "--kernel", "/nonexistent-vmlinuz");
	EXPECT_RUN(1, "lguest: /bin/true: not a Xen PV kernel (not a 64-bit x86 executable)\n",
		   "--kernel", "/bin/true");
	EXPECT_RUN(1, "lguest: guest/demo.elf: not a Xen PV kernel (no Xen ELF notes)\n",
		   "--kernel", "guest/demo.elf");
}

TEST(lguest_run_kernel_checks_its_initrd_before_the_module)
{
	const char *kernel, *big;

	NEED_LAUNCHER();
	kernel = tiny_kernel("writable_page_tables");
	ASSERT_NE(NULL, kernel);
	/* The small kernel loads and lays out: only the module is missing. */
	EXPECT_RUN(1, NO_MODULE, "--kernel", kernel, "--mem", "16M", "--append", "console=hvc0");
	EXPECT_RUN(1, "lguest: cannot open the initrd /nonexistent-initrd: No such file or directory\n",
		   "--kernel", kernel, "--mem", "16M", "--initrd", "/nonexistent-initrd");
	EXPECT_RUN(1, "lguest: the initrd /tmp is not a regular file\n",
		   "--kernel", kernel, "--mem", "16M", "--initrd", "/tmp");
	big = sparse_file(20 << 20);
	ASSERT_NE(NULL, big);
	EXPECT_RUN(1, "lguest: the kernel, its initrd and its boot data need 24 MiB of guest memory: give it more\n",
		   "--kernel", kernel, "--mem", "16M", "--initrd", big);
	EXPECT_RUN(1, NO_MODULE, "--kernel", kernel, "--mem", "32M", "--initrd", big);
	unlink(big);
	unlink(kernel);
}

/* Debian's kernel: it loads, and its broken copies are refused. */
TEST(lguest_run_kernel_with_debian_s_kernel)
{
	const char *path, *big;
	char *copy;

	NEED_LAUNCHER();
	NEED_KIMAGE(path);
	big = sparse_file(300 << 20);
	ASSERT_NE(NULL, big);
	EXPECT_RUN(1, NO_MODULE, "--kernel", path, "--initrd", "guest/demo.elf",
		   "--append", "console=hvc0 rdinit=/init");
	EXPECT_RUN(1, "the kernel needs 74 MiB of guest memory\n", "--kernel", path,
		   "--mem", "64M");
	EXPECT_RUN(1, "MiB of guest memory: give it more\n", "--kernel", path, "--initrd", big);
	unlink(big);
	copy = edited_copy(path, corrupt_payload);
	ASSERT_NE(NULL, copy);
	EXPECT_RUN(1, ": corrupt XZ payload (liblzma error", "--kernel", copy);
	unlink(copy);
}

/*
 * The whole run of a Xen guest, against fake_lguest.so playing the
 * module: what LHREQ_INITIALIZE carries, the console from both paths (the
 * module's console exits, and the ring, drained on the console's event
 * and once more when the guest ends), and how each end becomes the exit
 * status.
 */
#define NEED_FAKE()							\
	do {								\
		NEED_LAUNCHER();					\
		if (access(FAKE_LGUEST, R_OK))				\
			SKIP(return, FAKE_LGUEST " not built");		\
	} while (0)

/* The "fake: init" line for a Xen kernel in @mem bytes of RAM. */
static void init_line(char *buf, size_t len, const struct xen_layout *l, uint64_t mem)
{
	snprintf(buf, len, "fake: init size %#llx entry %#llx vcpus 1 flags 1 cr3 %#llx rsp %#llx rsi %#llx shared_info %#llx console_port %d store_port %d gnttab %#llx frames %d pad 0\n",
		 (unsigned long long)(mem + 4096 * XEN_EXTRA_PAGES), (unsigned long long)l->rip,
		 (unsigned long long)(l->pt_pfn * 4096), (unsigned long long)l->rsp,
		 (unsigned long long)l->rsi, (unsigned long long)mem, XEN_CONSOLE_EVTCHN,
		 XEN_STORE_EVTCHN, (unsigned long long)(mem + 4096), XEN_GNTTAB_FRAMES);
}

/* The layout the launcher should have built for @kernel in @mem bytes. */
static int expected_layout(const char *kernel, uint64_t mem, const void *initrd,
			   uint64_t initrd_len, const char *cmdline, struct xen_layout *l)
{
	void *m = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xen_kernel k;
	char err[256];
	int ret;

	if (m == MAP_FAILED)
		return -1;
	ret = xen_kernel_load(kernel, m, mem, &k, err, sizeof(err)) ||
	      xen_build_layout(&k, m, mem, initrd, initrd_len, cmdline, l, err, sizeof(err));
	munmap(m, mem);
	return ret ? -1 : 0;
}

TEST(lguest_run_kernel_to_the_end_with_a_fake_module)
{
	static const struct {
		const char *exits;
		int status;
		const char *output;	/* after the init line */
	} runs[] = {
		{ "c=early\\n;r=ring one\\n;e=1;r=not signalled\\n;s=3,0", 66,
		  "early\nring one\nnot signalled\nlguest: guest crashed\n" },
		{ "s=0,0", 0, "lguest: guest powered off\n" },
		{ "s=1,0", 65, "lguest: guest asked for a restart\n" },
		{ "s=4,0", 67, "lguest: guest was stopped by its watchdog\n" },
		{ "s=2,0", 1, "lguest: guest shut down for reason 2, which lguest does not handle\n" },
		{ "r=last words\\n;k=a bad trap", 1, "last words\nlguest: guest killed: a bad trap\n" },
		{ "r=lost\\n;b;e=1", 1,
		  "lguest: the guest's console ring is corrupt (its producer is more than a ring ahead)\n" },
		{ "e=7;e=7;s=0,0", 0,
		  "lguest: vCPU 0: event on channel 7, which nothing here listens on; ignored\n"
		  "lguest: guest powered off\n" },
		{ "", 1, "lguest: running vCPU 0 failed: Input/output error\n" },
	};
	char out[4096], want[4096], init[512];
	struct xen_layout l;
	const char *kernel;
	unsigned int i;

	NEED_FAKE();
	kernel = tiny_kernel("writable_page_tables");
	ASSERT_NE(NULL, kernel);
	ASSERT_EQ(0, expected_layout(kernel, 16 << 20, NULL, 0, "", &l));
	init_line(init, sizeof(init), &l, 16 << 20);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		const char *const args[] = { "--kernel", kernel, "--mem", "16M", NULL };

		snprintf(want, sizeof(want), "%s%s", init, runs[i].output);
		EXPECT_EQ(runs[i].status, lguest_exec(out, sizeof(out), "/fake/lguest",
						      runs[i].exits, args))
			TH_LOG("run %u: %s", i, out);
		EXPECT_STREQ(want, out) TH_LOG("run %u", i);
	}
	unlink(kernel);
}

/* Debian's kernel and an initrd, started where the domain builder says. */
TEST(lguest_run_kernel_starts_debian_s_kernel_as_laid_out)
{
	const char *args[] = { "--kernel", NULL, "--initrd", "selftests/host/fake_lguest.c",
			       "--append", "console=hvc0", NULL };
	const char *path;
	char out[4096], want[4096], init[512];
	struct xen_layout l;
	struct stat st;
	void *initrd;
	int fd;

	NEED_FAKE();
	NEED_KIMAGE(path);
	args[1] = path;
	fd = open(args[3], O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	initrd = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, initrd);
	ASSERT_EQ(0, expected_layout(path, GUEST_MEM, initrd, st.st_size, "console=hvc0", &l));
	munmap(initrd, st.st_size);
	init_line(init, sizeof(init), &l, GUEST_MEM);
	snprintf(want, sizeof(want), "%s[    0.000000] Linux version\nlguest: guest powered off\n",
		 init);
	EXPECT_EQ(0, lguest_exec(out, sizeof(out), "/fake/lguest",
				 "r=[    0.000000] Linux version\\n;e=1;s=0,0", args));
	EXPECT_STREQ(want, out);
}

TEST(a_native_guest_starts_with_no_xen_personality)
{
	const char *const args[] = { "guest/demo.elf", NULL };
	char out[4096];

	NEED_FAKE();
	EXPECT_EQ(3, lguest_exec(out, sizeof(out), "/fake/lguest", "c=hi\\n;s=0,3", args));
	EXPECT_NE(NULL, strstr(out, " size 0x4000000 ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " vcpus 1 flags 0 cr3 0 rsp 0 rsi 0 shared_info 0 console_port 0 store_port 0 gnttab 0 frames 0 pad 0\nhi\nlguest: guest powered off\n"))
		TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
