# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
#
# lib.sh: what the shell selftests share (sourced: bash).
#
# Where a test finds what it runs.  In an installed kselftest tree (make -C
# selftests install) the collection carries it beside this file: the
# launcher as "lguest", the guests, the Linux guest's kernel image and the
# initramfs built for it.  In the checkout each is where make built it, and
# $top is the checkout.  $L is the launcher; lg_file NAME prints the path
# of the others (demo.elf, exit3.elf, crash.elf, spin.elf, vmlinuz,
# linux-initramfs.cpio.gz and its .md5).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$here/lguest" ]; then
	top=
	L=$here/lguest
else
	top=$(cd "$here/.." && pwd)
	L=$top/launcher/lguest
fi
lg_file() {
	local f

	if [ -z "$top" ]; then
		for f in "$here/$1" "$here/$1"-*; do
			[ -e "$f" ] && break
		done
		echo "$f"
		return
	fi
	case $1 in
	demo.elf) echo "$top/guest/demo.elf" ;;
	*.elf) echo "$top/guest/tests/$1" ;;
	vmlinuz) sed -n 's/^KIMAGE=//p' "$top/.cache/deps.env" 2>/dev/null ;;
	*) echo "$top/.cache/$1" ;;
	esac
}

# The release of a bzImage (what uname -r says once it runs): the string
# its setup header's kernel_version field points at, 0x200 past it.
lg_kernel_release() {
	local at

	at=$(od -An -tu2 -j 526 -N 2 "$1" 2> /dev/null | tr -d ' ')
	[ -n "$at" ] && [ "$at" -gt 0 ] || return 1
	dd if="$1" bs=1 skip=$((at + 512)) count=64 2> /dev/null | tr '\0' ' ' | cut -d' ' -f1
}

# The md5 of one file of a gzipped cpio initramfs (a path as stored:
# bin/busybox), so that what a guest prints is checked against what it
# was given, not against the files of the host running the test.
lg_initrd_md5() {
	zcat "$1" | cpio -i --quiet --to-stdout "$2" 2> /dev/null | md5sum | cut -c1-32
}

# TAP: the caller sets n=0 failed=0 and prints the plan; ok counts and
# prints one result, and a failure makes $failed 1, the script's exit
# status.
ok() {		# ok COND DESCRIPTION: COND 1 passes
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=1
	fi
}
