// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fill_map.c - test and benchmark helper: fills a pinned tcplogger connection map
 * with N synthetic connections (distinct IPv4 4-tuples on ifindex IFINDEX,
 * realistic counters), in batches. Replaces what is there.
 *
 *   fill_map PIN_DIR N IFINDEX
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "tcplogger.h"

#define BATCH 8192

int main(int argc, char **argv)
{
	struct tcplog_conn_key *keys;
	struct tcplog_conn_val *vals;
	struct timespec ts;
	struct maps m;
	char path[512];
	long n, done = 0;
	int fd, ifindex;
	__u32 count;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: fill_map PIN_DIR N IFINDEX [BYTES]\n");
		return 2;
	}
	n = atol(argv[2]);
	ifindex = atoi(argv[3]);
	snprintf(path, sizeof(path), "%s/conns", argv[1]);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	maps_init(&m, fd, -1, -1, 0);
	if (maps_clear(&m) < 0) {
		perror("clearing the map");
		return 1;
	}
	keys = calloc(BATCH, sizeof(*keys));
	vals = calloc(BATCH, sizeof(*vals));
	clock_gettime(CLOCK_BOOTTIME, &ts);
	while (done < n) {
		for (count = 0; count < BATCH && done < n; count++, done++) {
			struct tcplog_conn_key *k = &keys[count];
			struct tcplog_conn_val *v = &vals[count];
			__u32 src = htonl(0xc6120000u | (__u32)(done >> 8));
			__u32 dst = htonl(0xc6130001u);
			__u64 packets = 10 + (__u64)(done % 1000);
			__u64 bytes = argc == 5 ? strtoull(argv[4], NULL, 10) :
						  packets * 1200;

			memset(k, 0, sizeof(*k));
			memcpy(k->src_addr, &src, 4);
			memcpy(k->dst_addr, &dst, 4);
			k->ifindex = (__u32)ifindex;
			k->src_port = htons((__u16)(1024 + (done & 0xff)));
			k->dst_port = htons(443);
			k->direction = TCPLOG_DIR_INGRESS;
			k->family = TCPLOG_FAMILY_IPV4;
			memset(v, 0, sizeof(*v));
			/* bytes above 4 GiB: carries, as the program counts
			 * them (see struct tcplog_conn_val). */
			v->bytes_carries = bytes >> 32;
			v->counter = (packets + v->bytes_carries) *
					     TCPLOG_COUNTER_PACKET +
				     (bytes & TCPLOG_COUNTER_BYTES_MASK);
			v->gso_extra = packets / 3;
			v->l2_len = 14;
			v->tcp_flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK;
			v->first_seen_ns = (__u64)ts.tv_sec * 1000000000ull;
			v->last_seen_ns = v->first_seen_ns + (__u64)done;
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
			perror("bpf_map_update_batch");
			return 1;
		}
	}
	printf("%ld\n", done);
	free(keys);
	free(vals);
	return 0;
}
