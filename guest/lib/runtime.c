// SPDX-License-Identifier: GPL-2.0
/*
 * The guest runtime: the smallest paravirtual "kernel" that can use
 * lguest's interface.  It registers the shared data page, keeps a C table of
 * trap handlers behind the assembly stubs in entry.S, implements the virtual
 * interrupt flag, queues asynchronous hypercalls and prints through the
 * launcher's console.
 */
#include "lguest_guest.h"

struct lguest_data guest_data __attribute__((aligned(4096)));

extern char guest_trap_stubs[], guest_syscall_entry[];
static guest_handler_t handlers[256], syscall_handler;
static unsigned int handler_flags[256];

void *guest_memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *guest_memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

size_t guest_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int pending_interrupts(void)
{
	volatile __u64 *p = guest_vcpu->irq_pending;

	return (p[0] | p[1] | p[2] | p[3]) != 0;
}

void guest_irq_disable(void)
{
	guest_vcpu->irq_enabled = 0;
	asm volatile("" ::: "memory");
}

/* sti: and if the host left something pending meanwhile, ask for it now. */
void guest_irq_enable(void)
{
	asm volatile("" ::: "memory");
	guest_vcpu->irq_enabled = 0x200;
	asm volatile("" ::: "memory");
	if (pending_interrupts())
		hcall0(LHCALL_SEND_INTERRUPTS);
}

int guest_irqs_enabled(void)
{
	return guest_vcpu->irq_enabled != 0;
}

/* Called by entry.S for every trap, interrupt and user system call. */
void guest_trap(struct guest_regs *regs);
void guest_trap(struct guest_regs *regs)
{
	guest_handler_t fn = regs->vector == GUEST_SYSCALL_VECTOR ?
			     syscall_handler : handlers[regs->vector & 255];

	if (fn)
		fn(regs);
	/*
	 * Back to the kernel: iretq cannot restore a virtual flag, so do it by
	 * hand.  Back to user mode, interrupts are on by definition.
	 */
	if (regs->cs != LGUEST_USER_CS && (regs->rflags & 0x200))
		guest_irq_enable();
}

static void set_handler(unsigned int vector, guest_handler_t fn,
			unsigned int flags)
{
	handlers[vector] = fn;
	handler_flags[vector] = flags;
	hcall3(LHCALL_LOAD_IDT_ENTRY, vector,
	       (uint64_t)(guest_trap_stubs + 16 * vector),
	       fn ? flags | LG_IDT_PRESENT : 0);
}

void guest_set_handler(unsigned int vector, guest_handler_t fn)
{
	set_handler(vector, fn, 0);
}

/* The same, queued in the asynchronous ring: live after the next hypercall. */
void guest_set_handler_async(unsigned int vector, guest_handler_t fn)
{
	handlers[vector] = fn;
	handler_flags[vector] = 0;
	guest_async_hcall(LHCALL_LOAD_IDT_ENTRY, vector,
			  (uint64_t)(guest_trap_stubs + 16 * vector),
			  fn ? LG_IDT_PRESENT : 0);
}

void guest_set_handler_on_stack(unsigned int vector, guest_handler_t fn)
{
	set_handler(vector, fn, LG_IDT_STACK);
}

void guest_set_user_handler(unsigned int vector, guest_handler_t fn)
{
	set_handler(vector, fn, LG_IDT_USER);
}

void guest_set_syscall_handler(guest_handler_t fn)
{
	syscall_handler = fn;
	hcall1(LHCALL_SET_SYSCALL, fn ? (uint64_t)guest_syscall_entry : 0);
}

/* Every handler registered so far, on this vCPU too: one ring's worth. */
void guest_load_handlers(void)
{
	unsigned int v;

	for (v = 0; v < 256; v++)
		if (handlers[v])
			guest_async_hcall(LHCALL_LOAD_IDT_ENTRY, v,
					  (uint64_t)(guest_trap_stubs + 16 * v),
					  handler_flags[v] | LG_IDT_PRESENT);
	guest_flush_async();
	if (syscall_handler)
		hcall1(LHCALL_SET_SYSCALL, (uint64_t)guest_syscall_entry);
}

/*
 * HALT with the virtual IF off cannot lose a wake-up: the host sleeps only
 * while nothing is pending, and the interrupt is delivered when we enable.
 */
void guest_halt(void)
{
	int was = guest_irqs_enabled();

	guest_irq_disable();
	hcall0(LHCALL_HALT);
	if (was)
		guest_irq_enable();
}

void guest_set_timer(uint64_t ns)
{
	hcall1(LHCALL_SET_CLOCKEVENT, ns);
}

/* Queue a call in the ring; a full ring is flushed first. */
void guest_async_hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	unsigned int next = guest_vcpu->scratch[GUEST_SCRATCH_ASYNC];
	volatile uint8_t *status = &guest_vcpu->hcall_status[next];
	volatile struct lguest_hcall_slot *slot = &guest_vcpu->hcalls[next];

	if (*status != LHCALL_RING_FREE)
		hcall0(LHCALL_FLUSH_ASYNC);
	slot->nr = nr;
	slot->args[0] = a0;
	slot->args[1] = a1;
	slot->args[2] = a2;
	slot->args[3] = 0;
	asm volatile("" ::: "memory");
	*status = LHCALL_RING_QUEUED;
	guest_vcpu->scratch[GUEST_SCRATCH_ASYNC] = (next + 1) % LHCALL_RING_SIZE;
}

void guest_flush_async(void)
{
	hcall0(LHCALL_FLUSH_ASYNC);
}

void guest_notify(uint64_t a0, uint64_t a1, uint64_t a2)
{
	hcall3(LHCALL_NOTIFY, a0, a1, a2);
}

void guest_poweroff(int status, const char *msg)
{
	hcall(LHCALL_SHUTDOWN, LGUEST_SHUTDOWN_POWEROFF, (uintptr_t)msg,
	      guest_strlen(msg), (uint64_t)status);
	for (;;)
		hcall0(LHCALL_HALT);
}

void guest_shutdown(int how, const char *msg)
{
	hcall(LHCALL_SHUTDOWN, how, (uintptr_t)msg, guest_strlen(msg), 0);
	for (;;)
		hcall0(LHCALL_HALT);
}

void guest_init(void)
{
	guest_memset(handlers, 0, sizeof(handlers));
	guest_memset(handler_flags, 0, sizeof(handler_flags));
	syscall_handler = 0;
	hcall1(LHCALL_INIT, &guest_data);
	guest_vcpu->scratch[GUEST_SCRATCH_ASYNC] = 0;
}

/* Stand-alone guests: guest_main()'s return value is the exit code. */
void guest_exit(long code);
void guest_exit(long code)
{
	char msg[48];

	guest_snprintf(msg, sizeof(msg), "guest_main returned %ld", code);
	guest_poweroff((int)code, msg);
}
