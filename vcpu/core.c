// SPDX-License-Identifier: GPL-2.0
/*
 * lguest: a hypervisor for x86_64 Linux that needs no hardware
 * virtualisation.  The guest kernel runs deprivileged, at CPL3, on the real
 * CPU; a small "switcher" mapped at the same address in host and guest
 * carries the CPU between the two worlds.
 *
 * Read the module in this order: first this file, which loads and unloads
 * lg.ko, then vcpu/lguest_user.c, /dev/lguest, the launcher's only door into
 * the module.
 *
 * Later parts (switcher/, pgtable/, sched/) are introduced by the files they
 * live in.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>
#include "lg.h"

static int __init lguest_init(void)
{
	int err;

	err = lguest_device_init();
	if (err)
		return err;

	pr_info("lguest %s loaded (ABI %d)\n", LG_VERSION,
		LGUEST_ABI_VERSION);
	return 0;
}

/*
 * The module cannot go away while a guest lives: every open file of
 * /dev/lguest holds a reference on the module (the misc device's fops name
 * THIS_MODULE as owner), so by the time we get here every guest is gone.
 */
static void __exit lguest_exit(void)
{
	lguest_device_remove();
}

module_init(lguest_init);
module_exit(lguest_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lguest developers");
MODULE_DESCRIPTION("lguest: a hypervisor for x86_64 that needs no VT-x or SVM");
MODULE_VERSION(LG_VERSION);
