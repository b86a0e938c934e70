/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loader.h - loading the BPF object and adopting the pinned maps, so that
 * a restarted (or upgraded) daemon goes on counting in the same maps.
 */
#ifndef TCPLOG_LOADER_H
#define TCPLOG_LOADER_H

#include <stdbool.h>
#include <linux/types.h>

#include "config.h"
#include "pins.h"

struct tcplogger;
struct tcplog_state;

struct loader {
	struct tcplogger *skel;
	bool adopted; /* the maps were pinned before: counters continue */
	struct tcplog_state *state; /* the shared state map, mapped */
	__u32 owner; /* enum tcplog_owner: the lookups the program makes */
};

/*
 * Opens the skeleton, reuses compatible pinned maps (dropping, with a log
 * line, incompatible ones), loads the programs and pins the maps.
 */
int loader_load(struct loader *l, const struct config *cfg,
		const struct pins *p);
void loader_close(struct loader *l);

int loader_prog_fd(const struct loader *l, int direction);
int loader_conns_fd(const struct loader *l);
int loader_percpu_fd(const struct loader *l);
int loader_totals_fd(const struct loader *l);
int loader_units_fd(const struct loader *l);
int loader_owner_events_fd(const struct loader *l);

#endif /* TCPLOG_LOADER_H */
