// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * capprobe.c - one kernel operation of tcploggerd's, alone, for measuring
 * which capability it needs (tests/tools/capmatrix.sh runs it with
 * different bounding sets, after preparing its state as full root).
 *
 *   capprobe OP PINDIR [IFNAME]
 *
 *   load        load the real program and its maps; pin the ingress
 *               program (PINDIR/prog) and the connection map (PINDIR/map)
 *   pin         pin the pinned map once more (PINDIR/map2)
 *   read        open the pinned map and read it (batched, else key by key)
 *   tcx-attach  TCX link of PINDIR/prog on IFNAME ingress, pinned (link)
 *   tcx-update  swap the program of the pinned link (PINDIR/prog)
 *   tc-attach   clsact qdisc + cls_bpf filter with PINDIR/prog
 *   tc-replace  replace the program of that filter in place
 *   tc-query    the program id of that filter
 *   prog-by-id  open PINDIR/prog again by its id (bpf_prog_get_fd_by_id)
 *   cleanup     detach both, remove the pins (run as full root)
 *
 * Prints "ok" or the error, and exits 0 or 1.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compat.h"
#include "tcplogger.h"
#include "tcplogger.skel.h"

#define HANDLE 0x7c0e
#define PRIO 2

static char pin[400];

static const char *at(const char *name)
{
	static char path[500];

	snprintf(path, sizeof(path), "%s/%s", pin, name);
	return path;
}

static int tc_hook_opts(const char *ifname, struct bpf_tc_hook *hook)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = (int)if_nametoindex(ifname);
	hook->attach_point = BPF_TC_INGRESS;
	return hook->ifindex ? 0 : -ENODEV;
}

static int op_load(void)
{
	struct tcplogger *skel = tcplogger__open_and_load();
	int err = 0;

	if (!skel)
		return -errno;
	if (bpf_obj_pin(bpf_program__fd(skel->progs.tcplog_ingress),
			at("prog")) ||
	    bpf_obj_pin(bpf_map__fd(skel->maps.tcplog_conns), at("map")))
		err = -errno;
	tcplogger__destroy(skel);
	return err;
}

static int op_read(void)
{
	struct tcplog_conn_key keys[64], next;
	struct tcplog_conn_val vals[64];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = 64, out;
	int fd = bpf_obj_get(at("map")), err;

	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		err = bpf_map_get_next_key(fd, NULL, &next) && errno != ENOENT ?
			      -errno :
			      0;
	else
		err = 0;
	close(fd);
	return err;
}

static int op(const char *name, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_opts, tco, .handle = HANDLE, .priority = PRIO);
	struct bpf_tc_hook hook;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int prog, fd, err;

	if (!strcmp(name, "load"))
		return op_load();
	if (!strcmp(name, "read"))
		return op_read();
	if (!strcmp(name, "pin")) {
		fd = bpf_obj_get(at("map"));
		if (fd < 0)
			return -errno;
		err = bpf_obj_pin(fd, at("map2")) ? -errno : 0;
		close(fd);
		return err;
	}
	if (!strcmp(name, "cleanup")) {
		unlink(at("map2"));
		fd = bpf_obj_get(at("link"));
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(at("link"));
		if (ifname && !tc_hook_opts(ifname, &hook)) {
			bpf_tc_detach(&hook, &tco);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		unlink(at("prog"));
		unlink(at("map"));
		return 0;
	}

	prog = bpf_obj_get(at("prog"));
	if (prog < 0)
		return -errno;
	if (!strcmp(name, "prog-by-id")) {
		err = bpf_obj_get_info_by_fd(prog, &info, &len) ? -errno : 0;
		if (!err) {
			fd = bpf_prog_get_fd_by_id(info.id);
			err = fd < 0 ? -errno : 0;
			if (fd >= 0)
				close(fd);
		}
		goto out;
	}
	err = ifname ? tc_hook_opts(ifname, &hook) : -EINVAL;
	if (err)
		goto out;
	if (!strcmp(name, "tcx-attach")) {
		LIBBPF_OPTS(bpf_link_create_opts, lo);

		fd = bpf_link_create(prog, hook.ifindex, TCPLOG_BPF_TCX_INGRESS,
				     &lo);
		err = fd < 0 ? -errno : 0;
		if (fd >= 0) {
			if (bpf_obj_pin(fd, at("link")))
				err = -errno;
			close(fd);
		}
	} else if (!strcmp(name, "tcx-update")) {
		fd = bpf_obj_get(at("link"));
		err = fd < 0			      ? -errno :
		      bpf_link_update(fd, prog, NULL) ? -errno :
							0;
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(name, "tc-attach")) {
		err = bpf_tc_hook_create(&hook);
		if (!err || err == -EEXIST) {
			tco.prog_fd = prog;
			err = bpf_tc_attach(&hook, &tco);
		}
	} else if (!strcmp(name, "tc-replace")) {
		tco.prog_fd = prog;
		tco.flags = BPF_TC_F_REPLACE;
		err = bpf_tc_attach(&hook, &tco);
	} else if (!strcmp(name, "tc-query")) {
		err = bpf_tc_query(&hook, &tco);
	} else {
		err = -EINVAL;
	}
out:
	close(prog);
	return err;
}

int main(int argc, char **argv)
{
	int err;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: capprobe OP PINDIR [IFNAME]\n");
		return 2;
	}
	libbpf_set_print(NULL);
	snprintf(pin, sizeof(pin), "%s", argv[2]);
	err = op(argv[1], argc == 4 ? argv[3] : NULL);
	if (err) {
		printf("%s\n", strerror(-err));
		return 1;
	}
	printf("ok\n");
	return 0;
}
