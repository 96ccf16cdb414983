// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/lguest: the launcher's door into the module.
 *
 * Opening the device creates a guest; closing the last reference to the file
 * destroys it, so a launcher that dies (even by SIGKILL) can never leave a
 * guest behind.  Requests are plain write()s, each carrying exactly one
 * request: a __u64 number and that request's argument structure
 * (include/uapi/linux/lguest.h).  We insist on the exact length because a
 * length we do not expect means a launcher built against another ABI, and
 * guessing what it meant is how hypervisors grow security holes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pgtable.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/tlbflush.h>
#include "lg.h"

/*
 * Guest ids come from an IDA so that they stay small and unique among live
 * guests.  struct lguest gets a cache of its own: if a guest ever leaked,
 * kmem_cache_destroy() at unload would complain loudly, and the test VM turns
 * any such complaint into a failed run.
 */
static DEFINE_IDA(lguest_ids);
static struct kmem_cache *lguest_cache;
static atomic_t nr_guests = ATOMIC_INIT(0);
static atomic64_t guest_uids = ATOMIC64_INIT(0);

static u64 host_caps(void)
{
	unsigned long cr4 = cr4_read_shadow();
	u64 caps = 0;

	if (pgtable_l5_enabled())
		caps |= LGUEST_HOST_LA57;
	if (boot_cpu_has(X86_FEATURE_PTI))
		caps |= LGUEST_HOST_PTI;
	if (cr4 & X86_CR4_SMEP)
		caps |= LGUEST_HOST_SMEP;
	if (cr4 & X86_CR4_SMAP)
		caps |= LGUEST_HOST_SMAP;
	if (cr4 & X86_CR4_PCIDE)
		caps |= LGUEST_HOST_PCID;
	if (cr4 & X86_CR4_FSGSBASE)
		caps |= LGUEST_HOST_FSGSBASE;
	if (cr4 & X86_CR4_OSXSAVE)
		caps |= LGUEST_HOST_XSAVE;
	if (cr4 & X86_CR4_PKE)
		caps |= LGUEST_HOST_PKU;
	if (cr4 & X86_CR4_UMIP)
		caps |= LGUEST_HOST_UMIP;
	return caps;
}

/* LHREQ_INFO: what this module is, and what it found on this host. */
static int lguest_req_info(struct lguest *lg, const void __user *args)
{
	struct lguest_req_info req;
	struct lguest_info info;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	if (req.size != sizeof(info))
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.abi_version = LGUEST_ABI_VERSION;
	info.max_vcpus = LGUEST_MAX_VCPUS;
	info.host_caps = host_caps();
	info.host_cpus = num_online_cpus();
	info.guest_id = lg->id;
	info.nr_guests = atomic_read(&nr_guests);
	info.hole_mapped = lguest_hole_mapped(current->mm);
	strscpy(info.version, LG_VERSION, sizeof(info.version));
	info.pinned_pages = atomic_long_read(&lguest_pinned_pages);
	info.table_pages = atomic_long_read(&lguest_table_pages);
	info.guest_pinned = atomic_long_read(&lg->nr_pins);
	info.guest_tables = atomic_long_read(&lg->nr_tables);
	info.nr_pgdirs = lg->nr_pgdirs;
	info.mitigations = lguest_mitigations();

	if (copy_to_user(u64_to_user_ptr(req.addr), &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int lguest_req_initialize(struct lguest *lg, const void __user *args)
{
	struct lguest_req_init req;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	return lguest_initialize(lg, &req);
}

/* The vCPU a request names, or NULL. */
static struct lg_cpu *lguest_vcpu(struct lguest *lg, u64 id)
{
	unsigned int n;

	/*
	 * Until LHREQ_INITIALIZE has succeeded, vCPUs may still be freed
	 * (a failed initialisation undoes itself): none is visible.
	 * Acquire: everything it set up before its release.
	 */
	if (!smp_load_acquire(&lg->ready))
		return NULL;
	n = lg->nr_cpus;
	if (id >= n)
		return NULL;
	return lg->cpus[array_index_nospec(id, n)];
}

/*
 * LHREQ_IRQ: the launcher raises a virtual interrupt (a device, say): a
 * vector for a native guest, one of the launcher's event channels for a
 * Xen guest.
 */
static int lguest_req_irq(struct lguest *lg, const void __user *args)
{
	struct lguest_req_irq req;
	struct lg_cpu *cpu;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	cpu = lguest_vcpu(lg, req.vcpu);
	if (!cpu)
		return -EINVAL;
	return lg->ops->irq(cpu, req.vector);
}

/* LHREQ_EVTCHN: the launcher's end of a channel (Xen PV guests). */
static int lguest_req_evtchn(struct lguest *lg, const void __user *args)
{
	struct lguest_req_evtchn req;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	if (!lguest_vcpu(lg, 0) || !lg->ops->evtchn)
		return -EINVAL;
	return lg->ops->evtchn(lg, req.op, req.port);
}

/*
 * LHREQ_GETREGS / LHREQ_SETREGS: only while the vCPU is not running (the
 * run lock is free), so the registers are not in flight.
 */
static int lguest_req_regs(struct lguest *lg, const void __user *args, bool set)
{
	struct lguest_req_regs req;
	struct lguest_regs r;
	struct lg_cpu *cpu;
	int err = 0;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	cpu = lguest_vcpu(lg, req.vcpu);
	if (!cpu || req.size != sizeof(r))
		return -EINVAL;
	if (set && copy_from_user(&r, u64_to_user_ptr(req.addr), sizeof(r)))
		return -EFAULT;
	if (!mutex_trylock(&cpu->run_lock))
		return -EBUSY;
	if (set) {
		if (!lguest_canonical(r.rip) || !lguest_canonical(r.rsp) ||
		    !lguest_canonical(r.fs_base) || !lguest_canonical(r.gs_base)) {
			err = -EINVAL;
			goto out;
		}
		cpu->regs.rax = r.rax;
		cpu->regs.rbx = r.rbx;
		cpu->regs.rcx = r.rcx;
		cpu->regs.rdx = r.rdx;
		cpu->regs.rsi = r.rsi;
		cpu->regs.rdi = r.rdi;
		cpu->regs.rbp = r.rbp;
		cpu->regs.rsp = r.rsp;
		cpu->regs.r8 = r.r8;
		cpu->regs.r9 = r.r9;
		cpu->regs.r10 = r.r10;
		cpu->regs.r11 = r.r11;
		cpu->regs.r12 = r.r12;
		cpu->regs.r13 = r.r13;
		cpu->regs.r14 = r.r14;
		cpu->regs.r15 = r.r15;
		cpu->regs.rip = r.rip;
		cpu->regs.rflags = lguest_sanitize_rflags(r.rflags);
		cpu->fsbase = r.fs_base;
		cpu->gsbase = r.gs_base;
		cpu->changed |= CHANGED_SEGBASE;
	} else {
		memset(&r, 0, sizeof(r));
		r.rax = cpu->regs.rax;
		r.rbx = cpu->regs.rbx;
		r.rcx = cpu->regs.rcx;
		r.rdx = cpu->regs.rdx;
		r.rsi = cpu->regs.rsi;
		r.rdi = cpu->regs.rdi;
		r.rbp = cpu->regs.rbp;
		r.rsp = cpu->regs.rsp;
		r.r8 = cpu->regs.r8;
		r.r9 = cpu->regs.r9;
		r.r10 = cpu->regs.r10;
		r.r11 = cpu->regs.r11;
		r.r12 = cpu->regs.r12;
		r.r13 = cpu->regs.r13;
		r.r14 = cpu->regs.r14;
		r.r15 = cpu->regs.r15;
		r.rip = cpu->regs.rip;
		r.rflags = cpu->regs.rflags;
		r.cs = cpu->mode == LG_MODE_USER ? LGUEST_USER_CS : LGUEST_KERNEL_CS;
		r.ss = cpu->mode == LG_MODE_USER ? LGUEST_USER_SS : LGUEST_KERNEL_SS;
		r.fs_base = cpu->fsbase;
		r.gs_base = cpu->gsbase;
	}
out:
	mutex_unlock(&cpu->run_lock);
	if (!err && !set && copy_to_user(u64_to_user_ptr(req.addr), &r, sizeof(r)))
		err = -EFAULT;
	return err;
}

static int lguest_req_stats(struct lguest *lg, const void __user *args)
{
	struct lguest_vcpu_stats stats;
	struct lguest_req_stats req;
	struct lg_cpu *cpu;

	if (copy_from_user(&req, args, sizeof(req)))
		return -EFAULT;
	cpu = lguest_vcpu(lg, req.vcpu);
	if (!cpu || req.size != sizeof(stats))
		return -EINVAL;
	/* Counters are written by the vCPU thread; a racy read is fine. */
	memcpy(&stats, &cpu->stats, sizeof(stats));
	if (copy_to_user(u64_to_user_ptr(req.addr), &stats, sizeof(stats)))
		return -EFAULT;
	return 0;
}

/* The size of each request's argument structure, indexed by request number. */
static const size_t lguest_req_size[] = {
	[LHREQ_INFO] = sizeof(struct lguest_req_info),
	[LHREQ_INITIALIZE] = sizeof(struct lguest_req_init),
	[LHREQ_IRQ] = sizeof(struct lguest_req_irq),
	[LHREQ_GETREGS] = sizeof(struct lguest_req_regs),
	[LHREQ_SETREGS] = sizeof(struct lguest_req_regs),
	[LHREQ_VCPU_STATS] = sizeof(struct lguest_req_stats),
	[LHREQ_EVTCHN] = sizeof(struct lguest_req_evtchn),
};

/*
 * Requests come from ordinary user threads only.  An io_uring worker
 * (PF_IO_WORKER) shares the launcher's memory and passes every other check,
 * but the kernel never saves its FPU registers when it switches away from
 * it: a vCPU run there would load the guest's registers over whatever the
 * CPU held (another process's) and leave the guest's behind for the next
 * task.  Kernel threads, even ones that borrowed the launcher's mm, are
 * refused for the same reason.  Writes are refused too, so that nothing
 * about a guest ever happens in a context the launcher did not run.
 */
#ifdef PF_USER_WORKER
/* 6.4 on: io_uring and vhost workers, the flag the FPU code itself tests. */
#define LG_NOT_USER	(PF_KTHREAD | PF_IO_WORKER | PF_USER_WORKER)
#else
#define LG_NOT_USER	(PF_KTHREAD | PF_IO_WORKER)
#endif

static bool lguest_caller_ok(void)
{
	return !(current->flags & LG_NOT_USER);
}

/*
 * Running a vCPU: pread() with the vCPU number as the offset, as the
 * original lguest did.  Only the thread that first ran a vCPU may run it:
 * its timer wakes and kicks that thread, and its FPU state is that
 * thread's.  And only a thread of the process that created the guest: guest
 * memory is that process's memory, which is where shadow faults pin pages.
 *
 * An exit that cannot be written to the caller's buffer is not lost: it
 * stays pending, and the next run returns it before the guest runs again.
 */
static ssize_t lguest_read(struct file *file, char __user *user, size_t size,
			   loff_t *off)
{
	struct lguest *lg = file->private_data;
	struct lguest_exit exit;
	struct lg_cpu *cpu;
	int err;

	if (!lguest_caller_ok())
		return -EOPNOTSUPP;
	if (size != sizeof(exit))
		return -EINVAL;
	cpu = lguest_vcpu(lg, *off < 0 ? U64_MAX : (u64)*off);
	if (!cpu)
		return -EINVAL;
	if (current->mm != lg->mm)
		return -EPERM;

	mutex_lock(&lg->lock);
	if (!cpu->tsk) {
		get_task_struct(current);
		WRITE_ONCE(cpu->tsk, current);
	}
	mutex_unlock(&lg->lock);
	if (cpu->tsk != current)
		return -EPERM;

	if (mutex_lock_interruptible(&cpu->run_lock))
		return -EINTR;
	err = lguest_run(cpu, &exit);
	if (!err && copy_to_user(user, &exit, sizeof(exit))) {
		cpu->exit = exit;
		cpu->exit_pending = true;
		err = -EFAULT;
	}
	mutex_unlock(&cpu->run_lock);
	return err ? err : sizeof(exit);
}

static ssize_t lguest_write(struct file *file, const char __user *in,
			    size_t size, loff_t *off)
{
	struct lguest *lg = file->private_data;
	u64 req;
	int err;

	if (!lguest_caller_ok())
		return -EOPNOTSUPP;
	if (size < sizeof(req))
		return -EINVAL;
	if (get_user(req, (const u64 __user *)in))
		return -EFAULT;
	if (req == 0 || req >= ARRAY_SIZE(lguest_req_size) ||
	    size != sizeof(req) + lguest_req_size[req])
		return -EINVAL;
	in += sizeof(req);

	mutex_lock(&lg->lock);
	switch (req) {
	case LHREQ_INFO:
		err = lguest_req_info(lg, in);
		break;
	case LHREQ_INITIALIZE:
		err = lguest_req_initialize(lg, in);
		break;
	case LHREQ_IRQ:
		err = lguest_req_irq(lg, in);
		break;
	case LHREQ_GETREGS:
	case LHREQ_SETREGS:
		err = lguest_req_regs(lg, in, req == LHREQ_SETREGS);
		break;
	case LHREQ_VCPU_STATS:
		err = lguest_req_stats(lg, in);
		break;
	case LHREQ_EVTCHN:
		err = lguest_req_evtchn(lg, in);
		break;
	default:
		err = -EINVAL;
		break;
	}
	mutex_unlock(&lg->lock);

	return err ? err : size;
}

static int lguest_open(struct inode *inode, struct file *file)
{
	struct lguest *lg;
	int id;

	lg = kmem_cache_zalloc(lguest_cache, GFP_KERNEL_ACCOUNT);
	if (!lg)
		return -ENOMEM;

	id = ida_alloc(&lguest_ids, GFP_KERNEL);
	if (id < 0) {
		kmem_cache_free(lguest_cache, lg);
		return id;
	}
	lg->id = id;
	lg->uid = atomic64_inc_return(&guest_uids);
	mutex_init(&lg->lock);
	spin_lock_init(&lg->dead_lock);
	spin_lock_init(&lg->mmu_lock);
	atomic_inc(&nr_guests);

	file->private_data = lg;
	return 0;
}

/*
 * Called when the last reference to the file goes: close(), exit, or the
 * launcher being killed.  Nothing else can be using the guest by then.
 */
static int lguest_release(struct inode *inode, struct file *file)
{
	struct lguest *lg = file->private_data;

	lguest_free(lg);
	atomic_dec(&nr_guests);
	ida_free(&lguest_ids, lg->id);
	mutex_destroy(&lg->lock);
	kmem_cache_free(lguest_cache, lg);
	return 0;
}

static const struct file_operations lguest_fops = {
	.owner		= THIS_MODULE,
	.open		= lguest_open,
	.release	= lguest_release,
	.write		= lguest_write,
	.read		= lguest_read,
	.llseek		= noop_llseek,
};

/*
 * Mode 0600: running a guest pins host memory and CPU time, so only root (or
 * whoever root hands the node to) may create guests.
 */
static struct miscdevice lguest_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "lguest",
	.fops	= &lguest_fops,
	.mode	= 0600,
};

int __init lguest_device_init(void)
{
	int err;

	lguest_cache = KMEM_CACHE(lguest, SLAB_ACCOUNT);
	if (!lguest_cache)
		return -ENOMEM;

	err = misc_register(&lguest_dev);
	if (err) {
		pr_err("cannot register /dev/lguest: %d\n", err);
		kmem_cache_destroy(lguest_cache);
	}
	return err;
}

void lguest_device_remove(void)
{
	misc_deregister(&lguest_dev);
	kmem_cache_destroy(lguest_cache);
	ida_destroy(&lguest_ids);
}
