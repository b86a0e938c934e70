/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * api.h - the commands of the socket API (docs/API.md): each writes one
 * response line with the JSON writer. dump is produced in steps, so that
 * a large map never stops the event loop or needs the whole answer in
 * memory.
 */
#ifndef TCPLOG_API_H
#define TCPLOG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jsonw.h"
#include "proto.h"

struct daemon;
struct dump_stream;

void api_error(struct jw *w, const char *code, const char *msg);

/* stats, health, reset, version: the whole response line. */
void api_handle(struct daemon *d, const struct api_request *req, uid_t uid,
		struct jw *w);

/* Starts a dump: writes its head into @w. NULL (and an error line in @w)
 * when out of memory. */
struct dump_stream *api_dump_begin(struct daemon *d,
				   const struct api_request *req, struct jw *w);

/*
 * Continues a dump: reads at most one batch of the map and writes until
 * @w holds @budget bytes. Returns true when the response line is complete.
 */
bool api_dump_step(struct daemon *d, struct dump_stream *ds, struct jw *w,
		   size_t budget);
void api_dump_free(struct dump_stream *ds);

#endif /* TCPLOG_API_H */
