// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* metrics.c - the Prometheus text exposition. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "connlog.h"
#include "metrics.h"
#include "tcplog_config.h"

static const char *family_name(int family)
{
	return family == TCPLOG_FAMILY_IPV6 ? "ipv6" : "ipv4";
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *name, const char *value)
{
	const char *p;

	fprintf(f, "%s=\"", name);
	for (p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, unsigned long long v)
{
	fprintf(f, "%s %llu\n", name, v);
}

/* ---- per interface ---------------------------------------------------- */

struct iface_metric {
	const char *name, *help;
	size_t off; /* in struct sums_counts */
};

static const struct iface_metric iface_metrics[] = {
	{ "tcplogger_bytes_total",
	  "Bytes of the TCP packets counted, as on the wire (layer 2), "
	  "live connections and expired ones.",
	  offsetof(struct sums_counts, bytes) },
	{ "tcplogger_ip_bytes_total",
	  "IP bytes (IP header and payload) of the TCP packets counted, "
	  "live connections and expired ones.",
	  offsetof(struct sums_counts, ip_bytes) },
	{ "tcplogger_packets_total",
	  "TCP packets counted (a GSO/GRO packet once), live connections "
	  "and expired ones.",
	  offsetof(struct sums_counts, packets) },
	{ "tcplogger_segments_total",
	  "TCP segments counted (a GSO/GRO packet as the segments it "
	  "carries), live connections and expired ones.",
	  offsetof(struct sums_counts, segments) },
};

static uint64_t field(const struct sums_counts *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/* One interface made again under its name is one series (the sum). */
static bool same_series(const struct sums_group *a, const struct sums_group *b)
{
	return !strcmp(a->ifname, b->ifname) &&
	       a->key.direction == b->key.direction &&
	       a->key.family == b->key.family &&
	       (*a->ifname || a->key.ifindex == b->key.ifindex);
}

static void write_ifaces(FILE *f, const struct sums_group **g, uint32_t n)
{
	size_t m;
	uint32_t i, j;

	for (m = 0; m < sizeof(iface_metrics) / sizeof(iface_metrics[0]); m++) {
		head(f, iface_metrics[m].name, "counter",
		     iface_metrics[m].help);
		for (i = 0; i < n; i = j) {
			uint64_t v = 0;
			char name[32];

			for (j = i; j < n && same_series(g[i], g[j]); j++)
				v += field(&g[j]->pub, iface_metrics[m].off);
			if (!*g[i]->ifname)
				snprintf(name, sizeof(name), "ifindex:%u",
					 g[i]->key.ifindex);
			fprintf(f, "%s{", iface_metrics[m].name);
			label(f, "iface", *g[i]->ifname ? g[i]->ifname : name);
			fputc(',', f);
			label(f, "direction",
			      att_dir_name(g[i]->key.direction));
			fputc(',', f);
			label(f, "family", family_name(g[i]->key.family));
			fprintf(f, "} %llu\n", (unsigned long long)v);
		}
	}
}

static void write_units(FILE *f, const struct sums_group **g, uint32_t n)
{
	uint32_t i;

	head(f, "tcplogger_unit_bytes_total", "counter",
	     "Bytes counted per systemd unit owning the connection's local "
	     "socket (unit=\"\": no owner), live and expired.");
	for (i = 0; i < n; i++) {
		fputs("tcplogger_unit_bytes_total{", f);
		label(f, "unit", sums_unit_name(g[i]));
		fputc(',', f);
		label(f, "direction", att_dir_name(g[i]->key.direction));
		fprintf(f, "} %llu\n", (unsigned long long)g[i]->pub.bytes);
	}
}

/* ---- the rest ------------------------------------------------------------ */

static void write_state(FILE *f, const struct metrics_src *api)
{
	const struct expiry_counts *c = api->counts;
	uint64_t now_ms = tcplog_now_ns(CLOCK_MONOTONIC) / 1000000;
	/* Each entry in one state: one both closed and embryonic (a SYN with
	 * FIN) is closed; the counts are one scan's, so they agree. */
	uint64_t closed = c->closed < c->entries ? c->closed : c->entries;
	uint64_t embryonic = c->embryonic < c->entries - closed ?
				     c->embryonic :
				     c->entries - closed;

	head(f, "tcplogger_connections", "gauge",
	     "Entries in the connection map by state, as of the last expiry "
	     "scan (embryonic: every packet a SYN).");
	fprintf(f, "tcplogger_connections{state=\"open\"} %llu\n",
		(unsigned long long)(c->entries - closed - embryonic));
	fprintf(f, "tcplogger_connections{state=\"closed\"} %llu\n",
		(unsigned long long)closed);
	fprintf(f, "tcplogger_connections{state=\"embryonic\"} %llu\n",
		(unsigned long long)embryonic);
	head(f, "tcplogger_map_entries", "gauge",
	     "Entries in the connection map, as of the last expiry scan.");
	sample(f, "tcplogger_map_entries", c->entries);
	head(f, "tcplogger_map_capacity", "gauge",
	     "Entries the connection map holds at most (max_connections).");
	sample(f, "tcplogger_map_capacity", api->maps->capacity);
	head(f, "tcplogger_scan_age_seconds", "gauge",
	     "Seconds since the expiry scan the sums and gauges are from.");
	fprintf(f, "tcplogger_scan_age_seconds %.3f\n",
		c->at_ms && now_ms > c->at_ms ? (now_ms - c->at_ms) / 1000.0 :
						0.0);
}

static void write_counters(FILE *f, const struct metrics_src *api)
{
	const struct tcplog_totals *t = &api->maps->totals;
	struct tcplog_dp_stats st;
	struct ipfix_stats xs;
	int i;

	/* Unreadable: no samples, not zeros (a drop to zero would read as a
	 * counter reset); health's map_readable says why. */
	bool readable = !maps_stats(api->maps, &st);

	head(f, "tcplogger_datapath_packets_total", "counter",
	     "Packets the BPF program saw, by what it did with them.");
	for (i = 0; readable && i < TCPLOG_STAT_MAX; i++)
		fprintf(f,
			"tcplogger_datapath_packets_total{result=\"%s\"} %llu\n",
			tcplog_stat_name((unsigned int)i),
			(unsigned long long)st.count[i]);
	head(f, "tcplogger_expired_total", "counter",
	     "Connection entries expiry removed, by reason.");
	for (i = 0; i < TCPLOG_REASON_MAX; i++)
		fprintf(f, "tcplogger_expired_total{reason=\"%s\"} %llu\n",
			tcplog_reason_name(i),
			(unsigned long long)t->reason[i]);
	memset(&xs, 0, sizeof(xs));
	if (api->ipfix)
		ipfix_stats(api->ipfix, &xs);
	head(f, "tcplogger_ipfix_records_total", "counter",
	     "IPFIX data records sent, summed over the collectors.");
	sample(f, "tcplogger_ipfix_records_total", xs.records);
	head(f, "tcplogger_ipfix_send_errors_total", "counter",
	     "IPFIX messages lost: refused, dropped or cut.");
	sample(f, "tcplogger_ipfix_send_errors_total", xs.send_errors);
}

static void write_hooks(FILE *f, const struct att_set *hooks)
{
	int i;

	head(f, "tcplogger_attached", "gauge",
	     "1 if the program is attached to the configured hook, else 0.");
	for (i = 0; hooks && i < hooks->n; i++) {
		const struct attachment *a = &hooks->att[i];

		fputs("tcplogger_attached{", f);
		label(f, "iface", a->ifname);
		fputc(',', f);
		label(f, "direction", att_dir_name(a->direction));
		fputc(',', f);
		label(f, "mode", att_mode_name(a->mode));
		fprintf(f, "} %d\n", a->mode != MODE_NONE);
	}
}

int metrics_render(const struct metrics_src *api, char **text, size_t *len)
{
	static const struct sums_group *g[SUMS_UNIT_MAX + 2];
	FILE *f = open_memstream(text, len);
	uint32_t n;

	if (!f)
		return -ENOMEM;
	n = api->sums ?
		    sums_list(api->sums, SUMS_IFACE, g, SUMS_IFACE_MAX + 1) :
		    0;
	write_ifaces(f, g, n);
	n = api->sums ? sums_list(api->sums, SUMS_UNIT, g, SUMS_UNIT_MAX + 2) :
			0;
	write_units(f, g, n);
	write_state(f, api);
	write_counters(f, api);
	write_hooks(f, api->hooks);
	head(f, "tcplogger_build_info", "gauge",
	     "1, labelled with the daemon's version and the BPF ABI version.");
	fprintf(f, "tcplogger_build_info{version=\"%s\",abi=\"%d\"} 1\n",
		TCPLOG_VERSION, TCPLOG_ABI_VERSION);
	if (ferror(f)) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	fclose(f);
	return 0;
}
