/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The launcher's internal interfaces.  The launcher is the user-space half
 * of lguest: it owns the guest's memory and devices and runs each vCPU on a
 * thread of its own; the module only switches worlds.
 */
#ifndef LAUNCHER_H
#define LAUNCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/lguest.h>

enum lg_command {
	LG_CMD_NONE,
	LG_CMD_INFO,		/* report the module and the host */
	LG_CMD_HELP,
	LG_CMD_VERSION,
	LG_CMD_RUN,		/* run a guest ELF or a Xen PV kernel */
};

#define LG_MAX_DISKS	16
#define LG_MAX_NETS	4

struct lg_options {
	enum lg_command cmd;
	const char *device;	/* the lguest device node */
	uint64_t mem_size;	/* run: guest memory in bytes */
	unsigned int nr_cpus;	/* run: vCPUs */
	const char *guest;	/* run: the guest ELF */
	const char *kernel;	/* run: a Xen PV kernel instead (vmlinuz) */
	const char *initrd;	/* ... its initrd, or NULL */
	const char *append;	/* ... its command line, or NULL */
	char cmdline[1024];	/* ... what it gets (Xen's MAX_GUEST_CMDLINE) */
	/* ... its disks (--disk FILE[,ro]): xvda, xvdb, ... */
	unsigned int nr_disks;
	struct {
		const char *path;
		int ro;
	} disks[LG_MAX_DISKS];
	/* ... its network interfaces (--net tap=NAME): eth0, eth1, ... */
	unsigned int nr_nets;
	const char *nets[LG_MAX_NETS];
};

/* Guest memory by default: a guest ELF, and a Linux kernel (--kernel). */
#define LG_DEFAULT_MEM		(64ULL << 20)
#define LG_DEFAULT_KERNEL_MEM	(256ULL << 20)

/*
 * How `lguest run` ends (documented in lg_usage and launcher/README.md):
 * a guest that powers off gives its own status; these say it did not.
 */
#define LG_EXIT_ERROR		1	/* the launcher failed, or the guest was killed */
#define LG_EXIT_USAGE		2	/* a mistake on the command line */
#define LG_EXIT_RESTART		65	/* the guest asked for a restart */
#define LG_EXIT_CRASH		66	/* the guest said it crashed */
#define LG_EXIT_WATCHDOG	67	/* the guest's watchdog fired */
#define LG_EXIT_USER		130	/* the user typed the escape (as SIGINT's 128 + 2) */

/*
 * The exit status for a guest that shut down with LGUEST_SHUTDOWN_* reason
 * @how and status @status, and in *@what how it ended, in words (NULL for
 * a reason lguest does not know).
 */
int lg_shutdown_status(uint64_t how, uint64_t status, const char **what);

/* Parse "64M", "1G", "4096" (bytes; K, M, G are binary). 0 or -1. */
int lg_parse_size(const char *s, uint64_t *out);
int lg_parse_number(const char *s, uint64_t *out);

/*
 * launcher/devices.c: what a guest's NOTIFY reaches (args[0] names the
 * device).  vCPU threads look devices up with no lock (RCU); the table may
 * change while they run.
 */
struct lg_vm;
struct lg_device {
	uint64_t type;		/* LGUEST_NOTIFY_* */
	const char *name;
	/* 0 if handled; -1 with a reason in @err if the guest asked nonsense. */
	int (*notify)(struct lg_vm *vm, unsigned int vcpu,
		      const struct lguest_exit *exit, char *err, size_t errlen);
};

int lg_device_add(const struct lg_device *dev);
void lg_devices_free(void);
/* 1 handled, 0 no such device, -1 the device refused (reason in @err). */
int lg_device_notify(struct lg_vm *vm, unsigned int vcpu,
		     const struct lguest_exit *exit, char *err, size_t errlen);
extern const struct lg_device lg_console_device;

/* launcher/elf.c */
int lg_load_elf(const char *path, void *mem, uint64_t mem_size,
		uint64_t *entry, char *err, size_t errlen);

/* launcher/vm.c: a guest from user space. */
struct lg_vm {
	int fd;
	void *mem;
	uint64_t mem_size;
	unsigned int nr_vcpus;	/* 1 unless set before lg_vm_init() */
};

/* lg_vm_alloc() then lg_vm_open(): guest memory, then the device. */
int lg_vm_create(struct lg_vm *vm, const char *device, uint64_t mem_size,
		 char *err, size_t errlen);
int lg_vm_alloc(struct lg_vm *vm, uint64_t mem_size, char *err, size_t errlen);
int lg_vm_open(struct lg_vm *vm, const char *device, char *err, size_t errlen);
int lg_vm_init(struct lg_vm *vm, uint64_t entry, char *err, size_t errlen);
int lg_vm_init_xen(struct lg_vm *vm, uint64_t entry,
		   const struct lguest_xen_start *xen, char *err, size_t errlen);
int lg_vm_run(struct lg_vm *vm, unsigned int vcpu, struct lguest_exit *exit);
int lg_vm_irq(struct lg_vm *vm, unsigned int vcpu, unsigned int vector);
int lg_vm_evtchn(struct lg_vm *vm, unsigned int op, unsigned int port);
int lg_vm_regs(struct lg_vm *vm, unsigned int vcpu, struct lguest_regs *regs,
	       int set);
int lg_vm_stats(struct lg_vm *vm, unsigned int vcpu,
		struct lguest_vcpu_stats *stats);
void lg_vm_destroy(struct lg_vm *vm);
int lg_vm_console(struct lg_vm *vm, const struct lguest_exit *exit, FILE *out);

/*
 * launcher/dump.c: SIGUSR1 prints every vCPU's registers and counters.
 * lg_dump_prepare() before the run starts any thread, lg_dump_init()
 * before the vCPU threads start (@pending and @mask: a Xen guest's event
 * bitmaps, or NULL); each vCPU thread calls lg_dump_thread() as it begins
 * and ends, and lg_dump_vcpu() before each run, with *@seen 0 at first.
 */
int lg_dump_prepare(void);
int lg_dump_init(unsigned int nr, const uint64_t *pending, const uint64_t *mask);
void lg_dump_thread(unsigned int vcpu, bool live);
void lg_dump_vcpu(struct lg_vm *vm, unsigned int vcpu, unsigned int *seen);

/*
 * Parse the command line into @opts.  Returns 0, or -1 with a one-line,
 * human-readable reason in @err.
 */
int lg_parse_options(int argc, char *const argv[], struct lg_options *opts,
		     char *err, size_t errlen);

/* Write the names of LGUEST_HOST_* bits in @caps, space separated. */
void lg_format_caps(uint64_t caps, char *buf, size_t len);

/* The LGUEST_HOST_* bit named @name (as lg_format_caps() writes it), or 0. */
uint64_t lg_cap_bit(const char *name);

/* The same for the switcher's mitigations (LGUEST_MIT_*). */
void lg_format_mitigations(uint32_t mit, char *buf, size_t len);
uint32_t lg_mitigation_bit(const char *name);

extern const char lg_usage[];

/*
 * launcher/term.c: the terminal a guest's console reads from.  Raw mode
 * while the guest runs (1 if @fd is a terminal and now raw, else 0),
 * given back at lg_term_restore() or on SIGTERM/SIGHUP.  The escape,
 * Ctrl-A x, ends the run; Ctrl-A Ctrl-A types a Ctrl-A.
 */
#define LG_ESCAPE_CHAR	'\x01'

struct lg_escape {
	int armed;		/* the last byte was LG_ESCAPE_CHAR */
};

int lg_term_raw(int fd);
void lg_term_restore(void);
size_t lg_escape_filter(struct lg_escape *e, const char *in, size_t n,
			char *out, int *quit);

#endif /* LAUNCHER_H */
