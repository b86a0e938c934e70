/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pins.h - the daemon's folder in bpffs, its layout and its lock.
 *
 *   PIN_PATH/            lock: flock() held by the running daemon
 *     v1/                layout version (TCPLOG_ABI_VERSION)
 *       conns            connection map
 *       percpu           per-CPU statistics and clock cache
 *       totals           what expiry removed (written by the daemon)
 *       att/             one pin per attachment (dots in IFNAME become
 *                        colons: bpffs refuses dots in names):
 *         tcx:DIR:IFNAME   the TCX link (holds the program on the hook)
 *         tc:DIR:IFNAME    the program, marking our cls_bpf filter
 *         tcnew:DIR:IFNAME the next program while it replaces the one
 *                          in tc:DIR:IFNAME (renamed over it after)
 *         qdisc:IFNAME     the program, marking a clsact qdisc we created
 */
#ifndef TCPLOG_PINS_H
#define TCPLOG_PINS_H

#include <stddef.h>

#include "tcplogger.h"

/* The layout folder follows the map ABI: "v" TCPLOG_ABI_VERSION. */
#define PINS_STR_(x) #x
#define PINS_STR(x) PINS_STR_(x)
#define PINS_LAYOUT "v" PINS_STR(TCPLOG_ABI_VERSION)

struct pins {
	char root[256];
	char dir[280]; /* root/v1 */
	char att[300]; /* root/v1/att */
	int lock_fd;
};

/*
 * Makes sure bpffs is mounted under @root (mounting it on /sys/fs/bpf if
 * nothing is), creates the folders and takes the lock. Fails with -EBUSY
 * when another daemon holds it.
 */
int pins_open(struct pins *p, const char *root);
void pins_close(struct pins *p);

/* Removes the pins of other layout versions under root; returns a count. */
int pins_remove_other_layouts(const struct pins *p);

/* Removes @dir, its pins and sub-folders; returns how many pins. */
int pins_remove_dir(const char *dir);

/* Removes the layout folder with everything in it (after detaching). */
int pins_remove_layout(const struct pins *p);

#endif /* TCPLOG_PINS_H */
