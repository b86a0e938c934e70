/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * health.h - the policy of `health`: which checks, and when each is ok,
 * warning or critical (docs/API.md). Decides only; api.c encodes.
 */
#ifndef TCPLOG_HEALTH_H
#define TCPLOG_HEALTH_H

#include <stdint.h>

#include "attach.h"
#include "expiry.h"
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

/* insert_failures: failed inserts within this window warn. */
#define HEALTH_FAILED_WINDOW_SEC 300
#define HEALTH_SAMPLES 32 /* > the window / the sampling period (10 s) */

/*
 * Failed-insert totals (and early expiries) sampled over time, so that the
 * checks report those of the last HEALTH_FAILED_WINDOW_SEC whoever asks and
 * however often: one client's checks cannot hide failures from another's.
 */
struct health_sample {
	uint64_t at_ms; /* CLOCK_MONOTONIC */
	uint64_t failed;
	uint64_t evicted, syn_evicted; /* of struct expiry_counts, then */
};

struct health {
	struct health_sample s[HEALTH_SAMPLES];
	unsigned int next, n;
};

/*
 * Records the failed-insert total and the entries pressure took so far
 * (@c) now; the daemon calls it every 10 s.
 */
void health_sample(struct health *h, const struct maps *m,
		   const struct expiry_counts *c, uint64_t now_ms);

/* Forgets the samples (after a reset zeroed the totals) and takes one. */
void health_restart(struct health *h, const struct maps *m,
		    const struct expiry_counts *c, uint64_t now_ms);

/*
 * Runs the checks: attachments (@hooks verified against the kernel), the
 * map readable (one lookup), its usage as the last expiry scan counted it
 * (@counts, with its age: no walk of the map here), inserts that failed
 * within the window and whether embryonic entries filled their share then
 * (pressure took some).
 */
void health_check(struct health *h, const struct att_set *hooks,
		  const struct maps *m, const struct expiry_counts *counts,
		  uint64_t now_ms, struct health_report *out);

const char *health_status_name(enum health_status status);

#endif /* TCPLOG_HEALTH_H */
