# SPDX-License-Identifier: GPL-2.0
#
# lguest's thin Makefile.  The module itself is described by Kbuild; this
# file builds it with the kernel's build system and builds the user-space
# parts (launcher, selftests, host tests) directly.
#
#   make          build everything (fetches the pinned kernel on first use)
#   make run      boot the test VM, load lg.ko, run the SMP demo guest
#   make check    host tests, then the selftests in the VM, two CPU models
#   make check-debug  the selftests on a debug kernel (KASAN, lockdep, ...)
#   make fuzz     fuzz_test on the debug kernel, FUZZ_SECONDS=600 by default
#   make xen-oracle  Debian's Xen 4.17 against lguest on the same Linux boot
#   make xen-bench   the same Linux guest's costs under Xen 4.17 and lguest
#   make clean
#
# KDIR=/path builds lg.ko against another kernel (a native host with module
# loading); by default it is the Debian kernel tools/deps resolved.

.DEFAULT_GOAL := all
TOP := $(CURDIR)
CACHE := $(TOP)/.cache

# LG_NO_DEPS=1 (debian/rules): the launcher, the guests and the module's
# sources need no pinned kernel, nor tools/deps' downloads.
ifneq ($(LG_NO_DEPS),)
else ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
include $(CACHE)/deps.env
else
-include $(CACHE)/deps.env
endif

ifeq ($(LG_NO_DEPS),)
$(CACHE)/deps.env: tools/deps
	tools/deps
endif

KDIR ?= $(KDIR_DEFAULT)

CC := gcc
CFLAGS := -O2 -g -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	  -I$(TOP)/include/uapi
SELFTEST_CFLAGS := $(CFLAGS) -I$(KSELFTEST) -Wno-unused-parameter -Wno-sign-compare \
		   -Wno-missing-field-initializers

LAUNCHER := launcher/lguest
LAUNCHER_OBJS := launcher/main.o launcher/dump.o launcher/options.o launcher/caps.o \
		 launcher/elf.o launcher/vm.o launcher/devices.o launcher/term.o

# Guests: freestanding, static, at CPL3 with interrupts delivered on their
# own stacks (hence no red zone), using no SSE so the runtime needs no FPU
# setup of its own.
GUEST_CFLAGS := -O2 -g -Wall -Wextra -Werror -std=gnu11 -ffreestanding \
		-fno-pie -fno-stack-protector -fno-builtin -mno-red-zone \
		-mgeneral-regs-only -fcf-protection=none -nostdlib \
		-I$(TOP)/include/uapi -I$(TOP)/guest/include
GUEST_LIB := guest/lib/start.o guest/lib/entry.o guest/lib/runtime.o \
	     guest/lib/printf.o guest/lib/paging.o guest/lib/task.o guest/lib/smp.o
GUESTS := guest/demo.elf guest/tests/exit3.elf guest/tests/crash.elf guest/tests/spin.elf
# The Linux guest's user-mode benchmark (make bench): an ordinary program,
# static because the guest's initramfs has busybox and no libc; tools/bench
# runs it natively in the test VM too.
LGBENCH := guest/linux/lgbench
# And the SMP guest's check that its CPUs agree (linux_guest_test.sh).
LGSTRESS := guest/linux/lgstress
# And its block I/O rows (make bench's linux_io).
LGIO := guest/linux/lgio
# Selftests with guest code beside host code (selftests/lib/lg_test.h): static,
# not position independent, so the guest runs the same bytes at the same
# addresses; no red zone and no stack protector in guest code.
GUEST_TESTS := selftests/world_switch_test selftests/isolation_test \
	       selftests/paging_test selftests/user_test selftests/smp_test \
	       selftests/hostile_test selftests/spec_test selftests/gdt_test \
	       selftests/xen_abi_test selftests/xen_user_test selftests/xen_blk_test \
	       selftests/xen_net_test \
	       selftests/fuzz_test
SELFTESTS := selftests/lguest_dev_test $(GUEST_TESTS)
BENCHES := bench/switch_bench bench/smp_bench
SELFTEST_LIB := selftests/lib/lg_test.o selftests/lib/lg_test_entry.o \
		selftests/lib/guest_insns.o selftests/lib/xen_test.o \
		selftests/lib/xen_test_entry.o launcher/elf.o launcher/vm.o \
		guest/lib/entry.o guest/lib/runtime.o guest/lib/printf.o \
		guest/lib/paging.o guest/lib/task.o guest/lib/smp.o
GUEST_TEST_CFLAGS := $(SELFTEST_CFLAGS) -fno-pie -mno-red-zone \
		     -fno-stack-protector -fcf-protection=none \
		     -I$(TOP)/guest/include -I$(TOP)/selftests/lib \
		     -I$(TOP)/launcher -I$(TOP)/selftests
HOSTTESTS := selftests/host/uapi_test selftests/host/launcher_test \
	     selftests/host/xen_kernel_test selftests/host/xenstore_test
# The launcher's Xen PV side (issue 11, under way): the kernel loader, the
# start-of-day layout and the console ring, linked into the launcher.
XEN_LAUNCHER_OBJS := launcher/xen/kernel.o launcher/xen/layout.o launcher/xen/console.o \
		     launcher/xen/store.o launcher/xen/xsring.o launcher/xen/toolstack.o
# Its back ends, which drive the module and do I/O: the launcher's alone.
XEN_BACKEND_OBJS := launcher/xen/gnttab.o launcher/xen/xenbus.o launcher/xen/blkback.o \
		    launcher/xen/netback.o

.PHONY: all module dkms-src deb launcher guests selftests benches bench hosttests check run run-linux xen-oracle xen-bench clean distclean \
	checkpatch sparse check-debug fuzz

all: module launcher guests selftests hosttests benches

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

# The module's sources as DKMS builds them (dkms.conf; the lguest-dkms
# package's /usr/src/lguest-VERSION): Kbuild and the module's directories.
MODULE_DIRS := include vcpu switcher pgtable sched xen
dkms-src:
	@[ -n "$(DESTDIR)" ] || { echo "make dkms-src wants DESTDIR=DIR" >&2; exit 2; }
	mkdir -p $(DESTDIR)
	cp Kbuild dkms.conf $(DESTDIR)/
	find $(MODULE_DIRS) -type f \( -name '*.[chS]' -o -name README.md \) ! -name '*.mod.c' | \
		tar -cf - -T - | tar -xf - -C $(DESTDIR)

# The Debian packages (debian/): lguest and lguest-dkms, built from a copy
# of the tracked files in .cache/deb/, where the .debs land.
deb:
	rm -rf $(CACHE)/deb && mkdir -p $(CACHE)/deb/lguest
	git ls-files | tar -cf - -T - | tar -xf - -C $(CACHE)/deb/lguest
	cd $(CACHE)/deb/lguest && dpkg-buildpackage -b -us -uc > ../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	ls $(CACHE)/deb/*.deb

launcher: $(LAUNCHER)
benches: $(BENCHES)
guests: $(GUESTS) $(LGBENCH) $(LGSTRESS) $(LGIO) $(CACHE)/linux-initramfs.cpio.gz

# The busybox initramfs Linux guests boot (selftests/linux_guest_test.sh),
# and the md5 its /init must print; it carries the in-guest benchmark too.
$(CACHE)/linux-initramfs.cpio.gz: tools/linux-initramfs guest/linux/init $(LGBENCH) $(LGSTRESS) $(LGIO)
	tools/linux-initramfs $@ > $@.md5.tmp && mv $@.md5.tmp $@.md5

guest/lib/%.o: guest/lib/%.c guest/include/*.h include/uapi/linux/lguest.h
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

guest/lib/%.o: guest/lib/%.S
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

guest/tests/%.o: guest/tests/%.c guest/include/*.h include/uapi/linux/lguest.h
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

guest/%.o: guest/%.c guest/include/*.h include/uapi/linux/lguest.h
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

.SECONDARY: $(GUEST_LIB) $(SELFTEST_LIB)

guest/%.elf: guest/%.o $(GUEST_LIB) guest/guest.lds
	$(CC) $(GUEST_CFLAGS) -static -no-pie -Wl,--build-id=none \
		-T guest/guest.lds -o $@ $(GUEST_LIB) $<

$(LGBENCH): guest/linux/lgbench.c
	$(CC) $(CFLAGS) -static -s -o $@ $<

$(LGIO): guest/linux/lgio.c
	$(CC) $(CFLAGS) -static -s -o $@ $<

$(LGSTRESS): guest/linux/lgstress.c
	$(CC) $(CFLAGS) -static -s -o $@ $< -lpthread

selftests: $(SELFTESTS)
hosttests: $(HOSTTESTS)

launcher/%.o: launcher/%.c launcher/*.h launcher/xen/*.h include/uapi/linux/lguest.h
	$(CC) $(CFLAGS) -c -o $@ $<

$(LAUNCHER): $(LAUNCHER_OBJS) $(XEN_LAUNCHER_OBJS) $(XEN_BACKEND_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ -lurcu-memb -lurcu-common -lpthread -llzma -luring

selftests/lib/%.o: selftests/lib/%.c selftests/lib/*.h guest/include/*.h \
		launcher/*.h include/uapi/linux/lguest.h
	$(CC) $(GUEST_TEST_CFLAGS) -c -o $@ $<

selftests/lib/%.o: selftests/lib/%.S
	$(CC) $(GUEST_TEST_CFLAGS) -c -o $@ $<

$(GUEST_TESTS) $(BENCHES): %: %.c $(SELFTEST_LIB) selftests/*.h selftests/lib/*.h
	$(CC) $(GUEST_TEST_CFLAGS) -static -no-pie -o $@ $< $(SELFTEST_LIB) \
		launcher/caps.o $(LDLIBS_$(notdir $@)) -lpthread

# fuzz_test: its Xen PV half is a file of its own (the two guest
# libraries define the same GUEST_* macros).
FUZZ_OBJS := selftests/fuzz_xen.o selftests/lib/fuzz.o selftests/lib/fuzz_try.o
LDLIBS_fuzz_test := $(FUZZ_OBJS) -lrt
selftests/fuzz_test: $(FUZZ_OBJS)
selftests/fuzz_xen.o: selftests/fuzz_xen.c selftests/lib/*.h include/uapi/linux/lguest.h
	$(CC) $(GUEST_TEST_CFLAGS) -c -o $@ $<
# hostile_test drives /dev/lguest from io_uring workers.
LDLIBS_hostile_test := -luring
# xen_blk_test is the launcher to its guest: the launcher's Xen back end.
LDLIBS_xen_blk_test := $(XEN_LAUNCHER_OBJS) $(XEN_BACKEND_OBJS) -llzma -luring
selftests/xen_blk_test: $(XEN_LAUNCHER_OBJS) $(XEN_BACKEND_OBJS)
LDLIBS_xen_net_test := $(LDLIBS_xen_blk_test)
selftests/xen_net_test: $(XEN_LAUNCHER_OBJS) $(XEN_BACKEND_OBJS)

selftests/%_test: selftests/%_test.c selftests/*.h include/uapi/linux/lguest.h \
		launcher/caps.o
	$(CC) $(SELFTEST_CFLAGS) -Ilauncher -o $@ $< launcher/caps.o

selftests/host/launcher_test: selftests/host/launcher_test.c \
		launcher/options.o launcher/caps.o launcher/term.o
	$(CC) $(SELFTEST_CFLAGS) -Ilauncher -o $@ $^

selftests/host/xen_kernel_test: selftests/host/xen_kernel_test.c $(XEN_LAUNCHER_OBJS) \
		| selftests/host/fake_lguest.so
	$(CC) $(SELFTEST_CFLAGS) -Ilauncher -o $@ $(filter %.c %.o,$^) -llzma

selftests/host/xenstore_test: selftests/host/xenstore_test.c launcher/xen/store.o \
		launcher/xen/xsring.o
	$(CC) $(SELFTEST_CFLAGS) -Ilauncher -o $@ $^ -lpthread

# A /dev/lguest of our own that xen_kernel_test preloads into the launcher.
selftests/host/fake_lguest.so: selftests/host/fake_lguest.c include/uapi/linux/lguest.h
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< -ldl

launcher/xen/%.o: launcher/xen/%.c launcher/xen/*.h
	$(CC) $(CFLAGS) -c -o $@ $<

selftests/host/uapi_test: selftests/host/uapi_test.c include/uapi/linux/lguest.h
	$(CC) $(SELFTEST_CFLAGS) -o $@ $<

# The source checkers the standards ask for: both fail the build on findings.
KSRCS := $(wildcard include/*.h include/uapi/linux/*.h */*.c)
KSRCS := $(filter-out launcher/% selftests/% guest/% bench/%,$(KSRCS))

checkpatch:
	$(CHECKPATCH) --strict --no-tree --terse --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES -f $(KSRCS)

sparse:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 C=2 CHECK="sparse -Wno-unknown-attribute" \
		modules 2>&1 | tee $(CACHE)/sparse.log
	! grep -E ': (warning|error):' $(CACHE)/sparse.log

check: all
	tools/check

# The selftests on a debug kernel (KASAN, lockdep, kmemleak, UBSAN, KFENCE),
# which the first run builds (tools/debug-kernel; see README for how long).
check-debug: all
	tools/check-debug

# The fuzzer alone, longer, on the debug kernel: FUZZ_SECONDS (default 600)
# in all, FUZZ_SEED (default: a random one, printed) to replay a run.
FUZZ_SECONDS ?= 600
FUZZ_SEED ?=
fuzz: all
	tools/check-debug --fuzz $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

bench: all
	tools/bench

run: all
	tools/vm-run --cpus 4 -- sh -c '$(TOP)/$(LAUNCHER) info && \
		$(TOP)/$(LAUNCHER) run --cpus 4 $(TOP)/guest/demo.elf'

# Debian's kernel, the one the VM boots, as a Xen PV guest of lguest.
# On a terminal: a shell in the guest, every key its own until Ctrl-A x
# (status 130, which is how the user asked to leave: not a failure here).
# Elsewhere: the boot, /init's line, and poweroff.
run-linux: all
	@if [ -t 0 ]; then i=--interactive shell=lguest.shell; else i= shell=; fi; \
	tools/vm-run --cpus 2 --timeout 3600 $$i -- $(TOP)/$(LAUNCHER) run \
		--kernel $(KIMAGE) --initrd $(CACHE)/linux-initramfs.cpio.gz \
		--append "console=hvc0 loglevel=4 $$shell"; \
	rc=$$?; [ $$rc -eq 130 ] || exit $$rc

# The same Linux boot under Debian's Xen 4.17 (in QEMU) and under lguest,
# their consoles and hypercall counts diffed (docs/xen-pv-guests.md); not
# part of make check.
xen-oracle: all
	tools/xen-oracle

# Debian's kernel as a PV guest timed alike under Xen 4.17 and under
# lguest, each in the same QEMU VM (tools/xen-bench); not part of make check.
xen-bench: all
	tools/xen-bench

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -f $(LAUNCHER) $(LAUNCHER_OBJS) $(XEN_LAUNCHER_OBJS) $(XEN_BACKEND_OBJS) $(SELFTESTS) $(HOSTTESTS) $(BENCHES) \
		selftests/host/fake_lguest.so \
		$(GUESTS) $(LGBENCH) $(LGSTRESS) $(LGIO) guest/*.o guest/tests/*.o guest/lib/*.o selftests/lib/*.o
	rm -rf $(CACHE)/vm.* $(CACHE)/initramfs* $(CACHE)/debug-lg $(CACHE)/kselftest* \
		selftests/kselftest_install

distclean: clean
	rm -rf $(CACHE)
