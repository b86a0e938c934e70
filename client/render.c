// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* render.c - tables and units for people. */
#include <stdlib.h>
#include <string.h>

#include "render.h"

void table_init(struct table *t, int ncols, const char *const *headers,
		const bool *right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = calloc((size_t)ncols, sizeof(bool));
	if (t->right)
		memcpy(t->right, right, (size_t)ncols * sizeof(bool));
	table_add(t, headers);
}

void table_add(struct table *t, const char *const *row)
{
	int i;

	if (t->nrows == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells,
				   (size_t)cap * (size_t)t->ncols * sizeof(*p));

		if (!p)
			return;
		t->cells = p;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] =
			strdup(row[i] ? row[i] : "");
	t->nrows++;
}

void table_print(struct table *t, FILE *out, int max_rows)
{
	int *width = calloc((size_t)t->ncols, sizeof(int));
	int rows = t->nrows, r, c;

	if (max_rows > 0 && rows > max_rows + 1)
		rows = max_rows + 1;
	for (r = 0; width && r < rows; r++)
		for (c = 0; c < t->ncols; c++) {
			int len = (int)strlen(t->cells[r * t->ncols + c]);

			if (len > width[c])
				width[c] = len;
		}
	for (r = 0; width && r < rows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			bool last = c == t->ncols - 1;

			if (t->right[c])
				fprintf(out, "%*s%s", width[c], cell,
					last ? "" : "  ");
			else if (last)
				fputs(cell, out);
			else
				fprintf(out, "%-*s  ", width[c], cell);
		}
		fputc('\n', out);
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(t->right);
	free(width);
	memset(t, 0, sizeof(*t));
}

static void fmt_scaled(char *buf, size_t size, uint64_t v, double base,
		       const char *const *units)
{
	double x = (double)v;
	int u = 0;

	while (x >= base && units[u + 1]) {
		x /= base;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu%s%s", (unsigned long long)v,
			 units[0][0] ? " " : "", units[0]);
	else
		snprintf(buf, size, "%.1f %s", x, units[u]);
}

void fmt_bytes(char *buf, size_t size, uint64_t v, bool human)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB", NULL };

	if (human)
		fmt_scaled(buf, size, v, 1024, units);
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

void fmt_count(char *buf, size_t size, uint64_t v, bool human)
{
	static const char *const units[] = { "",  "k", "M", "G",
					     "T", "P", "E", NULL };

	if (human)
		fmt_scaled(buf, size, v, 1000, units);
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

uint64_t json_u64(const struct json_object *obj, const char *key)
{
	struct json_object *n;

	/* json-c parses integers above INT64_MAX as uint64: exact to 2^64. */
	if (!json_object_object_get_ex(obj, key, &n) ||
	    !json_object_is_type(n, json_type_int))
		return 0;
	return json_object_get_uint64(n);
}

const char *json_str(const struct json_object *obj, const char *key)
{
	struct json_object *s;

	if (!json_object_object_get_ex(obj, key, &s) ||
	    !json_object_is_type(s, json_type_string))
		return "";
	return json_object_get_string(s);
}

/* The array @key of @obj, or NULL. */
static struct json_object *json_array(const struct json_object *obj,
				      const char *key)
{
	struct json_object *a;

	if (!json_object_object_get_ex(obj, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return NULL;
	return a;
}

void fmt_endpoint(char *buf, size_t size, const char *ip, uint64_t port)
{
	if (strchr(ip, ':'))
		snprintf(buf, size, "[%s]:%llu", ip, (unsigned long long)port);
	else
		snprintf(buf, size, "%s:%llu", ip, (unsigned long long)port);
}

void fmt_iface(char *buf, size_t size, const struct json_object *c)
{
	struct json_object *vlans = json_array(c, "vlan"), *v;
	size_t used, i, n = vlans ? json_object_array_length(vlans) : 0;
	char sep = ':';

	used = (size_t)snprintf(buf, size, "%s", json_str(c, "ifname"));
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(vlans, i);
		if (!json_object_is_type(v, json_type_int) || used >= size)
			break;
		used += (size_t)snprintf(
			buf + used, size - used, "%c%s%llu", sep,
			sep == ':' ? "v" : "",
			(unsigned long long)json_object_get_uint64(v));
		sep = '.';
	}
}

void conn_columns(const struct json_object *c, const char **row, char *ifc,
		  char *src, char *dst, size_t size)
{
	fmt_iface(ifc, size, c);
	fmt_endpoint(src, size, json_str(c, "src_ip"), json_u64(c, "src_port"));
	fmt_endpoint(dst, size, json_str(c, "dst_ip"), json_u64(c, "dst_port"));
	row[0] = ifc;
	row[1] = json_str(c, "direction");
	row[2] = src;
	row[3] = dst;
	row[4] = json_str(c, "state");
}

const char *unit_of(const struct json_object *c)
{
	struct json_object *v;

	return json_object_object_get_ex(c, "unit", &v) &&
			       json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       "-";
}

void short_time(char *buf, size_t size, const char *rfc3339)
{
	const char *t = strchr(rfc3339, 'T');

	snprintf(buf, size, "%.12s", t ? t + 1 : rfc3339);
}

int render_dump(const struct json_object *resp, bool human, FILE *out)
{
	static const char *const head[] = {
		"IFACE", "DIR",	     "SOURCE",	"DESTINATION", "STATE",
		"BYTES", "IP_BYTES", "PACKETS", "SEGMENTS",    "FLAGS",
		"FIRST", "LAST",     "UNIT"
	};
	static const bool right[] = { false, false, false, false, false,
				      true,  true,  true,  true,  false,
				      false, false, false };
	struct json_object *conns = json_array(resp, "connections"), *c, *f,
			   *fl;
	size_t k, n = conns ? json_object_array_length(conns) : 0, j, nf;
	struct table t;
	char ifc[80], src[80], dst[80], b[32], ib[32], p[32], s[32], flags[64],
		first[16], last[16];

	table_init(&t, 13, head, right);
	for (k = 0; k < n; k++) {
		const char *row[13];
		size_t used = 0;

		c = json_object_array_get_idx(conns, k);
		conn_columns(c, row, ifc, src, dst, sizeof(src));
		fmt_bytes(b, sizeof(b), json_u64(c, "bytes"), human);
		fmt_bytes(ib, sizeof(ib), json_u64(c, "ip_bytes"), human);
		fmt_count(p, sizeof(p), json_u64(c, "packets"), human);
		fmt_count(s, sizeof(s), json_u64(c, "segments"), human);
		flags[0] = '\0';
		fl = json_array(c, "tcp_flags");
		nf = fl ? json_object_array_length(fl) : 0;
		for (j = 0; j < nf; j++) {
			f = json_object_array_get_idx(fl, j);
			if (json_object_is_type(f, json_type_string) &&
			    used < sizeof(flags))
				used += (size_t)snprintf(
					flags + used, sizeof(flags) - used,
					"%s%s", used ? "," : "",
					json_object_get_string(f));
		}
		short_time(first, sizeof(first), json_str(c, "first_seen"));
		short_time(last, sizeof(last), json_str(c, "last_seen"));
		row[5] = b;
		row[6] = ib;
		row[7] = p;
		row[8] = s;
		row[9] = flags[0] ? flags : "-";
		row[10] = first;
		row[11] = last;
		row[12] = unit_of(c);
		table_add(&t, row);
	}
	table_print(&t, out, 0);
	return 0;
}

/* One direction's counts (orig or reply) of a connection object. */
static const struct json_object *side_of(const struct json_object *c,
					 const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(c, name, &v) &&
			       json_object_is_type(v, json_type_object) ?
		       v :
		       NULL;
}

/* One direction's bytes and packets, as a table shows them (0: none). */
static void fmt_side(const struct json_object *side, char *bytes, char *pkts,
		     size_t size, bool human)
{
	fmt_bytes(bytes, size, side ? json_u64(side, "bytes") : 0, human);
	fmt_count(pkts, size, side ? json_u64(side, "packets") : 0, human);
}

int render_connections(const struct json_object *resp, bool human, FILE *out)
{
	static const char *const head[] = { "IFACE",	   "OPENED", "SOURCE",
					    "DESTINATION", "STATE",  "RX",
					    "RX_PKTS",	   "TX",     "TX_PKTS",
					    "FIRST",	   "LAST",   "UNIT" };
	static const bool right[] = { false, false, false, false, false, true,
				      true,  true,  true,  false, false, false };
	struct json_object *conns = json_array(resp, "connections"), *c;
	const struct json_object *orig, *reply, *rx, *tx;
	size_t k, n = conns ? json_object_array_length(conns) : 0;
	struct table t;
	char ifc[80], src[80], dst[80], rb[32], rp[32], tb[32], tp[32],
		first[16], last[16];
	bool in;

	table_init(&t, 12, head, right);
	for (k = 0; k < n; k++) {
		const char *row[12];

		c = json_object_array_get_idx(conns, k);
		conn_columns(c, row, ifc, src, dst, sizeof(src));
		/* The opener's packets came in: opened by the far end. */
		in = !strcmp(json_str(c, "direction"), "ingress");
		orig = side_of(c, "orig");
		reply = side_of(c, "reply");
		rx = in ? orig : reply;
		tx = in ? reply : orig;
		fmt_side(rx, rb, rp, sizeof(rb), human);
		fmt_side(tx, tb, tp, sizeof(tb), human);
		short_time(first, sizeof(first), json_str(c, "first_seen"));
		short_time(last, sizeof(last), json_str(c, "last_seen"));
		row[1] = !strcmp(json_str(c, "opened"), "unknown") ? "?" :
			 in					   ? "remote" :
								     "local";
		row[5] = rb;
		row[6] = rp;
		row[7] = tb;
		row[8] = tp;
		row[9] = first;
		row[10] = last;
		row[11] = unit_of(c);
		table_add(&t, row);
	}
	table_print(&t, out, 0);
	return 0;
}

/* stats' "units": one row per unit, what came in and went out. */
static void render_units(const struct json_object *resp, FILE *out)
{
	static const char *const head[] = { "UNIT", "IN_BYTES", "IN_PKTS",
					    "OUT_BYTES", "OUT_PKTS" };
	static const bool right[] = { false, true, true, true, true };
	struct json_object *units = json_array(resp, "units"), *u;
	const struct json_object *in, *eg;
	size_t k, n = units ? json_object_array_length(units) : 0;
	char ib[32], ip[32], ob[32], op[32];
	struct table t;

	if (!n)
		return;
	table_init(&t, 5, head, right);
	for (k = 0; k < n; k++) {
		const char *row[5] = { NULL, ib, ip, ob, op };

		u = json_object_array_get_idx(units, k);
		in = side_of(u, "ingress");
		eg = side_of(u, "egress");
		row[0] = unit_of(u);
		fmt_side(in, ib, ip, sizeof(ib), false);
		fmt_side(eg, ob, op, sizeof(ob), false);
		table_add(&t, row);
	}
	fprintf(out, "\n");
	table_print(&t, out, 0);
}

int render_stats(const struct json_object *resp, FILE *out)
{
	static const char *const head[] = { "COUNTER", "VALUE" };
	static const bool right[] = { false, true };
	struct json_object *st;
	struct table t;
	char v[32];

	table_init(&t, 2, head, right);
	if (!json_object_object_get_ex(resp, "stats", &st) ||
	    !json_object_is_type(st, json_type_object))
		st = NULL;
	/* In the daemon's order: json-c keeps the order of the keys. */
	if (st) {
		json_object_object_foreach(st, name, val)
		{
			const char *row[2] = { name, v };

			/* null: not counted yet (counts_age_ms). */
			if (!val)
				snprintf(v, sizeof(v), "-");
			else
				snprintf(v, sizeof(v), "%llu",
					 (unsigned long long)json_u64(st,
								      name));
			table_add(&t, row);
		}
	}
	table_print(&t, out, 0);
	render_units(resp, out);
	return 0;
}

int render_version(const struct json_object *resp, FILE *out)
{
	fprintf(out, "tcploggerd %s (API %llu, BPF ABI %llu)\n",
		json_str(resp, "daemon"),
		(unsigned long long)json_u64(resp, "api"),
		(unsigned long long)json_u64(resp, "bpf_abi"));
	fprintf(out, "libbpf %s, kernel %s\n", json_str(resp, "libbpf"),
		json_str(resp, "kernel"));
	return 0;
}
