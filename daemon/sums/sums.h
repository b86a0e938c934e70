/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sums.h - what the connections add up to per interface (by direction
 * and family) and per systemd unit (by direction): `stats`' "units" and
 * the Prometheus counters (metrics.h). Aggregates only: bounded by the
 * interfaces and units, never one per connection.
 *
 * Counted by the expiry scan, which walks every entry anyway (no request
 * walks the map): the live entries as the last scan saw them, plus what
 * expiry removed. A scan's removals move counts from its own live sums to
 * the expired ones, so a connection is counted once and the published
 * sums only grow. The expired sums are kept in a pinned map (sums_store.h)
 * as each removal happens, so they grow across restarts, upgrades and
 * kills of the daemon too; only `reset` starts them from zero.
 */
#ifndef TCPLOG_SUMS_H
#define TCPLOG_SUMS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "maps.h"
#include "tcplogger.h"

/* Groups of each kind at most; further ones are added to an "overflow"
 * group of their kind (logged once). */
#define SUMS_IFACE_MAX 1024 /* ifindex x direction x family */
#define SUMS_UNIT_MAX 16384 /* unit x direction: units.h's UNITS_MAX x 2 */

enum sums_kind {
	SUMS_IFACE = 0,
	SUMS_UNIT = 1,
};

struct sums_counts {
	uint64_t bytes, ip_bytes, packets, segments;
};

/*
 * A group's identity: an interface's (ifindex, direction, family) or a
 * unit's (name, direction). The unit "" is traffic with no owner or no
 * unit; the ifindex 0 of SUMS_IFACE, and the unit "\x01" of SUMS_UNIT,
 * the overflow.
 */
struct sums_key {
	uint8_t kind, direction, family, pad;
	uint32_t ifindex;
	char unit[TCPLOG_UNIT_NAME_MAX];
};

struct sums_group {
	struct sums_key key;
	char ifname[IF_NAMESIZE]; /* SUMS_IFACE: the name it had; "": none */
	struct sums_counts walked; /* this scan, live */
	struct sums_counts expired; /* removed, since the last reset */
	struct sums_counts pub; /* published at the last scan's end */
	uint64_t removal; /* the last removal in expired (maps' count) */
	uint32_t slot; /* in the store: groups in the order they came */
	bool used;
};

struct sums {
	struct sums_group *tab; /* open addressing, SUMS_SLOTS */
	uint32_t *used; /* the slots in use, in the order they were taken */
	uint32_t n_used;
	uint32_t n[2]; /* groups by kind */
	bool published; /* a scan has ended since the start (or reset) */
	bool stale; /* reset during a scan: that scan publishes nothing */
	bool overflow_logged[2];
	/* The pinned expired sums, mapped (NULL: kept in memory only). */
	struct sums_saved *store;
	struct sums_pending *pending;
	/* The groups of the last entry: a walk meets the same interface and
	 * unit again and again, so most entries skip the hash. */
	struct sums_group *last_iface, *last_unit;
	const char *last_unit_name; /* the caller's pointer (interned) */
	struct sums_group *named; /* its ifname checked in this run */
};

#define SUMS_UNIT_OVERFLOW "\x01"

/* Memory for the groups; no store yet (sums_store_open adds it). */
int sums_init(struct sums *s);
void sums_free(struct sums *s);

/* A scan begins: the live sums start over. */
void sums_scan_begin(struct sums *s);
/* The scan's walk saw @r, on @ifname ("" if gone), of @unit (NULL: none;
 * interned, units.h: one pointer per name). */
void sums_walked(struct sums *s, const struct conn_rec *r, const char *ifname,
		 const char *unit);
/*
 * Expiry removed @r (walked by this scan, if one runs), the maps' removal
 * number @removal (totals.entries after it): its counts go from live to
 * expired, and are saved. A removal a group has already taken (a killed
 * daemon's, recovered at start) is not added twice.
 */
void sums_removed(struct sums *s, const struct conn_rec *r, const char *ifname,
		  const char *unit, uint64_t removal);
/* The scan ended having seen every entry: publishes live + expired. */
void sums_scan_end(struct sums *s);
/* `reset`: everything to zero, the store emptied. */
void sums_reset(struct sums *s);

/*
 * The published groups of @kind with anything counted, in @out (room for
 * @max): interfaces by name, direction, family, ifindex (one made again
 * under its name comes next to its predecessor); units by name, direction.
 * Returns how many; 0 before the first scan's end.
 */
uint32_t sums_list(const struct sums *s, enum sums_kind kind,
		   const struct sums_group **out, uint32_t max);

/* A unit group's name as users see it: "(overflow)" for the overflow,
 * "" for no unit. */
const char *sums_unit_name(const struct sums_group *g);

/* The group of @key, made if new (NULL: out of memory's bound). */
struct sums_group *sums_group_of(struct sums *s, const struct sums_key *key);

/*
 * The store (sums_store.c): the expired sums pinned beside the maps, in
 * two arrays made with BPF_F_MMAPABLE and written through their memory,
 * so a removal costs no system call (a bpf() call cost 2.2 µs a removal,
 * docs/BENCHMARKS.md):
 *
 *   PIN_PATH/v3/sums          struct sums_saved, one slot per group in
 *                             the order the groups came (an array, not a
 *                             hash keyed by the group: a copy, no hash of
 *                             a 264-byte key)
 *   PIN_PATH/v3/sums_pending  struct sums_pending: the groups a removal
 *                             changes, complete, armed before the slots
 *                             are written and disarmed after
 *
 * A kill between the two slots' writes leaves the record armed; the next
 * start writes it into the slots again (complete values: doing it twice
 * is harmless), so a removal's two groups are saved both or neither. Each
 * slot carries the removal's number, so that a removal a killed daemon
 * had saved is not added again when the next start recovers it.
 */
struct sums_saved {
	struct sums_key key;
	uint64_t removal;
	struct sums_counts c;
	char ifname[IF_NAMESIZE];
	uint32_t used; /* 0: the slot and every later one are free */
	uint32_t pad;
};

struct sums_pending {
	uint64_t armed; /* 1: v[0..n) may not all be in their slots yet */
	uint32_t n;
	uint32_t slot[2];
	uint32_t pad;
	struct sums_saved v[2];
};

/*
 * Opens (or makes) the pinned sums and takes what they hold; an armed
 * record is completed first. A store an older daemon made without
 * BPF_F_MMAPABLE is read and replaced.
 */
int sums_store_open(struct sums *s, const char *pin_dir);
void sums_store_close(struct sums *s);
/* Writes the expired sums of the @n (at most 2) groups @g: both or, after
 * a kill, none until the next open completes them. No-op without a store. */
void sums_store_save(struct sums *s, const struct sums_group *const *g, int n);
/* Empties the store: the number of groups removed, or a negative errno. */
long sums_store_clear(struct sums *s);

#endif /* TCPLOG_SUMS_H */
