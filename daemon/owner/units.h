/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * units.h - the systemd unit of a cgroup id (the owner the BPF program
 * records for each connection, struct tcplog_conn_val's cgroup_id).
 *
 * A cgroup's id is the inode number of its directory in the cgroup v2
 * hierarchy. The names come from a walk of that hierarchy: at once when
 * the program reports an id it met first (units_note(), units_flush():
 * the unit still runs then), else when an id is not known yet, at most
 * once per UNITS_RESCAN_MS. Names are kept in the pinned map of struct
 * tcplog_unit too: a unit that has stopped keeps the name it had, across
 * the daemon's restarts; an id no walk saw (a cgroup that came and went
 * unreported) has none. The unit of a cgroup
 * path follows systemd's rule: slices are skipped, the first other
 * component is the unit ("/system.slice/nginx.service/x" is
 * nginx.service, "/user.slice/user-1000.slice/user@1000.service/app.slice/
 * a.scope" is user@1000.service). Bounded: at most UNITS_MAX ids. Names
 * are interned: every id of one unit (a restarted service gets a new
 * cgroup) gives the same pointer, so callers may key by it.
 */
#ifndef TCPLOG_UNITS_H
#define TCPLOG_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#define UNITS_MAX 8192
#define UNITS_PENDING_MAX 1024 /* ids reported, not named yet */
#define UNITS_RESCAN_MS 1000
#define UNITS_NAME_MAX 256 /* systemd's UNIT_NAME_MAX */
#define UNITS_WALK_MAX 65536 /* directories per walk */

struct units_entry {
	uint64_t id; /* 0: free */
	char *name; /* NULL: a cgroup of no unit (a slice, the root) */
	bool saved; /* in the pinned map */
};

struct units {
	char root[256]; /* the cgroup v2 mount; "" if none */
	struct units_entry *tab; /* open addressing, UNITS_MAX * 2 slots */
	char **names; /* the interned names, the same size */
	uint32_t n;
	uint64_t scanned_ms; /* CLOCK_MONOTONIC of the last walk; 0: none */
	int map_fd; /* the pinned names (struct tcplog_unit); -1: none */
	uint64_t pending[UNITS_PENDING_MAX];
	uint32_t n_pending;
	bool full_logged;
	bool map_full; /* the pinned map refused a name (logged once) */
	/* The time now in ms; tests give their own. */
	uint64_t (*now_ms)(void);
};

/* The mount point of the cgroup2 file system (/sys/fs/cgroup on a unified
 * host, /sys/fs/cgroup/unified on a hybrid one) into @buf; -errno. */
int units_cgroup2_root(char *buf, size_t size);

/* Finds the cgroup v2 hierarchy (@root: NULL to look it up). */
int units_init(struct units *u, const char *root);

/*
 * Keeps the names in the pinned map @fd from now on, and takes the names
 * it holds (an earlier daemon's); ids it holds unnamed are named at the
 * next units_flush(). Returns how many names it took.
 */
int units_use_map(struct units *u, int fd);

/* The program met @cgroup_id first: name it at the next units_flush(). */
void units_note(struct units *u, uint64_t cgroup_id);

/* Names the noted ids now (one walk), and saves their names. */
void units_flush(struct units *u);
void units_free(struct units *u);

/* The unit of @cgroup_id, or NULL (0, unknown, or no unit). */
const char *units_name(struct units *u, uint64_t cgroup_id);

/* The unit a cgroup @path (relative to the root) belongs to, into @buf;
 * false if none. */
bool units_of_path(const char *path, char *buf, size_t size);

#endif /* TCPLOG_UNITS_H */
