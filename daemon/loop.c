// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * loop.c - the event loop: signals, rtnetlink events, the watchdog, and
 * keeping the attachments in line with the configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "expiry.h"
#include "maputil.h"
#include "log.h"
#include "netlink.h"
#include "tcplogger.h"

/* STATUS= refresh period; also how often attachments are verified. */
#define STATUS_PERIOD_SEC 10

struct wanted {
	char ifname[IF_NAMESIZE];
	int direction;
};

/* The configured (interface, direction) pairs, with `auto` resolved. */
static int wanted_list(const struct config *cfg, struct wanted *w, int max)
{
	char names[TCPLOG_MAX_IFACES][IF_NAMESIZE];
	int n_names = 0, n = 0, i, dir;

	if (cfg->ifaces_auto) {
		int idx[TCPLOG_MAX_IFACES], k;

		k = nl_default_route_ifaces(idx, TCPLOG_MAX_IFACES);
		if (k < 0) {
			log_err("Cannot read the default routes: %s",
				strerror(-k));
			return k;
		}
		for (i = 0; i < k; i++) {
			if (!if_indextoname((unsigned int)idx[i],
					    names[n_names]))
				continue;
			/* A default route over a tunnel: not ours to parse. */
			if (!config_link_supported(
				    config_link_type(names[n_names]))) {
				log_debug("Skipping %s (no Ethernet header)",
					  names[n_names]);
				continue;
			}
			n_names++;
		}
	} else {
		for (i = 0; i < cfg->n_ifaces; i++)
			snprintf(names[n_names++], IF_NAMESIZE, "%.*s",
				 IF_NAMESIZE - 1, cfg->ifaces[i]);
	}
	for (i = 0; i < n_names; i++)
		for (dir = TCPLOG_DIR_INGRESS; dir <= TCPLOG_DIR_EGRESS;
		     dir++) {
			unsigned int bit = dir == TCPLOG_DIR_INGRESS ?
						   DIR_INGRESS_BIT :
						   DIR_EGRESS_BIT;

			if (!(cfg->directions & bit) || n >= max)
				continue;
			snprintf(w[n].ifname, IF_NAMESIZE, "%.*s",
				 IF_NAMESIZE - 1, names[i]);
			w[n++].direction = dir;
		}
	return n;
}

static struct attachment *find_att(struct daemon *d, const char *ifname,
				   int direction)
{
	int i;

	for (i = 0; i < d->n_att; i++)
		if (d->att[i].direction == direction &&
		    !strcmp(d->att[i].ifname, ifname))
			return &d->att[i];
	return NULL;
}

/* An attached interface went away (and may come back, new). */
static void lost(struct daemon *d, struct attachment *a, int ifindex)
{
	log_warn("Interface %s (ifindex %d) disappeared: %s counting stopped "
		 "until it returns",
		 a->ifname, ifindex, att_dir_name(a->direction));
	attach_forget(a, &d->pins);
}

int daemon_reconcile(struct daemon *d)
{
	struct wanted w[MAX_ATTACHMENTS];
	struct attachment *a;
	bool adopted, keep;
	int n, i, j, err, ifindex, was, ret = 0;

	n = wanted_list(&d->cfg, w, MAX_ATTACHMENTS);
	if (n < 0)
		return n;
	if (n == 0)
		log_warn("No interface to attach to (interfaces = %s)",
			 d->cfg.ifaces_auto ? "auto: no default route" :
					      "none");

	/* Detach what is no longer wanted. */
	for (i = 0; i < d->n_att;) {
		keep = false;
		for (j = 0; j < n; j++)
			keep |= d->att[i].direction == w[j].direction &&
				!strcmp(d->att[i].ifname, w[j].ifname);
		if (keep) {
			i++;
			continue;
		}
		attach_down(&d->att[i], &d->pins);
		d->att[i] = d->att[--d->n_att];
	}
	/* Attach what is wanted and not attached (or attached elsewhere). */
	for (j = 0; j < n; j++) {
		a = find_att(d, w[j].ifname, w[j].direction);
		if (!a) {
			a = &d->att[d->n_att++];
			memset(a, 0, sizeof(*a));
			snprintf(a->ifname, IF_NAMESIZE, "%.*s",
				 IF_NAMESIZE - 1, w[j].ifname);
			a->direction = w[j].direction;
		}
		ifindex = (int)if_nametoindex(a->ifname);
		if (a->mode != MODE_NONE && a->ifindex == ifindex &&
		    attach_verify(a))
			continue;
		was = a->mode != MODE_NONE ? a->ifindex : 0;
		if (was && was != ifindex)
			lost(d, a, was);
		else if (was)
			log_warn("Our program is no longer on %s %s; "
				 "attaching again",
				 a->ifname, att_dir_name(a->direction));
		if (!ifindex) {
			if (!a->waiting)
				log_notice("Interface %s does not exist (yet); "
					   "attaching when it appears",
					   a->ifname);
			a->waiting = true;
			continue;
		}
		a->waiting = false;
		err = attach_up(a, loader_prog_fd(&d->loader, a->direction),
				d->cfg.attach_mode, &d->pins, &adopted);
		if (err == -ENODEV) {
			/* Deleted while we looked: the next event retries. */
			if (was == ifindex)
				lost(d, a, was);
			a->waiting = true;
			continue;
		}
		if (err && !ret)
			ret = err;
	}
	return ret;
}

struct tcplog_clock daemon_clock(struct daemon *d)
{
	struct tcplog_clock now;
	int64_t diff;

	/*
	 * Each measurement of the offset differs by a few hundred
	 * nanoseconds; one timestamp must print the same in every dump, so
	 * the offset changes only when the wall clock really moved (set by
	 * hand or by NTP) by more than 100 us.
	 */
	if (tcplog_clock_init(&now))
		return d->clock;
	diff = now.real_minus_boot_ns - d->clock.real_minus_boot_ns;
	if (!d->clock.real_minus_boot_ns || diff > 100000 || diff < -100000)
		d->clock = now;
	return d->clock;
}

void daemon_detach_all(struct daemon *d)
{
	int i;

	for (i = 0; i < d->n_att; i++)
		attach_down(&d->att[i], &d->pins);
	d->n_att = 0;
	/* Also what a previous run left for interfaces no longer listed. */
	attach_remove_all(&d->pins);
}

void daemon_status(struct daemon *d, char *buf, size_t size)
{
	size_t used = 0;
	int i, on = 0;

	for (i = 0; i < d->n_att; i++)
		on += d->att[i].mode != MODE_NONE;
	used += (size_t)snprintf(buf, size, "Counting on %d of %d hooks:", on,
				 d->n_att);
	for (i = 0; i < d->n_att && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, " %s/%s(%s)",
					 d->att[i].ifname,
					 att_dir_name(d->att[i].direction),
					 att_mode_name(d->att[i].mode));
	/* Counting a million entries takes a third of a second: the
	 * expiry scan has just done it. */
	if (used < size)
		snprintf(buf + used, size - used, "; %ld connections",
			 d->scan_entries >= 0 ?
				 d->scan_entries :
				 tcplog_map_count(
					 loader_conns_fd(&d->loader),
					 sizeof(struct tcplog_conn_key),
					 sizeof(struct tcplog_conn_val)));
}

static void notify_status(struct daemon *d)
{
	char status[1024];

	daemon_status(d, status, sizeof(status));
	sd_notifyf(0, "STATUS=%s", status);
}

static int handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	struct config next;
	char err[600];

	if (read(d->signal_fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	switch (si.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_notice("Received %s, stopping",
			   si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		d->stop = true;
		return 0;
	case SIGHUP:
		sd_notify(0, "RELOADING=1");
		log_notice("Received SIGHUP, reloading %s", d->config_path);
		if (config_load(d->config_path, &next, true, err,
				sizeof(err))) {
			log_err("%s; keeping the running configuration", err);
		} else {
			if (next.max_connections != d->cfg.max_connections ||
			    strcmp(next.pin_path, d->cfg.pin_path))
				log_warn("max_connections and pin_path take "
					 "effect at the next start");
			next.max_connections = d->cfg.max_connections;
			snprintf(next.pin_path, sizeof(next.pin_path), "%s",
				 d->cfg.pin_path);
			d->cfg = next;
			daemon_reconcile(d);
			expiry_rearm(d);
		}
		sd_notify(0, "READY=1");
		notify_status(d);
		return 0;
	}
	return 0;
}

void daemon_signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

static int setup_fds(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { 0 };
	sigset_t mask;
	uint64_t period_ns;
	int err;

	daemon_signal_mask(&mask);
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	d->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->signal_fd < 0 || d->epoll_fd < 0 || d->timer_fd < 0)
		return -errno;

	/* The watchdog wants a ping at least every WatchdogSec/2. */
	period_ns = (uint64_t)STATUS_PERIOD_SEC * 1000000000ull;
	if (d->watchdog_usec && d->watchdog_usec * 1000 / 2 < period_ns)
		period_ns = d->watchdog_usec * 1000 / 2;
	its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
	its.it_value = its.it_interval;
	if (timerfd_settime(d->timer_fd, 0, &its, NULL))
		return -errno;

	/* data.u64: a file descriptor shifted left, or a tagged client. */
	ev.data.u64 = (uint64_t)d->signal_fd << 1;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->signal_fd, &ev);
	ev.data.u64 = (uint64_t)d->timer_fd << 1;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->timer_fd, &ev);
	ev.data.u64 = (uint64_t)d->netlink_fd << 1;
	if (d->netlink_fd >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->netlink_fd, &ev);
	err = server_watch(d, d->epoll_fd);
	return err ? err : expiry_start(d);
}

int daemon_run(struct daemon *d)
{
	struct epoll_event events[8];
	uint64_t expirations;
	time_t last_status = 0;
	int n, i, err;

	err = setup_fds(d);
	if (err) {
		log_err("Cannot set up the event loop: %s", strerror(-err));
		return err;
	}
	while (!d->stop) {
		n = epoll_wait(d->epoll_fd, events, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = events[i].data.u64;
			uint64_t removed = d->server.removed;
			int fd = (int)(tag >> 1);

			if (tag & EV_TAG_CLIENT) {
				server_on_client(
					d,
					(struct client
						 *)(uintptr_t)(tag &
							       ~EV_TAG_CLIENT),
					events[i].events);
			} else if (fd == d->server.listen_fd) {
				server_on_listen(d);
			} else if (fd == d->server.timer_fd) {
				server_on_tick(d);
			} else if (fd == d->expiry_fd) {
				expiry_on_timer(d);
			} else if (fd == d->signal_fd) {
				handle_signal(d);
			} else if (fd == d->netlink_fd) {
				/*
				 * An event only says "look again": the
				 * reconcile compares the configuration with
				 * the kernel, lost events included.
				 */
				err = nl_monitor_read(fd);
				if (err == -ENOBUFS)
					log_warn("Lost rtnetlink events; "
						 "resynchronising");
				if (err)
					daemon_reconcile(d);
			} else if (fd == d->timer_fd) {
				if (read(fd, &expirations,
					 sizeof(expirations)) < 0)
					continue;
				if (d->watchdog_usec)
					sd_notify(0, "WATCHDOG=1");
				if (time(NULL) - last_status >=
				    STATUS_PERIOD_SEC) {
					last_status = time(NULL);
					daemon_reconcile(d);
					notify_status(d);
				}
			}
			/*
			 * A client freed here may be named by a later event
			 * of this batch: poll again (level-triggered, so no
			 * event is lost).
			 */
			if (d->server.removed != removed)
				break;
		}
	}
	return 0;
}
