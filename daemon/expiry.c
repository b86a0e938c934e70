// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* expiry.c - idle, closed and pressure expiry of connection entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>

#include "connlog.h"
#include "daemon.h"
#include "expiry.h"
#include "log.h"
#include "snapshot.h"

#define NSEC_PER_SEC 1000000000ull
/* Pressure: above this share of the capacity, expire down to the second. */
#define PRESSURE_HIGH_PCT 90
#define PRESSURE_LOW_PCT 80
/*
 * Scans take at most this share of one CPU: a scan of a million entries
 * costs ~0.4 s of CPU (bench/scale.sh), which every 3 s would be 14 % of a
 * CPU; the next scan then waits SCAN_SPACING times the last scan's
 * duration when that is longer than the period.
 */
#define SCAN_SPACING 50

uint64_t expiry_period_ms(const struct daemon *d)
{
	uint64_t shortest = d->cfg.closed_timeout;

	if (d->cfg.idle_timeout && d->cfg.idle_timeout < shortest)
		shortest = d->cfg.idle_timeout;
	/*
	 * A tenth of the shortest timeout, between 1 and 10 s: entries go
	 * within 10 % of their timeout, and an idle daemon wakes at most
	 * once a second.
	 */
	shortest = shortest * 1000 / 10;
	return shortest < 1000 ? 1000 : shortest > 10000 ? 10000 : shortest;
}

static int save_totals(struct daemon *d)
{
	__u32 zero = 0;

	return bpf_map_update_elem(loader_totals_fd(&d->loader), &zero,
				   &d->totals, BPF_ANY) ?
		       -errno :
		       0;
}

void expiry_reset_totals(struct daemon *d)
{
	memset(&d->totals, 0, sizeof(d->totals));
	save_totals(d);
}

/* The next scan in @first_ms, then every period. */
static void arm(struct daemon *d, uint64_t first_ms)
{
	uint64_t ms = expiry_period_ms(d);
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(ms / 1000),
				 .tv_nsec = (long)(ms % 1000) * 1000000 },
		.it_value = { .tv_sec = (time_t)(first_ms / 1000),
			      .tv_nsec = (long)(first_ms % 1000) * 1000000 },
	};

	timerfd_settime(d->expiry_fd, 0, &its, NULL);
}

void expiry_rearm(struct daemon *d)
{
	arm(d, expiry_period_ms(d));
}

int expiry_start(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(loader_totals_fd(&d->loader), &zero,
				&d->totals))
		memset(&d->totals, 0, sizeof(d->totals));
	d->expiry_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->expiry_fd < 0)
		return -errno;
	ev.data.u64 = (uint64_t)d->expiry_fd << 1;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->expiry_fd, &ev))
		return -errno;
	expiry_rearm(d);
	return 0;
}

/* The reason @r is due now, or -1 if it is not. */
static int due_reason(const struct daemon *d, const struct conn_rec *r,
		      uint64_t now)
{
	uint64_t idle = now > r->c.last_seen_ns ? now - r->c.last_seen_ns : 0;

	if (tcplog_conn_is_closed(r->c.tcp_flags) &&
	    idle >= d->cfg.closed_timeout * NSEC_PER_SEC)
		return r->c.tcp_flags & TCPLOG_TCP_RST ? TCPLOG_REASON_RST :
							 TCPLOG_REASON_FIN;
	if (d->cfg.idle_timeout && idle >= d->cfg.idle_timeout * NSEC_PER_SEC)
		return TCPLOG_REASON_IDLE;
	return -1;
}

/*
 * Removes one entry with its final counts in one step: whatever the
 * datapath added up to the delete is in the value it returns. With
 * @reason < 0 the entry is checked again first (a packet may have come
 * since the scan) and kept if no longer due.
 */
static int expire_one(struct daemon *d, const struct tcplog_conn_key *key,
		      int reason, uint64_t now, struct ifname_cache *names)
{
	int fd = loader_conns_fd(&d->loader);
	struct tcplog_conn_val val;
	struct conn_rec r;

	r.key = *key;
	if (reason < 0) {
		if (bpf_map_lookup_elem(fd, key, &val))
			return 0;
		tcplog_conn_derive(&val, &r.c);
		reason = due_reason(d, &r, now);
		if (reason < 0)
			return 0;
	}
	if (bpf_map_lookup_and_delete_elem(fd, key, &val))
		return errno == ENOENT ? 0 : -errno;
	tcplog_conn_derive(&val, &r.c);
	d->totals.entries++;
	d->totals.bytes += r.c.bytes;
	d->totals.ip_bytes += r.c.ip_bytes;
	d->totals.packets += r.c.packets;
	d->totals.segments += r.c.segments;
	d->totals.reason[reason]++;
	if (d->cfg.log_closed)
		connlog_record(&r, reason, &d->clock,
			       ifname_of(names, key->ifindex));
	return 1;
}

struct aged {
	uint64_t last_seen;
	struct tcplog_conn_key key;
};

static int cmp_aged(const void *a, const void *b)
{
	uint64_t x = ((const struct aged *)a)->last_seen,
		 y = ((const struct aged *)b)->last_seen;

	return (x > y) - (x < y);
}

/* Above PRESSURE_HIGH_PCT: the longest-idle entries go, down to LOW. */
static void pressure(struct daemon *d, uint64_t entries, uint64_t now,
		     struct ifname_cache *names)
{
	uint64_t cap = d->cfg.max_connections, target, n = 0, want, i;
	struct aged *all = NULL;
	struct map_walk mw;
	struct conn_rec r;
	int done = 0;

	if (entries * 100 <= cap * PRESSURE_HIGH_PCT)
		return;
	target = cap * PRESSURE_LOW_PCT / 100;
	want = entries - target;
	all = calloc(entries + 1, sizeof(*all));
	if (!all || map_walk_init(&mw, loader_conns_fd(&d->loader))) {
		free(all);
		return;
	}
	while (n <= entries && map_walk_next(&mw, &r)) {
		all[n].last_seen = r.c.last_seen_ns;
		all[n++].key = r.key;
	}
	map_walk_free(&mw);
	qsort(all, n, sizeof(*all), cmp_aged);
	for (i = 0; i < n && (uint64_t)done < want; i++)
		done += expire_one(d, &all[i].key, TCPLOG_REASON_PRESSURE, now,
				   names) > 0;
	free(all);
	log_warn("Connection map at %llu of %llu entries (over %d%%): "
		 "expired the %d longest-idle entries early (%llu so far)",
		 (unsigned long long)entries, (unsigned long long)cap,
		 PRESSURE_HIGH_PCT, done,
		 (unsigned long long)d->totals.reason[TCPLOG_REASON_PRESSURE]);
}

void expiry_on_timer(struct daemon *d)
{
	struct tcplog_conn_key *due = NULL, *p;
	size_t n_due = 0, cap_due = 0, i;
	struct ifname_cache names = { 0 };
	uint64_t expirations, entries = 0, now, removed = 0;
	uint64_t scan_start, spacing_ms;
	struct map_walk mw;
	struct conn_rec r;

	if (read(d->expiry_fd, &expirations, sizeof(expirations)) < 0)
		return;
	now = tcplog_now_ns(CLOCK_BOOTTIME);
	daemon_clock(d);
	scan_start = tcplog_now_ns(CLOCK_MONOTONIC);
	if (map_walk_init(&mw, loader_conns_fd(&d->loader)))
		return;
	/* Scan first, delete after: deleting while walking a hash map can
	 * make the walk skip or repeat entries. */
	while (map_walk_next(&mw, &r)) {
		entries++;
		if (due_reason(d, &r, now) < 0)
			continue;
		if (n_due == cap_due) {
			cap_due = cap_due ? cap_due * 2 : 256;
			p = realloc(due, cap_due * sizeof(*due));
			if (!p)
				break;
			due = p;
		}
		due[n_due++] = r.key;
	}
	map_walk_free(&mw);
	spacing_ms = (tcplog_now_ns(CLOCK_MONOTONIC) - scan_start) *
		     SCAN_SPACING / 1000000;
	if (spacing_ms > expiry_period_ms(d)) {
		log_debug(
			"Scanning %llu entries took %llu ms: next scan in %llu ms",
			(unsigned long long)entries,
			(unsigned long long)(spacing_ms / SCAN_SPACING),
			(unsigned long long)spacing_ms);
		arm(d, spacing_ms);
	}
	for (i = 0; i < n_due; i++)
		if (expire_one(d, &due[i], -1, now, &names) > 0)
			removed++;
	free(due);
	d->scan_entries = (long)(entries - removed);
	pressure(d, entries - removed, now, &names);
	if (removed ||
	    entries > d->cfg.max_connections * PRESSURE_HIGH_PCT / 100) {
		int err = save_totals(d);

		/* The counts stay in memory; a restart before the next save
		 * would lose them from the totals: say so. */
		if (err)
			log_warn(
				"Cannot save the expiry totals in %s/totals: %s",
				d->pins.dir, strerror(-err));
	}
	if (removed)
		log_debug("Expired %llu connections",
			  (unsigned long long)removed);
}
