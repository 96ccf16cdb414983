#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/linux_smp.sh: tools/bench's linux_smp step, run in the 4-CPU test
# VM.  `lgbench smp` natively, then in Debian's kernel under lguest on 4
# vCPUs (its /init runs it with lguest.bench=smp), with Linux's PV
# spinlocks and again with nopvspin; each run's LGBENCH_SMP_JSON line
# says where it ran ("native", "pvspin", "nopvspin").
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$top/.cache/deps.env"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$top/guest/linux/lgbench" smp native || exit 1
for spin in pvspin nopvspin; do
	append="console=hvc0 loglevel=4 lguest.bench=smp"
	[ $spin = nopvspin ] && append="$append nopvspin"
	if ! "$top/launcher/lguest" run --cpus 4 --kernel "$KIMAGE" \
		--initrd "$top/.cache/linux-initramfs.cpio.gz" --mem 512M \
		--append "$append" < /dev/null > "$out" 2>&1; then
		cat "$out"
		echo "linux_smp: the guest ($spin) failed" >&2
		exit 1
	fi
	tr -d '\r' < "$out" | sed "s/\"where\": \"guest\"/\"where\": \"$spin\"/"
done
