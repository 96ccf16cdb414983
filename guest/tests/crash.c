// SPDX-License-Identifier: GPL-2.0
/* Test guest: an instruction with no handler kills the guest, with a reason. */
#include "lguest_guest.h"

long guest_main(void);
long guest_main(void)
{
	asm volatile("ud2");
	return 0;
}
