/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * server.h - the API socket: accept, read request lines, write responses,
 * all non-blocking on the daemon's epoll. Every resource a client can make
 * the daemon spend is bounded: the request line (64 KiB), the number of
 * clients (the longest-idle one makes room for a new one), the time a
 * client may sit idle or not read its answer (10 s), and the output kept
 * for it (a dump is produced as the client reads it).
 */
#ifndef TCPLOG_SERVER_H
#define TCPLOG_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#define SERVER_MAX_CLIENTS 64
#define SERVER_IDLE_MS 10000

struct client;
struct config;

struct server {
	int listen_fd;
	bool from_systemd; /* socket activation: not ours to unlink */
	char path[108];
	struct client *clients[SERVER_MAX_CLIENTS];
	int n_clients;
	uint64_t requests;
	uint64_t removed; /* clients freed so far */
	uint64_t evicted; /* idle clients dropped to make room */
	uint64_t evict_logged_ms;
	int timer_fd; /* a 1 s tick, armed only while clients are connected */
};

struct daemon;

/* Opens the socket (or takes it from systemd) with mode 0660 and the
 * configured group. */
int server_open(struct server *s, const struct config *cfg);
void server_close(struct server *s);

/* Registers the listening socket and the tick with @epoll_fd. */
int server_watch(struct daemon *d, int epoll_fd);

/* epoll tags: what an event's data.u64 points at. */
#define EV_TAG_CLIENT 1ull

void server_on_listen(struct daemon *d);
void server_on_client(struct daemon *d, struct client *c, uint32_t events);
void server_on_tick(struct daemon *d);

#endif /* TCPLOG_SERVER_H */
