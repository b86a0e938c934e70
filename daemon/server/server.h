/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * server.h - the API socket: accept, read request lines, write responses,
 * all non-blocking on an sd-event loop. What a line means is the handler's
 * business (api.h, wired in by the daemon): the server knows lines, peers
 * and limits only. Every resource a client can make the daemon spend is
 * bounded: the request line (64 KiB), the number of clients (64 in all,
 * 32 of one user; the longest-idle client that waits for nothing makes
 * room for a new one, and a newcomer is answered `busy` when every
 * candidate has an answer in progress), the time a client may sit idle or
 * not read its answer (10 s), and the output kept for it (a dump is
 * produced as the client reads it).
 */
#ifndef TCPLOG_SERVER_H
#define TCPLOG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "priority.h"
#include "jsonw.h"
#include "proto.h"

#define SERVER_MAX_CLIENTS 64
/* One user's share: the others keep at least the rest. */
#define SERVER_MAX_PER_UID 32
#define SERVER_IDLE_MS 10000
/* A client's next request and a dump's next step: bulk work (priority.h). */
#define SERVER_BULK_PRIORITY TCPLOG_BULK_PRIORITY

struct client;
struct config;

/* What answers the lines. */
struct server_handler {
	void *ctx;
	/*
	 * Answers one request line: writes the whole response into @out and
	 * returns NULL, or writes its beginning and returns a stream that
	 * step() continues as the client reads.
	 */
	void *(*answer)(void *ctx, const char *line, size_t len,
			const struct api_peer *peer, struct jw *out);
	/* Writes until @out holds @budget bytes; true when complete. */
	bool (*step)(void *ctx, void *stream, struct jw *out, size_t budget);
	void (*end)(void *stream);
};

struct server {
	sd_event *event;
	sd_event_source *listen_src;
	int listen_fd;
	bool from_systemd; /* socket activation: not ours to unlink */
	char path[108];
	struct server_handler handler;
	struct client *clients[SERVER_MAX_CLIENTS];
	int n_clients;
	uint64_t idle_ms; /* SERVER_IDLE_MS; tests make it shorter */
	int max_per_uid; /* SERVER_MAX_PER_UID */
	uint64_t requests;
	uint64_t evicted; /* idle clients dropped to make room */
	uint64_t refused; /* clients answered `busy`: all others waiting */
	uint64_t limit_logged_ms;
};

void server_init(struct server *s);

/* Opens the socket (or takes it from systemd) with mode 0660 and the
 * configured group. */
int server_open(struct server *s, const struct config *cfg);

/* Serves the listening socket (if open) on @event, answering with
 * @handler. */
int server_start(struct server *s, sd_event *event,
		 const struct server_handler *handler);

/* Serves one connected socket (accepted, or one end of a socketpair);
 * takes @fd, closing it on failure. */
int server_add_client(struct server *s, int fd);

/* Closes every client and the socket. */
void server_close(struct server *s);

#endif /* TCPLOG_SERVER_H */
