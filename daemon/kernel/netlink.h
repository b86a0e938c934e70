/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netlink.h - the rtnetlink the daemon needs: the interfaces of the default
 * routes, link and route events, and counting tc filters on a hook.
 */
#ifndef TCPLOG_NETLINK_H
#define TCPLOG_NETLINK_H

#include <stdbool.h>
#include <linux/types.h>
#include <net/if.h>

/*
 * Fills @ifindex with the output interfaces of the IPv4 and IPv6 default
 * routes (main table, multipath next hops included), without duplicates.
 * Returns how many, or a negative errno.
 */
int nl_default_route_ifaces(int *ifindex, int max);

/* Opens a socket that receives link and route events. */
int nl_monitor_open(void);

/*
 * Reads what is queued on @fd. Returns 1 if a link or route changed (the
 * caller looks at the kernel's state again), 0 if not, or a negative
 * errno; -ENOBUFS means events were lost, so look again as well.
 */
int nl_monitor_read(int fd);

/* Number of tc filters under @parent (TC_H_MIN_INGRESS/EGRESS of clsact). */
int nl_count_filters(int ifindex, __u32 parent);

#endif /* TCPLOG_NETLINK_H */
