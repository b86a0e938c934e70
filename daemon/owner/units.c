// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* units.c - cgroup ids to systemd unit names. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "log.h"
#include "tcplogger.h"
#include "units.h"

#define TAB_SLOTS (UNITS_MAX * 2)

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The mount point of the cgroup2 file system: /sys/fs/cgroup on a
 * unified host, /sys/fs/cgroup/unified on a hybrid one. */
int units_cgroup2_root(char *buf, size_t size)
{
	char line[1024], mnt[512], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2"))
			continue;
		if (strlen(mnt) < size) {
			snprintf(buf, size, "%s", mnt);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

int units_init(struct units *u, const char *root)
{
	int err = 0;

	memset(u, 0, sizeof(*u));
	u->now_ms = mono_ms;
	u->map_fd = -1;
	u->tab = calloc(TAB_SLOTS, sizeof(*u->tab));
	u->names = calloc(TAB_SLOTS, sizeof(*u->names));
	if (!u->tab || !u->names) {
		units_free(u);
		return -ENOMEM;
	}
	if (root)
		snprintf(u->root, sizeof(u->root), "%s", root);
	else
		err = units_cgroup2_root(u->root, sizeof(u->root));
	if (err)
		log_warn("No cgroup v2 hierarchy mounted: connections get no "
			 "unit names (cgroup_id only)");
	return 0;
}

void units_free(struct units *u)
{
	uint32_t i;

	if (u->names)
		for (i = 0; i < TAB_SLOTS; i++)
			free(u->names[i]);
	free(u->names);
	free(u->tab);
	u->tab = NULL;
	u->names = NULL;
}

static struct units_entry *slot(struct units *u, uint64_t id)
{
	uint32_t i = (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 40) % TAB_SLOTS;

	while (u->tab[i].id && u->tab[i].id != id)
		i = (i + 1) % TAB_SLOTS;
	return &u->tab[i];
}

/* The one copy of @name (NULL if out of memory). */
static char *intern(struct units *u, const char *name)
{
	uint32_t h = 2166136261u, i;
	const char *p;

	for (p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (i = h % TAB_SLOTS; u->names[i]; i = (i + 1) % TAB_SLOTS)
		if (!strcmp(u->names[i], name))
			return u->names[i];
	u->names[i] = strdup(name);
	return u->names[i];
}

static bool unit_suffix(const char *name, size_t len)
{
	static const char *const types[] = { ".service",  ".scope", ".socket",
					     ".mount",	  ".swap",  ".target",
					     ".device",	  ".timer", ".path",
					     ".automount" };
	size_t i, n;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i]);
		if (len > n && !memcmp(name + len - n, types[i], n))
			return true;
	}
	return false;
}

bool units_of_path(const char *path, char *buf, size_t size)
{
	const char *p = path, *end;
	size_t len;

	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return false;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > 6 && !memcmp(p + len - 6, ".slice", 6)) {
			p += len;
			continue;
		}
		if (!unit_suffix(p, len) || len >= size ||
		    len >= UNITS_NAME_MAX)
			return false;
		memcpy(buf, p, len);
		buf[len] = '\0';
		return true;
	}
}

/* A new entry for @id; NULL when the table is full (logged once). */
static struct units_entry *add(struct units *u, uint64_t id)
{
	struct units_entry *e = slot(u, id);

	if (e->id)
		return NULL;
	if (u->n >= UNITS_MAX) {
		if (!u->full_logged)
			log_warn("More than %d cgroups seen: the units of "
				 "newer ones are not resolved",
				 UNITS_MAX);
		u->full_logged = true;
		return NULL;
	}
	e->id = id;
	u->n++;
	return e;
}

/* Writes @e's name into the pinned map ("-": no unit). */
static void save(struct units *u, struct units_entry *e)
{
	struct tcplog_unit v = { .name = "-" };

	if (u->map_fd < 0 || e->saved)
		return;
	if (e->name)
		snprintf(v.name, sizeof(v.name), "%s", e->name);
	e->saved = !bpf_map_update_elem(u->map_fd, &e->id, &v, BPF_ANY);
	/*
	 * Full (the program's ids took the room; it cannot report the ids
	 * it finds no room for): kept here only, so a restart forgets the
	 * name of a unit that is gone by then.
	 */
	if (!e->saved && errno == E2BIG && !u->map_full) {
		log_warn("The pinned map of unit names is full (%d ids): names "
			 "of newer cgroups are not kept across restarts",
			 TCPLOG_UNITS_MAX);
		u->map_full = true;
	}
}

/* Remembers @id's unit (an id already known keeps its name). */
static void remember(struct units *u, uint64_t id, const char *path)
{
	struct units_entry *e = add(u, id);
	char name[UNITS_NAME_MAX];

	if (!e)
		return;
	/* At most one name per id: the interned table cannot fill first. */
	e->name = units_of_path(path, name, sizeof(name)) ? intern(u, name) :
							    NULL;
}

/* Walks the directories under @path (relative @rel), depth first. */
static void walk(struct units *u, int dirfd, char *rel, size_t rel_len,
		 int depth, unsigned int *budget)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) && *budget) {
		size_t n = strlen(de->d_name);

		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    rel_len + 1 + n >= 1024)
			continue;
		fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st)) {
			close(fd);
			continue;
		}
		(*budget)--;
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, n + 1);
		remember(u, (uint64_t)st.st_ino, rel);
		if (depth < 32)
			walk(u, fd, rel, rel_len + 1 + n, depth + 1, budget);
		else
			close(fd);
		rel[rel_len] = '\0';
	}
	closedir(d);
}

static void rescan(struct units *u)
{
	unsigned int budget = UNITS_WALK_MAX;
	char rel[1024] = "";
	int fd;

	u->scanned_ms = u->now_ms();
	if (!u->root[0])
		return;
	fd = open(u->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	walk(u, fd, rel, 0, 0, &budget);
}

const char *units_name(struct units *u, uint64_t cgroup_id)
{
	struct units_entry *e;

	if (!cgroup_id || !u->tab)
		return NULL;
	e = slot(u, cgroup_id);
	if (e->id)
		return e->name;
	if (u->scanned_ms && u->now_ms() - u->scanned_ms < UNITS_RESCAN_MS)
		return NULL;
	rescan(u);
	e = slot(u, cgroup_id);
	if (!e->id)
		return NULL;
	save(u, e);
	return e->name;
}

int units_use_map(struct units *u, int fd)
{
	struct tcplog_unit v;
	struct units_entry *e;
	__u64 prev, next;
	bool have = false;
	int n = 0;

	u->map_fd = fd;
	while (!bpf_map_get_next_key(fd, have ? &prev : NULL, &next)) {
		prev = next;
		have = true;
		if (bpf_map_lookup_elem(fd, &next, &v))
			continue;
		v.name[sizeof(v.name) - 1] = '\0';
		if (!v.name[0]) {
			units_note(u, next); /* reported, never named */
			continue;
		}
		e = add(u, next);
		if (!e)
			continue;
		e->saved = true;
		e->name = strcmp(v.name, "-") ? intern(u, v.name) : NULL;
		n++;
	}
	return n;
}

void units_note(struct units *u, uint64_t cgroup_id)
{
	if (u->n_pending < UNITS_PENDING_MAX)
		u->pending[u->n_pending++] = cgroup_id;
}

void units_flush(struct units *u)
{
	struct units_entry *e;
	uint32_t i;

	if (!u->n_pending || !u->tab)
		return;
	/* One walk for every id reported since the last (the units run),
	 * none if all are known already. */
	for (i = 0; i < u->n_pending; i++)
		if (!slot(u, u->pending[i])->id)
			break;
	if (i < u->n_pending)
		rescan(u);
	for (i = 0; i < u->n_pending; i++) {
		e = slot(u, u->pending[i]);
		if (e->id)
			save(u, e);
	}
	u->n_pending = 0;
}
