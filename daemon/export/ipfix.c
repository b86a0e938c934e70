// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ipfix.c - IPFIX records from the expiry's walk and removals. */
#include <errno.h>
#include <string.h>

#include "ipfix.h"
#include "log.h"

static uint64_t unix_ms(const struct ipfix *x, uint64_t boot_ns)
{
	int64_t ns = tcplog_boot_to_unix_ns(x->wall, boot_ns);

	return ns > 0 ? (uint64_t)ns / 1000000 : 0;
}

static void store_failed(struct ipfix *x, int err)
{
	if (err && err != x->store_err)
		log_warn("Cannot keep the IPFIX positions: %s; a record may "
			 "be sent again after a restart",
			 strerror(-err));
	x->store_err = err;
}

/* Sends the journal's records to every collector, then empties it. */
static void send_journal(struct ipfix *x)
{
	struct ipfix_journal *j = x->store.j;
	uint32_t n = __atomic_load_n(&j->n, __ATOMIC_ACQUIRE);
	int i;

	if (!n)
		return;
	/*
	 * From here a kill counts the message as sent: the socket may have
	 * taken it (a kill arrives when the send system call returns).
	 */
	__atomic_store_n(&j->state, IPFIX_JOURNAL_SENDING, __ATOMIC_RELEASE);
	for (i = 0; i < x->n_coll; i++)
		collector_send(&x->coll[i], j->recs, n);
	/* Empty first: a kill in between must not read as a send cut. */
	__atomic_store_n(&j->state, IPFIX_JOURNAL_EMPTY, __ATOMIC_RELEASE);
	__atomic_store_n(&j->n, 0, __ATOMIC_RELEASE);
}

/*
 * One record: written to the journal and published there first, then its
 * positions kept. A kill before the publication leaves the counts in the
 * map for the next record; after it, the next start sends the journal.
 */
static void append(struct ipfix *x, const struct ipfix_rec *r)
{
	struct ipfix_journal *j = x->store.j;
	uint32_t n = j->n;

	if (n == IPFIX_JOURNAL_RECS || (n && !ipfix_fits(j->recs, n, r))) {
		send_journal(x);
		n = 0;
	}
	j->recs[n] = *r;
	if (!n)
		__atomic_store_n(&j->state, IPFIX_JOURNAL_BUILDING,
				 __ATOMIC_RELEASE);
	__atomic_store_n(&j->n, n + 1, __ATOMIC_RELEASE);
	store_failed(x, ipfix_store_apply(&x->store, r));
}

/*
 * The position kept for an entry, if it is this entry's: one kept for an
 * earlier connection with the same key (a kill lost its removal) is older
 * than the entry's first packet.
 */
static bool position(const struct ipfix *x, const struct conn_rec *r,
		     struct ipfix_pos *pos)
{
	if (ipfix_store_get(&x->store, &r->key, pos))
		return false;
	return pos->at_ns >= r->c.first_seen_ns;
}

/*
 * Side @s of @rec from the entry @r: the counts since its position, and
 * what happens to the position (@final: it goes). Returns whether there
 * is anything to send; *start gets the time the delta starts from.
 */
static bool fill_side(const struct ipfix *x, struct ipfix_rec *rec, int s,
		      const struct conn_rec *r, bool final, uint64_t *start)
{
	struct ipfix_pos old = { 0 };
	bool have = position(x, r, &old);

	rec->key[s] = r->key;
	rec->d[s].bytes = r->c.bytes - old.bytes;
	rec->d[s].ip_bytes = r->c.ip_bytes - old.ip_bytes;
	rec->d[s].packets = r->c.packets - old.packets;
	rec->d[s].tcp_flags =
		(uint16_t)(r->c.tcp_flags & TCPLOG_TCP_FLAGS_MASK);
	rec->pos[s] = (struct ipfix_pos){ r->c.bytes, r->c.ip_bytes,
					  r->c.packets, x->now };
	rec->op[s] = final ? IPFIX_POS_DELETE : IPFIX_POS_SET;
	*start = have ? old.at_ns : r->c.first_seen_ns;
	return rec->d[s].packets || rec->d[s].bytes;
}

static uint8_t end_reason(int reason)
{
	switch (reason) {
	case TCPLOG_REASON_FIN:
	case TCPLOG_REASON_RST:
		return IPFIX_END_DETECTED;
	case TCPLOG_REASON_IDLE:
		return IPFIX_END_IDLE;
	case TCPLOG_REASON_PRESSURE:
		return IPFIX_END_RESOURCES;
	default:
		return IPFIX_END_FORCED;
	}
}

/*
 * The record of entry @r (@final: removed) and, for a biflow, of its other
 * direction @peer (NULL: not in the map). An active record only if
 * something was counted since the last one.
 */
static void record(struct ipfix *x, const struct conn_rec *r,
		   const struct conn_rec *peer, bool final, uint8_t reason)
{
	struct ipfix_rec rec;
	uint64_t start, pstart, last = r->c.last_seen_ns;
	enum tcplog_opened how = TCPLOG_OPENED_UNKNOWN;
	bool any, a_first = true;
	int a = 0, b = 1;

	memset(&rec, 0, sizeof(rec));
	rec.reason = reason;
	rec.biflow = x->biflow;
	if (x->biflow) {
		a_first = tcplog_pair_a_opened(&r->c, peer ? &peer->c : NULL,
					       &how);
		a = a_first ? 0 : 1;
		b = 1 - a;
		rec.initiator = how != TCPLOG_OPENED_UNKNOWN;
	}
	any = fill_side(x, &rec, a, r, final, &start);
	if (x->biflow) {
		if (peer) {
			any |= fill_side(x, &rec, b, peer, false, &pstart);
			start = pstart < start ? pstart : start;
			if (peer->c.last_seen_ns > last)
				last = peer->c.last_seen_ns;
		} else {
			tcplog_key_reverse(&r->key, &rec.key[b]);
		}
	}
	/* A removal always has its record: the collector learns the end
	 * (flowEndReason), with zero counts if nothing came since. */
	if (!any && !final)
		return;
	/* An end record with nothing new: the last packet, not the last
	 * record's time, ends it. */
	if (start > last)
		start = last;
	rec.start_ms = unix_ms(x, start);
	rec.end_ms = unix_ms(x, last);
	append(x, &rec);
}

/* For a biflow, the other direction; false if it makes the record. */
static bool peer_of(struct ipfix *x, const struct conn_rec *r,
		    struct conn_rec *peer, bool *have, bool walking)
{
	struct tcplog_conn_key rev;

	tcplog_key_reverse(&r->key, &rev);
	*have = maps_lookup(x->maps, &rev, peer) == 0;
	/* In the walk, the direction with the smaller key makes it. */
	return !(walking && *have && memcmp(&rev, &r->key, sizeof(rev)) < 0);
}

void ipfix_scan_begin(struct ipfix *x, uint64_t now)
{
	x->prev_walk = x->walk;
	x->walk = now;
	x->now = now;
}

bool ipfix_walk_due(const struct ipfix *x, const struct conn_rec *r)
{
	uint64_t fs = r->c.first_seen_ns, prev = x->prev_walk, k, last;

	if (!x->on || x->walk < fs || x->walk - fs < x->active_ns)
		return false;
	/*
	 * A record at the first scan after each active timeout since the
	 * first packet: the timeout was crossed since the last scan (the
	 * first scan of a daemon looks at every entry old enough).
	 */
	k = (x->walk - fs) / x->active_ns;
	if (prev > fs && k == (prev - fs) / x->active_ns)
		return false;
	/*
	 * No packet since the last timeout, and a walk of this daemon came
	 * after it: that walk's record had them all. An idle entry costs no
	 * lookup per timeout. (Skipping is always safe: whatever a record
	 * misses, the next one, or the end record, carries.)
	 */
	last = fs + (k - 1) * x->active_ns;
	return !(k >= 2 && prev >= last && r->c.last_seen_ns < last);
}

void ipfix_walked(struct ipfix *x, const struct conn_rec *r)
{
	struct conn_rec peer;
	bool have = false;

	if (x->biflow && !peer_of(x, r, &peer, &have, true))
		return;
	record(x, r, have ? &peer : NULL, false, IPFIX_END_ACTIVE);
}

void ipfix_removed(struct ipfix *x, const struct conn_rec *r, int reason,
		   uint64_t now)
{
	struct conn_rec peer;
	bool have = false;

	if (!x->on)
		return;
	if (now > x->now)
		x->now = now;
	if (x->biflow)
		peer_of(x, r, &peer, &have, false);
	record(x, r, have ? &peer : NULL, true, end_reason(reason));
}

void ipfix_recovered(struct ipfix *x, const struct conn_rec *r, int reason)
{
	const struct ipfix_journal *j = x->store.j;
	uint32_t i;

	if (!x->on)
		return;
	/* Its record went to the journal before the kill: sent next. */
	for (i = 0; i < j->n && j->state == IPFIX_JOURNAL_BUILDING; i++)
		if ((j->recs[i].op[0] == IPFIX_POS_DELETE &&
		     !memcmp(&j->recs[i].key[0], &r->key, sizeof(r->key))) ||
		    (j->recs[i].op[1] == IPFIX_POS_DELETE &&
		     !memcmp(&j->recs[i].key[1], &r->key, sizeof(r->key))))
			return;
	ipfix_removed(x, r, reason, tcplog_now_ns(CLOCK_BOOTTIME));
}

void ipfix_flush(struct ipfix *x)
{
	if (x->on)
		send_journal(x);
}

void ipfix_reset(struct ipfix *x)
{
	long n;

	if (!x->on)
		return;
	/* What was counted before the reset still goes out. */
	send_journal(x);
	n = ipfix_store_clear(&x->store);
	if (n < 0)
		log_warn("Cannot clear the IPFIX positions: %s",
			 strerror((int)-n));
}

void ipfix_stats(const struct ipfix *x, struct ipfix_stats *out)
{
	int i;

	*out = x->before;
	for (i = 0; i < x->n_coll; i++) {
		out->records += x->coll[i].stats.records;
		out->messages += x->coll[i].stats.messages;
		out->send_errors += x->coll[i].stats.send_errors;
	}
}

/*
 * What a killed daemon left in the journal: its positions again (the kill
 * may have come before the last was kept); sent by the first flush.
 */
static void reapply(struct ipfix *x)
{
	struct ipfix_journal *j = x->store.j;
	uint32_t i, n = j->n > IPFIX_JOURNAL_RECS ? 0 : j->n;

	if (j->state == IPFIX_JOURNAL_SENDING) {
		log_notice("The previous daemon stopped while sending an IPFIX "
			   "message of %u records: counted as sent",
			   n);
		j->n = 0;
		j->state = IPFIX_JOURNAL_EMPTY;
		return;
	}
	if (j->state != IPFIX_JOURNAL_BUILDING || !n) {
		j->n = 0;
		j->state = IPFIX_JOURNAL_EMPTY;
		return;
	}
	for (i = 0; i < n; i++)
		store_failed(x, ipfix_store_apply(&x->store, &j->recs[i]));
	log_notice("Sending the %u IPFIX records the previous daemon had "
		   "made but not sent",
		   n);
}

int ipfix_open(struct ipfix *x, const struct config *cfg, const char *pin_dir,
	       struct maps *maps, struct tcplog_clock *wall)
{
	int err;

	memset(x, 0, sizeof(*x));
	x->store.sent_fd = x->store.journal_fd = -1;
	if (!cfg->n_collectors)
		return 0;
	x->maps = maps;
	x->wall = wall;
	err = ipfix_store_open(&x->store, pin_dir, maps->capacity);
	if (err) {
		log_err("Cannot open the IPFIX positions in %s: %s", pin_dir,
			strerror(-err));
		return err;
	}
	reapply(x);
	return 0;
}

static void stop_collectors(struct ipfix *x)
{
	int i;

	for (i = 0; i < x->n_coll; i++) {
		collector_close(&x->coll[i]);
		/* stats count since the daemon started, across reloads. */
		x->before.records += x->coll[i].stats.records;
		x->before.messages += x->coll[i].stats.messages;
		x->before.send_errors += x->coll[i].stats.send_errors;
	}
	x->n_coll = 0;
	x->on = false;
}

int ipfix_start(struct ipfix *x, const struct config *cfg, sd_event *event)
{
	int i, err;

	if (x->on)
		send_journal(x);
	stop_collectors(x);
	if (!cfg->n_collectors)
		return 0;
	if (x->store.sent_fd < 0) {
		log_warn("ipfix_collectors takes effect at the next start (the "
			 "daemon started without it)");
		return 0;
	}
	x->biflow = cfg->ipfix_biflow;
	x->active_ns = (uint64_t)cfg->ipfix_active_timeout * 1000000000ull;
	for (i = 0; i < cfg->n_collectors; i++) {
		err = collector_open(&x->coll[i], &cfg->collectors[i],
				     cfg->ipfix_biflow, cfg->ipfix_domain,
				     event);
		if (err) {
			stop_collectors(x);
			return err;
		}
		x->n_coll = i + 1;
	}
	x->on = true;
	log_info("Exporting IPFIX to %d collector%s (active timeout %u s%s)",
		 x->n_coll, x->n_coll > 1 ? "s" : "", cfg->ipfix_active_timeout,
		 x->biflow ? ", biflow" : "");
	return 0;
}

void ipfix_close(struct ipfix *x)
{
	if (x->on)
		send_journal(x);
	stop_collectors(x);
	if (x->store.sent_fd >= 0 || x->store.journal_fd >= 0)
		ipfix_store_close(&x->store);
}
