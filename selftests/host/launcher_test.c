// SPDX-License-Identifier: GPL-2.0
/*
 * launcher_test: the launcher's command line and its capability names,
 * checked on the host without a kernel.
 */
#include "kselftest_harness.h"
#include <linux/lguest.h>
#include "launcher.h"

#define ERRLEN	256

static int parse(struct lg_options *o, char *err, int argc, ...)
{
	char *argv[16];
	va_list ap;
	int i;

	va_start(ap, argc);
	argv[0] = "lguest";
	for (i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	va_end(ap);
	err[0] = '\0';
	return lg_parse_options(argc, argv, o, err, ERRLEN);
}

TEST(info_with_default_device)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 2, "info"));
	EXPECT_EQ(LG_CMD_INFO, o.cmd);
	EXPECT_STREQ("/dev/lguest", o.device);
}

TEST(device_option_both_spellings)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 4, "--device", "/tmp/x", "info"));
	EXPECT_STREQ("/tmp/x", o.device);
	ASSERT_EQ(0, parse(&o, err, 3, "info", "--device=/dev/y"));
	EXPECT_STREQ("/dev/y", o.device);
	EXPECT_EQ(LG_CMD_INFO, o.cmd);
}

TEST(errors_are_one_clear_line)
{
	struct lg_options o;
	char err[ERRLEN];

	EXPECT_EQ(-1, parse(&o, err, 1));
	EXPECT_STREQ("no command given (try 'lguest help')", err);
	EXPECT_EQ(-1, parse(&o, err, 2, "frobnicate"));
	EXPECT_STREQ("unknown command 'frobnicate'", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "--bogus", "info"));
	EXPECT_STREQ("unknown option '--bogus'", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "info", "--device"));
	EXPECT_STREQ("--device needs a path", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "info", "extra"));
	EXPECT_STREQ("unexpected argument 'extra'", err);
	EXPECT_EQ(NULL, strchr(err, '\n'));
}

TEST(help_and_version)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 2, "--help"));
	EXPECT_EQ(LG_CMD_HELP, o.cmd);
	ASSERT_EQ(0, parse(&o, err, 2, "help"));
	EXPECT_EQ(LG_CMD_HELP, o.cmd);
	ASSERT_EQ(0, parse(&o, err, 2, "--version"));
	EXPECT_EQ(LG_CMD_VERSION, o.cmd);
}

TEST(caps_are_named)
{
	char buf[128];

	lg_format_caps(0, buf, sizeof(buf));
	EXPECT_STREQ("none", buf);
	lg_format_caps(LGUEST_HOST_LA57 | LGUEST_HOST_SMAP, buf, sizeof(buf));
	EXPECT_STREQ("la57 smap", buf);
	lg_format_caps(LGUEST_HOST_PTI | (1ULL << 40), buf, sizeof(buf));
	EXPECT_STREQ("pti unknown:0x10000000000", buf);
	/* Truncation never overruns the buffer. */
	memset(buf, 'x', sizeof(buf));
	lg_format_caps(~0ULL, buf, 8);
	EXPECT_EQ('x', buf[8]);
	EXPECT_NE(NULL, memchr(buf, '\0', 8));
}

TEST(sizes)
{
	uint64_t v;

	ASSERT_EQ(0, lg_parse_size("4096", &v));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, lg_parse_size("64M", &v));
	EXPECT_EQ(64ULL << 20, v);
	ASSERT_EQ(0, lg_parse_size("2g", &v));
	EXPECT_EQ(2ULL << 30, v);
	ASSERT_EQ(0, lg_parse_size("16K", &v));
	EXPECT_EQ(16384, v);
	EXPECT_EQ(-1, lg_parse_size("", &v));
	EXPECT_EQ(-1, lg_parse_size("M", &v));
	EXPECT_EQ(-1, lg_parse_size("0", &v));
	EXPECT_EQ(-1, lg_parse_size("12Q", &v));
	EXPECT_EQ(-1, lg_parse_size("-5M", &v));
	EXPECT_EQ(-1, lg_parse_size("99999999999999999999", &v));
	EXPECT_EQ(-1, lg_parse_size("17179869184G", &v));
}

TEST(run_command_line)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 3, "run", "g.elf"));
	EXPECT_EQ(LG_CMD_RUN, o.cmd);
	EXPECT_STREQ("g.elf", o.guest);
	EXPECT_EQ(64ULL << 20, o.mem_size);
	ASSERT_EQ(0, parse(&o, err, 5, "run", "--mem", "16M", "g.elf"));
	EXPECT_EQ(16ULL << 20, o.mem_size);
	ASSERT_EQ(0, parse(&o, err, 4, "run", "g.elf", "--mem=4G"));
	EXPECT_EQ(4ULL << 30, o.mem_size);
	EXPECT_EQ(-1, parse(&o, err, 2, "run"));
	EXPECT_STREQ("run: which guest? (lguest run GUEST.elf, or lguest run --kernel VMLINUZ)", err);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--mem", "5G", "g.elf"));
	EXPECT_STREQ("--mem wants a size in whole pages up to 4G, like 64M (got '5G')", err);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--mem", "1000", "g.elf"));
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--mem"));
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "a.elf", "b.elf"));
	EXPECT_STREQ("unexpected argument 'b.elf'", err);
}

TEST(cpus)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 3, "run", "g.elf"));
	EXPECT_EQ(1, o.nr_cpus);
	ASSERT_EQ(0, parse(&o, err, 5, "run", "--cpus", "4", "g.elf"));
	EXPECT_EQ(4, o.nr_cpus);
	ASSERT_EQ(0, parse(&o, err, 4, "run", "--cpus=64", "g.elf"));
	EXPECT_EQ(64, o.nr_cpus);
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "--cpus=65", "g.elf"));
	EXPECT_STREQ("--cpus wants a number of vCPUs from 1 to 64 (got '65')", err);
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "--cpus=0", "g.elf"));
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "--cpus=2x", "g.elf"));
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--cpus"));
	EXPECT_STREQ("--cpus wants a number of vCPUs from 1 to 64 (got '')", err);
}

/* A Xen PV kernel instead of a guest ELF: 256M by default, one vCPU. */
TEST(run_a_xen_kernel)
{
	struct lg_options o;
	char err[ERRLEN];

	ASSERT_EQ(0, parse(&o, err, 4, "run", "--kernel", "vmlinuz"));
	EXPECT_EQ(LG_CMD_RUN, o.cmd);
	EXPECT_STREQ("vmlinuz", o.kernel);
	EXPECT_EQ(NULL, o.guest);
	EXPECT_EQ(NULL, o.initrd);
	EXPECT_EQ(NULL, o.append);
	EXPECT_EQ(256ULL << 20, o.mem_size);
	EXPECT_EQ(1, o.nr_cpus);
	ASSERT_EQ(0, parse(&o, err, 8, "--kernel=vmlinuz", "run", "--initrd", "initrd.img",
			   "--append", "console=hvc0 quiet", "--mem=128M"));
	EXPECT_STREQ("vmlinuz", o.kernel);
	EXPECT_STREQ("initrd.img", o.initrd);
	EXPECT_STREQ("console=hvc0 quiet", o.append);
	/* What the kernel gets: noreplace-smp first (options.c says why). */
	EXPECT_STREQ("noreplace-smp console=hvc0 quiet", o.cmdline);
	EXPECT_EQ(128ULL << 20, o.mem_size);
	ASSERT_EQ(0, parse(&o, err, 6, "run", "--kernel", "v", "--append=", "--cpus=1"));
	EXPECT_STREQ("", o.append);
	EXPECT_STREQ("noreplace-smp", o.cmdline);
	/* A guest ELF keeps its 64M. */
	ASSERT_EQ(0, parse(&o, err, 3, "run", "g.elf"));
	EXPECT_EQ(64ULL << 20, o.mem_size);
	EXPECT_EQ(NULL, o.kernel);
}

TEST(run_a_xen_kernel_refuses_what_makes_no_guest)
{
	char append[1100], arg[1200];
	struct lg_options o;
	char err[ERRLEN];

	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--initrd", "i.img", "g.elf"));
	EXPECT_STREQ("--initrd goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network", err);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--append", "quiet", "g.elf"));
	EXPECT_STREQ("--append goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--initrd=i.img"));
	EXPECT_STREQ("--initrd goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network", err);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--kernel", "v", "g.elf"));
	EXPECT_STREQ("run takes a GUEST.elf or --kernel VMLINUZ, not both (got 'g.elf' and --kernel 'v')", err);
	ASSERT_EQ(0, parse(&o, err, 5, "run", "--kernel", "v", "--cpus=2"));
	EXPECT_EQ(2, o.nr_cpus);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--kernel", "v", "--mem=4G"));
	EXPECT_STREQ("--mem with --kernel is at most 4G less 33 pages: above the guest's RAM lie its shared_info and grant table", err);
	ASSERT_EQ(0, parse(&o, err, 5, "run", "--kernel", "v", "--mem=4194172K"));
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--kernel", "v", "--mem=4194176K"));
	/* Disks: several, read-only with ",ro", only for a kernel. */
	ASSERT_EQ(0, parse(&o, err, 7, "run", "--kernel", "v", "--disk", "a.img", "--disk=b.img,ro"));
	EXPECT_EQ(2, o.nr_disks);
	EXPECT_STREQ("a.img", o.disks[0].path);
	EXPECT_EQ(0, o.disks[0].ro);
	EXPECT_STREQ("b.img", o.disks[1].path);
	EXPECT_EQ(1, o.disks[1].ro);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--disk", "a.img", "g.elf"));
	EXPECT_STREQ("--disk goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network", err);
	EXPECT_EQ(-1, parse(&o, err, 6, "run", "--kernel", "v", "--disk", ",ro"));
	EXPECT_STREQ("--disk needs the path of a raw disk image (IMAGE or IMAGE,ro)", err);
	ASSERT_EQ(0, parse(&o, err, 5, "run", "--kernel", "v", "--net=tap=lg0"));
	EXPECT_EQ(1, o.nr_nets);
	EXPECT_STREQ("tap=lg0", o.nets[0]);
	EXPECT_EQ(-1, parse(&o, err, 6, "run", "--kernel", "v", "--net", "bridge=br0"));
	EXPECT_STREQ("--net takes tap=NAME (got 'bridge=br0')", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--kernel"));
	EXPECT_STREQ("--kernel needs the path of a Xen PV kernel (a vmlinuz)", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--kernel="));
	EXPECT_STREQ("--kernel needs the path of a Xen PV kernel (a vmlinuz)", err);
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "--kernel=v", "--initrd"));
	EXPECT_STREQ("--initrd needs the path of an initrd", err);
	EXPECT_EQ(-1, parse(&o, err, 4, "run", "--kernel=v", "--append"));
	EXPECT_STREQ("--append needs the kernel's command line", err);
	EXPECT_EQ(-1, parse(&o, err, 3, "run", "--kernels=v"));
	EXPECT_STREQ("unknown option '--kernels=v'", err);

	/* Xen's MAX_GUEST_CMDLINE is 1024 bytes with the NUL. */
	memset(append, 'x', sizeof(append));
	append[1023] = 0;
	ASSERT_EQ(0, parse(&o, err, 6, "run", "--kernel", "v", "--append", append));
	EXPECT_EQ(1023, strlen(o.append));
	/* No room for noreplace-smp: the user's line, as it is. */
	EXPECT_STREQ(append, o.cmdline);
	append[1023] = 'x';
	append[1024] = 0;
	EXPECT_EQ(-1, parse(&o, err, 6, "run", "--kernel", "v", "--append", append));
	EXPECT_STREQ("--append is 1024 bytes long; a Xen PV kernel's command line holds at most 1023", err);
	snprintf(arg, sizeof(arg), "--append=%s", append);
	EXPECT_EQ(-1, parse(&o, err, 5, "run", "--kernel", "v", arg));
	EXPECT_STREQ("--append is 1024 bytes long; a Xen PV kernel's command line holds at most 1023", err);
}

/* What `lguest run` exits with, as `lguest --help` lists it. */
TEST(how_a_guest_ends_is_the_exit_status)
{
	const char *what;

	EXPECT_EQ(0, lg_shutdown_status(LGUEST_SHUTDOWN_POWEROFF, 0, &what));
	EXPECT_STREQ("powered off", what);
	EXPECT_EQ(3, lg_shutdown_status(LGUEST_SHUTDOWN_POWEROFF, 3, &what));
	EXPECT_EQ(255, lg_shutdown_status(LGUEST_SHUTDOWN_POWEROFF, 255, &what));
	EXPECT_EQ(65, lg_shutdown_status(LGUEST_SHUTDOWN_RESTART, 0, &what));
	EXPECT_STREQ("asked for a restart", what);
	EXPECT_EQ(66, lg_shutdown_status(LGUEST_SHUTDOWN_CRASH, 0, &what));
	EXPECT_STREQ("crashed", what);
	EXPECT_EQ(67, lg_shutdown_status(LGUEST_SHUTDOWN_WATCHDOG, 0, &what));
	EXPECT_STREQ("was stopped by its watchdog", what);
	/* Xen's suspend (2) and soft reset (5), and nonsense: errors. */
	EXPECT_EQ(1, lg_shutdown_status(2, 0, &what));
	EXPECT_EQ(NULL, what);
	EXPECT_EQ(1, lg_shutdown_status(5, 0, &what));
	EXPECT_EQ(NULL, what);
	EXPECT_EQ(1, lg_shutdown_status(~0ULL, 0, &what));
	EXPECT_EQ(NULL, what);
	/* The usage text documents each. */
	EXPECT_NE(NULL, strstr(lg_usage, "run --kernel VMLINUZ [--initrd FILE] [--append CMDLINE]"));
	EXPECT_NE(NULL, strstr(lg_usage, "  65    the guest asked for a restart\n"));
	EXPECT_NE(NULL, strstr(lg_usage, "  66    the guest crashed\n"));
	EXPECT_NE(NULL, strstr(lg_usage, "  67    the guest's watchdog fired\n"));
	EXPECT_NE(NULL, strstr(lg_usage, "  2     a mistake on the command line\n"));
}

TEST(cap_names_round_trip)
{
	char buf[128];
	uint64_t bit;

	for (bit = 1; bit <= LGUEST_HOST_UMIP; bit <<= 1) {
		lg_format_caps(bit, buf, sizeof(buf));
		EXPECT_EQ(bit, lg_cap_bit(buf));
	}
	EXPECT_EQ(0, lg_cap_bit("none"));
	EXPECT_EQ(0, lg_cap_bit("la5"));
}

/*
 * The terminal's escape: Ctrl-A x quits, keeping what came before it;
 * Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A and any other key are both typed;
 * an escape split across two reads still works.
 */
TEST(the_escape_is_taken_out_of_what_the_user_types)
{
	struct lg_escape e = { 0 };
	char out[16];
	int quit = 0;

	EXPECT_EQ(3, lg_escape_filter(&e, "ls\n", 3, out, &quit));
	EXPECT_EQ(0, memcmp(out, "ls\n", 3));
	EXPECT_EQ(0, quit);
	EXPECT_EQ(2, lg_escape_filter(&e, "ab\x01x", 4, out, &quit));
	EXPECT_EQ(1, quit);
	EXPECT_EQ(0, memcmp(out, "ab", 2));
	quit = 0;
	e.armed = 0;
	EXPECT_EQ(1, lg_escape_filter(&e, "\x01\x01", 2, out, &quit));
	EXPECT_EQ('\x01', out[0]);
	EXPECT_EQ(2, lg_escape_filter(&e, "\x01c", 2, out, &quit));
	EXPECT_EQ(0, memcmp(out, "\x01c", 2));
	/* Split: the Ctrl-A ends one read, its key begins the next. */
	EXPECT_EQ(1, lg_escape_filter(&e, "q\x01", 2, out, &quit));
	EXPECT_EQ(1, e.armed);
	EXPECT_EQ(2, lg_escape_filter(&e, "k", 1, out, &quit));
	EXPECT_EQ(0, memcmp(out, "\x01k", 2));
	EXPECT_EQ(0, quit);
	EXPECT_EQ(0, lg_escape_filter(&e, "\x01", 1, out, &quit));
	EXPECT_EQ(0, lg_escape_filter(&e, "X", 1, out, &quit));
	EXPECT_EQ(1, quit);
}

TEST_HARNESS_MAIN
