// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sums.c - bytes, packets and segments per interface and per unit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sums.h"

/* Twice the groups there can be (with the two overflows): short probes. */
#define SLOTS (2 * (SUMS_IFACE_MAX + SUMS_UNIT_MAX + 2))

static const uint32_t kind_max[2] = { SUMS_IFACE_MAX, SUMS_UNIT_MAX };

int sums_init(struct sums *s)
{
	memset(s, 0, sizeof(*s));
	/* calloc'd pages stay untouched, and unpaid, until a group is in
	 * them: memory follows the groups there are. */
	s->tab = calloc(SLOTS, sizeof(*s->tab));
	s->used = calloc(SLOTS, sizeof(*s->used));
	if (!s->tab || !s->used) {
		sums_free(s);
		return -ENOMEM;
	}
	return 0;
}

void sums_free(struct sums *s)
{
	sums_store_close(s);
	free(s->tab);
	free(s->used);
	s->tab = NULL;
	s->used = NULL;
}

static uint32_t hash(uint8_t kind, uint8_t dir, uint8_t family,
		     uint32_t ifindex, const char *unit)
{
	uint32_t h = 2166136261u;
	const char *p;

	h = (h ^ kind) * 16777619u;
	h = (h ^ dir) * 16777619u;
	h = (h ^ family) * 16777619u;
	h = (h ^ ifindex) * 16777619u;
	for (p = unit; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

/*
 * The group of this identity, made if new; a kind already at its bound
 * gets its overflow group. NULL only when not even that fits.
 */
static struct sums_group *find(struct sums *s, uint8_t kind, uint8_t dir,
			       uint8_t family, uint32_t ifindex,
			       const char *unit)
{
	uint32_t i = hash(kind, dir, family, ifindex, unit) % SLOTS, tries;
	struct sums_group *g;

	for (tries = 0; tries < SLOTS; tries++, i = (i + 1) % SLOTS) {
		g = &s->tab[i];
		if (!g->used)
			break;
		if (g->key.kind == kind && g->key.direction == dir &&
		    g->key.family == family && g->key.ifindex == ifindex &&
		    !strcmp(g->key.unit, unit))
			return g;
	}
	if (tries == SLOTS)
		return NULL;
	if (s->n[kind] >= kind_max[kind]) {
		bool overflow = kind == SUMS_IFACE ?
					!ifindex :
					!strcmp(unit, SUMS_UNIT_OVERFLOW);

		if (overflow && s->n[kind] > kind_max[kind])
			return NULL;
		if (!overflow) {
			if (!s->overflow_logged[kind])
				log_warn("More than %u %s groups: the rest "
					 "are summed as one (overflow)",
					 kind_max[kind],
					 kind == SUMS_IFACE ? "interface" :
							      "unit");
			s->overflow_logged[kind] = true;
			return find(s, kind, dir,
				    kind == SUMS_IFACE ? family : 0, 0,
				    kind == SUMS_IFACE ? "" :
							 SUMS_UNIT_OVERFLOW);
		}
	}
	g->used = true;
	g->key.kind = kind;
	g->key.direction = dir;
	g->key.family = family;
	g->key.ifindex = ifindex;
	strncpy(g->key.unit, unit, sizeof(g->key.unit) - 1);
	s->n[kind]++;
	g->slot = s->n_used;
	s->used[s->n_used++] = (uint32_t)(g - s->tab);
	return g;
}

struct sums_group *sums_group_of(struct sums *s, const struct sums_key *key)
{
	char unit[sizeof(key->unit)];

	if (!s->tab || key->kind > SUMS_UNIT || key->direction > 1)
		return NULL;
	memcpy(unit, key->unit, sizeof(unit));
	unit[sizeof(unit) - 1] = '\0';
	return find(s, key->kind, key->direction, key->family, key->ifindex,
		    unit);
}

void sums_scan_begin(struct sums *s)
{
	uint32_t i;

	s->stale = false;
	s->named = NULL;
	for (i = 0; i < s->n_used; i++)
		memset(&s->tab[s->used[i]].walked, 0,
		       sizeof(s->tab[s->used[i]].walked));
}

static void add(struct sums_counts *to, const struct tcplog_conn_counts *c)
{
	to->bytes += c->bytes;
	to->ip_bytes += c->ip_bytes;
	to->packets += c->packets;
	to->segments += c->segments;
}

static void sub(struct sums_counts *to, const struct tcplog_conn_counts *c)
{
	to->bytes -= c->bytes;
	to->ip_bytes -= c->ip_bytes;
	to->packets -= c->packets;
	to->segments -= c->segments;
}

/*
 * The two groups of @r: its interface's and its unit's (either NULL).
 * @unit is interned (units.h): the same pointer is the same name.
 */
static void groups_of(struct sums *s, const struct conn_rec *r,
		      const char *unit, struct sums_group **g)
{
	uint8_t dir = r->key.direction > 1 ? 1 : r->key.direction;
	struct sums_group *li = s->last_iface, *lu = s->last_unit;

	if (li && li->key.ifindex == r->key.ifindex &&
	    li->key.direction == dir && li->key.family == r->key.family)
		g[0] = li;
	else
		g[0] = s->last_iface = find(s, SUMS_IFACE, dir, r->key.family,
					    r->key.ifindex, "");
	if (lu && s->last_unit_name == unit && lu->key.direction == dir) {
		g[1] = lu;
	} else {
		g[1] = s->last_unit =
			find(s, SUMS_UNIT, dir, 0, 0, unit ? unit : "");
		s->last_unit_name = unit;
	}
}

void sums_walked(struct sums *s, const struct conn_rec *r, const char *ifname,
		 const char *unit)
{
	struct sums_group *g[2];
	int i;

	if (!s->tab)
		return;
	groups_of(s, r, unit, g);
	for (i = 0; i < 2; i++)
		if (g[i])
			add(&g[i]->walked, &r->c);
	/* The name it has now (once per run of its entries and scan): kept
	 * for when it is gone. */
	if (g[0] && g[0] != s->named && ifname && *ifname &&
	    g[0]->key.ifindex) {
		if (strcmp(g[0]->ifname, ifname))
			strncpy(g[0]->ifname, ifname, sizeof(g[0]->ifname) - 1);
		s->named = g[0];
	}
}

void sums_removed(struct sums *s, const struct conn_rec *r, const char *ifname,
		  const char *unit, uint64_t removal)
{
	const struct sums_group *changed[2];
	struct sums_group *g[2];
	int i, n = 0;

	if (!s->tab)
		return;
	groups_of(s, r, unit, g);
	if (g[0] && ifname && *ifname && g[0]->key.ifindex && !*g[0]->ifname)
		strncpy(g[0]->ifname, ifname, sizeof(g[0]->ifname) - 1);
	for (i = 0; i < 2; i++) {
		if (!g[i] || removal <= g[i]->removal)
			continue; /* already in (a recovered removal) */
		/*
		 * Out of the live sums (it was walked; a packet since makes
		 * the difference wrap for a moment), into the expired ones:
		 * their sum, modulo 2^64 like every counter here, stays
		 * exact.
		 */
		sub(&g[i]->walked, &r->c);
		add(&g[i]->expired, &r->c);
		g[i]->removal = removal;
		changed[n++] = g[i];
	}
	sums_store_save(s, changed, n);
}

void sums_scan_end(struct sums *s)
{
	uint32_t i;

	if (s->stale || !s->tab)
		return;
	for (i = 0; i < s->n_used; i++) {
		struct sums_group *g = &s->tab[s->used[i]];

		g->pub.bytes = g->walked.bytes + g->expired.bytes;
		g->pub.ip_bytes = g->walked.ip_bytes + g->expired.ip_bytes;
		g->pub.packets = g->walked.packets + g->expired.packets;
		g->pub.segments = g->walked.segments + g->expired.segments;
	}
	s->published = true;
}

void sums_reset(struct sums *s)
{
	long n = sums_store_clear(s); /* the slots of the groups below */
	uint32_t i;

	if (n < 0)
		log_warn("Cannot empty the pinned sums: %s", strerror((int)-n));
	for (i = 0; s->tab && i < s->n_used; i++)
		memset(&s->tab[s->used[i]], 0, sizeof(s->tab[0]));
	s->n_used = 0;
	s->n[0] = s->n[1] = 0;
	s->last_iface = s->last_unit = s->named = NULL;
	s->last_unit_name = NULL;
	s->published = false;
	s->stale = true;
}

const char *sums_unit_name(const struct sums_group *g)
{
	return strcmp(g->key.unit, SUMS_UNIT_OVERFLOW) ? g->key.unit :
							 "(overflow)";
}

/* "" (no unit) and the overflow after every name. */
static int unit_cmp(const char *a, const char *b)
{
	bool sa = !*a || *a == '\x01', sb = !*b || *b == '\x01';

	if (sa != sb)
		return sa - sb;
	return strcmp(a, b);
}

static int by_identity(const void *pa, const void *pb)
{
	const struct sums_group *a = *(const struct sums_group *const *)pa;
	const struct sums_group *b = *(const struct sums_group *const *)pb;
	int c;

	if (a->key.kind == SUMS_UNIT)
		c = unit_cmp(a->key.unit, b->key.unit);
	else
		c = strcmp(a->ifname, b->ifname);
	if (!c)
		c = (int)a->key.direction - (int)b->key.direction;
	if (!c)
		c = (int)a->key.family - (int)b->key.family;
	/* An interface made again under its name: neighbours. */
	if (!c)
		c = (a->key.ifindex > b->key.ifindex) -
		    (a->key.ifindex < b->key.ifindex);
	return c;
}

uint32_t sums_list(const struct sums *s, enum sums_kind kind,
		   const struct sums_group **out, uint32_t max)
{
	uint32_t i, k = 0;

	if (!s->published || !s->tab)
		return 0;
	for (i = 0; i < s->n_used && k < max; i++) {
		const struct sums_group *g = &s->tab[s->used[i]];

		/* A group with nothing counted (yet) is left out. */
		if (g->key.kind == kind &&
		    (g->pub.bytes || g->pub.packets || g->pub.segments))
			out[k++] = g;
	}
	qsort(out, k, sizeof(*out), by_identity);
	return k;
}
