#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# launcher_cli_test.sh: `lguest run` as a user meets it: the demo's output
# and status, and one clear line plus a non-zero status for every mistake.
top=$(cd "$(dirname "$0")/.." && pwd)
L=$top/launcher/lguest
if [ ! -e /dev/lguest ]; then
	echo "1..0 # SKIP /dev/lguest absent (lg.ko not loaded)"
	exit 4
fi

n=0 failed=0
echo "TAP version 13"
echo "1..11"
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
exit $failed
