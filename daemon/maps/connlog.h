/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * connlog.h - one structured record per finished connection: to the
 * journal (sd_journal_send, fields TCPLOG_*) or, where there is no
 * journal, as one line on stderr.
 */
#ifndef TCPLOG_CONNLOG_H
#define TCPLOG_CONNLOG_H

#include "format.h"
#include "maps.h"

const char *tcplog_reason_name(int reason);

/* Writes one record, whatever the rate (an upgrade's few folds). @unit:
 * the owner's systemd unit, NULL if none or unknown. */
void connlog_record(const struct conn_rec *r, int reason,
		    const struct tcplog_clock *clock, const char *ifname,
		    const char *unit);

/*
 * journald drops what a service logs beyond 10,000 messages in 30 s (its
 * defaults, RateLimitIntervalSec= and RateLimitBurst=), and says so only
 * in its own log. Expiry writes at most CONNLOG_WINDOW_MAX records in each
 * 30 s window of its own: any 30 s of journald's overlaps two of ours,
 * so at most 9,000 records reach it, and the rest of the budget is left
 * for the daemon's other messages. Records beyond are not written but
 * counted, and each window that suppressed some says how many in one
 * line: records + suppressed = entries expired, exactly.
 */
#define CONNLOG_WINDOW_MS 30000
#define CONNLOG_WINDOW_MAX 4500

struct connlog {
	uint64_t window_start_ms; /* CLOCK_MONOTONIC */
	uint64_t in_window, suppressed_in_window;
	uint64_t records, suppressed; /* since the start */
};

/* Writes the record if this window has room, else counts it. */
void connlog_emit(struct connlog *cl, const struct conn_rec *r, int reason,
		  const struct tcplog_clock *clock, const char *ifname,
		  const char *unit, uint64_t now_ms);

/* Ends the window if its time is up, saying what it suppressed. */
void connlog_tick(struct connlog *cl, uint64_t now_ms);

#endif /* TCPLOG_CONNLOG_H */
