/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * transport.h - tcplogctl's side of the socket: connect, send a line, read
 * a line. Failures are described in a struct ctl_error, never printed here:
 * the caller prints them as text, or as JSON with --json.
 */
#ifndef TCPLOG_TRANSPORT_H
#define TCPLOG_TRANSPORT_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses of tcplogctl (the contract). */
enum {
	EXIT_OK_ = 0,
	EXIT_USAGE = 1,
	EXIT_DAEMON_ERROR = 2,
	EXIT_UNREACHABLE = 3,
};

/* Error codes of tcplogctl's own failures, next to the daemon's. */
#define CTL_ERR_USAGE "usage"
#define CTL_ERR_UNREACHABLE "unreachable"
#define CTL_ERR_BAD_RESPONSE "bad_response"

struct ctl_error {
	int status; /* exit status */
	const char *code; /* CTL_ERR_* or a daemon's code */
	char msg[600];
};

__attribute__((format(printf, 4, 5))) int ctl_fail(struct ctl_error *err,
						   int status, const char *code,
						   const char *fmt, ...);

/*
 * Connects to the daemon at @path. On failure describes why in @err,
 * naming the path and, for a permission problem, the group to join;
 * returns -1.
 */
int ctl_connect(const char *path, struct ctl_error *err);

/* Sends one request line (a newline is added). 0 or -1 (@err). */
int ctl_send(int fd, const char *request, struct ctl_error *err);

/*
 * Reads one response line into a growing buffer (*line, NUL-terminated,
 * without the newline). With @copy, also copies every byte as it arrives
 * to @copy, so a huge dump streams through in bounded memory: *line then
 * holds the response's first 256 bytes at least (where "ok" is), not
 * necessarily all of it. 0, or -1 (@err).
 */
int ctl_read_line(int fd, char **line, size_t *len, FILE *copy,
		  struct ctl_error *err);

#endif /* TCPLOG_TRANSPORT_H */
