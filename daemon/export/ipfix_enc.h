/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipfix_enc.h - IPFIX (RFC 7011) messages: the templates and the data
 * records of struct ipfix_rec, with standard IANA information elements
 * only (and RFC 5103's reverse elements for biflows), big-endian on the
 * wire. Encoding only: no state, no I/O (docs/IPFIX.md has the element
 * list).
 *
 * One template per kind of record: address family, the hook's direction
 * (ingressInterface or egressInterface), VLAN tags (0, 1 or 2), uniflow or
 * biflow; IDs IPFIX_TEMPLATE_FIRST + kind.
 */
#ifndef TCPLOG_IPFIX_ENC_H
#define TCPLOG_IPFIX_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfix_rec.h"

#define IPFIX_VERSION 10
#define IPFIX_HEADER_LEN 16
#define IPFIX_SET_HEADER_LEN 4
#define IPFIX_TEMPLATE_FIRST 256
#define IPFIX_TEMPLATES 24
/* RFC 5103: the Private Enterprise Number of the reverse elements. */
#define IPFIX_REVERSE_PEN 29305
/*
 * Messages stay below a path MTU of 1500 with the IPv6 and UDP headers
 * (RFC 7011 §10.3.3: no fragments), for TCP too.
 */
#define IPFIX_MSG_MAX 1400

struct ipfix_header {
	uint32_t export_time; /* seconds, Unix time */
	uint32_t seq; /* data records sent before this message */
	uint32_t domain; /* observation domain ID */
};

/* The template ID of a record. */
uint16_t ipfix_rec_template(const struct ipfix_rec *r);

/* The bytes a record takes in a data set. */
size_t ipfix_rec_len(const struct ipfix_rec *r);

/*
 * A message with the templates of one flavour (biflow or not): the
 * length, or 0 if @cap is too small.
 */
size_t ipfix_enc_templates(uint8_t *buf, size_t cap, bool biflow,
			   const struct ipfix_header *h);

/*
 * A message with @n records, one data set per run of records of the same
 * template: the length, or 0 if @cap is too small.
 */
size_t ipfix_enc_data(uint8_t *buf, size_t cap, const struct ipfix_rec *recs,
		      size_t n, const struct ipfix_header *h);

/*
 * The size of a message with @n records (as ipfix_enc_data() would write
 * it) plus one more, @next: whether it still fits in IPFIX_MSG_MAX.
 */
bool ipfix_fits(const struct ipfix_rec *recs, size_t n,
		const struct ipfix_rec *next);

#endif /* TCPLOG_IPFIX_ENC_H */
