// SPDX-License-Identifier: GPL-2.0
/*
 * A Xen PV kernel, from its file to guest memory.
 *
 * Debian's vmlinuz is a bzImage: a real-mode setup header, then the
 * protected-mode code, whose "payload" is the kernel's ELF compressed with
 * XZ (and followed by four bytes holding its size, which is not XZ: stop at
 * the end of the stream, as Xen's own loader does).  The ELF is loaded by
 * physical address (p_paddr: Linux's per-CPU segment has virtual address
 * 0), and its notes named "Xen" tell the domain builder everything else:
 * the entry point, where the initial mapping starts (VIRT_BASE), the
 * features the kernel requires.  xen/elfnote.h (libxen-dev) numbers them.
 *
 * Every size and offset in the file is checked: a kernel image is input
 * like any other.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/elfnote.h>
#include "kernel.h"

/* No Linux kernel's ELF comes near this; a larger claim is corruption. */
#define MAX_ELF_SIZE	(512ULL << 20)

/* The required Xen features ('!' in FEATURES) the personality provides. */
static const char *const provided_features[] = {
	"writable_page_tables",
	"pae_pgdir_above_4gb",
};

struct blob {
	const unsigned char *p;
	uint64_t len;
};

int xen_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t get_le(const unsigned char *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * The kernel's ELF inside a bzImage's XZ payload, into a buffer of ours
 * (*out, malloc'ed).  Returns 0 or -1 with @err.
 */
static int unpack_bzimage(const char *path, struct blob file, struct blob *out,
			  char *err, size_t errlen)
{
	static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	unsigned int setup_sects = file.p[0x1f1] ? file.p[0x1f1] : 4;
	uint64_t pm = (setup_sects + 1ULL) * 512, off, len, size;
	const unsigned char *payload;
	lzma_stream strm = LZMA_STREAM_INIT;
	unsigned char *buf;
	lzma_ret r;

	if (get_le(file.p + 0x206, 2) < 0x208)
		return xen_fail(err, errlen, "%s: boot protocol %#llx is too old to carry an ELF payload",
			    path, (unsigned long long)get_le(file.p + 0x206, 2));
	off = pm + get_le(file.p + 0x248, 4);
	len = get_le(file.p + 0x24c, 4);
	if (off > file.len || len < sizeof(xz_magic) + 4 || len > file.len - off)
		return xen_fail(err, errlen, "%s: the bzImage payload lies outside the file", path);
	payload = file.p + off;
	if (memcmp(payload, xz_magic, sizeof(xz_magic))) {
		const char *what = payload[0] == 0x1f && payload[1] == 0x8b ? "gzip" :
				   payload[0] == 0x28 && payload[1] == 0xb5 ? "zstd" :
				   payload[0] == 'B' && payload[1] == 'Z' ? "bzip2" :
				   "an unknown format";
		return xen_fail(err, errlen, "%s: the kernel is compressed with %s; lguest reads XZ",
			    path, what);
	}
	size = get_le(payload + len - 4, 4);
	if (size < sizeof(Elf64_Ehdr) || size > MAX_ELF_SIZE)
		return xen_fail(err, errlen, "%s: the payload claims %llu bytes uncompressed",
			    path, (unsigned long long)size);
	buf = malloc(size);
	if (!buf)
		return xen_fail(err, errlen, "out of memory for the kernel (%llu bytes)",
			    (unsigned long long)size);
	if (lzma_stream_decoder(&strm, UINT64_MAX, 0) != LZMA_OK) {
		free(buf);
		return xen_fail(err, errlen, "cannot start an XZ decoder");
	}
	strm.next_in = payload;
	strm.avail_in = len;
	strm.next_out = buf;
	strm.avail_out = size;
	r = lzma_code(&strm, LZMA_FINISH);
	lzma_end(&strm);
	if (r != LZMA_STREAM_END || strm.total_out != size) {
		free(buf);
		if (r == LZMA_STREAM_END || r == LZMA_BUF_ERROR || r == LZMA_OK)
			return xen_fail(err, errlen, "%s: the XZ payload is not the %llu bytes it claims",
				    path, (unsigned long long)size);
		return xen_fail(err, errlen, "%s: corrupt XZ payload (liblzma error %d)", path, r);
	}
	out->p = buf;
	out->len = size;
	return 0;
}

/* The notes the builder needs, and where each goes in struct xen_kernel. */
#define NUM(type, field)	{ type, offsetof(struct xen_kernel, field), 0 }
#define STR(type, field)	{ type, offsetof(struct xen_kernel, field), \
				  sizeof(((struct xen_kernel *)0)->field) }
static const struct {
	uint32_t type;
	size_t off;
	size_t size;		/* a string's buffer; 0 for a number */
} known_notes[] = {
	NUM(XEN_ELFNOTE_ENTRY, entry),
	NUM(XEN_ELFNOTE_VIRT_BASE, virt_base),
	NUM(XEN_ELFNOTE_PADDR_OFFSET, paddr_offset),
	NUM(XEN_ELFNOTE_HYPERCALL_PAGE, hypercall_page),
	NUM(XEN_ELFNOTE_INIT_P2M, init_p2m),
	NUM(XEN_ELFNOTE_HV_START_LOW, hv_start_low),
	NUM(XEN_ELFNOTE_SUPPORTED_FEATURES, supported_features),
	NUM(XEN_ELFNOTE_MOD_START_PFN, mod_start_pfn),
	STR(XEN_ELFNOTE_GUEST_OS, guest_os),
	STR(XEN_ELFNOTE_GUEST_VERSION, guest_version),
	STR(XEN_ELFNOTE_XEN_VERSION, xen_version),
	STR(XEN_ELFNOTE_LOADER, loader),
	STR(XEN_ELFNOTE_FEATURES, features),
};
#undef NUM
#undef STR

/* One note named "Xen": keep what the builder needs. */
static void xen_note(struct xen_kernel *k, uint32_t type, const unsigned char *d,
		     uint32_t n)
{
	unsigned int i;
	char *field;

	for (i = 0; i < sizeof(known_notes) / sizeof(known_notes[0]); i++) {
		if (known_notes[i].type != type)
			continue;
		field = (char *)k + known_notes[i].off;
		if (!known_notes[i].size) {
			*(uint64_t *)field = get_le(d, n < 8 ? n : 8);
			return;
		}
		n = strnlen((const char *)d, n);
		if (n >= known_notes[i].size)
			n = known_notes[i].size - 1;
		memcpy(field, d, n);
		field[n] = 0;
		return;
	}
}

/*
 * Walk the PT_NOTE segments.  Returns how many "Xen" notes there were, or
 * -1 if a note runs off its segment.
 */
static int read_notes(struct blob elf, const Elf64_Phdr *ph, int phnum,
		      struct xen_kernel *k)
{
	int i, found = 0;

	for (i = 0; i < phnum; i++) {
		uint64_t pos = ph[i].p_offset, end = pos + ph[i].p_filesz;

		if (ph[i].p_type != PT_NOTE)
			continue;
		if (end < pos || end > elf.len)
			return -1;
		while (end - pos >= sizeof(Elf64_Nhdr)) {
			const Elf64_Nhdr *nh = (const void *)(elf.p + pos);
			uint64_t name = pos + sizeof(*nh);
			uint64_t desc = name + ((nh->n_namesz + 3ULL) & ~3ULL);
			uint64_t next = desc + ((nh->n_descsz + 3ULL) & ~3ULL);

			if (next > end)
				return -1;
			if (nh->n_namesz == 4 && !memcmp(elf.p + name, "Xen", 4)) {
				xen_note(k, nh->n_type, elf.p + desc, nh->n_descsz);
				found++;
			}
			pos = next;
		}
	}
	return found;
}

/* Each feature FEATURES marks required ('!') must be one we provide. */
static int check_features(const char *path, const char *features, char *err,
			  size_t errlen)
{
	char copy[sizeof(((struct xen_kernel *)0)->features)], *f, *save;
	unsigned int i;

	snprintf(copy, sizeof(copy), "%s", features);
	for (f = strtok_r(copy, "|", &save); f; f = strtok_r(NULL, "|", &save)) {
		if (*f != '!')
			continue;
		for (i = 0; i < sizeof(provided_features) / sizeof(provided_features[0]); i++)
			if (!strcmp(f + 1, provided_features[i]))
				break;
		if (i == sizeof(provided_features) / sizeof(provided_features[0]))
			return xen_fail(err, errlen, "%s: the kernel requires Xen feature %s, which lguest does not provide",
				    path, f + 1);
	}
	return 0;
}

/* The ELF: notes, checks, and (with @mem) its segments in guest memory. */
static int load_elf(const char *path, struct blob elf, void *mem, uint64_t mem_size,
		    struct xen_kernel *k, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const void *)elf.p;
	const Elf64_Phdr *ph;
	uint64_t lo = UINT64_MAX, hi = 0;
	int i, notes;

	if (elf.len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC)
		return xen_fail(err, errlen, "%s: not a Xen PV kernel (not a 64-bit x86 executable)",
				path);
	if (eh->e_phentsize != sizeof(*ph) || eh->e_phoff > elf.len ||
	    (uint64_t)eh->e_phnum * sizeof(*ph) > elf.len - eh->e_phoff)
		return xen_fail(err, errlen, "%s: bad program headers", path);
	ph = (const void *)(elf.p + eh->e_phoff);

	memset(k, 0, sizeof(*k));
	k->elf_size = elf.len;
	notes = read_notes(elf, ph, eh->e_phnum, k);
	if (notes < 0)
		return xen_fail(err, errlen, "%s: a note runs off the end of its segment", path);
	if (!notes)
		return xen_fail(err, errlen, "%s: not a Xen PV kernel (no Xen ELF notes)", path);
	if (strcmp(k->xen_version, "xen-3.0") || strcmp(k->loader, "generic"))
		return xen_fail(err, errlen, "%s: Xen notes for another interface (XEN_VERSION \"%s\", LOADER \"%s\")",
			    path, k->xen_version, k->loader);
	if (check_features(path, k->features, err, errlen))
		return -1;
	if (!k->entry)
		k->entry = eh->e_entry;

	/* Every segment checked, and the image's extent known, before loading. */
	for (i = 0; i < eh->e_phnum; i++) {
		uint64_t gpa = ph[i].p_paddr - k->paddr_offset;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > elf.len ||
		    ph[i].p_filesz > elf.len - ph[i].p_offset ||
		    gpa > MAX_ELF_SIZE * 8 || ph[i].p_memsz > MAX_ELF_SIZE)
			return xen_fail(err, errlen, "%s: segment %d lies outside the file or memory",
				    path, i);
		if (gpa < lo)
			lo = gpa;
		if (gpa + ph[i].p_memsz > hi)
			hi = gpa + ph[i].p_memsz;
	}
	if (lo >= hi)
		return xen_fail(err, errlen, "%s: nothing to load", path);
	k->pstart = lo & ~4095ULL;
	k->pend = (hi + 4095) & ~4095ULL;
	if (k->entry < k->virt_base + k->pstart || k->entry >= k->virt_base + k->pend)
		return xen_fail(err, errlen, "%s: the entry point %#llx is outside the image",
			    path, (unsigned long long)k->entry);
	if (mem && hi > mem_size)
		return xen_fail(err, errlen, "%s: the kernel needs %llu MiB of guest memory",
			    path, (unsigned long long)((hi + (1 << 20) - 1) >> 20));
	for (i = 0; mem && i < eh->e_phnum; i++) {
		uint64_t gpa = ph[i].p_paddr - k->paddr_offset;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		memcpy((char *)mem + gpa, elf.p + ph[i].p_offset, ph[i].p_filesz);
		memset((char *)mem + gpa + ph[i].p_filesz, 0,
		       ph[i].p_memsz - ph[i].p_filesz);
	}
	return 0;
}

int xen_kernel_load(const char *path, void *mem, uint64_t mem_size,
		    struct xen_kernel *k, char *err, size_t errlen)
{
	struct blob file, elf;
	struct stat st;
	void *map;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xen_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || st.st_size < 0x250) {
		close(fd);
		return xen_fail(err, errlen, "%s: too short to be a kernel", path);
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return xen_fail(err, errlen, "cannot map %s: %s", path, strerror(errno));
	file.p = map;
	file.len = st.st_size;

	if (!memcmp(file.p + 0x202, "HdrS", 4)) {
		ret = unpack_bzimage(path, file, &elf, err, errlen);
		if (!ret) {
			ret = load_elf(path, elf, mem, mem_size, k, err, errlen);
			free((void *)elf.p);
		}
	} else if (!memcmp(file.p, ELFMAG, SELFMAG)) {
		ret = load_elf(path, file, mem, mem_size, k, err, errlen);
	} else {
		ret = xen_fail(err, errlen, "%s: not a Xen PV kernel (neither a bzImage nor an ELF file)",
			       path);
	}
	munmap(map, st.st_size);
	return ret;
}
