/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * expiry.h - keeping the connection map bounded: entries idle for
 * idle_timeout, and closed ones after closed_timeout, are taken out with
 * their final counts (maps_take: lookup-and-delete into the totals),
 * logged, and the totals saved; above 90 % usage the longest-idle entries
 * go early. This module only decides: the map owner (maps.h) does the
 * removing, the caller's timer runs the scans (docs/DAEMON.md), and the
 * clock is given, so tests can move time.
 */
#ifndef TCPLOG_EXPIRY_H
#define TCPLOG_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "connlog.h"
#include "format.h"
#include "maps.h"

/* Pressure: above this share of the capacity, expire down to the second. */
#define EXPIRY_PRESSURE_HIGH_PCT 90
#define EXPIRY_PRESSURE_LOW_PCT 80
/*
 * Entries one scan removes at most, for timeouts and for pressure each:
 * what it holds in memory is bounded by this (48-56 bytes an entry, ~14
 * MiB), whatever max_connections is; the next scan takes the rest.
 */
#define EXPIRY_MAX_BATCH 262144
/* The next scan after one that left due entries or pressure behind. */
#define EXPIRY_NEXT_BATCH_MS 100

struct expiry {
	struct maps *maps;
	struct tcplog_clock *wall; /* boot time -> wall clock, for records */
	/* The time of a clock now (tcplog_now_ns); a test gives its own. */
	uint64_t (*now_ns)(clockid_t id);
	uint32_t idle_timeout, closed_timeout; /* seconds; idle 0: never */
	bool log_closed;
	struct connlog log; /* the records, rate-limited for the journal */
	uint64_t max_batch; /* EXPIRY_MAX_BATCH; tests make it smaller */
	bool pressing; /* above the high mark once, not yet at the low one */
	bool more_due; /* the last scan found more due than one batch */
	/* Entries the last scan left, -1 before the first: a status line
	 * reports it instead of walking a big map once more. */
	long entries_left;
	int save_err; /* the last save of the totals failed: logged once */
	uint64_t scan_ms; /* CLOCK_MONOTONIC at the start of this scan */
};

void expiry_init(struct expiry *e, struct maps *maps,
		 struct tcplog_clock *wall);

/* Takes the timeouts and log_closed of @cfg (at start and on reload). */
void expiry_configure(struct expiry *e, const struct config *cfg);

/* The scan period for the timeouts, in milliseconds. */
uint64_t expiry_period_ms(const struct expiry *e);

/*
 * One scan: removes what is due, then what pressure asks. Returns the
 * milliseconds to wait before the next scan: the period, or longer after
 * a long scan, so that scans take at most 2 % of a CPU.
 */
uint64_t expiry_scan(struct expiry *e);

/* The reason @r is due at boot time @now (enum tcplog_reason), or -1. */
int expiry_due(const struct expiry *e, const struct conn_rec *r, uint64_t now);

#endif /* TCPLOG_EXPIRY_H */
