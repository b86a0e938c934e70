// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* attach.c - TCX links and tc cls_bpf filters, pinned and adopted. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_sched.h>

#include "attach.h"
#include "compat.h"
#include "log.h"
#include "netlink.h"
#include "tcplogger.h"

const char *att_mode_name(enum att_mode mode)
{
	return mode == MODE_TCX ? "tcx" : mode == MODE_TC ? "tc" : "none";
}

const char *att_dir_name(int direction)
{
	return direction == TCPLOG_DIR_EGRESS ? "egress" : "ingress";
}

/*
 * Pin names: "KIND:DIR:IFNAME" and "qdisc:IFNAME". bpffs refuses names
 * with a dot, which interface names may have (eth0.100), while no
 * interface name has a colon: so dots become colons, and everything after
 * the separators decodes back unambiguously.
 */
static void encode_ifname(char *out, const char *ifname)
{
	size_t i;

	for (i = 0; ifname[i] && i < IF_NAMESIZE - 1; i++)
		out[i] = ifname[i] == '.' ? ':' : ifname[i];
	out[i] = '\0';
}

static void decode_ifname(char *out, const char *enc)
{
	size_t i;

	for (i = 0; enc[i] && i < IF_NAMESIZE - 1; i++)
		out[i] = enc[i] == ':' ? '.' : enc[i];
	out[i] = '\0';
}

static void pin_name(char *buf, size_t size, const struct pins *p,
		     const char *kind, const struct attachment *a)
{
	char enc[IF_NAMESIZE];

	encode_ifname(enc, a->ifname);
	if (strcmp(kind, "qdisc") == 0)
		snprintf(buf, size, "%s/qdisc:%s", p->att, enc);
	else
		snprintf(buf, size, "%s/%s:%s:%s", p->att, kind,
			 att_dir_name(a->direction), enc);
}

static __u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* The id of the program pinned at @path, 0 if none. */
static __u32 pinned_prog_id(const char *path)
{
	__u32 id;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = prog_id_of(fd);
	close(fd);
	return id;
}

/*
 * Whether the tc filter at our handle, running program @id, is ours: we
 * pin the program of every filter we attach (tc:DIR:IFNAME), so ours is
 * the one whose program is the pinned one. Opening a program by its id
 * (bpf_prog_get_fd_by_id) would need CAP_SYS_ADMIN, which the unit does
 * not grant; opening our own pin needs nothing beyond bpffs access.
 */
static bool tc_filter_is_ours(const struct attachment *a, const struct pins *p,
			      __u32 id)
{
	char path[400];

	if (!id)
		return false;
	pin_name(path, sizeof(path), p, "tc", a);
	if (pinned_prog_id(path) == id)
		return true;
	/* A start that stopped between attaching and renaming the pin. */
	pin_name(path, sizeof(path), p, "tcnew", a);
	return pinned_prog_id(path) == id;
}

/* ---- TCX ---------------------------------------------------------------- */

static __u32 tcx_attach_type(int direction)
{
	return direction == TCPLOG_DIR_EGRESS ? TCPLOG_BPF_TCX_EGRESS :
						TCPLOG_BPF_TCX_INGRESS;
}

/* Returns 1 if the pinned link was adopted, 0 if none usable, or -errno. */
static int tcx_adopt(struct attachment *a, int prog_fd, const char *path)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.type != TCPLOG_BPF_LINK_TYPE_TCX ||
	    tcplog_tcx_link_ifindex(&info) != (__u32)a->ifindex ||
	    tcplog_tcx_link_type(&info) != tcx_attach_type(a->direction)) {
		/* Defunct (its interface went away) or not what it says. */
		log_info("Dropping the stale TCX link pin %s", path);
		close(fd);
		unlink(path);
		return 0;
	}
	err = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	if (err) {
		err = -errno;
		log_err("Cannot update the program of TCX link %s: %s", path,
			strerror(errno));
		return err;
	}
	return 1;
}

static int tcx_attach(struct attachment *a, int prog_fd, const struct pins *p,
		      bool *adopted)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = TCPLOG_BPF_F_BEFORE);
	char path[400];
	int fd, ret;

	pin_name(path, sizeof(path), p, "tcx", a);
	ret = tcx_adopt(a, prog_fd, path);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		*adopted = true;
		return 0;
	}
	/* First on the hook, so no program before ours can hide traffic. */
	fd = bpf_link_create(prog_fd, a->ifindex, tcx_attach_type(a->direction),
			     &opts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		ret = -errno;
		log_err("Cannot pin the TCX link at %s: %s", path,
			strerror(errno));
		close(fd); /* the link goes with its last reference */
		return ret;
	}
	close(fd);
	return 0;
}

static int tcx_detach(struct attachment *a, const char *path)
{
	int fd, err = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Detach now even if someone else holds the link open. */
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
		err = -errno;
	close(fd);
	if (unlink(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* ---- legacy tc: clsact + cls_bpf ----------------------------------------- */

static void tc_hook(struct bpf_tc_hook *hook, int ifindex, int direction)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = direction == TCPLOG_DIR_EGRESS ? BPF_TC_EGRESS :
							      BPF_TC_INGRESS;
}

/* prog id of the filter at our handle and priority, 0 if none. */
static __u32 tc_query(int ifindex, int direction)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPLOG_TC_HANDLE,
		    .priority = TCPLOG_TC_PRIORITY);

	tc_hook(&hook, ifindex, direction);
	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

static int tc_attach(struct attachment *a, int prog_fd, const struct pins *p,
		     bool *adopted)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPLOG_TC_HANDLE,
		    .priority = TCPLOG_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	char path[400], final[400];
	__u32 existing;
	int err;

	tc_hook(&hook, a->ifindex, a->direction);
	err = bpf_tc_hook_create(&hook);
	pin_name(path, sizeof(path), p, "qdisc", a);
	if (err == 0 || (err == -EEXIST && access(path, F_OK) == 0)) {
		/*
		 * Remember that the qdisc is ours, to remove it later. The
		 * marker pins the current program (re-pinned on every
		 * attach), so it never keeps an old program alive.
		 */
		unlink(path);
		if (bpf_obj_pin(prog_fd, path))
			log_warn("Cannot record the clsact qdisc at %s: %s",
				 path, strerror(errno));
	} else if (err != -EEXIST) {
		log_err("Cannot create a clsact qdisc on %s: %s", a->ifname,
			strerror(-err));
		return err;
	}

	existing = tc_query(a->ifindex, a->direction);
	if (existing && !tc_filter_is_ours(a, p, existing)) {
		log_err("%s %s: a foreign filter uses tc handle 0x%x priority "
			"%d; not replacing it",
			a->ifname, att_dir_name(a->direction), TCPLOG_TC_HANDLE,
			TCPLOG_TC_PRIORITY);
		return -EEXIST;
	}
	/*
	 * The new program is pinned before the filter runs it and takes the
	 * place of the old pin after, so that whenever the daemon stops, one
	 * of the two pins names the filter's program as ours.
	 */
	pin_name(path, sizeof(path), p, "tcnew", a);
	unlink(path);
	if (bpf_obj_pin(prog_fd, path)) {
		err = -errno;
		log_err("Cannot pin %s: %s", path, strerror(errno));
		return err;
	}
	/* REPLACE swaps the program of our filter atomically. */
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		unlink(path);
		return err;
	}
	*adopted = existing != 0;

	pin_name(final, sizeof(final), p, "tc", a);
	if (rename(path, final)) {
		err = -errno;
		log_err("Cannot rename %s to %s: %s", path, final,
			strerror(errno));
		return err;
	}
	return 0;
}

static int tc_detach(const struct attachment *a, const struct pins *p)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TCPLOG_TC_HANDLE,
		    .priority = TCPLOG_TC_PRIORITY);
	__u32 id = tc_query(a->ifindex, a->direction);

	if (!id)
		return 0;
	if (!tc_filter_is_ours(a, p, id)) {
		log_warn("The filter at tc handle 0x%x priority %d is not "
			 "ours any more; leaving it",
			 TCPLOG_TC_HANDLE, TCPLOG_TC_PRIORITY);
		return 0;
	}
	tc_hook(&hook, a->ifindex, a->direction);
	return bpf_tc_detach(&hook, &opts);
}

/* Removes the clsact qdisc we created on @ifindex if it is empty now. */
static void tc_qdisc_release(int ifindex, const char *ifname, const char *path)
{
	struct bpf_tc_hook hook;
	int in, eg, err;

	if (access(path, F_OK))
		return;
	if (ifindex > 0) {
		in = nl_count_filters(ifindex,
				      TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
		eg = nl_count_filters(ifindex,
				      TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
		if (in == 0 && eg == 0) {
			tc_hook(&hook, ifindex, TCPLOG_DIR_INGRESS);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			err = bpf_tc_hook_destroy(&hook);
			if (err && err != -ENOENT)
				log_warn("Cannot remove our clsact qdisc on "
					 "%s: %s",
					 ifname, strerror(-err));
			else
				log_info("Removed the clsact qdisc we created "
					 "on %s",
					 ifname);
		} else if (in > 0 || eg > 0) {
			log_info("Keeping the clsact qdisc on %s: other "
				 "filters use it",
				 ifname);
			/* Keep the marker: remove the qdisc when they go. */
			return;
		}
	}
	unlink(path);
}

/* ---- both ------------------------------------------------------------------ */

/*
 * After attaching in @mode, removes an attachment of ours in the other
 * mode on the same hook (left by a run with another attach_mode), which
 * would otherwise count every packet twice.
 */
static void drop_other_mode(struct attachment *a, enum att_mode mode,
			    const struct pins *p)
{
	char path[400];

	pin_name(path, sizeof(path), p, mode == MODE_TCX ? "tc" : "tcx", a);
	if (access(path, F_OK))
		return;
	log_warn("%s %s: switching from %s to %s; packets between the two "
		 "attachments are counted by both for a moment",
		 a->ifname, att_dir_name(a->direction),
		 mode == MODE_TCX ? "tc" : "tcx", att_mode_name(mode));
	if (mode == MODE_TCX) {
		tc_detach(a, p);
		unlink(path);
		pin_name(path, sizeof(path), p, "qdisc", a);
		tc_qdisc_release(a->ifindex, a->ifname, path);
	} else {
		tcx_detach(a, path);
	}
}

int attach_up(struct attachment *a, int prog_fd, enum attach_mode want,
	      const struct pins *p, bool *adopted)
{
	int err, type;

	*adopted = false;
	a->mode = MODE_NONE;
	a->ifindex = (int)if_nametoindex(a->ifname);
	if (!a->ifindex)
		return -ENODEV;
	type = config_link_type(a->ifname);
	if (!config_link_supported(type)) {
		/* Frames without an Ethernet header would be misparsed. */
		log_err("Not attaching to %s: it has no Ethernet header (link "
			"type %d)",
			a->ifname, type);
		return -EPROTONOSUPPORT;
	}

	if (want != ATTACH_TC) {
		err = tcx_attach(a, prog_fd, p, adopted);
		if (!err) {
			a->mode = MODE_TCX;
			goto done;
		}
		/* EINVAL: a kernel without TCX (before 6.6). */
		if (want == ATTACH_TCX || err != -EINVAL) {
			log_err("Cannot attach to %s %s with TCX: %s",
				a->ifname, att_dir_name(a->direction),
				strerror(-err));
			return err;
		}
		log_info("TCX is not available; using tc clsact on %s",
			 a->ifname);
	}
	err = tc_attach(a, prog_fd, p, adopted);
	if (err) {
		log_err("Cannot attach to %s %s with tc: %s", a->ifname,
			att_dir_name(a->direction), strerror(-err));
		return err;
	}
	a->mode = MODE_TC;
done:
	drop_other_mode(a, a->mode, p);
	a->prog_id = prog_id_of(prog_fd);
	log_info("%s %s to %s %s (ifindex %d, %s, program id %u)",
		 *adopted ? "Adopted and updated" : "Attached",
		 att_dir_name(a->direction), a->ifname,
		 *adopted ? "attachment" : "hook", a->ifindex,
		 att_mode_name(a->mode), a->prog_id);
	return 0;
}

int attach_down(struct attachment *a, const struct pins *p)
{
	char path[400], next[400];
	int err = 0, ret;

	pin_name(path, sizeof(path), p, "tcx", a);
	ret = tcx_detach(a, path);
	if (ret)
		err = ret;
	/* Either pin marks our filter (tcnew: a start that stopped between
	 * attaching and renaming). */
	pin_name(path, sizeof(path), p, "tc", a);
	pin_name(next, sizeof(next), p, "tcnew", a);
	if (access(path, F_OK) == 0 || access(next, F_OK) == 0) {
		if (a->ifindex > 0) {
			ret = tc_detach(a, p);
			if (ret && ret != -ENOENT)
				err = ret;
		}
		unlink(path);
		unlink(next);
	}
	pin_name(path, sizeof(path), p, "qdisc", a);
	tc_qdisc_release(a->ifindex, a->ifname, path);
	if (err)
		log_warn("Detaching from %s %s: %s", a->ifname,
			 att_dir_name(a->direction), strerror(-err));
	else if (a->mode != MODE_NONE)
		log_info("Detached from %s %s", a->ifname,
			 att_dir_name(a->direction));
	a->mode = MODE_NONE;
	a->prog_id = 0;
	return err;
}

void attach_forget(struct attachment *a, const struct pins *p)
{
	char path[400];

	/* The kernel removed the hook with the device; drop the pins. */
	pin_name(path, sizeof(path), p, "tcx", a);
	unlink(path);
	pin_name(path, sizeof(path), p, "tc", a);
	unlink(path);
	pin_name(path, sizeof(path), p, "tcnew", a);
	unlink(path);
	pin_name(path, sizeof(path), p, "qdisc", a);
	unlink(path);
	a->mode = MODE_NONE;
	a->ifindex = 0;
	a->prog_id = 0;
}

static bool listed(const struct attachment *a, const struct attachment *keep,
		   int n_keep)
{
	int i;

	for (i = 0; i < n_keep; i++)
		if (keep[i].direction == a->direction &&
		    !strcmp(keep[i].ifname, a->ifname))
			return true;
	return false;
}

int attach_remove_except(const struct pins *p, const struct attachment *keep,
			 int n_keep)
{
	struct attachment a;
	struct dirent *de;
	char path[600];
	DIR *d = opendir(p->att);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* Filters and links first, qdiscs after (they must be empty). */
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		bool tcx = !strncmp(s, "tcx:", 4), tc = !strncmp(s, "tc:", 3),
		     tcnew = !strncmp(s, "tcnew:", 6);

		if (!tcx && !tc && !tcnew)
			continue;
		/* A tcnew pin alone marks a filter too; beside tc:, it is one. */
		if (tcnew) {
			snprintf(path, sizeof(path), "%s/tc:%s", p->att, s + 6);
			if (access(path, F_OK) == 0)
				continue;
		}
		s += tcx ? 4 : tcnew ? 6 : 3;
		memset(&a, 0, sizeof(a));
		if (!strncmp(s, "ingress:", 8)) {
			a.direction = TCPLOG_DIR_INGRESS;
			s += 8;
		} else if (!strncmp(s, "egress:", 7)) {
			a.direction = TCPLOG_DIR_EGRESS;
			s += 7;
		} else {
			continue;
		}
		decode_ifname(a.ifname, s);
		if (listed(&a, keep, n_keep))
			continue;
		a.ifindex = (int)if_nametoindex(a.ifname);
		a.mode = tcx ? MODE_TCX : MODE_TC;
		attach_down(&a, p);
		n++;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "qdisc:", 6))
			continue;
		memset(&a, 0, sizeof(a));
		decode_ifname(a.ifname, de->d_name + 6);
		/* Still in use by a hook we keep: its marker stays. */
		a.direction = TCPLOG_DIR_INGRESS;
		if (listed(&a, keep, n_keep))
			continue;
		a.direction = TCPLOG_DIR_EGRESS;
		if (listed(&a, keep, n_keep))
			continue;
		a.ifindex = (int)if_nametoindex(a.ifname);
		snprintf(path, sizeof(path), "%s/%s", p->att, de->d_name);
		tc_qdisc_release(a.ifindex, a.ifname, path);
	}
	closedir(d);
	return n;
}

int attach_remove_all(const struct pins *p)
{
	return attach_remove_except(p, NULL, 0);
}

bool attach_verify(const struct attachment *a)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	__u32 ids[64];

	if (a->mode == MODE_TC)
		return a->ifindex > 0 &&
		       tc_query(a->ifindex, a->direction) == a->prog_id;
	if (a->mode != MODE_TCX || a->ifindex <= 0)
		return false;
	q.prog_ids = ids;
	q.prog_cnt = 64;
	if (bpf_prog_query_opts(a->ifindex, tcx_attach_type(a->direction), &q))
		return false;
	for (__u32 i = 0; i < q.prog_cnt && i < 64; i++)
		if (ids[i] == a->prog_id)
			return true;
	return false;
}
