/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pktbuild.h - crafting Ethernet/VLAN/IP/TCP frames for BPF_PROG_TEST_RUN.
 *
 * Headers are appended in wire order; each call names the protocol of what
 * follows it. pkt_finish() fills the IP length fields (unless a test fixed
 * them) and the IPv4 header checksum. The builder is deliberately
 * independent of the program under test: it writes fields by byte offset,
 * as the RFCs lay them out, and shares no code with bpf/parse.h.
 */
#ifndef TCPLOG_PKTBUILD_H
#define TCPLOG_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 3000

struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;
	int ip_off; /* offset of the IP header, -1 if none */
	int ip_version;
	bool ip_len_fixed; /* the test set the IP length field itself */
};

void pkt_init(struct pkt *p);
void pkt_eth(struct pkt *p, uint16_t ethertype);
/* @tci: priority (3 bits), DEI, VID (12 bits), as on the wire. */
void pkt_vlan(struct pkt *p, uint16_t tci, uint16_t ethertype);
/* @ihl in 32-bit words (5-15); options are NOPs. */
void pkt_ipv4(struct pkt *p, const char *src, const char *dst, uint8_t proto,
	      unsigned int ihl, uint16_t frag_field);
void pkt_ipv6(struct pkt *p, const char *src, const char *dst, uint8_t nexthdr);
/* An 8-octet-unit extension header (HBH, routing, dst opts) of @len bytes. */
void pkt_ipv6_ext(struct pkt *p, uint8_t nexthdr, size_t len);
void pkt_ipv6_ah(struct pkt *p, uint8_t nexthdr, size_t len);
void pkt_ipv6_frag(struct pkt *p, uint8_t nexthdr, uint16_t offset8, bool more);
/* @doff in 32-bit words (5-15); options are NOPs. */
void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags,
	     unsigned int doff);
void pkt_bytes(struct pkt *p, size_t n, uint8_t fill);
void pkt_finish(struct pkt *p);
/* Sets the IP length field to @len (total for IPv4, payload for IPv6). */
void pkt_set_ip_len(struct pkt *p, uint16_t len);

/* Parses @text into 16 bytes in the map key's form for @family (4 or 6). */
void pkt_key_addr(int family, const char *text, uint8_t out[16]);

#endif /* TCPLOG_PKTBUILD_H */
