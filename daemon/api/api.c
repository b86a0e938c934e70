// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* api.c - dump, stats, health, reset and version. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "connlog.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "tcplog_config.h"

/* The formatted time of the last whole second a dump printed. */
struct time_cache {
	int64_t sec;
	char text[TCPLOG_TIME_STRLEN];
};

struct dump_stream {
	struct snapshot snap;
	bool started; /* the head is written (sorted: after the collection) */
	struct api_peer peer;
	struct tcplog_clock clock; /* one for the whole dump */
	struct time_cache times;
	struct units *units;
};

static void write_time(struct jw *w, const char *key, struct time_cache *tc,
		       const struct tcplog_clock *clock, __u64 boot_ns)
{
	int64_t ns = tcplog_boot_to_unix_ns(clock, boot_ns);
	int64_t sec = ns / 1000000000, usec = (ns % 1000000000) / 1000;
	char *frac;
	int i;

	/*
	 * Connections seen in the same second share the date and time:
	 * format those once (gmtime is the slow part) and only the
	 * microseconds for each.
	 */
	if (ns < 0 || sec != tc->sec) {
		if (tcplog_format_rfc3339(ns, tc->text, sizeof(tc->text)))
			snprintf(tc->text, sizeof(tc->text),
				 "1970-01-01T00:00:00.000000Z");
		tc->sec = ns < 0 ? INT64_MIN : sec;
	} else {
		frac = tc->text + 20; /* "YYYY-MM-DDTHH:MM:SS." */
		for (i = 5; i >= 0; i--, usec /= 10)
			frac[i] = (char)('0' + usec % 10);
	}
	jw_kv_string(w, key, tc->text);
}

/* cgroup_id and unit: the connection's owner (struct tcplog_conn_val). */
static void write_owner(struct jw *w, struct units *units, __u64 cgroup_id)
{
	const char *unit = units ? units_name(units, cgroup_id) : NULL;

	jw_kv_u64(w, "cgroup_id", cgroup_id);
	jw_key(w, "unit");
	if (unit)
		jw_string(w, unit);
	else
		jw_null(w);
}

static void write_flags(struct jw *w, __u64 flags)
{
	unsigned int bit;

	jw_key(w, "tcp_flags");
	jw_array_begin(w);
	for (bit = 1; bit <= TCPLOG_TCP_CWR; bit <<= 1)
		if (flags & bit)
			jw_string(w, tcplog_tcp_flag_name(bit));
	jw_array_end(w);
}

/* The fields of a key: where, which way, the 4-tuple. */
static void write_key(struct jw *w, const struct tcplog_conn_key *k,
		      struct dump_stream *ds)
{
	char src[TCPLOG_ADDR_STRLEN], dst[TCPLOG_ADDR_STRLEN];
	unsigned int i;

	if (tcplog_format_addr(k->family, k->src_addr, src, sizeof(src)))
		snprintf(src, sizeof(src), "?");
	if (tcplog_format_addr(k->family, k->dst_addr, dst, sizeof(dst)))
		snprintf(dst, sizeof(dst), "?");
	jw_kv_string(w, "ifname", ifname_of(&ds->snap.ifnames, k->ifindex));
	jw_kv_u64(w, "ifindex", k->ifindex);
	jw_kv_string(w, "direction",
		     k->direction == TCPLOG_DIR_EGRESS ? "egress" : "ingress");
	jw_kv_string(w, "family",
		     k->family == TCPLOG_FAMILY_IPV6 ? "ipv6" : "ipv4");
	jw_key(w, "vlan");
	jw_array_begin(w);
	for (i = 0; i < tcplog_key_vlans(k); i++)
		jw_u64(w, k->vlan_id[i]);
	jw_array_end(w);
	jw_kv_string(w, "src_ip", src);
	jw_kv_u64(w, "src_port", ntohs(k->src_port));
	jw_kv_string(w, "dst_ip", dst);
	jw_kv_u64(w, "dst_port", ntohs(k->dst_port));
}

/* One direction's counts in the connection view; NULL: not counted. */
static void write_side(struct jw *w, const char *name,
		       const struct tcplog_conn_counts *c)
{
	static const struct tcplog_conn_counts none;

	if (!c)
		c = &none;
	jw_key(w, name);
	jw_object_begin(w);
	jw_kv_u64(w, "bytes", c->bytes);
	jw_kv_u64(w, "ip_bytes", c->ip_bytes);
	jw_kv_u64(w, "packets", c->packets);
	jw_kv_u64(w, "segments", c->segments);
	write_flags(w, c->tcp_flags);
	jw_object_end(w);
}

static const char *const opened_names[] = {
	[TCPLOG_OPENED_SYN] = "syn",
	[TCPLOG_OPENED_SYN_ACK] = "syn_ack",
	[TCPLOG_OPENED_UNKNOWN] = "unknown",
};

/* A connection, both directions merged, from the opener's side. */
static void write_pair(struct jw *w, const struct conn_pair *p,
		       struct dump_stream *ds)
{
	const struct tcplog_conn_counts *a = &p->r.c;
	const struct tcplog_conn_counts *b = p->has_peer ? &p->peer : NULL;
	const struct tcplog_conn_counts *orig, *reply;
	struct tcplog_conn_key k = p->r.key;
	enum tcplog_opened how;
	__u64 first = a->first_seen_ns, last = a->last_seen_ns;

	if (tcplog_pair_a_opened(a, b, &how)) {
		orig = a;
		reply = b;
	} else {
		tcplog_key_reverse(&p->r.key, &k);
		orig = b;
		reply = a;
	}
	if (b && b->first_seen_ns < first)
		first = b->first_seen_ns;
	if (b && b->last_seen_ns > last)
		last = b->last_seen_ns;
	jw_object_begin(w);
	write_key(w, &k, ds);
	jw_kv_string(w, "opened", opened_names[how]);
	write_side(w, "orig", orig);
	write_side(w, "reply", reply);
	write_time(w, "first_seen", &ds->times, &ds->clock, first);
	write_time(w, "last_seen", &ds->times, &ds->clock, last);
	jw_kv_string(w, "state",
		     tcplog_pair_is_closed(a, b) ? "closed" : "open");
	write_owner(w, ds->units,
		    a->cgroup_id ? a->cgroup_id :
		    b		 ? b->cgroup_id :
				   0);
	jw_object_end(w);
}

static void write_conn(struct jw *w, const struct conn_rec *r,
		       struct dump_stream *ds)
{
	jw_object_begin(w);
	write_key(w, &r->key, ds);
	jw_kv_u64(w, "bytes", r->c.bytes);
	jw_kv_u64(w, "ip_bytes", r->c.ip_bytes);
	jw_kv_u64(w, "packets", r->c.packets);
	jw_kv_u64(w, "segments", r->c.segments);
	write_flags(w, r->c.tcp_flags);
	write_time(w, "first_seen", &ds->times, &ds->clock, r->c.first_seen_ns);
	write_time(w, "last_seen", &ds->times, &ds->clock, r->c.last_seen_ns);
	jw_kv_string(w, "state",
		     tcplog_conn_is_closed(r->c.tcp_flags) ? "closed" : "open");
	write_owner(w, ds->units, r->c.cgroup_id);
	jw_object_end(w);
}

/*
 * The stats object. @c: entries and closed as counted at c->at_ms (the
 * last expiry scan's, or a dump's own walk); 0: not counted yet.
 */
static void write_stats(struct jw *w, struct api *api,
			const struct expiry_counts *c,
			const struct api_peer *peer)
{
	const struct tcplog_totals *t = &api->maps->totals;
	uint64_t now_ms = tcplog_now_ns(CLOCK_MONOTONIC) / 1000000;
	struct tcplog_dp_stats st;
	struct ipfix_stats xs;
	unsigned int i;

	/* Unreadable: zeros, and health's map_readable says why. */
	maps_stats(api->maps, &st);
	jw_key(w, "stats");
	jw_object_begin(w);
	jw_kv_u64(w, "packets_seen", tcplog_stats_seen(&st));
	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		jw_kv_u64(w, tcplog_stat_name(i), st.count[i]);
	jw_kv_u64(w, "entries", c->entries);
	jw_kv_u64(w, "capacity", api->maps->capacity);
	jw_kv_u64(w, "closed", c->closed);
	/* entries and closed are the last scan's: how old they are. */
	jw_key(w, "counts_age_ms");
	if (c->at_ms)
		jw_u64(w, now_ms > c->at_ms ? now_ms - c->at_ms : 0);
	else
		jw_null(w);
	jw_kv_u64(w, "embryonic", (uint64_t)maps_embryonic(api->maps));
	jw_kv_u64(w, "embryonic_max",
		  (uint64_t)api->maps->capacity * TCPLOG_EMBRYONIC_SHARE_PCT /
			  100);
	/* Live entries + these = everything counted since the maps began. */
	jw_kv_u64(w, "expired", t->entries);
	jw_kv_u64(w, "expired_bytes", t->bytes);
	jw_kv_u64(w, "expired_ip_bytes", t->ip_bytes);
	jw_kv_u64(w, "expired_packets", t->packets);
	jw_kv_u64(w, "expired_segments", t->segments);
	for (i = 0; i < TCPLOG_REASON_MAX; i++) {
		char key[32];

		snprintf(key, sizeof(key), "expired_%s",
			 tcplog_reason_name((int)i));
		jw_kv_u64(w, key, t->reason[i]);
	}
	jw_kv_u64(w, "clients", peer->clients);
	jw_kv_u64(w, "requests", peer->requests);
	jw_kv_u64(w, "log_records", api->log ? api->log->records : 0);
	jw_kv_u64(w, "log_suppressed", api->log ? api->log->suppressed : 0);
	/* Summed over the collectors; zero without export. */
	memset(&xs, 0, sizeof(xs));
	if (api->ipfix)
		ipfix_stats(api->ipfix, &xs);
	jw_kv_u64(w, "ipfix_records", xs.records);
	jw_kv_u64(w, "ipfix_messages", xs.messages);
	jw_kv_u64(w, "ipfix_send_errors", xs.send_errors);
	jw_object_end(w);
}

static void write_interfaces(struct jw *w, const struct att_set *hooks)
{
	int i;

	jw_key(w, "interfaces");
	jw_array_begin(w);
	for (i = 0; i < hooks->n; i++) {
		const struct attachment *a = &hooks->att[i];

		jw_object_begin(w);
		jw_kv_string(w, "ifname", a->ifname);
		jw_kv_u64(w, "ifindex",
			  (uint64_t)(a->ifindex > 0 ? a->ifindex : 0));
		jw_kv_string(w, "direction", att_dir_name(a->direction));
		jw_kv_string(w, "mode", att_mode_name(a->mode));
		jw_kv_bool(w, "attached", a->mode != MODE_NONE);
		jw_kv_u64(w, "prog_id", a->prog_id);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void write_head(struct jw *w)
{
	char host[256] = "", now[TCPLOG_TIME_STRLEN];

	gethostname(host, sizeof(host) - 1);
	tcplog_format_rfc3339((int64_t)tcplog_now_ns(CLOCK_REALTIME), now,
			      sizeof(now));
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_kv_u64(w, "version", API_VERSION);
	jw_kv_string(w, "timestamp", now);
	jw_kv_string(w, "hostname", host);
}

/* ---- dump --------------------------------------------------------------- */

static void start(struct dump_stream *ds, struct jw *w)
{
	write_head(w);
	jw_key(w, "connections");
	jw_array_begin(w);
	ds->started = true;
}

static struct dump_stream *dump_begin(struct api *api,
				      const struct api_request *req,
				      const struct api_peer *peer, struct jw *w)
{
	struct dump_stream *ds = calloc(1, sizeof(*ds));

	if (!ds || snapshot_begin(&ds->snap, api->maps, req, &api->sort_budget,
				  api->units)) {
		if (ds)
			snapshot_end(&ds->snap);
		free(ds);
		jw_error_line(w, API_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	ds->peer = *peer;
	tcplog_clock_refresh(api->wall);
	ds->clock = *api->wall;
	ds->units = api->units;
	ds->times.sec = INT64_MIN; /* nothing formatted yet */
	/* A sorted dump answers once it has collected: maybe `busy`. */
	if (!ds->snap.collecting)
		start(ds, w);
	return ds;
}

static void dump_tail(struct api *api, struct dump_stream *ds, struct jw *w)
{
	struct expiry_counts walked = {
		.entries = ds->snap.entries,
		.closed = ds->snap.closed,
		.at_ms = tcplog_now_ns(CLOCK_MONOTONIC) / 1000000,
	};

	jw_array_end(w);
	write_stats(w, api, &walked, &ds->peer);
	write_interfaces(w, api->hooks);
	if (ds->snap.err) {
		/* The map could not be read to the end: say so. */
		jw_kv_bool(w, "complete", false);
		jw_kv_string(w, "warning", strerror(-ds->snap.err));
	}
	jw_object_end(w);
	jw_newline(w);
}

bool api_dump_step(struct api *api, struct dump_stream *ds, struct jw *w,
		   size_t budget)
{
	struct conn_pair r;
	char msg[API_ERR_MSG_SIZE];
	int ret;

	if (!ds->started) {
		/* One step of the collection at a time. */
		if (ds->snap.collecting)
			snapshot_next(&ds->snap, &r);
		if (ds->snap.collecting)
			return false;
		if (ds->snap.err == -EBUSY) {
			snprintf(msg, sizeof(msg),
				 "sorted dumps in progress hold the memory "
				 "for sorting (%llu MiB); try again, or with a "
				 "smaller limit",
				 (unsigned long long)(api->sort_budget.limit >>
						      20));
			jw_error_line(w, API_ERR_BUSY, msg);
			return true;
		}
		start(ds, w);
	}
	while (w->len < budget) {
		ret = snapshot_next(&ds->snap, &r);
		if (ret == -EAGAIN)
			return false; /* let the loop breathe */
		if (ret <= 0) {
			dump_tail(api, ds, w);
			return true;
		}
		if (ds->snap.req.view == API_VIEW_CONNECTIONS)
			write_pair(w, &r, ds);
		else
			write_conn(w, &r.r, ds);
	}
	return false;
}

void api_dump_free(struct dump_stream *ds)
{
	if (!ds)
		return;
	snapshot_end(&ds->snap);
	free(ds);
}

/* ---- stats, health, reset, version --------------------------------------- */

static void write_direction(struct jw *w, const char *name,
			    const struct sums_group *g)
{
	jw_key(w, name);
	jw_object_begin(w);
	jw_kv_u64(w, "bytes", g ? g->pub.bytes : 0);
	jw_kv_u64(w, "packets", g ? g->pub.packets : 0);
	jw_object_end(w);
}

/*
 * "units": bytes and packets per unit and direction, live + expired, as
 * of the last expiry scan (its age is counts_age_ms); [] before one.
 * The list comes by name, then direction: a unit's two are neighbours.
 */
static void write_units(struct jw *w, struct api *api)
{
	static const struct sums_group *sorted[SUMS_UNIT_MAX + 2];
	uint32_t i, n;

	n = api->sums ? sums_list(api->sums, SUMS_UNIT, sorted,
				  sizeof(sorted) / sizeof(sorted[0])) :
			0;
	jw_key(w, "units");
	jw_array_begin(w);
	for (i = 0; i < n; i++) {
		const struct sums_group *in = NULL, *out = NULL;
		const char *unit = sorted[i]->key.unit;

		if (sorted[i]->key.direction == TCPLOG_DIR_INGRESS)
			in = sorted[i];
		else
			out = sorted[i];
		if (in && i + 1 < n && !strcmp(sorted[i + 1]->key.unit, unit))
			out = sorted[++i];
		jw_object_begin(w);
		jw_key(w, "unit");
		if (!*unit)
			jw_null(w);
		else
			jw_string(w, sums_unit_name(sorted[i]));
		write_direction(w, "ingress", in);
		write_direction(w, "egress", out);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void do_stats(struct api *api, const struct api_peer *peer, struct jw *w)
{
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	write_stats(w, api, api->counts, peer);
	write_units(w, api);
	jw_object_end(w);
	jw_newline(w);
}

static void do_health(struct api *api, struct jw *w)
{
	struct health_report r;
	int i;

	health_check(&api->health, api->hooks, api->maps, api->counts,
		     tcplog_now_ns(CLOCK_MONOTONIC) / 1000000, &r);
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_key(w, "checks");
	jw_array_begin(w);
	for (i = 0; i < r.n; i++) {
		jw_object_begin(w);
		jw_kv_string(w, "name", r.checks[i].name);
		jw_kv_string(w, "status",
			     health_status_name(r.checks[i].status));
		jw_kv_string(w, "detail", r.checks[i].detail);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_kv_string(w, "status", health_status_name(r.worst));
	jw_object_end(w);
	jw_newline(w);
}

static void do_reset(struct api *api, const struct api_peer *peer, struct jw *w)
{
	char msg[API_ERR_MSG_SIZE];
	long deleted;
	int err;

	if (peer->uid != 0) {
		jw_error_line(
			w, API_ERR_PERMISSION_DENIED,
			"reset changes state and is allowed for root only");
		return;
	}
	err = maps_reset(api->maps, &deleted);
	/* The counts start again from zero: so do the records' deltas. */
	if (api->ipfix)
		ipfix_reset(api->ipfix);
	health_restart(&api->health, api->maps, api->counts,
		       tcplog_now_ns(CLOCK_MONOTONIC) / 1000000);
	if (err) {
		log_err("Reset by uid 0 failed: %s", strerror(-err));
		snprintf(msg, sizeof(msg), "cannot reset the maps: %s",
			 strerror(-err));
		jw_error_line(w, API_ERR_INTERNAL, msg);
		return;
	}
	if (api->sums)
		sums_reset(api->sums);
	log_notice("Counters reset by uid 0: %ld connections removed", deleted);
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_kv_u64(w, "deleted", (uint64_t)deleted);
	jw_object_end(w);
	jw_newline(w);
}

static void do_version(struct jw *w)
{
	struct utsname u;

	uname(&u);
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_kv_string(w, "daemon", TCPLOG_VERSION);
	jw_kv_u64(w, "api", API_VERSION);
	jw_kv_u64(w, "bpf_abi", TCPLOG_ABI_VERSION);
	jw_kv_string(w, "libbpf", libbpf_version_string());
	jw_kv_string(w, "kernel", u.release);
	jw_object_end(w);
	jw_newline(w);
}

/* The text as the HTTP endpoint serves it, in one JSON string. */
static void do_metrics(struct api *api, struct jw *w)
{
	const struct metrics_src src = { api->maps, api->sums, api->counts,
					 api->hooks, api->ipfix };
	char *text = NULL;
	size_t len = 0;

	if (metrics_render(&src, &text, &len)) {
		jw_error_line(w, API_ERR_INTERNAL,
			      "out of memory for the metrics");
		return;
	}
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_kv_string(w, "content_type", METRICS_SOCKET_CONTENT_TYPE);
	jw_kv_string(w, "text", text);
	jw_object_end(w);
	jw_newline(w);
	free(text);
}

struct dump_stream *api_answer(struct api *api, const char *line, size_t len,
			       const struct api_peer *peer, struct jw *w)
{
	char msg[API_ERR_MSG_SIZE];
	struct api_request req;
	const char *code;

	if (api_parse_request(line, len, &req, &code, msg)) {
		jw_error_line(w, code, msg);
		return NULL;
	}
	switch (req.cmd) {
	case API_CMD_DUMP:
		return dump_begin(api, &req, peer, w);
	case API_CMD_STATS:
		do_stats(api, peer, w);
		break;
	case API_CMD_HEALTH:
		do_health(api, w);
		break;
	case API_CMD_RESET:
		do_reset(api, peer, w);
		break;
	case API_CMD_VERSION:
		do_version(w);
		break;
	case API_CMD_METRICS:
		do_metrics(api, w);
		break;
	default:
		jw_error_line(w, API_ERR_INTERNAL, "no handler");
	}
	return NULL;
}
