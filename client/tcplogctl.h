/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tcplogctl.h - what the commands of tcplogctl share. */
#ifndef TCPLOG_TCPLOGCTL_H
#define TCPLOG_TCPLOGCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

struct ctl_opts {
	const char *socket;
	bool json, human;
	struct api_request req; /* dump's sort, limit and filter */
	const char *sort_name;
	double interval; /* watch */
};

/*
 * Sends @request and reads the answer, parsed. NULL (printed) when the
 * daemon cannot be reached or answers nonsense; *status is then the exit
 * status to use.
 */
struct cJSON *ctl_call(const struct ctl_opts *o, const char *request,
		       int *status);

/* Writes the dump request of @o (sort, limit, filter) into @buf. */
void ctl_dump_request(const struct ctl_opts *o, char *buf, size_t size);

int cmd_watch(const struct ctl_opts *o);

#endif /* TCPLOG_TCPLOGCTL_H */
