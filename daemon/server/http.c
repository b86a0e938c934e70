// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* http.c - GET /metrics over libmicrohttpd, in the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "format.h"
#include "http.h"
#include "log.h"
#include "priority.h"

static uint64_t mono_ms(void)
{
	return tcplog_now_ns(CLOCK_MONOTONIC) / 1000000;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("HTTP: %s", msg);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int code,
			      const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* The exposition, made again if older than HTTP_CACHE_MS. */
static struct MHD_Response *exposition(struct http *h)
{
	uint64_t now = mono_ms();
	struct MHD_Response *r;
	char *text = NULL;
	size_t len = 0;

	if (h->cached && now - h->cached_ms < HTTP_CACHE_MS)
		return h->cached;
	if (metrics_render(h->src, &text, &len))
		return h->cached; /* the last one, if any */
	/* Freed by libmicrohttpd when the last response using it is sent. */
	r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
	if (!r) {
		free(text);
		return h->cached;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				METRICS_CONTENT_TYPE);
	if (h->cached)
		MHD_destroy_response(h->cached);
	h->cached = r;
	h->cached_ms = now;
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static int seen;
	struct http *h = cls;
	struct MHD_Response *r;

	(void)version;
	(void)upload;
	/* Called first with the headers only; a body is not wanted. */
	if (!*state) {
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		h->refused++;
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			      "only GET /metrics\n");
	}
	if (strcmp(url, "/metrics")) {
		h->refused++;
		return answer(conn, MHD_HTTP_NOT_FOUND, "only GET /metrics\n");
	}
	r = exposition(h);
	if (!r)
		return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
			      "out of memory\n");
	h->requests++;
	return MHD_queue_response(conn, MHD_HTTP_OK, r);
}

static void rearm(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
		sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time_relative(h->timer, ms * 1000);
	sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *src, int fd, uint32_t events, void *userdata)
{
	struct http *h = userdata;

	(void)src;
	(void)fd;
	(void)events;
	MHD_run(h->mhd);
	rearm(h);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void)usec;
	return on_io(src, -1, 0, userdata);
}

void http_init(struct http *h)
{
	memset(h, 0, sizeof(*h));
	h->listen_fd = -1;
}

bool http_same(const struct config *a, const struct config *b)
{
	return a->metrics_on == b->metrics_on &&
	       (!a->metrics_on || (!strcmp(a->metrics_host, b->metrics_host) &&
				   !strcmp(a->metrics_port, b->metrics_port)));
}

/* The listening socket, made here: our errors, and no name lookups. */
static int listen_on(const struct config *cfg)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int fd, one = 1, err;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(cfg->metrics_host, cfg->metrics_port, &hints, &res))
		return -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		goto out;
	}
	err = fd;
out:
	freeaddrinfo(res);
	return err;
}

int http_open(struct http *h, const struct config *cfg, sd_event *event,
	      const struct metrics_src *src)
{
	const union MHD_DaemonInfo *info;
	int fd, err;

	http_close(h);
	if (!cfg->metrics_on)
		return 0;
	snprintf(h->addr, sizeof(h->addr), "%s%s%s:%s",
		 strchr(cfg->metrics_host, ':') ? "[" : "", cfg->metrics_host,
		 strchr(cfg->metrics_host, ':') ? "]" : "", cfg->metrics_port);
	fd = listen_on(cfg);
	if (fd < 0) {
		if (fd == -EAFNOSUPPORT || fd == -EPERM)
			log_err("metrics_listen %s: %s; under the shipped unit, "
				"a drop-in must allow it: "
				"RestrictAddressFamilies= AF_INET AF_INET6 and "
				"IPAddressAllow= the scrapers "
				"(docs/METRICS.md)",
				h->addr, strerror(-fd));
		else
			log_err("metrics_listen %s: %s%s", h->addr,
				strerror(-fd),
				fd == -EACCES ? " (ports below 1024 need "
						"CAP_NET_BIND_SERVICE)" :
						"");
		return fd;
	}
	h->listen_fd = fd;
	h->src = src;
	h->event = event;
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)HTTP_MAX_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)HTTP_MAX_PER_IP,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!h->mhd) {
		log_err("metrics_listen %s: libmicrohttpd did not start",
			h->addr);
		http_close(h);
		return -EIO;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	err = info ? 0 : -EIO;
	if (!err)
		err = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN,
				      on_io, h);
	if (err >= 0)
		err = sd_event_source_set_priority(h->io, TCPLOG_BULK_PRIORITY);
	if (err >= 0)
		err = sd_event_add_time_relative(
			event, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h);
	if (err >= 0)
		err = sd_event_source_set_priority(h->timer,
						   TCPLOG_BULK_PRIORITY);
	if (err < 0) {
		log_err("metrics_listen %s: cannot watch it: %s", h->addr,
			strerror(-err));
		http_close(h);
		return err;
	}
	rearm(h);
	log_info("Serving Prometheus metrics on http://%s/metrics", h->addr);
	return 0;
}

void http_close(struct http *h)
{
	h->io = sd_event_source_disable_unref(h->io);
	h->timer = sd_event_source_disable_unref(h->timer);
	if (h->cached)
		MHD_destroy_response(h->cached);
	h->cached = NULL;
	if (h->mhd) {
		/* It closes the socket it was given. */
		MHD_stop_daemon(h->mhd);
		h->listen_fd = -1;
	}
	h->mhd = NULL;
	/* Not started: ours (unless its failure closed it already). */
	if (h->listen_fd >= 0 && fcntl(h->listen_fd, F_GETFD) >= 0)
		close(h->listen_fd);
	h->listen_fd = -1;
}
