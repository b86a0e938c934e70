// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* loader.c - load the BPF object; adopt or create the pinned maps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "maps.h"
#include "log.h"
#include "tcplogger.h"
#include "tcplogger.skel.h"

/*
 * Adopts the map pinned at @path if it matches what the object expects
 * (type, key and value size, capacity); otherwise removes the pin and
 * logs what is dropped. Returns 1 if adopted, 0 if not, or -errno.
 */
static int adopt_map(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const char *why = NULL;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		log_err("Cannot open the pinned map %s: %s", path,
			strerror(errno));
		return err;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.type != bpf_map__type(map))
		why = "map type differs";
	else if (info.key_size != bpf_map__key_size(map) ||
		 info.value_size != bpf_map__value_size(map))
		why = "key or value layout differs";
	else if (info.max_entries != bpf_map__max_entries(map))
		why = "capacity (max_connections) differs";
	if (why) {
		long n = info.type == BPF_MAP_TYPE_HASH ?
				 maps_count_foreign(fd, info.key_size) :
				 -1;

		if (n >= 0)
			log_warn("Replacing the pinned map %s: %s (%u -> %u "
				 "entries); dropping %ld entries and their "
				 "counts",
				 path, why, info.max_entries,
				 bpf_map__max_entries(map), n);
		else
			log_warn("Replacing the pinned map %s: %s", path, why);
		close(fd);
		if (unlink(path))
			return -errno;
		return 0;
	}
	err = bpf_map__reuse_fd(map, fd);
	close(fd); /* reuse_fd dups it */
	return err ? err : 1;
}

/* Whether TC programs of this kernel may call @helper. */
static bool tc_helper(enum bpf_func_id helper)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, helper, NULL) ==
	       1;
}

/* Whether the kernel describes its types (BTF): CO-RE needs it. */
static bool kernel_btf(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (libbpf_get_error(btf))
		return false;
	btf__free(btf);
	return true;
}

/*
 * The owner lookups this kernel allows (enum tcplog_owner), each missing
 * one logged with what it costs. Debian 12's 6.1 has them all: the
 * ingress side needs bpf_sk_lookup_tcp() (4.20), bpf_skc_to_tcp_sock()
 * (5.9, with CAP_PERFMON at load) and the kernel's BTF to read the
 * socket's cgroup (bpf_sk_cgroup_id() is not allowed in TC programs).
 */
static __u32 probe_owner(void)
{
	__u32 owner = 0;

	if (tc_helper(BPF_FUNC_skb_cgroup_id))
		owner |= TCPLOG_OWNER_EGRESS;
	else
		log_warn("This kernel has no bpf_skb_cgroup_id() for TC "
			 "programs (CONFIG_SOCK_CGROUP_DATA): egress "
			 "connections get no owner (cgroup_id 0, unit null)");
	if (tc_helper(BPF_FUNC_sk_lookup_tcp) &&
	    tc_helper(BPF_FUNC_sk_release) &&
	    tc_helper(BPF_FUNC_skc_to_tcp_sock) && kernel_btf())
		owner |= TCPLOG_OWNER_INGRESS;
	else
		log_warn("No socket lookup with the socket's cgroup for TC "
			 "programs here (needs bpf_sk_lookup_tcp(), "
			 "bpf_skc_to_tcp_sock() with CAP_PERFMON, and the "
			 "kernel's BTF): ingress connections get no owner "
			 "(cgroup_id 0, unit null)");
	if ((owner & TCPLOG_OWNER_INGRESS) && tc_helper(BPF_FUNC_fib_lookup))
		owner |= TCPLOG_OWNER_ROUTED;
	else if (owner & TCPLOG_OWNER_INGRESS)
		log_warn("This kernel has no bpf_fib_lookup() for TC "
			 "programs: forwarded connections to a port a local "
			 "wildcard listener has get that listener's owner");
	return owner;
}

int loader_load(struct loader *l, const struct config *cfg,
		const struct pins *p)
{
	struct {
		struct bpf_map *map;
		const char *name;
		int adopted;
	} maps[6];
	const int n_maps = 6;
	char path[400];
	int i, err;
	void *state;

	memset(l, 0, sizeof(*l));
	l->skel = tcplogger__open();
	if (!l->skel) {
		err = -errno;
		log_err("Cannot open the BPF object: %s", strerror(errno));
		return err;
	}
	err = bpf_map__set_max_entries(l->skel->maps.tcplog_conns,
				       cfg->max_connections);
	if (err)
		goto fail;
	l->skel->rodata->embryonic_max =
		(__s64)cfg->max_connections * TCPLOG_EMBRYONIC_SHARE_PCT / 100;
	l->owner = probe_owner();
	l->skel->rodata->owner_helpers = l->owner;

	maps[0].map = l->skel->maps.tcplog_conns;
	maps[0].name = "conns";
	maps[1].map = l->skel->maps.tcplog_percpu;
	maps[1].name = "percpu";
	maps[2].map = l->skel->maps.tcplog_totals;
	maps[2].name = "totals";
	maps[3].map = l->skel->maps.tcplog_state;
	maps[3].name = "state";
	maps[4].map = l->skel->maps.tcplog_units;
	maps[4].name = "units";
	/* Pinned too: ids the program reports while no daemon reads wait
	 * there for the next one. */
	maps[5].map = l->skel->maps.tcplog_owner_events;
	maps[5].name = "owner_events";
	for (i = 0; i < n_maps; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, maps[i].name);
		maps[i].adopted = adopt_map(maps[i].map, path);
		if (maps[i].adopted < 0) {
			err = maps[i].adopted;
			goto fail;
		}
	}

	err = tcplogger__load(l->skel);
	if (err) {
		log_err("Cannot load the BPF programs: %s%s", strerror(-err),
			err == -EPERM ? " (needs CAP_BPF and CAP_NET_ADMIN; "
					"with a locked memory limit, raise "
					"RLIMIT_MEMLOCK)" :
					"");
		goto fail;
	}
	for (i = 0; i < n_maps; i++) {
		if (maps[i].adopted)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->dir, maps[i].name);
		if (bpf_obj_pin(bpf_map__fd(maps[i].map), path)) {
			err = -errno;
			log_err("Cannot pin %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	state = mmap(NULL, sizeof(struct tcplog_state), PROT_READ | PROT_WRITE,
		     MAP_SHARED, bpf_map__fd(l->skel->maps.tcplog_state), 0);
	if (state == MAP_FAILED) {
		err = -errno;
		log_err("Cannot map the shared state: %s", strerror(errno));
		goto fail;
	}
	l->state = state;
	l->adopted = maps[0].adopted > 0;
	/* A new connection map holds no embryonic entry, whatever an
	 * adopted SYN state says. */
	if (!l->adopted)
		l->state->embryonic = 0;
	if (l->adopted)
		log_info("Adopted the pinned maps in %s: counters continue",
			 p->dir);
	else
		log_info("Created the maps in %s (capacity %u connections)",
			 p->dir, cfg->max_connections);
	return 0;
fail:
	tcplogger__destroy(l->skel);
	l->skel = NULL;
	return err;
}

void loader_close(struct loader *l)
{
	if (l->state)
		munmap(l->state, sizeof(*l->state));
	l->state = NULL;
	tcplogger__destroy(l->skel);
	l->skel = NULL;
}

int loader_prog_fd(const struct loader *l, int direction)
{
	return bpf_program__fd(direction == TCPLOG_DIR_EGRESS ?
				       l->skel->progs.tcplog_egress :
				       l->skel->progs.tcplog_ingress);
}

int loader_conns_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tcplog_conns);
}

int loader_percpu_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tcplog_percpu);
}

int loader_totals_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tcplog_totals);
}

int loader_units_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tcplog_units);
}

int loader_owner_events_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.tcplog_owner_events);
}
