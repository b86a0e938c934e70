/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * compat.h - kernel UAPI values newer than the headers we may build with.
 * Debian 12 ships the UAPI headers of Linux 6.1, which predate TCX (6.6);
 * the values below are fixed ABI, so defining them here is safe.
 */
#ifndef TCPLOG_COMPAT_H
#define TCPLOG_COMPAT_H

#include <linux/bpf.h>

/* enum bpf_attach_type */
#define TCPLOG_BPF_TCX_INGRESS 46
#define TCPLOG_BPF_TCX_EGRESS 47
/* enum bpf_link_type */
#define TCPLOG_BPF_LINK_TYPE_TCX 11
/* BPF_LINK_CREATE / BPF_PROG_ATTACH flags: place before the relative
 * program, or before all programs when none is named. */
#define TCPLOG_BPF_F_BEFORE (1U << 3)

/*
 * struct bpf_link_info's union member for TCX links is
 * { __u32 ifindex; __u32 attach_type; }, laid out like the netns member
 * that older headers already have.
 */
static inline __u32 tcplog_tcx_link_ifindex(const struct bpf_link_info *info)
{
	return info->netns.netns_ino;
}

static inline __u32 tcplog_tcx_link_type(const struct bpf_link_info *info)
{
	return info->netns.attach_type;
}

#endif /* TCPLOG_COMPAT_H */
