/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * health.h - the policy of `health`: which checks, and when each is ok,
 * warning or critical (docs/API.md). Decides only; api.c encodes.
 */
#ifndef TCPLOG_HEALTH_H
#define TCPLOG_HEALTH_H

#include <stdint.h>

#include "attach.h"
#include "maps.h"

/* map_usage: entries as a share of max_connections. */
#define HEALTH_USAGE_WARNING_PCT 80
#define HEALTH_USAGE_CRITICAL_PCT 95

enum health_status {
	HEALTH_OK,
	HEALTH_WARNING,
	HEALTH_CRITICAL,
};

#define HEALTH_CHECKS 4

struct health_check {
	const char *name;
	enum health_status status;
	char detail[512];
};

struct health_report {
	struct health_check checks[HEALTH_CHECKS];
	int n;
	enum health_status worst;
};

/* What the checks remember between two calls. */
struct health {
	uint64_t failed_seen; /* failed inserts at the previous check */
};

/*
 * Runs the checks: attachments (@hooks verified against the kernel), the
 * map readable, its usage, inserts that failed since the previous check.
 */
void health_check(struct health *h, const struct att_set *hooks,
		  const struct maps *m, struct health_report *out);

const char *health_status_name(enum health_status status);

#endif /* TCPLOG_HEALTH_H */
