/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pinned.h - maps the daemon makes itself and pins beside the program's
 * (the IPFIX positions and journal, the sums per interface and unit):
 * opened if pinned with the expected shape, made and pinned otherwise.
 * A pinned map of another shape is an older daemon's: replaced. Made
 * before the capabilities are dropped; used through the descriptor after.
 */
#ifndef TCPLOG_PINNED_H
#define TCPLOG_PINNED_H

#include <stddef.h>
#include <stdint.h>

/* "@dir/@name" into @buf; -ENAMETOOLONG if it does not fit. */
int pinned_path(char *buf, size_t size, const char *dir, const char *name);

/*
 * The map pinned at @path if it has this type and these sizes (its
 * max_entries in *@max_entries); -ENOENT if none is pinned, or one of
 * another shape was (then unpinned, logged); another negative errno.
 */
int pinned_open(const char *path, uint32_t type, uint32_t key_size,
		uint32_t value_size, uint32_t *max_entries);

/*
 * pinned_open(), or a new map of this shape (@flags: BPF_F_*) pinned at
 * @path. Returns its descriptor or a negative errno.
 */
int pinned_open_or_make(const char *path, const char *name, uint32_t type,
			uint32_t key_size, uint32_t value_size,
			uint32_t max_entries, uint32_t flags);

#endif /* TCPLOG_PINNED_H */
