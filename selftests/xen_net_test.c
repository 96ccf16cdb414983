// SPDX-License-Identifier: GPL-2.0
/*
 * xen_net_test: the launcher's network back end (launcher/xen/netback.c)
 * against a front end that speaks the raw netif protocol and means harm.
 *
 * As xen_blk_test: the test process is the launcher (its xenstore, grant
 * table and network back end, on a tap device in a network namespace the
 * test makes its own with unshare()), and writes the front end's xenstore
 * nodes itself.  It watches the tap with a packet socket: what the guest
 * transmits must appear there byte for byte, and what the test sends on
 * the tap must land in the guest's receive pages.  The guest sends good
 * frames (one slot, two slots, with an extra-info slot) and bad ones
 * (too short, past its page, a grant it never made, fragments longer
 * than the packet, too many slots, a blank checksum in a frame that is
 * not IP), leaves a packet half-posted (the back end must wait for the
 * rest without spinning), posts a read-only receive page, and at the end
 * a receive index that cannot be.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include "kselftest_harness.h"
#include "xen_test.h"
#include <xen/grant_table.h>
#define mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#include <xen/io/netif.h>
#ifndef xen_mb
#define xen_mb()	mb()
#define xen_rmb()	rmb()
#define xen_wmb()	wmb()
#endif
#include "xen/netback.h"
#include "xen_launcher.h"

#define TX_VA		XEN_TEST_SCRATCH
#define RX_VA		(XEN_TEST_SCRATCH + 0x1000)
#define DATA_VA		(XEN_TEST_SCRATCH + 0x2000)
#define RXBUF_VA(i)	(XEN_TEST_SCRATCH + 0x3000 + (i) * 0x1000ULL)
#define FE		"/local/domain/1/device/vif/0"
#define BE		"/local/domain/0/backend/vif/1/0"
#define TAP		"lgnettest0"
#define ETHERTYPE	0x88b5		/* IEEE's local experimental one */

enum { G_TX = 1, G_RX, G_DATA, G_RXBUF_RO, G_RXBUF, G_NEVER = 100 };

enum {
	C_ONE_SLOT, C_TWO_SLOTS, C_EXTRA, C_SHORT, C_PAST_PAGE, C_NOT_GRANTED,
	C_FRAGS_TOO_LONG, C_TOO_MANY_SLOTS, C_CSUM_NOT_IP, C_HALF_POSTED,
	NR_CASES
};

static struct {
	uint32_t port;
	int16_t status[NR_CASES];
	int16_t rx_status[2];
	uint16_t rx_len;
	int rx_same;
} net_res;

static netif_tx_front_ring_t tx;
static netif_rx_front_ring_t rx;

static void grant(uint32_t ref, uint64_t va, int ro)
{
	volatile struct grant_entry_v1 *gt = (void *)XEN_TEST_GNTTAB;

	gt[ref].domid = 0;
	gt[ref].frame = va >> 12;
	wmb();
	gt[ref].flags = GTF_permit_access | (ro ? GTF_readonly : 0);
}

static void notify(void)
{
	struct evtchn_send s = { .port = net_res.port };

	HYPERVISOR_event_channel_op(EVTCHNOP_send, &s);
}

static void put(const netif_tx_request_t *r)
{
	volatile uint16_t *d = (volatile uint16_t *)RING_GET_REQUEST(&tx, tx.req_prod_pvt);
	const uint16_t *s = (const uint16_t *)r;
	unsigned int i;

	for (i = 0; i < sizeof(*r) / 2; i++)
		d[i] = s[i];
	tx.req_prod_pvt++;
}

/* Push what was put, and wait for the responses to all of it. */
static int16_t push(void)
{
	int16_t status = NETIF_RSP_OKAY;
	int n, i;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx, n);
	(void)n;
	notify();
	for (i = 0; i < 1000000 && tx.rsp_cons != tx.req_prod_pvt; i++) {
		while (RING_HAS_UNCONSUMED_RESPONSES(&tx)) {
			netif_tx_response_t *r = RING_GET_RESPONSE(&tx, tx.rsp_cons);

			/* The packet's answer: its first slot's, id 0 here. */
			if (r->status != NETIF_RSP_NULL && r->id == 0)
				status = r->status;
			tx.rsp_cons++;
		}
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	GUEST_ASSERT_EQ(tx.rsp_cons, tx.req_prod_pvt);
	return status;
}

static netif_tx_request_t slot(uint32_t gref, uint16_t offset, uint16_t flags,
			       uint16_t id, uint16_t size)
{
	return (netif_tx_request_t){ .gref = gref, .offset = offset, .flags = flags,
				     .id = id, .size = size };
}

static int16_t one(uint32_t gref, uint16_t offset, uint16_t flags, uint16_t size)
{
	netif_tx_request_t s = slot(gref, offset, flags, 0, size);

	put(&s);
	return push();
}

static void guest_net(void)
{
	static struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = 0 };
	volatile uint8_t *data = (void *)DATA_VA;
	volatile uint64_t *p = (void *)TX_VA;
	netif_tx_request_t s;
	unsigned int i;
	int16_t *st = net_res.status;

	for (i = 0; i < 3 * 512; i++)
		p[i] = 0;
	/* A frame: broadcast, from 02:00:00:00:00:01, our type, a pattern. */
	for (i = 0; i < 4096; i++)
		data[i] = i * 7;
	for (i = 0; i < 6; i++)
		data[i] = 0xff;
	data[6] = 2;
	for (i = 7; i < 11; i++)
		data[i] = 0;
	data[11] = 1;
	data[12] = ETHERTYPE >> 8;
	data[13] = ETHERTYPE & 0xff;
	/* The same header at 4000, for the frame split over two slots. */
	for (i = 0; i < 14; i++)
		data[4000 + i] = data[i];
	SHARED_RING_INIT((netif_tx_sring_t *)TX_VA);
	FRONT_RING_INIT(&tx, (netif_tx_sring_t *)TX_VA, 4096);
	SHARED_RING_INIT((netif_rx_sring_t *)RX_VA);
	FRONT_RING_INIT(&rx, (netif_rx_sring_t *)RX_VA, 4096);
	grant(G_TX, TX_VA, 0);
	grant(G_RX, RX_VA, 0);
	grant(G_DATA, DATA_VA, 1);
	grant(G_RXBUF_RO, RXBUF_VA(0), 1);
	grant(G_RXBUF, RXBUF_VA(1), 0);
	GUEST_ASSERT_EQ(0, HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au));
	net_res.port = au.port;
	GUEST_SYNC(au.port);

	st[C_ONE_SLOT] = one(G_DATA, 0, 0, 100);
	/* 96 bytes: 40 at the page's end, then 56 from its start. */
	s = slot(G_DATA, 4000, NETTXF_more_data, 0, 96);
	put(&s);
	s = slot(G_DATA, 40, 0, 1, 56);
	put(&s);
	st[C_TWO_SLOTS] = push();
	/* An extra-info slot (multicast, which we ignore) between. */
	s = slot(G_DATA, 0, NETTXF_extra_info, 0, 64);
	put(&s);
	{
		union {
			netif_tx_request_t slot;
			netif_extra_info_t extra;
		} e = { .extra = { .type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD } };

		put(&e.slot);
	}
	st[C_EXTRA] = push();
	st[C_SHORT] = one(G_DATA, 0, 0, 13);
	st[C_PAST_PAGE] = one(G_DATA, 4000, 0, 100);
	st[C_NOT_GRANTED] = one(G_NEVER, 0, 0, 100);
	s = slot(G_DATA, 0, NETTXF_more_data, 0, 60);
	put(&s);
	s = slot(G_DATA, 0, 0, 1, 61);
	put(&s);
	st[C_FRAGS_TOO_LONG] = push();
	for (i = 0; i < 19; i++) {
		s = slot(G_DATA, 0, i < 18 ? NETTXF_more_data : 0, i, i ? 10 : 300);
		put(&s);
	}
	st[C_TOO_MANY_SLOTS] = push();
	st[C_CSUM_NOT_IP] = one(G_DATA, 0, NETTXF_csum_blank, 100);
	/* Half a packet, then a pause in which the host watches its CPU. */
	s = slot(G_DATA, 0, NETTXF_more_data, 0, 80);
	put(&s);
	{
		int n;

		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx, n);
		(void)n;
	}
	notify();
	GUEST_SYNC(1);
	s = slot(G_DATA, 0, 0, 1, 20);
	put(&s);
	st[C_HALF_POSTED] = push();

	/* Receive: a read-only page first, then a good one. */
	for (i = 0; i < 2; i++) {
		netif_rx_request_t *r = RING_GET_REQUEST(&rx, rx.req_prod_pvt);

		r->id = i;
		r->gref = i ? G_RXBUF : G_RXBUF_RO;
		rx.req_prod_pvt++;
	}
	{
		int n;

		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&rx, n);
		(void)n;
	}
	notify();
	GUEST_SYNC(2);		/* the host sends two frames */
	for (i = 0; i < 1000000 && rx.rsp_cons != rx.req_prod_pvt; i++) {
		while (RING_HAS_UNCONSUMED_RESPONSES(&rx)) {
			netif_rx_response_t *r = RING_GET_RESPONSE(&rx, rx.rsp_cons);

			if (r->id < 2)
				net_res.rx_status[r->id] = r->status;
			rx.rsp_cons++;
		}
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	}
	net_res.rx_same = 1;
	for (i = 0; i < 100; i++)
		net_res.rx_same &= ((volatile uint8_t *)RXBUF_VA(1))[14 + i] == (uint8_t)(i + 3);
	/* A receive index a ring and more ahead: the interface stops. */
	((netif_rx_sring_t *)RX_VA)->req_prod = rx.req_prod_pvt + 1000;
	notify();
	GUEST_SYNC(3);
}

/* The host's side: the launcher's part. */

struct host {
	struct xen_test_launcher l;
	struct netback *n;
	int sock, ifindex;
};

static void backend_fire(void *opaque, unsigned int conn)
{
	(void)conn;
	netback_kick(((struct host *)opaque)->n);
}

static struct host *host_new(void)
{
	struct host *h = calloc(1, sizeof(*h));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr = { 0 };
	struct xen_test_vm *t;
	char err[256];
	int fd;

	if (!h)
		return NULL;
	t = xen_test_vm_create_devices(guest_net);
	if (!t || xtl_init(&h->l, t, backend_fire, h))
		return NULL;
	h->n = netback_open("tap=" TAP, 0, err, sizeof(err));
	if (!h->n || netback_start(h->n, &t->vm, &h->l.xs, &h->l.gt, XEN_TEST_STORE_PORT, 17)) {
		fprintf(stderr, "# %s\n", err);
		return NULL;
	}
	/* No IPv6 on the tap: its own packets would take the guest's pages. */
	fd = open("/proc/sys/net/ipv6/conf/" TAP "/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			return NULL;
		close(fd);
	}
	/* The tap up, and a packet socket on it. */
	h->sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP);
	if (h->sock < 0 || ioctl(h->sock, SIOCGIFFLAGS, &ifr))
		return NULL;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(h->sock, SIOCSIFFLAGS, &ifr) || ioctl(h->sock, SIOCGIFINDEX, &ifr))
		return NULL;
	h->ifindex = ifr.ifr_ifindex;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = h->ifindex;
	if (bind(h->sock, (struct sockaddr *)&sll, sizeof(sll)))
		return NULL;
	return h;
}

static void host_free(struct host *h)
{
	netback_close(h->n);
	xtl_free(&h->l);
	close(h->sock);
	free(h);
}

static int net_event(void *n, uint32_t port)
{
	return netback_event(n, port);
}

static int run(struct host *h, uint64_t *v)
{
	return xtl_run(&h->l, v, net_event, h->n);
}

static int connect_front(struct host *h, uint32_t port)
{
	static const char *const keys[] = {
		"tx-ring-ref", "1", "rx-ring-ref", "2", "request-rx-copy", "1",
		"feature-rx-notify", "1", NULL,
	};

	return xtl_front_ready(&h->l, FE, keys, port, BE);
}

/* The frames of our type the tap has seen the guest send, in order. */
static int frames(struct host *h, unsigned char (*f)[256], int *len, int max)
{
	int n = 0;

	while (n < max) {
		unsigned char b[2048];
		ssize_t got = recv(h->sock, b, sizeof(b), MSG_DONTWAIT);

		if (got < 0)
			break;
		if (got < 14 || b[12] != ETHERTYPE >> 8 || b[13] != (ETHERTYPE & 0xff) ||
		    b[6] != 2)
			continue;
		len[n] = got;
		memcpy(f[n++], b, got < 256 ? got : 256);
	}
	return n;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(hostile_packets_get_xens_answers)
{
	unsigned char f[8][256], out[128];
	const uint8_t *data;
	struct host *h;
	int len[8], n, i;
	double cpu;
	uint64_t v;

	/* A network namespace of our own: no other network is touched. */
	if (unshare(CLONE_NEWNET))
		SKIP(return, "cannot make a network namespace (not root?)");
	h = host_new();
	ASSERT_NE(NULL, h);
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(0, connect_front(h, v));
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(1, v);
	/* The half-posted packet: the back end waits, it does not spin. */
	cpu = cpu_seconds();
	usleep(500 * 1000);
	cpu = cpu_seconds() - cpu;
	EXPECT_GT(0.2, cpu) {
		TH_LOG("%.2f s of CPU in 0.5 s while a packet was half-posted", cpu);
	}
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(2, v);
	typeof(net_res) *r = xen_test_hva(h->l.t, &net_res);
	static const struct {
		const char *what;
		int16_t want;
	} want[NR_CASES] = {
		[C_ONE_SLOT] = { "a frame in one slot", NETIF_RSP_OKAY },
		[C_TWO_SLOTS] = { "a frame in two slots", NETIF_RSP_OKAY },
		[C_EXTRA] = { "a frame with an extra-info slot", NETIF_RSP_OKAY },
		[C_SHORT] = { "13 bytes", NETIF_RSP_ERROR },
		[C_PAST_PAGE] = { "a slot past its page", NETIF_RSP_ERROR },
		[C_NOT_GRANTED] = { "a reference never granted", NETIF_RSP_ERROR },
		[C_FRAGS_TOO_LONG] = { "fragments longer than the packet", NETIF_RSP_ERROR },
		[C_TOO_MANY_SLOTS] = { "19 slots", NETIF_RSP_ERROR },
		[C_CSUM_NOT_IP] = { "a blank checksum in a frame that is not IP", NETIF_RSP_ERROR },
		[C_HALF_POSTED] = { "a packet posted in two goes", NETIF_RSP_OKAY },
	};

	for (i = 0; i < NR_CASES; i++) {
		const char *what = want[i].what ? want[i].what : "?";
		int16_t got = r->status[i], wanted = want[i].want;

		EXPECT_EQ(wanted, got) {
			TH_LOG("%s: status %d", what, got);
		}
	}
	/* On the wire: exactly the four good frames, byte for byte. */
	n = frames(h, f, len, 8);
	ASSERT_EQ(4, n);
	data = xen_test_hva(h->l.t, (void *)DATA_VA);
	EXPECT_EQ(100, len[0]);
	EXPECT_EQ(0, memcmp(f[0], data, 100));
	EXPECT_EQ(96, len[1]);
	EXPECT_EQ(0, memcmp(f[1], data + 4000, 40));
	EXPECT_EQ(0, memcmp(f[1] + 40, data + 40, 56));
	EXPECT_EQ(64, len[2]);
	EXPECT_EQ(80, len[3]);
	EXPECT_EQ(0, memcmp(f[3], data, 60));
	EXPECT_EQ(0, memcmp(f[3] + 60, data, 20));

	/* Two frames to the guest: the read-only page refuses the first. */
	memset(out, 0xff, 6);
	memcpy(out + 6, "\x02\x00\x00\x00\x00\x09", 6);
	out[12] = ETHERTYPE >> 8;
	out[13] = ETHERTYPE & 0xff;
	for (i = 0; i < 100; i++)
		out[14 + i] = i + 3;
	for (i = 0; i < 2; i++)
		EXPECT_EQ(114, send(h->sock, out, 114, 0));
	ASSERT_EQ(XEN_UCALL_SYNC, run(h, &v));
	ASSERT_EQ(3, v);
	EXPECT_EQ(NETIF_RSP_ERROR, r->rx_status[0]);
	EXPECT_EQ(114, r->rx_status[1]);
	EXPECT_EQ(1, r->rx_same);
	/* The impossible receive index: the interface stops. */
	for (i = 0; i < 100 && !netback_broken(h->n); i++)
		usleep(10 * 1000);
	EXPECT_NE(NULL, netback_broken(h->n));
	host_free(h);
}

int main(int argc, char **argv)
{
	if (access("/dev/lguest", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/lguest absent (lg.ko not loaded)\n");
		return 4;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		printf("1..0 # SKIP /dev/net/tun absent (tun not loaded)\n");
		return 4;
	}
	return test_harness_run(argc, argv);
}
