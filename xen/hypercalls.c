// SPDX-License-Identifier: GPL-2.0
/*
 * Xen's hypercalls, as lguest answers them.
 *
 * A 64-bit PV kernel makes a hypercall with a bare `syscall` in guest
 * kernel mode (Linux 6.1 no longer uses a hypercall page; a builder fills
 * one for older guests with stubs that do the same): the number in RAX,
 * arguments in RDI, RSI, RDX, R10 and R8, the result in RAX.  That is
 * exactly lguest's own hypercall entry, so only the meaning differs.
 * Pointers are guest-virtual, read through the guest's page tables
 * (lg_xen_read()); "machine" addresses are guest-physical.
 *
 * The design study's table (docs/xen-pv.md, 3.3) says which calls Linux
 * needs; what lguest does not do answers Xen's ENOSYS, which is what Linux
 * expects of a feature that is absent (xenbus gives up quietly on
 * EVTCHNOP_alloc_unbound's ENOSYS, and on nothing else).  Results are
 * Xen's errno values, which are Linux's.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <asm/debugreg.h>
#include <asm/e820/types.h>
#include <asm/processor-flags.h>
#include <asm/xen/interface.h>
#include <xen/interface/callback.h>
#include <xen/interface/memory.h>
#include <xen/interface/physdev.h>
#include <xen/interface/sched.h>
#include <xen/interface/vcpu.h>
#include <xen/interface/version.h>
#include <xen/interface/features.h>
#include "xen.h"
#include "trace.h"

/* What we call ourselves: Xen 4.17's interface, as lguest gives it. */
#define LG_XEN_MAJOR	4
#define LG_XEN_MINOR	17
#define LG_XEN_EXTRA	".0-lguest"

/* Work one hypercall does before it lets the host run (a continuation). */
#define LG_XEN_BATCH	512

static long dispatch(struct lg_cpu *cpu, u64 nr, const u64 *a);

/*
 * Make the guest execute its `syscall` again, with the arguments as we
 * left them: Xen's continuation.  The launcher gets its exit meanwhile,
 * and nothing in the host ever waits on one guest's long request.
 */
static void continuation(struct lg_cpu *cpu)
{
	cpu->regs.rip -= 2;
}

static long console_io(struct lg_cpu *cpu, u64 cmd, u64 count, u64 buf)
{
	u64 n;

	/* Xen's count is an unsigned int. */
	count = (u32)count;
	if (cmd != CONSOLEIO_write)
		/* Reading the hypervisor's console is for dom0 only. */
		return cmd == CONSOLEIO_read ? -EPERM : -LG_XEN_ENOSYS;
	if (!count)
		return 0;
	/*
	 * One exit per write; in a multicall, which cannot continue itself
	 * inside an entry, a write must fit in one (M:041).
	 */
	if (lg_xen_cpu(cpu)->in_multicall && count > LGUEST_MSG_LEN)
		return -EINVAL;
	n = min_t(u64, count, LGUEST_MSG_LEN);
	memset(&cpu->exit, 0, sizeof(cpu->exit));
	if (lg_xen_read(cpu, buf, cpu->exit.msg, n))
		return -EFAULT;
	cpu->exit.reason = LGUEST_EXIT_CONSOLE;
	cpu->exit.vcpu = cpu->id;
	cpu->exit.args[0] = n;
	cpu->exit_pending = true;
	if (n < count) {
		/* The rest on the way back: RAX still holds the number. */
		cpu->regs.rsi = count - n;
		cpu->regs.rdx = buf + n;
		continuation(cpu);
		return __HYPERVISOR_console_io;
	}
	return 0;
}

/* Copy a NUL-padded string of @size bytes out to the guest. */
static long put_string(struct lg_cpu *cpu, u64 va, const char *s, size_t size)
{
	char buf[1024] = { };

	strscpy(buf, s, min(size, sizeof(buf)));
	return lg_xen_write(cpu, va, buf, size);
}

static long xen_version(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	struct xen_platform_parameters pp;
	struct xen_feature_info fi;

	switch (cmd) {
	case XENVER_version:
		return LG_XEN_MAJOR << 16 | LG_XEN_MINOR;
	case XENVER_extraversion:
		return put_string(cpu, arg, LG_XEN_EXTRA, XEN_EXTRAVERSION_LEN);
	case XENVER_compile_info:
		return put_string(cpu, arg, "lguest", sizeof(struct xen_compile_info));
	case XENVER_capabilities:
		return put_string(cpu, arg, "xen-3.0-x86_64 ", XEN_CAPABILITIES_INFO_LEN);
	case XENVER_changeset:
		return put_string(cpu, arg, "lguest " LG_VERSION, XEN_CHANGESET_INFO_LEN);
	case XENVER_platform_parameters:
		pp.virt_start = LGUEST_HOLE_START;
		return lg_xen_write(cpu, arg, &pp, sizeof(pp));
	case XENVER_get_features:
		if (lg_xen_read(cpu, arg, &fi, sizeof(fi)))
			return -EFAULT;
		if (fi.submap_idx)
			return -EINVAL;
		/*
		 * What Xen gives a PV guest, less what lguest lacks: Linux
		 * panics without the first and the last.
		 */
		fi.submap = BIT(XENFEAT_mmu_pt_update_preserve_ad) |
			    BIT(XENFEAT_highmem_assist) |
			    BIT(XENFEAT_gnttab_map_avail_bits);
		return lg_xen_write(cpu, arg, &fi, sizeof(fi));
	case XENVER_pagesize:
		return PAGE_SIZE;
	case XENVER_guest_handle:
		return put_string(cpu, arg, "", 16);
	case XENVER_commandline:
		return -EPERM;
	case XENVER_build_id:
		return -ENODATA;
	}
	return -LG_XEN_ENOSYS;
}

static long sched_op(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	static const char *const why[] = {
		[SHUTDOWN_poweroff] = "poweroff", [SHUTDOWN_reboot] = "reboot",
		[SHUTDOWN_crash] = "crash", [SHUTDOWN_watchdog] = "watchdog",
	};
	struct sched_shutdown s;
	char msg[64];

	switch (cmd) {
	case SCHEDOP_yield:
		/*
		 * Another vCPU has what this one waits for (Linux's CPU 0
		 * yields while a new CPU comes up).  The run loop's
		 * cond_resched() before the next entry lets it run if it
		 * shares this CPU and the scheduler says so; yield() would
		 * second-guess the scheduler (its kernel-doc).
		 */
		return 0;
	case SCHEDOP_block:
		/* Events on, and sleep until one is there (traps.c). */
		WRITE_ONCE(lg_xen_vcpu_info(cpu)->evtchn_upcall_mask, 0);
		if (!lg_xen_wake(cpu)) {
			cpu->halted = true;
			cpu->stats.halts++;
		}
		return 0;
	case SCHEDOP_poll:
		return lg_xen_poll(cpu, arg);
	case SCHEDOP_shutdown:
		if (lg_xen_read(cpu, arg, &s, sizeof(s)))
			return -EFAULT;
		switch (s.reason) {
		case SHUTDOWN_poweroff:
		case SHUTDOWN_reboot:
		case SHUTDOWN_crash:
		case SHUTDOWN_watchdog:
			snprintf(msg, sizeof(msg), "SCHEDOP_shutdown(%s)", why[s.reason]);
			/* LGUEST_SHUTDOWN_* are Xen's reasons. */
			lguest_shutdown(cpu->lg, s.reason, 0, msg);
			return 0;
		case SHUTDOWN_suspend:
			/* Nobody would resume it. */
			return -LG_XEN_ENOSYS;
		}
		return -EINVAL;
	}
	return -LG_XEN_ENOSYS;
}

static long set_segment_base(struct lg_cpu *cpu, u64 which, u64 base)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	/* XSA-193: a non-canonical base would fault in the host. */
	if (which != SEGBASE_GS_USER_SEL && !lguest_canonical(base))
		return -EINVAL;
	switch (which) {
	case SEGBASE_FS:
		cpu->fsbase = base;
		break;
	case SEGBASE_GS_USER:
		/* The guest kernel runs: the user's base is the inactive one. */
		xc->gs_inactive = base;
		break;
	case SEGBASE_GS_KERNEL:
		cpu->gsbase = base;
		break;
	case SEGBASE_GS_USER_SEL:
		/*
		 * Load a user %gs selector: it is kept with the others
		 * (vcpu/gdt.c nulls it if it cannot be loaded) and its base,
		 * a flat segment's, becomes the user GS base.
		 */
		cpu->sel[3] = base & 0xffff;
		xc->gs_inactive = 0;
		break;
	default:
		return -EINVAL;
	}
	cpu->changed |= CHANGED_SEGBASE;
	return 0;
}

static long callback_op(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct callback_register reg;
	struct callback_unregister unreg;

	switch (cmd) {
	case CALLBACKOP_register:
		if (lg_xen_read(cpu, arg, &reg, sizeof(reg)))
			return -EFAULT;
		if (reg.type >= LG_XEN_CALLBACKS || reg.type == 3 || reg.type == 6 ||
		    !lg_xen_guest_va_ok(reg.address))
			return -EINVAL;
		reg.type = array_index_nospec(reg.type, LG_XEN_CALLBACKS);
		xc->callback[reg.type] = reg.address;
		xc->callback_flags[reg.type] = reg.flags;
		return 0;
	case CALLBACKOP_unregister:
		if (lg_xen_read(cpu, arg, &unreg, sizeof(unreg)))
			return -EFAULT;
		if (unreg.type >= LG_XEN_CALLBACKS)
			return -EINVAL;
		xc->callback[array_index_nospec(unreg.type, LG_XEN_CALLBACKS)] = 0;
		return 0;
	}
	return -LG_XEN_ENOSYS;
}

static long memory_op(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	struct xen_machphys_mapping m2p;
	struct xen_memory_map map;
	struct e820_entry ram = {
		.addr = 0, .size = x->nr_ram_pages << PAGE_SHIFT, .type = E820_TYPE_RAM,
	};

	switch (cmd) {
	case XENMEM_memory_map:
		/* One RAM range: no holes for Linux to remap. */
		if (lg_xen_read(cpu, arg, &map, sizeof(map)))
			return -EFAULT;
		if (!map.nr_entries)
			return -EINVAL;
		if (lg_xen_write(cpu, (u64)(unsigned long)map.buffer, &ram, sizeof(ram)))
			return -EFAULT;
		map.nr_entries = 1;
		return lg_xen_write(cpu, arg, &map, sizeof(map));
	case XENMEM_machphys_mapping:
		/* As far as the guest's frames go (m2p.c). */
		m2p.v_start = LGUEST_HOLE_START;
		m2p.max_mfn = (cpu->lg->mem_size >> PAGE_SHIFT) - 1;
		m2p.v_end = m2p.v_start + PAGE_ALIGN((m2p.max_mfn + 1) * 8);
		return lg_xen_write(cpu, arg, &m2p, sizeof(m2p));
	}
	/* Ballooning, exchanges: M:037. */
	return -LG_XEN_ENOSYS;
}

static long physdev_op(struct lg_cpu *cpu, u64 cmd, u64 arg)
{
	struct physdev_set_iopl iopl;

	if (cmd != PHYSDEVOP_set_iopl)
		return -LG_XEN_ENOSYS;
	if (lg_xen_read(cpu, arg, &iopl, sizeof(iopl)))
		return -EFAULT;
	if (iopl.iopl > 3)
		return -EINVAL;
	lg_xen_cpu(cpu)->iopl = iopl.iopl;
	return 0;
}

static long vm_assist(struct lg_cpu *cpu, u64 cmd, u64 type)
{
	struct lg_xen *x = lg_xen(cpu->lg);
	/* 4gb_segments .. runstate_update_flag, m2p_strict. */
	const unsigned long valid = GENMASK(5, 0) | BIT(32);

	if (type >= BITS_PER_LONG || !(valid & BIT(type)))
		return -EINVAL;
	switch (cmd) {
	case VMASST_CMD_enable:
		set_bit(type, &x->vm_assist);
		return 0;
	case VMASST_CMD_disable:
		clear_bit(type, &x->vm_assist);
		return 0;
	}
	return -LG_XEN_ENOSYS;
}

static long vcpu_op(struct lg_cpu *cpu, u64 cmd, u64 id, u64 arg)
{
	struct lguest *lg = cpu->lg;
	struct vcpu_set_singleshot_timer t;
	struct vcpu_register_vcpu_info info;
	struct lg_cpu *v;
	u64 now;

	if (id >= lg->nr_cpus)
		return -ENOENT;
	v = lg->cpus[array_index_nospec(id, lg->nr_cpus)];
	switch (cmd) {
	case VCPUOP_initialise:
	case VCPUOP_up:
	case VCPUOP_down:
	case VCPUOP_is_up:
		return lg_xen_smp_vcpu_op(cpu, cmd, v, arg);
	case VCPUOP_register_runstate_memory_area:
		/* Accepted, and left zero: no steal time to report yet. */
		return 0;
	case VCPUOP_stop_periodic_timer:
		/* Any vCPU's, as on Xen; none ever has a periodic timer. */
		return 0;
	case VCPUOP_set_singleshot_timer:
		if (v != cpu)
			return -EINVAL;
		if (lg_xen_read(cpu, arg, &t, sizeof(t)))
			return -EFAULT;
		now = lg_xen_system_time(lg);
		if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < now)
			return -ETIME;
		/* Past deadlines fire at once; lguest's floor is 1 us. */
		hrtimer_start(&cpu->timer,
			      ns_to_ktime(max_t(u64, t.timeout_abs_ns, now + 1000) - now),
			      HRTIMER_MODE_REL);
		return 0;
	case VCPUOP_register_vcpu_info:
		/* Before the vCPU runs, or by itself (Linux does both). */
		if (v != cpu && smp_load_acquire(&v->vstate) != LG_VCPU_STOPPED)
			return -EINVAL;
		if (lg_xen_read(cpu, arg, &info, sizeof(info)))
			return -EFAULT;
		return lg_xen_register_vcpu_info(v, info.mfn, info.offset);
	case VCPUOP_stop_singleshot_timer:
		if (v != cpu)
			return -EINVAL;
		hrtimer_try_to_cancel(&cpu->timer);
		return 0;
	}
	return -LG_XEN_ENOSYS;
}

static long xen_set_debugreg(struct lg_cpu *cpu, u64 reg, u64 val)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);

	switch (reg) {
	case 0 ... 3:
		if (!lg_xen_guest_va_ok(val))
			return -EPERM;
		break;
	case 6:
		val = (val & 0xe00fULL) | DR6_RESERVED;
		break;
	case 7:
		/* Recorded, never loaded (M:038): no enabled breakpoints. */
		if (val & 0xffULL)
			return -EPERM;
		val |= LG_DR7_FIXED_1;
		break;
	default:
		return -EINVAL;
	}
	xc->dr[reg] = val;
	return 0;
}

/*
 * multicall: run each entry as if it were a hypercall of its own, storing
 * its result in the entry.  An iret or a multicall inside one cannot be
 * (XSA-213): -EINVAL in its result, and the list goes on.  More than a
 * batch of entries continues as Xen does: the guest re-enters with the
 * rest.
 */
static long multicall(struct lg_cpu *cpu, u64 va, u64 nr)
{
	struct lg_xen_cpu *xc = lg_xen_cpu(cpu);
	struct multicall_entry e;
	unsigned int i;

	if (xc->in_multicall)
		return -EINVAL;
	for (i = 0; i < nr; i++, va += sizeof(e)) {
		/*
		 * An entry may be a batch of its own (4096 page-table
		 * operations): the host's scheduler and a signal to the
		 * launcher are heard between entries.
		 */
		if (i == LG_XEN_BATCH ||
		    (i && (need_resched() || signal_pending(current)))) {
			cpu->regs.rdi = va;
			cpu->regs.rsi = nr - i;
			continuation(cpu);
			return __HYPERVISOR_multicall;
		}
		if (lg_xen_read(cpu, va, &e, sizeof(e)))
			return -EFAULT;
		if (e.op == __HYPERVISOR_iret || e.op == __HYPERVISOR_multicall) {
			e.result = -EINVAL;
		} else {
			xc->in_multicall = true;
			e.result = dispatch(cpu, e.op, (const u64 *)e.args);
			xc->in_multicall = false;
		}
		if (lg_xen_write(cpu, va + offsetof(struct multicall_entry, result),
				 &e.result, sizeof(e.result)))
			return -EFAULT;
		if (READ_ONCE(cpu->lg->dead))
			return 0;
		/* An entry made an exit (console output): the rest after it. */
		if (cpu->exit_pending && i + 1 < nr) {
			cpu->regs.rdi = va + sizeof(e);
			cpu->regs.rsi = nr - i - 1;
			continuation(cpu);
			return __HYPERVISOR_multicall;
		}
	}
	return 0;
}

static long dispatch(struct lg_cpu *cpu, u64 nr, const u64 *a)
{
	switch (nr) {
	case __HYPERVISOR_set_trap_table:
		return lg_xen_set_trap_table(cpu, a[0]);
	case __HYPERVISOR_stack_switch:
		lg_xen_cpu(cpu)->kernel_sp = a[1];
		return 0;
	case __HYPERVISOR_fpu_taskswitch:
		cpu->ts = a[0] ? X86_CR0_TS : 0;
		cpu->changed |= CHANGED_TS;
		return 0;
	case __HYPERVISOR_set_debugreg:
		return xen_set_debugreg(cpu, a[0], a[1]);
	case __HYPERVISOR_get_debugreg:
		return a[0] < 8 ? lg_xen_cpu(cpu)->dr[array_index_nospec(a[0], 8)] : -EINVAL;
	case __HYPERVISOR_memory_op:
		return memory_op(cpu, a[0], a[1]);
	case __HYPERVISOR_multicall:
		return multicall(cpu, a[0], a[1]);
	case __HYPERVISOR_xen_version:
		return xen_version(cpu, a[0], a[1]);
	case __HYPERVISOR_console_io:
		return console_io(cpu, a[0], a[1], a[2]);
	case __HYPERVISOR_vm_assist:
		return vm_assist(cpu, a[0], a[1]);
	case __HYPERVISOR_vcpu_op:
		return vcpu_op(cpu, a[0], a[1], a[2]);
	case __HYPERVISOR_set_segment_base:
		return set_segment_base(cpu, a[0], a[1]);
	case __HYPERVISOR_sched_op:
		return sched_op(cpu, a[0], a[1]);
	case __HYPERVISOR_callback_op:
		return callback_op(cpu, a[0], a[1]);
	case __HYPERVISOR_event_channel_op:
		return lg_xen_event_channel_op(cpu, a[0], a[1]);
	case __HYPERVISOR_grant_table_op:
		return lg_xen_grant_table_op(cpu, a[0], a[1], a[2]);
	case __HYPERVISOR_physdev_op:
		return physdev_op(cpu, a[0], a[1]);
	case __HYPERVISOR_mmu_update:
		return lg_xen_mmu_update(cpu, a[0], a[1], a[2], a[3]);
	case __HYPERVISOR_set_gdt:
		return lg_xen_set_gdt(cpu, a[0], a[1]);
	case __HYPERVISOR_update_descriptor:
		return lg_xen_update_descriptor(cpu, a[0], a[1]);
	case __HYPERVISOR_update_va_mapping:
		return lg_xen_update_va_mapping(cpu, a[0], a[1], a[2]);
	case __HYPERVISOR_mmuext_op:
		return lg_xen_mmuext_op(cpu, a[0], a[1], a[2], a[3]);
	case __HYPERVISOR_platform_op:
		/* dom0's. */
		return -EPERM;
	}
	return -LG_XEN_ENOSYS;
}

/* The personality's hypercall(): one `syscall` from guest kernel mode. */
void lg_xen_hypercall(struct lg_cpu *cpu)
{
	u64 nr = cpu->regs.rax;
	u64 args[6] = {
		cpu->regs.rdi, cpu->regs.rsi, cpu->regs.rdx,
		cpu->regs.r10, cpu->regs.r8, 0,
	};

	cpu->stats.hypercalls++;
	if (nr < LGUEST_XEN_HCALLS)
		cpu->stats.xen_hcalls[array_index_nospec(nr, LGUEST_XEN_HCALLS)]++;
	/*
	 * `syscall` leaves no CS or SS behind (the switcher writes the
	 * host's user ones): the guest kernel was on its flat selectors.
	 */
	cpu->regs.cs = LG_SEL_CS64;
	cpu->regs.ss = LG_SEL_DS;
	trace_hypercall(cpu->id, nr, args[0], args[1], false);
	if (nr == __HYPERVISOR_iret)
		cpu->regs.rax = lg_xen_iret(cpu);
	else
		cpu->regs.rax = dispatch(cpu, nr, args);
}
