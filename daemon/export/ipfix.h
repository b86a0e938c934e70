/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipfix.h - the IPFIX exporter: which records, when, with what counts.
 *
 * A record when an entry leaves the map (flowEndReason from the expiry's
 * reason) and, for an entry still counting, at the first expiry scan after
 * each ipfix_active_timeout since its first packet (flowEndReason 2). Each
 * record carries the counts since the previous record of the same entry
 * (ipfix_store.h keeps what was exported), so that the collector's sums
 * equal what tcploggerd counted, across restarts and kills. With biflow,
 * one RFC 5103 record per connection: both directions at one hook, the
 * opener's direction forward.
 *
 * The expiry drives it (expiry.h): it hands over every entry its walk sees
 * and every entry it removes; this module asks the map owner (maps.h) for
 * a biflow's other direction, encodes (ipfix_enc.h) and hands the messages
 * to the collectors (collector.h).
 */
#ifndef TCPLOG_IPFIX_H
#define TCPLOG_IPFIX_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "collector.h"
#include "config.h"
#include "format.h"
#include "ipfix_store.h"
#include "maps.h"

struct ipfix_stats {
	uint64_t records, messages, send_errors;
};

struct ipfix {
	bool on;
	bool biflow;
	uint64_t active_ns;
	struct maps *maps;
	struct tcplog_clock *wall;
	struct ipfix_store store;
	int n_coll;
	struct collector coll[TCPLOG_MAX_COLLECTORS];
	uint64_t now; /* CLOCK_BOOTTIME the records are made at */
	uint64_t walk, prev_walk; /* of this and the last walk; 0: none */
	int store_err; /* the last failure to keep a position: logged once */
	struct ipfix_stats before; /* of the collectors a reload closed */
};

/*
 * Opens the pinned store in @pin_dir if @cfg names collectors (it needs
 * the capabilities of the start): what a killed daemon left in its journal
 * is sent by the first ipfix_flush(), after the removal it may have left
 * (ipfix_recovered). Returns 0 or a negative errno.
 */
int ipfix_open(struct ipfix *x, const struct config *cfg, const char *pin_dir,
	       struct maps *maps, struct tcplog_clock *wall);

/*
 * Exports to the collectors of @cfg from now on (at start and at each
 * reload; none: no export). Returns 0 or a negative errno.
 */
int ipfix_start(struct ipfix *x, const struct config *cfg, sd_event *event);
void ipfix_close(struct ipfix *x);

/* The expiry's walk starts at boot time @now. */
void ipfix_scan_begin(struct ipfix *x, uint64_t now);

/* Whether an entry the walk sees passed an active timeout (cheap). */
bool ipfix_walk_due(const struct ipfix *x, const struct conn_rec *r);

/* An entry ipfix_walk_due() said yes to: its active record, if it
 * counted anything since the last. */
void ipfix_walked(struct ipfix *x, const struct conn_rec *r);

/*
 * An entry removed with @reason (enum tcplog_reason) at boot time @now,
 * with its final counts: its last record. Called before the removal is
 * saved (maps_totals_save): a kill in between leaves both to redo.
 */
void ipfix_removed(struct ipfix *x, const struct conn_rec *r, int reason,
		   uint64_t now);

/*
 * A removal a killed daemon left unsaved (maps_take_recover): its record
 * unless the journal has it already.
 */
void ipfix_recovered(struct ipfix *x, const struct conn_rec *r, int reason);

/* Sends the message being built (the end of a scan). */
void ipfix_flush(struct ipfix *x);

/* The map was cleared (reset): every position goes. */
void ipfix_reset(struct ipfix *x);

/* Sums over the collectors. */
void ipfix_stats(const struct ipfix *x, struct ipfix_stats *out);

#endif /* TCPLOG_IPFIX_H */
