// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_format.c - unit tests of the user-space helpers in lib/. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <arpa/inet.h>

#include "conn.h"
#include "format.h"
#include "tcplogger.h"
#include "testlib.h"

static void addr_case(int family, const char *text, const char *want)
{
	char buf[TCPLOG_ADDR_STRLEN];
	__u8 addr[16] = { 0 };

	TL_CHECK(inet_pton(family == 4 ? AF_INET : AF_INET6, text, addr) == 1,
		 "bad test input %s", text);
	TL_EQ_INT(tcplog_format_addr(family, addr, buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, want);
}

static void test_addresses(void)
{
	char small[8];
	__u8 addr[16] = { 0 };

	addr_case(4, "198.18.0.1", "198.18.0.1");
	addr_case(4, "255.255.255.255", "255.255.255.255");
	addr_case(6, "fd00:0:0:0:0:0:0:1", "fd00::1");
	addr_case(6, "2001:db8:85a3:8d3:1319:8a2e:370:7348",
		  "2001:db8:85a3:8d3:1319:8a2e:370:7348");
	addr_case(6, "::ffff:198.18.0.1", "::ffff:198.18.0.1");
	addr_case(6, "::", "::");
	TL_EQ_INT(tcplog_format_addr(5, addr, small, sizeof(small)),
		  -EAFNOSUPPORT);
	memset(addr, 0xfd, sizeof(addr)); /* 39 characters */
	TL_EQ_INT(tcplog_format_addr(6, addr, small, sizeof(small)), -ENOSPC);
}

static void test_flag_names(void)
{
	char buf[TCPLOG_FLAGS_STRLEN];

	TL_EQ_STR(tcplog_tcp_flag_name(TCPLOG_TCP_FIN), "FIN");
	TL_EQ_STR(tcplog_tcp_flag_name(TCPLOG_TCP_ACK), "ACK");
	TL_EQ_STR(tcplog_tcp_flag_name(TCPLOG_TCP_CWR), "CWR");
	TL_CHECK(tcplog_tcp_flag_name(0) == NULL, "0 is no flag");
	TL_CHECK(tcplog_tcp_flag_name(0x03) == NULL, "two bits are no flag");
	TL_CHECK(tcplog_tcp_flag_name(0x100) == NULL, "0x100 is no flag");

	TL_EQ_INT(tcplog_format_tcp_flags(0, " ", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "");
	TL_EQ_INT(tcplog_format_tcp_flags(TCPLOG_TCP_SYN | TCPLOG_TCP_ACK, " ",
					  buf, sizeof(buf)),
		  0);
	TL_EQ_STR(buf, "SYN ACK");
	TL_EQ_INT(tcplog_format_tcp_flags(0xff, " ", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "FIN SYN RST PSH ACK URG ECE CWR");
	TL_EQ_INT(tcplog_format_tcp_flags(0xff | 0xff00, ",", buf, sizeof(buf)),
		  0);
	TL_EQ_STR(buf, "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR");
	TL_EQ_INT(tcplog_format_tcp_flags(0xff, " ", buf, 31), -ENOSPC);
}

static void time_case(int64_t ns, const char *want)
{
	char buf[TCPLOG_TIME_STRLEN];

	TL_EQ_INT(tcplog_format_rfc3339(ns, buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, want);
}

static void test_vlans(void)
{
	struct tcplog_conn_key k;
	char buf[TCPLOG_VLAN_STRLEN];

	memset(&k, 0, sizeof(k));
	TL_EQ_INT(tcplog_format_vlan(&k, ",", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "");
	TL_CHECK(!tcplog_key_has_vlan(&k, 0), "untagged has no VLAN 0");
	k.vlan_count = 1; /* a priority tag: VID 0 */
	TL_EQ_INT(tcplog_format_vlan(&k, ",", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "0");
	TL_CHECK(tcplog_key_has_vlan(&k, 0), "priority tag is VLAN 0");
	k.vlan_count = 2;
	k.vlan_id[0] = 4095;
	k.vlan_id[1] = 100;
	TL_EQ_INT(tcplog_format_vlan(&k, ",", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "4095,100");
	TL_CHECK(tcplog_key_has_vlan(&k, 100) &&
			 tcplog_key_has_vlan(&k, 4095) &&
			 !tcplog_key_has_vlan(&k, 0),
		 "outer and inner IDs match, nothing else");
	TL_EQ_INT(tcplog_format_vlan(&k, ",", buf, 5), -ENOSPC);
	k.vlan_count = 7; /* never more than the key holds */
	TL_EQ_INT(tcplog_format_vlan(&k, ",", buf, sizeof(buf)), 0);
	TL_EQ_STR(buf, "4095,100");
}

static void test_times(void)
{
	struct tcplog_clock clock;
	struct timespec real, boot;
	char buf[TCPLOG_TIME_STRLEN];
	int64_t unix_ns, real_ns;
	__u64 boot_ns;

	time_case(0, "1970-01-01T00:00:00.000000Z");
	time_case(1795920907123456789LL, "2026-11-29T02:55:07.123456Z");
	/* Truncated, not rounded: the microsecond has not passed yet. */
	time_case(999999, "1970-01-01T00:00:00.000999Z");
	time_case(-1, "1969-12-31T23:59:59.999999Z");
	time_case(951782400000000000LL, "2000-02-29T00:00:00.000000Z");
	TL_EQ_INT(tcplog_format_rfc3339(0, buf, 10), -ENOSPC);
	/* The ends of the int64_t nanosecond range, years 2262 and 1677. */
	time_case(INT64_MAX, "2262-04-11T23:47:16.854775Z");
	time_case(INT64_MIN, "1677-09-21T00:12:43.145224Z");

	/* A boot timestamp of "now" converts to the wall clock of now. */
	TL_EQ_INT(tcplog_clock_init(&clock), 0);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	boot_ns = (__u64)boot.tv_sec * 1000000000ull + (__u64)boot.tv_nsec;
	real_ns = (int64_t)real.tv_sec * 1000000000LL + real.tv_nsec;
	unix_ns = tcplog_boot_to_unix_ns(&clock, boot_ns);
	TL_CHECK(llabs(real_ns - unix_ns) < 50000000,
		 "boot->unix %lld vs realtime %lld", (long long)unix_ns,
		 (long long)real_ns);
}

static void test_derive(void)
{
	struct tcplog_conn_val v = {
		.counter = 10 * TCPLOG_COUNTER_PACKET + 1000,
		.gso_extra = 7,
		.l2_len = 14,
		.tcp_flags = TCPLOG_TCP_SYN | TCPLOG_TCP_ACK,
		.first_seen_ns = 5,
		.last_seen_ns = 9,
	};
	struct tcplog_conn_counts c;

	tcplog_conn_derive(&v, &c);
	TL_EQ_U64(c.bytes, 1000);
	TL_EQ_U64(c.packets, 10);
	TL_EQ_U64(c.segments, 17);
	TL_EQ_U64(c.ip_bytes, 1000 - 140);
	TL_EQ_U64(c.first_seen_ns, 5);
	TL_EQ_U64(c.last_seen_ns, 9);
	TL_CHECK(!tcplog_conn_is_closed(c.tcp_flags), "SYN ACK is open");
	TL_CHECK(tcplog_conn_is_closed(TCPLOG_TCP_FIN), "FIN closes");
	TL_CHECK(tcplog_conn_is_closed(TCPLOG_TCP_RST | TCPLOG_TCP_ACK),
		 "RST closes");

	/*
	 * First packet a padded runt (L2 part 20), then two with 14 and one
	 * with 18: l2_extra is -6 - 6 - 2 modulo 2^64.
	 */
	v = (struct tcplog_conn_val){
		.counter = 4 * TCPLOG_COUNTER_PACKET + 60 + 1514 + 1514 + 82,
		.l2_len = 20,
		.l2_extra = (__u64)-14,
	};
	tcplog_conn_derive(&v, &c);
	TL_EQ_U64(c.ip_bytes, 40 + 1500 + 1500 + 64);
}

static void test_stats(void)
{
	struct tcplog_percpu percpu[3] = { 0 };
	struct tcplog_dp_stats sum;
	unsigned int i;

	percpu[0].stats.count[TCPLOG_STAT_COUNTED] = 5;
	percpu[1].stats.count[TCPLOG_STAT_COUNTED] = 7;
	percpu[2].stats.count[TCPLOG_STAT_NON_TCP] = 1;
	percpu[2].stats.count[TCPLOG_STAT_INSERT_FULL] = UINT32_MAX + 1ull;
	percpu[2].clock_jiffies = 12345; /* not a stat */
	tcplog_stats_sum(percpu, 3, &sum);
	TL_EQ_U64(sum.count[TCPLOG_STAT_COUNTED], 12);
	TL_EQ_U64(sum.count[TCPLOG_STAT_NON_TCP], 1);
	TL_EQ_U64(tcplog_stats_seen(&sum), 13ull + UINT32_MAX + 1);
	for (i = 0; i < TCPLOG_STAT_MAX; i++)
		TL_CHECK(tcplog_stat_name(i) != NULL, "stat %u has a name", i);
	TL_EQ_STR(tcplog_stat_name(TCPLOG_STAT_INSERT_FULL),
		  "insert_failed_full");
	TL_CHECK(tcplog_stat_name(TCPLOG_STAT_MAX) == NULL, "out of range");
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "address formatting", test_addresses },
		{ "TCP flag names", test_flag_names },
		{ "VLAN lists", test_vlans },
		{ "time conversion and RFC 3339", test_times },
		{ "derived counters", test_derive },
		{ "datapath stats", test_stats },
	};

	return TL_RUN(cases);
}
