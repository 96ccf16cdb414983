// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a static x86_64 ELF into guest memory: each PT_LOAD segment goes
 * to guest-physical p_paddr (= p_vaddr for our guests), its tail zeroed.
 * Every offset and size is checked against the file and guest memory.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>
#include "launcher.h"

int lg_load_elf(const char *path, void *mem, uint64_t mem_size,
		uint64_t *entry, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	struct stat st;
	void *file;
	int fd, i, loaded = 0, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*eh)) {
		snprintf(err, errlen, "%s: not an ELF file (too short)", path);
		close(fd);
		return -1;
	}
	file = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (file == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return -1;
	}
	eh = file;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		snprintf(err, errlen, "%s: not a static x86_64 ELF executable", path);
		goto out;
	}
	if (eh->e_phentsize != sizeof(*ph) || eh->e_phoff > (uint64_t)st.st_size ||
	    (uint64_t)eh->e_phnum * sizeof(*ph) > st.st_size - eh->e_phoff) {
		snprintf(err, errlen, "%s: bad program headers", path);
		goto out;
	}
	ph = (const Elf64_Phdr *)((const char *)file + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		uint64_t pa = ph[i].p_vaddr;

		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_offset > (uint64_t)st.st_size ||
		    ph[i].p_filesz > st.st_size - ph[i].p_offset) {
			snprintf(err, errlen, "%s: segment %d lies outside the file", path, i);
			goto out;
		}
		if (pa > mem_size || ph[i].p_memsz > mem_size - pa) {
			snprintf(err, errlen,
				 "%s: segment %d (%#llx-%#llx) does not fit in %llu MiB of guest memory",
				 path, i, (unsigned long long)pa,
				 (unsigned long long)(pa + ph[i].p_memsz),
				 (unsigned long long)(mem_size >> 20));
			goto out;
		}
		memcpy((char *)mem + pa, (const char *)file + ph[i].p_offset,
		       ph[i].p_filesz);
		memset((char *)mem + pa + ph[i].p_filesz, 0,
		       ph[i].p_memsz - ph[i].p_filesz);
		loaded++;
	}
	if (!loaded || eh->e_entry >= mem_size) {
		snprintf(err, errlen, "%s: no loadable segment or entry outside memory", path);
		goto out;
	}
	*entry = eh->e_entry;
	ret = 0;
out:
	munmap(file, st.st_size);
	return ret;
}
