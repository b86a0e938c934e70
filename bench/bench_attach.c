// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_attach.c - puts a baseline program of the benchmarks (the empty
 * program, the seed-style program) on an interface's TCX ingress hook, the
 * way the daemon attaches its own, so that real traffic runs through each
 * in turn.
 *
 *   bench_attach OBJECT PROGRAM IFNAME PINDIR
 *
 * Run it in the interface's network namespace (nsenter keeps the host's
 * bpffs). The link is pinned at PINDIR/link and the program at
 * PINDIR/prog (for its run-time statistics); removing PINDIR detaches it.
 * The daemon is not needed, nor used: raw bpf_link_create() works with
 * libbpf 1.1, which has no bpf_program__attach_tcx().
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#endif

static int pin_fd(int fd, const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path)) {
		fprintf(stderr, "bench_attach: pin %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	int ifindex, link_fd = -1, err = 1;

	if (argc != 5) {
		fprintf(stderr,
			"usage: bench_attach OBJECT PROGRAM IFNAME PINDIR\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[3]);
	if (!ifindex) {
		fprintf(stderr, "bench_attach: %s: %s\n", argv[3],
			strerror(errno));
		return 1;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "bench_attach: open %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		fprintf(stderr, "bench_attach: no program %s in %s\n", argv[2],
			argv[1]);
		goto out;
	}
	/* Load only the program asked for. */
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, p == prog);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "bench_attach: load %s: %s\n", argv[1],
			strerror(errno));
		goto out;
	}
	if (mkdir(argv[4], 0700) && errno != EEXIST) {
		fprintf(stderr, "bench_attach: %s: %s\n", argv[4],
			strerror(errno));
		goto out;
	}
	link_fd = bpf_link_create(bpf_program__fd(prog), ifindex,
				  BPF_TCX_INGRESS, NULL);
	if (link_fd < 0) {
		fprintf(stderr, "bench_attach: tcx ingress on %s: %s\n",
			argv[3], strerror(errno));
		goto out;
	}
	if (pin_fd(link_fd, argv[4], "link") ||
	    pin_fd(bpf_program__fd(prog), argv[4], "prog"))
		goto out;
	err = 0;
out:
	if (link_fd >= 0)
		close(link_fd);
	bpf_object__close(obj);
	return err;
}
