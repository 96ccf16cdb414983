/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What guest user programs call: system calls of the guest kernel in
 * guest/lib/task.c, by `syscall` (or int $0x80), with Linux's register
 * convention.  User code may use only its stack, its own mappings and the
 * image's code: the kernel's data is not mapped for it.  So everything here
 * is inline, and user functions keep to registers and the stack (no switch
 * tables, no library calls: their data is the kernel's).
 */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include <stdint.h>

static inline long user_syscall3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a), "S"(b), "d"(c)
		     : "rcx", "r11", "memory");
	return ret;
}

static inline long user_int80(long nr, long a)
{
	long ret;

	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "D"(a) : "memory");
	return ret;
}

#define user_getpid()		user_syscall3(39, 0, 0, 0)
#define user_yield()		user_syscall3(24, 0, 0, 0)
#define user_fork()		user_syscall3(57, 0, 0, 0)
#define user_wait(pid)		user_syscall3(61, (pid), 0, 0)
#define user_mmap(len)		((void *)user_syscall3(9, 0, (len), 0))
#define user_write(buf, len)	user_syscall3(1, 1, (long)(buf), (len))

static inline void __attribute__((noreturn)) user_exit(long code)
{
	user_syscall3(60, code, 0, 0);
	for (;;)
		;
}

#endif /* GUEST_USER_H */
