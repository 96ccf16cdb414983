// SPDX-License-Identifier: GPL-2.0
/*
 * Devices: what a guest's LHCALL_NOTIFY reaches in the launcher.  The
 * notify's first argument names the device; the device table is shared by
 * every vCPU thread, looked up on each notify, and may be changed while
 * they run (a device added at run time).  So it is published with
 * userspace RCU (liburcu, the memb flavour): readers take no lock and never
 * wait; a writer copies the table, publishes the copy and frees the old one
 * once every reader that might still see it has finished.
 *
 * vCPU threads must be registered with RCU (rcu_register_thread()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>
#include "launcher.h"

struct lg_device_table {
	unsigned int nr;
	struct lg_device dev[];
};

static struct lg_device_table *devices;
static pthread_mutex_t devices_lock = PTHREAD_MUTEX_INITIALIZER;

int lg_device_add(const struct lg_device *dev)
{
	struct lg_device_table *old, *new;
	unsigned int n;

	pthread_mutex_lock(&devices_lock);
	old = devices;
	n = old ? old->nr : 0;
	new = malloc(sizeof(*new) + (n + 1) * sizeof(new->dev[0]));
	if (!new) {
		pthread_mutex_unlock(&devices_lock);
		return -ENOMEM;
	}
	if (old)
		memcpy(new->dev, old->dev, n * sizeof(new->dev[0]));
	new->dev[n] = *dev;
	new->nr = n + 1;
	rcu_assign_pointer(devices, new);
	pthread_mutex_unlock(&devices_lock);
	urcu_memb_synchronize_rcu();
	free(old);
	return 0;
}

void lg_devices_free(void)
{
	struct lg_device_table *old;

	pthread_mutex_lock(&devices_lock);
	old = devices;
	rcu_assign_pointer(devices, NULL);
	pthread_mutex_unlock(&devices_lock);
	urcu_memb_synchronize_rcu();
	free(old);
}

int lg_device_notify(struct lg_vm *vm, unsigned int vcpu,
		     const struct lguest_exit *exit, char *err, size_t errlen)
{
	struct lg_device_table *t;
	int r = 0;
	unsigned int i;

	urcu_memb_read_lock();
	t = rcu_dereference(devices);
	for (i = 0; t && i < t->nr; i++) {
		if (t->dev[i].type == exit->args[0]) {
			r = t->dev[i].notify(vm, vcpu, exit, err, errlen) ? -1 : 1;
			break;
		}
	}
	urcu_memb_read_unlock();
	return r;
}

/* The console: args[1] is the guest-physical address of text, args[2] its length. */
static int console_notify(struct lg_vm *vm, unsigned int vcpu,
			  const struct lguest_exit *exit, char *err, size_t errlen)
{
	(void)vcpu;
	if (lg_vm_console(vm, exit, stdout) < 0) {
		snprintf(err, errlen, "console text at gpa %#llx (%llu bytes) lies outside guest memory",
			 (unsigned long long)exit->args[1], (unsigned long long)exit->args[2]);
		return -1;
	}
	return 0;
}

const struct lg_device lg_console_device = {
	.type = LGUEST_NOTIFY_CONSOLE,
	.name = "console",
	.notify = console_notify,
};
