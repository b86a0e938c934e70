/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * connlog.h - one structured record per finished connection: to the
 * journal (sd_journal_send, fields TCPLOG_*) or, where there is no
 * journal, as one line on stderr.
 */
#ifndef TCPLOG_CONNLOG_H
#define TCPLOG_CONNLOG_H

#include "format.h"
#include "maps.h"

const char *tcplog_reason_name(int reason);

void connlog_record(const struct conn_rec *r, int reason,
		    const struct tcplog_clock *clock, const char *ifname);

#endif /* TCPLOG_CONNLOG_H */
