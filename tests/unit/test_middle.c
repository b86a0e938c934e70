// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_middle.c - the daemon's middle alone, on real maps created from user
 * space with the program's layout: the map owner (daemon/maps/maps.c), the
 * snapshot's filters, sorts and limits (daemon/snapshot/), and expiry's
 * decisions with a fake clock (daemon/maps/expiry.c). Every expected count
 * is what the test itself wrote into the map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "api.h"
#include "expiry.h"
#include "maps.h"
#include "metrics.h"
#include "snapshot.h"
#include "testlib.h"

#define SEC 1000000000ull

static struct maps m;
static int ncpus;

static int make_maps(uint32_t capacity)
{
	int conns, percpu, totals;

	conns = bpf_map_create(BPF_MAP_TYPE_HASH, "t_conns",
			       sizeof(struct tcplog_conn_key),
			       sizeof(struct tcplog_conn_val), capacity, NULL);
	percpu = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_percpu", 4,
				sizeof(struct tcplog_percpu), 1, NULL);
	totals = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_totals", 4,
				sizeof(struct tcplog_totals), 1, NULL);
	if (conns < 0 || percpu < 0 || totals < 0)
		return -errno;
	maps_init(&m, conns, percpu, totals, capacity);
	return 0;
}

static void close_maps(void)
{
	close(m.conns_fd);
	close(m.percpu_fd);
	close(m.totals_fd);
}

static struct tcplog_conn_key key_of(int i, uint16_t dport)
{
	struct tcplog_conn_key k = { 0 };

	k.ifindex = 1 + (i % 3);
	k.direction = TCPLOG_DIR_INGRESS;
	k.family = TCPLOG_FAMILY_IPV4;
	k.src_addr[0] = 198;
	k.src_addr[1] = 18;
	k.src_addr[2] = (uint8_t)(i >> 8);
	k.src_addr[3] = (uint8_t)i;
	k.dst_addr[0] = 198;
	k.dst_addr[1] = 19;
	k.dst_addr[3] = 1;
	k.src_port = htons((uint16_t)(10000 + i));
	k.dst_port = htons(dport);
	return k;
}

/* What an expiry scan counted, for the API and health. */
static const struct expiry_counts no_counts = { .at_ms = 1 };

/* An entry with @packets packets of @bytes bytes in all (14-byte L2). */
static void put(const struct tcplog_conn_key *k, uint64_t bytes,
		uint64_t packets, uint64_t flags, uint64_t first, uint64_t last)
{
	struct tcplog_conn_val v = { 0 };

	v.counter = (packets << 32) + (bytes & TCPLOG_COUNTER_BYTES_MASK);
	v.bytes_carries = bytes >> 32;
	v.counter_wraps = 0;
	/* counter's packet half holds packets + carries (see tcplogger.h). */
	v.counter += v.bytes_carries << 32;
	v.l2_len = 14;
	v.tcp_flags = flags;
	v.first_seen_ns = first;
	v.last_seen_ns = last;
	TL_CHECK(!bpf_map_update_elem(m.conns_fd, k, &v, BPF_ANY), "insert");
}

static void set_stats(uint64_t base)
{
	struct tcplog_percpu *pc = calloc((size_t)ncpus, sizeof(*pc));
	__u32 zero = 0;
	int c, i;

	for (c = 0; c < ncpus; c++) {
		for (i = 0; i < TCPLOG_STAT_MAX; i++)
			pc[c].stats.count[i] = base * (uint64_t)(i + 1);
		pc[c].clock_jiffies = 1000 + (uint64_t)c;
	}
	TL_CHECK(!bpf_map_update_elem(m.percpu_fd, &zero, pc, BPF_ANY),
		 "per-CPU stats");
	free(pc);
}

/* ---- the map owner ------------------------------------------------------------ */

static void test_walk_count_lookup(void)
{
	struct tcplog_conn_key k;
	struct maps_walk w;
	struct conn_rec r;
	uint64_t entries, closed, sum = 0, seen = 0;
	int i;

	/* More than one batch, some closed. */
	for (i = 0; i < 5000; i++) {
		k = key_of(i, 443);
		put(&k, 1000 + (uint64_t)i, 2, i % 5 ? 0 : TCPLOG_TCP_FIN, SEC,
		    2 * SEC);
	}
	TL_EQ_INT(maps_count(&m, &entries, &closed), 0);
	TL_EQ_U64(entries, 5000);
	TL_EQ_U64(closed, 1000);
	TL_EQ_INT(maps_walk_begin(&m, &w), 0);
	while (maps_walk_next(&w, &r)) {
		sum += r.c.bytes;
		seen++;
		TL_EQ_U64(r.c.ip_bytes, r.c.bytes - 2 * 14);
	}
	TL_EQ_INT(w.err, 0);
	maps_walk_end(&w);
	TL_EQ_U64(seen, 5000);
	TL_EQ_U64(sum, 5000ull * 1000 + 4999ull * 5000 / 2);

	k = key_of(7, 443);
	TL_EQ_INT(maps_lookup(&m, &k, &r), 0);
	TL_EQ_U64(r.c.bytes, 1007);
	TL_EQ_U64(r.c.packets, 2);
	k = key_of(7, 80);
	TL_EQ_INT(maps_lookup(&m, &k, &r), -ENOENT);
}

static void test_walk_exact_above_2_53(void)
{
	struct tcplog_conn_key k = key_of(1, 22);
	struct conn_rec r;
	struct maps_walk w;
	/* 2^60 + 1 bytes: a double would round it. */
	uint64_t bytes = (1ull << 60) + 1;

	put(&k, bytes, 3, 0, SEC, SEC);
	TL_EQ_INT(maps_walk_begin(&m, &w), 0);
	TL_CHECK(maps_walk_next(&w, &r), "one entry");
	TL_EQ_U64(r.c.bytes, bytes);
	TL_EQ_U64(r.c.packets, 3);
	TL_CHECK(!maps_walk_next(&w, &r), "only one");
	maps_walk_end(&w);
}

static void test_take_and_totals(void)
{
	struct tcplog_conn_key a = key_of(1, 80), b = key_of(2, 80);
	struct conn_rec r;
	struct maps again;
	uint64_t entries;

	put(&a, 500, 5, TCPLOG_TCP_FIN, SEC, SEC);
	put(&b, 700, 7, 0, SEC, SEC);
	TL_EQ_INT(maps_take(&m, &a, TCPLOG_REASON_FIN, &r), 1);
	TL_EQ_U64(r.c.bytes, 500);
	TL_EQ_INT(maps_take(&m, &a, TCPLOG_REASON_FIN, &r), 0);
	TL_EQ_INT(maps_take(&m, &b, TCPLOG_REASON_IDLE, &r), 1);
	TL_EQ_INT(maps_take(&m, &b, TCPLOG_REASON_MAX, &r), -EINVAL);
	TL_EQ_U64(m.totals.entries, 2);
	TL_EQ_U64(m.totals.bytes, 1200);
	TL_EQ_U64(m.totals.packets, 12);
	TL_EQ_U64(m.totals.ip_bytes, 1200 - 12 * 14);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_FIN], 1);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_IDLE], 1);
	TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
	TL_EQ_U64(entries, 0);
	/* Saved and loaded again: what a restarted daemon reads. */
	TL_EQ_INT(maps_totals_save(&m), 0);
	maps_init(&again, m.conns_fd, m.percpu_fd, m.totals_fd, m.capacity);
	TL_EQ_INT(maps_totals_load(&again), 0);
	TL_CHECK(!memcmp(&again.totals, &m.totals, sizeof(m.totals)),
		 "the totals as saved");
}

static void test_stats_and_reset(void)
{
	struct tcplog_dp_stats st;
	struct tcplog_percpu *pc = calloc((size_t)ncpus, sizeof(*pc));
	struct tcplog_conn_key k;
	struct conn_rec r;
	long deleted = -1;
	__u32 zero = 0;
	int i;

	set_stats(3);
	TL_EQ_INT(maps_stats(&m, &st), 0);
	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		TL_EQ_U64(st.count[i],
			  3ull * (uint64_t)(i + 1) * (uint64_t)ncpus);
	for (i = 0; i < 10; i++) {
		k = key_of(i, 25);
		put(&k, 100, 1, 0, SEC, SEC);
	}
	k = key_of(0, 25);
	TL_EQ_INT(maps_take(&m, &k, TCPLOG_REASON_RST, &r), 1);
	TL_EQ_INT(maps_reset(&m, &deleted), 0);
	TL_EQ_INT(deleted, 9);
	TL_EQ_INT(maps_stats(&m, &st), 0);
	TL_EQ_U64(tcplog_stats_seen(&st), 0);
	TL_EQ_U64(m.totals.entries, 0);
	/* The clock cache of every CPU is kept. */
	TL_CHECK(!bpf_map_lookup_elem(m.percpu_fd, &zero, pc), "per-CPU");
	for (i = 0; i < ncpus; i++)
		TL_EQ_U64(pc[i].clock_jiffies, 1000 + (uint64_t)i);
	free(pc);
}

/* A reset that cannot write says so (it answered ok once). */
static void test_reset_failure(void)
{
	struct maps broken;
	long deleted;

	maps_init(&broken, m.conns_fd, -1, m.totals_fd, m.capacity);
	TL_CHECK(maps_reset(&broken, &deleted) < 0,
		 "reset without per-CPU map");
	maps_init(&broken, m.conns_fd, m.percpu_fd, -1, m.capacity);
	TL_CHECK(maps_reset(&broken, &deleted) < 0, "reset without totals");
}

/* The API's reset answers an error when a write fails (it said ok once),
 * and refuses anyone but root. */
static void test_api_reset(void)
{
	struct api_peer root = { .uid = 0 }, user = { .uid = 1000 };
	const char *req = "{\"cmd\":\"reset\"}";
	struct att_set hooks = { .n = 0 };
	struct tcplog_clock clock = { 0 };
	struct maps broken;
	struct api api = { .maps = &m,
			   .wall = &clock,
			   .hooks = &hooks,
			   .counts = &no_counts };
	struct jw w;

	jw_init(&w);
	TL_CHECK(!api_answer(&api, req, strlen(req), &user, &w), "no stream");
	TL_CHECK(w.len && strstr(w.buf, "\"code\":\"permission_denied\""),
		 "%.*s", (int)w.len, w.buf);
	w.len = 0;
	api_answer(&api, req, strlen(req), &root, &w);
	TL_CHECK(w.len && strstr(w.buf, "{\"ok\":true,\"deleted\":0}"), "%.*s",
		 (int)w.len, w.buf);
	maps_init(&broken, m.conns_fd, -1, m.totals_fd, m.capacity);
	api.maps = &broken;
	w.len = 0;
	api_answer(&api, req, strlen(req), &root, &w);
	TL_CHECK(w.len && strstr(w.buf, "{\"ok\":false,") &&
			 strstr(w.buf, "\"code\":\"internal\""),
		 "%.*s", (int)w.len, w.buf);
	jw_free(&w);
}

/* Failed inserts per CPU 0 (the rest zero): @full map full, @other. */
static void set_failed(uint64_t full, uint64_t other)
{
	struct tcplog_percpu *pc = calloc((size_t)ncpus, sizeof(*pc));
	__u32 zero = 0;

	pc[0].stats.count[TCPLOG_STAT_INSERT_FULL] = full;
	pc[0].stats.count[TCPLOG_STAT_INSERT_OTHER] = other;
	TL_CHECK(!bpf_map_update_elem(m.percpu_fd, &zero, pc, BPF_ANY),
		 "per-CPU stats");
	free(pc);
}

static enum health_status inserts_status(struct health *h, uint64_t now_ms,
					 char *detail, size_t size)
{
	struct att_set hooks = { .n = 0 };
	struct expiry_counts counts = { .entries = 2,
					.walked = 3,
					.at_ms = 500 };
	struct health_report r;

	health_check(h, &hooks, &m, &counts, now_ms, &r);
	TL_EQ_STR(r.checks[1].name, "map_readable");
	TL_EQ_INT(r.checks[1].status, HEALTH_OK);
	TL_EQ_STR(r.checks[2].name, "map_usage");
	TL_CHECK(strstr(r.checks[2].detail, "3 of 16 entries") &&
			 strstr(r.checks[2].detail,
				" s ago, 2 after its expiry)"),
		 "map_usage: %s", r.checks[2].detail);
	TL_EQ_STR(r.checks[3].name, "insert_failures");
	snprintf(detail, size, "%s", r.checks[3].detail);
	return r.checks[3].status;
}

/*
 * insert_failures counts the failures of the last five minutes, whoever
 * asks: checks do not reset it (each check once started from the previous
 * one, so one monitoring client's checks hid failures from another's).
 */
static void test_health_window(void)
{
	struct health h = { 0 };
	char d[512];
	uint64_t t;

	set_failed(5, 0);
	health_restart(&h, &m, &no_counts,
		       1000); /* 5 failures before: not counted */
	TL_EQ_INT(inserts_status(&h, 2000, d, sizeof(d)), HEALTH_OK);
	set_failed(8, 1);
	for (t = 10000; t <= 60000; t += 10000)
		health_sample(&h, &m, &no_counts, t);
	/* Every check sees the 4 new failures, however many ask. */
	TL_EQ_INT(inserts_status(&h, 61000, d, sizeof(d)), HEALTH_WARNING);
	TL_EQ_INT(inserts_status(&h, 61000, d, sizeof(d)), HEALTH_WARNING);
	TL_EQ_STR(
		d,
		"4 failed inserts in the last 60 s (8 no room, 1 other, "
		"in all); embryonic entries: 0 of their share of 8, 0 expired "
		"early in that time");
	/* Five minutes of samples later, without new failures: ok again. */
	for (t = 70000; t <= 400000; t += 10000)
		health_sample(&h, &m, &no_counts, t);
	TL_EQ_INT(inserts_status(&h, 400000, d, sizeof(d)), HEALTH_OK);
	TL_EQ_STR(
		d,
		"0 failed inserts in the last 300 s (8 no room, 1 other, "
		"in all); embryonic entries: 0 of their share of 8, 0 expired "
		"early in that time");
	/* A reset zeroes the totals: the count starts from there. */
	set_failed(2, 0);
	TL_EQ_INT(inserts_status(&h, 401000, d, sizeof(d)), HEALTH_WARNING);
	health_restart(&h, &m, &no_counts, 402000);
	TL_EQ_INT(inserts_status(&h, 403000, d, sizeof(d)), HEALTH_OK);
}

/* ---- the snapshot ------------------------------------------------------------- */

/* The unit names pass() filters by; NULL: none. */
static struct units *units;

/* Every record of one pass, in the order given. */
static size_t pass(const struct api_request *req, struct conn_pair *out,
		   size_t max, struct snapshot *s)
{
	struct conn_pair r;
	size_t n = 0;
	int ret;

	TL_EQ_INT(snapshot_begin(s, &m, req, NULL, units), 0);
	while ((ret = snapshot_next(s, &r)) != 0) {
		if (ret == -EAGAIN)
			continue;
		if (n < max)
			out[n] = r;
		n++;
	}
	snapshot_end(s);
	return n;
}

static void test_snapshot(void)
{
	struct api_request req = { .port = -1, .vlan = -1 };
	struct tcplog_conn_key k;
	struct conn_pair got[16];
	struct snapshot s;
	size_t i;

	/* 6000 entries: bytes i, packets 6000 - i; port 80 for i % 1000 == 0. */
	for (i = 0; i < 6000; i++) {
		k = key_of((int)i, i % 1000 ? 443 : 80);
		if (i == 3000) {
			k.vlan_count = 2;
			k.vlan_id[0] = 300;
			k.vlan_id[1] = 100;
		}
		put(&k, 64 * i + 64, 6000 - i, i % 2 ? TCPLOG_TCP_RST : 0,
		    i * SEC, (6000 - i) * SEC);
	}
	/* Everything, with the counts. */
	TL_EQ_U64(pass(&req, got, 0, &s), 6000);
	TL_EQ_U64(s.entries, 6000);
	TL_EQ_U64(s.closed, 3000);
	/* Filters. */
	req.port = 80;
	TL_EQ_U64(pass(&req, got, 16, &s), 6);
	for (i = 0; i < 6; i++)
		TL_EQ_U64(ntohs(got[i].r.key.dst_port), 80);
	req.port = -1;
	req.vlan = 100;
	TL_EQ_U64(pass(&req, got, 16, &s), 1);
	TL_EQ_U64(got[0].r.c.bytes, 64 * 3000 + 64);
	req.vlan = -1;
	req.state = API_STATE_OPEN;
	TL_EQ_U64(pass(&req, got, 0, &s), 3000);
	req.state = API_STATE_ANY;
	req.host_family = 4;
	memcpy(req.host, (uint8_t[]){ 198, 18, 0x0b, 0xb8 }, 4); /* i = 3000 */
	TL_EQ_U64(pass(&req, got, 16, &s), 1);
	req.host_family = 0;
	/* Sorted, limited: the top 5 by bytes, then by packets. */
	req.sort = API_SORT_BYTES;
	req.limit = 5;
	TL_EQ_U64(pass(&req, got, 16, &s), 5);
	for (i = 0; i < 5; i++)
		TL_EQ_U64(got[i].r.c.bytes, 64 * (5999 - i) + 64);
	TL_EQ_U64(s.entries, 6000);
	req.sort = API_SORT_PACKETS;
	TL_EQ_U64(pass(&req, got, 16, &s), 5);
	for (i = 0; i < 5; i++)
		TL_EQ_U64(got[i].r.c.packets, 6000 - i);
	req.sort = API_SORT_LAST_SEEN;
	req.limit = 2;
	TL_EQ_U64(pass(&req, got, 16, &s), 2);
	TL_EQ_U64(got[0].r.c.last_seen_ns, 6000 * SEC);
	/* Sorted in runs of SORTED_RUN, merged: every entry in order, with
	 * or without a limit above one run. */
	{
		static struct conn_pair all[6000];
		uint64_t limits[] = { 0, 5000 };
		size_t l, want;

		req.sort = API_SORT_BYTES;
		for (l = 0; l < 2; l++) {
			req.limit = limits[l];
			want = limits[l] ? limits[l] : 6000;
			TL_EQ_U64(pass(&req, all, 6000, &s), want);
			for (i = 0; i < want; i++)
				if (all[i].r.c.bytes != 64 * (5999 - i) + 64)
					break;
			TL_EQ_U64(i, want);
		}
	}
	/* Unsorted with a limit: the walk goes on for the counts. */
	req.sort = API_SORT_NONE;
	req.limit = 3;
	TL_EQ_U64(pass(&req, got, 16, &s), 3);
	TL_EQ_U64(s.entries, 6000);
}

/* The entry of @k's opposite direction, owned by @cgroup. */
static void put_owned(const struct tcplog_conn_key *k, uint64_t bytes,
		      uint64_t packets, uint64_t flags, uint64_t first,
		      uint64_t cgroup)
{
	struct tcplog_conn_val v;

	put(k, bytes, packets, flags, first, first + SEC);
	TL_CHECK(!bpf_map_lookup_elem(m.conns_fd, k, &v), "lookup");
	v.cgroup_id = cgroup;
	TL_CHECK(!bpf_map_update_elem(m.conns_fd, k, &v, BPF_EXIST), "owner");
}

/*
 * The connection view: each connection once, with both directions; the
 * opener by the SYN bits (a SYN, or only a SYN-ACK seen, or by time);
 * closed by an RST either way or a FIN both ways; sorted by both
 * directions' bytes; the unit filter by the owner's unit, resolved from a
 * cgroup tree made for the test (the id of a cgroup is its inode number).
 */
static void test_connection_view(void)
{
	struct api_request req = { .port = -1,
				   .vlan = -1,
				   .view = API_VIEW_CONNECTIONS };
	struct tcplog_conn_key in1, out1, in2, out2, in3, out4;
	char root[] = "/tmp/tcplog-units-XXXXXX", dir[300];
	struct units u;
	struct stat st;
	struct conn_pair got[16];
	struct snapshot s;
	enum tcplog_opened how;
	size_t i, n;

	/* 1: opened from outside: the ingress SYN, the egress SYN-ACK;
	 * both sides sent a FIN. */
	in1 = key_of(1, 443);
	tcplog_key_reverse(&in1, &out1);
	put_owned(&in1, 1000, 10,
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_TCP_FIN |
			  TCPLOG_CONN_SYN_SENT,
		  5 * SEC, 0);
	/* 2: opened from here: the egress SYN; only a FIN from here. */
	in2 = key_of(2, 8080);
	tcplog_key_reverse(&in2, &out2);
	put_owned(&in2, 7000, 5,
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_CONN_SYN_ACK,
		  3 * SEC, 0);
	/* 3: only ingress counted, a SYN-ACK: we opened it, unseen. */
	in3 = key_of(3, 9000);
	put_owned(&in3, 300, 3,
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_CONN_SYN_ACK,
		  4 * SEC, 0);
	/* 4: egress only, no SYN seen: unknown, as seen; an RST. */
	out4 = key_of(4, 22);
	out4.direction = TCPLOG_DIR_EGRESS;
	put_owned(&out4, 100, 1, TCPLOG_TCP_RST, 6 * SEC, 0);

	TL_CHECK(mkdtemp(root) != NULL, "mkdtemp");
	snprintf(dir, sizeof(dir), "%s/system.slice", root);
	TL_CHECK(mkdir(dir, 0700) == 0, "mkdir");
	snprintf(dir, sizeof(dir), "%s/system.slice/web.service", root);
	TL_CHECK(mkdir(dir, 0700) == 0, "mkdir");
	TL_CHECK(stat(dir, &st) == 0, "stat");
	put_owned(&out1, 50000, 40,
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_TCP_FIN |
			  TCPLOG_CONN_SYN_ACK,
		  5 * SEC, (uint64_t)st.st_ino);
	put_owned(&out2, 2000, 6,
		  TCPLOG_TCP_SYN | TCPLOG_TCP_ACK | TCPLOG_TCP_FIN |
			  TCPLOG_CONN_SYN_SENT,
		  3 * SEC, 0);

	/* Four connections from six entries, by total bytes. */
	req.sort = API_SORT_BYTES;
	n = pass(&req, got, 16, &s);
	TL_EQ_U64(n, 4);
	TL_EQ_U64(s.entries, 6);
	TL_EQ_U64(got[0].r.c.bytes + got[0].peer.bytes, 51000);
	TL_EQ_U64(got[1].r.c.bytes + got[1].peer.bytes, 9000);
	TL_EQ_U64(got[2].r.c.bytes, 300);
	TL_CHECK(!got[2].has_peer && !got[3].has_peer, "single sides");
	/* The opener of each. */
	for (i = 0; i < n; i++) {
		const struct tcplog_conn_counts *b =
			got[i].has_peer ? &got[i].peer : NULL;
		bool a_opened = tcplog_pair_a_opened(&got[i].r.c, b, &how);
		bool a_in = got[i].r.key.direction == TCPLOG_DIR_INGRESS;

		uint16_t sp = ntohs(got[i].r.key.src_port);
		uint16_t dp = ntohs(got[i].r.key.dst_port);
		int port = sp < dp ? sp : dp;

		switch (port) {
		case 443: /* the ingress side opened */
			TL_EQ_INT(a_opened, a_in);
			TL_EQ_INT(how, TCPLOG_OPENED_SYN);
			TL_CHECK(tcplog_pair_is_closed(&got[i].r.c, b),
				 "a FIN each way");
			break;
		case 8080: /* the egress side opened */
			TL_EQ_INT(a_opened, !a_in);
			TL_EQ_INT(how, TCPLOG_OPENED_SYN);
			TL_CHECK(!tcplog_pair_is_closed(&got[i].r.c, b),
				 "a FIN one way is open");
			break;
		case 9000: /* the unseen egress side, by the SYN-ACK */
			TL_EQ_INT(a_opened, false);
			TL_EQ_INT(how, TCPLOG_OPENED_SYN_ACK);
			break;
		default:
			TL_EQ_INT(a_opened, true);
			TL_EQ_INT(how, TCPLOG_OPENED_UNKNOWN);
			TL_CHECK(tcplog_pair_is_closed(&got[i].r.c, b), "RST");
		}
	}
	/* State, merged: 443 and 22 closed. */
	req.sort = API_SORT_NONE;
	req.state = API_STATE_CLOSED;
	TL_EQ_U64(pass(&req, got, 16, &s), 2);
	req.state = API_STATE_ANY;
	/* The unit: either side's owner. */
	TL_EQ_INT(units_init(&u, root), 0);
	units = &u;
	snprintf(req.unit, sizeof(req.unit), "web.service");
	TL_EQ_U64(pass(&req, got, 16, &s), 1);
	TL_EQ_U64(got[0].r.c.bytes + got[0].peer.bytes, 51000);
	req.view = API_VIEW_FLOWS;
	TL_EQ_U64(pass(&req, got, 16, &s), 1);
	TL_EQ_U64(got[0].r.c.bytes, 50000);
	snprintf(req.unit, sizeof(req.unit), "other.service");
	TL_EQ_U64(pass(&req, got, 16, &s), 0);
	units = NULL;
	units_free(&u);
	/* The flow view is unchanged: six entries. */
	req.unit[0] = '\0';
	TL_EQ_U64(pass(&req, got, 16, &s), 6);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/system.slice", root);
	rmdir(dir);
	rmdir(root);
}

/* A cgroup path's unit, as systemd names it. */
static void test_unit_of_path(void)
{
	char b[64];

	TL_CHECK(units_of_path("/system.slice/nginx.service", b, sizeof(b)),
		 "a service");
	TL_EQ_STR(b, "nginx.service");
	TL_CHECK(units_of_path("/user.slice/user-1000.slice/user@1000.service/"
			       "app.slice/a.scope",
			       b, sizeof(b)),
		 "a user's");
	TL_EQ_STR(b, "user@1000.service");
	TL_CHECK(units_of_path("/system.slice/docker-1.scope/x", b, sizeof(b)),
		 "a scope");
	TL_EQ_STR(b, "docker-1.scope");
	TL_CHECK(units_of_path("/init.scope", b, sizeof(b)), "init");
	TL_EQ_STR(b, "init.scope");
	TL_CHECK(!units_of_path("/system.slice", b, sizeof(b)), "a slice");
	TL_CHECK(!units_of_path("/", b, sizeof(b)), "the root");
	TL_CHECK(!units_of_path("/tltest/x", b, sizeof(b)), "no unit");
	TL_CHECK(!units_of_path("/system.slice/a-very-long-name.service", b, 8),
		 "too long");
}

/* Runs a dump request through the API to its end; the answer in @w. */
static struct dump_stream *dump_to_end(struct api *api, const char *req,
				       struct jw *w, bool keep)
{
	struct api_peer peer = { .uid = 1000 };
	struct dump_stream *ds;

	w->len = 0;
	ds = api_answer(api, req, strlen(req), &peer, w);
	while (ds && !api_dump_step(api, ds, w, SIZE_MAX))
		;
	if (!keep) {
		api_dump_free(ds);
		ds = NULL;
	}
	return ds;
}

/*
 * Sorting shares one memory budget: a sorted dump that would go beyond
 * it is answered `busy` (not a partial answer), a limited one fits, and
 * the memory comes back when a dump ends.
 */
static void test_sort_budget(void)
{
	struct att_set hooks = { .n = 0 };
	struct tcplog_clock clock = { 0 };
	struct api api = { .maps = &m,
			   .wall = &clock,
			   .hooks = &hooks,
			   .counts = &no_counts };
	const char *all = "{\"cmd\":\"dump\",\"sort\":\"bytes\"}";
	const char *top = "{\"cmd\":\"dump\",\"sort\":\"bytes\",\"limit\":10}";
	struct tcplog_conn_key k;
	struct dump_stream *held;
	struct jw w;
	int i;

	for (i = 0; i < 6000; i++) {
		k = key_of(i, 443);
		put(&k, 100 + (uint64_t)i, 1, 0, SEC, SEC);
	}
	/* 6000 entries take 8192 slots of 120 bytes: 983 KB. */
	api.sort_budget.limit = 1u << 20;
	jw_init(&w);
	held = dump_to_end(&api, all, &w, true);
	TL_CHECK(w.len > 6000 * 100 && !strncmp(w.buf, "{\"ok\":true", 10),
		 "the first sorted dump answers");
	TL_CHECK(api.sort_budget.used > 800000, "its memory is held");
	/* While it is held, a second full sort does not fit. */
	dump_to_end(&api, all, &w, false);
	TL_CHECK(w.len && strstr(w.buf, "{\"ok\":false,\"error\":{\"code\":"
					"\"busy\""),
		 "%.*s", (int)(w.len > 300 ? 300 : w.len), w.buf);
	TL_EQ_U64(api.sort_budget.refused, 1);
	/* A top-10 needs 10 slots: it fits. */
	dump_to_end(&api, top, &w, false);
	TL_CHECK(!strncmp(w.buf, "{\"ok\":true", 10) &&
			 strstr(w.buf, "\"bytes\":6099,"),
		 "the top 10 answers: %.*s", (int)(w.len > 300 ? 300 : w.len),
		 w.buf);
	api_dump_free(held);
	TL_EQ_U64(api.sort_budget.used, 0);
	dump_to_end(&api, all, &w, false);
	TL_CHECK(!strncmp(w.buf, "{\"ok\":true", 10), "fits again");
	TL_EQ_U64(api.sort_budget.used, 0);
	jw_free(&w);
}

/* ---- expiry, with a fake clock ------------------------------------------------ */

static uint64_t fake_boot_ns, fake_mono_ns;

static uint64_t fake_now(clockid_t id)
{
	return id == CLOCK_BOOTTIME ? fake_boot_ns : fake_mono_ns;
}

static struct tcplog_clock wall;

static void expiry_setup(struct expiry *e)
{
	expiry_init(e, &m, &wall);
	e->now_ns = fake_now;
	e->idle_timeout = 300;
	e->closed_timeout = 30;
	e->log_closed = false;
}

static void test_expiry_decisions(void)
{
	struct expiry e;
	struct conn_rec r = { 0 };

	expiry_setup(&e);
	r.c.last_seen_ns = 1000 * SEC;
	TL_EQ_INT(expiry_due(&e, &r, 1029 * SEC), -1);
	r.c.tcp_flags = TCPLOG_TCP_FIN;
	TL_EQ_INT(expiry_due(&e, &r, 1030 * SEC), TCPLOG_REASON_FIN);
	r.c.tcp_flags = TCPLOG_TCP_FIN | TCPLOG_TCP_RST;
	TL_EQ_INT(expiry_due(&e, &r, 1030 * SEC), TCPLOG_REASON_RST);
	r.c.tcp_flags = 0;
	TL_EQ_INT(expiry_due(&e, &r, 1299 * SEC), -1);
	TL_EQ_INT(expiry_due(&e, &r, 1300 * SEC), TCPLOG_REASON_IDLE);
	/* A packet stamped after "now" (another CPU's tick) is not idle. */
	TL_EQ_INT(expiry_due(&e, &r, 999 * SEC), -1);
	e.idle_timeout = 0; /* never */
	TL_EQ_INT(expiry_due(&e, &r, 100000 * SEC), -1);
	/* Periods: a tenth of the shortest timeout, within 1 to 10 s. */
	TL_EQ_U64(expiry_period_ms(&e), 3000);
	e.closed_timeout = 5;
	TL_EQ_U64(expiry_period_ms(&e), 1000);
	e.closed_timeout = 3600;
	e.idle_timeout = 3600;
	e.syn_timeout = 3600;
	TL_EQ_U64(expiry_period_ms(&e), 10000);
	e.syn_timeout = 20;
	TL_EQ_U64(expiry_period_ms(&e), 2000);
	/* Embryonic entries: syn_timeout, reason idle. */
	r.c.tcp_flags = TCPLOG_TCP_SYN;
	r.c.embryonic = true;
	TL_EQ_INT(expiry_due(&e, &r, 1019 * SEC), -1);
	TL_EQ_INT(expiry_due(&e, &r, 1020 * SEC), TCPLOG_REASON_IDLE);
	/* The same flags with the handshake completed: an ordinary one. */
	r.c.embryonic = false;
	TL_EQ_INT(expiry_due(&e, &r, 1020 * SEC), -1);
}

static void test_expiry_scan(void)
{
	struct tcplog_conn_key open1 = key_of(1, 80), fin = key_of(2, 80),
			       rst = key_of(3, 80), idle = key_of(4, 80);
	struct tcplog_totals saved;
	struct conn_rec r;
	struct expiry e;
	uint64_t entries;
	__u32 zero = 0;

	expiry_setup(&e);
	fake_boot_ns = 10000 * SEC;
	put(&open1, 100, 1, 0, 9990 * SEC, 9990 * SEC);
	put(&fin, 200, 2, TCPLOG_TCP_FIN, 9000 * SEC, 9969 * SEC);
	put(&rst, 300, 3, TCPLOG_TCP_RST, 9000 * SEC, 9975 * SEC);
	put(&idle, 400, 4, 0, 9000 * SEC, 9600 * SEC);
	TL_EQ_U64(expiry_scan(&e), 3000);
	/* fin (31 s closed) and idle (400 s) went; rst (25 s) stays. */
	TL_EQ_INT(maps_lookup(&m, &fin, &r), -ENOENT);
	TL_EQ_INT(maps_lookup(&m, &idle, &r), -ENOENT);
	TL_EQ_INT(maps_lookup(&m, &rst, &r), 0);
	TL_EQ_INT(maps_lookup(&m, &open1, &r), 0);
	TL_EQ_U64(e.counts.entries, 2);
	TL_EQ_U64(e.counts.closed, 1);
	TL_CHECK(e.counts.at_ms > 0, "counted");
	TL_EQ_U64(m.totals.bytes, 600);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_FIN], 1);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_IDLE], 1);
	/* Saved with the scan. */
	TL_CHECK(!bpf_map_lookup_elem(m.totals_fd, &zero, &saved), "totals");
	TL_EQ_U64(saved.bytes, 600);
	/* Five seconds later the RST one is due. */
	fake_boot_ns += 5 * SEC;
	expiry_scan(&e);
	TL_EQ_INT(maps_lookup(&m, &rst, &r), -ENOENT);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_RST], 1);
	TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
	TL_EQ_U64(entries, 1);
}

/* The sum of @unit's @dir bytes as published, ~0 if absent. */
static uint64_t unit_bytes(struct sums *s, const char *unit, int dir)
{
	static const struct sums_group *all[SUMS_UNIT_MAX + 2];
	uint32_t i, n = sums_list(s, SUMS_UNIT, all, SUMS_UNIT_MAX + 2);

	for (i = 0; i < n; i++)
		if (!strcmp(unit ? unit : "", all[i]->key.unit) &&
		    all[i]->key.direction == dir)
			return all[i]->pub.bytes;
	return ~0ull;
}

/* The published packets of interface @ifindex's ingress IPv4 group. */
static uint64_t iface_packets(struct sums *s, uint32_t ifindex)
{
	static const struct sums_group *all[SUMS_IFACE_MAX + 1];
	uint32_t i, n = sums_list(s, SUMS_IFACE, all, SUMS_IFACE_MAX + 1);

	for (i = 0; i < n; i++)
		if (all[i]->key.ifindex == ifindex &&
		    all[i]->key.direction == TCPLOG_DIR_INGRESS &&
		    all[i]->key.family == TCPLOG_FAMILY_IPV4)
			return all[i]->pub.packets;
	return ~0ull;
}

static void test_sums(void)
{
	char root[] = "/tmp/tcplog-units-XXXXXX", dir[300];
	struct tcplog_conn_key a1 = key_of(1, 80), a2 = key_of(2, 80),
			       b1 = key_of(3, 80), none = key_of(4, 80);
	struct sums us;
	struct units u;
	struct stat st;
	struct expiry e;
	uint64_t a_id;

	TL_CHECK(mkdtemp(root) != NULL, "mkdtemp");
	snprintf(dir, sizeof(dir), "%s/a.service", root);
	TL_CHECK(mkdir(dir, 0700) == 0 && stat(dir, &st) == 0, "a");
	a_id = (uint64_t)st.st_ino;
	a2.direction = TCPLOG_DIR_EGRESS;
	put_owned(&a1, 1000, 1, 0, 9990 * SEC, (uint64_t)st.st_ino);
	put_owned(&a2, 2000, 2, TCPLOG_TCP_FIN, 9000 * SEC,
		  (uint64_t)st.st_ino);
	snprintf(dir, sizeof(dir), "%s/b.scope", root);
	TL_CHECK(mkdir(dir, 0700) == 0 && stat(dir, &st) == 0, "b");
	put_owned(&b1, 300, 3, 0, 9990 * SEC, (uint64_t)st.st_ino);
	put_owned(&none, 40, 4, 0, 9990 * SEC, 0);
	TL_EQ_INT(units_init(&u, root), 0);
	TL_EQ_INT(sums_init(&us), 0);
	expiry_setup(&e);
	e.units = &u;
	e.sums = &us;
	TL_EQ_U64(unit_bytes(&us, "a.service", 0), ~0ull); /* no scan yet */
	/* a2 (closed 1,000 s ago) goes: it counts, once. */
	fake_boot_ns = 10000 * SEC;
	expiry_scan(&e);
	TL_EQ_U64(m.totals.entries, 1);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_INGRESS), 1000);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_EGRESS), 2000);
	TL_EQ_U64(unit_bytes(&us, "b.scope", TCPLOG_DIR_INGRESS), 300);
	TL_EQ_U64(unit_bytes(&us, NULL, TCPLOG_DIR_INGRESS), 40);
	/* Per interface (key_of: ifindex 1 + i % 3): a1 and none on 2,
	 * b1 on 1; a2 (egress) in no ingress group. */
	TL_EQ_U64(iface_packets(&us, 2), 1 + 4);
	TL_EQ_U64(iface_packets(&us, 1), 3);
	TL_EQ_U64(iface_packets(&us, 3), ~0ull);
	/* More packets on a1: the next scan has them; a2 still once. */
	put_owned(&a1, 1500, 2, 0, 9990 * SEC, a_id);
	expiry_scan(&e);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_INGRESS), 1500);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_EGRESS), 2000);
	/* reset: nothing until a scan, then the live entries only. */
	sums_reset(&us);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_INGRESS), ~0ull);
	expiry_scan(&e);
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_INGRESS), 1500);
	/* a2 went before the reset: nothing counted, left out. */
	TL_EQ_U64(unit_bytes(&us, "a.service", TCPLOG_DIR_EGRESS), ~0ull);
	TL_EQ_U64(unit_bytes(&us, "b.scope", TCPLOG_DIR_INGRESS), 300);
	expiry_free(&e);
	sums_free(&us);
	units_free(&u);
	snprintf(dir, sizeof(dir), "%s/a.service", root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/b.scope", root);
	rmdir(dir);
	rmdir(root);
}

static void test_expiry_pressure(void)
{
	struct tcplog_conn_key k;
	struct conn_rec r;
	struct expiry e;
	uint64_t entries;
	int i;

	/* 95 of 100 entries, none due: the 15 longest idle go (to 80 %). */
	expiry_setup(&e);
	fake_boot_ns = 20000 * SEC;
	for (i = 0; i < 95; i++) {
		k = key_of(i, 8080);
		put(&k, 10, 1, 0, 19000 * SEC, (19900 + (uint64_t)i) * SEC);
	}
	expiry_scan(&e);
	TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
	TL_EQ_U64(entries, 80);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 15);
	for (i = 0; i < 95; i++) {
		k = key_of(i, 8080);
		TL_EQ_INT(maps_lookup(&m, &k, &r), i < 15 ? -ENOENT : 0);
	}
}

/* At most max_batch entries a scan, for timeouts and for pressure: the
 * next scan goes on. Memory does not follow the map's size. */
static void test_expiry_batches(void)
{
	struct tcplog_conn_key k;
	struct conn_rec r;
	struct expiry e;
	uint64_t entries;
	int i;

	expiry_setup(&e);
	e.max_batch = 8;
	fake_boot_ns = 20000 * SEC;
	/* 20 idle for 400 s (due), 75 recent: 95 of 100, pressure too. */
	for (i = 0; i < 95; i++) {
		k = key_of(i, 9090);
		put(&k, 10, 1, 0, 19000 * SEC,
		    (i < 20 ? 19600 : 19990 + (uint64_t)i) * SEC);
	}
	/* More due than a batch: the next scan comes soon. */
	TL_EQ_U64(expiry_scan(&e), EXPIRY_NEXT_BATCH_MS);
	/* 8 due went; 87 left, under 90 %: no pressure. */
	TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
	TL_EQ_U64(entries, 87);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_IDLE], 8);
	TL_EQ_U64(expiry_scan(&e), EXPIRY_NEXT_BATCH_MS);
	TL_EQ_U64(expiry_scan(&e), 3000); /* the last 4: done */
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_IDLE], 20);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 0);
	/* Now pressure: 95 recent again; the 8 oldest of them go per scan. */
	for (i = 0; i < 20; i++) {
		k = key_of(100 + i, 9090);
		put(&k, 10, 1, 0, 19000 * SEC, (19950 + (uint64_t)i) * SEC);
	}
	expiry_scan(&e);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 8);
	for (i = 0; i < 8; i++) {
		k = key_of(100 + i, 9090);
		TL_EQ_INT(maps_lookup(&m, &k, &r), -ENOENT);
	}
	expiry_scan(&e);
	expiry_scan(&e);
	/* Down to 80 %: 15 removed in all (8 + 7), none more. */
	TL_EQ_INT(maps_count(&m, &entries, NULL), 0);
	TL_EQ_U64(entries, 80);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 15);
	/* Saved as well, by the scans that went on below the high mark. */
	{
		struct tcplog_totals saved;
		__u32 zero = 0;

		TL_CHECK(!bpf_map_lookup_elem(m.totals_fd, &zero, &saved),
			 "totals");
		TL_EQ_U64(saved.reason[TCPLOG_REASON_PRESSURE], 15);
		TL_EQ_U64(saved.entries, 35);
	}
}

/*
 * Records stay under journald's default rate limit, and none is lost
 * unseen: at most CONNLOG_WINDOW_MAX per 30 s window are written, the
 * rest counted; records + suppressed = entries expired, exactly.
 */
static void test_record_limit(void)
{
	struct tcplog_conn_key k;
	struct expiry e;
	uint64_t expired0;
	int i, saved_err, devnull;

	expiry_setup(&e);
	e.log_closed = true;
	fake_boot_ns = 20000 * SEC;
	fake_mono_ns = 1000 * SEC;
	for (i = 0; i < CONNLOG_WINDOW_MAX + 500; i++) {
		k = key_of(i, 7070);
		put(&k, 10, 1, TCPLOG_TCP_FIN, 19000 * SEC, 19000 * SEC);
	}
	/* (The records go to stderr here: not into the test's output.) */
	fflush(stderr);
	saved_err = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	expiry_scan(&e);
	TL_EQ_U64(e.log.records, CONNLOG_WINDOW_MAX);
	TL_EQ_U64(e.log.suppressed, 500);
	TL_EQ_U64(e.log.records + e.log.suppressed, m.totals.entries);
	/* The same window: all suppressed. */
	expired0 = m.totals.entries;
	for (i = 0; i < 100; i++) {
		k = key_of(10000 + i, 7070);
		put(&k, 10, 1, TCPLOG_TCP_RST, 19000 * SEC, 19000 * SEC);
	}
	fake_mono_ns += 10 * SEC;
	expiry_scan(&e);
	TL_EQ_U64(e.log.suppressed, 600);
	/* 30 s later a new window: written again. */
	for (i = 0; i < 100; i++) {
		k = key_of(20000 + i, 7070);
		put(&k, 10, 1, TCPLOG_TCP_RST, 19000 * SEC, 19000 * SEC);
	}
	fake_mono_ns += 30 * SEC;
	expiry_scan(&e);
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	close(devnull);
	TL_EQ_U64(e.log.records, CONNLOG_WINDOW_MAX + 100);
	TL_EQ_U64(e.log.suppressed, 600);
	TL_EQ_U64(m.totals.entries - expired0, 200);
	TL_EQ_U64(e.log.records + e.log.suppressed, m.totals.entries);
}

#define EMBRYO (TCPLOG_TCP_SYN | TCPLOG_CONN_EMBRYONIC)

/*
 * Hostile traffic: under pressure embryonic entries go first, then closed
 * ones, and only then the longest idle, so that a SYN flood cannot push
 * out an established (idle) connection. Every embryonic entry taken out
 * comes off the shared count the datapath admits by.
 */
static void test_expiry_embryonic_first(void)
{
	struct tcplog_state syn = { 0 };
	struct tcplog_conn_key k;
	struct conn_rec r;
	struct expiry e;
	int i;

	expiry_setup(&e);
	m.state = &syn;
	fake_boot_ns = 30000 * SEC;
	/* 95 of 100: 30 established idle for long (the oldest), 5 closed,
	 * 10 embryonic (the newest), 50 recent established. */
	for (i = 0; i < 95; i++) {
		uint64_t flags = i < 30 ? TCPLOG_TCP_ACK :
				 i < 35 ? TCPLOG_TCP_ACK | TCPLOG_TCP_FIN :
				 i < 45 ? EMBRYO :
					  TCPLOG_TCP_ACK;
		uint64_t last = i < 30 ? 29800 : i < 45 ? 29990 : 29900;

		k = key_of(i, 7070);
		put(&k, 60, 1, flags, 29000 * SEC, (last + (uint64_t)i) * SEC);
		syn.embryonic += (flags & TCPLOG_CONN_EMBRYONIC) != 0;
	}
	TL_EQ_U64(maps_embryonic(&m), 10);
	/* Down to 80: the 10 embryonic and the 5 closed, no other. */
	TL_EQ_U64(expiry_scan(&e), EXPIRY_NEXT_BATCH_MS);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 15);
	for (i = 0; i < 95; i++) {
		k = key_of(i, 7070);
		TL_EQ_INT(maps_lookup(&m, &k, &r),
			  i >= 30 && i < 45 ? -ENOENT : 0);
	}
	TL_EQ_U64(maps_embryonic(&m), 0);
	TL_EQ_U64(e.counts.entries, 80);
	TL_EQ_U64(e.counts.embryonic, 0);
	TL_EQ_U64(e.counts.closed, 0);
	m.state = NULL;
}

/*
 * The embryonic share (half the map): above 90 % of it the oldest
 * embryonic entries go down to 50 % of it, and no other entry, though the
 * map itself is far from full.
 */
static void test_expiry_syn_share(void)
{
	struct tcplog_state syn = { 0 };
	struct tcplog_conn_key k;
	struct conn_rec r;
	struct expiry e;
	int i;

	expiry_setup(&e);
	e.syn_timeout = 3600;
	m.state = &syn;
	fake_boot_ns = 40000 * SEC;
	/* Share of 50: 46 embryonic (over 45), 4 established. */
	for (i = 0; i < 50; i++) {
		k = key_of(i, 6060);
		put(&k, 60, 1, i < 46 ? EMBRYO : TCPLOG_TCP_ACK, 39000 * SEC,
		    (i < 46 ? 39900 + (uint64_t)i : 39990) * SEC);
		syn.embryonic += i < 46;
	}
	/* Pressing: the next scan soon. */
	TL_EQ_U64(expiry_scan(&e), EXPIRY_NEXT_BATCH_MS);
	TL_CHECK(e.syn_pressing, "pressing on the share");
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 21);
	for (i = 0; i < 50; i++) {
		k = key_of(i, 6060);
		TL_EQ_INT(maps_lookup(&m, &k, &r), i < 21 ? -ENOENT : 0);
	}
	TL_EQ_U64(maps_embryonic(&m), 25);
	TL_EQ_U64(e.counts.embryonic, 25);
	/* At the low mark: done, and back to the period. */
	TL_EQ_U64(expiry_scan(&e), 3000);
	TL_CHECK(!e.syn_pressing, "relieved");
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_PRESSURE], 21);
	/* With a syn_timeout they have all exceeded: gone, the rest stays. */
	e.syn_timeout = 50;
	expiry_scan(&e);
	TL_EQ_U64(m.totals.reason[TCPLOG_REASON_IDLE], 25);
	TL_EQ_U64(e.counts.entries, 4);
	TL_EQ_U64(maps_embryonic(&m), 0);
	m.state = NULL;
}

/* Each monotonic read is fake_mono_step after the previous one. */
static uint64_t fake_mono_step;

static uint64_t ticking_now(clockid_t id)
{
	if (id == CLOCK_MONOTONIC)
		return fake_mono_ns += fake_mono_step;
	return fake_boot_ns;
}

/*
 * A scan runs in slices of EXPIRY_SLICE_MS, each a turn of the event loop:
 * with a clock that moves, a scan of 3,000 entries takes several steps,
 * and ends where a scan at once would.
 */
static void test_expiry_slices(void)
{
	struct tcplog_conn_key k;
	uint64_t next = 0;
	struct expiry e;
	int i, steps = 1;

	expiry_setup(&e);
	e.now_ns = ticking_now;
	fake_mono_step = 1000000ull;
	fake_boot_ns = 50000 * SEC;
	for (i = 0; i < 3000; i++) {
		k = key_of(i, 5050);
		put(&k, 60, 1, i % 3 ? TCPLOG_TCP_ACK : TCPLOG_TCP_FIN,
		    49000 * SEC, (i % 2 ? 49990 : 49000) * SEC);
	}
	while (expiry_step(&e, &next))
		steps++;
	TL_CHECK(steps > 3, "%d steps", steps);
	/* Due: the idle ones (i even: 1500); the odd ones are recent, of
	 * them closed (10 s ago, before closed_timeout) i = 3 mod 6. */
	TL_EQ_U64(m.totals.entries, 1500);
	TL_EQ_U64(e.counts.entries, 1500);
	TL_EQ_U64(e.counts.closed, 500);
	TL_CHECK(next >= 1000, "next scan in %llu ms",
		 (unsigned long long)next);
}

/*
 * A scan that took long spaces the next one out (at most 2 % of a CPU):
 * each monotonic read 200 ms after the previous one.
 */
static void test_expiry_spacing(void)
{
	struct expiry e;

	expiry_setup(&e);
	e.now_ns = ticking_now;
	fake_mono_step = 200000000ull;
	TL_EQ_U64(expiry_scan(&e), 200 * 50);
}

/*
 * A daemon killed in the middle of a removal loses nothing of live +
 * expired, wherever the kill lands: before the delete (the entry is still
 * live), between the delete and the save of the totals (the record in the
 * shared state holds the value the kernel copied there: the next start
 * adds it), or after the save (nothing is added twice).
 */
static void test_take_recover(void)
{
	static struct tcplog_state st;
	struct tcplog_conn_key k1 = key_of(1, 443), k2 = key_of(2, 443);
	struct tcplog_totals saved;
	struct maps next;
	struct conn_rec r;
	int reason = -1;
	__u32 zero = 0;

	memset(&st, 0, sizeof(st));
	m.state = &st;
	put(&k1, 1000, 10, TCPLOG_TCP_ACK, SEC, 2 * SEC);
	put(&k2, 2000, 20, TCPLOG_TCP_ACK, SEC, 2 * SEC);
	/* Killed after the delete, before the save. */
	TL_EQ_INT(maps_take(&m, &k1, TCPLOG_REASON_IDLE, &r), 1);
	TL_EQ_INT(st.take.state, TCPLOG_TAKE_BUSY);
	TL_EQ_INT(maps_lookup(&m, &k1, &r), -ENOENT);
	/* The next daemon: the totals as saved (none), the same state. */
	maps_init(&next, m.conns_fd, m.percpu_fd, m.totals_fd, m.capacity);
	next.state = &st;
	TL_EQ_INT(maps_totals_load(&next), 0);
	TL_EQ_U64(next.totals.entries, 0);
	TL_EQ_INT(maps_take_recover(&next, &r, &reason), 1);
	TL_EQ_INT(reason, TCPLOG_REASON_IDLE);
	TL_EQ_U64(r.c.bytes, 1000);
	TL_EQ_U64(next.totals.entries, 1);
	TL_EQ_U64(next.totals.packets, 10);
	TL_EQ_U64(next.totals.reason[TCPLOG_REASON_IDLE], 1);
	TL_CHECK(!bpf_map_lookup_elem(m.totals_fd, &zero, &saved), "totals");
	TL_EQ_U64(saved.bytes, 1000);
	TL_EQ_INT(st.take.state, TCPLOG_TAKE_NONE);
	TL_EQ_INT(maps_take_recover(&next, &r, &reason), 0);
	/* Killed after the save, before the record was closed: nothing is
	 * added twice. */
	TL_EQ_INT(maps_take(&next, &k2, TCPLOG_REASON_FIN, &r), 1);
	TL_EQ_INT(maps_totals_save(&next), 0);
	TL_EQ_INT(st.take.state, TCPLOG_TAKE_NONE);
	st.take.state = TCPLOG_TAKE_BUSY;
	maps_init(&next, m.conns_fd, m.percpu_fd, m.totals_fd, m.capacity);
	next.state = &st;
	TL_EQ_INT(maps_totals_load(&next), 0);
	TL_EQ_INT(maps_take_recover(&next, &r, &reason), 0);
	TL_EQ_U64(next.totals.bytes, 3000);
	TL_EQ_INT(st.take.state, TCPLOG_TAKE_NONE);
	/* Killed before the delete: the record is there, the entry live
	 * and its value never copied: nothing to add. */
	put(&k1, 500, 5, TCPLOG_TCP_ACK, SEC, 2 * SEC);
	memset(&st.take, 0, sizeof(st.take));
	st.take.key = k1;
	st.take.entries_before = next.totals.entries;
	st.take.state = TCPLOG_TAKE_BUSY;
	TL_EQ_INT(maps_take_recover(&next, &r, &reason), 0);
	TL_EQ_INT(maps_lookup(&m, &k1, &r), 0);
	TL_EQ_U64(next.totals.bytes, 3000);
	m.state = NULL;
}

/* Each case gets fresh maps. */
#define CASE(fn, cap)                                                      \
	static void fn##_fresh(void)                                       \
	{                                                                  \
		if (make_maps(cap)) {                                      \
			TL_CHECK(0, "creating maps: %s", strerror(errno)); \
			return;                                            \
		}                                                          \
		fn();                                                      \
		close_maps();                                              \
	}
/* The store's folder in bpffs and its two pins. */
struct store_pins {
	char dir[64], pin[96], pend[112];
};

static void store_pins_make(struct store_pins *p)
{
	snprintf(p->dir, sizeof(p->dir), "/sys/fs/bpf/tcplog-unit-%d",
		 (int)getpid());
	snprintf(p->pin, sizeof(p->pin), "%s/sums", p->dir);
	snprintf(p->pend, sizeof(p->pend), "%s/sums_pending", p->dir);
	TL_CHECK(mkdir(p->dir, 0700) == 0, "a folder in bpffs");
}

/* The pins gone, the folder too unless @keep_dir. */
static void store_pins_remove(const struct store_pins *p, bool keep_dir)
{
	unlink(p->pin);
	unlink(p->pend);
	if (!keep_dir)
		rmdir(p->dir);
}

/*
 * The expired sums are pinned as each removal happens: a new daemon takes
 * them; a removal it recovers (its number not above the one saved with a
 * group) is not added twice; reset empties the store.
 */
static void test_sums_store(void)
{
	struct conn_rec r = { .key = key_of(5, 443) };
	struct store_pins p;
	const char *dir = p.dir;
	struct sums s;

	store_pins_make(&p);
	r.c.bytes = 700;
	r.c.ip_bytes = 600;
	r.c.packets = 7;
	r.c.segments = 9;
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, dir), 0);
	sums_removed(&s, &r, "eth9", "a.service", 41);
	sums_free(&s);
	/* A new daemon, which recovers removal 41 (already saved). */
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, dir), 0);
	sums_removed(&s, &r, "eth9", "a.service", 41);
	sums_scan_begin(&s);
	sums_scan_end(&s);
	TL_EQ_U64(unit_bytes(&s, "a.service", TCPLOG_DIR_INGRESS), 700);
	TL_EQ_U64(iface_packets(&s, r.key.ifindex), 7);
	/* The next removal counts. */
	sums_removed(&s, &r, "eth9", "a.service", 42);
	sums_scan_begin(&s);
	sums_scan_end(&s);
	TL_EQ_U64(unit_bytes(&s, "a.service", TCPLOG_DIR_INGRESS), 1400);
	sums_reset(&s);
	sums_free(&s);
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, dir), 0);
	sums_scan_begin(&s);
	sums_scan_end(&s);
	TL_EQ_U64(unit_bytes(&s, "a.service", TCPLOG_DIR_INGRESS), ~0ull);
	sums_free(&s);
	store_pins_remove(&p, false);
}

/* The store's map is mapped memory (no system call per removal). */
static bool store_mapped(const char *pin)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(pin);
	bool ok = fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		  (info.map_flags & BPF_F_MMAPABLE);

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * A daemon killed in the middle of saving a removal's two groups: after
 * the record was armed, with the first slot written and the second torn
 * (the copy had written its removal number, not yet its counts), the next
 * start completes the record; before the arming (neither slot written),
 * the next start adds the recovered removal itself. Either way the
 * removal is counted once in both groups. A store an older daemon wrote
 * with bpf() calls, not mapped, is taken and replaced by a mapped one.
 */
static void test_sums_store_kill(void)
{
	struct conn_rec r = { .key = key_of(5, 443) };
	struct sums_saved before[2];
	struct store_pins p;
	const char *dir = p.dir, *pin = p.pin;
	struct sums s;
	int armed, fd, i;

	store_pins_make(&p);
	r.c.bytes = 700;
	r.c.packets = 7;
	for (armed = 0; armed < 2; armed++) {
		TL_EQ_INT(sums_init(&s), 0);
		TL_EQ_INT(sums_store_open(&s, dir), 0);
		TL_CHECK(store_mapped(pin), "the store is mapped");
		sums_removed(&s, &r, "eth9", "a.service", 41);
		/* Removal 42 saved, then the "kill" undone by hand: both
		 * slots back as they were, the second one only if armed. */
		/* The only two groups: slots 0 and 1. */
		before[0] = s.store[0];
		before[1] = s.store[1];
		sums_removed(&s, &r, "eth9", "a.service", 42);
		TL_EQ_U64(s.store[0].removal, 42);
		TL_EQ_U64(s.store[1].removal, 42);
		TL_EQ_INT((int)s.pending->armed, 0);
		TL_EQ_INT((int)s.pending->n, 2);
		if (armed) {
			s.store[1].c = before[1].c;
			s.pending->armed = 1;
		} else {
			s.store[0] = before[0];
			s.store[1] = before[1];
		}
		sums_free(&s);
		/* The next daemon recovers removal 42. */
		TL_EQ_INT(sums_init(&s), 0);
		TL_EQ_INT(sums_store_open(&s, dir), 0);
		TL_EQ_INT((int)s.pending->armed, 0);
		sums_removed(&s, &r, "eth9", "a.service", 42);
		sums_scan_begin(&s);
		sums_scan_end(&s);
		TL_EQ_U64(unit_bytes(&s, "a.service", TCPLOG_DIR_INGRESS),
			  1400);
		TL_EQ_U64(iface_packets(&s, r.key.ifindex), 14);
		sums_reset(&s);
		sums_free(&s);
		store_pins_remove(&p, true);
	}

	/* The older daemon's store: an array written with bpf() calls. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sums", sizeof(uint32_t),
			    sizeof(struct sums_saved),
			    SUMS_IFACE_MAX + SUMS_UNIT_MAX + 2, NULL);
	TL_CHECK(fd >= 0, "an unmapped store: %s", strerror(errno));
	memset(&before[0], 0, sizeof(before[0]));
	before[0].key.kind = SUMS_UNIT;
	before[0].key.direction = TCPLOG_DIR_INGRESS;
	strcpy(before[0].key.unit, "old.service");
	before[0].removal = 9;
	before[0].c.bytes = 4242;
	before[0].used = 1;
	i = 0;
	TL_EQ_INT(bpf_map_update_elem(fd, &i, &before[0], BPF_ANY), 0);
	TL_EQ_INT(bpf_obj_pin(fd, pin), 0);
	close(fd);
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, dir), 0);
	TL_CHECK(store_mapped(pin), "the older store replaced by a mapped one");
	TL_EQ_U64(s.store[0].c.bytes, 4242);
	sums_free(&s);
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, dir), 0);
	sums_scan_begin(&s);
	sums_scan_end(&s);
	TL_EQ_U64(unit_bytes(&s, "old.service", TCPLOG_DIR_INGRESS), 4242);
	sums_free(&s);
	store_pins_remove(&p, false);
}

/*
 * The pinned names map full (the program's ids took its room): a unit is
 * still named while the daemon runs, and the full map is noted (logged
 * once) instead of failing in silence.
 */
static void test_units_map_full(void)
{
	char root[] = "/tmp/tcplog-units-XXXXXX", dir[300];
	struct tcplog_unit v = { .name = "" };
	__u64 program_id = 12345;
	struct units u;
	struct stat st;
	int fd;

	TL_CHECK(mkdtemp(root) != NULL, "mkdtemp");
	snprintf(dir, sizeof(dir), "%s/a.service", root);
	TL_CHECK(mkdir(dir, 0700) == 0 && stat(dir, &st) == 0, "a");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "units", sizeof(__u64),
			    sizeof(v), 1, NULL);
	TL_CHECK(fd >= 0, "a names map of one: %s", strerror(errno));
	TL_EQ_INT(bpf_map_update_elem(fd, &program_id, &v, BPF_NOEXIST), 0);
	TL_EQ_INT(units_init(&u, root), 0);
	TL_EQ_INT(units_use_map(&u, fd), 0);
	TL_EQ_INT(u.map_full, false);
	units_note(&u, (uint64_t)st.st_ino);
	units_flush(&u);
	TL_EQ_INT(u.map_full, true);
	TL_EQ_STR(units_name(&u, (uint64_t)st.st_ino), "a.service");
	units_free(&u);
	close(fd);
	rmdir(dir);
	rmdir(root);
}

/* The id of the map pinned at @pin, 0 if none. */
static uint32_t pinned_id(const char *pin)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(pin);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	if (fd >= 0)
		close(fd);
	return info.id;
}

/*
 * A store with a group in two slots (never written so, but a store is
 * input: an older copy left behind): the later removal wins, and the
 * groups go to a new store renamed over the old one (a rewrite in place
 * could be torn by a kill), each once, in order.
 */
static void test_sums_store_order(void)
{
	struct conn_rec r = { .key = key_of(5, 443) };
	struct store_pins p;
	struct sums s;
	uint32_t id;

	store_pins_make(&p);
	r.c.bytes = 700;
	r.c.packets = 7;
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, p.dir), 0);
	sums_removed(&s, &r, "eth9", "a.service", 41);
	sums_removed(&s, &r, "eth9", "a.service", 42);
	/* Slots 0 and 1 (the interface, the unit); an older copy of the
	 * unit's after them. */
	TL_EQ_U64(s.store[1].c.bytes, 1400);
	s.store[2] = s.store[1];
	s.store[2].removal = 41;
	s.store[2].c.bytes = 700;
	sums_free(&s);
	id = pinned_id(p.pin);
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, p.dir), 0);
	TL_CHECK(pinned_id(p.pin) != id && pinned_id(p.pin),
		 "a new store in place of the old");
	TL_CHECK(store_mapped(p.pin), "mapped");
	TL_EQ_U64(s.store[1].c.bytes, 1400);
	TL_EQ_INT((int)s.store[2].used, 0);
	sums_scan_begin(&s);
	sums_scan_end(&s);
	TL_EQ_U64(unit_bytes(&s, "a.service", TCPLOG_DIR_INGRESS), 1400);
	TL_EQ_U64(iface_packets(&s, r.key.ifindex), 14);
	sums_free(&s);
	/* In order now: the next start keeps the store. */
	id = pinned_id(p.pin);
	TL_EQ_INT(sums_init(&s), 0);
	TL_EQ_INT(sums_store_open(&s, p.dir), 0);
	TL_EQ_U64(pinned_id(p.pin), id);
	sums_free(&s);
	store_pins_remove(&p, false);
}

/*
 * The exposition: label values escaped as the text format wants them
 * (backslash, double quote, newline), an interface made again under its
 * name one series, one never named "ifindex:N", the socket's answer the
 * same text.
 */
static void test_metrics_text(void)
{
	struct conn_rec a = { .key = key_of(1, 80) },
			b = { .key = key_of(4, 80) },
			c = { .key = key_of(2, 80) };
	struct expiry_counts counts = {
		.entries = 3, .closed = 1, .embryonic = 1, .at_ms = 1
	};
	struct metrics_src src = { .maps = &m, .counts = &counts };
	struct sums s;
	char *text = NULL;
	size_t len = 0;

	TL_EQ_INT(sums_init(&s), 0);
	src.sums = &s;
	a.c.bytes = 100;
	b.c.bytes = 20; /* key_of(4): ifindex 2 as a, another connection */
	b.key.ifindex = 7;
	c.c.bytes = 3;
	c.key.ifindex = 9;
	sums_scan_begin(&s);
	sums_walked(&s, &a, "eth0", "we\\ird\"unit\n.service");
	sums_walked(&s, &b, "eth0", NULL);
	sums_walked(&s, &c, "", NULL);
	sums_scan_end(&s);
	TL_EQ_INT(metrics_render(&src, &text, &len), 0);
	TL_EQ_U64(len, strlen(text));
	TL_CHECK(
		strstr(text,
		       "tcplogger_unit_bytes_total{unit=\"we\\\\ird\\\"unit\\n.service\",direction=\"ingress\"} 100\n") !=
			NULL,
		"escaped unit label: %s", text);
	TL_CHECK(
		strstr(text,
		       "tcplogger_bytes_total{iface=\"eth0\",direction=\"ingress\",family=\"ipv4\"} 120\n") !=
			NULL,
		"eth0 made again: one series");
	TL_CHECK(strstr(text, "tcplogger_bytes_total{iface=\"ifindex:9\",") !=
			 NULL,
		 "an interface never named");
	TL_CHECK(strstr(text, "tcplogger_connections{state=\"open\"} 1\n") !=
			 NULL,
		 "open = entries - closed - embryonic");
	TL_CHECK(strstr(text, "# TYPE tcplogger_bytes_total counter\n") != NULL,
		 "TYPE lines");
	free(text);
	sums_free(&s);
}

CASE(test_walk_count_lookup, 8192)
CASE(test_walk_exact_above_2_53, 16)
CASE(test_take_and_totals, 16)
CASE(test_take_recover, 16)
CASE(test_stats_and_reset, 64)
CASE(test_reset_failure, 16)
CASE(test_api_reset, 16)
CASE(test_health_window, 16)
CASE(test_snapshot, 8192)
CASE(test_sort_budget, 8192)
CASE(test_connection_view, 64)
CASE(test_expiry_decisions, 16)
CASE(test_expiry_scan, 64)
CASE(test_sums, 64)
CASE(test_expiry_pressure, 100)
CASE(test_expiry_spacing, 16)
CASE(test_expiry_embryonic_first, 100)
CASE(test_expiry_syn_share, 100)
CASE(test_expiry_slices, 4096)
CASE(test_expiry_batches, 100)
CASE(test_record_limit, 8192)

int main(void)
{
	static const struct tl_case cases[] = {
		{ "walk, count, lookup", test_walk_count_lookup_fresh },
		{ "counts exact above 2^53", test_walk_exact_above_2_53_fresh },
		{ "take into the totals; save, load",
		  test_take_and_totals_fresh },
		{ "a kill mid-removal loses nothing", test_take_recover_fresh },
		{ "per-CPU sum; reset keeps the clock cache",
		  test_stats_and_reset_fresh },
		{ "a reset that cannot write fails", test_reset_failure_fresh },
		{ "the API's reset: root only, an error when a write fails",
		  test_api_reset_fresh },
		{ "insert failures of the last five minutes",
		  test_health_window_fresh },
		{ "snapshot filters, sorts, limits", test_snapshot_fresh },
		{ "bytes per unit: live + expired, once", test_sums_fresh },
		{ "the expired sums pinned: across restarts, once",
		  test_sums_store },
		{ "the pinned sums: a kill mid-save, an older store",
		  test_sums_store_kill },
		{ "sums store: a group in two slots, put in order",
		  test_sums_store_order },
		{ "units: the pinned names map full", test_units_map_full },
		{ "the Prometheus text: labels escaped, series merged",
		  test_metrics_text },
		{ "the connection view: merged, opener, state, unit",
		  test_connection_view_fresh },
		{ "a cgroup path's unit", test_unit_of_path },
		{ "sorting shares one memory budget; busy beyond it",
		  test_sort_budget_fresh },
		{ "expiry decisions", test_expiry_decisions_fresh },
		{ "expiry scan with a fake clock", test_expiry_scan_fresh },
		{ "expiry under pressure", test_expiry_pressure_fresh },
		{ "expiry spacing after a long scan",
		  test_expiry_spacing_fresh },
		{ "embryonic, then closed entries go first under pressure",
		  test_expiry_embryonic_first_fresh },
		{ "embryonic entries kept within their share",
		  test_expiry_syn_share_fresh },
		{ "a scan in slices ends where one at once does",
		  test_expiry_slices_fresh },
		{ "expiry in batches of at most max_batch",
		  test_expiry_batches_fresh },
		{ "records under journald's rate limit, none lost unseen",
		  test_record_limit_fresh },
	};
	int fd;

	ncpus = libbpf_num_possible_cpus();
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_probe", 4, 4, 1, NULL);
	if (fd < 0)
		tl_skip("cannot create BPF maps (%s): needs CAP_BPF",
			strerror(errno));
	close(fd);
	return TL_RUN(cases);
}
