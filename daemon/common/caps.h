/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * caps.h - the daemon's capabilities: checked before it touches the
 * kernel, and cut down once it has started. Loading the program and its
 * maps needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; after that only
 * attaching to tc hooks (an interface that comes back, a reload that adds
 * one, keep_attached = no at the stop) needs a capability, CAP_NET_ADMIN.
 * Reading and writing the maps through their descriptors, TCX links made
 * from the loaded program's descriptor and bpffs pins need none (measured
 * on Linux 6.1 and 6.18: docs/DAEMON.md).
 */
#ifndef TCPLOG_CAPS_H
#define TCPLOG_CAPS_H

/* Names the first missing capability, so the message says what to grant.
 * 0, or -EPERM (logged). */
int caps_check(void);

/*
 * Keeps CAP_NET_ADMIN only, in the effective and permitted sets (the
 * others cannot come back, even through exec), and nothing inheritable.
 * 0 or a negative errno.
 */
int caps_drop_after_start(void);

/* The effective set as a bit mask (bit N: capability N). */
unsigned long long caps_effective(void);

#endif /* TCPLOG_CAPS_H */
