/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* watch.h - tcplogctl watch: the live view. */
#ifndef TCPLOG_WATCH_H
#define TCPLOG_WATCH_H

#include "call.h"

/* Redraws the connections with their rates every o->interval seconds
 * until q, Ctrl-C or a failure (printed); returns the exit status. */
int watch_run(const struct ctl_opts *o);

#endif /* TCPLOG_WATCH_H */
