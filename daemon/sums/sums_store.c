// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sums_store.c - the expired sums, pinned and written through memory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pinned.h"
#include "sums.h"

#define SLOTS (SUMS_IFACE_MAX + SUMS_UNIT_MAX + 2)

/* A mapped array's elements are value_size rounded up to 8 apart: with
 * these sizes, the mapping is a C array of the struct. */
_Static_assert(sizeof(struct sums_saved) % 8 == 0, "array stride");
_Static_assert(sizeof(struct sums_pending) % 8 == 0, "array stride");

#define STORE_LEN ((size_t)SLOTS * sizeof(struct sums_saved))

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

/* @v into its group (made if new); whether the group sits in another
 * slot than @i (an older daemon's store). Of two slots of one group (never
 * written so, but a store is input), the later removal wins. */
static bool take(struct sums *s, const struct sums_saved *v, uint32_t i)
{
	struct sums_group *g = sums_group_of(s, &v->key);

	if (!g)
		return false;
	if (v->removal < g->removal)
		return true;
	g->expired = v->c;
	g->removal = v->removal;
	memcpy(g->ifname, v->ifname, sizeof(g->ifname));
	g->ifname[sizeof(g->ifname) - 1] = '\0';
	return g->slot != i;
}

/* Every group to its slot (of a new, empty store). */
static void rewrite(struct sums *s)
{
	uint32_t i;

	for (i = 0; i < s->n_used; i++)
		fill(&s->store[i], &s->tab[s->used[i]]);
}

/*
 * The groups of a store made without BPF_F_MMAPABLE (the daemon before
 * this one wrote it with bpf() calls), read the same way; -errno.
 */
static int take_old(struct sums *s, int fd, uint32_t max)
{
	struct sums_saved v;
	uint32_t i;

	for (i = 0; i < max; i++) {
		if (bpf_map_lookup_elem(fd, &i, &v))
			return errno == ENOENT ? 0 : -errno;
		if (!v.used)
			break;
		take(s, &v, i);
	}
	if (i)
		log_info("Took the expired sums of %u groups from the older "
			 "daemon's store",
			 i);
	return 0;
}

/* Whether the map behind @fd can be mapped; -errno. */
static int mmapable(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return !!(info.map_flags & BPF_F_MMAPABLE) && info.max_entries >= SLOTS;
}

static void *map_memory(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A new store, mapped, holding the groups there are (an older store's),
 * then pinned at @path through a temporary pin ("sums_new": bpffs names
 * take no dots) renamed over it: a kill leaves the old store or the
 * complete new one, never none.
 */
static int make_store(struct sums *s, const char *path)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	char tmp[PATH_MAX];
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s_new", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sums", sizeof(uint32_t),
			    sizeof(struct sums_saved), SLOTS, &opts);
	if (fd < 0)
		return -errno;
	s->store = map_memory(fd, STORE_LEN);
	if (!s->store)
		err = -errno;
	if (!err) {
		rewrite(s);
		unlink(tmp); /* a killed daemon's */
		if (bpf_obj_pin(fd, tmp) || rename(tmp, path)) {
			err = -errno;
			unlink(tmp);
		}
	}
	close(fd);
	return err;
}

/* The store's pieces: the slots (@fd: the one pinned and mappable, -1 if
 * none) and the pending record, mapped; -errno. */
static int map_store(struct sums *s, const char *dir, const char *path, int fd)
{
	char pend_path[PATH_MAX];
	int pfd, err;

	if (fd < 0) {
		err = make_store(s, path);
	} else {
		s->store = map_memory(fd, STORE_LEN);
		err = s->store ? 0 : -errno;
		close(fd);
	}
	if (err)
		return err;
	err = pinned_path(pend_path, sizeof(pend_path), dir, "sums_pending");
	if (err)
		return err;
	pfd = pinned_open_or_make(pend_path, "sums_pending", BPF_MAP_TYPE_ARRAY,
				  sizeof(uint32_t), sizeof(struct sums_pending),
				  1, BPF_F_MMAPABLE);
	if (pfd < 0)
		return pfd;
	s->pending = map_memory(pfd, sizeof(struct sums_pending));
	err = s->pending ? 0 : -errno;
	close(pfd);
	return err;
}

/* A removal a kill interrupted: its groups into their slots again. */
static void complete_pending(struct sums *s)
{
	struct sums_pending *p = s->pending;
	uint32_t i;

	if (!__atomic_load_n(&p->armed, __ATOMIC_ACQUIRE))
		return;
	for (i = 0; i < p->n && i < 2; i++)
		if (p->slot[i] < SLOTS)
			s->store[p->slot[i]] = p->v[i];
	__atomic_store_n(&p->armed, 0, __ATOMIC_RELEASE);
	log_info("Completed the save of the sums a stopped daemon was making");
}

int sums_store_open(struct sums *s, const char *pin_dir)
{
	char path[PATH_MAX];
	bool moved = false, made;
	uint32_t i, max = 0;
	int fd, err, ok;

	err = pinned_path(path, sizeof(path), pin_dir, "sums");
	if (err)
		return err;
	fd = pinned_open(path, BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
			 sizeof(struct sums_saved), &max);
	if (fd < 0 && fd != -ENOENT)
		return fd;
	if (fd >= 0) {
		ok = mmapable(fd);
		if (ok <= 0) {
			/* Not mapped (an older daemon's), or unreadable. */
			err = ok < 0 ? ok : take_old(s, fd, max);
			close(fd);
			if (err)
				return err;
			fd = -1;
		}
	}
	made = fd < 0;
	err = map_store(s, pin_dir, path, fd);
	if (err) {
		sums_store_close(s);
		return err;
	}
	if (made) {
		/* A record for slots of a store that is gone. */
		__atomic_store_n(&s->pending->armed, 0, __ATOMIC_RELEASE);
		return 0;
	}
	complete_pending(s);
	/* The slots are used from the first on, without a gap. */
	for (i = 0; i < SLOTS && s->store[i].used; i++)
		moved |= take(s, &s->store[i], i);
	if (i)
		log_info("Took the expired sums of %u groups from %s",
			 s->n_used, path);
	if (!moved)
		return 0;
	/*
	 * Groups out of their slots: a new store, renamed over this one, not
	 * a rewrite in place, which a kill could leave with a slot torn
	 * between two groups.
	 */
	munmap(s->store, STORE_LEN);
	s->store = NULL;
	err = make_store(s, path);
	if (err) {
		log_warn("Cannot put the expired sums back in order in %s: %s",
			 path, strerror(-err));
		sums_store_close(s);
	} else {
		log_notice("Put the expired sums back in order in %s", path);
	}
	return err;
}

void sums_store_close(struct sums *s)
{
	if (s->store)
		munmap(s->store, STORE_LEN);
	if (s->pending)
		munmap(s->pending, sizeof(*s->pending));
	s->store = NULL;
	s->pending = NULL;
}

void sums_store_save(struct sums *s, const struct sums_group *const *g, int n)
{
	struct sums_pending *p = s->pending;
	int i;

	if (!s->store || !p || n <= 0 || n > 2)
		return;
	/*
	 * The record complete, then armed; the slots; then disarmed. A
	 * kill before the arming saves none of the groups (the next start
	 * recovers the removal and adds it then), after it both (the next
	 * start completes the record). Ordered by release stores: the
	 * record is read back by a later process, after this one's stores.
	 */
	p->n = (uint32_t)n;
	for (i = 0; i < n; i++) {
		p->slot[i] = g[i]->slot;
		fill(&p->v[i], g[i]);
	}
	__atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		s->store[p->slot[i]] = p->v[i];
	__atomic_store_n(&p->armed, 0, __ATOMIC_RELEASE);
}

long sums_store_clear(struct sums *s)
{
	if (!s->store)
		return 0;
	memset(s->store, 0, s->n_used * sizeof(s->store[0]));
	return (long)s->n_used;
}
