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
#include "log.h"
#include "migrate.h"
#include "tcplogger.h"

_Static_assert(TCPLOG_ABI_VERSION == 2,
	       "a new layout: teach migrate.c the one before it");

static void old_dir(const struct pins *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" V1_LAYOUT, p->root);
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

int migrate_pins(const struct pins *p)
{
	char dir[300], from[600], to[600];
	__u32 ks = 0, vs = 0;
	struct dirent *de;
	DIR *d;

	old_dir(p, dir, sizeof(dir));
	snprintf(from, sizeof(from), "%s/conns", dir);
	if (map_layout(from, &ks, &vs))
		return 0;
	if (ks != sizeof(struct v1_conn_key) ||
	    vs != sizeof(struct tcplog_conn_val)) {
		log_warn("The pins in %s have an unknown layout (key %u, "
			 "value %u bytes): not upgrading from them",
			 dir, ks, vs);
		return 0;
	}
	log_notice("Upgrading from map layout " V1_LAYOUT
		   " in %s to " PINS_LAYOUT
		   ": the program is swapped in place and every count is "
		   "carried over",
		   dir);

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
static void move_entry(const struct drain_ctx *c, const struct v1_conn_key *ok)
{
	char ifname[IF_NAMESIZE];
	struct tcplog_conn_val val;
	struct conn_rec r;
	int err;

	if (bpf_map_lookup_and_delete_elem(c->old_fd, ok, &val))
		return; /* gone meanwhile */
	memset(&r.key, 0, sizeof(r.key));
	memcpy(r.key.src_addr, ok->src_addr, 16);
	memcpy(r.key.dst_addr, ok->dst_addr, 16);
	r.key.ifindex = ok->ifindex;
	r.key.src_port = ok->src_port;
	r.key.dst_port = ok->dst_port;
	r.key.direction = ok->direction;
	r.key.family = ok->family;
	/* The value's layout did not change. NOEXIST: never overwrite what
	 * the new program counted. */
	err = maps_insert_new(c->maps, &r.key, &val);
	if (!err) {
		c->res->moved++;
		return;
	}
	if (err == -EEXIST)
		c->res->folded++;
	else
		c->res->refused++; /* the new map is full, say */
	tcplog_conn_derive(&val, &r.c);
	maps_fold(c->maps, &r, TCPLOG_REASON_UPGRADE);
	err = maps_totals_save(c->maps);
	if (err)
		log_warn("Cannot save the expired totals: %s", strerror(-err));
	if (!if_indextoname(ok->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "%u", ok->ifindex);
	connlog_record(&r, TCPLOG_REASON_UPGRADE, c->clock, ifname);
}

/*
 * One pass over the old map: each entry is deleted once the walk has moved
 * past it (a walk restarted after every delete would rescan all buckets).
 * Returns the number of entries seen.
 */
static long drain(const struct drain_ctx *c)
{
	struct v1_conn_key prev, next;
	bool have_prev = false;
	long seen = 0;

	while (bpf_map_get_next_key(c->old_fd, have_prev ? &prev : NULL,
				    &next) == 0) {
		if (have_prev) {
			move_entry(c, &prev);
			seen++;
		}
		prev = next;
		have_prev = true;
	}
	if (have_prev) {
		move_entry(c, &prev);
		seen++;
	}
	return seen;
}

/* Adds the old totals to the new, saves those, then zeroes the old ones,
 * so a restart before the old folder is gone does not add them twice. */
static int carry_totals(const char *dir, struct maps *m)
{
	struct tcplog_totals *t = &m->totals;
	static const struct v1_totals none;
	char path[400];
	struct v1_totals ot;
	__u32 zero = 0;
	int fd, i, err = 0;

	snprintf(path, sizeof(path), "%s/totals", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &ot) == 0) {
		t->entries += ot.entries;
		t->bytes += ot.bytes;
		t->ip_bytes += ot.ip_bytes;
		t->packets += ot.packets;
		t->segments += ot.segments;
		for (i = 0; i < V1_REASONS; i++)
			t->reason[i] += ot.reason[i];
	}
	err = maps_totals_save(m);
	if (!err && fd >= 0)
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
	old_dir(p, dir, sizeof(dir));
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

	err = carry_totals(dir, m);
	if (err)
		log_err("Cannot write the expired totals: %s; keeping the pins "
			"in %s",
			strerror(-err), dir);
	log_notice("Upgraded from map layout " V1_LAYOUT ": %ld entries "
		   "carried over, %ld folded into the expired totals (their "
		   "connections were counted again during the swap), %ld "
		   "folded because the new map refused them, totals added",
		   res->moved, res->folded, res->refused);
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
