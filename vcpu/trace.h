/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lguest's tracepoints: `perf stat -e 'lguest:*'` counts world switches,
 * exits by kind, hypercalls, shadow page faults and IPIs; `perf record -e
 * lguest:vcpu_exit` shows where the guest left, `-e lguest:shadow_fault`
 * which addresses it faulted on and what became of each fault.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM lguest

#if !defined(_LG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _LG_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(vcpu_entry,
	TP_PROTO(unsigned int vcpu, u64 rip),
	TP_ARGS(vcpu, rip),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u64, rip)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->rip = rip;
	),
	TP_printk("vcpu %u rip %#llx", __entry->vcpu, __entry->rip)
);

TRACE_EVENT(vcpu_exit,
	TP_PROTO(unsigned int vcpu, u64 trapnum, u64 rip, u64 errcode),
	TP_ARGS(vcpu, trapnum, rip, errcode),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u64, trapnum)
		__field(u64, rip)
		__field(u64, errcode)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->trapnum = trapnum;
		__entry->rip = rip;
		__entry->errcode = errcode;
	),
	TP_printk("vcpu %u trap %#llx rip %#llx error %#llx", __entry->vcpu,
		  __entry->trapnum, __entry->rip, __entry->errcode)
);

TRACE_EVENT(hypercall,
	TP_PROTO(unsigned int vcpu, u64 nr, u64 a0, u64 a1, bool async),
	TP_ARGS(vcpu, nr, a0, a1, async),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u64, nr)
		__field(u64, a0)
		__field(u64, a1)
		__field(bool, async)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->nr = nr;
		__entry->a0 = a0;
		__entry->a1 = a1;
		__entry->async = async;
	),
	TP_printk("vcpu %u nr %llu (%#llx, %#llx)%s", __entry->vcpu,
		  __entry->nr, __entry->a0, __entry->a1,
		  __entry->async ? " async" : "")
);

TRACE_EVENT(run_exit,
	TP_PROTO(unsigned int vcpu, u32 reason),
	TP_ARGS(vcpu, reason),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u32, reason)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->reason = reason;
	),
	TP_printk("vcpu %u to the launcher, reason %u", __entry->vcpu,
		  __entry->reason)
);

TRACE_EVENT(shadow_fault,
	TP_PROTO(unsigned int vcpu, u64 va, u64 error, int outcome),
	TP_ARGS(vcpu, va, error, outcome),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u64, va)
		__field(u64, error)
		__field(int, outcome)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->va = va;
		__entry->error = error;
		__entry->outcome = outcome;
	),
	TP_printk("vcpu %u va %#llx error %#llx: %s", __entry->vcpu,
		  __entry->va, __entry->error,
		  __print_symbolic(__entry->outcome, { 0, "filled" },
				   { 1, "the guest's" }, { 2, "#GP" },
				   { 3, "guest killed" }))
);

TRACE_EVENT(ipi,
	TP_PROTO(unsigned int vcpu, u64 mask, u64 vector),
	TP_ARGS(vcpu, mask, vector),
	TP_STRUCT__entry(
		__field(unsigned int, vcpu)
		__field(u64, mask)
		__field(u64, vector)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->mask = mask;
		__entry->vector = vector;
	),
	TP_printk("vcpu %u to %#llx vector %llu", __entry->vcpu,
		  __entry->mask, __entry->vector)
);

#endif /* _LG_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
