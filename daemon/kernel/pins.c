// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pins.c - the bpffs folder: mount, layout, lock, removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "log.h"
#include "pins.h"

#define BPF_FS_MAGIC 0xcafe4a11

static int is_bpffs(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC;
}

/* The deepest existing ancestor of @path (or @path itself). */
static void existing_ancestor(const char *path, char *out, size_t size)
{
	char *slash;

	snprintf(out, size, "%s", path);
	while (access(out, F_OK) != 0) {
		slash = strrchr(out, '/');
		if (!slash || slash == out) {
			snprintf(out, size, "/");
			return;
		}
		*slash = '\0';
	}
}

static int ensure_bpffs(const char *root)
{
	char anc[256];
	int ret;

	existing_ancestor(root, anc, sizeof(anc));
	ret = is_bpffs(anc);
	if (ret < 0) {
		log_err("Cannot inspect %s: %s", anc, strerror(-ret));
		return ret;
	}
	if (ret)
		return 0;
	if (strncmp(root, "/sys/fs/bpf/", 12) != 0) {
		log_err("pin_path %s is not on a bpf filesystem; mount one "
			"there (mount -t bpf bpf DIR) or use /sys/fs/bpf/...",
			root);
		return -ENOTSUP;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		ret = -errno;
		log_err("bpffs is not mounted on /sys/fs/bpf and mounting it "
			"failed: %s%s",
			strerror(errno),
			errno == EPERM ? " (needs CAP_SYS_ADMIN, or mount it "
					 "before starting the daemon)" :
					 "");
		return ret;
	}
	log_notice("Mounted bpffs on /sys/fs/bpf");
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[300], *s;

	snprintf(buf, sizeof(buf), "%s", path);
	for (s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int pins_open(struct pins *p, const char *root)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->lock_fd = -1;
	snprintf(p->root, sizeof(p->root), "%s", root);
	snprintf(p->dir, sizeof(p->dir), "%s/" PINS_LAYOUT, root);
	snprintf(p->att, sizeof(p->att), "%s/att", p->dir);

	ret = ensure_bpffs(root);
	if (ret)
		return ret;
	ret = mkdir_p(p->att, 0700);
	if (ret) {
		log_err("Cannot create %s: %s", p->att, strerror(-ret));
		return ret;
	}
	p->lock_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->lock_fd < 0) {
		ret = -errno;
		log_err("Cannot open %s: %s", root, strerror(errno));
		return ret;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_err("Another tcploggerd is running on %s (it holds the "
			"lock on that folder)",
			root);
		close(p->lock_fd);
		p->lock_fd = -1;
		return ret;
	}
	return 0;
}

void pins_close(struct pins *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
}

/* Unlinks every pin in @dir and its sub-folders, then the folders. */
static int remove_tree(const char *dir)
{
	char path[600];
	struct dirent *de;
	DIR *d = opendir(dir);
	int removed = 0, ret;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			ret = remove_tree(path);
			if (ret > 0)
				removed += ret;
		} else if (unlink(path) == 0) {
			removed++;
		} else {
			log_warn("Cannot remove %s: %s", path, strerror(errno));
		}
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		log_warn("Cannot remove %s: %s", dir, strerror(errno));
	return removed;
}

int pins_remove_other_layouts(const struct pins *p)
{
	char path[600];
	struct dirent *de;
	DIR *d = opendir(p->root);
	int removed = 0, n;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] != 'v' ||
		    !strcmp(de->d_name, PINS_LAYOUT))
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->root, de->d_name);
		n = remove_tree(path);
		if (n > 0) {
			log_warn("Removed %d pins of the incompatible layout "
				 "%s (its counters are dropped)",
				 n, path);
			removed += n;
		}
	}
	closedir(d);
	return removed;
}

int pins_remove_dir(const char *dir)
{
	return remove_tree(dir);
}

int pins_remove_layout(const struct pins *p)
{
	int n = remove_tree(p->dir);

	/* The root stays while we hold its lock; empty, it is removed. */
	if (rmdir(p->root) && errno != ENOTEMPTY && errno != EBUSY)
		log_debug("Keeping %s: %s", p->root, strerror(errno));
	return n;
}
