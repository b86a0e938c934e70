/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* transport.h - tcplogctl's side of the socket: connect, ask, read. */
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

/*
 * Connects to the daemon at @path. On failure prints why, naming the path
 * and, for a permission problem, the group to join; returns -1.
 */
int ctl_connect(const char *path);

/* Sends one request line (a newline is added). 0 or -1 (printed). */
int ctl_send(int fd, const char *request);

/*
 * Reads one response line into a growing buffer (*line, NUL-terminated,
 * without the newline). With @copy, also copies every byte as it arrives
 * to @copy, so a huge dump streams through in bounded memory: *line then
 * holds the response's first 256 bytes at least (where "ok" is), not
 * necessarily all of it. 0, or -1 (printed).
 */
int ctl_read_line(int fd, char **line, size_t *len, FILE *copy);

#endif /* TCPLOG_TRANSPORT_H */
