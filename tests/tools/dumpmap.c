// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dumpmap.c - test helper: prints the pinned connection map of a daemon,
 * one connection per line, for the end-to-end tests to compare with a
 * packet capture (until tcplogctl exists):
 *
 *   DIR FAMILY SRC SPORT DST DPORT BYTES IP_BYTES PACKETS SEGMENTS FLAGS
 *
 *   dumpmap PIN_DIR          e.g. /sys/fs/bpf/tcplogger/v1
 *   dumpmap --stats PIN_DIR  the datapath statistics, "name value" lines
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conn.h"
#include "format.h"
#include "tcplogger.h"

static int dump_conns(const char *dir)
{
	struct tcplog_conn_key key, next;
	struct tcplog_conn_val val;
	struct tcplog_conn_counts c;
	char path[512], src[TCPLOG_ADDR_STRLEN], dst[TCPLOG_ADDR_STRLEN];
	char flags[TCPLOG_FLAGS_STRLEN];
	void *prev = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/conns", dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "dumpmap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		tcplog_conn_derive(&val, &c);
		tcplog_format_addr(key.family, key.src_addr, src, sizeof(src));
		tcplog_format_addr(key.family, key.dst_addr, dst, sizeof(dst));
		tcplog_format_tcp_flags(c.tcp_flags, ",", flags, sizeof(flags));
		printf("%s %d %s %u %s %u %llu %llu %llu %llu %s\n",
		       key.direction ? "egress" : "ingress", key.family, src,
		       ntohs(key.src_port), dst, ntohs(key.dst_port),
		       (unsigned long long)c.bytes,
		       (unsigned long long)c.ip_bytes,
		       (unsigned long long)c.packets,
		       (unsigned long long)c.segments, flags[0] ? flags : "-");
	}
	return 0;
}

static int dump_stats(const char *dir)
{
	int ncpus = libbpf_num_possible_cpus(), fd, i;
	struct tcplog_percpu *percpu;
	struct tcplog_dp_stats sum;
	char path[512];
	__u32 zero = 0;

	snprintf(path, sizeof(path), "%s/percpu", dir);
	fd = bpf_obj_get(path);
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (fd < 0 || !percpu || bpf_map_lookup_elem(fd, &zero, percpu)) {
		fprintf(stderr, "dumpmap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	tcplog_stats_sum(percpu, ncpus, &sum);
	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		printf("%s %llu\n", tcplog_stat_name((unsigned int)i),
		       (unsigned long long)sum.count[i]);
	free(percpu);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(NULL);
	if (argc == 3 && !strcmp(argv[1], "--stats"))
		return dump_stats(argv[2]);
	if (argc == 2)
		return dump_conns(argv[1]);
	fprintf(stderr, "usage: dumpmap [--stats] PIN_DIR\n");
	return 2;
}
