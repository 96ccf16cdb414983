// SPDX-License-Identifier: GPL-2.0
/*
 * A network back end on a tap device: what Xen's netback is to Linux's
 * xen-netfront.
 *
 * Two rings in two granted pages and one event channel.  On the transmit
 * ring the guest posts packets: a first slot whose size is the whole
 * packet's, more slots while NETTXF_more_data says so (a packet spanning
 * pages), and "extra info" slots after the first when NETTXF_extra_info
 * says so; each slot gets a response.  On the receive ring it posts empty
 * granted pages, and we copy each packet from the tap into one
 * (request-rx-copy; we offer no page flipping, no scatter-gather, no
 * segmentation offload, one queue), answering with its length.
 *
 * Linux sends TCP and UDP with the checksum left for the "hardware"
 * (NETTXF_csum_blank), as it may with a back end that does not say
 * otherwise: the tap is opened with a virtio-net header, through which
 * the host kernel completes it (VIRTIO_NET_HDR_F_NEEDS_CSUM), as it does
 * for QEMU.  Toward the guest the tap has no offloads: packets come whole
 * and checksummed.
 *
 * The guest's requests are copied out of the rings once and checked:
 * sizes, offsets within the page, slot counts, grants that permit
 * domain 0 (writable for receive pages); a bad packet is answered with
 * an error and dropped; ring indices that cannot be stop the interface.
 * One thread per interface; a vCPU thread only wakes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <linux/lguest.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#define mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#include <xen/io/netif.h>
#include "../launcher.h"
#include "gnttab.h"
#include "netback.h"
#include "store.h"
#include "xenbus.h"
#include "xsring.h"

/* Xen netback's limit of slots for one packet. */
#define MAX_SLOTS	18
#define ETH_HDR		14
#define NET_TX_RING_SIZE	__CONST_RING_SIZE(netif_tx, 4096)

struct netback {
	struct xenbus_be xb;		/* first: container_of() is a cast */
	char name[64], ifname[IFNAMSIZ];
	unsigned int index;
	uint8_t mac[6];
	int tap;
	struct gnttab *gt;
	pthread_t th;
	int started, stop;
	/* Connected: the rings (their channel is xb.port). */
	uint32_t tx_ref, rx_ref;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	const char *broken;
	/* A virtio-net header, then the frame: the tap's unit of I/O. */
	unsigned char buf[sizeof(struct virtio_net_hdr) + XEN_NETIF_MAX_TX_SIZE + 1];
};

#define VH(n)	((struct virtio_net_hdr *)(n)->buf)
#define PKT(n)	((n)->buf + sizeof(struct virtio_net_hdr))

static int connect_rings(struct xenbus_be *x);
static void disconnect_rings(struct xenbus_be *x);

struct netback *netback_open(const char *spec, unsigned int index, char *err,
			     size_t errlen)
{
	struct ifreq ifr = { 0 };
	struct netback *n;
	unsigned int off = 0;

	if (strncmp(spec, "tap=", 4) || !spec[4] || strlen(spec + 4) >= IFNAMSIZ) {
		snprintf(err, errlen, "--net takes tap=NAME, NAME a tap device of at most %d characters (got '%s')",
			 IFNAMSIZ - 1, spec);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->xb.efd = -1;
	n->index = index;
	snprintf(n->ifname, sizeof(n->ifname), "%s", spec + 4);
	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0) {
		snprintf(err, errlen, "cannot open the tap device %s: /dev/net/tun: %s",
			 n->ifname, strerror(errno));
		goto fail;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap, TUNSETIFF, &ifr) || ioctl(n->tap, TUNSETOFFLOAD, off)) {
		snprintf(err, errlen, "cannot open the tap device %s: %s", n->ifname,
			 strerror(errno));
		goto fail;
	}
	/* Xen's OUI, then the launcher's pid and the interface. */
	n->mac[0] = 0x00;
	n->mac[1] = 0x16;
	n->mac[2] = 0x3e;
	n->mac[3] = (getpid() >> 8) & 0x7f;
	n->mac[4] = getpid() & 0xff;
	n->mac[5] = index;
	snprintf(n->name, sizeof(n->name), "network eth%u (tap %s)", index, n->ifname);
	n->xb.name = n->name;
	n->xb.connect = connect_rings;
	n->xb.disconnect = disconnect_rings;
	snprintf(n->xb.fe, sizeof(n->xb.fe), "/local/domain/%u/device/vif/%u",
		 STORE_GUEST_DOMID, index);
	snprintf(n->xb.be, sizeof(n->xb.be), "/local/domain/0/backend/vif/%u/%u",
		 STORE_GUEST_DOMID, index);
	n->xb.efd = eventfd(0, EFD_CLOEXEC);
	if (n->xb.efd < 0) {
		snprintf(err, errlen, "cannot set up %s: %s", n->name, strerror(errno));
		goto fail;
	}
	return n;
fail:
	netback_close(n);
	return NULL;
}

static struct netback *of(struct xenbus_be *x)
{
	return (struct netback *)((char *)x - offsetof(struct netback, xb));
}

/* The front end is Initialised: map its two rings, bind its channel. */
static int connect_rings(struct xenbus_be *x)
{
	struct netback *n = of(x);
	long long tx = xenbus_fe_number(x, "tx-ring-ref", 0);
	long long rx = xenbus_fe_number(x, "rx-ring-ref", 0);
	long long port = xenbus_fe_number(x, "event-channel", 0);
	void *txp, *rxp;

	if (tx < 0 || rx < 0 || port <= 0 ||
	    xenbus_fe_number(x, "request-rx-copy", 1) != 1 ||
	    xenbus_fe_number(x, "feature-rx-notify", 1) != 1) {
		xenbus_warn(x, "the front end's rings, event channel or features are not ones this back end takes (it needs rx-copy and rx-notify, one queue, one channel)");
		return -1;
	}
	txp = gnttab_get(n->gt, tx, 1);
	rxp = gnttab_get(n->gt, rx, 1);
	if (!txp || !rxp) {
		if (txp)
			gnttab_put(n->gt, tx, 1);
		if (rxp)
			gnttab_put(n->gt, rx, 1);
		xenbus_warn(x, "the front end's ring pages are not granted to domain 0");
		return -1;
	}
	if (lg_vm_evtchn(x->vm, LGUEST_EVTCHN_BIND, port)) {
		gnttab_put(n->gt, tx, 1);
		gnttab_put(n->gt, rx, 1);
		xenbus_warn(x, "the front end's event channel is not one allocated for domain 0");
		return -1;
	}
	n->tx_ref = tx;
	n->rx_ref = rx;
	BACK_RING_INIT(&n->tx, (netif_tx_sring_t *)txp, 4096);
	BACK_RING_INIT(&n->rx, (netif_rx_sring_t *)rxp, 4096);
	n->broken = NULL;
	__atomic_store_n(&n->xb.port, (uint32_t)port, __ATOMIC_RELEASE);
	return 0;
}

static void disconnect_rings(struct xenbus_be *x)
{
	struct netback *n = of(x);
	uint32_t port = n->xb.port;

	__atomic_store_n(&n->xb.port, 0, __ATOMIC_RELEASE);
	lg_vm_evtchn(x->vm, LGUEST_EVTCHN_CLOSE, port);
	gnttab_put(n->gt, n->tx_ref, 1);
	gnttab_put(n->gt, n->rx_ref, 1);
}

static void broken(struct netback *n, const char *why)
{
	n->broken = why;
	xenbus_warn(&n->xb, why);
}

/*
 * A packet whose TCP or UDP checksum the guest left to us: where the
 * kernel is to compute it (IPv4 or IPv6 without extension headers, as
 * Linux sends them).  0, or -1 for a packet we cannot place it in.
 */
static int csum_place(const unsigned char *p, unsigned int len, struct virtio_net_hdr *vh)
{
	unsigned int type, start, proto;

	if (len < ETH_HDR + 20)
		return -1;
	type = p[12] << 8 | p[13];
	if (type == 0x0800) {
		start = ETH_HDR + (p[ETH_HDR] & 15) * 4;
		proto = p[ETH_HDR + 9];
	} else if (type == 0x86dd) {
		start = ETH_HDR + 40;
		proto = p[ETH_HDR + 6];
	} else {
		return -1;
	}
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = start;
	vh->csum_offset = proto == 6 ? 16 : proto == 17 ? 6 : 0;
	if (!vh->csum_offset || start + vh->csum_offset + 2 > len)
		return -1;
	return 0;
}

static void tx_respond(struct netback *n, uint16_t id, int16_t status)
{
	netif_tx_response_t *r = RING_GET_RESPONSE(&n->tx, n->tx.rsp_prod_pvt);

	r->id = id;
	r->status = status;
	n->tx.rsp_prod_pvt++;
}

/*
 * One packet from the transmit ring, if all of its slots are there: to
 * the tap, each slot answered.  1 if one was taken, 0 if the ring is
 * empty, 2 if it holds only part of a packet (the rest is to come), -1
 * if its indices cannot be.
 */
static int tx_one(struct netback *n)
{
	netif_tx_request_t slot[MAX_SLOTS];
	RING_IDX prod = __atomic_load_n(&n->tx.sring->req_prod, __ATOMIC_ACQUIRE);
	RING_IDX cons = n->tx.req_cons;
	/* Slots past MAX_SLOTS: dropped with the packet, each still answered. */
	static uint16_t over[NET_TX_RING_SIZE];
	unsigned int nr = 0, extras = 0, nr_over = 0, i, len = 0, first_len;
	int16_t status = NETIF_RSP_OKAY;
	int more;

	if (prod - cons > RING_SIZE(&n->tx))
		return -1;
	if (prod == cons)
		return 0;
	/* Once, out of the guest's reach: the first slot, its extras, the rest. */
	memcpy(&slot[nr++], RING_GET_REQUEST(&n->tx, cons), sizeof(slot[0]));
	cons++;
	more = slot[0].flags & NETTXF_extra_info;
	while (more) {
		netif_extra_info_t e;

		if (cons == prod)
			return 2;
		memcpy(&e, RING_GET_REQUEST(&n->tx, cons), sizeof(e));
		cons++;
		extras++;
		more = e.flags & XEN_NETIF_EXTRA_FLAG_MORE;
		if (extras > MAX_SLOTS)
			status = NETIF_RSP_ERROR;
	}
	more = slot[0].flags & NETTXF_more_data;
	while (more) {
		netif_tx_request_t t;

		if (cons == prod)
			return 2;
		memcpy(&t, RING_GET_REQUEST(&n->tx, cons), sizeof(t));
		cons++;
		more = t.flags & NETTXF_more_data;
		if (nr == MAX_SLOTS) {
			status = NETIF_RSP_ERROR;
			over[nr_over++ % NET_TX_RING_SIZE] = t.id;
			continue;
		}
		slot[nr++] = t;
	}
	n->tx.req_cons = cons;

	/* The first slot's size is the packet's; its own data the rest. */
	for (i = 1; i < nr; i++)
		len += slot[i].size;
	if (slot[0].size < ETH_HDR || len > slot[0].size)
		status = NETIF_RSP_ERROR;
	first_len = slot[0].size - len;
	len = 0;
	for (i = 0; status == NETIF_RSP_OKAY && i < nr; i++) {
		unsigned int size = i ? slot[i].size : first_len;
		const char *page;

		if (slot[i].offset + size > 4096 ||
		    !(page = gnttab_get(n->gt, slot[i].gref, 0))) {
			status = NETIF_RSP_ERROR;
			break;
		}
		memcpy(PKT(n) + len, page + slot[i].offset, size);
		gnttab_put(n->gt, slot[i].gref, 0);
		len += size;
	}
	memset(VH(n), 0, sizeof(*VH(n)));
	if (status == NETIF_RSP_OKAY && (slot[0].flags & NETTXF_csum_blank) &&
	    csum_place(PKT(n), len, VH(n)))
		status = NETIF_RSP_ERROR;
	/* A full tap queue drops the packet, as a full wire would. */
	if (status == NETIF_RSP_OKAY &&
	    write(n->tap, n->buf, sizeof(*VH(n)) + len) < 0 && errno != EAGAIN)
		status = NETIF_RSP_ERROR;
	tx_respond(n, slot[0].id, status);
	for (i = 0; i < extras; i++)
		tx_respond(n, 0, NETIF_RSP_NULL);
	for (i = 1; i < nr; i++)
		tx_respond(n, slot[i].id, status);
	for (i = 0; i < nr_over; i++)
		tx_respond(n, over[i % NET_TX_RING_SIZE], status);
	return 1;
}

static void do_tx(struct netback *n)
{
	int r, notify, more;

	do {
		while ((r = tx_one(n)) == 1)
			;
		if (r < 0) {
			broken(n, "its transmit ring's index is impossible; the interface is no longer served");
			return;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&n->tx, notify);
		if (notify)
			lg_vm_irq(n->xb.vm, 0, n->xb.port);
		if (r == 2) {
			/*
			 * Part of a packet: told again when the guest adds to
			 * it, not looked at in a loop meanwhile (unless it
			 * added some as we said so).
			 */
			RING_IDX seen = __atomic_load_n(&n->tx.sring->req_prod, __ATOMIC_ACQUIRE);

			n->tx.sring->req_event = seen + 1;
			mb();
			more = n->tx.sring->req_prod != seen;
			continue;
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&n->tx, more);
	} while (more);
}

/* Packets from the tap into the receive buffers the guest posted. */
static void do_rx(struct netback *n)
{
	int notify, sent = 0;

	for (;;) {
		RING_IDX prod = __atomic_load_n(&n->rx.sring->req_prod, __ATOMIC_ACQUIRE);
		netif_rx_request_t req;
		netif_rx_response_t *rsp;
		ssize_t got;
		char *page;

		if (prod - n->rx.req_cons > RING_SIZE(&n->rx)) {
			broken(n, "its receive ring's index is impossible; the interface is no longer served");
			return;
		}
		if (prod == n->rx.req_cons) {
			int more;

			/* Tell us when it posts more (feature-rx-notify). */
			RING_FINAL_CHECK_FOR_REQUESTS(&n->rx, more);
			if (!more)
				break;
			continue;
		}
		got = read(n->tap, n->buf, sizeof(n->buf));
		if (got < (ssize_t)sizeof(*VH(n)))
			break;
		got -= sizeof(*VH(n));
		memcpy(&req, RING_GET_REQUEST(&n->rx, n->rx.req_cons), sizeof(req));
		n->rx.req_cons++;
		rsp = RING_GET_RESPONSE(&n->rx, n->rx.rsp_prod_pvt);
		rsp->id = req.id;
		rsp->offset = 0;
		rsp->flags = 0;
		/* One page a packet: no scatter-gather offered, so a frame fits. */
		page = got <= 4096 ? gnttab_get(n->gt, req.gref, 1) : NULL;
		if (page) {
			memcpy(page, PKT(n), got);
			gnttab_put(n->gt, req.gref, 1);
			rsp->status = got;
		} else {
			rsp->status = NETIF_RSP_ERROR;
		}
		n->rx.rsp_prod_pvt++;
		sent = 1;
	}
	if (!sent)
		return;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&n->rx, notify);
	if (notify)
		lg_vm_irq(n->xb.vm, 0, n->xb.port);
}

static void *netback_main(void *arg)
{
	struct netback *n = arg;
	uint64_t v;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = n->xb.efd, .events = POLLIN },
			{ .fd = n->tap, .events = POLLIN },
		};
		/* The tap only when there is somewhere to put what it holds. */
		int live = n->xb.connected && !n->broken &&
			   n->rx.sring->req_prod != n->rx.req_cons;

		if (poll(fds, live ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents && read(n->xb.efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
			/* Nothing to read: a spurious wake-up. */
		}
		if (__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE))
			break;
		xenbus_follow(&n->xb);
		if (!n->xb.connected || n->broken)
			continue;
		do_tx(n);
		if (!n->broken)
			do_rx(n);
	}
	return NULL;
}

void netback_kick(struct netback *n)
{
	xenbus_kick(&n->xb);
}

int netback_event(struct netback *n, uint32_t port)
{
	return xenbus_event(&n->xb, port);
}

int netback_start(struct netback *n, struct lg_vm *vm, struct xs_server *xs,
		  struct gnttab *gt, uint32_t store_port, unsigned int conn)
{
	struct store *s = &xs->store;
	char path[160], mac[18];
	int r;

	n->xb.vm = vm;
	n->xb.xs = xs;
	n->xb.store_port = store_port;
	n->gt = gt;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
		 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	r = store_write(s, n->xb.be, "") ?: store_set_perms(s, n->xb.be, "n0r1");
	if (r)
		return r;
#define BE(k, ...)	(snprintf(path, sizeof(path), "%s/" k, n->xb.be), store_writef(s, path, __VA_ARGS__))
#define FE(k, ...)	(snprintf(path, sizeof(path), "%s/" k, n->xb.fe), store_writef(s, path, __VA_ARGS__))
	r = BE("frontend", "%s", n->xb.fe) ?: BE("frontend-id", "%u", STORE_GUEST_DOMID) ?:
	    BE("online", "1") ?: BE("handle", "%u", n->index) ?: BE("mac", "%s", mac) ?:
	    BE("type", "vif") ?: BE("bridge", "%s", n->ifname) ?:
	    BE("feature-rx-copy", "1") ?: BE("feature-rx-flip", "0") ?:
	    BE("feature-sg", "0") ?: BE("feature-gso-tcpv4", "0") ?:
	    BE("feature-gso-tcpv6", "0") ?: BE("feature-ipv6-csum-offload", "0") ?:
	    BE("feature-split-event-channels", "0") ?:
	    BE("state", "%d", 2 /* InitWait */) ?:
	    FE("backend", "%s", n->xb.be) ?: FE("backend-id", "0") ?:
	    FE("handle", "%u", n->index) ?: FE("mac", "%s", mac) ?:
	    FE("state", "%d", 1 /* Initialising */);
#undef BE
#undef FE
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/state", n->xb.fe);
	r = store_watch(s, conn, path, "state");
	if (r)
		return r;
	r = pthread_create(&n->th, NULL, netback_main, n);
	if (r)
		return -r;
	n->started = 1;
	return 0;
}

const char *netback_broken(struct netback *n)
{
	return __atomic_load_n(&n->broken, __ATOMIC_ACQUIRE);
}

void netback_close(struct netback *n)
{
	if (!n)
		return;
	if (n->started) {
		__atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
		netback_kick(n);
		pthread_join(n->th, NULL);
		if (n->xb.connected)
			disconnect_rings(&n->xb);
	}
	if (n->xb.efd >= 0)
		close(n->xb.efd);
	if (n->tap >= 0)
		close(n->tap);
	free(n);
}
