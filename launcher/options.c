// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line parsing, kept apart from everything that touches the device so
 * the host-side unit tests can exercise it without a kernel.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "launcher.h"

const char lg_usage[] =
	"usage: lguest [--device PATH] COMMAND\n"
	"\n"
	"commands:\n"
	"  info                     show the lguest module's version and what it found on this host\n"
	"  run [--mem SIZE] [--cpus N] GUEST\n"
	"                           run a guest ELF (default 64M of memory, 1 vCPU, up\n"
	"                           to 64), a thread per vCPU; exits with the guest's\n"
	"                           shutdown status\n"
	"  help                     show this text\n"
	"  version                  show the launcher's version\n"
	"\n"
	"options:\n"
	"  --device PATH   the lguest device (default /dev/lguest)\n";

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

int lg_parse_options(int argc, char *const argv[], struct lg_options *opts,
		     char *err, size_t errlen)
{
	int i;
	size_t c;

	opts->cmd = LG_CMD_NONE;
	opts->device = "/dev/lguest";
	opts->mem_size = 64ULL << 20;
	opts->nr_cpus = 1;
	opts->guest = NULL;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--device")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				snprintf(err, errlen, "--device needs a path");
				return -1;
			}
			opts->device = argv[++i];
		} else if (!strncmp(a, "--device=", 9) && a[9]) {
			opts->device = a + 9;
		} else if (!strcmp(a, "--mem") || !strncmp(a, "--mem=", 6)) {
			const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : "");

			if (lg_parse_size(v, &opts->mem_size) ||
			    opts->mem_size & 4095 || opts->mem_size > LGUEST_MAX_MEM) {
				snprintf(err, errlen,
					 "--mem wants a size in whole pages up to 4G, like 64M (got '%s')", v);
				return -1;
			}
		} else if (!strcmp(a, "--cpus") || !strncmp(a, "--cpus=", 7)) {
			const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : "");
			uint64_t n;

			if (lg_parse_number(v, &n) || !n || n > LGUEST_MAX_VCPUS) {
				snprintf(err, errlen, "--cpus wants a number of vCPUs from 1 to %d (got '%s')",
					 LGUEST_MAX_VCPUS, v);
				return -1;
			}
			opts->nr_cpus = (unsigned int)n;
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
	if (opts->cmd == LG_CMD_RUN && !opts->guest) {
		snprintf(err, errlen, "run: which guest? (lguest run GUEST.elf)");
		return -1;
	}
	return 0;
}
