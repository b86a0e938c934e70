// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * main.c - tcploggerd: command line, start-up and shut-down.
 *
 * Runs in the foreground (systemd Type=notify): no fork, no PID file.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "caps.h"
#include "daemon.h"
#include "log.h"
#include "migrate.h"
#include "netlink.h"
#include "tcplog_config.h"
#include "tcplogger.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcploggerd [OPTIONS]\n"
		"Per-connection TCP accounting at the TC hook.\n\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"      --check-config  validate the configuration and exit\n"
		"      --detach        remove every attachment and pin this "
		"daemon made, and exit\n"
		"  -v, --verbose       debug messages, libbpf's included\n"
		"  -h, --help          this help\n"
		"      --version       print the version\n",
		TCPLOG_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DETACH, OPT_VERSION };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "detach", no_argument, NULL, OPT_DETACH },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	static struct daemon d;
	const char *config_path = TCPLOG_DEFAULT_CONFIG;
	bool check_only = false, detach = false, verbose = false;
	char err[600], status[1024];
	int opt, ret, n, upgrading;

	sigset_t mask;

	/*
	 * Big buffers (a sorted dump's array, up to ~100 MiB) from mmap
	 * always: glibc would otherwise raise this threshold to 32 MiB after
	 * the first such free, and a growing array under it is copied at
	 * every doubling (tens of ms in one turn of the loop, measured)
	 * where mremap moves it for free; freed, it goes back to the system.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	daemon_signal_mask(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case OPT_CHECK:
			check_only = true;
			break;
		case OPT_DETACH:
			detach = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("tcploggerd %s (BPF ABI %d, libbpf %s)\n",
			       TCPLOG_VERSION, TCPLOG_ABI_VERSION,
			       libbpf_version_string());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcploggerd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init(verbose ? LOG_DEBUG : LOG_INFO);
	daemon_init(&d, config_path);

	/*
	 * Everything about the configuration before touching the kernel.
	 * Detaching needs no interface to exist (it may be gone already).
	 */
	if (config_load(config_path, &d.cfg, !detach, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration OK\n", config_path);
		return 0;
	}
	if (caps_check())
		return 1;

	ret = pins_open(&d.pins, d.cfg.pin_path);
	if (ret)
		return 1;
	if (detach) {
		ret = attach_remove_all(&d.pins);
		pins_remove_layout(&d.pins);
		log_notice("Detached %d attachments and removed the pins in %s",
			   ret < 0 ? 0 : ret, d.cfg.pin_path);
		daemon_close(&d);
		return ret < 0 ? 1 : 0;
	}
	/* An upgrade from an older map layout (migrate.h), or a clean slate. */
	upgrading = migrate_pins(&d.pins);
	if (!upgrading)
		pins_remove_other_layouts(&d.pins);

	ret = loader_load(&d.loader, &d.cfg, &d.pins);
	if (!ret)
		ret = daemon_wire(&d);
	if (ret)
		goto out;
	/* The socket is live before READY=1. */
	ret = server_open(&d.server, &d.cfg);
	if (ret)
		goto out;
	/* Subscribe before attaching, so no interface event is missed. */
	d.netlink_fd = nl_monitor_open();
	if (d.netlink_fd < 0)
		log_warn("Cannot watch interfaces (rtnetlink): %s; interfaces "
			 "that come back later are attached every 10 s",
			 strerror(-d.netlink_fd));
	ret = daemon_reconcile(&d);
	if (ret)
		goto out;
	/*
	 * Hooks an earlier run attached to and the configuration dropped. Not
	 * while `interfaces = auto` finds no default route (a restart during
	 * a network change would stop counting), unless the maps they count
	 * into are about to go (an upgrade of the layout).
	 */
	if (upgrading || !d.cfg.ifaces_auto || d.hooks.n > 0) {
		n = attach_remove_except(&d.pins, d.hooks.att, d.hooks.n);
		if (n > 0)
			log_notice("Detached %d attachments the configuration "
				   "no longer lists",
				   n);
	}
	if (upgrading) {
		struct migrate_result mr;
		struct tcplog_clock clock;

		tcplog_clock_init(&clock);
		ret = migrate_counts(&d.pins, &d.maps, &clock, &mr);
		if (ret)
			goto out;
		if (!mr.kept)
			pins_remove_other_layouts(&d.pins);
	}

	/* Loaded and attached: from here on only tc attaching needs a
	 * capability (caps.h). */
	ret = caps_drop_after_start();
	if (ret)
		log_warn("Cannot drop capabilities after the start: %s",
			 strerror(-ret));
	else
		log_info("Keeping CAP_NET_ADMIN only from here on");
	ret = 0;
	daemon_status(&d, status, sizeof(status));
	log_notice("Started: %s", status);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);

	ret = daemon_run(&d);

	sd_notify(0, "STOPPING=1");
	if (!d.cfg.keep_attached) {
		daemon_detach_all(&d);
		pins_remove_layout(&d.pins);
		log_notice("Stopped; detached and removed the pins "
			   "(keep_attached = no)");
	} else {
		log_notice("Stopped; the program keeps counting "
			   "(keep_attached = yes)");
	}
out:
	daemon_close(&d);
	return ret ? 1 : 0;
}
