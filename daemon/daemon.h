/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * daemon.h - a running tcploggerd: what it owns, and its event loop.
 *
 * The daemon is the top of the tree: it owns every part and wires them
 * together, and no part knows it. Data flows one way (docs/ARCHITECTURE.md):
 * kernel/ puts the program on the hooks and hands over the maps; maps/
 * owns them (reads, takes, totals, expiry); snapshot/ makes one pass of a
 * dump; api/ encodes it; server/ writes it to the socket.
 */
#ifndef TCPLOG_DAEMON_H
#define TCPLOG_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct ring_buffer;

#include "api.h"
#include "attach.h"
#include "config.h"
#include "expiry.h"
#include "format.h"
#include "http.h"
#include "ipfix.h"
#include "loader.h"
#include "maps.h"
#include "pins.h"
#include "server.h"

struct daemon {
	const char *config_path;
	struct config cfg;
	struct pins pins;
	struct loader loader;
	struct att_set hooks; /* the hooks the configuration asks for */
	struct maps maps;
	struct tcplog_clock wall; /* boot time -> wall clock, kept stable */
	struct expiry expiry;
	struct units units; /* cgroup ids to unit names */
	struct sums sums; /* per interface and per unit */
	struct ipfix ipfix; /* records to the IPFIX collectors */
	/* A removal the previous daemon left unsaved: its IPFIX record is
	 * made once the collectors are there. */
	bool recovered;
	int recovered_reason;
	struct conn_rec recovered_rec;
	struct api api;
	struct server server;
	struct metrics_src metrics; /* what the HTTP endpoint serves */
	struct http http; /* metrics_listen; off by default */
	int netlink_fd; /* rtnetlink events, -1 if none */
	sd_event *event;
	sd_event_source *expiry_src, *status_src, *netlink_src, *owner_src;
	struct ring_buffer *owner_rb; /* ids new to the names map */
};

/* Every descriptor closed (-1), nothing owned yet. */
void daemon_init(struct daemon *d, const char *config_path);

/* Hands the loaded maps to their owner, the expiry and the API. */
int daemon_wire(struct daemon *d);

/* Attaches to every configured interface that exists; logs the others. */
int daemon_reconcile(struct daemon *d);

/*
 * The signals the loop handles. main() blocks them first thing, so one
 * that arrives during start-up waits for the loop instead of killing the
 * daemon half-way.
 */
void daemon_signal_mask(sigset_t *mask);

/* Runs until SIGTERM or SIGINT; SIGHUP reloads the configuration. */
int daemon_run(struct daemon *d);

/* Detaches everything (keep_attached = no). */
void daemon_detach_all(struct daemon *d);

/* One line for systemd's STATUS= and the log. */
void daemon_status(struct daemon *d, char *buf, size_t size);

/* Releases what daemon_init() and later steps took. */
void daemon_close(struct daemon *d);

#endif /* TCPLOG_DAEMON_H */
