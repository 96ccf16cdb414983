// SPDX-License-Identifier: GPL-2.0
/* Test guest: guest_main's return value becomes the launcher's exit status. */
#include "lguest_guest.h"

long guest_main(void);
long guest_main(void)
{
	guest_printf("exiting with status 3\n");
	return 3;
}
