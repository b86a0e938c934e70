// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* maputil.c - small helpers on BPF maps by fd. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "maputil.h"
#include "tcplog_config.h"

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

static long count_by_key(int fd, __u32 key_size)
{
	unsigned char prev[MAX_KEY], next[MAX_KEY];
	void *from = NULL;
	long n = 0;

	if (key_size == 0 || key_size > MAX_KEY)
		return -EINVAL;
	while (bpf_map_get_next_key(fd, from, next) == 0) {
		memcpy(prev, next, key_size);
		from = prev;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

long tcplog_map_count(int fd, __u32 key_size, __u32 value_size)
{
#if HAVE_BPF_MAP_LOOKUP_BATCH
	__u32 chunk = 4096, count;
	__u64 token = 0; /* a bucket index for hash maps */
	void *keys = NULL, *vals = NULL, *in = NULL;
	long total = 0;
	int err;

	for (;;) {
		if (!keys) {
			keys = malloc((size_t)chunk * key_size);
			vals = malloc((size_t)chunk * value_size);
			if (!keys || !vals) {
				total = -ENOMEM;
				break;
			}
		}
		count = chunk;
		err = bpf_map_lookup_batch(fd, in, &token, keys, vals, &count,
					   NULL);
		if (err && errno == ENOSPC && count == 0) {
			/* One bucket holds more than a chunk: grow it. */
			free(keys);
			free(vals);
			keys = vals = NULL;
			chunk *= 4;
			continue;
		}
		total += count;
		if (err) {
			/* ENOENT: the walk is done; the count still counts. */
			if (errno != ENOENT)
				total = errno == EINVAL || errno == ENOTSUP ?
						count_by_key(fd, key_size) :
						-errno;
			break;
		}
		in = &token;
	}
	free(keys);
	free(vals);
	return total;
#else
	(void)value_size;
	return count_by_key(fd, key_size);
#endif
}
