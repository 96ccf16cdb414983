/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's internal interfaces.  The launcher is the user-space half
 * of lguest: it owns the guest's memory and devices and runs each vCPU on a
 * thread of its own; the module only switches worlds.
 */
#ifndef LAUNCHER_H
#define LAUNCHER_H

#include <stddef.h>
#include <stdint.h>

enum lg_command {
	LG_CMD_NONE,
	LG_CMD_INFO,		/* report the module and the host */
	LG_CMD_HELP,
	LG_CMD_VERSION,
};

struct lg_options {
	enum lg_command cmd;
	const char *device;	/* the lguest device node */
};

/*
 * Parse the command line into @opts.  Returns 0, or -1 with a one-line,
 * human-readable reason in @err.
 */
int lg_parse_options(int argc, char *const argv[], struct lg_options *opts,
		     char *err, size_t errlen);

/* Write the names of LGUEST_HOST_* bits in @caps, space separated. */
void lg_format_caps(uint64_t caps, char *buf, size_t len);

/* The LGUEST_HOST_* bit named @name (as lg_format_caps() writes it), or 0. */
uint64_t lg_cap_bit(const char *name);

extern const char lg_usage[];

#endif /* LAUNCHER_H */
