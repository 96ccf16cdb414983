// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line parsing, kept apart from everything that touches the device so
 * the host-side unit tests can exercise it without a kernel.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <xen/xen.h>		/* MAX_GUEST_CMDLINE */
#include "launcher.h"
#include "xen/kernel.h"

/* lguest(1), docs/lguest.1, says the same (selftests/host/manpage_test.sh). */
const char lg_usage[] =
	"usage: lguest [--device PATH] COMMAND\n"
	"\n"
	"commands:\n"
	"  info                     show the lguest module's version and what it found on this host\n"
	"  run [--mem SIZE] [--cpus N] GUEST\n"
	"                           run a guest ELF (default 64M of memory, 1 vCPU, up\n"
	"                           to 64), a thread per vCPU\n"
	"  run --kernel VMLINUZ [--initrd FILE] [--append CMDLINE] [--mem SIZE] [--cpus N]\n"
	"      [--disk IMAGE[,ro]]... [--net tap=NAME]...\n"
	"                           run a 64-bit Linux kernel built for Xen PV (a bzImage\n"
	"                           with an XZ payload, or its ELF) as a Xen PV domU, its\n"
	"                           console (hvc0) on stdin and stdout (default 256M of\n"
	"                           memory, 1 vCPU); each --disk a raw image it sees as\n"
	"                           xvda, xvdb, ... (up to 16; ro: read-only); each\n"
	"                           --net an interface (eth0, ...) on tap device NAME\n"
	"  help                     show this text\n"
	"  version                  show the launcher's version\n"
	"\n"
	"options:\n"
	"  --device PATH   the lguest device (default /dev/lguest)\n"
	"\n"
	"run exits with:\n"
	"  N     the guest powered off with status N (a Xen guest gives 0)\n"
	"  1     the guest was killed, or the launcher failed (a line on stderr says which)\n"
	"  2     a mistake on the command line\n"
	"  65    the guest asked for a restart\n"
	"  66    the guest crashed\n"
	"  67    the guest's watchdog fired\n"
	"  130   the user ended the run with Ctrl-A x\n"
	"\n"
	"A Xen PV guest's console reads the launcher's stdin; on a terminal, every\n"
	"key goes to the guest (raw mode) until Ctrl-A x; Ctrl-A Ctrl-A types Ctrl-A.\n"
	"SIGTERM asks a Xen PV guest to power off; a second SIGTERM ends it at once.\n"
	"SIGUSR1 prints every vCPU's registers and counters on stderr; the guest runs on.\n";

/*
 * Xen's shutdown reasons are a superset of lguest's own.  A reason not
 * here (Xen's suspend, soft reset) ends the run as an error: nothing in
 * the launcher can resume the guest.
 */
int lg_shutdown_status(uint64_t how, uint64_t status, const char **what)
{
	static const struct {
		const char *what;
		int status;		/* -1: the guest's own */
	} ends[] = {
		[LGUEST_SHUTDOWN_POWEROFF] = { "powered off", -1 },
		[LGUEST_SHUTDOWN_RESTART] = { "asked for a restart", LG_EXIT_RESTART },
		[LGUEST_SHUTDOWN_CRASH] = { "crashed", LG_EXIT_CRASH },
		[LGUEST_SHUTDOWN_WATCHDOG] = { "was stopped by its watchdog", LG_EXIT_WATCHDOG },
	};

	if (how >= sizeof(ends) / sizeof(ends[0]) || !ends[how].what) {
		*what = NULL;
		return LG_EXIT_ERROR;
	}
	*what = ends[how].what;
	/* An exit status has 8 bits. */
	return ends[how].status < 0 ? (int)(status & 0xff) : ends[how].status;
}

static const struct {
	const char *name;
	enum lg_command cmd;
} commands[] = {
	{ "info", LG_CMD_INFO },
	{ "help", LG_CMD_HELP },
	{ "version", LG_CMD_VERSION },
	{ "run", LG_CMD_RUN },
};

/* A plain decimal number. 0 or -1. */
int lg_parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || *p)
		return -1;
	*out = v;
	return 0;
}

int lg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!*p)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -1;
	switch (*p) {
	case 'k': case 'K': mult = 1ULL << 10; p++; break;
	case 'm': case 'M': mult = 1ULL << 20; p++; break;
	case 'g': case 'G': mult = 1ULL << 30; p++; break;
	}
	if (*p || !v || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/*
 * Is @a the option @name ("--mem"), spelt "--mem VALUE" or "--mem=VALUE"?
 * Then *@val is its value, or NULL when the command line ends first.
 */
static int option(const char *a, const char *name, int argc, char *const argv[],
		  int *i, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(a, name, n) || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=')
		*val = a + n + 1;
	else
		*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

/*
 * The command line a Xen PV kernel gets: noreplace-smp, then --append, if
 * there is room for both.  At boot Linux sees one CPU present (a PV
 * guest's others only become present later), so it patches its 9,216
 * lock prefixes out (Debian's 6.1), and with several vCPUs back in as the
 * second comes up: each a text_poke(), with two address-space switches,
 * which cost a Xen guest of lguest a refill of its shadow (docs/limits.md
 * M:043).  Under TCG the way back alone took over 20 seconds, with
 * interrupts barely on (the guest's soft-lockup watchdog fired), and a
 * 4-vCPU boot to /init about 70 where it now takes 22.  With
 * noreplace-smp the kernel keeps the SMP code it starts with; one vCPU
 * loses next to nothing by it.  It goes first, as kvmtool's defaults do:
 * the user's --append can still say otherwise.
 */
static void kernel_cmdline(struct lg_options *opts)
{
	_Static_assert(sizeof(opts->cmdline) == MAX_GUEST_CMDLINE, "start_info's cmd_line");
	const char *append = opts->append ?: "";
	const char *smp = "noreplace-smp";

	if (strlen(smp) + 1 + strlen(append) < sizeof(opts->cmdline))
		snprintf(opts->cmdline, sizeof(opts->cmdline), "%s%s%s", smp,
			 *append ? " " : "", append);
	else
		snprintf(opts->cmdline, sizeof(opts->cmdline), "%s", append);
}

/* What `run` was given must make one guest: an ELF, or a Xen PV kernel. */
static int check_run(struct lg_options *opts, int mem_given, char *err,
		     size_t errlen)
{
	if (opts->kernel && opts->guest) {
		snprintf(err, errlen, "run takes a GUEST.elf or --kernel VMLINUZ, not both (got '%s' and --kernel '%s')",
			 opts->guest, opts->kernel);
		return -1;
	}
	if (!opts->kernel && (opts->initrd || opts->append || opts->nr_disks || opts->nr_nets)) {
		snprintf(err, errlen, "%s goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network",
			 opts->initrd ? "--initrd" : opts->append ? "--append" :
			 opts->nr_disks ? "--disk" : "--net");
		return -1;
	}
	if (!opts->kernel && !opts->guest) {
		snprintf(err, errlen, "run: which guest? (lguest run GUEST.elf, or lguest run --kernel VMLINUZ)");
		return -1;
	}
	if (!opts->kernel)
		return 0;
	/* The page above a Xen guest's RAM is its shared_info. */
	if (!mem_given)
		opts->mem_size = LG_DEFAULT_KERNEL_MEM;
	if (opts->mem_size > LGUEST_MAX_MEM - 4096 * XEN_EXTRA_PAGES) {
		snprintf(err, errlen, "--mem with --kernel is at most 4G less %d pages: above the guest's RAM lie its shared_info and grant table",
			 XEN_EXTRA_PAGES);
		return -1;
	}
	kernel_cmdline(opts);
	return 0;
}

int lg_parse_options(int argc, char *const argv[], struct lg_options *opts,
		     char *err, size_t errlen)
{
	int i, mem_given = 0;
	const char *v;
	size_t c;

	memset(opts, 0, sizeof(*opts));
	opts->cmd = LG_CMD_NONE;
	opts->device = "/dev/lguest";
	opts->mem_size = LG_DEFAULT_MEM;
	opts->nr_cpus = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (option(a, "--device", argc, argv, &i, &v)) {
			if (!v || !*v) {
				snprintf(err, errlen, "--device needs a path");
				return -1;
			}
			opts->device = v;
		} else if (option(a, "--mem", argc, argv, &i, &v)) {
			if (!v || lg_parse_size(v, &opts->mem_size) ||
			    opts->mem_size & 4095 || opts->mem_size > LGUEST_MAX_MEM) {
				snprintf(err, errlen,
					 "--mem wants a size in whole pages up to 4G, like 64M (got '%s')",
					 v ?: "");
				return -1;
			}
			mem_given = 1;
		} else if (option(a, "--cpus", argc, argv, &i, &v)) {
			uint64_t n;

			if (!v || lg_parse_number(v, &n) || !n || n > LGUEST_MAX_VCPUS) {
				snprintf(err, errlen, "--cpus wants a number of vCPUs from 1 to %d (got '%s')",
					 LGUEST_MAX_VCPUS, v ?: "");
				return -1;
			}
			opts->nr_cpus = (unsigned int)n;
		} else if (option(a, "--kernel", argc, argv, &i, &v)) {
			if (!v || !*v) {
				snprintf(err, errlen, "--kernel needs the path of a Xen PV kernel (a vmlinuz)");
				return -1;
			}
			opts->kernel = v;
		} else if (option(a, "--disk", argc, argv, &i, &v)) {
			size_t n = v ? strlen(v) : 0;
			int ro = n >= 3 && !strcmp(v + n - 3, ",ro");

			if (!v || !*v || (ro && n == 3)) {
				snprintf(err, errlen, "--disk needs the path of a raw disk image (IMAGE or IMAGE,ro)");
				return -1;
			}
			if (opts->nr_disks == LG_MAX_DISKS) {
				snprintf(err, errlen, "at most %d --disk (xvda to xvdp)", LG_MAX_DISKS);
				return -1;
			}
			if (ro) {
				char *p = strndup(v, n - 3);

				if (!p) {
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				v = p;
			}
			opts->disks[opts->nr_disks].path = v;
			opts->disks[opts->nr_disks++].ro = ro;
		} else if (option(a, "--net", argc, argv, &i, &v)) {
			if (!v || strncmp(v, "tap=", 4) || !v[4]) {
				snprintf(err, errlen, "--net takes tap=NAME (got '%s')", v ? v : "");
				return -1;
			}
			if (opts->nr_nets == LG_MAX_NETS) {
				snprintf(err, errlen, "at most %d --net", LG_MAX_NETS);
				return -1;
			}
			opts->nets[opts->nr_nets++] = v;
		} else if (option(a, "--initrd", argc, argv, &i, &v)) {
			if (!v || !*v) {
				snprintf(err, errlen, "--initrd needs the path of an initrd");
				return -1;
			}
			opts->initrd = v;
		} else if (option(a, "--append", argc, argv, &i, &v)) {
			if (!v) {
				snprintf(err, errlen, "--append needs the kernel's command line");
				return -1;
			}
			/* start_info's cmd_line, NUL included. */
			if (strlen(v) >= MAX_GUEST_CMDLINE) {
				snprintf(err, errlen, "--append is %zu bytes long; a Xen PV kernel's command line holds at most %d",
					 strlen(v), MAX_GUEST_CMDLINE - 1);
				return -1;
			}
			opts->append = v;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			opts->cmd = LG_CMD_HELP;
		} else if (!strcmp(a, "--version")) {
			opts->cmd = LG_CMD_VERSION;
		} else if (a[0] == '-') {
			snprintf(err, errlen, "unknown option '%s'", a);
			return -1;
		} else if (opts->cmd == LG_CMD_RUN && !opts->guest) {
			opts->guest = a;
		} else if (opts->cmd != LG_CMD_NONE) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		} else {
			for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
				if (!strcmp(a, commands[c].name))
					opts->cmd = commands[c].cmd;
			if (opts->cmd == LG_CMD_NONE) {
				snprintf(err, errlen, "unknown command '%s'", a);
				return -1;
			}
		}
	}
	if (opts->cmd == LG_CMD_NONE) {
		snprintf(err, errlen, "no command given (try 'lguest help')");
		return -1;
	}
	if (opts->cmd == LG_CMD_RUN)
		return check_run(opts, mem_given, err, errlen);
	return 0;
}
