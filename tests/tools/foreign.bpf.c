// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * foreign.bpf.c - test helper: "somebody else's" TC program. It counts the
 * packets it sees and passes them on (or, with `verdict` set to
 * TC_ACT_SHOT, drops them), so a test can tell that it stays on the hook,
 * keeps running beside tcploggerd, and cannot hide traffic from it.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} foreign_seen SEC(".maps");

const volatile int verdict = TC_ACT_UNSPEC;

SEC("tc")
int foreign_prog(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&foreign_seen, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
