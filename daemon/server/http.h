/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http.h - the optional Prometheus endpoint (metrics_listen): GET /metrics
 * and nothing else, served by libmicrohttpd inside the daemon's event loop
 * (no thread, no lock: its epoll descriptor is one more source, at the
 * bulk priority, so the socket API and the expiry go first).
 *
 * What a client can take is bounded: HTTP_MAX_CONNECTIONS at once,
 * HTTP_MAX_PER_IP of them from one address, HTTP_MEMORY_LIMIT bytes for a
 * request's line and headers (a larger one gets 431 and is closed), and
 * HTTP_TIMEOUT_S without progress. The exposition is made at most once per
 * HTTP_CACHE_MS whatever the number of scrapes: a request costs a copy at
 * most, never a walk of the map.
 */
#ifndef TCPLOG_HTTP_H
#define TCPLOG_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "metrics.h"

#define HTTP_MAX_CONNECTIONS 32
#define HTTP_MAX_PER_IP 8
#define HTTP_MEMORY_LIMIT (16 * 1024)
#define HTTP_TIMEOUT_S 10
#define HTTP_CACHE_MS 1000

struct MHD_Daemon;
struct MHD_Response;

struct http {
	struct MHD_Daemon *mhd; /* NULL: off */
	int listen_fd;
	char addr[80]; /* as configured, for the log */
	sd_event *event;
	sd_event_source *io, *timer;
	const struct metrics_src *src;
	struct MHD_Response *cached; /* the last exposition */
	uint64_t cached_ms; /* CLOCK_MONOTONIC when it was made */
	uint64_t requests, refused; /* served /metrics; answered otherwise */
};

void http_init(struct http *h);

/*
 * Listens on cfg->metrics_host:metrics_port (nothing if metrics_listen is
 * empty) and serves from @src in @event. Returns 0 or a negative errno,
 * logged with what to change (the unit's address families, a port in use).
 */
int http_open(struct http *h, const struct config *cfg, sd_event *event,
	      const struct metrics_src *src);
void http_close(struct http *h);

/* Whether @a and @b ask for the same endpoint (a reload keeps it open). */
bool http_same(const struct config *a, const struct config *b);

#endif /* TCPLOG_HTTP_H */
