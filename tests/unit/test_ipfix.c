// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_ipfix.c - the IPFIX encoder against RFC 7011's wire format, read
 * back byte by byte here (the e2e test reads it with tshark, nfacctd and
 * nfdump), and the collectors' transport sessions against sockets on
 * loopback: when the templates go, and the sequence numbers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "ipfix_enc.h"
#include "log.h"
#include "testlib.h"

static uint64_t be(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static struct ipfix_rec v4_ingress(void)
{
	struct ipfix_rec r;

	memset(&r, 0, sizeof(r));
	r.key[0].family = TCPLOG_FAMILY_IPV4;
	r.key[0].direction = TCPLOG_DIR_INGRESS;
	r.key[0].ifindex = 7;
	inet_pton(AF_INET, "198.18.0.1", r.key[0].src_addr);
	inet_pton(AF_INET, "198.18.0.2", r.key[0].dst_addr);
	r.key[0].src_port = htons(40000);
	r.key[0].dst_port = htons(443);
	r.d[0] = (struct ipfix_delta){ .bytes = 1514ull << 32,
				       .ip_bytes = 5000000000ull,
				       .packets = 3,
				       .tcp_flags = 0x1b };
	r.start_ms = 1796451192123ull;
	r.end_ms = 1796451199456ull;
	r.reason = IPFIX_END_DETECTED;
	return r;
}

static void test_header_and_record(void)
{
	struct ipfix_header h = { 1796451200, 41, 7 };
	struct ipfix_rec r = v4_ingress();
	uint8_t buf[IPFIX_MSG_MAX], *f;
	size_t len = ipfix_enc_data(buf, sizeof(buf), &r, 1, &h);

	TL_EQ_U64(ipfix_rec_len(&r), 4 + 4 + 2 + 2 + 1 + 2 + 8 * 5 + 4 + 1 + 1);
	TL_EQ_U64(len, 16 + 4 + ipfix_rec_len(&r));
	TL_EQ_U64(be(buf, 2), 10);
	TL_EQ_U64(be(buf + 2, 2), len);
	TL_EQ_U64(be(buf + 4, 4), 1796451200);
	TL_EQ_U64(be(buf + 8, 4), 41);
	TL_EQ_U64(be(buf + 12, 4), 7);
	TL_EQ_U64(be(buf + 16, 2), 256);
	TL_EQ_U64(be(buf + 18, 2), len - 16);
	f = buf + 20;
	TL_EQ_U64(be(f, 4), 0xc6120001); /* 198.18.0.1 */
	TL_EQ_U64(be(f + 4, 4), 0xc6120002);
	TL_EQ_U64(be(f + 8, 2), 40000);
	TL_EQ_U64(be(f + 10, 2), 443);
	TL_EQ_U64(be(f + 12, 1), 6);
	TL_EQ_U64(be(f + 13, 2), 0x1b);
	TL_EQ_U64(be(f + 15, 8), 5000000000ull); /* octetDeltaCount = ip */
	TL_EQ_U64(be(f + 23, 8), 3);
	TL_EQ_U64(be(f + 31, 8), 1514ull << 32); /* layer 2 */
	TL_EQ_U64(be(f + 39, 8), 1796451192123ull);
	TL_EQ_U64(be(f + 47, 8), 1796451199456ull);
	TL_EQ_U64(be(f + 55, 4), 7); /* ingressInterface */
	TL_EQ_U64(be(f + 59, 1), 0); /* flowDirection ingress */
	TL_EQ_U64(be(f + 60, 1), 3); /* end detected */
	/* Too small a buffer: nothing, not a cut message. */
	TL_EQ_U64(ipfix_enc_data(buf, len - 1, &r, 1, &h), 0);
}

/* One template: its field specifiers, @pen the enterprise ones seen. */
static const uint8_t *template_fields(const uint8_t *p, uint16_t *id,
				      unsigned int *n, unsigned int *pens,
				      uint16_t *ies)
{
	unsigned int i;

	*id = (uint16_t)be(p, 2);
	*n = (unsigned int)be(p + 2, 2);
	p += 4;
	*pens = 0;
	for (i = 0; i < *n; i++) {
		uint16_t ie = (uint16_t)be(p, 2);

		ies[i] = ie & 0x7fff;
		p += 4;
		if (ie & 0x8000) {
			TL_EQ_U64(be(p, 4), IPFIX_REVERSE_PEN);
			(*pens)++;
			p += 4;
		}
	}
	return p;
}

static void test_templates(void)
{
	/* IANA's: nothing of an enterprise but RFC 5103's reverse ones. */
	static const uint16_t standard[] = {
		1,  2,	4,  6,	 7,   8,   10,	11,  12,  14, 27,
		28, 58, 61, 136, 152, 153, 239, 243, 245, 352
	};
	struct ipfix_header h = { 1, 0, 0 };
	uint8_t buf[IPFIX_MSG_MAX * 2];
	int biflow;

	for (biflow = 0; biflow < 2; biflow++) {
		size_t len = ipfix_enc_templates(buf, sizeof(buf), biflow, &h);
		const uint8_t *p = buf + 20, *end = buf + len;
		unsigned int n, pens, count = 0, i, j;
		uint16_t id, ies[32];

		TL_CHECK(len > 0 && len <= IPFIX_MSG_MAX,
			 "templates fit one message: %zu bytes", len);
		TL_EQ_U64(be(buf + 16, 2), 2);
		TL_EQ_U64(be(buf + 18, 2), len - 16);
		while (p < end) {
			p = template_fields(p, &id, &n, &pens, ies);
			TL_EQ_U64(id, 256 + count + (biflow ? 12 : 0));
			TL_EQ_U64(pens, biflow ? 4 : 0);
			for (i = 0; i < n; i++) {
				for (j = 0; j < sizeof(standard) / 2; j++)
					if (standard[j] == ies[i])
						break;
				TL_CHECK(j < sizeof(standard) / 2,
					 "IE %u is IANA's", ies[i]);
			}
			count++;
		}
		TL_EQ_U64(count, 12);
	}
}

static void test_v6_qinq_biflow(void)
{
	struct ipfix_header h = { 1, 0, 0 };
	struct ipfix_rec r = v4_ingress();
	uint8_t buf[IPFIX_MSG_MAX], *f;
	size_t len;

	r.biflow = 1;
	r.initiator = 1;
	r.key[0].family = TCPLOG_FAMILY_IPV6;
	r.key[0].direction = TCPLOG_DIR_EGRESS;
	inet_pton(AF_INET6, "fd00::2", r.key[0].src_addr);
	inet_pton(AF_INET6, "fd00::1", r.key[0].dst_addr);
	r.key[0].vlan_count = 2;
	r.key[0].vlan_id[0] = 200;
	r.key[0].vlan_id[1] = 100;
	r.d[1] = (struct ipfix_delta){
		.bytes = 66, .ip_bytes = 52, .packets = 1, .tcp_flags = 0x12
	};
	TL_EQ_U64(ipfix_rec_template(&r), 256 + 1 + 2 + 8 + 12);
	len = ipfix_enc_data(buf, sizeof(buf), &r, 1, &h);
	TL_EQ_U64(len, 16 + 4 + ipfix_rec_len(&r));
	f = buf + 20;
	TL_EQ_U64(be(f, 2), 0xfd00);
	TL_EQ_U64(be(f + 14, 2), 2);
	f += 32 + 5 + 2 + 40; /* addresses, ports, protocol, flags, counts */
	TL_EQ_U64(be(f, 4), 7); /* egressInterface */
	TL_EQ_U64(be(f + 4, 1), 1); /* flowDirection egress */
	TL_EQ_U64(be(f + 6, 2), 200); /* vlanId: the outer tag */
	TL_EQ_U64(be(f + 8, 2), 200); /* dot1qVlanId */
	TL_EQ_U64(be(f + 10, 2), 100); /* dot1qCustomerVlanId: inner */
	TL_EQ_U64(be(f + 12, 2), 0x12); /* reverseTcpControlBits */
	TL_EQ_U64(be(f + 14, 8), 52); /* reverseOctetDeltaCount */
	TL_EQ_U64(be(f + 22, 8), 1);
	TL_EQ_U64(be(f + 30, 8), 66);
	TL_EQ_U64(be(f + 38, 1), 1); /* biflowDirection: initiator */
}

static void test_sets_and_fit(void)
{
	struct ipfix_header h = { 1, 0, 0 };
	struct ipfix_rec r[24];
	uint8_t buf[IPFIX_MSG_MAX * 2];
	size_t rl, i, len;

	for (i = 0; i < 24; i++)
		r[i] = v4_ingress();
	rl = ipfix_rec_len(&r[0]);
	/* 22 records of 61 bytes fit 1400 with the headers, 23 do not. */
	TL_CHECK(ipfix_fits(r, 21, &r[21]), "22 fit");
	TL_CHECK(!ipfix_fits(r, 22, &r[22]), "23 do not");
	/* Runs of one template share a set; another template, a new set. */
	r[1].key[0].direction = TCPLOG_DIR_EGRESS;
	len = ipfix_enc_data(buf, sizeof(buf), r, 3, &h);
	TL_EQ_U64(len, 16 + 3 * 4 + 3 * rl);
	TL_EQ_U64(be(buf + 16, 2), 256);
	TL_EQ_U64(be(buf + 20 + rl, 2), 258);
	TL_EQ_U64(be(buf + 20 + rl + 4 + rl, 2), 256);
	r[1] = r[0];
	len = ipfix_enc_data(buf, sizeof(buf), r, 3, &h);
	TL_EQ_U64(len, 16 + 4 + 3 * rl);
	TL_EQ_U64(be(buf + 18, 2), 4 + 3 * rl);
}

/* ---- the collectors' sessions -------------------------------------------- */

/* A socket of @type bound to 127.0.0.1 on @port, or on a free port if
 * @port is "" (then written there). */
static int loopback_socket(int type, char port[6])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(port)) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(port, 6, "%u", ntohs(a.sin_port));
	return fd;
}

/* What one message at the collector is: templates or data, and its seq. */
struct seen {
	unsigned int templates, data;
	unsigned int tpl_at[4]; /* the data messages before each templates */
	unsigned int bad_msg, bad_seq, bad_domain;
};

static void see(struct seen *w, const uint8_t *m, size_t len)
{
	if (len < 20 || be(m, 2) != 10 || be(m + 2, 2) != len) {
		w->bad_msg++;
		return;
	}
	if (be(m + 12, 4) != 9)
		w->bad_domain++;
	if (be(m + 16, 2) == 2) {
		if (w->templates < 4)
			w->tpl_at[w->templates] = w->data;
		w->templates++;
		return;
	}
	/* One record per message: the records before it = messages before. */
	if (be(m + 8, 4) != w->data)
		w->bad_seq++;
	w->data++;
}

static void read_udp(int fd, struct seen *w)
{
	uint8_t buf[2048];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		see(w, buf, (size_t)n);
}

/*
 * UDP (RFC 7011 §8.4): the templates before the first message and again
 * after COLLECTOR_TEMPLATE_MSGS messages; each message's sequence number
 * counts the records before it. A collector that went away (the kernel's
 * refusal of a datagram) gets the templates with the next message.
 */
static void test_udp_templates(void)
{
	struct config_collector cc = { .tcp = false, .host = "127.0.0.1" };
	struct ipfix_rec r = v4_ingress();
	struct collector c;
	struct seen w = { 0 };
	unsigned int i, n = COLLECTOR_TEMPLATE_MSGS + 5;
	sd_event *ev = NULL;
	int fd = loopback_socket(SOCK_DGRAM, cc.port);

	TL_CHECK(fd >= 0, "a UDP socket on loopback: %s", strerror(errno));
	TL_EQ_INT(sd_event_new(&ev), 0);
	if (fd < 0 || !ev)
		goto out;
	TL_EQ_INT(collector_open(&c, &cc, false, 9, ev), 0);
	for (i = 0; i < n; i++) {
		collector_send(&c, &r, 1);
		read_udp(fd, &w);
	}
	TL_EQ_U64(w.data, n);
	TL_EQ_U64(w.templates, 2);
	TL_EQ_U64(w.tpl_at[0], 0);
	TL_EQ_U64(w.tpl_at[1], COLLECTOR_TEMPLATE_MSGS);
	TL_EQ_U64(w.bad_msg + w.bad_seq + w.bad_domain, 0);
	TL_EQ_U64(c.stats.messages, n);
	TL_EQ_U64(c.stats.records, n);
	TL_EQ_U64(c.stats.send_errors, 0);

	/* The collector goes away: the kernel refuses after the ICMP. */
	close(fd);
	collector_send(&c, &r, 1);
	usleep(20 * 1000);
	collector_send(&c, &r, 1);
	TL_CHECK(c.stats.send_errors >= 1, "a refusal counted");
	/* Back on the same port: the templates come with the next message. */
	fd = loopback_socket(SOCK_DGRAM, cc.port);
	TL_CHECK(fd >= 0, "the same port again: %s", strerror(errno));
	memset(&w, 0, sizeof(w));
	collector_send(&c, &r, 1);
	read_udp(fd, &w);
	TL_EQ_U64(w.templates, 1);
	TL_EQ_U64(w.tpl_at[0], 0);
	/* Not yet "sending again": with no listener every other send is
	 * taken, so only a quiet while says the collector is back. */
	TL_EQ_INT(c.last_err, ECONNREFUSED);
	collector_close(&c);
out:
	if (fd >= 0)
		close(fd);
	sd_event_unref(ev);
}

/* Splits a TCP stream into messages by their length field. */
static void see_stream(struct seen *w, const uint8_t *s, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len && be(s + off + 2, 2) >= 16 &&
	       off + be(s + off + 2, 2) <= len) {
		see(w, s + off, be(s + off + 2, 2));
		off += be(s + off + 2, 2);
	}
	TL_EQ_U64(off, len);
}

/* Runs the loop until the collector's queue is empty (at most @ms). */
static void drain(sd_event *ev, struct collector *c, int ms)
{
	while (ms-- > 0 && (c->head || !c->up))
		sd_event_run(ev, 1000);
}

/* Reads what the accepted session @s got until it is quiet for 100 ms. */
static size_t read_stream(int s, uint8_t *buf, size_t cap)
{
	struct timeval tv = { 0, 100 * 1000 };
	size_t len = 0;
	ssize_t n;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < cap && (n = recv(s, buf + len, cap - len, 0)) > 0)
		len += (size_t)n;
	return len;
}

/*
 * TCP: the templates once at the start of each session, never by count
 * (the session is reliable); a session that ends is made again after the
 * retry delay, the messages made meanwhile wait and go after the new
 * session's templates.
 */
static void test_tcp_session(void)
{
	struct config_collector cc = { .tcp = true, .host = "127.0.0.1" };
	struct ipfix_rec r = v4_ingress();
	size_t cap = 4u << 20, len;
	uint8_t *buf = malloc(cap);
	unsigned int i, n = COLLECTOR_TEMPLATE_MSGS + 200;
	struct collector c;
	struct seen w = { 0 };
	sd_event *ev = NULL;
	int l = loopback_socket(SOCK_STREAM, cc.port), s = -1;

	TL_CHECK(l >= 0 && buf, "a TCP listener on loopback");
	TL_EQ_INT(sd_event_new(&ev), 0);
	if (l < 0 || !buf || !ev)
		goto out;
	TL_EQ_INT(collector_open(&c, &cc, false, 9, ev), 0);
	s = accept(l, NULL, NULL);
	TL_CHECK(s >= 0, "the collector connected at open");
	for (i = 0; i < n; i++)
		collector_send(&c, &r, 1);
	drain(ev, &c, 2000);
	len = read_stream(s, buf, cap);
	see_stream(&w, buf, len);
	TL_EQ_U64(w.templates, 1);
	TL_EQ_U64(w.tpl_at[0], 0);
	TL_EQ_U64(w.data, n);
	TL_EQ_U64(w.bad_msg + w.bad_seq + w.bad_domain, 0);

	/* The collector ends the session; 10 messages wait for the next. */
	close(s);
	for (i = 0; i < 200 && c.up; i++)
		sd_event_run(ev, 10 * 1000);
	TL_CHECK(!c.up, "the end of the session seen");
	for (i = 0; i < 10; i++)
		collector_send(&c, &r, 1);
	drain(ev, &c, 3000); /* the retry comes after 1 s */
	s = accept(l, NULL, NULL);
	drain(ev, &c, 1000);
	len = read_stream(s, buf, cap);
	memset(&w, 0, sizeof(w));
	/* The waiting messages keep their numbers: n records before them. */
	w.data = n;
	see_stream(&w, buf, len);
	TL_EQ_U64(w.templates, 1);
	TL_EQ_U64(w.tpl_at[0], n);
	TL_EQ_U64(w.data, n + 10);
	TL_EQ_U64(w.bad_msg + w.bad_seq, 0);
	TL_EQ_U64(c.stats.send_errors, 0);
	collector_close(&c);
out:
	if (s >= 0)
		close(s);
	if (l >= 0)
		close(l);
	free(buf);
	sd_event_unref(ev);
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "header and one record", test_header_and_record },
		{ "templates: standard elements only", test_templates },
		{ "IPv6, QinQ, biflow", test_v6_qinq_biflow },
		{ "sets and the message size", test_sets_and_fit },
		{ "UDP: templates by count and after a refusal",
		  test_udp_templates },
		{ "TCP: templates once per session, a new session",
		  test_tcp_session },
	};

	log_init(LOG_WARNING);

	return TL_RUN(cases);
}
