// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* maputil.c - small helpers on BPF maps by fd. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "maputil.h"

#define MAX_KEY 64

int tcplog_map_clear(int fd, __u32 key_size)
{
	unsigned char prev[MAX_KEY], next[MAX_KEY];
	int deleted = 0, err;
	void *from = NULL;

	if (key_size == 0 || key_size > MAX_KEY)
		return -EINVAL;
	/*
	 * Walk with the previous key and delete it only after the walk has
	 * moved past it: restarting from the first key after each delete
	 * would scan all buckets for every entry.
	 */
	while ((err = bpf_map_get_next_key(fd, from, next)) == 0) {
		if (from && bpf_map_delete_elem(fd, prev) == 0)
			deleted++;
		memcpy(prev, next, key_size);
		from = prev;
	}
	if (errno != ENOENT)
		return -errno;
	if (from && bpf_map_delete_elem(fd, prev) == 0)
		deleted++;
	return deleted;
}
