/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - the daemon's logger: stderr with "<N>" priority prefixes, which
 * journald turns into priorities (sd-daemon(3)); plain text on a terminal.
 * libbpf's messages go through the same logger, its debug ones only with -v.
 */
#ifndef TCPLOG_LOG_H
#define TCPLOG_LOG_H

#include <syslog.h>

void log_init(int max_level);
__attribute__((format(printf, 2, 3))) void log_msg(int level, const char *fmt,
						   ...);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* TCPLOG_LOG_H */
