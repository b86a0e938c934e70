// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* netlink.c - rtnetlink requests and events, on plain sockets. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink.h"

#define NL_BUF 32768

static int nl_open(__u32 groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = groups };
	int fd, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Report errors of dump requests at the dump's end, not silently. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Sends a dump request and calls @cb for every message of the answer.
 * The socket is blocking for the dump (the kernel answers at once).
 */
static int nl_dump(void *req, size_t len,
		   int (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx)
{
	char buf[NL_BUF] __attribute__((aligned(4)));
	struct nlmsghdr *nh;
	int fd, err = 0;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, req, len, 0) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				err = e->error;
				goto out;
			}
			err = cb(nh, ctx);
			if (err)
				goto out;
		}
	}
out:
	close(fd);
	return err;
}

struct route_ctx {
	int *ifindex;
	int max, n;
};

static void add_ifindex(struct route_ctx *rc, int ifindex)
{
	int i;

	if (ifindex <= 0)
		return;
	for (i = 0; i < rc->n; i++)
		if (rc->ifindex[i] == ifindex)
			return;
	if (rc->n < rc->max)
		rc->ifindex[rc->n++] = ifindex;
}

static int route_cb(struct nlmsghdr *nh, void *ctx)
{
	struct rtmsg *rtm = NLMSG_DATA(nh);
	struct rtattr *rta = RTM_RTA(rtm);
	int len = (int)RTM_PAYLOAD(nh);
	__u32 table = rtm->rtm_table;
	int oif = 0;

	if (nh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_dst_len != 0 ||
	    rtm->rtm_type != RTN_UNICAST)
		return 0;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_TABLE)
			table = *(__u32 *)RTA_DATA(rta);
		else if (rta->rta_type == RTA_OIF)
			oif = *(int *)RTA_DATA(rta);
		else if (rta->rta_type == RTA_MULTIPATH) {
			struct rtnexthop *nhop = RTA_DATA(rta);
			int left = (int)RTA_PAYLOAD(rta);

			while (left >= (int)sizeof(*nhop) &&
			       nhop->rtnh_len >= sizeof(*nhop) &&
			       nhop->rtnh_len <= left) {
				if (table == RT_TABLE_MAIN)
					add_ifindex(ctx, nhop->rtnh_ifindex);
				left -= NLMSG_ALIGN(nhop->rtnh_len);
				nhop = RTNH_NEXT(nhop);
			}
		}
	}
	if (table == RT_TABLE_MAIN)
		add_ifindex(ctx, oif);
	return 0;
}

int nl_default_route_ifaces(int *ifindex, int max)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
			.nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
	};
	struct route_ctx rc = { .ifindex = ifindex, .max = max };
	static const int families[] = { AF_INET, AF_INET6 };
	size_t i;
	int err;

	for (i = 0; i < 2; i++) {
		req.rtm.rtm_family = (unsigned char)families[i];
		err = nl_dump(&req, sizeof(req), route_cb, &rc);
		if (err)
			return err;
	}
	return rc.n;
}

int nl_monitor_open(void)
{
	return nl_open(RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE);
}

int nl_monitor_read(int fd)
{
	char buf[NL_BUF] __attribute__((aligned(4)));
	struct nlmsghdr *nh;
	int changed = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? changed : -errno;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n))
			changed |= nh->nlmsg_type == RTM_NEWLINK ||
				   nh->nlmsg_type == RTM_DELLINK ||
				   nh->nlmsg_type == RTM_NEWROUTE ||
				   nh->nlmsg_type == RTM_DELROUTE;
	}
}

static int filter_cb(struct nlmsghdr *nh, void *ctx)
{
	struct tcmsg *tcm = NLMSG_DATA(nh);

	/* Each priority also reports its classifier head, without handle. */
	if (nh->nlmsg_type == RTM_NEWTFILTER && tcm->tcm_handle)
		(*(int *)ctx)++;
	return 0;
}

int nl_count_filters(int ifindex, __u32 parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tcm;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.tcm = { .tcm_family = AF_UNSPEC,
			 .tcm_ifindex = ifindex,
			 .tcm_parent = parent },
	};
	int count = 0, err;

	err = nl_dump(&req, sizeof(req), filter_cb, &count);
	return err ? err : count;
}
