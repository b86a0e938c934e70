/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * priority.h - the sd-event priority of bulk work: a client's next
 * buffered request, the next step of a streamed answer, expiry slices and
 * the IPFIX collectors' sockets. Sockets and timers at the normal priority
 * always go first, so a short request waits for at most one step of bulk
 * work, never for a queue.
 */
#ifndef TCPLOG_PRIORITY_H
#define TCPLOG_PRIORITY_H

#include <systemd/sd-event.h>

#define TCPLOG_BULK_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 1)

#endif /* TCPLOG_PRIORITY_H */
