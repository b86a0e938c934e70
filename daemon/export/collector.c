// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* collector.c - IPFIX transport sessions, without blocking. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "format.h"
#include "log.h"
#include "priority.h"

struct collector_msg {
	struct collector_msg *next;
	size_t len;
	uint32_t seq, records;
	uint8_t data[];
};

static uint64_t mono_ms(void)
{
	return tcplog_now_ns(CLOCK_MONOTONIC) / 1000000;
}

static uint32_t unix_s(void)
{
	return (uint32_t)time(NULL);
}

static void session_start(struct collector *c);

/* Logged once per kind of failure, not per message. */
static void note_error(struct collector *c, int err, const char *what)
{
	if (err == c->last_err)
		return;
	c->last_err = err;
	/* The shipped unit allows neither by default (docs/IPFIX.md). */
	if (err == EAFNOSUPPORT || err == EPERM)
		log_warn("IPFIX collector %s: %s: %s; under the shipped unit, "
			 "a drop-in must allow it: RestrictAddressFamilies= "
			 "AF_INET AF_INET6 and IPAddressAllow= the collector",
			 c->name, what, strerror(err));
	else
		log_warn("IPFIX collector %s: %s: %s", c->name, what,
			 strerror(err));
}

static void drop_head(struct collector *c, bool counted)
{
	struct collector_msg *m = c->head;

	if (!m)
		return;
	c->head = m->next;
	if (!c->head)
		c->tail = NULL;
	c->queued -= m->len;
	c->head_off = 0;
	if (counted) {
		c->stats.messages++;
		c->stats.records += m->records;
	} else {
		c->stats.send_errors++;
	}
	free(m);
}

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct collector *c = userdata;

	(void)src;
	(void)usec;
	c->retry = sd_event_source_unref(c->retry);
	session_start(c);
	return 0;
}

/* The session broke: what was cut is lost, the rest waits; retry later. */
static void session_fail(struct collector *c, int err, const char *what)
{
	note_error(c, err, what);
	c->io = sd_event_source_disable_unref(c->io);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->up = false;
	c->tpl_sent = false;
	if (c->head_off)
		drop_head(c, false);
	c->retry_ms = c->retry_ms ? c->retry_ms * 2 : COLLECTOR_RETRY_MIN_MS;
	if (c->retry_ms > COLLECTOR_RETRY_MAX_MS)
		c->retry_ms = COLLECTOR_RETRY_MAX_MS;
	if (sd_event_add_time_relative(c->event, &c->retry, CLOCK_MONOTONIC,
				       c->retry_ms * 1000, 100 * 1000, on_retry,
				       c) < 0)
		log_err("IPFIX collector %s: cannot schedule a reconnect",
			c->name);
}

/* Writes what the socket takes; true if the queue is empty. */
static bool flush(struct collector *c)
{
	while (c->head) {
		struct collector_msg *m = c->head;
		ssize_t n = send(c->fd, m->data + c->head_off,
				 m->len - c->head_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			session_fail(c, errno, "sending");
			return false;
		}
		c->head_off += (size_t)n;
		if (c->head_off == m->len)
			drop_head(c, true);
	}
	return true;
}

static void want_out(struct collector *c, bool out)
{
	if (c->io)
		sd_event_source_set_io_events(c->io,
					      EPOLLIN | (out ? EPOLLOUT : 0));
}

static struct collector_msg *msg_new(size_t len, uint32_t seq, uint32_t records)
{
	struct collector_msg *m = malloc(sizeof(*m) + len);

	if (m) {
		m->next = NULL;
		m->len = len;
		m->seq = seq;
		m->records = records;
	}
	return m;
}

/* A new TCP session starts with the templates, before what waited. */
static void queue_templates_first(struct collector *c)
{
	struct ipfix_header h = { unix_s(), c->head ? c->head->seq : c->seq,
				  c->domain };
	uint8_t buf[IPFIX_MSG_MAX * 2];
	size_t len = ipfix_enc_templates(buf, sizeof(buf), c->biflow, &h);
	struct collector_msg *m = len ? msg_new(len, h.seq, 0) : NULL;

	if (!m) {
		log_err("IPFIX collector %s: cannot make the templates",
			c->name);
		return;
	}
	memcpy(m->data, buf, len);
	m->next = c->head;
	c->head = m;
	if (!c->tail)
		c->tail = m;
	c->queued += len;
	c->head_off = 0;
	c->tpl_sent = true;
}

static int on_io(sd_event_source *src, int fd, uint32_t events, void *userdata)
{
	struct collector *c = userdata;
	char sink[512];
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	(void)src;
	if (!c->up) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			session_fail(c, err, "connecting");
			return 0;
		}
		c->up = true;
		c->retry_ms = 0;
		c->last_err = 0;
		log_info("IPFIX collector %s: connected", c->name);
		queue_templates_first(c);
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* A collector sends nothing: anything read is discarded, and
		 * the end of the stream is the end of the session. */
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			session_fail(c, n == 0 ? ECONNRESET : errno,
				     "the session ended");
			return 0;
		}
	}
	want_out(c, !flush(c));
	return 0;
}

/*
 * At open only: a TCP connect that completes within @wait_ms is up before
 * the first record, so that records are not left in our queue (lost if
 * the daemon is killed) while the loop has not yet seen the connect end.
 */
static void wait_connected(struct collector *c, int wait_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (wait_ms <= 0 || poll(&p, 1, wait_ms) != 1 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		return; /* the loop goes on with it (on_io) */
	c->up = true;
	log_info("IPFIX collector %s: connected", c->name);
	queue_templates_first(c);
	flush(c);
}

/*
 * What the kernel holds survives a kill (it is sent after the close);
 * what waits in our queue does not. So a TCP session gets a send buffer
 * as large as our queue, and the queue is used only when a collector is
 * slower than that: a burst of records never waits in user space. The
 * unit keeps CAP_NET_ADMIN, which lets the buffer exceed wmem_max.
 */
static void big_send_buffer(struct collector *c)
{
	int size = COLLECTOR_QUEUE_MAX;

	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) <
		    0 &&
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		log_debug("IPFIX collector %s: send buffer left as it is: %s",
			  c->name, strerror(errno));
}

static void session_start(struct collector *c)
{
	int type = c->tcp ? SOCK_STREAM : SOCK_DGRAM;

	c->fd = socket(c->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (c->fd < 0) {
		session_fail(c, errno, "cannot make a socket");
		return;
	}
	if (c->tcp)
		big_send_buffer(c);
	/* UDP connected too: the kernel reports refusals (ICMP) to us. */
	if (connect(c->fd, (struct sockaddr *)&c->addr, c->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		session_fail(c, errno, "connecting");
		return;
	}
	if (!c->tcp) {
		c->up = true;
		return;
	}
	/* At the bulk priority: the socket API goes first. */
	if (sd_event_add_io(c->event, &c->io, c->fd, EPOLLIN | EPOLLOUT, on_io,
			    c) < 0 ||
	    sd_event_source_set_priority(c->io, TCPLOG_BULK_PRIORITY) < 0) {
		session_fail(c, ENOMEM, "cannot watch the socket");
		return;
	}
	wait_connected(c, c->connect_wait_ms);
	c->connect_wait_ms = 0; /* reconnects never block */
}

int collector_open(struct collector *c, const struct config_collector *cc,
		   bool biflow, uint32_t domain, sd_event *event)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->tcp = cc->tcp;
	c->biflow = biflow;
	c->domain = domain;
	c->event = event;
	snprintf(c->name, sizeof(c->name), "%s://%s%s%s:%s",
		 cc->tcp ? "tcp" : "udp", strchr(cc->host, ':') ? "[" : "",
		 cc->host, strchr(cc->host, ':') ? "]" : "", cc->port);
	hints.ai_socktype = cc->tcp ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	ret = getaddrinfo(cc->host, cc->port, &hints, &res);
	if (ret) {
		log_err("IPFIX collector %s: %s", c->name, gai_strerror(ret));
		return -EINVAL;
	}
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	c->connect_wait_ms = COLLECTOR_CONNECT_WAIT_MS;
	session_start(c);
	return 0;
}

void collector_close(struct collector *c)
{
	/* What the socket took is sent by the kernel after close. */
	if (c->up && c->tcp)
		flush(c);
	if (c->head)
		log_warn("IPFIX collector %s: %zu bytes not sent at exit",
			 c->name, c->queued);
	while (c->head)
		drop_head(c, false);
	c->io = sd_event_source_disable_unref(c->io);
	c->retry = sd_event_source_disable_unref(c->retry);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * One datagram. A refusal is the kernel reporting an ICMP unreachable for
 * an earlier datagram: that one was lost (counted), the collector went
 * away (when it is back, the templates go with the next message), and
 * this one is sent again.
 */
static int udp_send(struct collector *c, const uint8_t *buf, size_t len)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != ECONNREFUSED)
			break;
		note_error(c, errno, "an earlier message was refused");
		c->refused_ms = mono_ms();
		c->stats.send_errors++;
		c->tpl_sent = false;
	}
	return -errno;
}

static void send_udp(struct collector *c, const uint8_t *buf, size_t len,
		     uint32_t records)
{
	int err = c->up ? udp_send(c, buf, len) : -ENOTCONN;
	bool quiet;

	if (err) {
		if (err != -ECONNREFUSED)
			note_error(c, -err, "sending");
		c->stats.send_errors++;
		c->tpl_sent = false;
		return;
	}
	/*
	 * A datagram the kernel took says nothing of a collector that
	 * refuses (its refusal comes with the next send): with no listener,
	 * every other send is refused. So it counts as back only after
	 * COLLECTOR_REFUSED_QUIET_MS without a refusal; a log line per
	 * message would flood the journal.
	 */
	quiet = c->last_err != ECONNREFUSED ||
		mono_ms() - c->refused_ms >= COLLECTOR_REFUSED_QUIET_MS;
	if (c->last_err && quiet) {
		log_info("IPFIX collector %s: sending again", c->name);
		c->last_err = 0;
	}
	c->stats.messages++;
	c->stats.records += records;
}

static void queue_tcp(struct collector *c, const uint8_t *buf, size_t len,
		      uint32_t seq, uint32_t records)
{
	struct collector_msg *m;

	if (c->queued + len > COLLECTOR_QUEUE_MAX ||
	    !(m = msg_new(len, seq, records))) {
		note_error(c, ENOBUFS, "the queue is full, dropping records");
		c->stats.send_errors++;
		return;
	}
	memcpy(m->data, buf, len);
	if (c->tail)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	c->queued += len;
	if (c->up)
		want_out(c, !flush(c));
	if (c->up && c->head && !c->slow) {
		/* Until it drains, a kill loses what waits here. */
		log_notice("IPFIX collector %s: slower than the records are "
			   "made, %zu bytes wait in the daemon",
			   c->name, c->queued);
		c->slow = true;
	} else if (!c->head) {
		c->slow = false;
	}
}

void collector_send(struct collector *c, const struct ipfix_rec *recs, size_t n)
{
	uint8_t buf[IPFIX_MSG_MAX * 2];
	struct ipfix_header h = { unix_s(), c->seq, c->domain };
	uint64_t now = mono_ms();
	size_t len;

	if (!c->tcp &&
	    (!c->tpl_sent || now - c->tpl_at_ms >= COLLECTOR_TEMPLATE_MS ||
	     c->msgs_since_tpl >= COLLECTOR_TEMPLATE_MSGS)) {
		len = ipfix_enc_templates(buf, sizeof(buf), c->biflow, &h);
		if (len && c->up && !udp_send(c, buf, len)) {
			c->tpl_sent = true;
			c->tpl_at_ms = now;
			c->msgs_since_tpl = 0;
		}
	}
	len = ipfix_enc_data(buf, sizeof(buf), recs, n, &h);
	if (!len) {
		log_err("IPFIX collector %s: a message did not fit", c->name);
		c->stats.send_errors++;
		return;
	}
	/* RFC 7011: the count of data records before this message, mod 2^32. */
	c->seq += (uint32_t)n;
	if (c->tcp) {
		queue_tcp(c, buf, len, h.seq, (uint32_t)n);
	} else {
		/* Only UDP resends templates by count (TCP: once per session). */
		c->msgs_since_tpl++;
		send_udp(c, buf, len, (uint32_t)n);
	}
}
