// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* api.c - dump, stats, health, reset and version. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "connlog.h"
#include "expiry.h"
#include "daemon.h"
#include "format.h"
#include "log.h"
#include "maputil.h"
#include "snapshot.h"
#include "tcplog_config.h"

/* Entries read from the map per step of a dump. */
#define STEP_ENTRIES 4096

/* The formatted time of the last whole second a dump printed. */
struct time_cache {
	int64_t sec;
	char text[TCPLOG_TIME_STRLEN];
};

struct dump_stream {
	struct api_request req;
	struct tcplog_clock clock;
	struct time_cache times;
	struct ifname_cache ifnames;
	struct map_walk walk;
	struct sorted_set sorted;
	size_t emit_pos; /* next sorted entry to write */
	bool collecting; /* sorted: still reading the map */
	uint64_t written, entries, closed;
	int err;
};

void api_error(struct jw *w, const char *code, const char *msg)
{
	jw_object_begin(w);
	jw_kv_bool(w, "ok", false);
	jw_key(w, "error");
	jw_object_begin(w);
	jw_kv_string(w, "code", code);
	jw_kv_string(w, "message", msg);
	jw_object_end(w);
	jw_object_end(w);
	jw_newline(w);
}

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

static void write_conn(struct jw *w, const struct conn_rec *r,
		       struct dump_stream *ds)
{
	char src[TCPLOG_ADDR_STRLEN], dst[TCPLOG_ADDR_STRLEN];
	const struct tcplog_conn_key *k = &r->key;
	unsigned int bit, i;

	if (tcplog_format_addr(k->family, k->src_addr, src, sizeof(src)))
		snprintf(src, sizeof(src), "?");
	if (tcplog_format_addr(k->family, k->dst_addr, dst, sizeof(dst)))
		snprintf(dst, sizeof(dst), "?");
	jw_object_begin(w);
	jw_kv_string(w, "ifname", ifname_of(&ds->ifnames, k->ifindex));
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
	jw_kv_u64(w, "bytes", r->c.bytes);
	jw_kv_u64(w, "ip_bytes", r->c.ip_bytes);
	jw_kv_u64(w, "packets", r->c.packets);
	jw_kv_u64(w, "segments", r->c.segments);
	jw_key(w, "tcp_flags");
	jw_array_begin(w);
	for (bit = 1; bit <= TCPLOG_TCP_CWR; bit <<= 1)
		if (r->c.tcp_flags & bit)
			jw_string(w, tcplog_tcp_flag_name(bit));
	jw_array_end(w);
	write_time(w, "first_seen", &ds->times, &ds->clock, r->c.first_seen_ns);
	write_time(w, "last_seen", &ds->times, &ds->clock, r->c.last_seen_ns);
	jw_kv_string(w, "state",
		     tcplog_conn_is_closed(r->c.tcp_flags) ? "closed" : "open");
	jw_object_end(w);
}

/* Sums the datapath statistics; false if the map cannot be read. */
static bool read_dp_stats(struct daemon *d, struct tcplog_dp_stats *out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct tcplog_percpu *percpu;
	__u32 zero = 0;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (ncpus <= 0)
		return false;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	ok = percpu &&
	     !bpf_map_lookup_elem(loader_percpu_fd(&d->loader), &zero, percpu);
	if (ok)
		tcplog_stats_sum(percpu, ncpus, out);
	free(percpu);
	return ok;
}

static void write_stats(struct jw *w, struct daemon *d, uint64_t entries,
			uint64_t closed)
{
	struct tcplog_dp_stats st;
	unsigned int i;

	read_dp_stats(d, &st);
	jw_key(w, "stats");
	jw_object_begin(w);
	jw_kv_u64(w, "packets_seen", tcplog_stats_seen(&st));
	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		jw_kv_u64(w, tcplog_stat_name(i), st.count[i]);
	jw_kv_u64(w, "entries", entries);
	jw_kv_u64(w, "capacity", d->cfg.max_connections);
	jw_kv_u64(w, "closed", closed);
	/* Live entries + these = everything counted since the maps began. */
	jw_kv_u64(w, "expired", d->totals.entries);
	jw_kv_u64(w, "expired_bytes", d->totals.bytes);
	jw_kv_u64(w, "expired_ip_bytes", d->totals.ip_bytes);
	jw_kv_u64(w, "expired_packets", d->totals.packets);
	jw_kv_u64(w, "expired_segments", d->totals.segments);
	for (i = 0; i < TCPLOG_REASON_MAX; i++) {
		char key[32];

		snprintf(key, sizeof(key), "expired_%s",
			 tcplog_reason_name((int)i));
		jw_kv_u64(w, key, d->totals.reason[i]);
	}
	jw_kv_u64(w, "clients", (uint64_t)d->server.n_clients);
	jw_kv_u64(w, "requests", d->server.requests);
	jw_object_end(w);
}

static void write_interfaces(struct jw *w, struct daemon *d)
{
	int i;

	jw_key(w, "interfaces");
	jw_array_begin(w);
	for (i = 0; i < d->n_att; i++) {
		const struct attachment *a = &d->att[i];

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

struct dump_stream *api_dump_begin(struct daemon *d,
				   const struct api_request *req, struct jw *w)
{
	struct dump_stream *ds = calloc(1, sizeof(*ds));

	if (!ds || map_walk_init(&ds->walk, loader_conns_fd(&d->loader))) {
		if (ds)
			map_walk_free(&ds->walk);
		free(ds);
		api_error(w, API_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	ds->req = *req;
	ds->clock = daemon_clock(d);
	ds->times.sec = INT64_MIN; /* nothing formatted yet */
	ds->collecting = req->sort != API_SORT_NONE;
	ds->sorted.sort = req->sort;
	ds->sorted.limit = req->limit;
	write_head(w);
	jw_key(w, "connections");
	jw_array_begin(w);
	return ds;
}

static void dump_tail(struct daemon *d, struct dump_stream *ds, struct jw *w)
{
	jw_array_end(w);
	write_stats(w, d, ds->entries, ds->closed);
	write_interfaces(w, d);
	if (ds->err) {
		/* The map could not be read to the end: say so. */
		jw_kv_bool(w, "complete", false);
		jw_kv_string(w, "warning", strerror(-ds->err));
	}
	jw_object_end(w);
	jw_newline(w);
}

bool api_dump_step(struct daemon *d, struct dump_stream *ds, struct jw *w,
		   size_t budget)
{
	struct conn_rec r;
	int n;

	if (ds->collecting) {
		for (n = 0; n < STEP_ENTRIES; n++) {
			if (!map_walk_next(&ds->walk, &r)) {
				ds->err = ds->walk.err;
				sorted_finish(&ds->sorted);
				ds->collecting = false;
				return false;
			}
			ds->entries++;
			ds->closed += tcplog_conn_is_closed(r.c.tcp_flags);
			if (rec_matches(&r, &ds->req, &ds->ifnames) &&
			    sorted_add(&ds->sorted, &r)) {
				ds->err = -ENOMEM;
				sorted_finish(&ds->sorted);
				ds->collecting = false;
				return false;
			}
		}
		return false;
	}
	if (ds->req.sort != API_SORT_NONE) {
		while (w->len < budget && ds->emit_pos < ds->sorted.n)
			write_conn(w, &ds->sorted.recs[ds->emit_pos++], ds);
		if (ds->emit_pos < ds->sorted.n)
			return false;
		dump_tail(d, ds, w);
		return true;
	}
	for (n = 0; n < STEP_ENTRIES && w->len < budget; n++) {
		if (!map_walk_next(&ds->walk, &r)) {
			ds->err = ds->walk.err;
			dump_tail(d, ds, w);
			return true;
		}
		ds->entries++;
		ds->closed += tcplog_conn_is_closed(r.c.tcp_flags);
		if ((!ds->req.limit || ds->written < ds->req.limit) &&
		    rec_matches(&r, &ds->req, &ds->ifnames)) {
			write_conn(w, &r, ds);
			ds->written++;
		}
	}
	return false;
}

void api_dump_free(struct dump_stream *ds)
{
	if (!ds)
		return;
	map_walk_free(&ds->walk);
	sorted_free(&ds->sorted);
	free(ds);
}

/* ---- stats, health, reset, version --------------------------------------- */

/* Entries and closed entries, by one walk of the map. */
static int scan_map(struct daemon *d, uint64_t *entries, uint64_t *closed)
{
	struct map_walk mw;
	struct conn_rec r;
	int err;

	*entries = *closed = 0;
	err = map_walk_init(&mw, loader_conns_fd(&d->loader));
	while (!err && map_walk_next(&mw, &r)) {
		(*entries)++;
		*closed += tcplog_conn_is_closed(r.c.tcp_flags);
	}
	if (!err)
		err = mw.err;
	map_walk_free(&mw);
	return err;
}

static void do_stats(struct daemon *d, struct jw *w)
{
	uint64_t entries, closed;
	int err = scan_map(d, &entries, &closed);

	if (err) {
		api_error(w, API_ERR_INTERNAL,
			  "cannot read the connection map");
		return;
	}
	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	write_stats(w, d, entries, closed);
	jw_object_end(w);
	jw_newline(w);
}

enum { H_OK, H_WARNING, H_CRITICAL };
static const char *const health_names[] = { "ok", "warning", "critical" };

static void check(struct jw *w, int *worst, const char *name, int status,
		  const char *detail)
{
	if (status > *worst)
		*worst = status;
	jw_object_begin(w);
	jw_kv_string(w, "name", name);
	jw_kv_string(w, "status", health_names[status]);
	jw_kv_string(w, "detail", detail);
	jw_object_end(w);
}

static void do_health(struct daemon *d, struct jw *w)
{
	char detail[512], missing[256] = "";
	struct tcplog_dp_stats st;
	uint64_t entries = 0, failed, delta, cap = d->cfg.max_connections;
	int worst = H_OK, i, on = 0, status, err;
	double pct;
	size_t used = 0;

	jw_object_begin(w);
	jw_kv_bool(w, "ok", true);
	jw_key(w, "checks");
	jw_array_begin(w);

	for (i = 0; i < d->n_att; i++) {
		const struct attachment *a = &d->att[i];

		if (a->mode != MODE_NONE && attach_verify(a)) {
			on++;
		} else if (used < sizeof(missing)) {
			used += (size_t)snprintf(missing + used,
						 sizeof(missing) - used,
						 " %s/%s", a->ifname,
						 att_dir_name(a->direction));
		}
	}
	if (d->n_att == 0) {
		check(w, &worst, "attachments", H_WARNING,
		      "no interface configured or found");
	} else {
		snprintf(detail, sizeof(detail), "%d of %d hooks attached%s%s",
			 on, d->n_att, on < d->n_att ? "; missing:" : "",
			 missing);
		check(w, &worst, "attachments",
		      on == d->n_att ? H_OK : H_CRITICAL, detail);
	}

	err = (int)tcplog_map_count(loader_conns_fd(&d->loader),
				    sizeof(struct tcplog_conn_key),
				    sizeof(struct tcplog_conn_val));
	if (err >= 0)
		entries = (uint64_t)err;
	check(w, &worst, "map_readable", err >= 0 ? H_OK : H_CRITICAL,
	      err >= 0 ? "the connection map reads" :
			 "cannot read the connection map");

	pct = cap ? 100.0 * (double)entries / (double)cap : 0;
	status = pct >= 95 ? H_CRITICAL : pct >= 80 ? H_WARNING : H_OK;
	snprintf(detail, sizeof(detail),
		 "%llu of %llu entries (%.1f%%; warning at 80%%, critical at "
		 "95%%)",
		 (unsigned long long)entries, (unsigned long long)cap, pct);
	check(w, &worst, "map_usage", status, detail);

	read_dp_stats(d, &st);
	failed = st.count[TCPLOG_STAT_INSERT_FULL] +
		 st.count[TCPLOG_STAT_INSERT_OTHER];
	/* A reset can make the total smaller: count from there. */
	delta = failed >= d->health_failed_seen ?
			failed - d->health_failed_seen :
			failed;
	d->health_failed_seen = failed;
	snprintf(detail, sizeof(detail),
		 "%llu failed inserts since the previous check (%llu map full, "
		 "%llu other, in all)",
		 (unsigned long long)delta,
		 (unsigned long long)st.count[TCPLOG_STAT_INSERT_FULL],
		 (unsigned long long)st.count[TCPLOG_STAT_INSERT_OTHER]);
	check(w, &worst, "insert_failures", delta ? H_WARNING : H_OK, detail);

	jw_array_end(w);
	jw_kv_string(w, "status", health_names[worst]);
	jw_object_end(w);
	jw_newline(w);
}

static void do_reset(struct daemon *d, uid_t uid, struct jw *w)
{
	int ncpus = libbpf_num_possible_cpus(), fd, i;
	struct tcplog_percpu *percpu;
	__u32 zero = 0;
	int deleted;

	if (uid != 0) {
		api_error(w, API_ERR_PERMISSION_DENIED,
			  "reset changes state and is allowed for root only");
		return;
	}
	deleted = tcplog_map_clear(loader_conns_fd(&d->loader),
				   sizeof(struct tcplog_conn_key));
	/* Zero the statistics of every CPU, keeping its clock cache. */
	fd = loader_percpu_fd(&d->loader);
	percpu = ncpus > 0 ? calloc((size_t)ncpus, sizeof(*percpu)) : NULL;
	if (deleted < 0 || !percpu || bpf_map_lookup_elem(fd, &zero, percpu)) {
		free(percpu);
		api_error(w, API_ERR_INTERNAL, "cannot reset the maps");
		return;
	}
	for (i = 0; i < ncpus; i++)
		memset(&percpu[i].stats, 0, sizeof(percpu[i].stats));
	bpf_map_update_elem(fd, &zero, percpu, BPF_ANY);
	free(percpu);
	d->health_failed_seen = 0;
	expiry_reset_totals(d);
	log_notice("Counters reset by uid 0: %d connections removed", deleted);
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

void api_handle(struct daemon *d, const struct api_request *req, uid_t uid,
		struct jw *w)
{
	switch (req->cmd) {
	case API_CMD_STATS:
		do_stats(d, w);
		break;
	case API_CMD_HEALTH:
		do_health(d, w);
		break;
	case API_CMD_RESET:
		do_reset(d, uid, w);
		break;
	case API_CMD_VERSION:
		do_version(w);
		break;
	default:
		api_error(w, API_ERR_INTERNAL, "no handler");
	}
}
