/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.h - the Prometheus exposition (text format 0.0.4) of what the
 * daemon counts: aggregates per interface, direction and family, per
 * systemd unit and direction, per datapath result and expiry reason, never
 * one series per connection (docs/METRICS.md). Read from what the last
 * expiry scan published and from the statistics map: no request walks the
 * connection map, so the cost of an answer follows the interfaces and
 * units, whatever the number of connections.
 */
#ifndef TCPLOG_METRICS_H
#define TCPLOG_METRICS_H

#include <stddef.h>

#include "attach.h"
#include "expiry.h"
#include "ipfix.h"
#include "maps.h"
#include "sums.h"

/* What HTTP sends, and what the socket's answer names. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_SOCKET_CONTENT_TYPE "text/plain; version=0.0.4"

/* What the exposition reads; the daemon owns all of it. */
struct metrics_src {
	struct maps *maps;
	struct sums *sums; /* NULL: no sums */
	const struct expiry_counts *counts;
	const struct att_set *hooks;
	struct ipfix *ipfix; /* NULL: no export */
};

/*
 * The exposition into a new NUL-terminated buffer (*@text, free() it) of
 * *@len bytes. Returns 0 or -ENOMEM.
 */
int metrics_render(const struct metrics_src *src, char **text, size_t *len);

#endif /* TCPLOG_METRICS_H */
