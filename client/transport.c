// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* transport.c - connecting to tcploggerd and exchanging lines. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "transport.h"

int ctl_fail(struct ctl_error *err, int status, const char *code,
	     const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ctl_connect(const char *path, struct ctl_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	struct group *gr;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		return ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				"socket path too long: %s", path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				"socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno == EACCES || errno == EPERM) {
		gr = stat(path, &st) == 0 ? getgrgid(st.st_gid) : NULL;
		ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
			 "permission denied on %s: run as root or join the "
			 "group '%s' (usermod -aG %s USER, then log in again)",
			 path, gr ? gr->gr_name : "tcplogger",
			 gr ? gr->gr_name : "tcplogger");
	} else {
		ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
			 "cannot reach tcploggerd at %s: %s (is the daemon "
			 "running? --socket or TCPLOGCTL_SOCKET name another "
			 "socket)",
			 path, strerror(errno));
	}
	close(fd);
	return -1;
}

int ctl_send(int fd, const char *request, struct ctl_error *err)
{
	size_t len = strlen(request), off = 0;
	ssize_t n;
	char *buf = malloc(len + 1);

	if (!buf)
		return ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				"out of memory");
	memcpy(buf, request, len);
	buf[len++] = '\n';
	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				 "sending the request: %s", strerror(errno));
			free(buf);
			return -1;
		}
		off += (size_t)n;
	}
	free(buf);
	return 0;
}

int ctl_read_line(int fd, char **line, size_t *len, FILE *copy,
		  struct ctl_error *err)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = malloc(cap), *nl, *p;
	ssize_t n;

	if (!buf)
		return ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				"out of memory");
	for (;;) {
		if (cap - used < 65536) {
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return ctl_fail(err, EXIT_UNREACHABLE,
						CTL_ERR_UNREACHABLE,
						"out of memory");
			}
			buf = p;
			cap *= 2;
		}
		n = recv(fd, buf + used, cap - used - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ctl_fail(err, EXIT_UNREACHABLE, CTL_ERR_UNREACHABLE,
				 "the daemon closed the connection %s",
				 n < 0 ? strerror(errno) : "before answering");
			free(buf);
			return -1;
		}
		nl = memchr(buf + used, '\n', (size_t)n);
		if (copy)
			fwrite(buf + used, 1,
			       nl ? (size_t)(nl - (buf + used)) + 1 : (size_t)n,
			       copy);
		if (nl) {
			*nl = '\0';
			*line = buf;
			*len = (size_t)(nl - buf);
			return 0;
		}
		used += (size_t)n;
		/*
		 * Streaming straight through: keep only the head (where "ok"
		 * is), not the whole answer.
		 */
		if (copy && used > (1u << 20))
			used = 256;
	}
}
