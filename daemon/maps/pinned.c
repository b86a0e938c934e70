// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pinned.c - the daemon's own pinned maps. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pinned.h"

int pinned_path(char *buf, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int pinned_open(const char *path, uint32_t type, uint32_t key_size,
		uint32_t value_size, uint32_t *max_entries)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (info.type != type || info.key_size != key_size ||
	    info.value_size != value_size) {
		log_warn("%s has another layout; made again", path);
		close(fd);
		unlink(path);
		return -ENOENT;
	}
	*max_entries = info.max_entries;
	return fd;
}

int pinned_open_or_make(const char *path, const char *name, uint32_t type,
			uint32_t key_size, uint32_t value_size,
			uint32_t max_entries, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	uint32_t max = 0;
	int fd, err;

	fd = pinned_open(path, type, key_size, value_size, &max);
	if (fd != -ENOENT)
		return fd;
	fd = bpf_map_create(type, name, key_size, value_size, max_entries,
			    &opts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
