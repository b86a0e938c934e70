/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * attach.h - putting the program on an interface's TC hook and taking it
 * off again: TCX links (Linux 6.6+) or a cls_bpf filter on a clsact qdisc.
 * Every attachment is pinned (pins.h) so that it survives the daemon, and
 * adopted on the next start with an atomic program swap.
 */
#ifndef TCPLOG_ATTACH_H
#define TCPLOG_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>
#include <net/if.h>

#include "config.h"
#include "pins.h"

/* Our cls_bpf filter: priority 1 runs before every other priority. */
#define TCPLOG_TC_PRIORITY 1
#define TCPLOG_TC_HANDLE 0x7c0f

enum att_mode {
	MODE_NONE = 0,
	MODE_TCX,
	MODE_TC,
};

struct attachment {
	char ifname[IF_NAMESIZE];
	int ifindex; /* 0 while the interface does not exist */
	int direction; /* enum tcplog_direction */
	enum att_mode mode; /* how it is attached, MODE_NONE if not */
	__u32 prog_id;
	bool waiting; /* the interface is missing; logged once */
};

/* Every hook the configuration asks for, attached or not. */
#define ATT_MAX (2 * TCPLOG_MAX_IFACES)
struct att_set {
	struct attachment att[ATT_MAX];
	int n;
};

const char *att_mode_name(enum att_mode mode);
const char *att_dir_name(int direction);

/*
 * Attaches @prog_fd to the hook of @a (whose ifname and direction are set;
 * ifindex is looked up). Adopts and atomically updates a pinned attachment
 * of ours. Sets *adopted when it did. Returns 0 or a negative errno
 * (logged).
 */
int attach_up(struct attachment *a, int prog_fd, enum attach_mode want,
	      const struct pins *p, bool *adopted);

/*
 * Removes our attachment of @a and its pins, and the clsact qdisc if we
 * created it and nothing else uses it. Never touches what is not ours.
 */
int attach_down(struct attachment *a, const struct pins *p);

/* Forgets an attachment whose interface disappeared (pins removed). */
void attach_forget(struct attachment *a, const struct pins *p);

/*
 * Removes every attachment recorded under @p (for --detach and
 * keep_attached = no). Returns how many, or a negative errno.
 */
int attach_remove_all(const struct pins *p);

/*
 * Removes every attachment recorded under @p except those for the hooks
 * (interface name and direction) in @keep: what an earlier run attached
 * where the configuration no longer asks for it. Returns how many.
 */
int attach_remove_except(const struct pins *p, const struct attachment *keep,
			 int n_keep);

/* Whether the kernel still has @a attached, as ours. */
bool attach_verify(const struct attachment *a);

#endif /* TCPLOG_ATTACH_H */
