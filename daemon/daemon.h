/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* daemon.h - the state of a running tcploggerd and its event loop. */
#ifndef TCPLOG_DAEMON_H
#define TCPLOG_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "config.h"
#include "format.h"
#include "loader.h"
#include "pins.h"
#include "server.h"

#define MAX_ATTACHMENTS (2 * TCPLOG_MAX_IFACES)

struct daemon {
	const char *config_path;
	struct config cfg;
	struct pins pins;
	struct loader loader;
	struct attachment att[MAX_ATTACHMENTS];
	int n_att;
	int epoll_fd, signal_fd, netlink_fd, timer_fd;
	uint64_t watchdog_usec; /* 0: the unit sets no WatchdogSec */
	bool stop;
	struct server server;
	uint64_t health_failed_seen; /* failed inserts at the last health */
	struct tcplog_clock clock; /* boot time -> wall clock, kept stable */
	struct tcplog_totals totals; /* what expiry removed (pinned copy) */
	int expiry_fd;
	/* Entries the last expiry scan left, -1 before the first: STATUS=
	 * reports it instead of walking a big map once more. */
	long scan_entries;
};

/* Attaches to every configured interface that exists; logs the others. */
int daemon_reconcile(struct daemon *d);

/*
 * The signals the loop handles through a signalfd. main() blocks them
 * first thing, so one that arrives during start-up waits for the loop
 * instead of killing the daemon half-way.
 */
void daemon_signal_mask(sigset_t *mask);

/* Runs until SIGTERM or SIGINT; SIGHUP reloads the configuration. */
int daemon_run(struct daemon *d);

/* Detaches everything (keep_attached = no). */
void daemon_detach_all(struct daemon *d);

/* Boot-time to wall-clock conversion, stable between snapshots. */
struct tcplog_clock daemon_clock(struct daemon *d);

/* One line for systemd's STATUS= and the log. */
void daemon_status(struct daemon *d, char *buf, size_t size);

#endif /* TCPLOG_DAEMON_H */
