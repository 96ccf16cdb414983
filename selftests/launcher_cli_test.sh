#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# launcher_cli_test.sh: `lguest run` as a user meets it: the demo's output
# and status, and one clear line plus a non-zero status for every mistake,
# those of `lguest run --kernel` (a Xen PV kernel, issue 11) included.
top=$(cd "$(dirname "$0")/.." && pwd)
L=$top/launcher/lguest
if [ ! -e /dev/lguest ]; then
	echo "1..0 # SKIP /dev/lguest absent (lg.ko not loaded)"
	exit 4
fi

# The Debian kernel the test VM boots, for the checks that need a Xen PV
# kernel; scratch files where this VM may write.
kimage=$(sed -n 's/^KIMAGE=//p' "$top/.cache/deps.env" 2>/dev/null)
tmp=$(mktemp -d "${LG_SCRATCH:-${TMPDIR:-/tmp}}/lg-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
echo "TAP version 13"
echo "1..22"
check() {	# check DESCRIPTION WANT_STATUS WANT_TEXT -- CMD...
	local desc=$1 want_rc=$2 want=$3 out rc
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want" <<< "$out"; then
		echo "ok $n $desc"
	else
		echo "# status $rc (want $want_rc); output:"
		sed 's/^/#   /' <<< "$out"
		echo "not ok $n $desc"
		failed=1
	fi
}

check "demo greets" 0 "Hello from an lguest guest" -- "$L" run "$top/guest/demo.elf"
check "demo takes 100 timer interrupts and powers off" 0 \
	"took 100 timer interrupts" -- "$L" run "$top/guest/demo.elf"
check "the SMP demo runs user programs on every vCPU" 0 \
	"vCPU 3: 550 primes, fork+wait gave 42, 10 ring interrupts" -- \
	"$L" run --cpus 4 "$top/guest/demo.elf"
check "a vCPU count beyond the limit is refused" 2 \
	"lguest: --cpus wants a number of vCPUs from 1 to 64 (got '65')" -- \
	"$L" run --cpus 65 "$top/guest/demo.elf"
check "a guest killed on one vCPU stops them all" 1 \
	"lguest: guest killed: unhandled trap 6 (#UD) at rip" -- \
	"$L" run --cpus 8 "$top/guest/tests/crash.elf"
check "guest status becomes the exit status" 3 \
	"lguest: guest powered off: guest_main returned 3" -- \
	"$L" run "$top/guest/tests/exit3.elf"
check "a killed guest names the trap" 1 \
	"lguest: guest killed: unhandled trap 6 (#UD) at rip" -- \
	"$L" run "$top/guest/tests/crash.elf"
check "missing guest file" 1 "lguest: cannot open /nonexistent.elf: No such file or directory" -- \
	"$L" run /nonexistent.elf
check "not a static ELF" 1 "not a static x86_64 ELF executable" -- \
	"$L" run "$top/tools/vm-run"
check "too little memory" 1 "does not fit in 1 MiB of guest memory" -- \
	"$L" run --mem 1M "$top/guest/demo.elf"
check "module absent" 1 "does not exist: is the lg module loaded?" -- \
	"$L" --device /dev/no-lguest run "$top/guest/demo.elf"
skip() {	# skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

# lguest run --kernel: each mistake refused before a guest exists.
check "--kernel: a missing file" 1 \
	"lguest: cannot open /nonexistent-vmlinuz: No such file or directory" -- \
	"$L" run --kernel /nonexistent-vmlinuz
check "--kernel: a program is not a kernel" 1 \
	"lguest: /bin/true: not a Xen PV kernel (not a 64-bit x86 executable)" -- \
	"$L" run --kernel /bin/true
check "--kernel: a native guest is not a Xen PV kernel" 1 \
	"demo.elf: not a Xen PV kernel (no Xen ELF notes)" -- \
	"$L" run --kernel "$top/guest/demo.elf"
check "--initrd without --kernel" 2 \
	"lguest: --initrd goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network" -- \
	"$L" run --initrd /etc/hostname "$top/guest/demo.elf"
check "--append without --kernel" 2 \
	"lguest: --append goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network" -- \
	"$L" run --append quiet "$top/guest/demo.elf"
check "--kernel and a GUEST.elf together" 2 \
	"lguest: run takes a GUEST.elf or --kernel VMLINUZ, not both" -- \
	"$L" run --kernel /bin/true "$top/guest/demo.elf"
check "--append longer than Xen's command line" 2 \
	"lguest: --append is 1024 bytes long; a Xen PV kernel's command line holds at most 1023" -- \
	"$L" run --kernel /bin/true --append "$(printf '%1024s' '' | tr ' ' x)"
if [ -n "$kimage" ] && [ -r "$kimage" ]; then
	check "--initrd: a missing file" 1 \
		"lguest: cannot open the initrd /nonexistent-initrd: No such file or directory" -- \
		"$L" run --kernel "$kimage" --initrd /nonexistent-initrd
	truncate -s 100M "$tmp/initrd"
	check "--initrd larger than --mem" 1 \
		"lguest: the kernel, its initrd and its boot data need" -- \
		"$L" run --kernel "$kimage" --mem 128M --initrd "$tmp/initrd"
	cp "$kimage" "$tmp/vmlinuz"
	dd if=/dev/zero of="$tmp/vmlinuz" bs=4096 seek=512 count=1 conv=notrunc status=none
	check "--kernel: a corrupt XZ payload" 1 "vmlinuz: corrupt XZ payload" -- \
		"$L" run --kernel "$tmp/vmlinuz"
	check "--cpus 65 with --kernel" 2 \
		"lguest: --cpus wants a number of vCPUs from 1 to 64 (got '65')" -- \
		"$L" run --kernel "$kimage" --cpus 65
else
	for what in "--initrd: a missing file" "--initrd larger than --mem" \
		    "--kernel: a corrupt XZ payload" "--cpus 65 with --kernel"; do
		skip "$what" "no kernel image (run tools/deps)"
	done
fi
exit $failed
