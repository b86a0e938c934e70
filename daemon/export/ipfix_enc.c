// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ipfix_enc.c - IPFIX templates and data records on the wire. */
#include <string.h>

#include "ipfix_enc.h"

/* IANA information elements (www.iana.org/assignments/ipfix). */
enum {
	IE_OCTET_DELTA = 1,
	IE_PACKET_DELTA = 2,
	IE_PROTOCOL = 4,
	IE_TCP_FLAGS = 6,
	IE_SRC_PORT = 7,
	IE_SRC_V4 = 8,
	IE_INGRESS_IF = 10,
	IE_DST_PORT = 11,
	IE_DST_V4 = 12,
	IE_EGRESS_IF = 14,
	IE_SRC_V6 = 27,
	IE_DST_V6 = 28,
	IE_VLAN = 58,
	IE_FLOW_DIRECTION = 61,
	IE_FLOW_END_REASON = 136,
	IE_FLOW_START_MS = 152,
	IE_FLOW_END_MS = 153,
	IE_BIFLOW_DIRECTION = 239,
	IE_DOT1Q_VLAN = 243,
	IE_DOT1Q_CUSTOMER_VLAN = 245,
	IE_L2_OCTET_DELTA = 352,
};

/* The kind of a record, from which its template follows. */
struct kind {
	bool v6, egress, biflow;
	unsigned int vlans; /* 0, 1 or 2 */
};

static unsigned int kind_index(const struct kind *k)
{
	return (k->v6 ? 1 : 0) + (k->egress ? 2 : 0) + 4 * k->vlans +
	       (k->biflow ? 12 : 0);
}

static struct kind kind_of_index(unsigned int i)
{
	return (struct kind){ .v6 = i & 1,
			      .egress = i & 2,
			      .vlans = (i % 12) / 4,
			      .biflow = i >= 12 };
}

static struct kind kind_of(const struct ipfix_rec *r)
{
	const struct tcplog_conn_key *k = &r->key[0];

	return (struct kind){ .v6 = k->family == TCPLOG_FAMILY_IPV6,
			      .egress = k->direction == TCPLOG_DIR_EGRESS,
			      .vlans = k->vlan_count > 2 ? 2 : k->vlan_count,
			      .biflow = r->biflow };
}

struct field {
	uint16_t ie, len;
	bool reverse; /* RFC 5103 reverse element */
};

/* The fields of a kind, in record order: the one list both the template
 * and the record writer follow. Returns how many. */
static unsigned int fields_of(const struct kind *k, struct field *f)
{
	unsigned int n = 0;
	uint16_t alen = k->v6 ? 16 : 4;

	f[n++] = (struct field){ k->v6 ? IE_SRC_V6 : IE_SRC_V4, alen, false };
	f[n++] = (struct field){ k->v6 ? IE_DST_V6 : IE_DST_V4, alen, false };
	f[n++] = (struct field){ IE_SRC_PORT, 2, false };
	f[n++] = (struct field){ IE_DST_PORT, 2, false };
	f[n++] = (struct field){ IE_PROTOCOL, 1, false };
	f[n++] = (struct field){ IE_TCP_FLAGS, 2, false };
	f[n++] = (struct field){ IE_OCTET_DELTA, 8, false };
	f[n++] = (struct field){ IE_PACKET_DELTA, 8, false };
	f[n++] = (struct field){ IE_L2_OCTET_DELTA, 8, false };
	f[n++] = (struct field){ IE_FLOW_START_MS, 8, false };
	f[n++] = (struct field){ IE_FLOW_END_MS, 8, false };
	f[n++] = (struct field){ k->egress ? IE_EGRESS_IF : IE_INGRESS_IF, 4,
				 false };
	f[n++] = (struct field){ IE_FLOW_DIRECTION, 1, false };
	f[n++] = (struct field){ IE_FLOW_END_REASON, 1, false };
	if (k->vlans >= 1) {
		f[n++] = (struct field){ IE_VLAN, 2, false };
		f[n++] = (struct field){ IE_DOT1Q_VLAN, 2, false };
	}
	if (k->vlans >= 2)
		f[n++] = (struct field){ IE_DOT1Q_CUSTOMER_VLAN, 2, false };
	if (k->biflow) {
		f[n++] = (struct field){ IE_TCP_FLAGS, 2, true };
		f[n++] = (struct field){ IE_OCTET_DELTA, 8, true };
		f[n++] = (struct field){ IE_PACKET_DELTA, 8, true };
		f[n++] = (struct field){ IE_L2_OCTET_DELTA, 8, true };
		f[n++] = (struct field){ IE_BIFLOW_DIRECTION, 1, false };
	}
	return n;
}

#define MAX_FIELDS 24

static size_t kind_len(const struct kind *k)
{
	struct field f[MAX_FIELDS];
	unsigned int i, n = fields_of(k, f);
	size_t len = 0;

	for (i = 0; i < n; i++)
		len += f[i].len;
	return len;
}

uint16_t ipfix_rec_template(const struct ipfix_rec *r)
{
	struct kind k = kind_of(r);

	return (uint16_t)(IPFIX_TEMPLATE_FIRST + kind_index(&k));
}

size_t ipfix_rec_len(const struct ipfix_rec *r)
{
	struct kind k = kind_of(r);

	return kind_len(&k);
}

/* A cursor that writes big-endian and notices the end of the buffer. */
struct out {
	uint8_t *p, *end;
	bool full;
};

static void put(struct out *o, const void *src, size_t len)
{
	if (o->full || (size_t)(o->end - o->p) < len) {
		o->full = true;
		return;
	}
	memcpy(o->p, src, len);
	o->p += len;
}

static void put_be(struct out *o, uint64_t v, unsigned int len)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	put(o, b, len);
}

static void put_at16(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

static uint8_t *header(struct out *o, const struct ipfix_header *h)
{
	uint8_t *start = o->p;

	put_be(o, IPFIX_VERSION, 2);
	put_be(o, 0, 2); /* length, once known */
	put_be(o, h->export_time, 4);
	put_be(o, h->seq, 4);
	put_be(o, h->domain, 4);
	return start;
}

static size_t finish(struct out *o, uint8_t *start)
{
	if (o->full)
		return 0;
	put_at16(start + 2, (uint16_t)(o->p - start));
	return (size_t)(o->p - start);
}

size_t ipfix_enc_templates(uint8_t *buf, size_t cap, bool biflow,
			   const struct ipfix_header *h)
{
	struct out o = { buf, buf + cap, false };
	uint8_t *msg = header(&o, h), *set = o.p;
	struct field f[MAX_FIELDS];
	unsigned int i, j, n;

	put_be(&o, 2, 2); /* template set */
	put_be(&o, 0, 2);
	for (i = 0; i < IPFIX_TEMPLATES; i++) {
		struct kind k = kind_of_index(i);

		if (k.biflow != biflow)
			continue;
		n = fields_of(&k, f);
		put_be(&o, IPFIX_TEMPLATE_FIRST + i, 2);
		put_be(&o, n, 2);
		for (j = 0; j < n; j++) {
			put_be(&o, f[j].ie | (f[j].reverse ? 0x8000 : 0), 2);
			put_be(&o, f[j].len, 2);
			if (f[j].reverse)
				put_be(&o, IPFIX_REVERSE_PEN, 4);
		}
	}
	if (o.full)
		return 0;
	put_at16(set + 2, (uint16_t)(o.p - set));
	return finish(&o, msg);
}

/* The value of one field of a record. */
static void put_field(struct out *o, const struct field *f,
		      const struct ipfix_rec *r)
{
	const struct tcplog_conn_key *k = &r->key[0];
	const struct ipfix_delta *d = &r->d[f->reverse ? 1 : 0];

	switch (f->ie) {
	case IE_SRC_V4:
	case IE_SRC_V6:
		put(o, k->src_addr, f->len);
		break;
	case IE_DST_V4:
	case IE_DST_V6:
		put(o, k->dst_addr, f->len);
		break;
	case IE_SRC_PORT:
		put(o, &k->src_port, 2); /* network order already */
		break;
	case IE_DST_PORT:
		put(o, &k->dst_port, 2);
		break;
	case IE_PROTOCOL:
		put_be(o, 6, 1); /* TCP */
		break;
	case IE_TCP_FLAGS:
		put_be(o, d->tcp_flags, 2);
		break;
	case IE_OCTET_DELTA:
		put_be(o, d->ip_bytes, 8);
		break;
	case IE_PACKET_DELTA:
		put_be(o, d->packets, 8);
		break;
	case IE_L2_OCTET_DELTA:
		put_be(o, d->bytes, 8);
		break;
	case IE_FLOW_START_MS:
		put_be(o, r->start_ms, 8);
		break;
	case IE_FLOW_END_MS:
		put_be(o, r->end_ms, 8);
		break;
	case IE_INGRESS_IF:
	case IE_EGRESS_IF:
		put_be(o, k->ifindex, 4);
		break;
	case IE_FLOW_DIRECTION:
		put_be(o, k->direction == TCPLOG_DIR_EGRESS, 1);
		break;
	case IE_FLOW_END_REASON:
		put_be(o, r->reason, 1);
		break;
	case IE_VLAN:
	case IE_DOT1Q_VLAN:
		put_be(o, k->vlan_id[0], 2);
		break;
	case IE_DOT1Q_CUSTOMER_VLAN:
		put_be(o, k->vlan_id[1], 2);
		break;
	case IE_BIFLOW_DIRECTION:
		/* 1: initiator; 0: arbitrary (the opener was not seen). */
		put_be(o, r->initiator ? 1 : 0, 1);
		break;
	}
}

size_t ipfix_enc_data(uint8_t *buf, size_t cap, const struct ipfix_rec *recs,
		      size_t n, const struct ipfix_header *h)
{
	struct out o = { buf, buf + cap, false };
	uint8_t *msg = header(&o, h), *set = NULL;
	struct field f[MAX_FIELDS];
	uint16_t set_id = 0;
	unsigned int j, nf;
	size_t i;

	for (i = 0; i < n; i++) {
		struct kind k = kind_of(&recs[i]);
		uint16_t id = ipfix_rec_template(&recs[i]);

		if (!set || id != set_id) {
			if (set && !o.full)
				put_at16(set + 2, (uint16_t)(o.p - set));
			set = o.p;
			set_id = id;
			put_be(&o, id, 2);
			put_be(&o, 0, 2);
		}
		nf = fields_of(&k, f);
		for (j = 0; j < nf; j++)
			put_field(&o, &f[j], &recs[i]);
	}
	if (set && !o.full)
		put_at16(set + 2, (uint16_t)(o.p - set));
	return finish(&o, msg);
}

bool ipfix_fits(const struct ipfix_rec *recs, size_t n,
		const struct ipfix_rec *next)
{
	size_t len = IPFIX_HEADER_LEN, i;
	uint16_t set_id = 0;

	for (i = 0; i <= n; i++) {
		const struct ipfix_rec *r = i < n ? &recs[i] : next;
		uint16_t id = ipfix_rec_template(r);

		if (i == 0 || id != set_id)
			len += IPFIX_SET_HEADER_LEN;
		set_id = id;
		len += ipfix_rec_len(r);
	}
	return len <= IPFIX_MSG_MAX;
}
