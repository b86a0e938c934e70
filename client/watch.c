// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * watch.c - tcplogctl watch: a live view that redraws in place at an
 * interval, with per-connection rates from successive snapshots, sorted,
 * cut to the terminal's height. q or Ctrl-C quits and restores the
 * terminal.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "call.h"
#include "format.h"
#include "render.h"
#include "watch.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* The previous snapshot of one connection, to compute rates. */
struct prev {
	char *id;
	uint64_t bytes, packets;
};

struct row {
	struct json_object *conn;
	double bps, pps; /* rates since the previous snapshot */
	uint64_t key; /* the sort key's value (rate for counters) */
};

static char *conn_id(const struct json_object *c)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s|%s|%s|%llu|%s|%llu",
		 json_str(c, "ifname"), json_str(c, "direction"),
		 json_str(c, "src_ip"),
		 (unsigned long long)json_u64(c, "src_port"),
		 json_str(c, "dst_ip"),
		 (unsigned long long)json_u64(c, "dst_port"));
	return strdup(buf);
}

static int cmp_prev(const void *a, const void *b)
{
	return strcmp(((const struct prev *)a)->id,
		      ((const struct prev *)b)->id);
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return (x->key < y->key) - (x->key > y->key);
}

static double now_s(void)
{
	return (double)tcplog_now_ns(CLOCK_MONOTONIC) / 1e9;
}

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

static void draw(const struct ctl_opts *o, struct json_object *resp,
		 struct prev **prevs, size_t *nprev, double dt)
{
	static const char *const head[] = { "IFACE",	   "DIR",   "SOURCE",
					    "DESTINATION", "STATE", "BYTES/s",
					    "PKTS/s",	   "BYTES", "PACKETS",
					    "LAST" };
	static const bool right[] = { false, false, false, false, false,
				      true,  true,  true,  true,  false };
	struct json_object *conns = NULL, *c;
	int n, i, max_rows;
	struct row *rows;
	struct prev *next;
	struct table t;
	char ifc[80], src[80], dst[80], bps[32], pps[32], b[32], p[32],
		last[16];
	const char *sort = o->sort_name ? o->sort_name : "bytes";

	if (!json_object_object_get_ex(resp, "connections", &conns) ||
	    !json_object_is_type(conns, json_type_array))
		conns = NULL;
	n = conns ? (int)json_object_array_length(conns) : 0;
	rows = calloc((size_t)(n ? n : 1), sizeof(*rows));
	next = calloc((size_t)(n ? n : 1), sizeof(*next));
	if (!rows || !next) {
		free(rows);
		free(next);
		return;
	}
	for (i = 0; i < n; i++) {
		struct prev key, *old;
		uint64_t bytes, packets;

		c = json_object_array_get_idx(conns, (size_t)i);
		key.id = conn_id(c);
		bytes = json_u64(c, "bytes");
		packets = json_u64(c, "packets");

		old = *nprev ? bsearch(&key, *prevs, *nprev, sizeof(key),
				       cmp_prev) :
			       NULL;
		rows[i].conn = c;
		if (old && dt > 0) {
			rows[i].bps = (double)(bytes - old->bytes) / dt;
			rows[i].pps = (double)(packets - old->packets) / dt;
		}
		if (!strcmp(sort, "packets"))
			rows[i].key = (uint64_t)rows[i].pps;
		else if (!strcmp(sort, "segments"))
			rows[i].key = json_u64(c, "segments");
		else if (!strcmp(sort, "first_seen") ||
			 !strcmp(sort, "last_seen"))
			rows[i].key = 0; /* the daemon sorted already */
		else
			rows[i].key = (uint64_t)rows[i].bps;
		next[i] = (struct prev){ key.id, bytes, packets };
	}
	/* A stable order for the daemon-sorted keys, rates otherwise. */
	if (rows[0].key || n > 1)
		qsort(rows, (size_t)n, sizeof(*rows), cmp_row);
	for (i = 0; i < (int)*nprev; i++)
		free((*prevs)[i].id);
	free(*prevs);
	qsort(next, (size_t)n, sizeof(*next), cmp_prev);
	*prevs = next;
	*nprev = (size_t)n;

	/* Home, clear: the view is redrawn in place. */
	printf("\033[H\033[2J");
	printf("tcplogctl watch: %d connections, every %.1f s, sorted by %s "
	       "(q quits)\n\n",
	       n, o->interval, sort);
	table_init(&t, 10, head, right);
	for (i = 0; i < n; i++) {
		const char *row[10];

		c = rows[i].conn;
		conn_columns(c, row, ifc, src, dst, sizeof(src));
		fmt_bytes(bps, sizeof(bps), (uint64_t)rows[i].bps, o->human);
		fmt_count(pps, sizeof(pps), (uint64_t)rows[i].pps, o->human);
		fmt_bytes(b, sizeof(b), json_u64(c, "bytes"), o->human);
		fmt_count(p, sizeof(p), json_u64(c, "packets"), o->human);
		short_time(last, sizeof(last), json_str(c, "last_seen"));
		row[5] = bps;
		row[6] = pps;
		row[7] = b;
		row[8] = p;
		row[9] = last;
		table_add(&t, row);
	}
	max_rows = term_rows() - 4;
	if (o->req.limit && (int)o->req.limit < max_rows)
		max_rows = (int)o->req.limit;
	table_print(&t, stdout, max_rows > 0 ? max_rows : 1);
	fflush(stdout);
	free(rows);
}

int watch_run(const struct ctl_opts *o)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct prev *prevs = NULL;
	size_t nprev = 0, i;
	char request[1024];
	double last = 0, t;
	struct ctl_error err = { .status = EXIT_OK_ };
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct ctl_opts q = *o;

	/* Rates need the same connections each time: no daemon limit, but
	 * the daemon's order for the time keys. */
	q.req.limit = 0;
	if (q.req.sort != API_SORT_FIRST_SEEN &&
	    q.req.sort != API_SORT_LAST_SEEN)
		q.sort_name = NULL;
	ctl_dump_request(&q, request, sizeof(request));

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty) {
		raw = saved;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	printf("\033[?1049h\033[?25l"); /* alternate screen, no cursor */
	while (!quit) {
		struct json_object *resp = ctl_call(o, request, &err);

		if (!resp)
			break;
		if (ctl_daemon_error(resp, &err)) {
			json_object_put(resp);
			break;
		}
		t = now_s();
		draw(o, resp, &prevs, &nprev, last ? t - last : 0);
		last = t;
		json_object_put(resp);
		/* Sleep the interval, waking for q. */
		while (!quit && now_s() - t < o->interval) {
			int ms = (int)((o->interval - (now_s() - t)) * 1000);
			char ch;

			if (poll(&pfd, tty ? 1 : 0, ms > 0 ? ms : 1) > 0 &&
			    read(STDIN_FILENO, &ch, 1) == 1 &&
			    (ch == 'q' || ch == 'Q'))
				quit = 1;
		}
	}
	printf("\033[?25h\033[?1049l"); /* cursor back, main screen */
	fflush(stdout);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	for (i = 0; i < nprev; i++)
		free(prevs[i].id);
	free(prevs);
	if (err.status)
		fprintf(stderr, "tcplogctl: %s\n", err.msg);
	return err.status;
}
