// SPDX-License-Identifier: GPL-2.0
/* Naming the host capabilities the module reports (LGUEST_HOST_*). */
#include <stdio.h>
#include <string.h>
#include <linux/lguest.h>
#include "launcher.h"

static const struct {
	uint64_t bit;
	const char *name;
} cap_names[] = {
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

void lg_format_caps(uint64_t caps, char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(caps & cap_names[i].bit))
			continue;
		caps &= ~cap_names[i].bit;
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
			     cap_names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += n;
	}
	if (caps)
		snprintf(buf + used, len - used, "%sunknown:%#llx", used ? " " : "",
			 (unsigned long long)caps);
	else if (!used)
		snprintf(buf, len, "none");
}

uint64_t lg_cap_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (!strcmp(name, cap_names[i].name))
			return cap_names[i].bit;
	return 0;
}
