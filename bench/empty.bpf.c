// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* empty.bpf.c - the floor: a TC program that only returns. Benchmark only. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty_prog(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
