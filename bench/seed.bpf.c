// SPDX-License-Identifier: GPL-2.0-only
/*
 * seed.bpf.c - the design of the original BCC demo, rewritten for libbpf so
 * it can be measured beside ours. Benchmark only; never loaded by the
 * daemon. Same semantics as the demo: IPv4 only, a shared hash keyed by the
 * 4-tuple, a spin lock in the value, lookup-or-init, bytes += len,
 * packets += 1, and a trace_printk on every packet. seed_noprint is the
 * same without the printk, to show what the printk alone costs.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct key_t {
	__u32 src_ip;
	__u32 dst_ip;
	__u16 src_port;
	__u16 dst_port;
};

struct value_t {
	__u64 bytes;
	__u64 packets;
	struct bpf_spin_lock lock;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct key_t);
	__type(value, struct value_t);
} seed_conns SEC(".maps");

static __always_inline int seed_count(struct __sk_buff *skb, const bool print)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct tcphdr *tcp;
	struct value_t *value, zero = {};
	struct key_t key = {};
	__u32 size = skb->len;

	if ((void *)(ip + 1) > data_end)
		return TC_ACT_UNSPEC;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return TC_ACT_UNSPEC;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return TC_ACT_UNSPEC;
	key.src_ip = ip->saddr;
	key.dst_ip = ip->daddr;
	key.src_port = tcp->source;
	key.dst_port = tcp->dest;

	/* BCC's lookup_or_try_init(): lookup, else insert zero and lookup. */
	value = bpf_map_lookup_elem(&seed_conns, &key);
	if (!value) {
		bpf_map_update_elem(&seed_conns, &key, &zero, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&seed_conns, &key);
	}
	if (value) {
		bpf_spin_lock(&value->lock);
		value->bytes = value->bytes + size;
		value->packets = value->packets + 1;
		bpf_spin_unlock(&value->lock);
	}
	if (print)
		bpf_printk("Done at %lu, size = %u!", bpf_ktime_get_ns(), size);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int seed_prog(struct __sk_buff *skb)
{
	return seed_count(skb, true);
}

SEC("tc")
int seed_noprint(struct __sk_buff *skb)
{
	return seed_count(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
