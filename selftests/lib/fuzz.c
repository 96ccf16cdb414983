// SPDX-License-Identifier: GPL-2.0
/* The host side of fuzz_test's shared part (see fuzz.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "fuzz.h"

void fuzz_config(struct fuzz_config *c)
{
	const char *s = getenv("LG_FUZZ_SEED"), *t = getenv("LG_FUZZ_SECONDS");
	const char *i = getenv("LG_FUZZ_ITER"), *n = getenv("LG_FUZZ_ITERS");

	c->seed = s && *s ? strtoull(s, NULL, 0) : 1;
	c->seconds = t && *t ? strtod(t, NULL) : 40;
	if (c->seconds <= 0)
		c->seconds = 1;
	c->iter = i && *i ? strtol(i, NULL, 0) : -1;
	c->iters = n && *n ? strtol(n, NULL, 0) : 0;
}

uint64_t fuzz_iter_seed(const struct fuzz_config *c, const char *test, long iter)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a of the name */

	for (; *test; test++)
		h = (h ^ (unsigned char)*test) * 0x100000001b3ULL;
	return fuzz_mix(fuzz_mix(c->seed ^ h) + (uint64_t)iter);
}

double fuzz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */

static int kmsg = -1;

/* Start reading the kernel log from its end: older lines are not ours. */
void fuzz_host_begin(void)
{
	if (kmsg < 0)
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
}

/*
 * What tools/vm-run fails a run for (its bad_log), checked here after
 * every iteration so that a finding names the seed that made it.
 */
static const char *const bad_words[] = {	/* as whole words */
	"BUG", "WARNING", "Oops", "KASAN", "UBSAN", "KFENCE",
};
static const char *const bad_phrases[] = {
	"general protection", "RCU stall", "detected stall",
	"lockdep is turned off", "DEBUG_LOCKS_WARN_ON", "list_add corruption",
	"list_del corruption", "refcount_t", "Kernel panic", "Call Trace",
	"kmemleak: Kernel memory leak detector disabled",
};

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

bool fuzz_has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(line, word); p; p = strstr(p + 1, word))
		if ((p == line || !word_char(p[-1])) && !word_char(p[n]))
			return true;
	return false;
}

static bool bad_line(const char *line)
{
	unsigned int i;

	for (i = 0; i < sizeof(bad_words) / sizeof(bad_words[0]); i++)
		if (fuzz_has_word(line, bad_words[i]))
			return true;
	for (i = 0; i < sizeof(bad_phrases) / sizeof(bad_phrases[0]); i++)
		if (strstr(line, bad_phrases[i]))
			return true;
	return false;
}

static bool kmsg_clean(char *why, size_t len)
{
	static char rec[8192];
	ssize_t n;

	if (kmsg < 0)
		return true;
	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		/* Overwritten (EPIPE), or a record too long (EINVAL): go on. */
		if (n < 0 && (errno == EPIPE || errno == EINVAL))
			continue;
		if (n <= 0)
			return true;
		rec[n] = 0;
		if (bad_line(rec)) {
			char *msg = strchr(rec, ';');

			snprintf(why, len, "kernel log: %.*s", 200,
				 msg ? msg + 1 : rec);
			return false;
		}
	}
}

/*
 * A guest's memory goes when its last file reference does, which for a
 * SIGKILLed launcher is as its threads exit: by the time wait() returns,
 * but a forked child of it (mem_games) may still hold the file for a
 * moment.  So the counts get a second to reach zero; one that stays above
 * it is a leak.
 */
bool fuzz_host_ok(char *why, size_t len)
{
	struct {
		uint64_t req;
		struct lguest_req_info args;
	} msg;
	struct lguest_info info;
	int tries = 0;
	bool ok;

	do {
		int fd = open("/dev/lguest", O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			snprintf(why, len, "/dev/lguest: %s", strerror(errno));
			return false;
		}
		msg.req = LHREQ_INFO;
		msg.args.addr = (uintptr_t)&info;
		msg.args.size = sizeof(info);
		if (write(fd, &msg, sizeof(msg)) != sizeof(msg)) {
			snprintf(why, len, "LHREQ_INFO: %s", strerror(errno));
			close(fd);
			return false;
		}
		close(fd);
		/* Our own open file is the one guest the info counts. */
		ok = info.nr_guests == 1 && info.pinned_pages == 0 && info.table_pages == 0;
	} while (!ok && ++tries < 100 && !usleep(10000));
	if (!ok)
		snprintf(why, len, "after teardown: %u guests alive, %llu pages pinned, "
			 "%llu page-table pages", info.nr_guests - 1,
			 (unsigned long long)info.pinned_pages,
			 (unsigned long long)info.table_pages);
	return ok && kmsg_clean(why, len);
}

/* ------------------------------------------------------------------ */

#define CHECK_PATTERN	0x6c67756573743f21ULL	/* "lguest?!" */
/* A GS base must be canonical: a user address that is never mapped. */
#define CHECK_GS(cpu)	(0x00007f6c67750000ULL + (cpu) * 4096ULL)

/*
 * One checker: on @cpu, with the pattern (plus its number) in RBX, RBP,
 * R12-R15 and XMM8-XMM15 and in its GS base, it makes a getppid() and a
 * sched_yield() between checks, so world switches on that CPU happen
 * around it.  Exits 0 when stopped with everything intact, 1 at the first
 * register found changed (written into the page), 2 if it could not set
 * itself up.
 */
static void checker(int cpu, struct fuzz_checker_page *page, pid_t parent)
{
	uint64_t p = CHECK_PATTERN + cpu, gsv = CHECK_GS(cpu);
	uint64_t gs = 0, val;
	long what;
	cpu_set_t set;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* it died before the prctl */
		_exit(2);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) ||
	    syscall(SYS_arch_prctl, ARCH_SET_GS, gsv))
		_exit(2);
	while (!page->stop) {
		/*
		 * Past the red zone, then RBP saved by hand: it is ours to
		 * test.  EAX counts the registers checked, so that a mismatch
		 * leaves which one in it and what it held in RCX.
		 */
		asm volatile("subq $128, %%rsp\n push %%rbp\n"
			     "movq %[p], %%rbx\n movq %[p], %%rbp\n movq %[p], %%r12\n"
			     "movq %[p], %%r13\n movq %[p], %%r14\n movq %[p], %%r15\n"
			     ".irp r, 8, 9, 10, 11, 12, 13, 14, 15\n"
			     "movq %[p], %%xmm\\r\n"
			     ".endr\n"
			     "movl %[getppid], %%eax\n syscall\n"
			     "movl %[yield], %%eax\n syscall\n"
			     "xorl %%eax, %%eax\n"
			     ".irp r, rbx, rbp, r12, r13, r14, r15\n"
			     "incl %%eax\n movq %%\\r, %%rcx\n cmpq %[p], %%rcx\n jne 1f\n"
			     ".endr\n"
			     ".irp r, 8, 9, 10, 11, 12, 13, 14, 15\n"
			     "incl %%eax\n movq %%xmm\\r, %%rcx\n cmpq %[p], %%rcx\n jne 1f\n"
			     ".endr\n"
			     "xorl %%eax, %%eax\n"
			     "1: pop %%rbp\n addq $128, %%rsp\n"
			     : "=&a"(what), "=&c"(val)
			     : [p] "r"(p), [getppid] "i"(SYS_getppid),
			       [yield] "i"(SYS_sched_yield)
			     : "rbx", "r11", "r12", "r13", "r14", "r15",
			       "memory", "cc",
			       "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
			       "xmm14", "xmm15");
		if (!what && (syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) || gs != gsv)) {
			what = 15;
			val = gs;
		}
		if (what) {
			if (__sync_bool_compare_and_swap(&page->failed, 0, 1)) {
				page->cpu = cpu;
				page->what = what;
				page->value = val;
			}
			_exit(1);
		}
	}
	_exit(0);
}

int fuzz_checkers_start(struct fuzz_checkers *c)
{
	cpu_set_t all;
	int cpu;

	c->n = 0;
	c->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->page == MAP_FAILED) {
		c->page = NULL;
		return -1;
	}
	if (sched_getaffinity(0, sizeof(all), &all)) {
		fuzz_checkers_stop(c, NULL, 0);
		return -1;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && c->n < 256; cpu++) {
		pid_t pid, parent = getpid();

		if (!CPU_ISSET(cpu, &all))
			continue;
		pid = fork();
		if (pid < 0) {
			fuzz_checkers_stop(c, NULL, 0);
			return -1;
		}
		if (!pid)
			checker(cpu, c->page, parent);
		c->cpus[c->n] = cpu;
		c->pids[c->n++] = pid;
	}
	return 0;
}

static const char *const checked_names[] = {
	"?", "RBX", "RBP", "R12", "R13", "R14", "R15", "XMM8", "XMM9",
	"XMM10", "XMM11", "XMM12", "XMM13", "XMM14", "XMM15", "the GS base",
};

/* What the first failure was, or why checker @i (status @status) ended. */
static void checker_why(struct fuzz_checkers *c, int i, int status, char *why, size_t len)
{
	const struct fuzz_checker_page *pg = c->page;

	if (!why)
		return;
	if (pg->failed)
		snprintf(why, len, "a host process on CPU %d found %s changed (%#llx, not %#llx)",
			 pg->cpu, checked_names[pg->what < 16 ? pg->what : 0],
			 (unsigned long long)pg->value,
			 pg->what == 15 ? CHECK_GS(pg->cpu) :
			 CHECK_PATTERN + pg->cpu);
	else if (WIFSIGNALED(status))
		snprintf(why, len, "the host process checking CPU %d died of signal %d",
			 c->cpus[i], WTERMSIG(status));
	else
		snprintf(why, len, "the host process checking CPU %d exited with %d",
			 c->cpus[i], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* waitpid(), again when our own SIGALRM (no SA_RESTART) interrupts it. */
static pid_t reap(pid_t pid, int *status, int flags)
{
	pid_t r;

	do
		r = waitpid(pid, status, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Between iterations: have they all found what they left? */
bool fuzz_checkers_ok(struct fuzz_checkers *c, char *why, size_t len)
{
	int i, status = 0;

	for (i = 0; i < c->n; i++) {
		pid_t r;

		if (c->pids[i] < 0)
			continue;
		r = reap(c->pids[i], &status, WNOHANG);
		if (r == 0)
			continue;
		c->pids[i] = -1;	/* reaped (or lost): stop() skips it */
		checker_why(c, i, r > 0 ? status : 0, why, len);
		return false;
	}
	return true;
}

bool fuzz_checkers_stop(struct fuzz_checkers *c, char *why, size_t len)
{
	int i, status;
	bool ok = true;
	pid_t r;

	if (!c->page)
		return false;
	c->page->stop = 1;
	for (i = 0; i < c->n; i++) {
		if (c->pids[i] < 0)
			continue;
		r = reap(c->pids[i], &status, 0);
		if (r != c->pids[i]) {
			if (ok && why)
				snprintf(why, len, "cannot wait for the host process checking CPU %d",
					 c->cpus[i]);
			ok = false;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (ok)
				checker_why(c, i, status, why, len);
			ok = false;
		}
	}
	munmap((void *)c->page, 4096);
	c->page = NULL;
	return ok;
}

/* ------------------------------------------------------------------ */

const char *fuzz_exit_name(unsigned int reason)
{
	switch (reason) {
	case LGUEST_EXIT_NOTIFY: return "notify";
	case LGUEST_EXIT_SHUTDOWN: return "shutdown";
	case LGUEST_EXIT_KILLED: return "killed";
	case LGUEST_EXIT_CONSOLE: return "console";
	case LGUEST_EXIT_EVTCHN: return "evtchn";
	}
	return "unknown";
}

void fuzz_tally_kill(struct fuzz_tally *t, const char *msg)
{
	char kind[LGUEST_MSG_LEN];
	const char *raw = msg;
	size_t n = 0;
	int i;

	t->killed++;
	/* Numbers (decimal or 0x...) become N: a kind, not an instance. */
	while (*msg && n < sizeof(kind) - 1) {
		if (*msg >= '0' && *msg <= '9') {
			kind[n++] = 'N';
			if (msg[0] == '0' && msg[1] == 'x')
				msg += 2;
			while ((*msg >= '0' && *msg <= '9') || (*msg >= 'a' && *msg <= 'f'))
				msg++;
			continue;
		}
		kind[n++] = *msg++;
	}
	kind[n] = 0;
	for (i = 0; i < FUZZ_KINDS && t->kinds[i][0]; i++)
		if (!strcmp(t->kinds[i], kind))
			break;
	if (i == FUZZ_KINDS)
		return;
	if (!t->kinds[i][0]) {
		memcpy(t->kinds[i], kind, n + 1);
		snprintf(t->example[i], sizeof(t->example[i]), "%s", raw);
	}
	t->kind_count[i]++;
}

void fuzz_tally_print(const char *test, const struct fuzz_tally *t)
{
	int i;

	printf("# %s: %lu iterations (%lu past their setup): %lu ran to their end, "
	       "%lu shut down, %lu killed, %lu still running at their deadline\n",
	       test, t->iters, t->ready, t->done, t->shutdown, t->killed, t->timeout);
	for (i = 0; i < FUZZ_KINDS && t->kinds[i][0]; i++)
		printf("# %s:   %lu killed: %s (the first: %s)\n", test, t->kind_count[i],
		       t->kinds[i], t->example[i]);
}

/* ------------------------------------------------------------------ */

volatile int fuzz_alarm_fired;

static void on_alarm(int sig)
{
	(void)sig;
	fuzz_alarm_fired = 1;
}

int fuzz_alarm(unsigned int ms)
{
	static timer_t timer;
	static int have_timer;
	/*
	 * Then every 5 ms again: a signal that lands while the thread is
	 * between runs (in user space) would end no run, and the next one
	 * could wait for ever.
	 */
	struct itimerspec its = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
		.it_interval = { 0, ms ? 5000000L : 0 },
	};

	if (!have_timer) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct sigevent sev = {
			.sigev_notify = SIGEV_THREAD_ID,
			.sigev_signo = SIGALRM,
		};

		/* No SA_RESTART: the signal must end a vCPU run. */
		if (sigaction(SIGALRM, &sa, NULL))
			return -1;
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
			return -1;
		have_timer = 1;
	}
	fuzz_alarm_fired = 0;
	return timer_settime(timer, 0, &its, NULL);
}
