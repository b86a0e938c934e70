/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * unitstats.h - bytes and packets per systemd unit and direction: what
 * `stats` reports under "units" (and a later Prometheus export).
 *
 * Counted by the expiry scan, which walks every entry anyway (no request
 * walks the map): the live entries as the last scan saw them, plus what
 * expiry removed since the daemon started. A scan's removals move counts
 * from its own live sums to the expired ones, so a connection is counted
 * once, and the published sums only grow (but for `reset`, and a restart
 * of the daemon, which forgets what expired before: a counter reset to a
 * Prometheus reader). Keyed by the interned unit name (units.h), NULL for
 * traffic with no owner or no unit: bounded by the number of units.
 */
#ifndef TCPLOG_UNITSTATS_H
#define TCPLOG_UNITSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "units.h"

struct unit_sum {
	const char *unit; /* interned; NULL: none */
	bool used;
	/* [direction]: enum tcplog_direction */
	uint64_t walked_bytes[2], walked_packets[2]; /* this scan, live */
	uint64_t expired_bytes[2], expired_packets[2]; /* since the start */
	uint64_t bytes[2], packets[2]; /* published at the last scan's end */
};

struct unit_stats {
	struct unit_sum *tab; /* open addressing, 2 * (UNITS_MAX + 1) */
	uint32_t n;
	bool published; /* a scan has ended since the start (or reset) */
	bool stale; /* reset during a scan: that scan publishes nothing */
};

int unitstats_init(struct unit_stats *us);
void unitstats_free(struct unit_stats *us);

/* A scan begins: the live sums start over. */
void unitstats_scan_begin(struct unit_stats *us);
/* The scan's walk saw an entry of @unit. */
void unitstats_walked(struct unit_stats *us, const char *unit, int direction,
		      uint64_t bytes, uint64_t packets);
/* Expiry removed an entry (walked by this scan, if one runs). */
void unitstats_removed(struct unit_stats *us, const char *unit, int direction,
		       uint64_t bytes, uint64_t packets);
/* The scan ended: publishes live + expired. */
void unitstats_scan_end(struct unit_stats *us);
/* `reset`: everything to zero. */
void unitstats_reset(struct unit_stats *us);

/*
 * The published sums, sorted by unit name (NULL last), in @out (room for
 * *n, set to how many). Returns false before the first scan's end.
 */
bool unitstats_sorted(const struct unit_stats *us, const struct unit_sum **out,
		      uint32_t *n);

#endif /* TCPLOG_UNITSTATS_H */
