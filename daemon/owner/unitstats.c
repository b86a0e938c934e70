// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* unitstats.c - bytes and packets per unit and direction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unitstats.h"

#define SLOTS (2 * (UNITS_MAX + 1))

int unitstats_init(struct unit_stats *us)
{
	memset(us, 0, sizeof(*us));
	us->tab = calloc(SLOTS, sizeof(*us->tab));
	return us->tab ? 0 : -ENOMEM;
}

void unitstats_free(struct unit_stats *us)
{
	free(us->tab);
	us->tab = NULL;
}

/* @unit's sums; NULL only if the table is full (it cannot be: names are
 * at most UNITS_MAX, and NULL). */
static struct unit_sum *sum_of(struct unit_stats *us, const char *unit)
{
	uintptr_t h = (uintptr_t)unit;
	uint32_t i = (uint32_t)((h >> 4) * 2654435761u) % SLOTS, tries;

	for (tries = 0; tries < SLOTS; tries++, i = (i + 1) % SLOTS) {
		struct unit_sum *s = &us->tab[i];

		if (s->used && s->unit == unit)
			return s;
		if (!s->used) {
			s->used = true;
			s->unit = unit;
			us->n++;
			return s;
		}
	}
	return NULL;
}

void unitstats_scan_begin(struct unit_stats *us)
{
	uint32_t i;

	us->stale = false;
	for (i = 0; us->tab && i < SLOTS; i++) {
		memset(us->tab[i].walked_bytes, 0,
		       sizeof(us->tab[i].walked_bytes));
		memset(us->tab[i].walked_packets, 0,
		       sizeof(us->tab[i].walked_packets));
	}
}

void unitstats_walked(struct unit_stats *us, const char *unit, int direction,
		      uint64_t bytes, uint64_t packets)
{
	struct unit_sum *s = us->tab ? sum_of(us, unit) : NULL;

	if (!s || direction < 0 || direction > 1)
		return;
	s->walked_bytes[direction] += bytes;
	s->walked_packets[direction] += packets;
}

void unitstats_removed(struct unit_stats *us, const char *unit, int direction,
		       uint64_t bytes, uint64_t packets)
{
	struct unit_sum *s = us->tab ? sum_of(us, unit) : NULL;

	if (!s || direction < 0 || direction > 1)
		return;
	/*
	 * Out of the live sums (it was walked; a packet since makes the
	 * difference wrap for a moment), into the expired ones: their sum,
	 * modulo 2^64 like every counter here, stays exact.
	 */
	s->walked_bytes[direction] -= bytes;
	s->walked_packets[direction] -= packets;
	s->expired_bytes[direction] += bytes;
	s->expired_packets[direction] += packets;
}

void unitstats_scan_end(struct unit_stats *us)
{
	uint32_t i;
	int d;

	if (us->stale)
		return;
	for (i = 0; us->tab && i < SLOTS; i++) {
		struct unit_sum *s = &us->tab[i];

		for (d = 0; d < 2; d++) {
			s->bytes[d] = s->walked_bytes[d] + s->expired_bytes[d];
			s->packets[d] =
				s->walked_packets[d] + s->expired_packets[d];
		}
	}
	us->published = true;
}

void unitstats_reset(struct unit_stats *us)
{
	if (us->tab)
		memset(us->tab, 0, SLOTS * sizeof(*us->tab));
	us->n = 0;
	us->published = false;
	us->stale = true;
}

static int by_name(const void *a, const void *b)
{
	const struct unit_sum *x = *(const struct unit_sum *const *)a;
	const struct unit_sum *y = *(const struct unit_sum *const *)b;

	if (!x->unit || !y->unit)
		return !x->unit - !y->unit;
	return strcmp(x->unit, y->unit);
}

bool unitstats_sorted(const struct unit_stats *us, const struct unit_sum **out,
		      uint32_t *n)
{
	uint32_t i, k = 0;

	if (!us->published || !us->tab) {
		*n = 0;
		return false;
	}
	for (i = 0; i < SLOTS && k < *n; i++) {
		const struct unit_sum *s = &us->tab[i];

		/* A unit with nothing counted (yet) is left out. */
		if (s->used && (s->bytes[0] || s->bytes[1] || s->packets[0] ||
				s->packets[1]))
			out[k++] = s;
	}
	qsort(out, k, sizeof(*out), by_name);
	*n = k;
	return true;
}
