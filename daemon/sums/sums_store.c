// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sums_store.c - the expired sums, pinned. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pinned.h"
#include "sums.h"

/* The kernel's "not supported" (include/linux/errno.h), not in libc. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define SLOTS (SUMS_IFACE_MAX + SUMS_UNIT_MAX + 2)

/* Slot @slot as @g has it. */
static void fill(struct sums_saved *v, const struct sums_group *g)
{
	memset(v, 0, sizeof(*v));
	v->key = g->key;
	v->removal = g->removal;
	v->c = g->expired;
	memcpy(v->ifname, g->ifname, sizeof(v->ifname));
	v->used = 1;
}

/* Every group to its slot again (after a load that found them out of
 * order: an older daemon's store); 0 or a negative errno. */
static int rewrite(struct sums *s, uint32_t loaded)
{
	struct sums_saved v;
	uint32_t i;

	for (i = 0; i < s->n_used || i < loaded; i++) {
		if (i < s->n_used)
			fill(&v, &s->tab[s->used[i]]);
		else
			memset(&v, 0, sizeof(v));
		if (bpf_map_update_elem(s->fd, &i, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

int sums_store_open(struct sums *s, const char *pin_dir)
{
	struct sums_saved v;
	struct sums_group *g;
	char path[PATH_MAX];
	bool moved = false;
	uint32_t i;
	int fd, err;

	err = pinned_path(path, sizeof(path), pin_dir, "sums");
	if (err)
		return err;
	fd = pinned_open_or_make(path, "sums", BPF_MAP_TYPE_ARRAY,
				 sizeof(uint32_t), sizeof(v), SLOTS, 0);
	if (fd < 0)
		return fd;
	s->fd = fd;
	/* The slots are used from the first on, without a gap. */
	for (i = 0; i < SLOTS; i++) {
		if (bpf_map_lookup_elem(fd, &i, &v) || !v.used)
			break;
		g = sums_group_of(s, &v.key);
		if (!g)
			continue;
		g->expired = v.c;
		g->removal = v.removal;
		memcpy(g->ifname, v.ifname, sizeof(g->ifname));
		g->ifname[sizeof(g->ifname) - 1] = '\0';
		moved |= g->slot != i;
	}
	if (moved && (err = rewrite(s, i)))
		log_warn("Cannot put the pinned sums in order: %s",
			 strerror(-err));
	if (i)
		log_info("Took the expired sums of %u groups from %s", i, path);
	return 0;
}

void sums_store_close(struct sums *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void sums_store_save(struct sums *s, const struct sums_group *const *g, int n)
{
	uint32_t keys[2], count = (uint32_t)n;
	struct sums_saved v[2];
	int i, err = 0;

	if (s->fd < 0 || n <= 0 || n > 2)
		return;
	for (i = 0; i < n; i++) {
		keys[i] = g[i]->slot;
		fill(&v[i], g[i]);
	}
	/* One call for both groups of a removal (a kill saves both or
	 * neither); one by one where the kernel refuses batches. */
	if (!s->no_batch) {
		if (!bpf_map_update_batch(s->fd, keys, v, &count, NULL))
			count = (uint32_t)n;
		else if (errno == EINVAL || errno == EOPNOTSUPP ||
			 errno == ENOTSUPP)
			s->no_batch = true;
	}
	if (s->no_batch)
		for (count = 0; count < (uint32_t)n; count++)
			if (bpf_map_update_elem(s->fd, &keys[count], &v[count],
						BPF_ANY))
				break;
	if (count < (uint32_t)n)
		err = -errno;
	if (err && err != s->save_err)
		log_warn("Cannot save the sums per interface and unit: %s; "
			 "a kill now would lose what expired since",
			 strerror(-err));
	s->save_err = err;
}

long sums_store_clear(struct sums *s)
{
	struct sums_saved v;
	uint32_t i;

	if (s->fd < 0)
		return 0;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < s->n_used; i++)
		if (bpf_map_update_elem(s->fd, &i, &v, BPF_ANY))
			return -errno;
	return (long)s->n_used;
}
