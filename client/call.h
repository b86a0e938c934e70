/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * call.h - one request to tcploggerd and its parsed answer, for the
 * commands of tcplogctl. Numbers are parsed exactly (json-c keeps 64-bit
 * integers as integers; docs/DESIGN.md says why not cJSON here).
 */
#ifndef TCPLOG_CALL_H
#define TCPLOG_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "proto.h"
#include "transport.h"

/* What the command line asked for. */
struct ctl_opts {
	const char *socket;
	bool json, human;
	struct api_request req; /* dump's sort, limit and filter */
	const char *sort_name;
	double interval; /* watch */
};

/*
 * Sends @request and reads the answer, parsed. NULL when the daemon cannot
 * be reached or answers something that is not a JSON object (@err says
 * which, with the exit status to use).
 */
struct json_object *ctl_call(const struct ctl_opts *o, const char *request,
			     struct ctl_error *err);

/*
 * Whether @resp is an error response; fills @err with the daemon's code
 * and message (exit status EXIT_DAEMON_ERROR) if so.
 */
bool ctl_daemon_error(const struct json_object *resp, struct ctl_error *err);

/* Writes the dump request of @o (sort, limit, filter) into @buf. */
void ctl_dump_request(const struct ctl_opts *o, char *buf, size_t size);

#endif /* TCPLOG_CALL_H */
