/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - packet parsing for the TC program. BPF only.
 *
 * Walks Ethernet, up to two VLAN tags (802.1Q, 802.1ad; a tag the kernel
 * already moved into the skb's metadata counts as one of them), IPv4 (with
 * options) or IPv6 (with a chain of extension headers) and the TCP header,
 * and fills a connection key. The walk never writes to the packet.
 *
 * Headers are read in one of two ways, chosen at compile time through the
 * `direct` argument so the compiler emits two specialised copies:
 *  - direct: through skb->data, the fast path, valid while the headers sit
 *    in the linear part of the skb (the usual case);
 *  - copied: through bpf_skb_load_bytes(), which also reaches headers in
 *    paged fragments. The program falls back to it only when the direct
 *    walk runs off the linear part of a longer packet.
 */
#ifndef TCPLOGGER_PARSE_H
#define TCPLOGGER_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tcplogger.h"

/*
 * Deepest header offset we follow. It bounds packet pointers for the
 * verifier; eight extension headers of the maximum size fit below it.
 */
#define PARSE_MAX_OFF 0x7fff

enum parse_result {
	PARSE_OK = 0,
	PARSE_NON_IP,
	PARSE_NON_TCP,
	PARSE_MALFORMED,
	PARSE_TRUNCATED,
	PARSE_FRAGMENT,
	PARSE_NEED_COPY, /* direct walk left the linear data: retry copied */
};

/* What the counting code needs besides the key. */
struct parse_info {
	__u32 ip_len; /* IP header + payload, from the IP header */
	__u32 tcp_payload; /* TCP payload bytes, from the IP length */
	__u8 tcp_flags;
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* IPv6 extension headers share this prefix (RFC 8200, section 4). */
struct ipv6_ext {
	__u8 nexthdr;
	__u8 len;
	__be16 frag_off; /* fragment header only: offset << 3 | M */
	__u32 rest;
};

/* The first 14 bytes of a TCP header: all the program reads. */
struct tcp_head {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res; /* data offset in the upper 4 bits */
	__u8 flags;
};

union parse_buf {
	struct ethhdr eth;
	struct vlan_tag vlan;
	struct iphdr ip4;
	struct ipv6hdr ip6;
	struct ipv6_ext ext;
	struct tcp_head tcp;
};

/*
 * Returns a pointer to @len bytes at @off, or NULL with *@res saying why:
 * the packet ends first (truncated) or, on the direct path only, the bytes
 * are in a paged fragment (retry copied).
 */
static __always_inline void *parse_hdr(struct __sk_buff *skb, __u32 off,
				       __u32 len, union parse_buf *buf,
				       const bool direct, int *res)
{
	if (off > PARSE_MAX_OFF) {
		*res = PARSE_MALFORMED;
		return NULL;
	}
	if (direct) {
		void *data = (void *)(long)skb->data;
		void *data_end = (void *)(long)skb->data_end;

		if (data + off + len <= data_end)
			return data + off;
		*res = off + len > skb->len ? PARSE_TRUNCATED : PARSE_NEED_COPY;
		return NULL;
	}
	if (bpf_skb_load_bytes(skb, off, buf, len)) {
		*res = PARSE_TRUNCATED;
		return NULL;
	}
	return buf;
}

#define PARSE_HDR(skb, off, type, buf, direct, res) \
	((type *)parse_hdr(skb, off, sizeof(type), buf, direct, res))

static __always_inline int parse_tcp(struct __sk_buff *skb, __u32 off,
				     __u32 ip_end, union parse_buf *buf,
				     const bool direct,
				     struct tcplog_conn_key *key,
				     struct parse_info *info)
{
	struct tcp_head *th;
	__u32 doff;
	int res;

	th = PARSE_HDR(skb, off, struct tcp_head, buf, direct, &res);
	if (!th)
		return res;
	doff = (th->doff_res >> 4) * 4;
	if (doff < sizeof(struct tcphdr))
		return PARSE_MALFORMED;
	/* The header, options included, must fit in the IP packet and the
	 * skb; the options themselves are not read. */
	if (off + doff > ip_end || off + doff > skb->len)
		return PARSE_TRUNCATED;

	key->src_port = th->source;
	key->dst_port = th->dest;
	info->tcp_flags = th->flags;
	info->tcp_payload = ip_end - off - doff;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, __u32 off,
				      union parse_buf *buf, const bool direct,
				      struct tcplog_conn_key *key,
				      struct parse_info *info)
{
	struct iphdr *iph;
	__u32 ihl, tot_len;
	int res;

	iph = PARSE_HDR(skb, off, struct iphdr, buf, direct, &res);
	if (!iph)
		return res;
	if (iph->version != 4)
		return PARSE_MALFORMED;
	ihl = iph->ihl * 4;
	if (ihl < sizeof(struct iphdr))
		return PARSE_MALFORMED;
	tot_len = bpf_ntohs(iph->tot_len);
	/* tot_len 0 is a BIG TCP / GSO packet: its length is the skb's. */
	if (tot_len == 0)
		tot_len = skb->len - off;
	else if (tot_len < ihl)
		return PARSE_MALFORMED;
	if (off + ihl > skb->len)
		return PARSE_TRUNCATED;
	if (off + tot_len > skb->len)
		return PARSE_TRUNCATED;
	/* A non-first fragment carries no TCP header; a first one does. */
	if (iph->frag_off & bpf_htons(0x1fff))
		return PARSE_FRAGMENT;
	if (iph->protocol != IPPROTO_TCP)
		return PARSE_NON_TCP;

	key->family = TCPLOG_FAMILY_IPV4;
	__builtin_memcpy(key->src_addr, &iph->saddr, 4);
	__builtin_memcpy(key->dst_addr, &iph->daddr, 4);
	info->ip_len = tot_len;
	return parse_tcp(skb, off + ihl, off + tot_len, buf, direct, key, info);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, __u32 off,
				      union parse_buf *buf, const bool direct,
				      struct tcplog_conn_key *key,
				      struct parse_info *info)
{
	struct ipv6hdr *ip6h;
	struct ipv6_ext *ext;
	__u32 ip_len, ip_end;
	__u8 nexthdr;
	int res, i;

	ip6h = PARSE_HDR(skb, off, struct ipv6hdr, buf, direct, &res);
	if (!ip6h)
		return res;
	if (ip6h->version != 6)
		return PARSE_MALFORMED;
	ip_len = bpf_ntohs(ip6h->payload_len);
	/* payload_len 0 is a jumbogram or BIG TCP packet: use the skb. */
	if (ip_len == 0)
		ip_len = skb->len - off;
	else
		ip_len += sizeof(struct ipv6hdr);
	if (off + ip_len > skb->len)
		return PARSE_TRUNCATED;
	ip_end = off + ip_len;

	key->family = TCPLOG_FAMILY_IPV6;
	__builtin_memcpy(key->src_addr, &ip6h->saddr, 16);
	__builtin_memcpy(key->dst_addr, &ip6h->daddr, 16);
	info->ip_len = ip_len;
	nexthdr = ip6h->nexthdr;
	off += sizeof(struct ipv6hdr);

#pragma unroll
	for (i = 0; i < TCPLOG_MAX_IPV6_EXT_HDRS; i++) {
		switch (nexthdr) {
		case IPPROTO_TCP:
			return parse_tcp(skb, off, ip_end, buf, direct, key,
					 info);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			return PARSE_NON_TCP;
		}
		ext = PARSE_HDR(skb, off, struct ipv6_ext, buf, direct, &res);
		if (!ext)
			return res;
		if (nexthdr == IPPROTO_FRAGMENT) {
			if (ext->frag_off & bpf_htons(0xfff8))
				return PARSE_FRAGMENT;
			off += 8;
		} else if (nexthdr == IPPROTO_AH) {
			off += (ext->len + 2) * 4; /* RFC 4302: 4-octet units */
		} else {
			off += (ext->len + 1) * 8; /* RFC 8200: 8-octet units */
		}
		if (off > ip_end)
			return PARSE_TRUNCATED;
		nexthdr = ext->nexthdr;
	}
	/* Longer chains than we follow: IPv6 packets we cannot classify. */
	return nexthdr == IPPROTO_TCP ?
		       parse_tcp(skb, off, ip_end, buf, direct, key, info) :
		       PARSE_MALFORMED;
}

/* Records the VID of the tag at depth @n (0 = outermost) in @key. */
static __always_inline void parse_vlan_id(struct tcplog_conn_key *key, int n,
					  __u16 tci)
{
	/* Constant indices: the key lives on the stack. */
	if (n == 0)
		key->vlan_id[0] = tci & TCPLOG_VLAN_VID_MASK;
	else
		key->vlan_id[1] = tci & TCPLOG_VLAN_VID_MASK;
	key->vlan_count = n + 1;
}

/*
 * Parses the packet and fills @key (which the caller zeroed) except the
 * fields that come from the hook: ifindex and direction. @meta_tags is 1
 * when the outermost VLAN tag is in the skb's metadata (its TCI in
 * @meta_tci), 0 otherwise; tags still in the frame follow it.
 */
static __always_inline int parse_packet(struct __sk_buff *skb,
					const bool direct, __u32 meta_tags,
					__u16 meta_tci,
					struct tcplog_conn_key *key,
					struct parse_info *info)
{
	union parse_buf buf;
	struct ethhdr *eth;
	struct vlan_tag *vlan;
	__u32 off = sizeof(struct ethhdr);
	__be16 proto;
	int res, i;

	eth = PARSE_HDR(skb, 0, struct ethhdr, &buf, direct, &res);
	if (!eth)
		return res;
	proto = eth->h_proto;
	if (meta_tags)
		parse_vlan_id(key, 0, meta_tci);

#pragma unroll
	for (i = 0; i < TCPLOG_MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		/* More tags than we follow: not a packet we classify. */
		if (i + meta_tags >= TCPLOG_MAX_VLAN_TAGS)
			return PARSE_NON_IP;
		vlan = PARSE_HDR(skb, off, struct vlan_tag, &buf, direct, &res);
		if (!vlan)
			return res;
		parse_vlan_id(key, i + meta_tags, bpf_ntohs(vlan->tci));
		proto = vlan->proto;
		off += sizeof(struct vlan_tag);
	}

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, off, &buf, direct, key, info);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, off, &buf, direct, key, info);
	return PARSE_NON_IP;
}

#endif /* TCPLOGGER_PARSE_H */
