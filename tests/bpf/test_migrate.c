// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_migrate.c - the upgrade from map layouts 1 and 2 (daemon/migrate.c)
 * on real maps in a bpffs folder of its own: entries carried over with
 * exactly the counts they had (4 GiB carries and 2^32 wraps included) and
 * no owner, an entry the new program already counted folded into the
 * totals with reason "upgrade", the old totals added, a removal the old
 * daemon did not finish recovered, the old folder removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "conn.h"
#include "layout_v1.h"
#include "layout_v2.h"
#include "log.h"
#include "migrate.h"
#include "tcplogger.h"
#include "testlib.h"

static struct pins pins;
static char v1_dir[300], v2_dir[300];

static int map_sized(const char *dir, const char *name, enum bpf_map_type type,
		     __u32 ksize, __u32 vsize, __u32 entries)
{
	char path[400];
	int fd = bpf_map_create(type, NULL, ksize, vsize, entries, NULL);

	TL_CHECK(fd >= 0, "map create: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (dir[0])
		TL_CHECK(bpf_obj_pin(fd, path) == 0, "pin %s: %s", path,
			 strerror(errno));
	return fd;
}

static int map_in(const char *dir, const char *name, enum bpf_map_type type,
		  __u32 ksize, __u32 vsize)
{
	return map_sized(dir, name, type, ksize, vsize, 64);
}

static void v1_key(struct v1_conn_key *k, int n)
{
	memset(k, 0, sizeof(*k));
	k->src_addr[0] = 198;
	k->src_addr[1] = 18;
	k->src_addr[3] = (__u8)n;
	k->dst_addr[0] = 198;
	k->dst_addr[1] = 18;
	k->dst_addr[3] = 200;
	k->ifindex = 7;
	k->src_port = htons((__u16)(40000 + n));
	k->dst_port = htons(443);
	k->family = TCPLOG_FAMILY_IPV4;
}

static void v2_key_of(struct tcplog_conn_key *k, const struct v1_conn_key *o)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src_addr, o->src_addr, 16);
	memcpy(k->dst_addr, o->dst_addr, 16);
	k->ifindex = o->ifindex;
	k->src_port = o->src_port;
	k->dst_port = o->dst_port;
	k->family = o->family;
}

/*
 * Raw layout 1 and 2 values as the datapath leaves them, and the counts they
 * stand for (worked out by hand from the encoding in tcplogger.h).
 */
static const struct {
	struct v2_conn_val raw;
	__u64 bytes, packets, segments, ip_bytes;
} olds[] = {
	/* 3 packets, 1,500 bytes, 14 bytes of L2 each. */
	{ .raw = { .counter = (3ull << 32) | 1500,
		   .l2_len = 14,
		   .tcp_flags = TCPLOG_TCP_ACK,
		   .first_seen_ns = 10,
		   .last_seen_ns = 20 },
	  .bytes = 1500,
	  .packets = 3,
	  .segments = 3,
	  .ip_bytes = 1458 },
	/* 5 GiB + 7 bytes in 1,000 packets: one 4 GiB carry. */
	{ .raw = { .counter = (1001ull << 32) | ((1ull << 30) + 7),
		   .bytes_carries = 1,
		   .gso_extra = 500,
		   .l2_len = 18,
		   .tcp_flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK,
		   .first_seen_ns = 30,
		   .last_seen_ns = 40 },
	  .bytes = 5ull * 1024 * 1024 * 1024 + 7,
	  .packets = 1000,
	  .segments = 1500,
	  .ip_bytes = 5ull * 1024 * 1024 * 1024 + 7 - 18000 },
	/* 2^32 + 5 packets (a wrap), 9 carries, l2_extra 4. */
	{ .raw = { .counter = (14ull << 32) | 99,
		   .bytes_carries = 9,
		   .counter_wraps = 1,
		   .l2_extra = 4,
		   .l2_len = 14,
		   .tcp_flags = TCPLOG_TCP_FIN | TCPLOG_TCP_ACK,
		   .first_seen_ns = 50,
		   .last_seen_ns = 60 },
	  .bytes = 9ull * (1ull << 32) + 99,
	  .packets = (1ull << 32) + 5,
	  .segments = (1ull << 32) + 5,
	  .ip_bytes = 9ull * (1ull << 32) + 99 - ((1ull << 32) + 5) * 14 - 4 },
};

#define NOLD (sizeof(olds) / sizeof(olds[0]))

/* Old entry @i is in the new map with exactly its counts, no owner. */
static void expect_carried(int new_conns, int i)
{
	struct tcplog_conn_counts c;
	struct tcplog_conn_key nk;
	struct tcplog_conn_val nv;
	struct v1_conn_key ok;

	v1_key(&ok, i);
	v2_key_of(&nk, &ok);
	TL_CHECK(bpf_map_lookup_elem(new_conns, &nk, &nv) == 0,
		 "entry %d carried over", i);
	tcplog_conn_derive(&nv, &c);
	TL_EQ_U64(c.bytes, olds[i].bytes);
	TL_EQ_U64(c.packets, olds[i].packets);
	TL_EQ_U64(c.segments, olds[i].segments);
	TL_EQ_U64(c.ip_bytes, olds[i].ip_bytes);
	TL_EQ_U64(c.tcp_flags, olds[i].raw.tcp_flags);
	TL_EQ_U64(c.first_seen_ns, olds[i].raw.first_seen_ns);
	TL_EQ_U64(c.last_seen_ns, olds[i].raw.last_seen_ns);
	TL_EQ_U64(nv.cgroup_id, 0);
}

static void test_migrate(void)
{
	int old_conns, old_totals, new_conns, new_totals, i;
	struct tcplog_conn_val already = { .counter = (2ull << 32) | 120,
					   .l2_len = 14 };
	struct v1_totals ot = { .entries = 4,
				.bytes = 1000,
				.ip_bytes = 900,
				.packets = 10,
				.segments = 12,
				.reason = { 1, 1, 1, 1 } };
	struct tcplog_totals t;
	struct maps m;
	struct tcplog_conn_counts c;
	struct migrate_result res;
	struct tcplog_conn_key nk;
	struct tcplog_conn_val nv;
	struct tcplog_clock clock = { 0 };
	struct v1_conn_key ok;
	__u32 zero = 0;

	old_conns = map_in(v1_dir, "conns", BPF_MAP_TYPE_HASH,
			   sizeof(struct v1_conn_key),
			   sizeof(struct v2_conn_val));
	old_totals = map_in(v1_dir, "totals", BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct v1_totals));
	new_conns = map_in("", "", BPF_MAP_TYPE_HASH,
			   sizeof(struct tcplog_conn_key),
			   sizeof(struct tcplog_conn_val));
	new_totals = map_in("", "", BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct tcplog_totals));
	for (i = 0; i < (int)NOLD; i++) {
		v2_val_upgrade(&olds[i].raw, &nv);
		tcplog_conn_derive(&nv, &c);
		TL_EQ_U64(c.bytes, olds[i].bytes);
		TL_EQ_U64(c.packets, olds[i].packets);
		TL_EQ_U64(c.segments, olds[i].segments);
		TL_EQ_U64(c.ip_bytes, olds[i].ip_bytes);
		v1_key(&ok, i);
		TL_CHECK(bpf_map_update_elem(old_conns, &ok, &olds[i].raw, 0) ==
				 0,
			 "old entry %d", i);
	}
	TL_CHECK(bpf_map_update_elem(old_totals, &zero, &ot, 0) == 0,
		 "old totals");
	/* The new program already counted connection 1 after the swap. */
	v1_key(&ok, 1);
	v2_key_of(&nk, &ok);
	TL_CHECK(bpf_map_update_elem(new_conns, &nk, &already, 0) == 0,
		 "new entry");

	maps_init(&m, new_conns, -1, new_totals, 16);
	TL_EQ_INT(maps_totals_load(&m), 0);
	TL_EQ_INT(migrate_counts(&pins, &m, &clock, &res), 0);
	TL_EQ_INT(res.moved, 2);
	TL_EQ_INT(res.folded, 1);

	/* Carried over: exactly the counts, times and flags they had. */
	for (i = 0; i < (int)NOLD; i += 2)
		expect_carried(new_conns, i);
	/* Not overwritten: the new program's entry is as it was. */
	v1_key(&ok, 1);
	v2_key_of(&nk, &ok);
	TL_CHECK(bpf_map_lookup_elem(new_conns, &nk, &nv) == 0 &&
			 !memcmp(&nv, &already, sizeof(nv)),
		 "the new program's entry is untouched");

	/* Totals: the old ones plus the folded entry. */
	TL_CHECK(bpf_map_lookup_elem(new_totals, &zero, &t) == 0, "totals");
	TL_EQ_U64(t.entries, 4 + 1);
	TL_EQ_U64(t.bytes, 1000 + olds[1].bytes);
	TL_EQ_U64(t.ip_bytes, 900 + olds[1].ip_bytes);
	TL_EQ_U64(t.packets, 10 + olds[1].packets);
	TL_EQ_U64(t.segments, 12 + olds[1].segments);
	TL_EQ_U64(t.reason[TCPLOG_REASON_FIN], 1);
	TL_EQ_U64(t.reason[TCPLOG_REASON_PRESSURE], 1);
	TL_EQ_U64(t.reason[TCPLOG_REASON_UPGRADE], 1);

	TL_CHECK(access(v1_dir, F_OK) != 0, "the old layout's folder is gone");
	close(old_conns);
	close(old_totals);
	close(new_conns);
	close(new_totals);
}

/*
 * A new map too small for the old entries (max_connections lowered with
 * the upgrade): what it refuses is folded into the totals, nothing lost.
 */
static void test_refused(void)
{
	int old_conns, new_conns, new_totals, i;
	struct migrate_result res;
	struct tcplog_clock clock = { 0 };
	struct tcplog_totals t;
	struct maps m;
	struct v1_conn_key ok;
	__u64 bytes = 0, packets = 0;
	__u32 zero = 0;

	TL_CHECK(mkdir(v1_dir, 0700) == 0, "mkdir %s", v1_dir);
	old_conns = map_in(v1_dir, "conns", BPF_MAP_TYPE_HASH,
			   sizeof(struct v1_conn_key),
			   sizeof(struct v2_conn_val));
	new_conns = map_sized("", "", BPF_MAP_TYPE_HASH,
			      sizeof(struct tcplog_conn_key),
			      sizeof(struct tcplog_conn_val), 1);
	new_totals = map_in("", "", BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct tcplog_totals));
	for (i = 0; i < (int)NOLD; i++) {
		v1_key(&ok, i);
		TL_CHECK(bpf_map_update_elem(old_conns, &ok, &olds[i].raw, 0) ==
				 0,
			 "old entry %d", i);
		bytes += olds[i].bytes;
		packets += olds[i].packets;
	}
	maps_init(&m, new_conns, -1, new_totals, 16);
	TL_EQ_INT(maps_totals_load(&m), 0);
	TL_EQ_INT(migrate_counts(&pins, &m, &clock, &res), 0);
	TL_EQ_INT(res.moved, 1);
	TL_EQ_INT(res.folded, 0);
	TL_EQ_INT(res.refused, 2);
	/* One entry in the map, two in the totals: all the bytes. */
	TL_CHECK(bpf_map_lookup_elem(new_totals, &zero, &t) == 0, "totals");
	TL_EQ_U64(t.entries, 2);
	TL_EQ_U64(t.reason[TCPLOG_REASON_UPGRADE], 2);
	for (i = 0; i < (int)NOLD; i++) {
		struct tcplog_conn_key nk;
		struct tcplog_conn_val nv;
		struct tcplog_conn_counts c;

		v1_key(&ok, i);
		v2_key_of(&nk, &ok);
		if (bpf_map_lookup_elem(new_conns, &nk, &nv))
			continue;
		tcplog_conn_derive(&nv, &c);
		TL_EQ_U64(t.bytes + c.bytes, bytes);
		TL_EQ_U64(t.packets + c.packets, packets);
	}
	TL_CHECK(access(v1_dir, F_OK) != 0, "the old layout's folder is gone");
	close(old_conns);
	close(new_conns);
	close(new_totals);
}

/*
 * From layout 2 (the key and the totals as now, the value without the
 * owner), with the old daemon killed in the middle of a removal: the
 * entry was out of the map, its value in the old shared state, the old
 * totals not saved yet. Everything ends in the new map or the totals.
 */
static void test_from_v2(void)
{
	int old_conns, old_totals, old_state, new_conns, new_totals, i;
	struct tcplog_totals ot = { .entries = 7,
				    .bytes = 7000,
				    .ip_bytes = 6000,
				    .packets = 70,
				    .segments = 71,
				    .reason = { 2, 2, 1, 1, 1 } };
	struct migrate_result res;
	struct tcplog_clock clock = { 0 };
	struct tcplog_conn_key nk;
	struct tcplog_totals t;
	struct v2_state st = { 0 };
	struct v1_conn_key ok;
	struct maps m;
	__u32 zero = 0;

	TL_CHECK(mkdir(v2_dir, 0700) == 0, "mkdir %s", v2_dir);
	old_conns = map_in(v2_dir, "conns", BPF_MAP_TYPE_HASH,
			   sizeof(struct tcplog_conn_key),
			   sizeof(struct v2_conn_val));
	old_totals = map_in(v2_dir, "totals", BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct tcplog_totals));
	old_state = map_in(v2_dir, "state", BPF_MAP_TYPE_ARRAY, 4,
			   sizeof(struct v2_state));
	new_conns = map_in("", "", BPF_MAP_TYPE_HASH,
			   sizeof(struct tcplog_conn_key),
			   sizeof(struct tcplog_conn_val));
	new_totals = map_in("", "", BPF_MAP_TYPE_ARRAY, 4,
			    sizeof(struct tcplog_totals));
	for (i = 0; i < 2; i++) {
		v1_key(&ok, i);
		v2_key_of(&nk, &ok);
		TL_CHECK(bpf_map_update_elem(old_conns, &nk, &olds[i].raw, 0) ==
				 0,
			 "old entry %d", i);
	}
	TL_CHECK(bpf_map_update_elem(old_totals, &zero, &ot, 0) == 0,
		 "old totals");
	/* Entry 2 was being removed (reason idle) when the kill came. */
	st.take.state = TCPLOG_TAKE_BUSY;
	st.take.reason = TCPLOG_REASON_IDLE;
	st.take.entries_before = ot.entries;
	v1_key(&ok, 2);
	v2_key_of(&st.take.key, &ok);
	st.take.val = olds[2].raw;
	TL_CHECK(bpf_map_update_elem(old_state, &zero, &st, 0) == 0,
		 "old state");

	maps_init(&m, new_conns, -1, new_totals, 16);
	TL_EQ_INT(maps_totals_load(&m), 0);
	TL_EQ_INT(migrate_counts(&pins, &m, &clock, &res), 0);
	TL_EQ_INT(res.moved, 2);
	TL_EQ_INT(res.folded, 0);
	for (i = 0; i < 2; i++)
		expect_carried(new_conns, i);
	/* The old totals and the unfinished removal. */
	TL_CHECK(bpf_map_lookup_elem(new_totals, &zero, &t) == 0, "totals");
	TL_EQ_U64(t.entries, 7 + 1);
	TL_EQ_U64(t.bytes, 7000 + olds[2].bytes);
	TL_EQ_U64(t.ip_bytes, 6000 + olds[2].ip_bytes);
	TL_EQ_U64(t.packets, 70 + olds[2].packets);
	TL_EQ_U64(t.segments, 71 + olds[2].segments);
	TL_EQ_U64(t.reason[TCPLOG_REASON_IDLE], 1 + 1);
	TL_EQ_U64(t.reason[TCPLOG_REASON_UPGRADE], 1);
	TL_CHECK(access(v2_dir, F_OK) != 0, "the old layout's folder is gone");
	close(old_conns);
	close(old_totals);
	close(old_state);
	close(new_conns);
	close(new_totals);
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "layout 1 -> 3: carried over, folded, totals added",
		  test_migrate },
		{ "layout 1 -> 3 into a smaller map: refused entries folded",
		  test_refused },
		{ "layout 2 -> 3: carried over, an unfinished removal "
		  "recovered",
		  test_from_v2 },
	};
	int ret;

	if (geteuid() != 0)
		tl_skip("needs root (BPF maps, bpffs)");
	log_init(LOG_WARNING);
	snprintf(pins.root, sizeof(pins.root), "/sys/fs/bpf/tcplog-migrate-%d",
		 (int)getpid());
	snprintf(pins.dir, sizeof(pins.dir), "%s/v3", pins.root);
	snprintf(v1_dir, sizeof(v1_dir), "%s/v1", pins.root);
	snprintf(v2_dir, sizeof(v2_dir), "%s/v2", pins.root);
	if (mkdir(pins.root, 0700) || mkdir(v1_dir, 0700))
		tl_skip("cannot make a folder in /sys/fs/bpf: %s",
			strerror(errno));
	ret = TL_RUN(cases);
	pins_remove_dir(pins.root);
	return ret;
}
