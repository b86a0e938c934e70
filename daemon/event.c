// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * event.c - the daemon's event loop on sd-event: signals, rtnetlink events,
 * the watchdog, the expiry and status timers, the API socket; and keeping
 * the attachments in line with the configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "netlink.h"
#include "tcplogger.h"

/* STATUS= refresh period; also how often attachments are verified. */
#define STATUS_PERIOD_USEC (10 * 1000000ull)

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

	for (i = 0; i < d->hooks.n; i++)
		if (d->hooks.att[i].direction == direction &&
		    !strcmp(d->hooks.att[i].ifname, ifname))
			return &d->hooks.att[i];
	return NULL;
}

/*
 * The index of an interface as one reconcile sees it: resolved once, so
 * that both directions of an interface deleted and made again while the
 * reconcile runs are judged alike (one read as gone, the other as there,
 * made the second forget the clsact record the first had just written).
 */
struct ifindex_snap {
	int n;
	char name[ATT_MAX][IF_NAMESIZE];
	int index[ATT_MAX];
};

static int snap_ifindex(struct ifindex_snap *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->index[i];
	if (s->n == ATT_MAX)
		return (int)if_nametoindex(name);
	snprintf(s->name[s->n], IF_NAMESIZE, "%s", name);
	s->index[s->n] = (int)if_nametoindex(name);
	return s->index[s->n++];
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
	struct wanted w[ATT_MAX];
	struct ifindex_snap snap = { 0 };
	struct attachment *a;
	bool adopted, keep;
	int n, i, j, err, ifindex, was, ret = 0;

	n = wanted_list(&d->cfg, w, ATT_MAX);
	if (n < 0)
		return n;
	if (n == 0)
		log_warn("No interface to attach to (interfaces = %s)",
			 d->cfg.ifaces_auto ? "auto: no default route" :
					      "none");

	/* Detach what is no longer wanted. */
	for (i = 0; i < d->hooks.n;) {
		keep = false;
		for (j = 0; j < n; j++)
			keep |= d->hooks.att[i].direction == w[j].direction &&
				!strcmp(d->hooks.att[i].ifname, w[j].ifname);
		if (keep) {
			i++;
			continue;
		}
		attach_down(&d->hooks.att[i], &d->pins);
		d->hooks.att[i] = d->hooks.att[--d->hooks.n];
	}
	/*
	 * Forget every hook whose interface went away (or came back new)
	 * before attaching any: the directions of one interface share the
	 * record of the clsact qdisc we created, and forgetting the second
	 * after attaching the first would drop the new record (an interface
	 * deleted and made again between two netlink reads).
	 */
	for (i = 0; i < d->hooks.n; i++) {
		a = &d->hooks.att[i];
		ifindex = snap_ifindex(&snap, a->ifname);
		if (a->mode != MODE_NONE && a->ifindex != ifindex)
			lost(d, a, a->ifindex);
	}
	/* Attach what is wanted and not attached (or attached elsewhere). */
	for (j = 0; j < n; j++) {
		a = find_att(d, w[j].ifname, w[j].direction);
		if (!a) {
			a = &d->hooks.att[d->hooks.n++];
			memset(a, 0, sizeof(*a));
			snprintf(a->ifname, IF_NAMESIZE, "%.*s",
				 IF_NAMESIZE - 1, w[j].ifname);
			a->direction = w[j].direction;
		}
		ifindex = snap_ifindex(&snap, a->ifname);
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

void daemon_detach_all(struct daemon *d)
{
	int i;

	for (i = 0; i < d->hooks.n; i++)
		attach_down(&d->hooks.att[i], &d->pins);
	d->hooks.n = 0;
	/* Also what a previous run left for interfaces no longer listed. */
	attach_remove_all(&d->pins);
}

void daemon_status(struct daemon *d, char *buf, size_t size)
{
	uint64_t entries = 0;
	size_t used = 0;
	int i, on = 0;

	for (i = 0; i < d->hooks.n; i++)
		on += d->hooks.att[i].mode != MODE_NONE;
	used += (size_t)snprintf(buf, size, "Counting on %d of %d hooks:", on,
				 d->hooks.n);
	for (i = 0; i < d->hooks.n && used < size; i++)
		used += (size_t)snprintf(
			buf + used, size - used, " %s/%s(%s)",
			d->hooks.att[i].ifname,
			att_dir_name(d->hooks.att[i].direction),
			att_mode_name(d->hooks.att[i].mode));
	/* Counting a million entries takes a third of a second: the
	 * expiry scan has just done it (none yet: a fresh start). */
	entries = d->expiry.counts.entries;
	if (used < size)
		snprintf(buf + used, size - used, "; %llu connections",
			 (unsigned long long)entries);
}

static void notify_status(struct daemon *d)
{
	char status[1024];

	daemon_status(d, status, sizeof(status));
	sd_notifyf(0, "STATUS=%s", status);
}

/* The expiry timer's slack: a slice follows the last within this. */
#define EXPIRY_TIMER_ACCURACY_USEC 1000

/* (Re)arms a one-shot timer @usec from now. */
static int rearm(sd_event_source *src, uint64_t usec)
{
	int err = sd_event_source_set_time_relative(src, usec);

	return err < 0 ? err :
			 sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static void reload(struct daemon *d)
{
	struct config next;
	char err[600];
	bool reopen;

	sd_notify(0, "RELOADING=1");
	log_notice("Received SIGHUP, reloading %s", d->config_path);
	if (config_load(d->config_path, &next, true, err, sizeof(err))) {
		log_err("%s; keeping the running configuration", err);
	} else {
		if (next.max_connections != d->cfg.max_connections ||
		    strcmp(next.pin_path, d->cfg.pin_path))
			log_warn("max_connections and pin_path take effect at "
				 "the next start");
		next.max_connections = d->cfg.max_connections;
		snprintf(next.pin_path, sizeof(next.pin_path), "%s",
			 d->cfg.pin_path);
		/* An endpoint that failed to open is tried again too. */
		reopen = !http_same(&next, &d->cfg) ||
			 (next.metrics_on && !d->http.mhd);
		d->cfg = next;
		daemon_reconcile(d);
		expiry_configure(&d->expiry, &d->cfg);
		if (ipfix_start(&d->ipfix, &d->cfg, d->event))
			log_err("IPFIX export stopped: a collector cannot be "
				"resolved");
		if (reopen)
			http_open(&d->http, &d->cfg, d->event, &d->metrics);
		if (rearm(d->expiry_src, expiry_period_ms(&d->expiry) * 1000))
			log_err("Cannot re-arm the expiry timer");
	}
	sd_notify(0, "READY=1");
	notify_status(d);
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si,
		     void *userdata)
{
	struct daemon *d = userdata;

	if (si->ssi_signo == SIGHUP) {
		reload(d);
		return 0;
	}
	log_notice("Received %s, stopping",
		   si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
	return sd_event_exit(sd_event_source_get_event(src), 0);
}

void daemon_signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

static int on_netlink(sd_event_source *src, int fd, uint32_t events,
		      void *userdata)
{
	int err = nl_monitor_read(fd);

	(void)src;
	(void)events;
	/*
	 * An event only says "look again": the reconcile compares the
	 * configuration with the kernel, lost events included.
	 */
	if (err == -ENOBUFS)
		log_warn("Lost rtnetlink events; resynchronising");
	if (err)
		daemon_reconcile(userdata);
	return 0;
}

static int on_status(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	daemon_reconcile(d);
	notify_status(d);
	health_sample(&d->api.health, &d->maps, &d->expiry.counts, usec / 1000);
	return rearm(src, STATUS_PERIOD_USEC);
}

static int on_expiry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	uint64_t next_ms;

	(void)usec;
	/* A slice at a time: the next one after the events now pending. */
	if (expiry_step(&d->expiry, &next_ms))
		return rearm(src, 0);
	return rearm(src, next_ms * 1000);
}

/* The API as the server's handler: the server knows lines, not commands. */
static void *answer(void *ctx, const char *line, size_t len,
		    const struct api_peer *peer, struct jw *out)
{
	return api_answer(ctx, line, len, peer, out);
}

static bool step(void *ctx, void *stream, struct jw *out, size_t budget)
{
	return api_dump_step(ctx, stream, out, budget);
}

static void end(void *stream)
{
	api_dump_free(stream);
}

/* One id the program met first (tcplogger.h, struct tcplog_unit). */
static int on_owner_event(void *ctx, void *data, size_t size)
{
	__u64 id;

	if (size >= sizeof(id)) {
		memcpy(&id, data, sizeof(id));
		units_note(ctx, id);
	}
	return 0;
}

/* New owners reported: named now, while their units still run. */
static int on_owner_events(sd_event_source *src, int fd, uint32_t events,
			   void *userdata)
{
	struct daemon *d = userdata;

	(void)src;
	(void)fd;
	(void)events;
	if (d->owner_rb)
		ring_buffer__consume(d->owner_rb);
	units_flush(&d->units);
	return 0;
}

static int add_sources(struct daemon *d)
{
	const struct server_handler handler = {
		.ctx = &d->api,
		.answer = answer,
		.step = step,
		.end = end,
	};
	sd_event *e = d->event;
	int err;

	err = sd_event_add_signal(e, NULL, SIGTERM, on_signal, d);
	if (err >= 0)
		err = sd_event_add_signal(e, NULL, SIGINT, on_signal, d);
	if (err >= 0)
		err = sd_event_add_signal(e, NULL, SIGHUP, on_signal, d);
	/* WATCHDOG=1 at half of WatchdogSec=, if the unit sets one. */
	if (err >= 0)
		err = sd_event_set_watchdog(e, true);
	if (err >= 0)
		err = sd_event_add_time_relative(e, &d->status_src,
						 CLOCK_MONOTONIC,
						 STATUS_PERIOD_USEC, 0,
						 on_status, d);
	/*
	 * The first scan at once: stats and health report its counts. To
	 * the millisecond: sd-event's default accuracy (0) lets a timer
	 * slip by up to 250 ms, which after every 5 ms slice of a scan would
	 * stretch the scan fifty times.
	 */
	if (err >= 0)
		err = sd_event_add_time_relative(e, &d->expiry_src,
						 CLOCK_MONOTONIC, 0,
						 EXPIRY_TIMER_ACCURACY_USEC,
						 on_expiry, d);
	/* Bulk work: a request waits for one slice at most, not a queue. */
	if (err >= 0)
		err = sd_event_source_set_priority(d->expiry_src,
						   SERVER_BULK_PRIORITY);
	if (err >= 0 && d->netlink_fd >= 0)
		err = sd_event_add_io(e, &d->netlink_src, d->netlink_fd,
				      EPOLLIN, on_netlink, d);
	if (err >= 0 && d->owner_rb)
		err = sd_event_add_io(e, &d->owner_src,
				      ring_buffer__epoll_fd(d->owner_rb),
				      EPOLLIN, on_owner_events, d);
	if (err >= 0)
		err = server_start(&d->server, e, &handler);
	return err < 0 ? err : 0;
}

int daemon_run(struct daemon *d)
{
	int err;

	err = sd_event_new(&d->event);
	if (err >= 0)
		err = ipfix_start(&d->ipfix, &d->cfg, d->event);
	if (err >= 0 && d->recovered)
		ipfix_recovered(&d->ipfix, &d->recovered_rec,
				d->recovered_reason);
	/* What a killed daemon had not sent, before anything new. */
	ipfix_flush(&d->ipfix);
	if (err >= 0)
		err = add_sources(d);
	/* Counting goes on without it: an error is logged, a reload may
	 * fix it. */
	if (err >= 0)
		http_open(&d->http, &d->cfg, d->event, &d->metrics);
	if (err < 0) {
		log_err("Cannot set up the event loop: %s", strerror(-err));
		return err;
	}
	err = sd_event_loop(d->event);
	if (err < 0)
		log_err("The event loop failed: %s", strerror(-err));
	return err < 0 ? err : 0;
}

void daemon_init(struct daemon *d, const char *config_path)
{
	memset(d, 0, sizeof(*d));
	d->config_path = config_path;
	d->pins.lock_fd = -1;
	d->netlink_fd = -1;
	maps_init(&d->maps, -1, -1, -1, 0);
	d->ipfix.store.sent_fd = d->ipfix.store.journal_fd = -1;
	http_init(&d->http);
	server_init(&d->server);
	expiry_init(&d->expiry, &d->maps, &d->wall);
}

/* The previous daemon was killed between removing an entry and saving
 * the totals: they get it now. */
static void recover_take(struct daemon *d)
{
	struct conn_rec r;
	int reason = 0, ret = maps_take_recover(&d->maps, &r, &reason);

	if (ret > 0) {
		d->recovered = true;
		d->recovered_reason = reason;
		d->recovered_rec = r;
	}
	if (ret > 0)
		log_notice(
			"The previous daemon stopped while removing an entry "
			"(%llu packets, %llu bytes): added to the expired "
			"totals",
			(unsigned long long)r.c.packets,
			(unsigned long long)r.c.bytes);
	else if (ret < 0)
		log_warn("Cannot save the expiry totals: %s", strerror(-ret));
}

int daemon_wire(struct daemon *d)
{
	int err;

	maps_init(&d->maps, loader_conns_fd(&d->loader),
		  loader_percpu_fd(&d->loader), loader_totals_fd(&d->loader),
		  d->cfg.max_connections);
	d->maps.state = d->loader.state;
	/* None pinned yet (a new map) reads as zero totals. */
	err = maps_totals_load(&d->maps);
	if (err && err != -ENOENT)
		log_warn("Cannot read the expiry totals: %s; starting from "
			 "zero",
			 strerror(-err));
	recover_take(d);
	tcplog_clock_init(&d->wall);
	expiry_init(&d->expiry, &d->maps, &d->wall);
	expiry_configure(&d->expiry, &d->cfg);
	err = units_init(&d->units, NULL);
	if (!err)
		err = sums_init(&d->sums);
	if (err)
		return err;
	/* Names an earlier daemon found; ids reported meanwhile, named at
	 * the first flush. */
	units_use_map(&d->units, loader_units_fd(&d->loader));
	d->owner_rb = ring_buffer__new(loader_owner_events_fd(&d->loader),
				       on_owner_event, &d->units, NULL);
	if (!d->owner_rb)
		log_warn("Cannot read the new owners' ring buffer: %s; unit "
			 "names are found lazily (a short-lived unit may go "
			 "unnamed)",
			 strerror(errno));
	ring_buffer__consume(d->owner_rb);
	units_flush(&d->units);
	d->expiry.units = &d->units;
	/* Before the capabilities go: the store may have to be made. */
	err = sums_store_open(&d->sums, d->pins.dir);
	if (err)
		log_warn("Cannot keep the sums per interface and unit in %s: "
			 "%s; they start from zero at each start",
			 d->pins.dir, strerror(-err));
	if (d->recovered) {
		char ifname[IF_NAMESIZE] = "";
		const struct conn_rec *r = &d->recovered_rec;

		if_indextoname(r->key.ifindex, ifname);
		sums_removed(&d->sums, r, ifname,
			     units_name(&d->units, r->c.cgroup_id),
			     d->maps.totals.entries);
	}
	d->expiry.sums = &d->sums;
	/* Before the capabilities go: the store may have to be made. */
	err = ipfix_open(&d->ipfix, &d->cfg, d->pins.dir, &d->maps, &d->wall);
	if (err)
		return err;
	d->expiry.ipfix = &d->ipfix;
	d->api = (struct api){ .maps = &d->maps,
			       .units = &d->units,
			       .sums = &d->sums,
			       .ipfix = &d->ipfix,
			       .wall = &d->wall,
			       .hooks = &d->hooks,
			       .sort_budget.limit = SNAPSHOT_SORT_BUDGET,
			       .log = &d->expiry.log,
			       .counts = &d->expiry.counts };
	d->metrics = (struct metrics_src){ .maps = &d->maps,
					   .sums = &d->sums,
					   .counts = &d->expiry.counts,
					   .hooks = &d->hooks,
					   .ipfix = &d->ipfix };
	health_restart(&d->api.health, &d->maps, &d->expiry.counts,
		       tcplog_now_ns(CLOCK_MONOTONIC) / 1000000);
	return 0;
}

void daemon_close(struct daemon *d)
{
	http_close(&d->http);
	server_close(&d->server);
	d->expiry_src = sd_event_source_disable_unref(d->expiry_src);
	expiry_free(&d->expiry);
	ipfix_close(&d->ipfix);
	units_free(&d->units);
	sums_free(&d->sums);
	d->status_src = sd_event_source_disable_unref(d->status_src);
	d->netlink_src = sd_event_source_disable_unref(d->netlink_src);
	d->owner_src = sd_event_source_disable_unref(d->owner_src);
	ring_buffer__free(d->owner_rb);
	d->owner_rb = NULL;
	d->event = sd_event_unref(d->event);
	if (d->netlink_fd >= 0)
		close(d->netlink_fd);
	d->netlink_fd = -1;
	loader_close(&d->loader);
	pins_close(&d->pins);
}
