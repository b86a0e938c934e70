/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * migrate.h - upgrading from the pins of an older map layout without
 * losing a count.
 *
 * A release that changes the map layout (TCPLOG_ABI_VERSION) finds the
 * previous release's pins in PIN_PATH/vN, its program still attached and
 * counting. The upgrade runs in three steps around the usual start:
 *
 *  1. migrate_pins(), before loading: the attachment pins of the old
 *     layout move into the new layout's folder, so the attach code adopts
 *     them and swaps the program atomically (a TCX link update, a tc
 *     filter replace): never two programs counting, never a gap. A map
 *     whose layout did not change (the per-CPU statistics) moves too and
 *     is adopted, so its counts continue.
 *  2. the new program is loaded and swapped in on every hook.
 *  3. migrate_counts(), after the swap: every entry of the old connection
 *     map moves into the new map (its key gains the new fields, zero); an
 *     entry whose connection the new program already counted again since
 *     the swap goes into the expired totals (reason "upgrade", with a
 *     journal record), as do the old totals. Then the old folder goes.
 *
 * So live + expired after the upgrade equals live + expired before plus
 * what arrived since.
 */
#ifndef TCPLOG_MIGRATE_H
#define TCPLOG_MIGRATE_H

#include <stdbool.h>

#include "format.h"
#include "maps.h"
#include "pins.h"

/* Step 1. Returns 1 if an old layout is being upgraded, 0 if none. */
int migrate_pins(const struct pins *p);

struct migrate_result {
	long moved; /* entries carried over into the new map */
	long folded; /* counted again meanwhile: added to the totals */
	long refused; /* the new map refused them: added to the totals */
	bool kept; /* entries kept arriving: the old layout stays pinned */
};

/*
 * Step 3: drains the old connection map into the new one and the old
 * totals into the new (added to m->totals, loaded by the caller, and
 * saved), all through the map owner @m: call it before anything else
 * writes the totals. @clock turns boot times into wall-clock times
 * for the journal records of folded entries. Removes the old layout's
 * folder when it is empty. Returns 0 or a negative errno (logged).
 */
int migrate_counts(const struct pins *p, struct maps *m,
		   const struct tcplog_clock *clock,
		   struct migrate_result *res);

#endif /* TCPLOG_MIGRATE_H */
