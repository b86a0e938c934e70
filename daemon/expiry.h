/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * expiry.h - keeping the connection map bounded: entries idle for
 * idle_timeout, and closed ones after closed_timeout, are removed with
 * their final counts in one step (lookup-and-delete), logged, and added
 * to the pinned totals; above 90 % usage the longest-idle entries go
 * early. Runs on a timer (docs/DAEMON.md), never in a busy loop.
 */
#ifndef TCPLOG_EXPIRY_H
#define TCPLOG_EXPIRY_H

#include <stdint.h>

struct daemon;

/* The scan period for the configured timeouts, in milliseconds. */
uint64_t expiry_period_ms(const struct daemon *d);

/* Loads the pinned totals; arms the timer. */
int expiry_start(struct daemon *d);

/* Called when the timer fires: one scan. */
void expiry_on_timer(struct daemon *d);

/* After a reset or a reload: zero the totals / re-arm the timer. */
void expiry_reset_totals(struct daemon *d);
void expiry_rearm(struct daemon *d);

#endif /* TCPLOG_EXPIRY_H */
