#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# launcher_cli_test.sh: `lguest run` as a user meets it: the demo's output
# and status, and one clear line plus a non-zero status for every mistake,
# those of `lguest run --kernel` (a Xen PV kernel, issue 11) included.
. "$(dirname "$0")/lib.sh"
if [ ! -e /dev/lguest ]; then
	echo "1..0 # SKIP /dev/lguest absent (lg.ko not loaded)"
	exit 4
fi

# The Debian kernel the test VM boots, for the checks that need a Xen PV
# kernel; scratch files where this VM may write.
kimage=$(lg_file vmlinuz)
tmp=$(mktemp -d "${LG_SCRATCH:-${TMPDIR:-/tmp}}/lg-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
echo "TAP version 13"
echo "1..25"
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

check "demo greets" 0 "Hello from an lguest guest" -- "$L" run "$(lg_file demo.elf)"
check "demo takes 100 timer interrupts and powers off" 0 \
	"took 100 timer interrupts" -- "$L" run "$(lg_file demo.elf)"
check "the SMP demo runs user programs on every vCPU" 0 \
	"vCPU 3: 550 primes, fork+wait gave 42, 10 ring interrupts" -- \
	"$L" run --cpus 4 "$(lg_file demo.elf)"
check "a vCPU count beyond the limit is refused" 2 \
	"lguest: --cpus wants a number of vCPUs from 1 to 64 (got '65')" -- \
	"$L" run --cpus 65 "$(lg_file demo.elf)"
check "a guest killed on one vCPU stops them all" 1 \
	"lguest: guest killed: unhandled trap 6 (#UD) at rip" -- \
	"$L" run --cpus 8 "$(lg_file crash.elf)"
check "guest status becomes the exit status" 3 \
	"lguest: guest powered off: guest_main returned 3" -- \
	"$L" run "$(lg_file exit3.elf)"
check "a killed guest names the trap" 1 \
	"lguest: guest killed: unhandled trap 6 (#UD) at rip" -- \
	"$L" run "$(lg_file crash.elf)"
check "missing guest file" 1 "lguest: cannot open /nonexistent.elf: No such file or directory" -- \
	"$L" run /nonexistent.elf
check "not a static ELF" 1 "not a static x86_64 ELF executable" -- \
	"$L" run "$here/lib.sh"
check "too little memory" 1 "does not fit in 1 MiB of guest memory" -- \
	"$L" run --mem 1M "$(lg_file demo.elf)"
check "module absent" 1 "does not exist: is the lg module loaded?" -- \
	"$L" --device /dev/no-lguest run "$(lg_file demo.elf)"
skip() {	# skip DESCRIPTION REASON
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

# SIGUSR1: every vCPU's registers and counters on stderr, the guest running
# on.  spin.elf spins on vCPU 0, counting in RBX, and halts on vCPU 1.
# Two reports, 1 s apart: vCPU 0 at spin_here() both times with RBX grown;
# vCPU 1 in HALT (more halts would be wakeups: none come).
spin=$(lg_file spin.elf)
"$L" run --cpus 2 "$spin" > "$tmp/spin" 2>&1 &
pid=$!
reports() { grep -c 'SIGUSR1: the state of 2 vCPUs' "$tmp/spin"; }
for i in $(seq 300); do
	grep -q 'spinning on vCPU 0' "$tmp/spin" && break
	sleep 0.1
done
sleep 1		# for vCPU 1, started just before, to reach its HALT
for want in 1 2; do
	kill -USR1 $pid
	for i in $(seq 300); do
		[ "$(reports)" -eq $want ] &&
			[ "$(grep -c '^lguest: vCPU 1:   entries' "$tmp/spin")" -eq $want ] &&
			[ "$(grep -c '^lguest: vCPU 0:   entries' "$tmp/spin")" -eq $want ] && break
		sleep 0.1
	done
	sleep 1
done
kill -KILL $pid
wait $pid 2> /dev/null
at=$(nm "$spin" | awk '$3 == "spin_here" { print $1 }')
rips=$(sed -n 's/^lguest: vCPU 0: rip \([0-9a-f]*\) .*, kernel mode.*/\1/p' "$tmp/spin")
rbxs=$(sed -n 's/^lguest: vCPU 0:   rax [0-9a-f]* rbx \([0-9a-f]*\) .*/\1/p' "$tmp/spin")
inside=0
if [ -n "$at" ] && [ "$(wc -w <<< "$rips")" -eq 2 ] && [ "$(wc -w <<< "$rbxs")" -eq 2 ]; then
	inside=1
	for r in $rips; do
		(( 0x$r >= 0x$at && 0x$r < 0x$at + 16 )) || inside=0
	done
	set -- $rbxs
	(( 0x$2 > 0x$1 )) || inside=0
fi
ok $inside "SIGUSR1: vCPU 0 reported spinning in spin_here() (rip $(echo $rips)), its RBX counting ($(echo $rbxs))"
halts=$(sed -n 's/^lguest: vCPU 1:   entries [0-9]* hypercalls [0-9]* halts \([0-9]*\) .*/\1/p' "$tmp/spin")
ok "$([ "$(echo $halts)" = "1 1" ] && echo 1 || echo 0)" \
	"SIGUSR1: vCPU 1 reported asleep in its one HALT (halts: $(echo $halts))"
ok "$([ "$(grep -c 'no registers' "$tmp/spin")" -eq 0 ] && [ "$(reports)" -eq 2 ] && echo 1 || echo 0)" \
	"SIGUSR1: two reports, each with every vCPU's registers"
[ "$inside" = 1 ] || sed 's/^/#   /' "$tmp/spin"

# lguest run --kernel: each mistake refused before a guest exists.
check "--kernel: a missing file" 1 \
	"lguest: cannot open /nonexistent-vmlinuz: No such file or directory" -- \
	"$L" run --kernel /nonexistent-vmlinuz
check "--kernel: a program is not a kernel" 1 \
	"lguest: /bin/true: not a Xen PV kernel (not a 64-bit x86 executable)" -- \
	"$L" run --kernel /bin/true
check "--kernel: a native guest is not a Xen PV kernel" 1 \
	"demo.elf: not a Xen PV kernel (no Xen ELF notes)" -- \
	"$L" run --kernel "$(lg_file demo.elf)"
check "--initrd without --kernel" 2 \
	"lguest: --initrd goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network" -- \
	"$L" run --initrd /etc/hostname "$(lg_file demo.elf)"
check "--append without --kernel" 2 \
	"lguest: --append goes with --kernel VMLINUZ: a GUEST.elf takes no initrd, command line, disk or network" -- \
	"$L" run --append quiet "$(lg_file demo.elf)"
check "--kernel and a GUEST.elf together" 2 \
	"lguest: run takes a GUEST.elf or --kernel VMLINUZ, not both" -- \
	"$L" run --kernel /bin/true "$(lg_file demo.elf)"
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
