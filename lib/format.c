// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* format.c - addresses, TCP flag names and timestamps as text. */
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "tcplogger.h"

#define NSEC_PER_SEC 1000000000LL
#define NSEC_PER_USEC 1000LL

int tcplog_format_addr(int family, const __u8 addr[16], char *buf, size_t size)
{
	int af;

	switch (family) {
	case TCPLOG_FAMILY_IPV4:
		af = AF_INET;
		break;
	case TCPLOG_FAMILY_IPV6:
		af = AF_INET6;
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (!inet_ntop(af, addr, buf, size))
		return -errno;
	return 0;
}

/* Contract order: the bit order of the TCP header. */
static const char *const tcp_flag_names[8] = {
	"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR",
};

const char *tcplog_tcp_flag_name(unsigned int flag)
{
	unsigned int bit;

	if (flag == 0 || (flag & (flag - 1)) || flag > TCPLOG_TCP_CWR)
		return NULL;
	bit = (unsigned int)__builtin_ctz(flag);
	return tcp_flag_names[bit];
}

int tcplog_format_vlan(const struct tcplog_conn_key *key, const char *sep,
		       char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (i = 0; i < tcplog_key_vlans(key); i++) {
		n = snprintf(buf + used, size - used, "%s%u", i ? sep : "",
			     (unsigned int)key->vlan_id[i]);
		if (n < 0 || (size_t)n >= size - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return 0;
}

bool tcplog_key_has_vlan(const struct tcplog_conn_key *key, unsigned int vid)
{
	unsigned int i;

	for (i = 0; i < tcplog_key_vlans(key); i++)
		if (key->vlan_id[i] == vid)
			return true;
	return false;
}

int tcplog_format_tcp_flags(__u64 flags, const char *sep, char *buf,
			    size_t size)
{
	size_t used = 0;
	unsigned int bit;
	int n;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (bit = 0; bit < 8; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? sep : "",
			     tcp_flag_names[bit]);
		if (n < 0 || (size_t)n >= size - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return 0;
}

static int64_t timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

uint64_t tcplog_now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)timespec_ns(&ts);
}

int tcplog_clock_init(struct tcplog_clock *clock)
{
	struct timespec boot1, real, boot2;

	/*
	 * Read BOOTTIME on both sides of REALTIME and pair the wall clock
	 * with the midpoint: the offset is then exact to half the time of
	 * one clock read, whatever the scheduler did.
	 */
	if (clock_gettime(CLOCK_BOOTTIME, &boot1) ||
	    clock_gettime(CLOCK_REALTIME, &real) ||
	    clock_gettime(CLOCK_BOOTTIME, &boot2))
		return -errno;
	clock->real_minus_boot_ns =
		timespec_ns(&real) -
		(timespec_ns(&boot1) +
		 (timespec_ns(&boot2) - timespec_ns(&boot1)) / 2);
	return 0;
}

void tcplog_clock_refresh(struct tcplog_clock *clock)
{
	struct tcplog_clock now;
	int64_t diff;

	if (tcplog_clock_init(&now))
		return;
	diff = now.real_minus_boot_ns - clock->real_minus_boot_ns;
	if (!clock->real_minus_boot_ns || diff > 100000 || diff < -100000)
		*clock = now;
}

int64_t tcplog_boot_to_unix_ns(const struct tcplog_clock *clock, __u64 boot_ns)
{
	return (int64_t)boot_ns + clock->real_minus_boot_ns;
}

int tcplog_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
{
	int64_t sec = unix_ns / NSEC_PER_SEC;
	int64_t nsec = unix_ns % NSEC_PER_SEC;
	struct tm tm;
	time_t t;
	int n;

	/* Floor division, so times before 1970 keep a positive fraction. */
	if (nsec < 0) {
		nsec += NSEC_PER_SEC;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		return -ERANGE;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long long)(nsec / NSEC_PER_USEC));
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return 0;
}

const char *ifname_of(struct ifname_cache *cache, uint32_t ifindex)
{
	int i;

	for (i = 0; i < cache->n; i++)
		if (cache->e[i].ifindex == ifindex)
			return cache->e[i].name;
	if (cache->n == (int)(sizeof(cache->e) / sizeof(cache->e[0])))
		cache->n = 0; /* more interfaces than slots: start over */
	i = cache->n++;
	cache->e[i].ifindex = ifindex;
	if (!if_indextoname(ifindex, cache->e[i].name))
		cache->e[i].name[0] = '\0'; /* gone since: no name */
	return cache->e[i].name;
}
