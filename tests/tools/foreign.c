// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * foreign.c - test helper: puts "somebody else's" program on a TC hook
 * and reads how many packets it saw.
 *
 *   foreign attach|attach-drop tcx|tc IFNAME ingress|egress PINDIR
 *   foreign count PINDIR
 *   foreign detach tcx|tc IFNAME ingress|egress PINDIR
 *
 * TCX: a link pinned at PINDIR/link. tc: a cls_bpf filter at priority 50,
 * handle 1, on a clsact qdisc created if missing. The counter map is
 * pinned at PINDIR/seen.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "foreign.skel.h"

static int usage(void)
{
	fprintf(stderr, "usage: foreign attach|detach tcx|tc IFNAME "
			"ingress|egress PINDIR | foreign count PINDIR\n");
	return 2;
}

int main(int argc, char **argv)
{
	char path[512];
	struct foreign *skel;
	int ifindex, fd, err;
	bool egress, tcx;

	libbpf_set_print(NULL);
	if (argc == 3 && !strcmp(argv[1], "count")) {
		__u32 zero = 0;
		__u64 n = 0;

		snprintf(path, sizeof(path), "%s/seen", argv[2]);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &n)) {
			perror(path);
			return 1;
		}
		printf("%llu\n", (unsigned long long)n);
		return 0;
	}
	if (argc != 6)
		return usage();
	tcx = !strcmp(argv[2], "tcx");
	ifindex = (int)if_nametoindex(argv[3]);
	egress = !strcmp(argv[4], "egress");
	if (!ifindex) {
		perror(argv[3]);
		return 1;
	}
	if (!strcmp(argv[1], "detach")) {
		if (tcx) {
			snprintf(path, sizeof(path), "%s/link", argv[5]);
			return unlink(path) ? 1 : 0;
		}
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = egress ? BPF_TC_EGRESS :
							     BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1,
				    .priority = 50);
		return bpf_tc_detach(&hook, &opts) ? 1 : 0;
	}
	if (strcmp(argv[1], "attach") && strcmp(argv[1], "attach-drop"))
		return usage();

	mkdir(argv[5], 0700);
	skel = foreign__open();
	if (skel && !strcmp(argv[1], "attach-drop"))
		skel->rodata->verdict = 2; /* TC_ACT_SHOT, TCX_DROP */
	if (!skel || foreign__load(skel)) {
		perror("loading foreign.bpf.o");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/seen", argv[5]);
	if (bpf_obj_pin(bpf_map__fd(skel->maps.foreign_seen), path)) {
		perror(path);
		return 1;
	}
	if (tcx) {
		/* Appended after whatever is there (no flags). */
		fd = bpf_link_create(bpf_program__fd(skel->progs.foreign_prog),
				     ifindex, egress ? 47 : 46, NULL);
		snprintf(path, sizeof(path), "%s/link", argv[5]);
		if (fd < 0 || bpf_obj_pin(fd, path)) {
			perror("tcx link");
			return 1;
		}
	} else {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = egress ? BPF_TC_EGRESS :
							     BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(
			bpf_tc_opts, opts, .handle = 1, .priority = 50,
			.prog_fd = bpf_program__fd(skel->progs.foreign_prog));

		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			fprintf(stderr, "clsact: %s\n", strerror(-err));
			return 1;
		}
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			fprintf(stderr, "tc filter: %s\n", strerror(-err));
			return 1;
		}
	}
	foreign__destroy(skel);
	return 0;
}
