// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c - stderr logging with priority prefixes; libbpf routed here. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "log.h"

static int log_max = LOG_INFO;
static bool log_prefix = true;

static void log_va(int level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;

	if (level > log_max)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	len = strlen(buf);
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (log_prefix)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else
		fprintf(stderr, "%s\n", buf);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	int prio = level == LIBBPF_WARN ? LOG_WARNING :
		   level == LIBBPF_INFO ? LOG_INFO :
					  LOG_DEBUG;

	/*
	 * libbpf's info messages are chatty: debug unless -v. So are the
	 * kernel's extended-ack texts it prints for every failed netlink
	 * request, expected ones included ("exclusivity flag on" when the
	 * clsact qdisc exists): callers log real failures with context.
	 */
	if (prio == LOG_INFO || strstr(fmt, "Kernel error message"))
		prio = LOG_DEBUG;
	log_va(prio, fmt, ap);
	return 0;
}

void log_init(int max_level)
{
	log_max = max_level;
	/* journald and files want prefixes; a person at a terminal not. */
	log_prefix = !isatty(STDERR_FILENO);
	setvbuf(stderr, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_log);
}
