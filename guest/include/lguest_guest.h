/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of lguest: what a paravirtual guest kernel written against
 * this repository's runtime (guest/lib) can call.  Freestanding: no libc.
 *
 * The guest runs at CPL3 with guest-virtual = guest-physical addresses.  Its
 * interrupt flag is virtual (lguest_data.irq_enabled); traps and interrupts
 * arrive through handlers registered with guest_set_handler().
 */
#ifndef LGUEST_GUEST_H
#define LGUEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/lguest.h>

/* What a trap handler sees: general registers, then the hardware frame. */
struct guest_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*guest_handler_t)(struct guest_regs *regs);

extern struct lguest_data guest_data;

static inline long hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
			 uint64_t a3)
{
	register uint64_t r10 asm("r10") = a3;
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
		     : "rcx", "r11", "memory");
	return ret;
}

/* The same call through the interrupt gate (for comparison). */
static inline long hcall_int(uint64_t nr, uint64_t a0)
{
	long ret;

	asm volatile("int $0x1f" : "=a"(ret) : "a"(nr), "D"(a0) : "memory");
	return ret;
}

#define hcall0(nr)		hcall(nr, 0, 0, 0, 0)
#define hcall1(nr, a)		hcall(nr, (uint64_t)(a), 0, 0, 0)
#define hcall2(nr, a, b)	hcall(nr, (uint64_t)(a), (uint64_t)(b), 0, 0)
#define hcall3(nr, a, b, c)	hcall(nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0)

/* Runtime: guest/lib/runtime.c. */
void guest_init(void);
void guest_set_handler(unsigned int vector, guest_handler_t fn);
void guest_set_handler_on_stack(unsigned int vector, guest_handler_t fn);
void guest_set_handler_async(unsigned int vector, guest_handler_t fn);
void guest_irq_disable(void);
void guest_irq_enable(void);
int guest_irqs_enabled(void);
void guest_halt(void);
void guest_set_timer(uint64_t ns);
void guest_async_hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
void guest_flush_async(void);
void guest_notify(uint64_t a0, uint64_t a1, uint64_t a2);
__attribute__((noreturn)) void guest_shutdown(int how, const char *msg);
__attribute__((noreturn)) void guest_poweroff(int status, const char *msg);

/* Console (LGUEST_NOTIFY_CONSOLE). */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *guest_memset(void *s, int c, size_t n);
void *guest_memcpy(void *d, const void *s, size_t n);
size_t guest_strlen(const char *s);

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif /* LGUEST_GUEST_H */
