/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * collector.h - one IPFIX collector: its transport session (UDP or TCP),
 * its sequence numbers and when it needs the templates again.
 *
 * Nothing here blocks: sockets are non-blocking, a TCP connect completes
 * in the event loop, a TCP collector that is down or slow gets messages
 * queued up to COLLECTOR_QUEUE_MAX bytes (then dropped and counted), and a
 * lost connection is tried again with a growing delay. The socket API and
 * the counting never wait for a collector.
 */
#ifndef TCPLOG_COLLECTOR_H
#define TCPLOG_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "ipfix_enc.h"

/* Bytes queued for one TCP collector at most: ~3,000 messages. */
#define COLLECTOR_QUEUE_MAX (4u << 20)
/* RFC 7011 §8.4 for UDP: templates again after this, or this many. */
#define COLLECTOR_TEMPLATE_MS (600u * 1000)
#define COLLECTOR_TEMPLATE_MSGS 1000
/* UDP: a collector that refused is back once it refused nothing this long. */
#define COLLECTOR_REFUSED_QUIET_MS 10000
/* A lost TCP connection: tried again after 1 s, doubling up to 30 s. */
#define COLLECTOR_RETRY_MIN_MS 1000
#define COLLECTOR_RETRY_MAX_MS 30000
/* At open, a TCP connect may take this long before the loop runs. */
#define COLLECTOR_CONNECT_WAIT_MS 250

struct collector_msg;

struct collector_stats {
	uint64_t messages; /* handed to the socket (or queued, TCP) */
	uint64_t records;
	uint64_t send_errors; /* messages lost: refused, dropped, cut */
};

struct collector {
	char name[300]; /* as configured, for the log */
	bool tcp;
	bool biflow; /* which templates */
	uint32_t domain;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	bool up; /* UDP: socket made; TCP: connected */
	uint32_t seq; /* data records sent in this session */
	uint64_t tpl_at_ms; /* CLOCK_MONOTONIC of the last templates */
	uint64_t msgs_since_tpl;
	bool tpl_sent; /* this session has them */
	/* TCP: messages waiting for the socket, oldest first. */
	struct collector_msg *head, *tail;
	size_t queued, head_off;
	bool slow; /* the queue holds data: logged once until it drains */
	uint64_t retry_ms;
	int connect_wait_ms; /* at open: COLLECTOR_CONNECT_WAIT_MS, then 0 */
	int last_err; /* logged once until it changes */
	uint64_t refused_ms; /* UDP: CLOCK_MONOTONIC of the last refusal */
	sd_event *event;
	sd_event_source *io, *retry;
	struct collector_stats stats;
};

/*
 * Resolves @cc and opens its session (a TCP connect goes on in @event).
 * Fails only for what cannot work later: a name that does not resolve.
 */
int collector_open(struct collector *c, const struct config_collector *cc,
		   bool biflow, uint32_t domain, sd_event *event);
void collector_close(struct collector *c);

/* Sends one data message of @n records (the templates first if due). */
void collector_send(struct collector *c, const struct ipfix_rec *recs,
		    size_t n);

#endif /* TCPLOG_COLLECTOR_H */
