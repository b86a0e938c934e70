/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proto.h - the socket protocol between tcploggerd and its clients, shared
 * by the daemon, tcplogctl and the tests (docs/API.md describes it).
 *
 * Newline-delimited JSON over a SOCK_STREAM Unix socket: one request
 * object per line, one response object per line. Every response has
 * "ok"; a failure carries "error": {"code", "message"}.
 */
#ifndef TCPLOG_PROTO_H
#define TCPLOG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/types.h>

#define API_VERSION 1
/* A request line longer than this (newline excluded) is too_large. */
#define API_MAX_REQUEST 65536

enum api_cmd {
	API_CMD_DUMP,
	API_CMD_STATS,
	API_CMD_HEALTH,
	API_CMD_RESET,
	API_CMD_VERSION,
	API_CMD_METRICS,
};

enum api_sort {
	API_SORT_NONE, /* map order */
	API_SORT_BYTES,
	API_SORT_PACKETS,
	API_SORT_SEGMENTS,
	API_SORT_FIRST_SEEN,
	API_SORT_LAST_SEEN,
};

enum api_view {
	API_VIEW_FLOWS, /* one object per entry: one direction */
	API_VIEW_CONNECTIONS, /* both directions of a connection merged */
};

/* The longest unit name a filter takes (systemd's UNIT_NAME_MAX). */
#define API_UNIT_MAX 256

enum api_state_filter {
	API_STATE_ANY,
	API_STATE_OPEN,
	API_STATE_CLOSED,
};

/* The error codes of the contract. */
#define API_ERR_BAD_REQUEST "bad_request"
#define API_ERR_UNKNOWN_COMMAND "unknown_command"
#define API_ERR_PERMISSION_DENIED "permission_denied"
#define API_ERR_TOO_LARGE "too_large"
#define API_ERR_INTERNAL "internal"
/* The daemon cannot take this now (a limit is reached); try again later. */
#define API_ERR_BUSY "busy"

struct api_request {
	enum api_cmd cmd;
	enum api_sort sort;
	uint64_t limit; /* 0: no limit */
	/* filter */
	char iface[IF_NAMESIZE]; /* "" = any */
	int host_family; /* 0 = any, else 4 or 6 */
	uint8_t host[16]; /* the map key's form */
	int port; /* -1 = any; matches source or destination */
	int vlan; /* -1 = any; matches any of the entry's VLAN IDs */
	enum api_state_filter state;
	char unit[API_UNIT_MAX]; /* "" = any; else the owner's unit */
	enum api_view view;
};

#define API_ERR_MSG_SIZE 256

/* Who asks: the peer's credentials (SO_PEERCRED) and the server's counts
 * at the time, which `stats` reports. */
struct api_peer {
	uid_t uid; /* (uid_t)-1 if unknown: never privileged */
	pid_t pid;
	uint64_t clients; /* connected now */
	uint64_t requests; /* answered since the start, this one included */
};

/*
 * Parses one request line (@len bytes, without the newline; it may hold
 * NUL bytes, which are refused). On failure returns -1 and sets @code to
 * an API_ERR_ code and @msg (API_ERR_MSG_SIZE bytes) to a sentence for
 * people.
 */
int api_parse_request(const char *line, size_t len, struct api_request *req,
		      const char **code, char *msg);

const char *api_cmd_name(enum api_cmd cmd);
/* Returns the sort for @name, or -1. */
int api_sort_from_name(const char *name);

#endif /* TCPLOG_PROTO_H */
