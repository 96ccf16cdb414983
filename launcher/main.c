// SPDX-License-Identifier: GPL-2.0
/*
 * lguest: the launcher.  `lguest info` reports what the module is and what
 * it found on the host; `lguest run GUEST.elf` loads a guest into memory of
 * ours, runs it and prints its console until it shuts down or is killed.
 *
 * Every failure is one clear line on stderr and a non-zero exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/lguest.h>
#include "launcher.h"

#define LAUNCHER_VERSION "0.1"

static int open_device(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "lguest: %s does not exist: is the lg module loaded?\n",
				path);
		else
			fprintf(stderr, "lguest: cannot open %s: %s\n", path,
				strerror(errno));
	}
	return fd;
}

static int cmd_info(const struct lg_options *opts)
{
	struct lguest_info info;
	struct {
		__u64 req;
		struct lguest_req_info args;
	} msg = {
		.req = LHREQ_INFO,
		.args = { .addr = (uintptr_t)&info, .size = sizeof(info) },
	};
	char caps[256];
	int fd = open_device(opts->device);

	if (fd < 0)
		return 1;
	if (write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg)) {
		fprintf(stderr, "lguest: %s: info request failed: %s\n",
			opts->device, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);

	if (info.abi_version != LGUEST_ABI_VERSION) {
		fprintf(stderr, "lguest: module speaks ABI %u, this launcher ABI %d\n",
			info.abi_version, LGUEST_ABI_VERSION);
		return 1;
	}
	lg_format_caps(info.host_caps, caps, sizeof(caps));
	printf("lguest module %.*s (ABI %u)\n", (int)sizeof(info.version),
	       info.version, info.abi_version);
	printf("host: %u CPUs, features: %s\n", info.host_cpus, caps);
	printf("limits: %u vCPUs per guest\n", info.max_vcpus);
	printf("guests alive: %u\n", info.nr_guests - 1);
	return 0;
}

/*
 * Run vCPU 0 until the guest stops.  The exit status is the guest's own
 * (the status it gave LHCALL_SHUTDOWN); a killed guest is 1 with the reason
 * the module gave.
 */
static int cmd_run(const struct lg_options *opts)
{
	struct lguest_exit exit;
	struct lg_vm vm;
	uint64_t entry;
	char err[256];
	int r;

	if (lg_vm_create(&vm, opts->device, opts->mem_size, err, sizeof(err)) ||
	    lg_load_elf(opts->guest, vm.mem, vm.mem_size, &entry, err, sizeof(err)) ||
	    lg_vm_init(&vm, entry, err, sizeof(err))) {
		fprintf(stderr, "lguest: %s\n", err);
		if (vm.fd >= 0)
			lg_vm_destroy(&vm);
		return 1;
	}
	for (;;) {
		r = lg_vm_run(&vm, 0, &exit);
		if (r == -EINTR)
			continue;
		if (r) {
			fprintf(stderr, "lguest: running the guest failed: %s\n",
				strerror(-r));
			break;
		}
		switch (exit.reason) {
		case LGUEST_EXIT_NOTIFY:
			if (lg_vm_console(&vm, &exit, stdout) < 0)
				fprintf(stderr, "lguest: console text outside guest memory\n");
			continue;
		case LGUEST_EXIT_SHUTDOWN:
			fprintf(stderr, "lguest: guest %s: %s\n",
				exit.args[0] == LGUEST_SHUTDOWN_RESTART ?
				"asked for a restart" : "powered off", exit.msg);
			lg_vm_destroy(&vm);
			return (int)exit.args[1];
		case LGUEST_EXIT_KILLED:
			fprintf(stderr, "lguest: guest killed: %s\n", exit.msg);
			break;
		default:
			fprintf(stderr, "lguest: unknown exit reason %u\n", exit.reason);
			break;
		}
		break;
	}
	lg_vm_destroy(&vm);
	return 1;
}

int main(int argc, char *argv[])
{
	struct lg_options opts;
	char err[256];

	if (lg_parse_options(argc, argv, &opts, err, sizeof(err))) {
		fprintf(stderr, "lguest: %s\n", err);
		return 2;
	}
	switch (opts.cmd) {
	case LG_CMD_INFO:
		return cmd_info(&opts);
	case LG_CMD_RUN:
		return cmd_run(&opts);
	case LG_CMD_VERSION:
		printf("lguest launcher %s (ABI %d)\n", LAUNCHER_VERSION,
		       LGUEST_ABI_VERSION);
		return 0;
	case LG_CMD_HELP:
	default:
		fputs(lg_usage, stdout);
		return 0;
	}
}
