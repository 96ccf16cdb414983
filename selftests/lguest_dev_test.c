// SPDX-License-Identifier: GPL-2.0
/*
 * lguest_dev_test: the life of /dev/lguest itself, before any guest runs.
 *
 * Every open of the device is a guest of its own; every malformed request is
 * refused with EINVAL and changes nothing; every close frees the guest; and
 * after a thousand guests have come and gone the module still unloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "launcher.h"

/* LHREQ_INFO through a fresh open file (itself a guest, without memory). */
static struct lguest_info fresh_info(struct __test_metadata *_metadata)
{
	struct lguest_info info = { 0 };
	int fd = open(LGUEST_DEV, O_RDWR);

	EXPECT_LE(0, fd);
	EXPECT_EQ(0, lg_info(fd, &info));
	close(fd);
	return info;
}

/* How many guests the module says are alive, not counting that one. */
static int live_guests(struct __test_metadata *_metadata)
{
	return (int)fresh_info(_metadata).nr_guests - 1;
}

TEST(node_is_root_only_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(LGUEST_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
}

TEST(info_describes_module_and_guest)
{
	struct lguest_info info;
	int fd = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	memset(&info, 0xaa, sizeof(info));
	ASSERT_EQ(0, lg_info(fd, &info));
	EXPECT_EQ(LGUEST_ABI_VERSION, info.abi_version);
	EXPECT_EQ(LGUEST_MAX_VCPUS, info.max_vcpus);
	EXPECT_EQ(sysconf(_SC_NPROCESSORS_ONLN), info.host_cpus);
	EXPECT_LE(1, info.nr_guests);
	EXPECT_EQ(0, info.hole_mapped);
	EXPECT_NE(NULL, memchr(info.version, 0, sizeof(info.version)));
	EXPECT_LT(0, strlen(info.version));
	/* The host's paging depth, as the CPU flags tell it. */
	EXPECT_EQ(system("grep -qw la57 /proc/cpuinfo") == 0,
		  !!(info.host_caps & LGUEST_HOST_LA57));
	close(fd);
}

/*
 * make check runs us under two CPU configurations; the module must see the
 * one it runs on (LG_EXPECT_CAPS / LG_EXPECT_NO_CAPS: capability names).
 */
TEST(host_caps_match_the_vm_configuration)
{
	const char *want = getenv("LG_EXPECT_CAPS");
	const char *unwanted = getenv("LG_EXPECT_NO_CAPS");
	char list[256], *name, *save;
	struct lguest_info info;
	int fd, pass;

	if (!want && !unwanted)
		SKIP(return, "no LG_EXPECT_CAPS: not run by make check");
	fd = open(LGUEST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lg_info(fd, &info));
	close(fd);
	for (pass = 0; pass < 2; pass++) {
		snprintf(list, sizeof(list), "%s", (pass ? unwanted : want) ?: "");
		for (name = strtok_r(list, " ", &save); name;
		     name = strtok_r(NULL, " ", &save)) {
			ASSERT_NE(0, lg_cap_bit(name)) TH_LOG("unknown cap %s", name);
			EXPECT_EQ(!pass, !!(info.host_caps & lg_cap_bit(name))) {
				TH_LOG("%s should be %s", name, pass ? "off" : "on");
			}
		}
	}
}

TEST(second_open_is_an_independent_guest)
{
	struct lguest_info a, b, a2;
	int base = live_guests(_metadata);
	int fa = open(LGUEST_DEV, O_RDWR);
	int fb = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, lg_info(fa, &a));
	ASSERT_EQ(0, lg_info(fb, &b));
	EXPECT_NE(a.guest_id, b.guest_id);
	EXPECT_EQ(base + 2, b.nr_guests);

	/* Closing one leaves the other whole. */
	close(fb);
	ASSERT_EQ(0, lg_info(fa, &a2));
	EXPECT_EQ(a.guest_id, a2.guest_id);
	EXPECT_EQ(base + 1, a2.nr_guests);
	close(fa);
}

TEST(unknown_requests_fail_without_side_effects)
{
	static const uint64_t bad[] = { 0, LHREQ_INFO + 1, 999, 1ULL << 32, ~0ULL };
	struct lguest_info before, after;
	unsigned char junk[16];
	unsigned int i;
	int fd = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lg_info(fd, &before));
	memset(junk, 0, sizeof(junk));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, lg_request(fd, bad[i], NULL, 0));
		EXPECT_EQ(-EINVAL, lg_request(fd, bad[i], junk, sizeof(junk)));
	}
	ASSERT_EQ(0, lg_info(fd, &after));
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
	close(fd);
}

TEST(short_and_oversized_writes_fail_without_side_effects)
{
	struct lguest_info info, check;
	struct {
		uint64_t req;
		struct lguest_req_info args;
		uint64_t extra;
	} __attribute__((packed)) msg = {
		.req = LHREQ_INFO,
		.args = { .addr = (uintptr_t)&info, .size = sizeof(info) },
	};
	size_t len;
	int fd = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	memset(&info, 0x5a, sizeof(info));
	memset(&check, 0x5a, sizeof(check));

	/* Every length but the exact one is refused, and info stays untouched. */
	for (len = 0; len <= sizeof(msg); len++) {
		if (len == sizeof(msg.req) + sizeof(msg.args))
			continue;
		errno = 0;
		EXPECT_EQ(-1, write(fd, &msg, len)) {
			TH_LOG("length %zu accepted", len);
		}
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(0, memcmp(&info, &check, sizeof(info)));

	/* The exact length works on the same file afterwards. */
	EXPECT_EQ((ssize_t)(sizeof(msg.req) + sizeof(msg.args)),
		  write(fd, &msg, sizeof(msg.req) + sizeof(msg.args)));
	EXPECT_EQ(LGUEST_ABI_VERSION, info.abi_version);
	close(fd);
}

/* Hidden from the compiler, which would rightly refuse to pass it. */
static void *volatile bad_user_pointer = (void *)8;

TEST(info_with_wrong_size_or_pointer_is_refused)
{
	struct lguest_info info, check;
	struct lguest_req_info req = { .addr = (uintptr_t)&info };
	int fd = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	memset(&info, 0x33, sizeof(info));
	memcpy(&check, &info, sizeof(info));

	req.size = sizeof(info) - 1;
	EXPECT_EQ(-EINVAL, lg_request(fd, LHREQ_INFO, &req, sizeof(req)));
	req.size = sizeof(info) + 8;
	EXPECT_EQ(-EINVAL, lg_request(fd, LHREQ_INFO, &req, sizeof(req)));
	EXPECT_EQ(0, memcmp(&info, &check, sizeof(info)));

	/* Unmapped and kernel addresses are EFAULT, never a host crash. */
	req.size = sizeof(info);
	req.addr = 8;
	EXPECT_EQ(-EFAULT, lg_request(fd, LHREQ_INFO, &req, sizeof(req)));
	req.addr = 0xffffffff81000000ULL;
	EXPECT_EQ(-EFAULT, lg_request(fd, LHREQ_INFO, &req, sizeof(req)));
	/* A request that itself lies outside our memory. */
	EXPECT_EQ(-1, write(fd, bad_user_pointer, 24));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(read_before_a_guest_exists_is_refused)
{
	char buf[64];
	int fd = open(LGUEST_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(closing_frees_every_guest)
{
	enum { N = 100 };
	int fds[N], i, base = live_guests(_metadata);
	struct lguest_info info;
	pid_t child;
	int status;

	for (i = 0; i < N; i++) {
		fds[i] = open(LGUEST_DEV, O_RDWR);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, lg_info(fds[N - 1], &info));
	EXPECT_EQ(base + N, info.nr_guests);
	for (i = 0; i < N; i++)
		close(fds[i]);
	EXPECT_EQ(base, live_guests(_metadata));

	/* A launcher killed with its guest open frees it too. */
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		if (open(LGUEST_DEV, O_RDWR) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	while (live_guests(_metadata) != base + 1)
		usleep(1000);
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(base, live_guests(_metadata));
}

/* A guest of @len bytes of fresh memory in fd @fd; 0 or -errno. */
static int init_guest(int fd, size_t len)
{
	struct lguest_req_init init = { .size = len, .nr_vcpus = 1 };
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return -ENOMEM;
	init.base = (uintptr_t)mem;
	return lg_request(fd, LHREQ_INITIALIZE, &init, sizeof(init));
}

static uint32_t hole_mapped(struct __test_metadata *_metadata)
{
	return fresh_info(_metadata).hole_mapped;
}

/*
 * The switcher's slot of the hypervisor hole is in the launcher's page
 * tables from its first guest's creation to its last one's end, and then
 * gone (LHREQ_INFO reads the entry itself).  An open file without memory
 * is not a guest yet.
 */
TEST(the_hole_is_mapped_only_while_a_guest_lives)
{
	int a, b;

	if (live_guests(_metadata))
		SKIP(return, "other guests are alive");
	EXPECT_EQ(0, hole_mapped(_metadata));
	a = open(LGUEST_DEV, O_RDWR);
	b = open(LGUEST_DEV, O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(0, hole_mapped(_metadata));
	ASSERT_EQ(0, init_guest(a, 1 << 20));
	EXPECT_EQ(1, hole_mapped(_metadata));
	ASSERT_EQ(0, init_guest(b, 1 << 20));
	close(a);
	EXPECT_EQ(1, hole_mapped(_metadata));
	close(b);
	EXPECT_EQ(0, hole_mapped(_metadata));
}

/*
 * The module can be unloaded after a thousand guests came and went, and
 * loaded again.  vm-run tells us where lg.ko is; without it we cannot reload,
 * so we skip rather than leave the host without the module.  LG_NO_RELOAD
 * skips it too: each load and unload patches kernel text (the preempt
 * notifier key), which QEMU's multi-threaded TCG rarely survives
 * (docs/limits.md M:002), so make check reloads in two configurations only.
 */
TEST(unload_after_1000_open_close_cycles)
{
	const char *ko = getenv("LG_KO");
	const char *no = getenv("LG_NO_RELOAD");
	int i, kofd, base;

	if (!ko)
		SKIP(return, "LG_KO not set: cannot reload the module");
	if (no && *no)
		SKIP(return, "LG_NO_RELOAD set: the module is not reloaded here");
	base = live_guests(_metadata);
	ASSERT_EQ(0, base);
	for (i = 0; i < 1000; i++) {
		int fd = open(LGUEST_DEV, O_RDWR);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, close(fd));
	}
	ASSERT_EQ(0, syscall(SYS_delete_module, "lg", O_NONBLOCK)) {
		TH_LOG("delete_module: %s", strerror(errno));
	}
	EXPECT_NE(0, access(LGUEST_DEV, F_OK));

	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd);
	ASSERT_EQ(0, syscall(SYS_finit_module, kofd, "", 0)) {
		TH_LOG("finit_module %s: %s", ko, strerror(errno));
	}
	close(kofd);
	EXPECT_EQ(0, access(LGUEST_DEV, F_OK));
	EXPECT_EQ(0, live_guests(_metadata));
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
