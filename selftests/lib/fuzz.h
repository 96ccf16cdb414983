/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What fuzz_test's two halves share (fuzz_test.c for lguest's own ABI and
 * the host side, fuzz_xen.c for the Xen PV personality): the random
 * numbers, the values worth trying, and the host's checks after every
 * iteration.  Each half includes its own guest library (lg_test.h or
 * xen_test.h), so nothing here depends on either.
 *
 * Every iteration has a seed of its own, derived from the run's seed, the
 * test and the iteration's number, so one failing iteration replays alone
 * (LG_FUZZ_SEED, LG_FUZZ_ITER: docs/NOTES.md).  The guest's random stream
 * runs in the guest, from that seed: the same seed makes the same
 * hypercalls, instructions and page tables.  What it cannot fix is timing:
 * where a host interrupt lands, and how vCPUs interleave.
 */
#ifndef LG_FUZZ_H
#define LG_FUZZ_H

#include <stdint.h>
#include <linux/lguest.h>

/* splitmix64: seeds from seeds (one step mixes every bit). */
static inline uint64_t fuzz_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* xorshift64*: the streams; safe in guest code (no libc, no tables). */
static inline uint64_t fuzz_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x2545f4914f6cdd1dULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* A number below @n (n > 0). */
static inline uint64_t fuzz_below(uint64_t *s, uint64_t n)
{
	return fuzz_rand(s) % n;
}

/*
 * Values at the edges of what the host checks: guest memory's ends (64
 * MiB for lguest's own guests, which is LG_TEST_MEM), page boundaries,
 * the sign change of canonical addresses, the hypervisor hole and the
 * shared page inside it, the top of memory, and counts that overflow
 * when multiplied or added.
 */
#define FUZZ_MEM	(64ULL << 20)
static const uint64_t fuzz_edges[] = {
	0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 255, 256, 511, 512,
	4095, 4096, 4097, 0x7fff, 0x8000, 0xffff, 0x10000,
	FUZZ_MEM - 4096, FUZZ_MEM - 8, FUZZ_MEM - 1, FUZZ_MEM,
	FUZZ_MEM + 4096, FUZZ_MEM * 2, 0x7fffffffULL, 0x80000000ULL,
	0xffffffffULL, 0x100000000ULL, 0x7ffffffff000ULL, 0x7fffffffffffULL,
	0x800000000000ULL, 0xff7fffffffffffffULL, LGUEST_HOLE_START,
	LGUEST_DATA_VA, LGUEST_IDT_VA, LGUEST_GDT_VA, LGUEST_HOLE_END - 1,
	LGUEST_HOLE_END, 0xffffffff80000000ULL, 0xfffffffffffff000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL - 1, ~0ULL,
	0x0000000100000000ULL - 4096, 0x1000000000000ULL,
};

#define FUZZ_NR_EDGES	(sizeof(fuzz_edges) / sizeof(fuzz_edges[0]))

/*
 * An argument: an edge, an address inside guest memory (page-aligned or
 * not), a small number, or anything.
 */
static inline uint64_t fuzz_arg(uint64_t *s, uint64_t mem)
{
	uint64_t r = fuzz_rand(s);

	switch (r & 7) {
	case 0: case 1:
		return fuzz_edges[(r >> 8) % FUZZ_NR_EDGES];
	case 2:
		return (r >> 8) % mem;
	case 3: case 4:
		return ((r >> 8) % (mem >> 12)) << 12;
	case 5:
		return (r >> 8) % 300;
	default:
		return fuzz_rand(s);
	}
}

/*
 * What a fuzzed guest's GUEST_SYNC says once its setup is done: until
 * then a failed GUEST_ASSERT is a failure of the test; after it the
 * guest is random, and its ucalls are not believed.
 */
#define FUZZ_READY	0xf0220ULL

/*
 * Guest side (lib/fuzz_try.S): fn(arg) that a trap handler can abandon,
 * sending the vCPU to fuzz_try_recover (RSP set to *slot by the handler)
 * or fuzz_try_recover_reload (RSP reloaded from the last slot used);
 * fuzz_try() then returns 1 instead of 0.
 */
uint64_t fuzz_try(void (*fn)(void *), void *arg, uint64_t *slot);
extern char fuzz_try_recover[], fuzz_try_recover_reload[];

/* ------------------------------------------------------------------ */
/* Host side (selftests/lib/fuzz.c).                                   */

#ifndef FUZZ_GUEST_ONLY
#include <stdbool.h>
#include <stddef.h>

/* The run's settings, from the environment (fuzz_config()). */
struct fuzz_config {
	uint64_t seed;		/* LG_FUZZ_SEED, else 1 (a fixed pass) */
	double seconds;		/* LG_FUZZ_SECONDS, else 40: all tests */
	long iter;		/* LG_FUZZ_ITER: replay only that one, else -1 */
	long iters;		/* LG_FUZZ_ITERS: a count instead of the time, else 0 */
};

void fuzz_config(struct fuzz_config *c);

/*
 * @word in @text, not inside a longer word ("DEBUG" is not "BUG";
 * "insns" is not in "kernel_insns"): for the kernel log's bad words and
 * LG_FUZZ_SKIP's list.
 */
bool fuzz_has_word(const char *text, const char *word);

/* An iteration's seed: the run's, the test's name, the iteration. */
uint64_t fuzz_iter_seed(const struct fuzz_config *c, const char *test, long iter);

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double fuzz_now(void);

/*
 * The host's checks after an iteration, once its guests are gone: no
 * guest alive, no page pinned, no shadow page-table page left, and no
 * line in the kernel log (read from /dev/kmsg since fuzz_host_begin())
 * that a healthy kernel never prints.  Returns true if all hold, else
 * false with why in @why.
 */
void fuzz_host_begin(void);
bool fuzz_host_ok(char *why, size_t len);

/*
 * Checker processes, one per CPU we may run on, each holding known values
 * in its callee-saved registers, vector registers and GS base and
 * checking them between system calls and yields, as the guests' world
 * switches happen around them.  The first to find one changed writes
 * which, on which CPU and what it held into a page they share and exits:
 * fuzz_checkers_ok() (after each iteration, so that the failure has an
 * iteration to replay) and fuzz_checkers_stop() say so in @why, as they
 * do a checker that died or could not set itself up.
 */
struct fuzz_checker_page {
	volatile int stop;
	volatile int failed;	/* the first failure below is written */
	int cpu, what;		/* what: 1-6 RBX RBP R12-R15, 7-14 XMM8-15, 15 GS */
	uint64_t value;
};

struct fuzz_checkers {
	int n;
	int pids[256];
	int cpus[256];
	struct fuzz_checker_page *page;
};

int fuzz_checkers_start(struct fuzz_checkers *c);
bool fuzz_checkers_ok(struct fuzz_checkers *c, char *why, size_t len);
bool fuzz_checkers_stop(struct fuzz_checkers *c, char *why, size_t len);

/*
 * What ended each iteration's guests, for the TAP comments: counts, and
 * the kinds of kill (the module's reasons with their numbers as N).
 */
#define FUZZ_KINDS	12
struct fuzz_tally {
	unsigned long iters, ready, done, shutdown, killed, timeout;
	char kinds[FUZZ_KINDS][LGUEST_MSG_LEN];
	char example[FUZZ_KINDS][LGUEST_MSG_LEN];	/* the first of each */
	unsigned long kind_count[FUZZ_KINDS];
};

void fuzz_tally_kill(struct fuzz_tally *t, const char *msg);
void fuzz_tally_print(const char *test, const struct fuzz_tally *t);

/* The name of an exit reason, for the comments. */
const char *fuzz_exit_name(unsigned int reason);

/*
 * A one-shot SIGALRM at @ms from now to the calling thread (so a vCPU
 * run in progress there ends with EINTR); 0 disarms.  fuzz_alarm_fired
 * says whether it did.
 */
extern volatile int fuzz_alarm_fired;
int fuzz_alarm(unsigned int ms);

#endif /* FUZZ_GUEST_ONLY */
#endif /* LG_FUZZ_H */
