// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcplogger.bpf.c - per-connection TCP accounting at the TC hook.
 *
 * Two programs, one per direction, share the maps. Both observe only: they
 * never change or drop a packet and return TC_ACT_UNSPEC, which TCX reads
 * as TCX_NEXT, so programs after ours on the same hook still run.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "tcplogger.h"
#include "parse.h"

/*
 * Test knob: walk every packet with the copying parser. Read-only data, so
 * the verifier prunes the branch that is not taken; production loads pay
 * nothing for it. The build default lets the tests make a second, really
 * different program for the upgrade test.
 */
#ifndef TCPLOG_FORCE_COPY_PARSE
#define TCPLOG_FORCE_COPY_PARSE false
#endif
const volatile bool force_copy_parse = TCPLOG_FORCE_COPY_PARSE;

/* TCPLOG_EMBRYONIC_SHARE_PCT of max_connections, set at load time. */
const volatile __s64 embryonic_max = TCPLOG_DEFAULT_MAX_CONNS / 2;

/*
 * enum tcplog_owner: the owner lookups this kernel allows, set at load
 * time. Read-only data: the verifier never sees a helper call that is
 * switched off, so a kernel without it still loads the program.
 */
const volatile __u32 owner_helpers = TCPLOG_OWNER_ALL;

/*
 * The kernel's own types, as far as the owner of an arriving packet needs
 * them, relocated by CO-RE against the running kernel's BTF: TC programs
 * may not call bpf_sk_cgroup_id(), so the cgroup id is read from the
 * socket the way cgroup_id() does, sk->sk_cgrp_data.cgroup->kn->id
 * (Linux 5.15 and later keep the cgroup pointer there).
 */
struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_cgroup_data sk_cgrp_data;
} __attribute__((preserve_access_index));

struct tcp_sock;

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* Set at load time with bpf_map__set_max_entries(). */
	__uint(max_entries, TCPLOG_DEFAULT_MAX_CONNS);
	__type(key, struct tcplog_conn_key);
	__type(value, struct tcplog_conn_val);
} tcplog_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcplog_percpu);
} tcplog_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tcplog_state);
} tcplog_state SEC(".maps");

/* Cgroup id -> unit name (struct tcplog_unit): the program adds ids, the
 * daemon names them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPLOG_UNITS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tcplog_unit);
} tcplog_units SEC(".maps");

/* Ids new to tcplog_units, for the daemon to name while the unit runs. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TCPLOG_OWNER_EVENTS_BYTES);
} tcplog_owner_events SEC(".maps");

/* Written by the daemon only; here so it is created and pinned with the
 * other maps (struct tcplog_totals). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcplog_totals);
} tcplog_totals SEC(".maps");

/* CLOCK_BOOTTIME to the tick; struct tcplog_percpu says why. */
static __always_inline __u64 boot_time_ns(struct tcplog_percpu *pc)
{
	__u64 jiffies = bpf_jiffies64();

	if (pc->clock_jiffies != jiffies) {
		pc->clock_jiffies = jiffies;
		pc->clock_boot_ns = bpf_ktime_get_boot_ns();
	}
	return pc->clock_boot_ns;
}

static __always_inline struct tcplog_state *shared_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcplog_state, &zero);
}

/*
 * The bits an entry gains from a packet with these TCP flags: the flags,
 * and for a SYN the opener's bit. Without a branch, so that a packet of
 * an established connection tests its flags once, as before the bits:
 * SYN (bit 1) shifted by 8 is SYN_SENT (bit 9), by 9 SYN_ACK (bit 10).
 */
_Static_assert(TCPLOG_CONN_SYN_SENT == (__u64)TCPLOG_TCP_SYN << 8 &&
		       TCPLOG_CONN_SYN_ACK == (__u64)TCPLOG_TCP_SYN << 9 &&
		       TCPLOG_TCP_ACK == 1 << 4,
	       "the opener's bits follow SYN");
static __always_inline __u64 flag_bits(__u8 flags)
{
	return flags | ((__u64)(flags & TCPLOG_TCP_SYN)
			<< (8 + ((flags & TCPLOG_TCP_ACK) >> 4)));
}

/* A packet without SYN completes an embryonic entry: once, on one CPU. */
static __always_inline void embryonic_done(struct tcplog_conn_val *val)
{
	struct tcplog_state *syn;

	if (!(__sync_fetch_and_and(&val->tcp_flags, ~TCPLOG_CONN_EMBRYONIC) &
	      TCPLOG_CONN_EMBRYONIC))
		return;
	syn = shared_state();
	if (syn)
		__sync_fetch_and_add(&syn->embryonic, -1);
}

/*
 * Adds one packet to an existing entry: one atomic fetch-add for bytes and
 * packets; the other writes happen only when their value changes (struct
 * tcplog_conn_val explains the encoding).
 */
static __always_inline void conn_add(struct tcplog_conn_val *val, __u32 len,
				     __u32 l2_len, __u32 segs, __u8 flags,
				     __u64 now)
{
	__u64 old = __sync_fetch_and_add(&val->counter,
					 TCPLOG_COUNTER_PACKET + len);

	if ((old & TCPLOG_COUNTER_BYTES_MASK) + len > TCPLOG_COUNTER_BYTES_MASK)
		__sync_fetch_and_add(&val->bytes_carries, 1);
	if (old + TCPLOG_COUNTER_PACKET + len < old)
		__sync_fetch_and_add(&val->counter_wraps, 1);
	if (segs > 1)
		__sync_fetch_and_add(&val->gso_extra, segs - 1);
	if (l2_len != val->l2_len)
		__sync_fetch_and_add(&val->l2_extra,
				     (__u64)l2_len - val->l2_len);
	if ((val->tcp_flags & flag_bits(flags)) != flag_bits(flags))
		__sync_fetch_and_or(&val->tcp_flags, flag_bits(flags));
	if ((val->tcp_flags & TCPLOG_CONN_EMBRYONIC) &&
	    !(flags & TCPLOG_TCP_SYN))
		embryonic_done(val);
	/*
	 * A plain store, at most once per tick. CPUs stamp with their own
	 * cached tick, so another CPU's stamp may be older than ours: only
	 * move forward, which keeps last_seen >= first_seen. Two CPUs racing
	 * here can still leave the older of two stamps of the same tick.
	 */
	if (now > val->last_seen_ns)
		val->last_seen_ns = now;
}

/*
 * Whether the kernel delivers a packet to @key's destination locally (or
 * cannot forward it at all), by the routing table: a wildcard listener
 * matches any destination address, also one this host only forwards to.
 */
static __always_inline bool delivered_here(struct __sk_buff *skb,
					   const struct tcplog_conn_key *key)
{
	struct bpf_fib_lookup p = {};
	long ret;

	p.ifindex = skb->ifindex;
	p.l4_protocol = IPPROTO_TCP;
	p.sport = key->src_port;
	p.dport = key->dst_port;
	if (key->family == TCPLOG_FAMILY_IPV4) {
		p.family = AF_INET;
		__builtin_memcpy(&p.ipv4_src, key->src_addr, 4);
		__builtin_memcpy(&p.ipv4_dst, key->dst_addr, 4);
	} else {
		p.family = AF_INET6;
		__builtin_memcpy(p.ipv6_src, key->src_addr, 16);
		__builtin_memcpy(p.ipv6_dst, key->dst_addr, 16);
	}
	ret = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	/* Anything but a route out (or a reason it could not be one) is
	 * delivery here; so is an error of the lookup itself. */
	return ret != BPF_FIB_LKUP_RET_SUCCESS &&
	       ret != BPF_FIB_LKUP_RET_NO_NEIGH &&
	       ret != BPF_FIB_LKUP_RET_FRAG_NEEDED;
}

/* The cgroup of the socket an arriving packet is for; 0 if none. */
static __always_inline __u64 ingress_owner(struct __sk_buff *skb,
					   const struct tcplog_conn_key *key)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;
	__u64 id;

	if (key->family == TCPLOG_FAMILY_IPV4) {
		__builtin_memcpy(&t.ipv4.saddr, key->src_addr, 4);
		__builtin_memcpy(&t.ipv4.daddr, key->dst_addr, 4);
		t.ipv4.sport = key->src_port;
		t.ipv4.dport = key->dst_port;
		len = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, key->src_addr, 16);
		__builtin_memcpy(t.ipv6.daddr, key->dst_addr, 16);
		t.ipv6.sport = key->src_port;
		t.ipv6.dport = key->dst_port;
		len = sizeof(t.ipv6);
	}
	/* The kernel's own demultiplexing, in the device's namespace: the
	 * connection's socket, else the listener (for a SYN's request
	 * socket too); a time-wait socket is none. */
	sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	id = 0;
	if (sk->state != BPF_TCP_LISTEN ||
	    !(owner_helpers & TCPLOG_OWNER_ROUTED) ||
	    delivered_here(skb, key)) {
		struct sock *ks = (struct sock *)bpf_skc_to_tcp_sock(sk);

		if (ks)
			id = ks->sk_cgrp_data.cgroup->kn->id;
	}
	bpf_sk_release(sk);
	return id;
}

/* An unnamed owner: what the program puts in tcplog_units. */
const struct tcplog_unit no_name = {};

/*
 * A new entry's owner: the first entry of an id adds it to tcplog_units
 * (one CPU wins the insert) and tells the daemon, once per id.
 */
static __always_inline void owner_seen(__u64 id)
{
	if (!id || bpf_map_lookup_elem(&tcplog_units, &id))
		return;
	if (!bpf_map_update_elem(&tcplog_units, &id, &no_name, BPF_NOEXIST))
		bpf_ringbuf_output(&tcplog_owner_events, &id, sizeof(id), 0);
}

/* The owner of a new entry: struct tcplog_conn_val's cgroup_id. */
static __always_inline __u64 owner_of(struct __sk_buff *skb,
				      const struct tcplog_conn_key *key,
				      enum tcplog_direction dir)
{
	__u64 id = 0;

	if (dir == TCPLOG_DIR_EGRESS) {
		if (owner_helpers & TCPLOG_OWNER_EGRESS)
			id = bpf_skb_cgroup_id(skb);
	} else if (owner_helpers & TCPLOG_OWNER_INGRESS) {
		id = ingress_owner(skb, key);
	}
	/* The root cgroup holds no service on a systemd host, only the
	 * kernel's own sockets: their resets and time-wait answers. */
	return id == TCPLOG_ROOT_CGROUP_ID ? 0 : id;
}

static __always_inline int handle_packet(struct __sk_buff *skb,
					 enum tcplog_direction dir)
{
	struct tcplog_conn_key key;
	struct parse_info info = {};
	struct tcplog_conn_val *val;
	struct tcplog_state *syn = NULL;
	struct tcplog_percpu *pc;
	__u32 segs, l2_len, len, gso_size, meta_tags, zero = 0;
	__u16 meta_tci = 0;
	__u64 now;
	int res, err;

	/* Per-CPU memory: no other CPU writes it, so no atomics below. */
	pc = bpf_map_lookup_elem(&tcplog_percpu, &zero);
	if (!pc) /* cannot happen: key 0 of a one-element array */
		return TC_ACT_UNSPEC;

	/*
	 * The receive path (and hardware VLAN offload before it) moves the
	 * outer tag of a frame into the skb's metadata before TC runs; a
	 * VLAN device hands its packets down the same way. It is still part
	 * of the frame on the wire and in a capture.
	 */
	meta_tags = skb->vlan_present ? 1 : 0;
	if (meta_tags)
		meta_tci = skb->vlan_tci;

	__builtin_memset(&key, 0, sizeof(key));
	if (force_copy_parse)
		res = PARSE_NEED_COPY;
	else
		res = parse_packet(skb, true, meta_tags, meta_tci, &key, &info);
	if (res == PARSE_NEED_COPY)
		res = parse_packet(skb, false, meta_tags, meta_tci, &key,
				   &info);

	switch (res) {
	case PARSE_OK:
		break;
	case PARSE_NON_IP:
		pc->stats.count[TCPLOG_STAT_NON_IP]++;
		return TC_ACT_UNSPEC;
	case PARSE_NON_TCP:
		pc->stats.count[TCPLOG_STAT_NON_TCP]++;
		return TC_ACT_UNSPEC;
	case PARSE_TRUNCATED:
		pc->stats.count[TCPLOG_STAT_TRUNCATED]++;
		return TC_ACT_UNSPEC;
	case PARSE_FRAGMENT:
		pc->stats.count[TCPLOG_STAT_FRAGMENT]++;
		return TC_ACT_UNSPEC;
	default:
		pc->stats.count[TCPLOG_STAT_MALFORMED]++;
		return TC_ACT_UNSPEC;
	}

	key.ifindex = skb->ifindex;
	key.direction = dir;
	len = skb->len + meta_tags * TCPLOG_VLAN_TAG_LEN;
	segs = skb->gso_segs;
	if (segs == 0) {
		/*
		 * virtio-net and tap hand over GSO packets with gso_size set
		 * and gso_segs not computed yet: the wire carries one
		 * segment per gso_size bytes of payload.
		 */
		segs = 1;
		gso_size = skb->gso_size;
		if (gso_size && info.tcp_payload > gso_size)
			segs = (info.tcp_payload + gso_size - 1) / gso_size;
	}
	l2_len = len - info.ip_len;
	now = boot_time_ns(pc);

	val = bpf_map_lookup_elem(&tcplog_conns, &key);
	if (!val) {
		struct tcplog_conn_val init = {
			.counter = TCPLOG_COUNTER_PACKET + len,
			.gso_extra = segs - 1,
			.first_seen_ns = now,
			.last_seen_ns = now,
			.tcp_flags = flag_bits(info.tcp_flags),
			.l2_len = l2_len,
		};

		/*
		 * A SYN makes an embryonic entry, within the share that
		 * leaves room for completed handshakes. Concurrent CPUs
		 * can pass the check together: the share is exceeded by at
		 * most one entry per CPU.
		 */
		if (info.tcp_flags & TCPLOG_TCP_SYN) {
			syn = shared_state();
			if (syn && syn->embryonic >= embryonic_max) {
				pc->stats.count[TCPLOG_STAT_INSERT_FULL]++;
				return TC_ACT_UNSPEC;
			}
			init.tcp_flags |= TCPLOG_CONN_EMBRYONIC;
		}
		/* Once per entry: established packets pay nothing. */
		init.cgroup_id = owner_of(skb, &key, dir);
		err = bpf_map_update_elem(&tcplog_conns, &key, &init,
					  BPF_NOEXIST);
		if (!err) {
			if (syn)
				__sync_fetch_and_add(&syn->embryonic, 1);
			owner_seen(init.cgroup_id);
			goto counted;
		}
		/* Another CPU created it between our lookup and update. */
		val = err == -EEXIST ?
			      bpf_map_lookup_elem(&tcplog_conns, &key) :
			      NULL;
		if (!val) {
			/* A preallocated hash says E2BIG when it is full. */
			pc->stats.count[err == -E2BIG ?
						TCPLOG_STAT_INSERT_FULL :
						TCPLOG_STAT_INSERT_OTHER]++;
			return TC_ACT_UNSPEC;
		}
	}
	conn_add(val, len, l2_len, segs, info.tcp_flags, now);
counted:
	pc->stats.count[TCPLOG_STAT_COUNTED]++;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tcplog_ingress(struct __sk_buff *skb)
{
	return handle_packet(skb, TCPLOG_DIR_INGRESS);
}

SEC("tc")
int tcplog_egress(struct __sk_buff *skb)
{
	return handle_packet(skb, TCPLOG_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
