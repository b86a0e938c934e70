// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* caps.c - checking and dropping capabilities (capget/capset directly). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "caps.h"
#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	memset(data, 0, 2 * sizeof(*data));
	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

int caps_check(void)
{
	struct __user_cap_data_struct data[2];
	int err = get(data);

	if (err)
		return err;
	if (!has_cap(data, CAP_BPF) && !has_cap(data, CAP_SYS_ADMIN)) {
		log_err("Missing capability CAP_BPF (or CAP_SYS_ADMIN): "
			"needed to load BPF programs and maps");
		return -EPERM;
	}
	if (!has_cap(data, CAP_NET_ADMIN)) {
		log_err("Missing capability CAP_NET_ADMIN: needed to attach "
			"to an interface's TC hook");
		return -EPERM;
	}
	if (!has_cap(data, CAP_PERFMON) && !has_cap(data, CAP_SYS_ADMIN))
		log_warn("Missing capability CAP_PERFMON: some kernels refuse "
			 "to load the program without it");
	return 0;
}

int caps_drop_after_start(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };
	__u32 keep = 1u << (CAP_NET_ADMIN % 32);

	/* CAP_NET_ADMIN is 12: in the first word. */
	data[0].effective = keep;
	data[0].permitted = keep;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

unsigned long long caps_effective(void)
{
	struct __user_cap_data_struct data[2];

	if (get(data))
		return 0;
	return (unsigned long long)data[1].effective << 32 | data[0].effective;
}
