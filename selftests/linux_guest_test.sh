#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# linux_guest_test.sh: Debian's unmodified kernel, the very vmlinuz the
# test VM boots, runs under lguest as a Xen PV guest (issue 11): the
# busybox initramfs of tools/linux-initramfs, whose /init prints a line of
# values computed in the guest, runs what is typed at the launcher's stdin
# in a shell, and powers off.  Each boot is asserted on
# what the guest printed, through both of its consoles (console_io before
# hvc0 exists, the console ring after), on how it ended, and on a clean
# kernel log.  Boots are slow under TCG (about a minute), so there are
# few of them: LG_SKIP_LINUX=1 skips them, LG_SKIP_LINUX=crash the second
# (tools/check boots Linux in two of its five VM configurations, the
# panic in one).  LG_LINUX_CPUS=N (default 1) gives the guest N vCPUs:
# then each CPU's line, and CPU 1 going offline and back, are asserted.
top=$(cd "$(dirname "$0")/.." && pwd)
L=$top/launcher/lguest
if [ ! -e /dev/lguest ]; then
	echo "1..0 # SKIP /dev/lguest absent (lg.ko not loaded)"
	exit 4
fi
if [ "${LG_SKIP_LINUX:-}" = 1 ]; then
	echo "1..0 # SKIP Linux guests not asked for in this configuration"
	exit 4
fi
kimage=$(sed -n 's/^KIMAGE=//p' "$top/.cache/deps.env" 2>/dev/null)
kabi=$(sed -n 's/^KABI=//p' "$top/.cache/deps.env" 2>/dev/null)
initrd=$top/.cache/linux-initramfs.cpio.gz
if [ ! -f "$kimage" ] || [ ! -f "$initrd" ] || [ ! -f "$initrd.md5" ]; then
	echo "1..0 # SKIP no kernel image or initramfs (make all builds it)"
	exit 4
fi
md5=$(cat "$initrd.md5")
cpus=${LG_LINUX_CPUS:-1}
case $cpus in ''|*[!0-9]*|0) echo "1..0 # SKIP LG_LINUX_CPUS=$cpus is not a vCPU count"; exit 4 ;; esac
# What each CPU's line shows: the busybox the initramfs holds (the host's).
bb=$(md5sum < /bin/busybox | cut -c1-8)

n=0 failed=0
echo "TAP version 13"
plan=$((10 + cpus + (cpus > 1 ? 6 : 0)))
[ "${LG_SKIP_LINUX:-}" = crash ] && plan=$((plan - 1))
echo "1..$plan"
ok() {		# ok COND DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}
has() {		# has OUTPUT TEXT: 1 if OUTPUT holds the line TEXT
	grep -qxF -- "$2" <<< "$1" && echo 1 || echo 0
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# boot APPEND STATUS [TYPED]: the guest's console and the launcher's lines
# in $out, its status in $rc.  TYPED goes to the launcher's stdin once
# /init's shell is up (the console's input path), else stdin is empty.
boot() {
	local pid i
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	timeout 900 "$L" run --kernel "$kimage" --initrd "$initrd" \
		--mem 256M --cpus "$cpus" --append "$1" < "$tmp/in" > "$tmp/out" 2>&1 &
	pid=$!
	exec 3> "$tmp/in"
	if [ -n "${3:-}" ]; then
		while kill -0 $pid 2>/dev/null &&
		      ! grep -q 'lguest-linux: a shell' "$tmp/out"; do
			sleep 1
		done
		printf '%b' "$3" >&3
		# What was typed ends the guest; if it does not, say so soon.
		for i in $(seq 120); do
			kill -0 $pid 2>/dev/null || break
			sleep 1
		done
		kill $pid 2>/dev/null
	fi
	exec 3>&-
	wait $pid
	rc=$?
	out=$(cat "$tmp/out")
	if [ $rc -ne "$2" ]; then
		echo "# status $rc (want $2); the last of the output:"
		tail -n 40 <<< "$out" | sed 's/^/#   /'
	fi
}
# What no healthy boot prints (the guest's kernel log is on its console).
clean() {
	! grep -E 'BUG|WARNING|Oops|Call Trace|general protection|RCU stall|Kernel panic' \
		<<< "$1" > /dev/null && echo 1 || echo 0
}

# 1. The whole boot, every message: console_io first, then hvc0; then a
#    shell on hvc0 runs what is typed at the launcher: with several vCPUs,
#    CPU 1 goes offline and back first; then it powers off.
typed='echo typed-$((6 * 7))\n'
if [ "$cpus" -gt 1 ]; then
	typed="$typed"'echo 0 > /sys/devices/system/cpu/cpu1/online; echo off=$(cat /sys/devices/system/cpu/online)\n'
	typed="$typed"'echo 1 > /sys/devices/system/cpu/cpu1/online; echo on=$(cat /sys/devices/system/cpu/online) ran=$(taskset -c 1 cut -d" " -f39 /proc/self/stat)\n'
fi
boot "earlyprintk=xen console=hvc0 loglevel=7 lguest.shell" 0 "${typed}poweroff -f\n"
line="lguest-linux: kernel=$kabi cpus=$cpus md5=$md5 forks=16"
ok "$([ $rc -eq 0 ] && echo 1 || echo 0)" "the guest powers off with status 0"
# (a substring: the kernel's own messages share the console)
ok "$(grep -qF -- "$line" <<< "$out" && echo 1 || echo 0)" \
	"/init prints the line it computed ($line)"
ok "$(has "$out" "mapping kernel into physical memory")" \
	"its first words, before any console, come through console_io"
ok "$(grep -q "^\[ *[0-9.]*\] Linux version $kabi" <<< "$out" && echo 1 || echo 0)" \
	"earlyprintk=xen prints the kernel's banner"
ok "$(grep -q 'Xen version: 4.17.0-lguest (preserve-AD)' <<< "$out" && echo 1 || echo 0)" \
	"the kernel believes it runs on Xen 4.17, with the features it needs"
ok "$(grep -q 'clocksource: Switched to clocksource xen' <<< "$out" && echo 1 || echo 0)" \
	"it keeps time with the Xen clock (pvclock)"
ok "$(has "$out" "lguest: guest powered off: SCHEDOP_shutdown(poweroff)")" \
	"the launcher says how the guest ended"
ok "$(clean "$out")" "the guest's kernel log is clean"
ok "$(grep -q '^typed-42' <<< "$out" && echo 1 || echo 0)" \
	"its shell ran what was typed at the launcher (console input)"
for c in $(seq 0 $((cpus - 1))); do
	ok "$(grep -qF "lguest-linux: cpu $c: on $c md5 $bb" <<< "$out" && echo 1 || echo 0)" \
		"CPU $c of $cpus ran the work pinned to it"
done
if [ "$cpus" -gt 1 ]; then
	last=$((cpus - 1))
	case $cpus in 2) off=0 ;; 3) off=0,2 ;; *) off="0,2-$last" ;; esac
	ok "$(grep -q "^off=$off" <<< "$out" && echo 1 || echo 0)" \
		"CPU 1 goes offline (VCPUOP_down): online CPUs $off"
	ok "$(grep -q "^on=0-$last ran=1" <<< "$out" && echo 1 || echo 0)" \
		"and back online (VCPUOP_up), running what is pinned to it"
	ok "$(grep -q 'lguest-linux: xen: PV spinlocks enabled' <<< "$out" && echo 1 || echo 0)" \
		"it takes paravirtual spinlocks (SCHEDOP_poll)"
	ok "$(grep -qF "lguest-linux: parallel md5 $bb " <<< "$out" && echo 1 || echo 0)" \
		"8 processes at once compute the same checksum"
	ok "$(grep -qF "lguest-linux: storm 100 execs, 100 exited 3" <<< "$out" && echo 1 || echo 0)" \
		"a fork, exec and exit storm: 100 of 100 exit as they should"
	want=$((2 * cpus * 50000))
	ok "$(grep -qF "lguest-linux: lgstress: atomics threads=$((2 * cpus)) per=50000 total=$want want=$want status 0" <<< "$out" &&
	      echo 1 || echo 0)" \
		"$((2 * cpus)) threads lose no atomic add while CPU 1 goes offline and back"
fi

# 2. A kernel that panics ends the launcher as a crash, not a poweroff
#    (with several vCPUs, the others stop themselves first: VCPUOP_down).
[ "${LG_SKIP_LINUX:-}" = crash ] && exit $failed
boot "console=hvc0 loglevel=4 rdinit=/nonexistent init=/nonexistent" 66
ok "$([ $rc -eq 66 ] && grep -q 'lguest: guest crashed: SCHEDOP_shutdown(crash)' <<< "$out" &&
      echo 1 || echo 0)" "a guest kernel panic is a crash (status 66)"
exit $failed
