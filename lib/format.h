/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * format.h - turning map contents into text: addresses, TCP flag names,
 * kernel timestamps as wall-clock time. User space only.
 */
#ifndef TCPLOG_FORMAT_H
#define TCPLOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <net/if.h>
#include <linux/types.h>

#include "tcplogger.h"

/* Longest text of an address: an IPv6 address with an IPv4 tail. */
#define TCPLOG_ADDR_STRLEN 46
/* "FIN SYN RST PSH ACK URG ECE CWR" and the terminating NUL. */
#define TCPLOG_FLAGS_STRLEN 32
/* "2026-11-30T02:55:07.123456Z" and the terminating NUL. */
#define TCPLOG_TIME_STRLEN 28

/*
 * Formats @addr (the 16-byte form of struct tcplog_conn_key) for @family
 * (enum tcplog_family). Returns 0, -EAFNOSUPPORT or -ENOSPC.
 */
int tcplog_format_addr(int family, const __u8 addr[16], char *buf, size_t size);

/* Name of one TCP flag bit (enum tcplog_tcp_flag), NULL if not one. */
const char *tcplog_tcp_flag_name(unsigned int flag);

/*
 * Writes the names of the flags set in @flags, low bit first and separated
 * by @sep ("" when none is set). Returns 0 or -ENOSPC.
 */
/* Longest VLAN list: "4095,4095". */
#define TCPLOG_VLAN_STRLEN 16

/* How many VLAN IDs the key holds (never more than it has room for). */
static inline unsigned int tcplog_key_vlans(const struct tcplog_conn_key *key)
{
	return key->vlan_count < TCPLOG_MAX_VLAN_TAGS ? key->vlan_count :
							TCPLOG_MAX_VLAN_TAGS;
}

/* The key's VLAN IDs, outermost first, joined by @sep ("" if untagged). */
int tcplog_format_vlan(const struct tcplog_conn_key *key, const char *sep,
		       char *buf, size_t size);

/* Whether @vid is one of the key's VLAN IDs. */
bool tcplog_key_has_vlan(const struct tcplog_conn_key *key, unsigned int vid);

int tcplog_format_tcp_flags(__u64 flags, const char *sep, char *buf,
			    size_t size);

/*
 * The map stores CLOCK_BOOTTIME, which keeps running across suspend.
 * Wall-clock time is that plus the current offset between CLOCK_REALTIME
 * and CLOCK_BOOTTIME, which this captures; take a new one per snapshot, as
 * the offset moves when the wall clock is set.
 */
struct tcplog_clock {
	int64_t real_minus_boot_ns;
};

int tcplog_clock_init(struct tcplog_clock *clock);
/*
 * Refreshes a clock kept for long. Each measurement of the offset differs
 * by a few hundred nanoseconds, and one timestamp must print the same in
 * every dump: the offset changes only when the wall clock really moved
 * (set by hand or by NTP) by more than 100 us.
 */
void tcplog_clock_refresh(struct tcplog_clock *clock);
/* @id's time now in nanoseconds (CLOCK_MONOTONIC, CLOCK_BOOTTIME...). */
uint64_t tcplog_now_ns(clockid_t id);
int64_t tcplog_boot_to_unix_ns(const struct tcplog_clock *clock, __u64 boot_ns);

/*
 * RFC 3339 UTC with microseconds ("2026-11-30T02:55:07.123456Z") for
 * nanoseconds since the Unix epoch. Returns 0, -ERANGE or -ENOSPC.
 */
int tcplog_format_rfc3339(int64_t unix_ns, char *buf, size_t size);

/* Interface names by index, looked up once per snapshot or scan. */
struct ifname_cache {
	int n;
	struct {
		uint32_t ifindex;
		char name[IF_NAMESIZE];
	} e[64];
};

const char *ifname_of(struct ifname_cache *cache, uint32_t ifindex);

#endif /* TCPLOG_FORMAT_H */
