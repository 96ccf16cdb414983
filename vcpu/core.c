// SPDX-License-Identifier: GPL-2.0
/*
 * lguest: a hypervisor for x86_64 Linux that needs no hardware
 * virtualisation.  The guest kernel runs deprivileged, at CPL3, on the real
 * CPU; a small "switcher" mapped at the same address in host and guest
 * carries the CPU between the two worlds.
 *
 * Read the module in this order: this file (loading lg.ko, creating and
 * destroying a guest), vcpu/lguest_user.c (/dev/lguest, the launcher's only
 * door), vcpu/run.c (the run loop and virtual interrupts), switcher/switcher.h
 * (where the switcher lives: the hypervisor hole), switcher/hole.c,
 * switcher/switcher.c and switcher/switcher_64.S (the world switch),
 * sched/hoststate.c (host state around the guest), vcpu/traps.c (what a trap
 * means), vcpu/gdt.c (the guest's own segments), vcpu/hypercalls.c (what the
 * guest may ask), then the guest's memory:
 * pgtable/private.c (the host's slot in every guest root), pgtable/walk.c
 * (reading the guest's page tables), pgtable/shadow.c (the shadow tables),
 * pgtable/pgdir.c (address spaces), pgtable/tables.c (allocating and freeing
 * safely) and sched/kick.c (getting vCPUs out of the guest).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "lg.h"

/* Host-wide counts, so tests can see that nothing is left behind. */
atomic_long_t lguest_pinned_pages = ATOMIC_LONG_INIT(0);
atomic_long_t lguest_table_pages = ATOMIC_LONG_INIT(0);

/*
 * kill_guest(): the guest did something no real CPU would survive, or asked
 * for something we will not do.  The first reason is kept and every vCPU's
 * next run returns it to the launcher; the host carries on.
 */
static __printf(2, 0) void kill_guest_va(struct lguest *lg, const char *fmt,
					  va_list ap)
{
	spin_lock(&lg->dead_lock);
	if (!lg->dead) {
		vscnprintf(lg->dead_msg, sizeof(lg->dead_msg), fmt, ap);
		lg->dead_reason = LGUEST_EXIT_KILLED;
		WRITE_ONCE(lg->dead, true);
	}
	spin_unlock(&lg->dead_lock);
	lguest_wake_all(lg);
}

void kill_guest(struct lg_cpu *cpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kill_guest_va(cpu->lg, fmt, ap);
	va_end(ap);
}

/* The same, where no vCPU is at hand (the launcher's requests). */
void kill_guest_lg(struct lguest *lg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kill_guest_va(lg, fmt, ap);
	va_end(ap);
}

static struct lg_cpu *lguest_alloc_vcpu(struct lguest *lg, unsigned int id)
{
	struct lg_cpu *cpu = kzalloc(sizeof(*cpu), GFP_KERNEL_ACCOUNT);

	if (!cpu)
		return NULL;
	cpu->lg = lg;
	cpu->id = id;
	cpu->guest_on = -1;
	cpu->last_pcpu = -1;
	cpu->mode = LG_MODE_KERNEL;
	mutex_init(&cpu->run_lock);
	INIT_LIST_HEAD(&cpu->private_tables);
	if (!fpu_alloc_guest_fpstate(&cpu->fpu)) {
		kfree(cpu);
		return NULL;
	}
	lguest_vcpu_init_timer(cpu);
	lguest_vcpu_hoststate_init(cpu);
	cpu->changed = CHANGED_ALL;
	return cpu;
}

static void lguest_free_vcpu(struct lg_cpu *cpu)
{
	hrtimer_cancel(&cpu->timer);
	lguest_switcher_forget(cpu);
	lguest_release_data_page(cpu);
	lguest_vcpu_private_free(cpu);
	fpu_free_guest_fpstate(&cpu->fpu);
	if (cpu->tsk)
		put_task_struct(cpu->tsk);
	mutex_destroy(&cpu->run_lock);
	kfree(cpu);
}

/*
 * LHREQ_INITIALIZE: remember where guest memory is (nothing is pinned until
 * a shadow entry maps it), start watching the launcher's mapping of it, and
 * create the vCPUs, each in kernel mode with paging off.
 */
int lguest_initialize(struct lguest *lg, const struct lguest_req_init *req)
{
	struct lg_cpu *cpu;
	unsigned int i;
	int err;

	if (lg->nr_cpus)
		return -EBUSY;
	if (!req->nr_vcpus || req->nr_vcpus > LGUEST_MAX_VCPUS ||
	    !req->size || req->size > LGUEST_MAX_MEM ||
	    !PAGE_ALIGNED(req->base) || !PAGE_ALIGNED(req->size) ||
	    req->base + req->size < req->base ||
	    req->base + req->size > TASK_SIZE_MAX)
		return -EINVAL;
	/* The personality checks its own start (@entry, @xen). */
	switch (req->flags) {
	case 0:
		if (req->entry >= req->size ||
		    memchr_inv(&req->xen, 0, sizeof(req->xen)))
			return -EINVAL;
		lg->ops = &lguest_native;
		break;
	case LGUEST_INIT_XEN_PV:
		lg->ops = &lguest_xen_pv;
		break;
	default:
		return -EINVAL;
	}

	lg->mem_base = req->base;
	lg->mem_size = req->size;
	err = lguest_shadow_init(lg);
	if (!err)
		err = lguest_pins_init(lg);
	if (err)
		goto fail;
	/* The switcher's pages, where the switch needs them in the host. */
	err = lguest_hole_get(lg->mm);
	if (err)
		goto fail;
	lg->hole_mapped = true;
	/* Sized now: vCPUs fill them as they are created. */
	lg->nr_cpus = req->nr_vcpus;
	err = lguest_pgdirs_init(lg);
	if (err)
		goto fail;

	for (i = 0; i < req->nr_vcpus; i++) {
		cpu = lguest_alloc_vcpu(lg, i);
		if (!cpu) {
			err = -ENOMEM;
			goto fail;
		}
		WRITE_ONCE(lg->cpus[i], cpu);
		err = lguest_vcpu_private_init(cpu);
		if (!err)
			err = lguest_vcpu_pgdir_init(cpu);
		if (err)
			goto fail;
		cpu->regs.rflags = lguest_sanitize_rflags(0);
		cpu->regs.cs = __USER_CS;
		cpu->regs.ss = __USER_DS;
		lguest_gdt_init(cpu);
	}
	lg->cpus[0]->regs.rip = req->entry;
	lg->cpus[0]->regs.rsp = req->size;
	if (lg->ops->init) {
		err = lg->ops->init(lg, req);
		if (err)
			goto fail;
	}
	lg->cpus[0]->vstate = LG_VCPU_RUNNING;
	/* Run requests look vCPUs up without lg->lock: only now may they. */
	smp_store_release(&lg->ready, true);
	return 0;

fail:
	lguest_free(lg);
	return err;
}

/* Undo lguest_initialize(), fully or partly: the guest becomes empty. */
void lguest_free(struct lguest *lg)
{
	unsigned int i;

	/* The personality's state goes first: its pins hang off the vCPUs. */
	if (lg->ops && lg->ops->free)
		lg->ops->free(lg);
	if (lg->hole_mapped)
		lguest_hole_put(lg->mm);
	lg->hole_mapped = false;
	/* No more notifier callbacks once this returns. */
	lguest_shadow_free(lg);
	for (i = 0; i < lg->nr_cpus; i++)
		if (lg->cpus[i])
			lguest_vcpu_pgdir_free(lg->cpus[i]);
	lguest_pgdirs_free(lg);
	lguest_untrack_tables(lg);
	lguest_pins_free(lg);
	for (i = 0; i < lg->nr_cpus; i++) {
		if (lg->cpus[i])
			lguest_free_vcpu(lg->cpus[i]);
		lg->cpus[i] = NULL;
	}
	lg->nr_cpus = 0;
	lg->ops = NULL;
	WARN_ON(atomic_long_read(&lg->nr_pins) || atomic_long_read(&lg->nr_tables));
}

static int __init lguest_init(void)
{
	int err;

	err = lguest_switcher_init();
	if (err)
		return err;
	lguest_pgtable_init();
	lguest_host_state_init();
	err = lguest_device_init();
	if (err) {
		lguest_host_state_exit();
		lguest_switcher_exit();
		return err;
	}

	pr_info("lguest %s loaded (ABI %d)\n", LG_VERSION, LGUEST_ABI_VERSION);
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
	lg_xen_m2p_free();
	lguest_host_state_exit();
	lguest_switcher_exit();
}

module_init(lguest_init);
module_exit(lguest_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lguest developers");
MODULE_DESCRIPTION("lguest: a hypervisor for x86_64 that needs no VT-x or SVM");
MODULE_VERSION(LG_VERSION);
