/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* maputil.h - small helpers on BPF maps by fd. User space only. */
#ifndef TCPLOG_MAPUTIL_H
#define TCPLOG_MAPUTIL_H

#include <linux/types.h>

/*
 * Deletes every entry of the hash map @fd, whose keys are @key_size bytes
 * (at most 64). Returns the number of entries deleted or a negative errno.
 * Entries that the datapath adds meanwhile may survive.
 */
int tcplog_map_clear(int fd, __u32 key_size);

/*
 * Counts the entries of the hash map @fd, with batched reads where libbpf
 * and the kernel have them (thousands of entries per call) and key by key
 * otherwise. Returns the count or a negative errno.
 */
long tcplog_map_count(int fd, __u32 key_size, __u32 value_size);

#endif /* TCPLOG_MAPUTIL_H */
