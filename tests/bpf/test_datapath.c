// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_datapath.c - the TC program on crafted packets (BPF_PROG_TEST_RUN).
 *
 * Every case runs twice: once on the program as it loads in production
 * (headers read in place) and once with force_copy_parse set, which walks
 * the same packets with bpf_skb_load_bytes(), the path taken when headers
 * sit in paged fragments. Each case asserts the return code, the exact
 * map contents (key and every value) and the exact datapath stats. The
 * expected values come from the packets the test built, never from the
 * program's own arithmetic.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conn.h"
#include "maps.h"
#include "pktbuild.h"
#include "tcplogger.h"
#include "tcplogger.skel.h"
#include "testlib.h"
#include "units.h"

#define V4_A "198.18.0.1"
#define V4_B "198.18.0.2"
#define V6_A "fd00::1"
#define V6_B "fd00:0:0:0:ffff:ffff:ffff:2"
#define PORT_A 40000
#define PORT_B 443
#define LO_IFINDEX 1 /* test_run runs the program on the loopback device */

struct loaded {
	struct tcplogger *skel;
	const char *mode;
};

static struct loaded progs[2];
static struct loaded *cur;
static int ncpus;

/* ---- helpers -------------------------------------------------------- */

static int load(struct loaded *l, bool copy, __u32 max_conns)
{
	int err;

	l->skel = tcplogger__open();
	if (!l->skel)
		return -errno;
	l->skel->rodata->force_copy_parse = copy;
	l->mode = copy ? "copy" : "direct";
	err = bpf_map__set_max_entries(l->skel->maps.tcplog_conns, max_conns);
	if (!err)
		err = tcplogger__load(l->skel);
	if (err) {
		tcplogger__destroy(l->skel);
		l->skel = NULL;
	}
	return err;
}

static int conns_fd(void)
{
	return bpf_map__fd(cur->skel->maps.tcplog_conns);
}

static void reset_maps(void)
{
	struct tcplog_percpu *zero = calloc((size_t)ncpus, sizeof(*zero));
	__u32 k0 = 0;
	int fd = conns_fd();
	struct maps m;

	maps_init(&m, fd, -1, -1, 0);
	TL_CHECK(maps_clear(&m) >= 0, "clearing the map");
	bpf_map_update_elem(bpf_map__fd(cur->skel->maps.tcplog_percpu), &k0,
			    zero, BPF_ANY);
	free(zero);
}

static void read_stats(struct tcplog_dp_stats *out)
{
	struct tcplog_percpu *percpu = calloc((size_t)ncpus, sizeof(*percpu));
	__u32 k0 = 0;

	TL_CHECK(bpf_map_lookup_elem(bpf_map__fd(cur->skel->maps.tcplog_percpu),
				     &k0, percpu) == 0,
		 "stats lookup: %s", strerror(errno));
	tcplog_stats_sum(percpu, ncpus, out);
	free(percpu);
}

/* One kernel tick: the resolution of the coarse clocks. */
static __u64 tick_ns;

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Runs one packet through the program for @dir; returns the TC verdict. */
/*
 * Runs one packet through the program for @dir with the skb's GSO fields
 * set as a driver would set them; returns the TC verdict.
 */
static int run_pkt_gso(const struct pkt *p, int dir, __u32 gso_segs,
		       __u32 gso_size, int repeat)
{
	struct __sk_buff ctx = { .gso_segs = gso_segs, .gso_size = gso_size };
	struct bpf_program *prog = dir == TCPLOG_DIR_INGRESS ?
					   cur->skel->progs.tcplog_ingress :
					   cur->skel->progs.tcplog_egress;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->buf,
		    .data_size_in = (__u32)p->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	TL_CHECK(err == 0, "test_run: %s", strerror(errno));
	return (int)opts.retval;
}

static int run_pkt(const struct pkt *p, int dir, __u32 gso_segs, int repeat)
{
	return run_pkt_gso(p, dir, gso_segs, 0, repeat);
}

static void make_key(struct tcplog_conn_key *k, int family, const char *src,
		     const char *dst, uint16_t sport, uint16_t dport, int dir)
{
	memset(k, 0, sizeof(*k));
	pkt_key_addr(family, src, k->src_addr);
	pkt_key_addr(family, dst, k->dst_addr);
	k->ifindex = LO_IFINDEX;
	k->src_port = htons(sport);
	k->dst_port = htons(dport);
	k->direction = (__u8)dir;
	k->family = (__u8)family;
}

static int count_entries(void)
{
	struct tcplog_conn_key key;
	int n = 0, fd = conns_fd();
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		n++;
		prev = &key;
	}
	return n;
}

struct want {
	__u64 bytes, ip_bytes, packets, segments, flags;
};

static void check_entry(const struct tcplog_conn_key *key, const struct want *w,
			__u64 t0, __u64 t1)
{
	struct tcplog_conn_val val;
	struct tcplog_conn_counts c;

	if (bpf_map_lookup_elem(conns_fd(), key, &val)) {
		TL_CHECK(false, "no map entry for the expected key");
		return;
	}
	tcplog_conn_derive(&val, &c);
	TL_EQ_U64(c.bytes, w->bytes);
	TL_EQ_U64(c.ip_bytes, w->ip_bytes);
	TL_EQ_U64(c.packets, w->packets);
	TL_EQ_U64(c.segments, w->segments);
	TL_EQ_U64(c.tcp_flags, w->flags);
	/*
	 * Timestamps are exact to the tick: the first packet of a tick on a
	 * CPU stamps all packets of that tick there, so a packet may carry a
	 * time up to one tick before the run started.
	 */
	TL_CHECK(c.first_seen_ns + tick_ns >= t0 &&
			 c.first_seen_ns <= c.last_seen_ns &&
			 c.last_seen_ns <= t1,
		 "times %llu..%llu outside the run %llu..%llu",
		 (unsigned long long)c.first_seen_ns,
		 (unsigned long long)c.last_seen_ns, (unsigned long long)t0,
		 (unsigned long long)t1);
	TL_EQ_U64(val.pad, 0);
}

/* Asserts that bucket @stat holds @n packets and every other bucket 0. */
static void check_stats(enum tcplog_stat stat, __u64 n)
{
	struct tcplog_dp_stats st;
	unsigned int i;

	read_stats(&st);
	for (i = 0; i < TCPLOG_STAT_MAX; i++) {
		__u64 want = i == stat ? n : 0;

		TL_CHECK(st.count[i] == want, "stat %s = %llu, want %llu",
			 tcplog_stat_name(i), (unsigned long long)st.count[i],
			 (unsigned long long)want);
	}
}

/* ---- single-packet cases -------------------------------------------- */

struct single_case {
	const char *name;
	void (*build)(struct pkt *p);
	enum tcplog_stat stat; /* the bucket the packet must land in */
	int dir;
	__u32 gso_segs; /* as the skb says; 0 = not a GSO packet */
	__u32 gso_size; /* as the skb says (virtio/tap GSO: segs 0, size set) */
	__u32 segments; /* expected segments when not gso_segs (or 1) */
	int nvlan; /* expected VLAN IDs of the key, outermost first */
	uint16_t vlan[TCPLOG_MAX_VLAN_TAGS];
	/* For counted packets: the connection it belongs to. */
	int family;
	uint8_t flags;
	bool reverse; /* B -> A instead of A -> B */
	int ip_len; /* expected ip_bytes when not the frame minus L2 */
};

static void tcp4(struct pkt *p, uint8_t flags, size_t payload)
{
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 0);
	pkt_tcp(p, PORT_A, PORT_B, flags, 5);
	pkt_bytes(p, payload, 0x5a);
}

static void tcp6(struct pkt *p, uint8_t flags, size_t payload)
{
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_TCP);
	pkt_tcp(p, PORT_A, PORT_B, flags, 5);
	pkt_bytes(p, payload, 0x5a);
}

static void b_v4_syn(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_SYN, 0);
}

static void b_v4_data(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, 1200);
}

static void b_v4_reverse(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_B, V4_A, IPPROTO_TCP, 5, 0);
	pkt_tcp(p, PORT_B, PORT_A, TCPLOG_TCP_SYN | TCPLOG_TCP_ACK, 5);
}

static void b_v6_syn(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	tcp6(p, TCPLOG_TCP_SYN, 0);
}

static void b_v6_data(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	tcp6(p, TCPLOG_TCP_ACK, 1400);
}

static void b_vlan_v4(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 10);
}

static void b_vlan_v4_data(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 1200);
}

static void b_vlan_v6(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IPV6);
	tcp6(p, TCPLOG_TCP_ACK, 10);
}

static void b_qinq_v4(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021AD);
	pkt_vlan(p, 200, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 10);
}

static void b_qinq_v6(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021AD);
	pkt_vlan(p, 200, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IPV6);
	tcp6(p, TCPLOG_TCP_FIN | TCPLOG_TCP_ACK, 0);
}

static void b_three_tags(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021AD);
	pkt_vlan(p, 300, ETH_P_8021AD);
	pkt_vlan(p, 200, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 10);
}

static void b_v4_opts6(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 6, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
}

static void b_v4_opts15(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 15, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
	pkt_bytes(p, 100, 1);
}

static void b_v4_ihl4(struct pkt *p)
{
	b_v4_data(p);
	p->buf[14] = 0x44;
}

static void b_v4_ihl0(struct pkt *p)
{
	b_v4_data(p);
	p->buf[14] = 0x40;
}

static void b_v4_ihl_past_totlen(struct pkt *p)
{
	/* IHL 15 (60 bytes) in a 40-byte IP packet. */
	pkt_eth(p, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 0);
	pkt_set_ip_len(p, 40);
	p->buf[14] = 0x4f;
}

static void b_v4_ihl_past_end(struct pkt *p)
{
	/* IHL 15 and a total length of 80, in a frame with 40 IP bytes. */
	b_v4_ihl_past_totlen(p);
	pkt_set_ip_len(p, 80);
}

static void b_v4_version6(struct pkt *p)
{
	b_v4_data(p);
	p->buf[14] = 0x65; /* IPv6 version nibble behind an IPv4 ethertype */
}

static void b_v4_totlen_short(struct pkt *p)
{
	b_v4_data(p);
	pkt_set_ip_len(p, 16); /* less than the 20-byte header */
}

static void b_v4_totlen_long(struct pkt *p)
{
	b_v4_data(p);
	pkt_set_ip_len(p, (uint16_t)(p->len - 14 + 1));
}

static void b_v4_padded(struct pkt *p)
{
	/* A 40-byte IP packet in a 60-byte minimum Ethernet frame. */
	pkt_eth(p, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 0);
	pkt_set_ip_len(p, 40);
	pkt_bytes(p, 6, 0);
}

static void b_v4_totlen0(struct pkt *p)
{
	/* BIG TCP: a GSO packet over 64 KiB carries tot_len 0. */
	b_v4_data(p);
	pkt_set_ip_len(p, 0);
}

static void b_v6_paylen0(struct pkt *p)
{
	b_v6_data(p);
	pkt_set_ip_len(p, 0);
}

static void b_v6_paylen_long(struct pkt *p)
{
	b_v6_data(p);
	pkt_set_ip_len(p, (uint16_t)(p->len - 14 - 40 + 1));
}

static void b_v6_version4(struct pkt *p)
{
	b_v6_data(p);
	p->buf[14] = 0x45;
}

static void b_tcp_doff4(struct pkt *p)
{
	b_v4_data(p);
	p->buf[14 + 20 + 12] = 4 << 4;
}

static void b_tcp_doff0(struct pkt *p)
{
	b_v6_data(p);
	p->buf[14 + 40 + 12] = 0;
}

/* 802.1Q tag with PCP 5 and VID 0 (priority-tagged frame). */
static void b_vlan_prio(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 5 << 13, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_ACK, 10);
}

/* 12 bytes of TCP options before 1000 bytes of payload. */
static void b_v4_tcpopt(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 8);
	pkt_bytes(p, 1000, 1);
}

static void b_tcp_doff15(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_SYN, 15);
}

static void b_tcp_doff_past_ip(struct pkt *p)
{
	/* Data offset 15 (60 bytes) but the IP packet ends after 20. */
	pkt_eth(p, ETH_P_IP);
	tcp4(p, TCPLOG_TCP_SYN, 0);
	pkt_set_ip_len(p, 40);
	p->buf[14 + 20 + 12] = 15 << 4;
}

static void b_tcp_doff_past_ip_padded(struct pkt *p)
{
	/* As above, but the frame has 40 bytes more than the IP packet. */
	b_tcp_doff_past_ip(p);
	pkt_bytes(p, 40, 0);
}

static void b_v6_ext6(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_HOPOPTS);
	pkt_ipv6_ext(p, IPPROTO_DSTOPTS, 8);
	pkt_ipv6_ext(p, IPPROTO_ROUTING, 16);
	pkt_ipv6_ext(p, IPPROTO_FRAGMENT, 24);
	pkt_ipv6_frag(p, IPPROTO_AH, 0, false);
	pkt_ipv6_ah(p, IPPROTO_DSTOPTS, 24);
	pkt_ipv6_ext(p, IPPROTO_TCP, 8);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, 8);
	pkt_bytes(p, 333, 7);
}

static void ext_chain(struct pkt *p, int n, size_t len)
{
	int i;

	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_DSTOPTS);
	for (i = 0; i < n; i++)
		pkt_ipv6_ext(p, i == n - 1 ? IPPROTO_TCP : IPPROTO_DSTOPTS,
			     len);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
}

static void b_v6_ext8(struct pkt *p)
{
	ext_chain(p, TCPLOG_MAX_IPV6_EXT_HDRS, 8);
}

static void b_v6_ext9(struct pkt *p)
{
	ext_chain(p, TCPLOG_MAX_IPV6_EXT_HDRS + 1, 8);
}

static void b_v6_ext_big(struct pkt *p)
{
	/* Large options push the TCP header past 2 KiB into the packet. */
	ext_chain(p, 2, 1024);
}

static void b_v6_ext_past_ip(struct pkt *p)
{
	/* A routing header longer than the IP payload that holds it. */
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_ROUTING);
	pkt_ipv6_ext(p, IPPROTO_TCP, 16);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
	pkt_set_ip_len(p, 16 + 20);
	p->buf[14 + 40 + 1] = 10; /* 88 bytes */
}

static void b_v4_frag_first(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 0x2000 /* MF */);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
	pkt_bytes(p, 400, 3);
}

static void b_v4_frag_later(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 0x2000 | 53 /* MF, 424 */);
	pkt_bytes(p, 400, 3);
}

static void b_v4_frag_last(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 5, 106);
	pkt_bytes(p, 20, 3);
}

static void b_v6_frag_first(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_FRAGMENT);
	pkt_ipv6_frag(p, IPPROTO_TCP, 0, true);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 5);
	pkt_bytes(p, 400, 3);
}

static void b_v6_frag_later(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_FRAGMENT);
	pkt_ipv6_frag(p, IPPROTO_TCP, 53, false);
	pkt_bytes(p, 400, 3);
}

static void b_v4_udp(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_UDP, 5, 0);
	pkt_bytes(p, 28, 0);
}

static void b_v6_icmp(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, 58 /* ICMPv6 */);
	pkt_bytes(p, 16, 0);
}

static void b_v6_hbh_udp(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_HOPOPTS);
	pkt_ipv6_ext(p, IPPROTO_UDP, 8);
	pkt_bytes(p, 16, 0);
}

static void b_v6_no_next(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, 59 /* no next header */);
}

static void b_arp(struct pkt *p)
{
	pkt_eth(p, ETH_P_ARP);
	pkt_bytes(p, 28, 0);
}

static void b_vlan_arp(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 7, ETH_P_ARP);
	pkt_bytes(p, 28, 0);
}

static void b_vlan_cut(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_bytes(p, 2, 0);
}

#define COUNTED(fam) .stat = TCPLOG_STAT_COUNTED, .family = (fam)

static const struct single_case single_cases[] = {
	{ "ipv4 SYN", b_v4_syn, COUNTED(4), .flags = TCPLOG_TCP_SYN },
	{ "ipv4 data", b_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK },
	{ "ipv4 reverse direction is its own entry", b_v4_reverse, COUNTED(4),
	  .flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK, .reverse = true },
	{ "ipv4 egress program", b_v4_data, COUNTED(4),
	  .dir = TCPLOG_DIR_EGRESS, .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK },
	{ "ipv6 SYN", b_v6_syn, COUNTED(6), .flags = TCPLOG_TCP_SYN },
	{ "ipv6 data", b_v6_data, COUNTED(6), .flags = TCPLOG_TCP_ACK },
	{ "ipv6 egress program", b_v6_data, COUNTED(6),
	  .dir = TCPLOG_DIR_EGRESS, .flags = TCPLOG_TCP_ACK },
	{ "802.1Q ipv4", b_vlan_v4, COUNTED(4), .flags = TCPLOG_TCP_ACK,
	  .nvlan = 1, .vlan = { 100 } },
	{ "802.1Q ipv6", b_vlan_v6, COUNTED(6), .flags = TCPLOG_TCP_ACK,
	  .nvlan = 1, .vlan = { 100 } },
	{ "QinQ 802.1ad+802.1Q ipv4", b_qinq_v4, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK, .nvlan = 2, .vlan = { 200, 100 } },
	{ "QinQ 802.1ad+802.1Q ipv6", b_qinq_v6, COUNTED(6),
	  .flags = TCPLOG_TCP_FIN | TCPLOG_TCP_ACK, .nvlan = 2,
	  .vlan = { 200, 100 } },
	{ "802.1Q priority tag (VID 0) keeps PCP out of the key", b_vlan_prio,
	  COUNTED(4), .flags = TCPLOG_TCP_ACK, .nvlan = 1, .vlan = { 0 } },
	{ "three VLAN tags is not parsed", b_three_tags,
	  .stat = TCPLOG_STAT_NON_IP },
	{ "ipv4 options IHL 6", b_v4_opts6, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv4 options IHL 15", b_v4_opts15, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv4 IHL 4 is malformed", b_v4_ihl4, .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv4 IHL 0 is malformed", b_v4_ihl0, .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv4 IHL past the total length is malformed", b_v4_ihl_past_totlen,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv4 IHL past the frame end", b_v4_ihl_past_end,
	  .stat = TCPLOG_STAT_TRUNCATED },
	{ "ipv4 ethertype with version 6", b_v4_version6,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv4 total length below IHL", b_v4_totlen_short,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv4 total length past the frame", b_v4_totlen_long,
	  .stat = TCPLOG_STAT_TRUNCATED },
	{ "ipv4 in a padded 60-byte frame", b_v4_padded, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK, .ip_len = 40 },
	{ "ipv4 BIG TCP total length 0", b_v4_totlen0, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_segs = 3 },
	{ "ipv6 BIG TCP payload length 0", b_v6_paylen0, COUNTED(6),
	  .flags = TCPLOG_TCP_ACK, .gso_segs = 2 },
	{ "ipv6 payload length past the frame", b_v6_paylen_long,
	  .stat = TCPLOG_STAT_TRUNCATED },
	{ "ipv6 ethertype with version 4", b_v6_version4,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "tcp data offset 4 is malformed", b_tcp_doff4,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "tcp data offset 0 is malformed", b_tcp_doff0,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "tcp data offset 15 with options", b_tcp_doff15, COUNTED(4),
	  .flags = TCPLOG_TCP_SYN },
	{ "tcp options past the IP packet", b_tcp_doff_past_ip,
	  .stat = TCPLOG_STAT_TRUNCATED },
	{ "tcp options past the IP packet, padded frame",
	  b_tcp_doff_past_ip_padded, .stat = TCPLOG_STAT_TRUNCATED },
	{ "ipv6 chain of 6 extension headers incl. AH and fragment", b_v6_ext6,
	  COUNTED(6), .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK },
	{ "ipv6 chain of 8 extension headers", b_v6_ext8, COUNTED(6),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv6 chain of 9 extension headers is refused", b_v6_ext9,
	  .stat = TCPLOG_STAT_MALFORMED },
	{ "ipv6 2 KiB of extension headers", b_v6_ext_big, COUNTED(6),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv6 extension header past the IP packet", b_v6_ext_past_ip,
	  .stat = TCPLOG_STAT_TRUNCATED },
	{ "ipv4 first fragment is counted", b_v4_frag_first, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv4 middle fragment", b_v4_frag_later,
	  .stat = TCPLOG_STAT_FRAGMENT },
	{ "ipv4 last fragment", b_v4_frag_last, .stat = TCPLOG_STAT_FRAGMENT },
	{ "ipv6 first fragment is counted", b_v6_frag_first, COUNTED(6),
	  .flags = TCPLOG_TCP_ACK },
	{ "ipv6 non-first fragment", b_v6_frag_later,
	  .stat = TCPLOG_STAT_FRAGMENT },
	{ "ipv4 UDP is not TCP", b_v4_udp, .stat = TCPLOG_STAT_NON_TCP },
	{ "ipv6 ICMPv6 is not TCP", b_v6_icmp, .stat = TCPLOG_STAT_NON_TCP },
	{ "ipv6 hop-by-hop then UDP", b_v6_hbh_udp,
	  .stat = TCPLOG_STAT_NON_TCP },
	{ "ipv6 no next header", b_v6_no_next, .stat = TCPLOG_STAT_NON_TCP },
	{ "ARP is not IP", b_arp, .stat = TCPLOG_STAT_NON_IP },
	{ "ARP behind a VLAN tag", b_vlan_arp, .stat = TCPLOG_STAT_NON_IP },
	{ "VLAN tag cut short", b_vlan_cut, .stat = TCPLOG_STAT_TRUNCATED },
	{ "GSO packet of 44 segments", b_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_segs = 44 },
	{ "GSO packet of 1 segment", b_v6_data, COUNTED(6),
	  .flags = TCPLOG_TCP_ACK, .gso_segs = 1 },
	/*
	 * virtio-net / tap GSO: gso_size set, gso_segs not computed. The
	 * expected counts are ceil(payload the builder wrote / gso_size).
	 */
	{ "virtio GSO ipv4 1200 B payload, gso_size 500: 3", b_v4_data,
	  COUNTED(4), .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_size = 500,
	  .segments = 3 },
	{ "virtio GSO ipv4 1200 B payload, gso_size 400: 3", b_v4_data,
	  COUNTED(4), .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_size = 400,
	  .segments = 3 },
	{ "virtio GSO ipv4 payload = gso_size: 1", b_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_size = 1200,
	  .segments = 1 },
	{ "virtio GSO ipv4 payload below gso_size: 1", b_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_size = 1448,
	  .segments = 1 },
	{ "virtio GSO ipv4 without payload: 1", b_v4_syn, COUNTED(4),
	  .flags = TCPLOG_TCP_SYN, .gso_size = 1448, .segments = 1 },
	{ "virtio GSO ipv4 TCP options not payload: 1000 B / 250", b_v4_tcpopt,
	  COUNTED(4), .flags = TCPLOG_TCP_ACK, .gso_size = 250, .segments = 4 },
	{ "virtio GSO ipv6 1400 B payload, gso_size 700: 2", b_v6_data,
	  COUNTED(6), .flags = TCPLOG_TCP_ACK, .gso_size = 700, .segments = 2 },
	{ "virtio GSO ipv6 1400 B payload, gso_size 1399: 2", b_v6_data,
	  COUNTED(6), .flags = TCPLOG_TCP_ACK, .gso_size = 1399,
	  .segments = 2 },
	{ "virtio GSO ipv6 1400 B payload, gso_size 100: 14", b_v6_data,
	  COUNTED(6), .flags = TCPLOG_TCP_ACK, .gso_size = 100,
	  .segments = 14 },
	{ "virtio GSO ipv6 extension headers not payload: 333 B / 111",
	  b_v6_ext6, COUNTED(6), .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK,
	  .gso_size = 111, .segments = 3 },
	{ "virtio GSO 802.1Q ipv4: 1200 B / 500", b_vlan_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_ACK, .gso_size = 500, .segments = 3, .nvlan = 1,
	  .vlan = { 100 } },
	{ "gso_segs set wins over gso_size", b_v4_data, COUNTED(4),
	  .flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, .gso_segs = 44,
	  .gso_size = 100 },
};

static void run_single(const struct single_case *c)
{
	struct tcplog_conn_key key;
	struct pkt p;
	struct want w;
	__u64 t0, t1;

	pkt_init(&p);
	c->build(&p);
	pkt_finish(&p);
	reset_maps();

	t0 = boot_ns();
	TL_EQ_INT(run_pkt_gso(&p, c->dir, c->gso_segs, c->gso_size, 1),
		  TC_ACT_UNSPEC);
	t1 = boot_ns();
	check_stats(c->stat, 1);

	if (c->stat != TCPLOG_STAT_COUNTED) {
		TL_EQ_INT(count_entries(), 0);
		return;
	}
	TL_EQ_INT(count_entries(), 1);
	if (c->family == 4)
		make_key(&key, 4, c->reverse ? V4_B : V4_A,
			 c->reverse ? V4_A : V4_B, c->reverse ? PORT_B : PORT_A,
			 c->reverse ? PORT_A : PORT_B, c->dir);
	else
		make_key(&key, 6, V6_A, V6_B, PORT_A, PORT_B, c->dir);
	w = (struct want){
		.bytes = p.len,
		.ip_bytes = c->ip_len ? (__u64)c->ip_len :
					p.len - (size_t)p.ip_off,
		.packets = 1,
		.segments = c->gso_segs ? c->gso_segs :
			    c->segments ? c->segments :
					  1,
		.flags = c->flags,
	};
	key.vlan_count = (__u8)c->nvlan;
	memcpy(key.vlan_id, c->vlan, sizeof(key.vlan_id));
	check_entry(&key, &w, t0, t1);
}

/* ---- multi-packet cases --------------------------------------------- */

/* One connection, a handshake's worth of packets: the values accumulate. */
static void case_accumulate(void)
{
	struct tcplog_conn_key key;
	struct pkt syn, data, fin;
	struct want w;
	__u64 t0, t1;

	pkt_init(&syn);
	pkt_eth(&syn, ETH_P_IP);
	tcp4(&syn, TCPLOG_TCP_SYN, 0);
	pkt_finish(&syn);
	pkt_init(&data);
	pkt_eth(&data, ETH_P_IP);
	tcp4(&data, TCPLOG_TCP_PSH | TCPLOG_TCP_ACK, 1000);
	pkt_finish(&data);
	pkt_init(&fin);
	pkt_eth(&fin, ETH_P_IP);
	tcp4(&fin, TCPLOG_TCP_FIN | TCPLOG_TCP_ACK, 0);
	pkt_finish(&fin);
	reset_maps();

	t0 = boot_ns();
	run_pkt(&syn, TCPLOG_DIR_INGRESS, 0, 1);
	run_pkt(&data, TCPLOG_DIR_INGRESS, 5, 3); /* 3 GSO packets of 5 */
	run_pkt(&fin, TCPLOG_DIR_INGRESS, 0, 1);
	t1 = boot_ns();

	check_stats(TCPLOG_STAT_COUNTED, 5);
	TL_EQ_INT(count_entries(), 1);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	w = (struct want){
		.bytes = syn.len + 3 * data.len + fin.len,
		.ip_bytes =
			(syn.len - 14) + 3 * (data.len - 14) + (fin.len - 14),
		.packets = 5,
		.segments = 1 + 3 * 5 + 1,
		.flags = TCPLOG_TCP_SYN | TCPLOG_TCP_PSH | TCPLOG_TCP_ACK |
			 TCPLOG_TCP_FIN,
	};
	check_entry(&key, &w, t0, t1);
}

/*
 * Packets of one connection with different non-IP parts (padded runts):
 * ip_bytes stays exact. The same 4-tuple behind a VLAN tag is another
 * entry (the VLAN IDs are part of the key).
 */
static void case_mixed_l2(void)
{
	struct tcplog_conn_key key;
	struct pkt plain, padded, tagged;
	struct want w;
	__u64 t0, t1;

	pkt_init(&padded);
	b_v4_padded(&padded);
	pkt_finish(&padded);
	pkt_init(&plain);
	pkt_eth(&plain, ETH_P_IP);
	tcp4(&plain, TCPLOG_TCP_ACK, 700);
	pkt_finish(&plain);
	pkt_init(&tagged);
	b_vlan_v4(&tagged);
	pkt_finish(&tagged);
	reset_maps();

	t0 = boot_ns();
	run_pkt(&padded, TCPLOG_DIR_INGRESS, 0, 1); /* sets the L2 base: 20 */
	run_pkt(&plain, TCPLOG_DIR_INGRESS, 0, 2);
	run_pkt(&tagged, TCPLOG_DIR_INGRESS, 0, 1);
	run_pkt(&padded, TCPLOG_DIR_INGRESS, 0, 1);
	t1 = boot_ns();

	check_stats(TCPLOG_STAT_COUNTED, 5);
	TL_EQ_INT(count_entries(), 2);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	w = (struct want){
		.bytes = 2 * padded.len + 2 * plain.len,
		.ip_bytes = 2 * 40 + 2 * (plain.len - 14),
		.packets = 4,
		.segments = 4,
		.flags = TCPLOG_TCP_ACK,
	};
	check_entry(&key, &w, t0, t1);
	key.vlan_count = 1;
	key.vlan_id[0] = 100;
	w = (struct want){
		.bytes = tagged.len,
		.ip_bytes = tagged.len - 18,
		.packets = 1,
		.segments = 1,
		.flags = TCPLOG_TCP_ACK,
	};
	check_entry(&key, &w, t0, t1);
}

/* Different 4-tuples, families, directions: one entry each. */
static void case_separate_entries(void)
{
	struct tcplog_conn_key key;
	struct pkt a, b, c;
	struct want w = { .packets = 1, .segments = 1 };

	pkt_init(&a);
	b_v4_syn(&a);
	pkt_finish(&a);
	pkt_init(&b);
	b_v4_reverse(&b);
	pkt_finish(&b);
	pkt_init(&c);
	b_v6_syn(&c);
	pkt_finish(&c);
	reset_maps();

	run_pkt(&a, TCPLOG_DIR_INGRESS, 0, 1);
	run_pkt(&a, TCPLOG_DIR_EGRESS, 0, 1);
	run_pkt(&b, TCPLOG_DIR_INGRESS, 0, 1);
	run_pkt(&c, TCPLOG_DIR_INGRESS, 0, 1);
	check_stats(TCPLOG_STAT_COUNTED, 4);
	TL_EQ_INT(count_entries(), 4);

	/* All four, each exactly its one packet. */
	w.bytes = a.len;
	w.ip_bytes = a.len - 14;
	w.flags = TCPLOG_TCP_SYN;
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	check_entry(&key, &w, 0, UINT64_MAX);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_EGRESS);
	check_entry(&key, &w, 0, UINT64_MAX);
	w.bytes = b.len;
	w.ip_bytes = b.len - 14;
	w.flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK;
	make_key(&key, 4, V4_B, V4_A, PORT_B, PORT_A, TCPLOG_DIR_INGRESS);
	check_entry(&key, &w, 0, UINT64_MAX);
	w.bytes = c.len;
	w.ip_bytes = c.len - 14;
	w.flags = TCPLOG_TCP_SYN;
	make_key(&key, 6, V6_A, V6_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	check_entry(&key, &w, 0, UINT64_MAX);
}

/*
 * Truncation at every length: a QinQ IPv6 packet with extension headers and
 * an IPv4 packet with options and TCP options, cut at each byte from the
 * end of the Ethernet header to one byte short of the TCP header's end.
 * With the IP length left as built, the IP length check catches it; with
 * the IP length fixed to what is left, the header walk does.
 */
static void truncation_sweep(void (*build)(struct pkt *), size_t start,
			     size_t hdr_end, bool fix_ip_len)
{
	struct pkt full, p;
	size_t cut;
	__u64 runs = 0;

	pkt_init(&full);
	build(&full);
	pkt_finish(&full);
	reset_maps();
	for (cut = start; cut < hdr_end; cut++) {
		p = full;
		p.len = cut;
		if (fix_ip_len && (size_t)p.ip_off + 6 <= cut) {
			size_t left = cut - (size_t)p.ip_off;

			if (p.ip_version == 6 && left < 40)
				continue; /* no room for a consistent length */
			if (p.ip_version == 4 &&
			    left < (size_t)(p.buf[p.ip_off] & 0xf) * 4)
				continue;
			pkt_set_ip_len(&p, (uint16_t)(p.ip_version == 4 ?
							      left :
							      left - 40));
		}
		TL_EQ_INT(run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1), TC_ACT_UNSPEC);
		runs++;
	}
	check_stats(TCPLOG_STAT_TRUNCATED, runs);
	TL_EQ_INT(count_entries(), 0);
}

static void b_trunc6(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021AD);
	pkt_vlan(p, 200, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_HOPOPTS);
	pkt_ipv6_ext(p, IPPROTO_FRAGMENT, 16);
	pkt_ipv6_frag(p, IPPROTO_TCP, 0, false);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 8);
}

static void b_trunc4(struct pkt *p)
{
	pkt_eth(p, ETH_P_8021Q);
	pkt_vlan(p, 100, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 8, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 7);
}

static void b_trunc6_untagged(struct pkt *p)
{
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, V6_A, V6_B, IPPROTO_ROUTING);
	pkt_ipv6_ext(p, IPPROTO_TCP, 24);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 6);
}

static void b_trunc4_untagged(struct pkt *p)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, V4_A, V4_B, IPPROTO_TCP, 6, 0);
	pkt_tcp(p, PORT_A, PORT_B, TCPLOG_TCP_ACK, 6);
}

static void case_trunc6(void)
{
	truncation_sweep(b_trunc6, 14, 22 + 40 + 16 + 8 + 32, false);
}

static void case_trunc6_fixed(void)
{
	truncation_sweep(b_trunc6, 14, 22 + 40 + 16 + 8 + 32, true);
}

static void case_trunc4(void)
{
	truncation_sweep(b_trunc4, 14, 18 + 32 + 28, false);
}

static void case_trunc4_fixed(void)
{
	truncation_sweep(b_trunc4, 14, 18 + 32 + 28, true);
}

/*
 * Untagged frames start at the end of the fixed IP header: the kernel's
 * test_run refuses an IPv4 (IPv6) frame with less than 20 (40) IP bytes,
 * so shorter cuts are covered by the tagged sweeps above.
 */
static void case_trunc6_untagged(void)
{
	truncation_sweep(b_trunc6_untagged, 14 + 40, 14 + 40 + 24 + 24, false);
	truncation_sweep(b_trunc6_untagged, 14 + 40, 14 + 40 + 24 + 24, true);
}

static void case_trunc4_untagged(void)
{
	truncation_sweep(b_trunc4_untagged, 14 + 20, 14 + 24 + 24, false);
	truncation_sweep(b_trunc4_untagged, 14 + 20, 14 + 24 + 24, true);
}

/* ---- concurrency ---------------------------------------------------- */

#define PAR_REPEAT 1000000

struct par_arg {
	const struct pkt *p;
	int cpu;
	int err;
};

static void pin_to_cpu(int cpu, int *err)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	*err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *par_worker(void *arg)
{
	struct par_arg *a = arg;
	struct __sk_buff ctx = { .gso_segs = 2 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = a->p->buf,
		    .data_size_in = (__u32)a->p->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = PAR_REPEAT);

	pin_to_cpu(a->cpu, &a->err);
	if (!a->err &&
	    bpf_prog_test_run_opts(
		    bpf_program__fd(cur->skel->progs.tcplog_ingress), &opts))
		a->err = errno;
	return NULL;
}

/*
 * Two threads, pinned to two CPUs, run the same packet a million times
 * each: the entry must hold exactly two million packets. (test_run disables
 * migration while it repeats, so both CPUs update the entry concurrently.)
 */
static void case_parallel(void)
{
	struct tcplog_conn_key key;
	struct par_arg args[2];
	pthread_t th[2];
	struct pkt p;
	struct want w;
	int i;

	if (ncpus < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		TL_CHECK(false, "needs two online CPUs, have %ld",
			 sysconf(_SC_NPROCESSORS_ONLN));
		return;
	}
	pkt_init(&p);
	b_v4_data(&p);
	pkt_finish(&p);
	reset_maps();
	/* Create the entry first so both threads race on updates. */
	run_pkt(&p, TCPLOG_DIR_INGRESS, 2, 1);
	for (i = 0; i < 2; i++) {
		args[i] = (struct par_arg){ .p = &p, .cpu = i };
		pthread_create(&th[i], NULL, par_worker, &args[i]);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TL_CHECK(args[i].err == 0, "worker on CPU %d: %s", i,
			 strerror(args[i].err));
	}
	check_stats(TCPLOG_STAT_COUNTED, 2 * PAR_REPEAT + 1);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	w = (struct want){
		.bytes = (2ull * PAR_REPEAT + 1) * p.len,
		.ip_bytes = (2ull * PAR_REPEAT + 1) * (p.len - 14),
		.packets = 2ull * PAR_REPEAT + 1,
		.segments = 2 * (2ull * PAR_REPEAT + 1),
		.flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK,
	};
	check_entry(&key, &w, 0, UINT64_MAX);
}

/* Two CPUs inserting the same new connections at once: none is lost. */
#define INS_CONNS 3000

struct ins_arg {
	struct pkt *pkts;
	int cpu;
	int err;
};

static void *ins_worker(void *arg)
{
	struct ins_arg *a = arg;
	int fd = bpf_program__fd(cur->skel->progs.tcplog_ingress);
	int i;

	pin_to_cpu(a->cpu, &a->err);
	for (i = 0; i < INS_CONNS && !a->err; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = a->pkts[i].buf,
			    .data_size_in = (__u32)a->pkts[i].len);

		if (bpf_prog_test_run_opts(fd, &opts))
			a->err = errno;
	}
	return NULL;
}

static void case_parallel_insert(void)
{
	struct pkt *pkts = calloc(INS_CONNS, sizeof(*pkts));
	struct tcplog_conn_key key;
	struct ins_arg args[2];
	pthread_t th[2];
	struct want w = { .packets = 2,
			  .segments = 2,
			  .flags = TCPLOG_TCP_SYN };
	int i;

	for (i = 0; i < INS_CONNS; i++) {
		pkt_init(&pkts[i]);
		pkt_eth(&pkts[i], ETH_P_IP);
		pkt_ipv4(&pkts[i], V4_A, V4_B, IPPROTO_TCP, 5, 0);
		pkt_tcp(&pkts[i], (uint16_t)(1024 + i), PORT_B, TCPLOG_TCP_SYN,
			5);
		pkt_finish(&pkts[i]);
	}
	reset_maps();
	for (i = 0; i < 2; i++) {
		args[i] = (struct ins_arg){ .pkts = pkts, .cpu = i };
		pthread_create(&th[i], NULL, ins_worker, &args[i]);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TL_CHECK(args[i].err == 0, "worker on CPU %d: %s", i,
			 strerror(args[i].err));
	}
	check_stats(TCPLOG_STAT_COUNTED, 2 * INS_CONNS);
	TL_EQ_INT(count_entries(), INS_CONNS);
	/* The map owner's walk (daemon/maps/maps.c) agrees with a key-by-key
	 * walk. */
	{
		struct maps m;
		uint64_t entries = 0;

		maps_init(&m, conns_fd(), -1, -1, 0);
		TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
		TL_EQ_INT(entries, INS_CONNS);
	}
	w.bytes = 2 * pkts[0].len;
	w.ip_bytes = 2 * (pkts[0].len - 14);
	for (i = 0; i < INS_CONNS; i++) {
		make_key(&key, 4, V4_A, V4_B, (uint16_t)(1024 + i), PORT_B,
			 TCPLOG_DIR_INGRESS);
		check_entry(&key, &w, 0, UINT64_MAX);
		if (tl_case_failed)
			break;
	}
	free(pkts);
}

/* ---- the packed counter and the clock ------------------------------- */

/*
 * Seeds an entry as if it had seen @packets packets of @bytes bytes in all
 * (encoded with 128-bit arithmetic, independently of the program), runs
 * one packet and checks the derived counters against plain sums, and the
 * rare carry and wrap words against what the packet must have caused.
 */
static void counter_case(__u64 packets, __u64 bytes, __u64 carries_delta,
			 __u64 wraps_delta)
{
	unsigned __int128 sum = ((unsigned __int128)packets << 32) + bytes;
	struct tcplog_conn_key key;
	struct tcplog_conn_val val = {
		.counter = (__u64)sum,
		.bytes_carries = bytes >> 32,
		.counter_wraps = (__u64)(sum >> 64),
		.l2_len = 14,
		.tcp_flags = TCPLOG_TCP_ACK,
	};
	const __u64 carries = val.bytes_carries, wraps = val.counter_wraps;
	struct want w;
	struct pkt p;

	pkt_init(&p);
	b_v4_data(&p);
	pkt_finish(&p);
	reset_maps();
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	TL_CHECK(bpf_map_update_elem(conns_fd(), &key, &val, BPF_NOEXIST) == 0,
		 "seeding the entry: %s", strerror(errno));
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	check_stats(TCPLOG_STAT_COUNTED, 1);
	w = (struct want){
		.bytes = bytes + p.len,
		.ip_bytes = bytes + p.len - 14 * (packets + 1),
		.packets = packets + 1,
		.segments = packets + 1,
		.flags = TCPLOG_TCP_PSH | TCPLOG_TCP_ACK,
	};
	check_entry(&key, &w, 0, UINT64_MAX);
	TL_CHECK(bpf_map_lookup_elem(conns_fd(), &key, &val) == 0, "lookup");
	TL_EQ_U64(val.bytes_carries, carries + carries_delta);
	TL_EQ_U64(val.counter_wraps, wraps + wraps_delta);
}

#define GiB4 (1ull << 32)

static void case_counter_bytes_carry(void)
{
	/* 100 bytes short of 12 GiB: this packet crosses a 4 GiB step. */
	counter_case(5000, 3 * GiB4 - 100, 1, 0);
}

static void case_counter_word_wrap(void)
{
	/* packets + (bytes >> 32) reaches 2^32: the 64-bit word wraps. */
	counter_case(GiB4 - 21, 20 * GiB4 + 500, 0, 1);
}

static void case_counter_both(void)
{
	/* Both at once: the carry out of the bytes also wraps the word. */
	counter_case(GiB4 - 22, 20 * GiB4 + GiB4 - 10, 1, 1);
}

/* last_seen follows CLOCK_BOOTTIME across ticks; first_seen stays. */
static void case_clock(void)
{
	struct tcplog_conn_key key;
	struct tcplog_conn_val val;
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	__u64 t0, t1, t2;
	struct pkt p;

	pkt_init(&p);
	b_v4_syn(&p);
	pkt_finish(&p);
	reset_maps();
	t0 = boot_ns();
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	t1 = boot_ns();
	nanosleep(&pause, NULL);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	t2 = boot_ns();
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	TL_CHECK(bpf_map_lookup_elem(conns_fd(), &key, &val) == 0, "lookup");
	TL_CHECK(val.first_seen_ns + tick_ns >= t0 && val.first_seen_ns <= t1,
		 "first_seen %llu not in %llu..%llu (tick %llu)",
		 (unsigned long long)val.first_seen_ns, (unsigned long long)t0,
		 (unsigned long long)t1, (unsigned long long)tick_ns);
	TL_CHECK(val.last_seen_ns + tick_ns >= t1 + pause.tv_nsec &&
			 val.last_seen_ns <= t2,
		 "last_seen %llu not in %llu..%llu (tick %llu)",
		 (unsigned long long)val.last_seen_ns,
		 (unsigned long long)(t1 + pause.tv_nsec),
		 (unsigned long long)t2, (unsigned long long)tick_ns);
}

/* ---- a full map ----------------------------------------------------- */

static void case_map_full(void)
{
	struct loaded small = { 0 };
	struct loaded *saved = cur;
	struct tcplog_conn_key key;
	struct want w = { .packets = 2,
			  .segments = 2,
			  .flags = TCPLOG_TCP_SYN };
	struct pkt p[3];
	int i, err;

	err = load(&small, false, 2);
	TL_CHECK(err == 0, "load with 2 entries: %s", strerror(-err));
	if (err)
		return;
	cur = &small;
	for (i = 0; i < 3; i++) {
		pkt_init(&p[i]);
		pkt_eth(&p[i], ETH_P_IP);
		pkt_ipv4(&p[i], V4_A, V4_B, IPPROTO_TCP, 5, 0);
		pkt_tcp(&p[i], (uint16_t)(PORT_A + i), PORT_B, TCPLOG_TCP_SYN,
			5);
		pkt_finish(&p[i]);
		run_pkt(&p[i], TCPLOG_DIR_INGRESS, 0, 1);
	}
	/* The map is full: the third connection is refused and counted... */
	{
		struct tcplog_dp_stats st;

		read_stats(&st);
		TL_EQ_U64(st.count[TCPLOG_STAT_COUNTED], 2);
		TL_EQ_U64(st.count[TCPLOG_STAT_INSERT_FULL], 1);
		TL_EQ_U64(st.count[TCPLOG_STAT_INSERT_OTHER], 0);
		TL_EQ_U64(tcplog_stats_seen(&st), 3);
	}
	/* ...while the admitted ones keep counting exactly. */
	for (i = 0; i < 3; i++)
		run_pkt(&p[i], TCPLOG_DIR_INGRESS, 0, 1);
	TL_EQ_INT(count_entries(), 2);
	w.bytes = 2 * p[0].len;
	w.ip_bytes = 2 * (p[0].len - 14);
	for (i = 0; i < 2; i++) {
		make_key(&key, 4, V4_A, V4_B, (uint16_t)(PORT_A + i), PORT_B,
			 TCPLOG_DIR_INGRESS);
		check_entry(&key, &w, 0, UINT64_MAX);
	}
	{
		struct tcplog_dp_stats st;

		read_stats(&st);
		TL_EQ_U64(st.count[TCPLOG_STAT_COUNTED], 4);
		TL_EQ_U64(st.count[TCPLOG_STAT_INSERT_FULL], 2);
	}
	cur = saved;
	tcplogger__destroy(small.skel);
}

/* ---- the opener's bits and the owner ------------------------------------- */

/* Moves this process into the cgroup directory @dir. */
static int cgroup_join(const char *dir)
{
	char path[600];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "0\n") < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

/* Runs one loopback IPv4 packet through the program for @dir. */
static void lo_pkt(const char *src, const char *dst, uint16_t sport,
		   uint16_t dport, uint8_t flags, int dir)
{
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, ETH_P_IP);
	pkt_ipv4(&p, src, dst, IPPROTO_TCP, 5, 0);
	pkt_tcp(&p, sport, dport, flags, 5);
	pkt_finish(&p);
	run_pkt(&p, dir, 0, 1);
}

static __u64 entry_owner(const struct tcplog_conn_key *key, __u64 *flags)
{
	struct tcplog_conn_val val = { 0 };

	if (bpf_map_lookup_elem(conns_fd(), key, &val))
		return ~0ull;
	*flags = val.tcp_flags;
	return val.cgroup_id;
}

/*
 * The opener's bits: a SYN without ACK marks its sender, a SYN-ACK its
 * receiver, other packets neither. The owner: a SYN arriving for a local
 * listener gets the listener's cgroup (a cgroup of our own, made for the
 * test, its id the directory's inode number), a SYN to a closed port and
 * an egress packet without a socket get 0.
 */
static void case_owner(void)
{
	char root[512], dir[600], self[1300], line[700];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct tcplog_conn_key key;
	struct stat st;
	__u64 flags = 0;
	uint16_t port;
	FILE *f;
	int fd = -1;

	reset_maps();
	TL_CHECK(units_cgroup2_root(root, sizeof(root)) == 0,
		 "no cgroup v2 hierarchy mounted");
	/* Where we are now, to come back. */
	snprintf(self, sizeof(self), "%s", root);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(self, sizeof(self), "%s%s", root, line + 3);
		}
	if (f)
		fclose(f);
	snprintf(dir, sizeof(dir), "%s/tcplog-datapath-%d.service", root,
		 (int)getpid());
	TL_CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	TL_CHECK(stat(dir, &st) == 0, "stat %s", dir);
	TL_CHECK(cgroup_join(dir) == 0, "join %s", dir);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TL_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			 listen(fd, 4) == 0 &&
			 getsockname(fd, (struct sockaddr *)&sa, &salen) == 0,
		 "listen: %s", strerror(errno));
	cgroup_join(self);
	port = ntohs(sa.sin_port);

	/* A SYN to the listener: its sender opened; the owner found. */
	lo_pkt("127.0.0.2", "127.0.0.1", PORT_A, port, TCPLOG_TCP_SYN,
	       TCPLOG_DIR_INGRESS);
	make_key(&key, 4, "127.0.0.2", "127.0.0.1", PORT_A, port,
		 TCPLOG_DIR_INGRESS);
	TL_EQ_U64(entry_owner(&key, &flags), (__u64)st.st_ino);
	TL_EQ_U64(flags & (TCPLOG_CONN_SYN_SENT | TCPLOG_CONN_SYN_ACK),
		  TCPLOG_CONN_SYN_SENT);
	/* Later packets keep the owner, and a SYN-ACK adds its bit. */
	lo_pkt("127.0.0.2", "127.0.0.1", PORT_A, port,
	       TCPLOG_TCP_SYN | TCPLOG_TCP_ACK, TCPLOG_DIR_INGRESS);
	TL_EQ_U64(entry_owner(&key, &flags), (__u64)st.st_ino);
	TL_EQ_U64(flags & (TCPLOG_CONN_SYN_SENT | TCPLOG_CONN_SYN_ACK),
		  TCPLOG_CONN_SYN_SENT | TCPLOG_CONN_SYN_ACK);

	/* A SYN-ACK first: its receiver opened. A closed port: no owner. */
	lo_pkt("127.0.0.2", "127.0.0.1", PORT_A + 1, 1,
	       TCPLOG_TCP_SYN | TCPLOG_TCP_ACK, TCPLOG_DIR_INGRESS);
	make_key(&key, 4, "127.0.0.2", "127.0.0.1", PORT_A + 1, 1,
		 TCPLOG_DIR_INGRESS);
	TL_EQ_U64(entry_owner(&key, &flags), 0);
	TL_EQ_U64(flags & (TCPLOG_CONN_SYN_SENT | TCPLOG_CONN_SYN_ACK),
		  TCPLOG_CONN_SYN_ACK);

	/* Egress without a socket (a test run's packet has none); an ACK
	 * sets no opener bit. */
	lo_pkt("127.0.0.1", "127.0.0.2", port, PORT_A, TCPLOG_TCP_ACK,
	       TCPLOG_DIR_EGRESS);
	make_key(&key, 4, "127.0.0.1", "127.0.0.2", port, PORT_A,
		 TCPLOG_DIR_EGRESS);
	TL_EQ_U64(entry_owner(&key, &flags), 0);
	TL_EQ_U64(flags & (TCPLOG_CONN_SYN_SENT | TCPLOG_CONN_SYN_ACK), 0);

	/* The owner was reported for the daemon to name: in the names map,
	 * unnamed yet. */
	{
		struct tcplog_unit un = { .name = "x" };
		__u64 id = (__u64)st.st_ino;

		TL_CHECK(!bpf_map_lookup_elem(
				 bpf_map__fd(cur->skel->maps.tcplog_units), &id,
				 &un) &&
				 !un.name[0],
			 "the new owner is in the names map, unnamed");
	}
	/* A kernel without the lookups: switched off, the program loads and
	 * counts, with no owner. */
	{
		struct loaded off = { .mode = cur->mode };
		struct loaded *saved = cur;

		off.skel = tcplogger__open();
		TL_CHECK(off.skel != NULL, "open");
		if (off.skel) {
			off.skel->rodata->owner_helpers = 0;
			off.skel->rodata->force_copy_parse =
				!strcmp(saved->mode, "copy");
			TL_EQ_INT(tcplogger__load(off.skel), 0);
			cur = &off;
			lo_pkt("127.0.0.2", "127.0.0.1", PORT_A + 2, port,
			       TCPLOG_TCP_SYN, TCPLOG_DIR_INGRESS);
			make_key(&key, 4, "127.0.0.2", "127.0.0.1", PORT_A + 2,
				 port, TCPLOG_DIR_INGRESS);
			TL_EQ_U64(entry_owner(&key, &flags), 0);
			TL_EQ_U64(flags & TCPLOG_TCP_FLAGS_MASK,
				  TCPLOG_TCP_SYN);
			cur = saved;
			tcplogger__destroy(off.skel);
		}
	}

	if (fd >= 0)
		close(fd);
	rmdir(dir);
}

/* ---- embryonic entries (spoofed SYNs) ------------------------------- */

static struct pkt syn_pkt(uint16_t sport, uint8_t flags)
{
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, ETH_P_IP);
	pkt_ipv4(&p, V4_A, V4_B, IPPROTO_TCP, 5, 0);
	pkt_tcp(&p, sport, PORT_B, flags, 5);
	pkt_finish(&p);
	return p;
}

static __u64 raw_flags(uint16_t sport)
{
	struct tcplog_conn_key key;
	struct tcplog_conn_val val = { 0 };

	make_key(&key, 4, V4_A, V4_B, sport, PORT_B, TCPLOG_DIR_INGRESS);
	if (bpf_map_lookup_elem(conns_fd(), &key, &val))
		return ~0ull; /* no entry */
	return val.tcp_flags;
}

/*
 * A SYN makes an embryonic entry, within the share (embryonic_max); the
 * first packet without SYN completes it, once. Beyond the share a SYN is
 * refused and counted, while a first packet without SYN still finds room:
 * a flood cannot keep real connections out. The daemon's removals come
 * off the same shared count.
 */
static void case_embryonic(void)
{
	struct loaded small = { .mode = cur->mode };
	struct loaded *saved = cur;
	struct tcplog_dp_stats st;
	struct tcplog_state *syn;
	struct tcplog_conn_key key;
	struct conn_rec r;
	struct maps m;
	struct pkt p;
	int i, err;

	small.skel = tcplogger__open();
	if (!small.skel) {
		TL_CHECK(false, "open: %s", strerror(errno));
		return;
	}
	small.skel->rodata->force_copy_parse = cur == &progs[1];
	small.skel->rodata->embryonic_max = 3;
	bpf_map__set_max_entries(small.skel->maps.tcplog_conns, 8);
	err = tcplogger__load(small.skel);
	TL_CHECK(err == 0, "load: %s", strerror(-err));
	if (err) {
		tcplogger__destroy(small.skel);
		return;
	}
	syn = mmap(NULL, sizeof(*syn), PROT_READ | PROT_WRITE, MAP_SHARED,
		   bpf_map__fd(small.skel->maps.tcplog_state), 0);
	TL_CHECK(syn != MAP_FAILED, "mmap: %s", strerror(errno));
	if (syn == MAP_FAILED) {
		tcplogger__destroy(small.skel);
		return;
	}
	cur = &small;
	/* Three SYNs: three embryonic entries, the share full. */
	for (i = 0; i < 3; i++) {
		p = syn_pkt((uint16_t)(PORT_A + i), TCPLOG_TCP_SYN);
		run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
		TL_EQ_U64(raw_flags((uint16_t)(PORT_A + i)),
			  TCPLOG_TCP_SYN | TCPLOG_CONN_EMBRYONIC |
				  TCPLOG_CONN_SYN_SENT);
	}
	TL_EQ_U64(syn->embryonic, 3);
	/* A fourth SYN, and a SYN-ACK, are refused and counted. */
	p = syn_pkt(PORT_A + 3, TCPLOG_TCP_SYN);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	p = syn_pkt(PORT_A + 4, TCPLOG_TCP_SYN | TCPLOG_TCP_ACK);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	TL_EQ_U64(raw_flags(PORT_A + 3), ~0ull);
	TL_EQ_U64(raw_flags(PORT_A + 4), ~0ull);
	read_stats(&st);
	TL_EQ_U64(st.count[TCPLOG_STAT_COUNTED], 3);
	TL_EQ_U64(st.count[TCPLOG_STAT_INSERT_FULL], 2);
	/* A first packet without SYN finds room all the same. */
	p = syn_pkt(PORT_A + 5, TCPLOG_TCP_ACK);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	TL_EQ_U64(raw_flags(PORT_A + 5), TCPLOG_TCP_ACK);
	/* A retransmitted SYN keeps it embryonic; the ACK completes it,
	 * once: a second ACK takes nothing more off the count. */
	p = syn_pkt(PORT_A, TCPLOG_TCP_SYN);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	TL_EQ_U64(syn->embryonic, 3);
	p = syn_pkt(PORT_A, TCPLOG_TCP_ACK);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 2);
	TL_EQ_U64(raw_flags(PORT_A),
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_CONN_SYN_SENT);
	TL_EQ_U64(syn->embryonic, 2);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	{
		struct want w = { .packets = 4,
				  .segments = 4,
				  .bytes = 4 * (__u64)p.len,
				  .ip_bytes = 4 * (__u64)(p.len - 14),
				  .flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK };

		check_entry(&key, &w, 0, UINT64_MAX);
	}
	/* Room in the share again: the refused SYN now gets in. */
	p = syn_pkt(PORT_A + 3, TCPLOG_TCP_SYN);
	run_pkt(&p, TCPLOG_DIR_INGRESS, 0, 1);
	TL_EQ_U64(raw_flags(PORT_A + 3), TCPLOG_TCP_SYN |
						 TCPLOG_CONN_EMBRYONIC |
						 TCPLOG_CONN_SYN_SENT);
	TL_EQ_U64(syn->embryonic, 3);
	/* The daemon takes an embryonic entry: off the shared count; a
	 * completed one: not. */
	maps_init(&m, conns_fd(), -1, -1, 8);
	m.state = syn;
	make_key(&key, 4, V4_A, V4_B, PORT_A + 1, PORT_B, TCPLOG_DIR_INGRESS);
	TL_EQ_INT(maps_take(&m, &key, TCPLOG_REASON_IDLE, &r), 1);
	TL_CHECK(r.c.embryonic, "taken as embryonic");
	TL_EQ_U64(r.c.tcp_flags, TCPLOG_TCP_SYN);
	TL_EQ_U64(syn->embryonic, 2);
	make_key(&key, 4, V4_A, V4_B, PORT_A, PORT_B, TCPLOG_DIR_INGRESS);
	TL_EQ_INT(maps_take(&m, &key, TCPLOG_REASON_IDLE, &r), 1);
	TL_EQ_U64(syn->embryonic, 2);
	TL_EQ_U64(maps_embryonic(&m), 2);
	/* Clearing the map zeroes it. */
	TL_CHECK(maps_clear(&m) == 3, "cleared 3");
	TL_EQ_U64(syn->embryonic, 0);
	cur = saved;
	munmap(syn, sizeof(*syn));
	tcplogger__destroy(small.skel);
}

struct multi_case {
	const char *name;
	void (*fn)(void);
};

static const struct multi_case multi_cases[] = {
	{ "one connection accumulates bytes, segments and flags",
	  case_accumulate },
	{ "ip_bytes exact across different L2 lengths", case_mixed_l2 },
	{ "separate entries per tuple, family and direction",
	  case_separate_entries },
	{ "truncation sweep: QinQ ipv6 with extension headers", case_trunc6 },
	{ "truncation sweep: QinQ ipv6, IP length matching the cut",
	  case_trunc6_fixed },
	{ "truncation sweep: VLAN ipv4 with IP and TCP options", case_trunc4 },
	{ "truncation sweep: VLAN ipv4, IP length matching the cut",
	  case_trunc4_fixed },
	{ "truncation sweep: ipv6 with a routing header and TCP options",
	  case_trunc6_untagged },
	{ "truncation sweep: ipv4 with IP and TCP options",
	  case_trunc4_untagged },
	{ "two CPUs on one connection: totals exact", case_parallel },
	{ "two CPUs inserting the same new connections", case_parallel_insert },
	{ "full map: failed inserts counted, others exact", case_map_full },
	{ "embryonic entries within their share; completed once",
	  case_embryonic },
	{ "the opener's bits; the owner of a new entry", case_owner },
	{ "bytes carry past 4 GiB in the packed counter",
	  case_counter_bytes_carry },
	{ "packed counter wraps after 2^32 packets", case_counter_word_wrap },
	{ "bytes carry and counter wrap in one packet", case_counter_both },
	{ "timestamps follow CLOCK_BOOTTIME to the tick", case_clock },
};

int main(void)
{
	char name[256];
	size_t i;
	int m, err;

	libbpf_set_print(NULL);
	{
		struct timespec res;

		clock_getres(CLOCK_MONOTONIC_COARSE, &res);
		tick_ns =
			(__u64)res.tv_sec * 1000000000ull + (__u64)res.tv_nsec;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1)
		tl_skip("cannot count possible CPUs: %s", strerror(-ncpus));
	for (m = 0; m < 2; m++) {
		err = load(&progs[m], m == 1, TCPLOG_DEFAULT_MAX_CONNS);
		if (err == -EPERM || err == -EACCES)
			tl_skip("loading BPF needs CAP_BPF, CAP_NET_ADMIN and "
				"CAP_PERFMON (or root): %s",
				strerror(-err));
		if (err) {
			fprintf(stderr, "loading the program failed: %s\n",
				strerror(-err));
			return EXIT_FAILURE;
		}
	}

	for (m = 0; m < 2; m++) {
		cur = &progs[m];
		for (i = 0; i < sizeof(single_cases) / sizeof(single_cases[0]);
		     i++) {
			snprintf(name, sizeof(name), "[%s] %s", cur->mode,
				 single_cases[i].name);
			tl_case_begin(name);
			run_single(&single_cases[i]);
			tl_case_end();
		}
		for (i = 0; i < sizeof(multi_cases) / sizeof(multi_cases[0]);
		     i++) {
			snprintf(name, sizeof(name), "[%s] %s", cur->mode,
				 multi_cases[i].name);
			tl_case_begin(name);
			multi_cases[i].fn();
			tl_case_end();
		}
	}
	for (m = 0; m < 2; m++)
		tcplogger__destroy(progs[m].skel);
	return tl_finish();
}
