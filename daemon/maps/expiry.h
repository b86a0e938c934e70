/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * expiry.h - keeping the connection map bounded: entries idle for
 * idle_timeout, and closed ones after closed_timeout, are taken out with
 * their final counts (maps_take: lookup-and-delete into the totals),
 * logged, and the totals saved; embryonic entries (every packet a SYN)
 * after syn_timeout. Above 90 % usage entries go early: embryonic ones
 * first, then closed ones, then the longest idle; and above 90 % of the
 * embryonic share (TCPLOG_EMBRYONIC_SHARE_PCT) the oldest embryonic ones,
 * so that a SYN flood leaves room for real handshakes. This module only decides: the map owner (maps.h) does the
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
#include "units.h"
#include "sums.h"
#include "format.h"
#include "ipfix.h"
#include "maps.h"

/* Pressure: above this share of the capacity, expire down to the second. */
#define EXPIRY_PRESSURE_HIGH_PCT 90
#define EXPIRY_PRESSURE_LOW_PCT 80
/* The same for the embryonic share; deeper, as a flood refills it fast. */
#define EXPIRY_SYN_HIGH_PCT 90
#define EXPIRY_SYN_LOW_PCT 50
/*
 * Entries one scan removes at most, for timeouts and for pressure each:
 * what it holds in memory is bounded by this (48-56 bytes an entry, ~14
 * MiB), whatever max_connections is; the next scan takes the rest.
 */
#define EXPIRY_MAX_BATCH 262144
/*
 * The next scan after one that left due entries or pressure behind: after
 * this, or four times as long as the last walk took, so that a flood keeps
 * expiry under 20 % of a CPU.
 */
#define EXPIRY_NEXT_BATCH_MS 100
#define EXPIRY_NEXT_BATCH_WALKS 4
/*
 * A scan runs in slices of about this much work, each a turn of the event
 * loop: clients and the watchdog wait for one slice, never for a scan of a
 * million entries (~0.4 s).
 */
#define EXPIRY_SLICE_MS 5

enum expiry_phase {
	EXPIRY_IDLE, /* no scan in progress */
	EXPIRY_WALK, /* counting, finding what is due */
	EXPIRY_REMOVE, /* removing what is due */
	EXPIRY_PRESSURE_WALK, /* finding what pressure takes */
	EXPIRY_PRESSURE_REMOVE, /* removing it */
};

struct expiry_ranked;

/* What the last scan saw, for answers that must not walk the map. */
struct expiry_counts {
	uint64_t entries, closed, embryonic; /* after the scan's removals */
	uint64_t walked; /* entries the walk saw: how full the map got */
	/* Since start: entries pressure took, embryonic ones apart. */
	uint64_t evicted, syn_evicted;
	uint64_t at_ms; /* CLOCK_MONOTONIC of the scan; 0: none yet */
};

struct expiry {
	struct maps *maps;
	struct tcplog_clock *wall; /* boot time -> wall clock, for records */
	/* The time of a clock now (tcplog_now_ns); a test gives its own. */
	uint64_t (*now_ns)(clockid_t id);
	/* Seconds; idle 0: never. */
	uint32_t idle_timeout, closed_timeout, syn_timeout;
	bool log_closed;
	struct connlog log; /* the records, rate-limited for the journal */
	struct units *units; /* the owners' unit names; NULL: none */
	struct sums *sums; /* per interface and unit; NULL: not kept */
	struct ipfix *ipfix; /* the IPFIX exporter; NULL: none */
	uint32_t ipfix_active; /* seconds between records; 0: no export */
	bool walk_whole; /* this scan's walk saw every entry */
	uint64_t max_batch; /* EXPIRY_MAX_BATCH; tests make it smaller */
	bool pressing; /* above the high mark once, not yet at the low one */
	bool syn_pressing; /* the same for the embryonic share */
	uint64_t pressed_mark; /* pressure expiries when the map filled */
	uint64_t syn_pressed; /* embryonic entries removed early, this time */
	uint64_t taken_embryonic, taken_closed; /* by the current scan */
	bool more_due; /* the last scan found more due than one batch */
	/* What the last scan left: status lines and answers report it
	 * instead of walking a big map once more. */
	struct expiry_counts counts;
	int save_err; /* the last save of the totals failed: logged once */
	uint64_t scan_ms; /* CLOCK_MONOTONIC at the start of this scan */

	/* The scan in progress, across slices. */
	enum expiry_phase phase;
	struct maps_walk walk;
	uint64_t now; /* boot time the scan judges by */
	uint64_t slice_end_ns; /* CLOCK_MONOTONIC: end of this slice */
	uint64_t walk_ns; /* time spent walking, for the spacing */
	uint64_t export_ns; /* of it, making IPFIX records: not spaced */
	struct expiry_counts seen; /* what the walk counted */
	uint64_t taken_before; /* totals.entries at the start */
	struct tcplog_conn_key *due;
	size_t n_due, due_cap, pos;
	struct expiry_ranked *heap;
	size_t n_heap, want;
	bool want_map; /* pressure of the map, not only of the share */
	struct ifname_cache names;
};

void expiry_init(struct expiry *e, struct maps *maps,
		 struct tcplog_clock *wall);

/* Takes the timeouts and log_closed of @cfg (at start and on reload). */
void expiry_configure(struct expiry *e, const struct config *cfg);

/* The scan period for the timeouts, in milliseconds. */
uint64_t expiry_period_ms(const struct expiry *e);

/*
 * One slice of a scan, which removes what is due, then what pressure asks
 * (a new scan starts if none is in progress). Returns true while the scan
 * goes on: call again after the other events had their turn. Returns false
 * when it is done, with *next_ms the milliseconds to wait before the next
 * scan: the period, or longer after a long scan, so that scans take at
 * most 2 % of a CPU.
 */
bool expiry_step(struct expiry *e, uint64_t *next_ms);

/* A whole scan at once (tests, and where no loop waits): next_ms. */
uint64_t expiry_scan(struct expiry *e);

/* Frees what a scan cut short holds. */
void expiry_free(struct expiry *e);

/* The reason @r is due at boot time @now (enum tcplog_reason), or -1. */
int expiry_due(const struct expiry *e, const struct conn_rec *r, uint64_t now);

#endif /* TCPLOG_EXPIRY_H */
