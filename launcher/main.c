// SPDX-License-Identifier: GPL-2.0
/*
 * lguest: the launcher.  `lguest info` reports what the module is and what
 * it found on the host; `lguest run [--cpus N] GUEST.elf` loads a guest into
 * memory of ours, runs each of its vCPUs on a thread of its own and prints
 * its console until it shuts down or is killed.  `lguest run --kernel
 * VMLINUZ` does the same for a Linux kernel built for Xen PV, laid out as
 * Xen's domain builder would (launcher/xen/), with its console ring drained
 * to our stdout.
 *
 * Every failure is one clear line on stderr and a non-zero exit status.
 * Everything that can be checked without the module (the options, the
 * guest's files, whether the guest fits its memory) is checked before
 * /dev/lguest is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#include <linux/lguest.h>
#include "launcher.h"
#include "xen/blkback.h"
#include "xen/gnttab.h"
#include "xen/kernel.h"
#include "xen/netback.h"
#include "xen/xsring.h"

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
	/* Ours is one: it has no memory, pinned or in tables. */
	printf("guests alive: %u\n", info.nr_guests - 1);
	printf("guest memory: %llu pages pinned, %llu page-table pages\n",
	       (unsigned long long)info.pinned_pages,
	       (unsigned long long)info.table_pages);
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
	/*
	 * A Xen PV guest's console: its ring page in guest memory and the
	 * event channel it signals (NULL and 0 for a native guest).  The lock
	 * keeps what one vCPU prints whole and in order with another's.
	 */
	struct xencons_interface *console;
	uint32_t console_port;
	/* Its shared_info page (NULL for a native guest). */
	char *shared_info;
	pthread_mutex_t console_lock;
	/*
	 * Its input: a thread feeds our stdin into the ring (input_main()),
	 * waiting on console_room while the ring is full; each console event
	 * (the guest read, or wrote) signals it.  stop[1] is written, and
	 * stopping set, when the run is over.
	 */
	pthread_cond_t console_room;
	pthread_t input;
	int input_started;
	int stop[2];
	int stopping;
	int raw;		/* stdin is a terminal in raw mode */
	/* A Xen PV guest's xenstore, and the channel it signals. */
	struct xs_server *xs;
	uint32_t store_port;
	/* Its grant table and its disks' back ends (--disk). */
	struct gnttab gnttab;
	int gnttab_ok;
	struct blkback *disks[LG_MAX_DISKS];
	unsigned int nr_disks;
	struct netback *nets[LG_MAX_NETS];
	unsigned int nr_nets;
};

struct vcpu_thread {
	struct run *run;
	unsigned int id;
	pthread_t th;
};

/* Print once a run what *@said says has not been printed yet. */
static int say_once(struct run *r, int *said, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int say_once(struct run *r, int *said, const char *fmt, va_list ap)
{
	int first;

	pthread_mutex_lock(&r->lock);
	first = !*said;
	if (first) {
		*said = 1;
		vfprintf(stderr, fmt, ap);
	}
	pthread_mutex_unlock(&r->lock);
	return first;
}

static void end_run(struct run *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void end_run(struct run *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* Only the first end's thread writes it; it is read after the joins. */
	if (say_once(r, &r->ended, fmt, ap))
		r->status = status;
	va_end(ap);
}

/* Something the guest did that nothing of ours answers: said once a run. */
static void warn_once(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn_once(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_once(r, &r->warned_unknown, fmt, ap);
	va_end(ap);
}

/*
 * What the Xen guest put in its console ring, to our stdout.  The guest
 * writes the ring at will, so a ring whose indices are impossible is a
 * broken guest: the run ends, rather than print garbage.  0 or -errno
 * (-EPROTO: the ring).
 */
static int drain_console(struct run *r)
{
	ssize_t n;
	int err;

	if (!r->console)
		return 0;
	pthread_mutex_lock(&r->console_lock);
	n = xen_console_drain(r->console, STDOUT_FILENO);
	err = errno;
	/* It may also have read input, making room for more. */
	pthread_cond_broadcast(&r->console_room);
	pthread_mutex_unlock(&r->console_lock);
	return n < 0 ? -err : 0;
}

/*
 * Give @len bytes the user typed to the guest, waiting while its input
 * ring is full, and raise the console's channel for each batch (the
 * guest's hvc driver reads on that event).  0, or -1 when no more input
 * should go to this guest: its ring is impossible (its own loss; the run
 * goes on, as Xen's console daemon would let it), or the run is over.
 */
static int feed_console(struct run *r, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct timespec until;
		ssize_t n;
		int err;

		pthread_mutex_lock(&r->console_lock);
		n = xen_console_feed(r->console, buf + done, len - done);
		if (!n && !r->stopping) {
			/* Room comes with the guest's next event; or look again. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&r->console_room, &r->console_lock, &until);
		}
		n = n ? n : -!!r->stopping;
		pthread_mutex_unlock(&r->console_lock);
		if (n < 0) {
			if (!r->stopping)
				warn_once(r, "lguest: the guest's console input ring is corrupt; no more input goes to it\n");
			return -1;
		}
		if (!n)
			continue;
		done += n;
		err = lg_vm_irq(&r->vm, 0, r->console_port);
		if (err) {
			warn_once(r, "lguest: cannot signal the guest's console: %s\n",
				  strerror(-err));
			return -1;
		}
	}
	return 0;
}

/* Ctrl-A x: the terminal back, a line that says why, and out at once. */
static void __attribute__((noreturn)) user_quit(struct run *r)
{
	lg_term_restore();
	pthread_mutex_lock(&r->console_lock);
	fflush(stdout);
	fputs("\nlguest: ended by the user (Ctrl-A x)\n", stderr);
	/*
	 * The vCPU threads may be asleep in the module: leaving the process
	 * ends them and the guest with it, as a SIGKILL would.
	 */
	_exit(LG_EXIT_USER);
}

/*
 * The console's input: our stdin, a byte stream to the guest's hvc0, until
 * it ends or the run does.  On a terminal, the escape is taken out first.
 */
static void *input_main(void *arg)
{
	struct run *r = arg;
	struct pollfd fds[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = r->stop[0], .events = POLLIN },
	};
	struct lg_escape esc = { 0 };
	char in[256], out[sizeof(in) + 1];

	for (;;) {
		int quit = 0;
		ssize_t n;
		size_t len;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		n = read(STDIN_FILENO, in, sizeof(in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* End of input: the guest reads nothing more, and runs on. */
		if (n <= 0)
			break;
		if (r->raw) {
			len = lg_escape_filter(&esc, in, n, out, &quit);
		} else {
			memcpy(out, in, n);
			len = n;
		}
		if (len && feed_console(r, out, len))
			break;
		if (quit)
			user_quit(r);
	}
	return NULL;
}

/*
 * Start the console's input, if there is a console and a stdin to read:
 * not when stdin is our controlling terminal and another process group
 * has its foreground (a launcher started with `&`), which a read would
 * stop with SIGTTIN.  A terminal that is not our controlling one (the
 * test VM's serial line) has no foreground for us (ENOTTY): it is read.
 */
static void start_input(struct run *r)
{
	pid_t fg;
	int rc;

	if (!r->console || fcntl(STDIN_FILENO, F_GETFL) < 0)
		return;
	fg = isatty(STDIN_FILENO) ? tcgetpgrp(STDIN_FILENO) : -1;
	if (fg >= 0 && fg != getpgrp())
		return;
	if (pipe2(r->stop, O_CLOEXEC)) {
		fprintf(stderr, "lguest: no console input: %s\n", strerror(errno));
		return;
	}
	r->raw = lg_term_raw(STDIN_FILENO);
	rc = pthread_create(&r->input, NULL, input_main, r);
	if (rc) {
		lg_term_restore();
		fprintf(stderr, "lguest: no console input: %s\n", strerror(rc));
		close(r->stop[0]);
		close(r->stop[1]);
		return;
	}
	r->input_started = 1;
}

static void stop_input(struct run *r)
{
	if (!r->input_started)
		return;
	pthread_mutex_lock(&r->console_lock);
	r->stopping = 1;
	pthread_cond_broadcast(&r->console_room);
	pthread_mutex_unlock(&r->console_lock);
	if (write(r->stop[1], "", 1) < 0)
		pthread_cancel(r->input);
	pthread_join(r->input, NULL);
	close(r->stop[0]);
	close(r->stop[1]);
	lg_term_restore();
}

static void console_failed(struct run *r, int err)
{
	if (err == -EPROTO)
		end_run(r, LG_EXIT_ERROR, "lguest: the guest's console ring is corrupt (its producer is more than a ring ahead)\n");
	else
		end_run(r, LG_EXIT_ERROR, "lguest: cannot write the guest's console: %s\n",
			strerror(-err));
}

/* Text the module collected from a Xen guest's console_io hypercall. */
static int console_exit(struct run *r, unsigned int vcpu,
			const struct lguest_exit *exit)
{
	if (exit->args[0] > sizeof(exit->msg)) {
		end_run(r, LG_EXIT_ERROR, "lguest: vCPU %u: a console exit of %llu bytes (a record holds %zu)\n",
			vcpu, (unsigned long long)exit->args[0], sizeof(exit->msg));
		return 1;
	}
	pthread_mutex_lock(&r->console_lock);
	fwrite(exit->msg, 1, exit->args[0], stdout);
	fflush(stdout);
	pthread_mutex_unlock(&r->console_lock);
	return 0;
}

/*
 * The guest signalled its xenstore channel: serve it (launcher/xen/
 * xsring.c), and signal back if there was anything to take or give.  A
 * guest that broke the protocol is no longer served, as by xenstored;
 * it runs on, and is told so once.
 */
static int store_event(struct run *r, unsigned int vcpu)
{
	int rc = xs_server_kick(r->xs), err;

	if (rc < 0) {
		warn_once(r, "lguest: vCPU %u: the guest broke the xenstore protocol (%s); it is no longer served\n",
			  vcpu, r->xs->broken);
		return 0;
	}
	if (!rc)
		return 0;
	err = lg_vm_irq(&r->vm, 0, r->store_port);
	if (err) {
		end_run(r, LG_EXIT_ERROR, "lguest: cannot signal the guest's xenstore: %s\n",
			strerror(-err));
		return 1;
	}
	return 0;
}

/* The guest has shut down: how becomes our exit status and a line on stderr. */
static void guest_shut_down(struct run *r, const struct lguest_exit *exit)
{
	int len = (int)strnlen(exit->msg, sizeof(exit->msg));
	const char *sep = len ? ": " : "", *what;
	int status = lg_shutdown_status(exit->args[0], exit->args[1], &what);

	if (!what)
		end_run(r, status, "lguest: guest shut down for reason %llu, which lguest does not handle%s%.*s\n",
			(unsigned long long)exit->args[0], sep, len, exit->msg);
	else
		end_run(r, status, "lguest: guest %s%s%.*s\n", what, sep, len, exit->msg);
}

/* One exit of vCPU @vcpu dealt with; 1 when the vCPU's run is over. */
static int handle_exit(struct run *r, unsigned int vcpu, const struct lguest_exit *exit)
{
	char err[256];
	int rc;

	switch (exit->reason) {
	case LGUEST_EXIT_NOTIFY:
		rc = lg_device_notify(&r->vm, vcpu, exit, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "lguest: vCPU %u: %s\n", vcpu, err);
		else if (!rc)
			warn_once(r, "lguest: vCPU %u: notify for no device (%llu); ignored\n",
				  vcpu, (unsigned long long)exit->args[0]);
		return 0;
	case LGUEST_EXIT_CONSOLE:
		return console_exit(r, vcpu, exit);
	case LGUEST_EXIT_EVTCHN:
		if (r->xs && exit->args[0] == r->store_port)
			return store_event(r, vcpu);
		for (rc = 0; rc < (int)r->nr_disks; rc++)
			if (blkback_event(r->disks[rc], exit->args[0]))
				return 0;
		for (rc = 0; rc < (int)r->nr_nets; rc++)
			if (netback_event(r->nets[rc], exit->args[0]))
				return 0;
		if (!r->console || exit->args[0] != r->console_port) {
			warn_once(r, "lguest: vCPU %u: event on channel %llu, which nothing here listens on; ignored\n",
				  vcpu, (unsigned long long)exit->args[0]);
			return 0;
		}
		rc = drain_console(r);
		if (!rc)
			return 0;
		console_failed(r, rc);
		return 1;
	case LGUEST_EXIT_SHUTDOWN:
	case LGUEST_EXIT_KILLED:
		/*
		 * What the guest wrote last may not have been signalled (a
		 * panic does not wait for us): print it before saying how
		 * the guest ended.  Its ring no longer matters if broken.
		 */
		drain_console(r);
		if (exit->reason == LGUEST_EXIT_KILLED)
			end_run(r, LG_EXIT_ERROR, "lguest: guest killed: %.*s\n",
				(int)strnlen(exit->msg, sizeof(exit->msg)), exit->msg);
		else
			guest_shut_down(r, exit);
		return 1;
	default:
		end_run(r, LG_EXIT_ERROR, "lguest: unknown exit reason %u\n", exit->reason);
		return 1;
	}
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *v = arg;
	struct run *r = v->run;
	struct lguest_exit exit;
	unsigned int dumped = 0;
	int rc;

	urcu_memb_register_thread();
	lg_dump_thread(v->id, true);
	for (;;) {
		lg_dump_vcpu(&r->vm, v->id, &dumped);
		rc = lg_vm_run(&r->vm, v->id, &exit);
		if (rc == -EINTR)
			continue;
		if (rc) {
			end_run(r, LG_EXIT_ERROR, "lguest: running vCPU %u failed: %s\n",
				v->id, strerror(-rc));
			break;
		}
		if (handle_exit(r, v->id, &exit))
			break;
	}
	lg_dump_thread(v->id, false);
	urcu_memb_unregister_thread();
	return NULL;
}

/* The whole of a file, read-only, for the time of loading a guest. */
struct file_map {
	void *p;
	uint64_t len;
};

static int map_file(const char *path, const char *what, struct file_map *f,
		    char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return xen_fail(err, errlen, "cannot open %s %s: %s", what, path,
				strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return xen_fail(err, errlen, "cannot read %s %s: %s", what, path,
				strerror(errno));
	}
	if (!S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return xen_fail(err, errlen, "%s %s is %s", what, path,
				S_ISREG(st.st_mode) ? "empty" : "not a regular file");
	}
	f->p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->p == MAP_FAILED)
		return xen_fail(err, errlen, "cannot map %s %s: %s", what, path,
				strerror(errno));
	f->len = st.st_size;
	return 0;
}

/*
 * A Xen PV kernel in guest memory, with the start of day Xen's domain
 * builder would leave it (launcher/xen/layout.c): the guest's RAM is
 * --mem, and the page above it, which the module gets too, is its
 * shared_info.  Fills @xen with where the module starts it.
 */
static int load_xen(const struct lg_options *opts, struct run *r, uint64_t *entry,
		    struct lguest_xen_start *xen, char *err, size_t errlen)
{
	struct file_map initrd = { NULL, 0 };
	struct xen_kernel k;
	struct xen_layout l;
	int ret;

	if (lg_vm_alloc(&r->vm, opts->mem_size + 4096 * XEN_EXTRA_PAGES, err, errlen) ||
	    xen_kernel_load(opts->kernel, r->vm.mem, opts->mem_size, &k, err, errlen) ||
	    (opts->initrd && map_file(opts->initrd, "the initrd", &initrd, err, errlen)))
		return -1;
	ret = xen_build_layout(&k, r->vm.mem, opts->mem_size, initrd.p, initrd.len,
			       opts->cmdline, &l, err, errlen);
	if (initrd.p)
		munmap(initrd.p, initrd.len);
	if (ret)
		return -1;

	*entry = l.rip;
	xen->cr3 = l.pt_pfn * 4096;		/* the L4 is the first table frame */
	xen->rsp = l.rsp;
	xen->rsi = l.rsi;
	xen->shared_info = l.shared_info_pfn * 4096;
	r->shared_info = (char *)r->vm.mem + l.shared_info_pfn * 4096;
	xen->console_port = XEN_CONSOLE_EVTCHN;
	r->console = (struct xencons_interface *)((char *)r->vm.mem + l.console_pfn * 4096);
	r->console_port = XEN_CONSOLE_EVTCHN;
	xen->gnttab = l.gnttab_pfn * 4096;
	xen->gnttab_frames = XEN_GNTTAB_FRAMES;
	xen->store_port = XEN_STORE_EVTCHN;
	r->store_port = XEN_STORE_EVTCHN;
	r->xs = malloc(sizeof(*r->xs));
	if (!r->xs || xs_server_init(r->xs, (char *)r->vm.mem + l.store_pfn * 4096) ||
	    xen_store_seed(&r->xs->store, "lguest", opts->mem_size >> 10, opts->nr_cpus))
		return xen_fail(err, errlen, "out of memory for the guest's xenstore");
	if (gnttab_init(&r->gnttab, r->vm.mem, l.gnttab_pfn, XEN_GNTTAB_FRAMES, l.nr_pages))
		return xen_fail(err, errlen, "out of memory for the guest's grant table");
	r->gnttab_ok = 1;
	return 0;
}

/*
 * The xenstore's watches of a back end: its connection is 1 + its index
 * for a disk, 1 + LG_MAX_DISKS + its index for a network interface.
 */
static void backend_fire(void *opaque, unsigned int conn)
{
	struct run *r = opaque;

	if (conn >= 1 && conn <= r->nr_disks)
		blkback_kick(r->disks[conn - 1]);
	else if (conn > LG_MAX_DISKS && conn <= LG_MAX_DISKS + r->nr_nets)
		netback_kick(r->nets[conn - 1 - LG_MAX_DISKS]);
}

/*
 * The guest, loaded into memory of ours first and only then made in the
 * module, so that a file that is not a guest leaves the host untouched.
 * Its disks are opened (and locked) first of all: a missing or busy
 * image is the user's mistake, told before anything else happens.
 */
static int make_guest(const struct lg_options *opts, struct run *r, char *err,
		      size_t errlen)
{
	struct lguest_xen_start xen = { 0 };
	uint64_t entry;
	unsigned int i;

	for (i = 0; i < opts->nr_disks; i++) {
		r->disks[i] = blkback_open(opts->disks[i].path, opts->disks[i].ro, i,
					   err, errlen);
		if (!r->disks[i])
			return -1;
		r->nr_disks++;
	}
	for (i = 0; i < opts->nr_nets; i++) {
		r->nets[i] = netback_open(opts->nets[i], i, err, errlen);
		if (!r->nets[i])
			return -1;
		r->nr_nets++;
	}
	if (opts->kernel) {
		if (load_xen(opts, r, &entry, &xen, err, errlen))
			return -1;
	} else if (lg_vm_alloc(&r->vm, opts->mem_size, err, errlen) ||
		   lg_load_elf(opts->guest, r->vm.mem, r->vm.mem_size, &entry,
			       err, errlen)) {
		return -1;
	}
	if (lg_vm_open(&r->vm, opts->device, err, errlen))
		return -1;
	r->vm.nr_vcpus = opts->nr_cpus;
	if (!opts->kernel)
		return lg_vm_init(&r->vm, entry, err, errlen);
	if (lg_vm_init_xen(&r->vm, entry, &xen, err, errlen))
		return -1;
	r->xs->backend_fire = backend_fire;
	r->xs->backend_opaque = r;
	for (i = 0; i < r->nr_disks; i++) {
		int rc = blkback_start(r->disks[i], &r->vm, r->xs, &r->gnttab,
				       r->store_port, 1 + i);

		if (rc)
			return xen_fail(err, errlen, "cannot start the back end of disk %s: %s",
					opts->disks[i].path, strerror(-rc));
	}
	for (i = 0; i < r->nr_nets; i++) {
		int rc = netback_start(r->nets[i], &r->vm, r->xs, &r->gnttab,
				       r->store_port, 1 + LG_MAX_DISKS + i);

		if (rc)
			return xen_fail(err, errlen, "cannot start the back end of %s: %s",
					opts->nets[i], strerror(-rc));
	}
	return 0;
}

/*
 * SIGTERM to a Xen guest's launcher asks the guest to power off, as `xl
 * shutdown` does: "poweroff" in its control/shutdown, which Linux
 * watches (drivers/xen/manage.c) and answers with an orderly poweroff.
 * A second SIGTERM ends the run at once, as the first does for a guest
 * without a xenstore (the default action: the terminal restored, death
 * by the signal).
 */
static void *signal_main(void *arg)
{
	struct run *r = arg;
	sigset_t set;
	int sig, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigwait(&set, &sig))
		return NULL;
	rc = xs_server_write(r->xs, "/local/domain/1/control/shutdown", "poweroff");
	if (rc >= 0) {
		fprintf(stderr, "\r\nlguest: SIGTERM: asking the guest to power off (SIGTERM again ends it now)\r\n");
		if (rc > 0)
			lg_vm_irq(&r->vm, 0, r->store_port);
		if (sigwait(&set, &sig))
			return NULL;
	}
	lg_term_restore();
	signal(SIGTERM, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTERM);
	return NULL;
}

/* For a guest with a xenstore: SIGTERM is signal_main()'s, in every thread. */
static void start_signals(struct run *r)
{
	pthread_t th;
	sigset_t set;

	if (!r->xs)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, signal_main, r)) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return;
	}
	pthread_detach(th);
}

/* What make_guest() made, gone again. */
static void run_free(struct run *r)
{
	unsigned int i;

	/* The back ends first: they use the guest's memory and channels. */
	for (i = 0; i < r->nr_disks; i++)
		blkback_close(r->disks[i]);
	r->nr_disks = 0;
	for (i = 0; i < r->nr_nets; i++)
		netback_close(r->nets[i]);
	r->nr_nets = 0;
	if (r->gnttab_ok)
		gnttab_free(&r->gnttab);
	r->gnttab_ok = 0;
	if (r->xs)
		xs_server_free(r->xs);
	free(r->xs);
	r->xs = NULL;
	lg_vm_destroy(&r->vm);
}

/*
 * Run the guest until it stops.  The exit status is the guest's own (the
 * status it gave when it powered off), or says how else it ended (lg_usage).
 */
static int cmd_run(const struct lg_options *opts)
{
	struct vcpu_thread *threads;
	struct run r = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.console_lock = PTHREAD_MUTEX_INITIALIZER,
		.console_room = PTHREAD_COND_INITIALIZER,
	};
	char err[256];
	unsigned int i;
	int rc;

	/* SIGUSR1's report (launcher/dump.c): before any thread exists. */
	rc = lg_dump_prepare();
	if (make_guest(opts, &r, err, sizeof(err))) {
		fprintf(stderr, "lguest: %s\n", err);
		run_free(&r);
		return LG_EXIT_ERROR;
	}
	threads = calloc(opts->nr_cpus, sizeof(*threads));
	if (!threads || lg_device_add(&lg_console_device)) {
		fprintf(stderr, "lguest: out of memory\n");
		free(threads);
		run_free(&r);
		return LG_EXIT_ERROR;
	}
	start_signals(&r);
	if (!rc)
		rc = lg_dump_init(opts->nr_cpus,
				  r.shared_info ? (uint64_t *)(r.shared_info + XEN_SI_EVTCHN_PENDING) : NULL,
				  r.shared_info ? (uint64_t *)(r.shared_info + XEN_SI_EVTCHN_MASK) : NULL);
	if (rc)
		fprintf(stderr, "lguest: no vCPU reports on SIGUSR1: %s\n", strerror(-rc));
	for (i = 0; i < opts->nr_cpus; i++) {
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
			_exit(LG_EXIT_ERROR);
		}
	}
	start_input(&r);
	for (i = 0; i < opts->nr_cpus; i++)
		pthread_join(threads[i].th, NULL);
	stop_input(&r);
	free(threads);
	lg_devices_free();
	run_free(&r);
	return r.status;
}

int main(int argc, char *argv[])
{
	struct lg_options opts;
	char err[256];

	if (lg_parse_options(argc, argv, &opts, err, sizeof(err))) {
		fprintf(stderr, "lguest: %s\n", err);
		return LG_EXIT_USAGE;
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
