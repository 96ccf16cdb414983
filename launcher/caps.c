// SPDX-License-Identifier: GPL-2.0
/*
 * Naming the bits the module reports: host capabilities (LGUEST_HOST_*) and
 * the switcher's mitigations (LGUEST_MIT_*).
 */
#include <stdio.h>
#include <string.h>
#include <linux/lguest.h>
#include "launcher.h"

struct bit_name {
	uint64_t bit;
	const char *name;
};

static const struct bit_name cap_names[] = {
	{ LGUEST_HOST_LA57, "la57" },
	{ LGUEST_HOST_PTI, "pti" },
	{ LGUEST_HOST_SMEP, "smep" },
	{ LGUEST_HOST_SMAP, "smap" },
	{ LGUEST_HOST_PCID, "pcid" },
	{ LGUEST_HOST_FSGSBASE, "fsgsbase" },
	{ LGUEST_HOST_XSAVE, "xsave" },
	{ LGUEST_HOST_PKU, "pku" },
	{ LGUEST_HOST_UMIP, "umip" },
};

static const struct bit_name mitigation_names[] = {
	{ LGUEST_MIT_VERW, "verw" },
	{ LGUEST_MIT_IBRS, "ibrs" },
	{ LGUEST_MIT_RSB_FILL, "rsb-fill" },
	{ LGUEST_MIT_UNTRAIN_RET, "untrain-ret" },
	{ LGUEST_MIT_ENTRY_IBPB, "entry-ibpb" },
	{ LGUEST_MIT_BHB_CLEAR, "bhb-clear" },
	{ LGUEST_MIT_IBPB_GUESTS, "ibpb-between-guests" },
	{ LGUEST_MIT_IBPB_USER, "ibpb-to-user" },
};

#define NR(a)	(sizeof(a) / sizeof((a)[0]))

/* The names of the bits set in @bits, space separated, or "none". */
static void format_bits(const struct bit_name *names, size_t nr, uint64_t bits,
			char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < nr; i++) {
		if (!(bits & names[i].bit))
			continue;
		bits &= ~names[i].bit;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
			     names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += n;
	}
	if (bits)
		snprintf(buf + used, len - used, "%sunknown:%#llx", used ? " " : "",
			 (unsigned long long)bits);
	else if (!used)
		snprintf(buf, len, "none");
}

static uint64_t bit_named(const struct bit_name *names, size_t nr,
			  const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(name, names[i].name))
			return names[i].bit;
	return 0;
}

void lg_format_caps(uint64_t caps, char *buf, size_t len)
{
	format_bits(cap_names, NR(cap_names), caps, buf, len);
}

uint64_t lg_cap_bit(const char *name)
{
	return bit_named(cap_names, NR(cap_names), name);
}

void lg_format_mitigations(uint32_t mit, char *buf, size_t len)
{
	format_bits(mitigation_names, NR(mitigation_names), mit, buf, len);
}

uint32_t lg_mitigation_bit(const char *name)
{
	return bit_named(mitigation_names, NR(mitigation_names), name);
}
