// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* migrate.c - carrying the previous map layout's pins and counts over. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "conn.h"
#include "connlog.h"
#include "layout_v1.h"
#include "layout_v2.h"
#include "log.h"
#include "migrate.h"
#include "tcplogger.h"

_Static_assert(TCPLOG_ABI_VERSION == 3,
	       "a new layout: teach migrate.c the one before it");

/*
 * The layouts an upgrade starts from, newest first: one release may be
 * skipped. Both had layout 2's value; layout 1 also an older key and
 * totals with fewer reasons.
 */
struct old_layout {
	const char *name;
	__u32 key_size;
	unsigned int reasons; /* in its totals */
	size_t state_size; /* its shared state map; 0: it had none */
};

static const struct old_layout old_layouts[] = {
	{ V2_LAYOUT, sizeof(struct tcplog_conn_key), TCPLOG_REASON_MAX,
	  sizeof(struct v2_state) },
	{ V1_LAYOUT, sizeof(struct v1_conn_key), V1_REASONS, 0 },
};

static void old_dir(const struct pins *p, const struct old_layout *o, char *buf,
		    size_t size)
{
	snprintf(buf, size, "%s/%s", p->root, o->name);
}

/* Key and value size of the map pinned at @path; -errno if none. */
static int map_layout(const char *path, __u32 *key_size, __u32 *value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	close(fd);
	*key_size = info.key_size;
	*value_size = info.value_size;
	return err;
}

/* Renames @from to @to unless @to exists; logs a failure. */
static void move_pin(const char *from, const char *to)
{
	if (access(to, F_OK) == 0)
		return;
	if (rename(from, to))
		log_warn("Cannot move the pin %s to %s: %s", from, to,
			 strerror(errno));
}

/* The old layout pinned under @p's root, if any. */
static const struct old_layout *find_old(const struct pins *p)
{
	char dir[300], path[400];
	__u32 ks = 0, vs = 0;
	size_t i;

	for (i = 0; i < sizeof(old_layouts) / sizeof(old_layouts[0]); i++) {
		old_dir(p, &old_layouts[i], dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/conns", dir);
		if (map_layout(path, &ks, &vs))
			continue;
		if (ks == old_layouts[i].key_size &&
		    vs == sizeof(struct v2_conn_val))
			return &old_layouts[i];
		log_warn("The pins in %s have an unknown layout (key %u, "
			 "value %u bytes): not upgrading from them",
			 dir, ks, vs);
	}
	return NULL;
}

int migrate_pins(const struct pins *p)
{
	char dir[300], from[600], to[600];
	const struct old_layout *o = find_old(p);
	struct dirent *de;
	DIR *d;

	if (!o)
		return 0;
	old_dir(p, o, dir, sizeof(dir));
	log_notice("Upgrading from map layout %s in %s to " PINS_LAYOUT
		   ": the program is swapped in place and every count is "
		   "carried over",
		   o->name, dir);

	snprintf(from, sizeof(from), "%s/att", dir);
	d = opendir(from);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(from, sizeof(from), "%s/att/%s", dir,
				 de->d_name);
			snprintf(to, sizeof(to), "%s/%s", p->att, de->d_name);
			move_pin(from, to);
		}
		closedir(d);
	}
	/* Same layout: adopted by the loader, the statistics continue. */
	snprintf(from, sizeof(from), "%s/percpu", dir);
	snprintf(to, sizeof(to), "%s/percpu", p->dir);
	move_pin(from, to);
	return 1;
}

struct drain_ctx {
	const struct old_layout *o;
	int old_fd;
	struct maps *maps; /* the new layout's maps, through their owner */
	const struct tcplog_clock *clock;
	struct migrate_result *res;
};

/*
 * Moves the entry @ok (layout 1) out of the old map into the new one, or
 * folds it into the totals, saved at once: the entry is gone from the old
 * map, so a crash right after must not lose it.
 */
/* @ok (a key of layout @o) in this layout's form. */
static void key_upgrade(const struct old_layout *o, const void *ok,
			struct tcplog_conn_key *key)
{
	const struct v1_conn_key *k1 = ok;

	if (o->key_size == sizeof(*key)) {
		memcpy(key, ok, sizeof(*key));
		return;
	}
	memset(key, 0, sizeof(*key));
	memcpy(key->src_addr, k1->src_addr, 16);
	memcpy(key->dst_addr, k1->dst_addr, 16);
	key->ifindex = k1->ifindex;
	key->src_port = k1->src_port;
	key->dst_port = k1->dst_port;
	key->direction = k1->direction;
	key->family = k1->family;
}

/* Into the totals, saved at once, with a journal record. */
static void fold_one(const struct drain_ctx *c, struct conn_rec *r,
		     const struct tcplog_conn_val *val, int reason)
{
	char ifname[IF_NAMESIZE];
	int err;

	tcplog_conn_derive(val, &r->c);
	maps_fold(c->maps, r, reason);
	err = maps_totals_save(c->maps);
	if (err)
		log_warn("Cannot save the expired totals: %s", strerror(-err));
	if (!if_indextoname(r->key.ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "%u", r->key.ifindex);
	/* Carried-over entries have no owner: layout 2 did not record it. */
	connlog_record(r, reason, c->clock, ifname, NULL);
}

/*
 * Moves the entry @ok (of the old layout) out of the old map into the new
 * one, or folds it into the totals, saved at once: the entry is gone from
 * the old map, so a crash right after must not lose it.
 */
static void move_entry(const struct drain_ctx *c, const void *ok)
{
	struct tcplog_conn_val val;
	struct v2_conn_val oval;
	struct conn_rec r;
	int err;

	if (bpf_map_lookup_and_delete_elem(c->old_fd, ok, &oval))
		return; /* gone meanwhile */
	key_upgrade(c->o, ok, &r.key);
	v2_val_upgrade(&oval, &val);
	/* NOEXIST: never overwrite what the new program counted. */
	err = maps_insert_new(c->maps, &r.key, &val);
	if (!err) {
		c->res->moved++;
		return;
	}
	if (err == -EEXIST)
		c->res->folded++;
	else
		c->res->refused++; /* the new map is full, say */
	fold_one(c, &r, &val, TCPLOG_REASON_UPGRADE);
}

/*
 * One pass over the old map: each entry is deleted once the walk has moved
 * past it (a walk restarted after every delete would rescan all buckets).
 * Returns the number of entries seen.
 */
static long drain(const struct drain_ctx *c)
{
	unsigned char prev[sizeof(struct tcplog_conn_key)];
	unsigned char next[sizeof(struct tcplog_conn_key)];
	bool have_prev = false;
	long seen = 0;

	while (bpf_map_get_next_key(c->old_fd, have_prev ? prev : NULL, next) ==
	       0) {
		if (have_prev) {
			move_entry(c, prev);
			seen++;
		}
		memcpy(prev, next, c->o->key_size);
		have_prev = true;
	}
	if (have_prev) {
		move_entry(c, prev);
		seen++;
	}
	return seen;
}

/*
 * A removal of the old daemon cut by a kill (struct tcplog_take): its
 * value was in the old shared state only, and the old totals not saved
 * with it yet. Folded like the old daemon's next start would have.
 */
static void recover_old_take(const struct drain_ctx *c, const char *dir,
			     __u64 old_entries)
{
	struct v2_state st;
	struct tcplog_conn_val val;
	struct conn_rec r;
	char path[400];
	__u32 zero = 0;
	int fd;

	if (!c->o->state_size)
		return;
	snprintf(path, sizeof(path), "%s/state", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_map_lookup_elem(fd, &zero, &st) &&
	    st.take.state == TCPLOG_TAKE_BUSY &&
	    old_entries <= st.take.entries_before &&
	    st.take.val.first_seen_ns && st.take.reason < TCPLOG_REASON_MAX) {
		r.key = st.take.key;
		v2_val_upgrade(&st.take.val, &val);
		fold_one(c, &r, &val, (int)st.take.reason);
		log_notice("Recovered a removal the previous release's daemon "
			   "did not finish");
		st.take.state = TCPLOG_TAKE_NONE;
		bpf_map_update_elem(fd, &zero, &st, BPF_ANY);
	}
	close(fd);
}

/* Adds the old totals to the new, saves those, then zeroes the old ones,
 * so a restart before the old folder is gone does not add them twice. */
static int carry_totals(const struct drain_ctx *c, const char *dir)
{
	struct tcplog_totals *t = &c->maps->totals;
	struct tcplog_totals ot, none = { 0 };
	__u64 *reasons = ot.reason;
	struct v1_totals o1;
	char path[400];
	__u32 zero = 0;
	unsigned int i;
	int fd, err = 0, got = -1;

	snprintf(path, sizeof(path), "%s/totals", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0 && c->o->reasons == V1_REASONS) {
		got = bpf_map_lookup_elem(fd, &zero, &o1);
		ot = (struct tcplog_totals){ .entries = o1.entries,
					     .bytes = o1.bytes,
					     .ip_bytes = o1.ip_bytes,
					     .packets = o1.packets,
					     .segments = o1.segments };
		reasons = o1.reason;
	} else if (fd >= 0) {
		got = bpf_map_lookup_elem(fd, &zero, &ot);
	}
	if (got == 0) {
		recover_old_take(c, dir, ot.entries);
		t->entries += ot.entries;
		t->bytes += ot.bytes;
		t->ip_bytes += ot.ip_bytes;
		t->packets += ot.packets;
		t->segments += ot.segments;
		for (i = 0; i < c->o->reasons; i++)
			t->reason[i] += reasons[i];
	}
	err = maps_totals_save(c->maps);
	/* Zeroes of the old size: the new totals are never smaller. */
	if (!err && got == 0)
		bpf_map_update_elem(fd, &zero, &none, BPF_ANY);
	if (fd >= 0)
		close(fd);
	return err;
}

int migrate_counts(const struct pins *p, struct maps *m,
		   const struct tcplog_clock *clock, struct migrate_result *res)
{
	struct drain_ctx c = { .maps = m, .clock = clock, .res = res };
	char dir[300], path[400];
	long n = 0;
	int err, i;

	memset(res, 0, sizeof(*res));
	c.o = find_old(p);
	if (!c.o)
		return 0;
	old_dir(p, c.o, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/conns", dir);
	c.old_fd = bpf_obj_get(path);
	if (c.old_fd < 0)
		return 0;

	/*
	 * The old program is off every hook, but a packet it was handling on
	 * another CPU when the swap happened may still add an entry until
	 * its RCU grace period ends: drain until a pass finds nothing, and
	 * pass again a moment later.
	 */
	for (i = 0; i < 100; i++) {
		n = drain(&c);
		if (n == 0 && i > 0)
			break;
		usleep(20 * 1000);
	}
	close(c.old_fd);

	err = carry_totals(&c, dir);
	if (err)
		log_err("Cannot write the expired totals: %s; keeping the pins "
			"in %s",
			strerror(-err), dir);
	log_notice("Upgraded from map layout %s: %ld entries "
		   "carried over, %ld folded into the expired totals (their "
		   "connections were counted again during the swap), %ld "
		   "folded because the new map refused them, totals added",
		   c.o->name, res->moved, res->folded, res->refused);
	if (n > 0) {
		/* Something still counts into the old map: keep it for the
		 * next start rather than drop what it counts. */
		log_warn("Entries keep arriving in the old map %s; keeping "
			 "it (a program of the old layout is still attached "
			 "somewhere?)",
			 path);
		res->kept = true;
		return 0;
	}
	if (!err)
		pins_remove_dir(dir);
	return err;
}
