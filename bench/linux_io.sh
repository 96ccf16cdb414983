#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/linux_io.sh: tools/bench's linux_io step, run in the 4-CPU test
# VM (wall clock).  Block: guest/linux/lgio on a 128 MiB image file in the
# VM's tmpfs, natively (buffered: tmpfs takes no O_DIRECT), then in
# Debian's kernel under lguest on that image as xvda, O_DIRECT past the
# guest's page cache (lguest.disk=bench).  Network: 64 MiB over TCP to a
# listener in a network namespace of its own, from the VM itself over
# loopback, then from the guest through --net's tap.  Prints LGIO_JSON
# and LGTCP_JSON lines; "where" says which.
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$top/.cache/deps.env"
tmp=$(mktemp -d)
ns=lgbench$$
trap 'ip netns del $ns 2>/dev/null; rm -rf "$tmp"' EXIT
in_ns=
guest() {	# guest OPTIONS... -- APPEND: a 1-vCPU boot, its output in $tmp/out
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	if ! $in_ns "$top/launcher/lguest" run --kernel "$KIMAGE" \
		--initrd "$top/.cache/linux-initramfs.cpio.gz" --mem 512M \
		"${opts[@]}" --append "console=hvc0 loglevel=4 $1" < /dev/null > "$tmp/out" 2>&1; then
		cat "$tmp/out"
		echo "linux_io: the guest ($1) failed" >&2
		exit 1
	fi
}

truncate -s 128M "$tmp/img"
"$top/guest/linux/lgio" native "$tmp/img" || exit 1
guest --disk "$tmp/img" -- lguest.disk=bench
tr -d '\r' < "$tmp/out" | grep '^LGIO_JSON\|^# lgio'

# The listener: 64 MiB, timed from its first byte to the sender's end.
listen() {
	ip netns exec $ns python3 -c '
import json, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5000))
s.listen(1)
c, _ = s.accept()
n, t0 = 0, None
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    if t0 is None:
        t0 = time.monotonic()
    n += len(b)
t = time.monotonic() - t0
c.sendall(b"received %d" % n)
c.close()
print("# tcp %s: %d bytes in %.2f s" % (sys.argv[1], n, t))
print("LGTCP_JSON " + json.dumps({"where": sys.argv[1], "bytes": n, "mbs": round(n / 1e6 / t, 1)}))' "$1" &
	# Listening before anyone connects (python takes a while under TCG).
	for _ in $(seq 100); do
		ip netns exec $ns grep -q ':1388 00000000:0000 0A' /proc/net/tcp && return
		sleep 0.2
	done
}
[ -e /dev/net/tun ] || insmod "$KMODULES/kernel/drivers/net/tun.ko" 2>/dev/null
ip netns add $ns &&
ip netns exec $ns ip link set lo up &&
ip netns exec $ns ip tuntap add dev lgtap0 mode tap &&
ip netns exec $ns ip addr add 10.99.0.1/24 dev lgtap0 &&
ip netns exec $ns ip link set lgtap0 up || exit 1
head -c 64M /dev/urandom > "$tmp/data"
listen native
ip netns exec $ns busybox nc 127.0.0.1 5000 < "$tmp/data" > /dev/null
wait
listen guest
in_ns="ip netns exec $ns" guest --net tap=lgtap0 -- lguest.net=10.99.0.2,10.99.0.1,64
wait
