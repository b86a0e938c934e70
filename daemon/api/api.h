/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * api.h - the commands of the socket API (docs/API.md), encoded as JSON:
 * each request line gets one response line. A dump is produced in steps,
 * so that a large map never stops the event loop or needs the whole answer
 * in memory. The API encodes only: the map owner (maps.h) reads and
 * resets, the snapshot (snapshot.h) filters and sorts, health.h decides.
 */
#ifndef TCPLOG_API_H
#define TCPLOG_API_H

#include <stdbool.h>
#include <stddef.h>

#include "attach.h"
#include "format.h"
#include "health.h"
#include "jsonw.h"
#include "maps.h"
#include "ipfix.h"
#include "proto.h"
#include "snapshot.h"
#include "units.h"
#include "sums.h"

/* What the API reads; the daemon owns all of it. */
struct api {
	struct maps *maps;
	struct tcplog_clock *wall; /* boot time -> wall clock */
	const struct att_set *hooks;
	struct health health;
	struct sort_budget sort_budget; /* every sorted dump's, together */
	const struct connlog *log; /* expiry's records, for stats */
	/* What the last expiry scan counted: stats and health never walk
	 * the map in the request path. */
	const struct expiry_counts *counts;
	struct units *units; /* the owners' unit names */
	struct sums *sums; /* per interface and unit (expiry's), reset here */
	struct ipfix *ipfix; /* the exporter's counts; reset forgets its
			      * positions */
};

struct dump_stream;

/*
 * Answers one request line (@len bytes, no newline) from @peer. Writes the
 * whole response into @w and returns NULL, or, for a dump, writes its head
 * and returns the stream to continue with api_dump_step().
 */
struct dump_stream *api_answer(struct api *api, const char *line, size_t len,
			       const struct api_peer *peer, struct jw *w);

/*
 * Continues a dump: reads at most one step of the map and writes until
 * @w holds @budget bytes. Returns true when the response line is complete.
 */
bool api_dump_step(struct api *api, struct dump_stream *ds, struct jw *w,
		   size_t budget);
void api_dump_free(struct dump_stream *ds);

#endif /* TCPLOG_API_H */
