// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_insert.c - fills the running daemon's map through its own program:
 * COUNT distinct IPv4 connections, one BPF_PROG_TEST_RUN each, and reports
 * what the program spent per packet (the kernel's run-time statistics, so
 * the system call around each run is not counted).
 *
 *   bench_insert LINK_PIN FIRST COUNT
 *
 * LINK_PIN is the daemon's pinned TCX link (PIN_PATH/vN/att/tcx:ingress:IF);
 * its program is the one that runs. Connection i (FIRST <= i < FIRST+COUNT)
 * is 198.18.X.Y:PORT -> 198.18.255.254:443 with X.Y and PORT from i; the
 * packets exist only in test_run and are never sent.
 *
 * Two passes over the same packets: "insert" (every packet is a new
 * connection) and "update" (every entry exists: the hash lookup in a map
 * of that size, with the cache misses real traffic over many connections
 * has). Prints "insert NS_PER_PACKET" and "update NS_PER_PACKET".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>

#include "pktbuild.h"

static int prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

static void build(struct pkt *p, unsigned long i)
{
	char src[32];

	/* 131,072 source addresses in 198.18.0.0/15, 16 ports each. */
	snprintf(src, sizeof(src), "198.%lu.%lu.%lu", 18 + ((i >> 20) & 1),
		 (i >> 12) & 0xff, (i >> 4) & 0xff);
	pkt_init(p);
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, src, "198.18.255.254", IPPROTO_TCP, 5, 0);
	pkt_tcp(p, (uint16_t)(40000 + (i & 15)), 443, 0x10, 8);
	pkt_bytes(p, 100, 0x5a);
	pkt_finish(p);
}

/* One pass; the program's mean ns per run, or a negative errno. */
static double pass(int prog_fd, unsigned long first, unsigned long count,
		   unsigned long *failed)
{
	__u64 ns0, cnt0, ns1, cnt1;
	struct pkt p;
	unsigned long i;

	if (prog_stats(prog_fd, &ns0, &cnt0))
		return -errno;
	for (i = first; i < first + count; i++) {
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);

		build(&p, i);
		opts.data_in = p.buf;
		opts.data_size_in = (__u32)p.len;
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			(*failed)++;
	}
	if (prog_stats(prog_fd, &ns1, &cnt1))
		return -errno;
	if (cnt1 == cnt0)
		return -ENODATA;
	return (double)(ns1 - ns0) / (double)(cnt1 - cnt0);
}

int main(int argc, char **argv)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	unsigned long first, count, failed = 0;
	int link_fd, prog_fd, stats_fd;
	double ins, upd;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_insert LINK_PIN FIRST COUNT\n");
		return 2;
	}
	first = strtoul(argv[2], NULL, 10);
	count = strtoul(argv[3], NULL, 10);
	if (first + count > (1UL << 21)) {
		fprintf(stderr, "bench_insert: at most 2097152 connections\n");
		return 2;
	}
	link_fd = bpf_obj_get(argv[1]);
	if (link_fd < 0 || bpf_obj_get_info_by_fd(link_fd, &info, &len)) {
		fprintf(stderr, "bench_insert: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
	/* Run-time statistics stay on while this descriptor is open. */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (prog_fd < 0 || stats_fd < 0) {
		fprintf(stderr, "bench_insert: program %u / statistics: %s\n",
			info.prog_id, strerror(errno));
		return 1;
	}
	ins = pass(prog_fd, first, count, &failed);
	upd = pass(prog_fd, first, count, &failed);
	if (ins < 0 || upd < 0 || failed) {
		fprintf(stderr, "bench_insert: %lu runs failed (%s)\n", failed,
			strerror(ins < 0 ? (int)-ins : (int)-upd));
		return 1;
	}
	printf("insert %.1f\nupdate %.1f\n", ins, upd);
	close(stats_fd);
	close(prog_fd);
	close(link_fd);
	return 0;
}
