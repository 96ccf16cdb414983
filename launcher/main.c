// SPDX-License-Identifier: GPL-2.0
/*
 * lguest: the launcher.  `lguest info` reports what the module is and what
 * it found on the host; `lguest run [--cpus N] GUEST.elf` loads a guest into
 * memory of ours, runs each of its vCPUs on a thread of its own and prints
 * its console until it shuts down or is killed.
 *
 * Every failure is one clear line on stderr and a non-zero exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#include <linux/lguest.h>
#include "launcher.h"

#define LAUNCHER_VERSION "0.3"

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
		if (errno == EINVAL)
			fprintf(stderr, "lguest: %s refused the info request: the module and this launcher (ABI %d) do not speak the same ABI\n",
				opts->device, LGUEST_ABI_VERSION);
		else
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
	lg_format_mitigations(info.mitigations, caps, sizeof(caps));
	printf("switcher mitigations: %s\n", caps);
	printf("limits: %u vCPUs per guest\n", info.max_vcpus);
	printf("guests alive: %u\n", info.nr_guests - 1);
	return 0;
}

/*
 * A guest run: one thread per vCPU, each in its own run request; the first
 * thread to see the guest end (shutdown or killed) records how, and the
 * others see the same when their runs return, since a dead guest stays dead.
 */
struct run {
	struct lg_vm vm;
	pthread_mutex_t lock;
	int ended;		/* the first end was recorded */
	int status;		/* the launcher's exit status */
	int warned_unknown;
};

struct vcpu_thread {
	struct run *run;
	unsigned int id;
	pthread_t th;
};

static void end_run(struct run *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void end_run(struct run *r, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->ended) {
		r->ended = 1;
		r->status = status;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *v = arg;
	struct run *r = v->run;
	struct lguest_exit exit;
	char err[256];
	int rc;

	urcu_memb_register_thread();
	for (;;) {
		rc = lg_vm_run(&r->vm, v->id, &exit);
		if (rc == -EINTR)
			continue;
		if (rc) {
			end_run(r, 1, "lguest: running vCPU %u failed: %s\n", v->id,
				strerror(-rc));
			break;
		}
		if (exit.reason == LGUEST_EXIT_NOTIFY) {
			rc = lg_device_notify(&r->vm, v->id, &exit, err, sizeof(err));
			if (rc < 0) {
				fprintf(stderr, "lguest: vCPU %u: %s\n", v->id, err);
			} else if (!rc) {
				pthread_mutex_lock(&r->lock);
				if (!r->warned_unknown++)
					fprintf(stderr, "lguest: vCPU %u: notify for no device (%llu); ignored\n",
						v->id, (unsigned long long)exit.args[0]);
				pthread_mutex_unlock(&r->lock);
			}
			continue;
		}
		if (exit.reason == LGUEST_EXIT_SHUTDOWN)
			end_run(r, (int)exit.args[1], "lguest: guest %s: %s\n",
				exit.args[0] == LGUEST_SHUTDOWN_RESTART ?
				"asked for a restart" : "powered off", exit.msg);
		else if (exit.reason == LGUEST_EXIT_KILLED)
			end_run(r, 1, "lguest: guest killed: %s\n", exit.msg);
		else
			end_run(r, 1, "lguest: unknown exit reason %u\n", exit.reason);
		break;
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/*
 * Run the guest until it stops.  The exit status is the guest's own (the
 * status it gave LHCALL_SHUTDOWN); a killed guest is 1 with the reason the
 * module gave.
 */
static int cmd_run(const struct lg_options *opts)
{
	struct vcpu_thread *threads;
	struct run r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	uint64_t entry;
	char err[256];
	unsigned int i;

	if (lg_vm_create(&r.vm, opts->device, opts->mem_size, err, sizeof(err)) ||
	    (r.vm.nr_vcpus = opts->nr_cpus, 0) ||
	    lg_load_elf(opts->guest, r.vm.mem, r.vm.mem_size, &entry, err, sizeof(err)) ||
	    lg_vm_init(&r.vm, entry, err, sizeof(err))) {
		fprintf(stderr, "lguest: %s\n", err);
		if (r.vm.fd >= 0)
			lg_vm_destroy(&r.vm);
		return 1;
	}
	threads = calloc(opts->nr_cpus, sizeof(*threads));
	if (!threads || lg_device_add(&lg_console_device)) {
		fprintf(stderr, "lguest: out of memory\n");
		free(threads);
		lg_vm_destroy(&r.vm);
		return 1;
	}
	for (i = 0; i < opts->nr_cpus; i++) {
		int rc;

		threads[i].run = &r;
		threads[i].id = i;
		rc = pthread_create(&threads[i].th, NULL, vcpu_main, &threads[i]);
		if (rc) {
			/*
			 * The guest cannot run short of a vCPU, and the threads
			 * already started sit in the module: leave at once, and
			 * the guest goes with the process.
			 */
			fprintf(stderr, "lguest: cannot start a thread for vCPU %u: %s\n",
				i, strerror(rc));
			fflush(stdout);
			_exit(1);
		}
	}
	for (i = 0; i < opts->nr_cpus; i++)
		pthread_join(threads[i].th, NULL);
	free(threads);
	lg_devices_free();
	lg_vm_destroy(&r.vm);
	return r.status;
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
