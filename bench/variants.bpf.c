// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * variants.bpf.c - the counting designs we measured before choosing the
 * one in bpf/tcplogger.bpf.c. Benchmark only. Every variant parses with
 * the production parser (bpf/parse.h) and builds the production key, so
 * the figures differ only by how a packet is counted (docs/DESIGN.md).
 *
 *  v_atomic4   the straightforward design: bytes, ip_bytes, packets and
 *              segments by atomic add on every packet, precise boot clock
 *  v_spinlock  one bpf_spin_lock around plain adds of the same four
 *  v_percpu    a per-CPU hash: plain adds, no atomics, one value per CPU
 *  v_atomic2   bytes and packets by two atomic adds, segments and ip_bytes
 *              derived, precise boot clock (our first design)
 *  v_packed    bytes and packets in one atomic word (the chosen encoding),
 *              precise boot clock on every packet
 *  v_noclock   the chosen encoding without any clock read (a lower bound)
 *
 * Issue 17's candidates for a cheaper datapath, each against the variant
 * it differs from by one thing:
 *
 *  v_lru        v_noclock on an LRU hash (the map flavour)
 *  v_noprealloc v_noclock on a hash without preallocation
 *  v_percpu_nc  v_noclock on a per-CPU hash: plain adds, one value per CPU
 *               (with v_noclock, the pair for the two-CPU figures)
 *  v_pcache     a per-CPU cache of recent flows in front of v_noclock's
 *               shared map: a packet of a cached flow adds to its CPU's
 *               slot without the hash lookup (benchmark only: the daemon
 *               would have to read every CPU's slots, docs/BENCHMARKS.md)
 *  v_split4     a key sized per family (below)
 *
 * The chosen design itself (packed word, tick-cached boot clock) is the
 * production program, measured as it is.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "tcplogger.h"
#include "parse.h"

struct plain_val {
	__u64 bytes, ip_bytes, packets, segments;
	__u64 first_seen_ns, last_seen_ns, tcp_flags;
};

struct locked_val {
	struct plain_val v;
	struct bpf_spin_lock lock;
};

#define CONN_MAP(name, maptype, valtype)                       \
	struct {                                               \
		__uint(type, maptype);                         \
		__uint(max_entries, TCPLOG_DEFAULT_MAX_CONNS); \
		__type(key, struct tcplog_conn_key);           \
		__type(value, valtype);                        \
	} name SEC(".maps")

CONN_MAP(atomic4_conns, BPF_MAP_TYPE_HASH, struct plain_val);
CONN_MAP(spinlock_conns, BPF_MAP_TYPE_HASH, struct locked_val);
CONN_MAP(percpu_conns, BPF_MAP_TYPE_PERCPU_HASH, struct plain_val);
CONN_MAP(atomic2_conns, BPF_MAP_TYPE_HASH, struct plain_val);
CONN_MAP(packed_conns, BPF_MAP_TYPE_HASH, struct tcplog_conn_val);
CONN_MAP(lru_conns, BPF_MAP_TYPE_LRU_HASH, struct tcplog_conn_val);
CONN_MAP(percpu_nc_conns, BPF_MAP_TYPE_PERCPU_HASH, struct tcplog_conn_val);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPLOG_DEFAULT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcplog_conn_key);
	__type(value, struct tcplog_conn_val);
} noprealloc_conns SEC(".maps");

struct pkt_facts {
	struct tcplog_conn_key key;
	struct parse_info info;
	__u32 segs;
};

static __always_inline bool facts(struct __sk_buff *skb, struct pkt_facts *f)
{
	__builtin_memset(&f->key, 0, sizeof(f->key));
	if (parse_packet(skb, true, 0, 0, &f->key, &f->info) != PARSE_OK)
		return false;
	f->key.ifindex = skb->ifindex;
	f->key.direction = TCPLOG_DIR_INGRESS;
	f->segs = skb->gso_segs ? skb->gso_segs : 1;
	return true;
}

/* Lookup, else insert a zeroed value and look up again. */
static __always_inline void *lookup_or_init(void *map, void *key, void *zero)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

SEC("tc")
int v_atomic4(struct __sk_buff *skb)
{
	struct plain_val zero = {}, *v;
	struct pkt_facts f;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&atomic4_conns, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	__sync_fetch_and_add(&v->bytes, skb->len);
	__sync_fetch_and_add(&v->ip_bytes, f.info.ip_len);
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->segments, f.segs);
	if ((v->tcp_flags & f.info.tcp_flags) != f.info.tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, (__u64)f.info.tcp_flags);
	v->last_seen_ns = bpf_ktime_get_boot_ns();
	return TC_ACT_UNSPEC;
}

SEC("tc")
int v_spinlock(struct __sk_buff *skb)
{
	struct locked_val zero = {}, *v;
	struct pkt_facts f;
	__u64 now;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&spinlock_conns, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	now = bpf_ktime_get_boot_ns();
	bpf_spin_lock(&v->lock);
	v->v.bytes += skb->len;
	v->v.ip_bytes += f.info.ip_len;
	v->v.packets += 1;
	v->v.segments += f.segs;
	v->v.tcp_flags |= f.info.tcp_flags;
	v->v.last_seen_ns = now;
	bpf_spin_unlock(&v->lock);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int v_percpu(struct __sk_buff *skb)
{
	struct plain_val zero = {}, *v;
	struct pkt_facts f;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&percpu_conns, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	v->bytes += skb->len;
	v->ip_bytes += f.info.ip_len;
	v->packets += 1;
	v->segments += f.segs;
	v->tcp_flags |= f.info.tcp_flags;
	v->last_seen_ns = bpf_ktime_get_boot_ns();
	return TC_ACT_UNSPEC;
}

SEC("tc")
int v_atomic2(struct __sk_buff *skb)
{
	struct plain_val zero = {}, *v;
	struct pkt_facts f;
	__u64 now;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&atomic2_conns, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	__sync_fetch_and_add(&v->bytes, skb->len);
	__sync_fetch_and_add(&v->packets, 1);
	if (f.segs > 1)
		__sync_fetch_and_add(&v->segments, f.segs - 1);
	if (skb->len - f.info.ip_len != 14)
		__sync_fetch_and_add(&v->ip_bytes, 1);
	if ((v->tcp_flags & f.info.tcp_flags) != f.info.tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, (__u64)f.info.tcp_flags);
	now = bpf_ktime_get_boot_ns();
	if (now > v->last_seen_ns)
		v->last_seen_ns = now;
	return TC_ACT_UNSPEC;
}

static __always_inline int packed_in(void *map, struct __sk_buff *skb,
				     bool clock)
{
	struct tcplog_conn_val zero = {}, *v;
	struct pkt_facts f;
	__u32 len = skb->len, l2_len;
	__u64 old, now = 0;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(map, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	l2_len = len - f.info.ip_len;
	old = __sync_fetch_and_add(&v->counter, TCPLOG_COUNTER_PACKET + len);
	if ((old & TCPLOG_COUNTER_BYTES_MASK) + len > TCPLOG_COUNTER_BYTES_MASK)
		__sync_fetch_and_add(&v->bytes_carries, 1);
	if (old + TCPLOG_COUNTER_PACKET + len < old)
		__sync_fetch_and_add(&v->counter_wraps, 1);
	if (f.segs > 1)
		__sync_fetch_and_add(&v->gso_extra, f.segs - 1);
	if (l2_len != v->l2_len)
		__sync_fetch_and_add(&v->l2_extra, (__u64)l2_len - v->l2_len);
	if ((v->tcp_flags & f.info.tcp_flags) != f.info.tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, (__u64)f.info.tcp_flags);
	if (clock)
		now = bpf_ktime_get_boot_ns();
	if (now > v->last_seen_ns)
		v->last_seen_ns = now;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int v_packed(struct __sk_buff *skb)
{
	return packed_in(&packed_conns, skb, true);
}

SEC("tc")
int v_noclock(struct __sk_buff *skb)
{
	return packed_in(&packed_conns, skb, false);
}

SEC("tc")
int v_lru(struct __sk_buff *skb)
{
	return packed_in(&lru_conns, skb, false);
}

SEC("tc")
int v_noprealloc(struct __sk_buff *skb)
{
	return packed_in(&noprealloc_conns, skb, false);
}

/* Per-CPU values need no atomics: plain adds of the same encoding. */
SEC("tc")
int v_percpu_nc(struct __sk_buff *skb)
{
	struct tcplog_conn_val zero = {}, *v;
	struct pkt_facts f;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&percpu_nc_conns, &f.key, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	v->counter += TCPLOG_COUNTER_PACKET + skb->len;
	if ((v->tcp_flags & f.info.tcp_flags) != f.info.tcp_flags)
		v->tcp_flags |= f.info.tcp_flags;
	return TC_ACT_UNSPEC;
}

/*
 * v_pcache: PCACHE_SLOTS slots per CPU, a flow's slot chosen by a cheap
 * hash of its key. A packet whose flow holds the slot adds to it with
 * plain stores; any other takes the slot over after adding what the slot
 * held to the shared entry of its flow (one lookup, one atomic add).
 */
#define PCACHE_SLOTS 256

struct pcache_slot {
	struct tcplog_conn_key key;
	__u64 pending; /* the packed word's encoding */
	__u64 tcp_flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PCACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct pcache_slot);
} pcache SEC(".maps");

_Static_assert(sizeof(struct tcplog_conn_key) == 48, "12 words");

static __always_inline __u32 pcache_index(const struct tcplog_conn_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4] ^ w[5] ^ w[6] ^ w[7] ^ w[8] ^
		  w[9];

	return (h * 0x9e3779b1u) >> 24; /* Fibonacci hashing: 8 bits */
}

static __always_inline bool same_key(const struct tcplog_conn_key *a,
				     const struct tcplog_conn_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) |
		 (x[4] ^ y[4]) | (x[5] ^ y[5]));
}

SEC("tc")
int v_pcache(struct __sk_buff *skb)
{
	struct tcplog_conn_val zero = {}, *v;
	struct pcache_slot *slot;
	struct pkt_facts f;
	__u32 idx;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	idx = pcache_index(&f.key);
	slot = bpf_map_lookup_elem(&pcache, &idx);
	if (!slot)
		return TC_ACT_UNSPEC;
	if (same_key(&slot->key, &f.key)) {
		slot->pending += TCPLOG_COUNTER_PACKET + skb->len;
		slot->tcp_flags |= f.info.tcp_flags;
		return TC_ACT_UNSPEC;
	}
	if (slot->pending) {
		v = lookup_or_init(&packed_conns, &slot->key, &zero);
		if (v)
			__sync_fetch_and_add(&v->counter, slot->pending);
	}
	slot->key = f.key;
	slot->pending = TCPLOG_COUNTER_PACKET + skb->len;
	slot->tcp_flags = f.info.tcp_flags;
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int d_parse(struct __sk_buff *skb)
{
	struct pkt_facts f;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	/* Keep the key alive so the compiler cannot drop the parse. */
	return f.key.src_port == 0 && f.key.dst_addr[3] == 7 &&
			       f.key.ifindex == 99 ?
		       TC_ACT_OK :
		       TC_ACT_UNSPEC;
}

SEC("tc")
int d_lookup(struct __sk_buff *skb)
{
	struct pkt_facts f;
	struct tcplog_conn_val zero = {};
	volatile void *v;

	if (!facts(skb, &f))
		return TC_ACT_UNSPEC;
	v = lookup_or_init(&packed_conns, &f.key, &zero);
	(void)v;
	return TC_ACT_UNSPEC;
}

/*
 * v_split4: what a compact IPv4 key would give. IPv4 connections in their
 * own map keyed by 20 bytes (the kernel hashes 5 words instead of 11), the
 * chosen counting otherwise. Not adopted: the key layout is fixed by the
 * contract (16-byte addresses); docs/DESIGN.md discusses it.
 */
struct v4_key {
	__u32 ifindex;
	__be32 saddr, daddr;
	__be16 sport, dport;
	__u8 direction, pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPLOG_DEFAULT_MAX_CONNS);
	__type(key, struct v4_key);
	__type(value, struct tcplog_conn_val);
} split4_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcplog_percpu);
} split4_percpu SEC(".maps");

SEC("tc")
int v_split4(struct __sk_buff *skb)
{
	struct tcplog_conn_val zero = {}, *v;
	struct tcplog_percpu *pc;
	struct pkt_facts f;
	struct v4_key k = {};
	__u32 len = skb->len, key0 = 0;
	__u64 old, jiffies;

	pc = bpf_map_lookup_elem(&split4_percpu, &key0);
	if (!pc || !facts(skb, &f))
		return TC_ACT_UNSPEC;
	k.ifindex = f.key.ifindex;
	__builtin_memcpy(&k.saddr, f.key.src_addr, 4);
	__builtin_memcpy(&k.daddr, f.key.dst_addr, 4);
	k.sport = f.key.src_port;
	k.dport = f.key.dst_port;
	v = lookup_or_init(&split4_conns, &k, &zero);
	if (!v)
		return TC_ACT_UNSPEC;
	jiffies = bpf_jiffies64();
	if (pc->clock_jiffies != jiffies) {
		pc->clock_jiffies = jiffies;
		pc->clock_boot_ns = bpf_ktime_get_boot_ns();
	}
	old = __sync_fetch_and_add(&v->counter, TCPLOG_COUNTER_PACKET + len);
	if ((old & TCPLOG_COUNTER_BYTES_MASK) + len > TCPLOG_COUNTER_BYTES_MASK)
		__sync_fetch_and_add(&v->bytes_carries, 1);
	if ((v->tcp_flags & f.info.tcp_flags) != f.info.tcp_flags)
		__sync_fetch_and_or(&v->tcp_flags, (__u64)f.info.tcp_flags);
	if (pc->clock_boot_ns > v->last_seen_ns)
		v->last_seen_ns = pc->clock_boot_ns;
	pc->stats.count[TCPLOG_STAT_COUNTED]++;
	return TC_ACT_UNSPEC;
}
