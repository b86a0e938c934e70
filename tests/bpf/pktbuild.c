// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pktbuild.c - crafted frames for the datapath tests. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"

static uint8_t *grow(struct pkt *p, size_t n)
{
	uint8_t *at = p->buf + p->len;

	assert(p->len + n <= PKT_MAX);
	memset(at, 0, n);
	p->len += n;
	return at;
}

static void put16(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

static void parse_addr(int af, const char *text, void *out)
{
	if (inet_pton(af, text, out) != 1)
		abort();
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->ip_off = -1;
}

void pkt_eth(struct pkt *p, uint16_t ethertype)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *h = grow(p, 14);

	memcpy(h, dst, 6);
	memcpy(h + 6, src, 6);
	put16(h + 12, ethertype);
}

void pkt_vlan(struct pkt *p, uint16_t tci, uint16_t ethertype)
{
	uint8_t *h = grow(p, 4);

	put16(h, tci);
	put16(h + 2, ethertype);
}

void pkt_ipv4(struct pkt *p, const char *src, const char *dst, uint8_t proto,
	      unsigned int ihl, uint16_t frag_field)
{
	uint8_t *h;

	assert(ihl >= 5 && ihl <= 15);
	p->ip_off = (int)p->len;
	p->ip_version = 4;
	h = grow(p, ihl * 4);
	h[0] = (uint8_t)(0x40 | ihl);
	put16(h + 4, 0x1234); /* identification */
	put16(h + 6, frag_field);
	h[8] = 64; /* TTL */
	h[9] = proto;
	parse_addr(AF_INET, src, h + 12);
	parse_addr(AF_INET, dst, h + 16);
	memset(h + 20, 1, ihl * 4 - 20); /* NOP options */
}

void pkt_ipv6(struct pkt *p, const char *src, const char *dst, uint8_t nexthdr)
{
	uint8_t *h;

	p->ip_off = (int)p->len;
	p->ip_version = 6;
	h = grow(p, 40);
	h[0] = 0x60;
	h[6] = nexthdr;
	h[7] = 64; /* hop limit */
	parse_addr(AF_INET6, src, h + 8);
	parse_addr(AF_INET6, dst, h + 24);
}

void pkt_ipv6_ext(struct pkt *p, uint8_t nexthdr, size_t len)
{
	uint8_t *h;

	assert(len >= 8 && len % 8 == 0 && len <= 2048);
	h = grow(p, len);
	h[0] = nexthdr;
	h[1] = (uint8_t)(len / 8 - 1);
	/* The rest is a PadN option filling the header (RFC 8200 4.2). */
	h[2] = 1;
	h[3] = (uint8_t)(len - 4);
}

void pkt_ipv6_ah(struct pkt *p, uint8_t nexthdr, size_t len)
{
	uint8_t *h;

	assert(len >= 12 && len % 4 == 0 && len <= 1028);
	h = grow(p, len);
	h[0] = nexthdr;
	h[1] = (uint8_t)(len / 4 - 2);
}

void pkt_ipv6_frag(struct pkt *p, uint8_t nexthdr, uint16_t offset8, bool more)
{
	uint8_t *h = grow(p, 8);

	h[0] = nexthdr;
	put16(h + 2, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	h[4] = 0xab; /* identification */
}

void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags,
	     unsigned int doff)
{
	uint8_t *h;

	assert(doff >= 5 && doff <= 15);
	h = grow(p, doff * 4);
	put16(h, sport);
	put16(h + 2, dport);
	h[7] = 1; /* sequence number */
	h[12] = (uint8_t)(doff << 4);
	h[13] = flags;
	put16(h + 14, 65535); /* window */
	memset(h + 20, 1, doff * 4 - 20); /* NOP options */
}

void pkt_bytes(struct pkt *p, size_t n, uint8_t fill)
{
	memset(grow(p, n), fill, n);
}

void pkt_set_ip_len(struct pkt *p, uint16_t len)
{
	assert(p->ip_off >= 0);
	put16(p->buf + p->ip_off + (p->ip_version == 4 ? 2 : 4), len);
	p->ip_len_fixed = true;
}

static void ipv4_checksum(uint8_t *h)
{
	unsigned int ihl = (h[0] & 0xf) * 4u, i;
	uint32_t sum = 0;

	h[10] = h[11] = 0;
	for (i = 0; i < ihl; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(h + 10, (uint16_t)~sum);
}

void pkt_finish(struct pkt *p)
{
	size_t ip_len;

	if (p->ip_off < 0)
		return;
	ip_len = p->len - (size_t)p->ip_off;
	if (!p->ip_len_fixed)
		put16(p->buf + p->ip_off + (p->ip_version == 4 ? 2 : 4),
		      (uint16_t)(p->ip_version == 4 ? ip_len : ip_len - 40));
	if (p->ip_version == 4 && p->len >= (size_t)p->ip_off + 20)
		ipv4_checksum(p->buf + p->ip_off);
}

void pkt_key_addr(int family, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	parse_addr(family == 4 ? AF_INET : AF_INET6, text, out);
}
