#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# package_test.sh: the Debian packages as installed (issue 16).  With
# LG_PACKAGE_ROOT, a tree into which tools/deb-check unpacked lguest and
# lguest-dkms, and lg.ko loaded from the module DKMS built out of that
# tree's /usr/src (make check's intel-mds VM): the module loaded is that
# one, the installed launcher talks to it and runs the installed demo
# guest on two vCPUs, and the installed manual page reads clean.
. "$(dirname "$0")/lib.sh"
root=${LG_PACKAGE_ROOT:-}
if [ -z "$root" ] || [ ! -x "$root/usr/bin/lguest" ]; then
	echo "1..0 # SKIP LG_PACKAGE_ROOT names no unpacked packages (tools/deb-check)"
	exit 4
fi
if [ ! -e /dev/lguest ]; then
	echo "1..0 # SKIP /dev/lguest absent (lg.ko not loaded)"
	exit 4
fi
L=$root/usr/bin/lguest
n=0 failed=0
echo "TAP version 13"
echo "1..4"
# vm-run loaded LG_KO: it must be DKMS's build (tools/deb-check puts it
# beside the unpacked tree), and the running module's sources its own.
want=$(modinfo -F srcversion "${LG_KO:-}" 2>/dev/null)
have=$(cat /sys/module/lg/srcversion 2>/dev/null)
ok "$([ "${LG_KO:-}" = "$(dirname "$root")/lg.ko" ] && [ -n "$want" ] && [ "$want" = "$have" ] &&
      echo 1 || echo 0)" \
	"the module loaded is the one DKMS built from lguest-dkms's sources (${LG_KO:-no LG_KO}; srcversion ${have:-none}, its ${want:-none})"
out=$("$L" info 2>&1)
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' <<< "$out"
ok "$([ $rc -eq 0 ] && grep -q "^lguest module $("$L" version | awk '{ print $3 }') " <<< "$out" &&
      echo 1 || echo 0)" "the installed launcher's info: the module, of its own version"
out=$("$L" run --cpus 2 "$root/usr/lib/lguest/demo.elf" 2>&1)
rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' <<< "$out" | tail -n 20
ok "$([ $rc -eq 0 ] && grep -q 'Hello from an lguest guest' <<< "$out" && echo 1 || echo 0)" \
	"the installed launcher runs the installed demo guest on 2 vCPUs (status $rc)"
page=$root/usr/share/man/man1/lguest.1.gz
warn=$(zcat "$page" 2>&1 | groff -man -ww -z 2>&1)
ok "$([ -s "$page" ] && [ -z "$warn" ] && echo 1 || echo 0)" \
	"the installed manual page reads without a warning${warn:+ ($warn)}"
exit $failed
