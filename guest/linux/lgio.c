// SPDX-License-Identifier: GPL-2.0
/*
 * lgio: the block I/O rows of `make bench` (tools/bench's linux_io step).
 *
 *   lgio WHERE PATH [direct]
 *	Over the first 64 MiB of PATH: a sequential write in 1 MiB blocks
 *	(and an fdatasync), a sequential read, then random 4 KiB reads and
 *	random 4 KiB writes for a second each, at 4 KiB-aligned offsets from
 *	a fixed seed.  With "direct", PATH is opened O_DIRECT, so that a
 *	guest's own page cache is not what is measured (the guest runs it on
 *	/dev/xvda; natively the test VM runs it on the image file itself,
 *	whose tmpfs takes no O_DIRECT).  Prints a table and one line
 *	"LGIO_JSON {...}"; WHERE only labels them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SPAN	(64ULL << 20)
#define BIG	(1U << 20)
#define SMALL	4096U

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "lgio: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Sequential, 1 MiB at a time: MB/s. */
static double sequential(int fd, char *buf, int write)
{
	unsigned long long t = now_ns(), off;

	for (off = 0; off < SPAN; off += BIG) {
		ssize_t n = write ? pwrite(fd, buf, BIG, off) : pread(fd, buf, BIG, off);

		if (n != (ssize_t)BIG)
			die(write ? "sequential write" : "sequential read");
	}
	if (write && fdatasync(fd))
		die("fdatasync");
	return (SPAN / 1e6) / ((now_ns() - t) / 1e9);
}

/* Random 4 KiB for a second: operations per second. */
static double random_io(int fd, char *buf, int write)
{
	unsigned long long t0 = now_ns(), t = t0, ops = 0;
	unsigned int seed = 12345;

	while (t - t0 < 1000000000ULL) {
		unsigned long long off = (unsigned long long)(rand_r(&seed) % (SPAN / SMALL)) * SMALL;
		ssize_t n = write ? pwrite(fd, buf, SMALL, off) : pread(fd, buf, SMALL, off);

		if (n != (ssize_t)SMALL)
			die(write ? "random write" : "random read");
		if (!(++ops & 15))
			t = now_ns();
	}
	if (write && fdatasync(fd))
		die("fdatasync");
	return ops / ((now_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
	int direct = argc == 4 && !strcmp(argv[3], "direct"), fd;
	double sw, sr, rr, rw;
	char *buf;

	if (argc < 3 || argc > 4 || (argc == 4 && !direct)) {
		fprintf(stderr, "usage: lgio WHERE PATH [direct]\n");
		return 2;
	}
	fd = open(argv[2], O_RDWR | (direct ? O_DIRECT : 0));
	if (fd < 0)
		die(argv[2]);
	/* Aligned for O_DIRECT, and not all zeros. */
	if (posix_memalign((void **)&buf, 4096, BIG))
		die("memory");
	memset(buf, 0x5a, BIG);
	sw = sequential(fd, buf, 1);
	sr = sequential(fd, buf, 0);
	rr = random_io(fd, buf, 0);
	rw = random_io(fd, buf, 1);
	printf("# lgio %s, %s%s: sequential write %.1f MB/s, read %.1f MB/s; random 4 KiB read %.0f/s, write %.0f/s\n",
	       argv[1], argv[2], direct ? " (O_DIRECT)" : "", sw, sr, rr, rw);
	printf("LGIO_JSON {\"where\": \"%s\", \"direct\": %d, \"seq_write_mbs\": %.1f, \"seq_read_mbs\": %.1f, \"rand_read_iops\": %.0f, \"rand_write_iops\": %.0f}\n",
	       argv[1], direct, sw, sr, rr, rw);
	return 0;
}
