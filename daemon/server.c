// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* server.c - the API socket and its clients. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "daemon.h"
#include "jsonw.h"
#include "log.h"
#include "server.h"

/* A dump is produced in steps while the client's output is below this. */
#define OUT_LOW_WATER (256 * 1024)
/* After too_large, the rest of that line is read and dropped, up to this;
 * a client that keeps sending without a newline is then disconnected. */
#define DISCARD_MAX (64ull << 20)

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	char in[API_MAX_REQUEST + 1];
	size_t in_len;
	struct jw out;
	size_t out_sent;
	struct dump_stream *dump;
	uint64_t last_progress_ms;
	bool closing; /* close once the output is sent */
	bool eof; /* the client shut its side: answer what it sent, close */
	uint64_t discarding; /* bytes of a too_large line dropped so far */
	bool want_out; /* EPOLLOUT registered */
};

static uint64_t now_ms(void)
{
	return tcplog_now_ns(CLOCK_MONOTONIC) / 1000000;
}

/* ---- the listening socket --------------------------------------------------- */

static int mkdir_parent(const char *path)
{
	char dir[108], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/* Group members must reach the socket: the folder is 0755. */
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes a socket file nobody listens on; refuses a live one. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (ret == 0) {
		log_err("Another daemon answers on %s", path);
		return -EADDRINUSE;
	}
	return unlink(path) ? -errno : 0;
}

int server_open(struct server *s, const struct config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *gr;
	mode_t old;
	int n, fd, err;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	s->timer_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", cfg->socket_path);

	n = sd_listen_fds(1);
	if (n > 1) {
		log_err("systemd passed %d sockets; expected one", n);
		return -EINVAL;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("The socket from systemd is not a listening "
				"Unix stream socket");
			return -EINVAL;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		s->listen_fd = fd;
		s->from_systemd = true;
		log_info("Listening on the socket passed by systemd");
		return 0;
	}

	err = mkdir_parent(s->path);
	if (!err)
		err = clear_stale(s->path);
	if (err) {
		log_err("Cannot prepare %s: %s", s->path, strerror(-err));
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	/* Created 0660 from the start: no moment with a wider mode. */
	old = umask(0117);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!err && listen(fd, 64))
		err = -errno;
	if (err) {
		log_err("Cannot listen on %s: %s", s->path, strerror(-err));
		close(fd);
		return err;
	}
	gr = getgrnam(cfg->socket_group);
	if (!gr)
		log_warn("No group '%s': only root can use %s",
			 cfg->socket_group, s->path);
	else if (chown(s->path, (uid_t)-1, gr->gr_gid))
		log_warn("Cannot give %s to group %s: %s; its members cannot "
			 "read it%s",
			 s->path, cfg->socket_group, strerror(errno),
			 errno == EPERM ? " (the daemon must be in that group: "
					  "SupplementaryGroups= of its unit, "
					  "see systemctl edit tcploggerd)" :
					  "");
	chmod(s->path, 0660);
	s->listen_fd = fd;
	log_info("Listening on %s (mode 0660, group %s)", s->path,
		 cfg->socket_group);
	return 0;
}

static void client_free(struct client *c)
{
	close(c->fd);
	jw_free(&c->out);
	api_dump_free(c->dump);
	free(c);
}

void server_close(struct server *s)
{
	int i;

	for (i = 0; i < s->n_clients; i++)
		client_free(s->clients[i]);
	s->n_clients = 0;
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (!s->from_systemd)
			unlink(s->path);
	}
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->listen_fd = s->timer_fd = -1;
}

int server_watch(struct daemon *d, int epoll_fd)
{
	struct server *s = &d->server;
	struct epoll_event ev = { .events = EPOLLIN };

	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->timer_fd < 0)
		return -errno;
	ev.data.u64 = (uint64_t)s->listen_fd << 1;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev))
		return -errno;
	ev.data.u64 = (uint64_t)s->timer_fd << 1;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev))
		return -errno;
	return 0;
}

/* The tick runs only while a client is connected: an idle daemon sleeps. */
static void arm_tick(struct server *s)
{
	struct itimerspec its = { 0 };

	if (s->n_clients > 0) {
		its.it_interval.tv_sec = 1;
		its.it_value.tv_sec = 1;
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

/* ---- clients ---------------------------------------------------------------- */

static void client_remove(struct daemon *d, struct client *c, const char *why)
{
	struct server *s = &d->server;
	int i;

	log_debug("Client pid %d uid %u: closing (%s)", (int)c->pid,
		  (unsigned)c->uid, why);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	for (i = 0; i < s->n_clients; i++)
		if (s->clients[i] == c) {
			s->clients[i] = s->clients[--s->n_clients];
			break;
		}
	client_free(c);
	s->removed++;
	arm_tick(s);
}

static void set_want_out(struct daemon *d, struct client *c, bool want)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0),
		.data.u64 = (uint64_t)(uintptr_t)c | EV_TAG_CLIENT,
	};

	if (c->want_out == want)
		return;
	c->want_out = want;
	epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

void server_on_listen(struct daemon *d)
{
	struct server *s = &d->server;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c, *idlest;
	int fd, i;

	for (;;) {
		fd = accept4(s->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (s->n_clients == SERVER_MAX_CLIENTS) {
			/* Full: the longest-idle client makes room, so idle
			 * connections can never lock out a health check. */
			idlest = s->clients[0];
			for (i = 1; i < s->n_clients; i++)
				if (s->clients[i]->last_progress_ms <
				    idlest->last_progress_ms)
					idlest = s->clients[i];
			s->evicted++;
			if (now_ms() - s->evict_logged_ms >= 10000) {
				/* At most one line per 10 s: a flood of
				 * connections cannot flood the journal. */
				log_info("Too many clients (%d): dropped the "
					 "longest-idle one, %llu times so far",
					 SERVER_MAX_CLIENTS,
					 (unsigned long long)s->evicted);
				s->evict_logged_ms = now_ms();
			}
			client_remove(d, idlest, "making room");
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->uid = cred.uid;
			c->pid = cred.pid;
		} else {
			c->uid = (uid_t)-1; /* unknown: never privileged */
		}
		c->last_progress_ms = now_ms();
		jw_init(&c->out);
		c->want_out = true; /* forces the first set_want_out */
		{
			struct epoll_event ev = {
				.events = EPOLLIN | EPOLLRDHUP,
				.data.u64 = (uint64_t)(uintptr_t)c |
					    EV_TAG_CLIENT,
			};

			if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
				client_free(c);
				continue;
			}
		}
		c->want_out = false;
		s->clients[s->n_clients++] = c;
		arm_tick(s);
	}
}

/* Answers one request line. */
static void handle_line(struct daemon *d, struct client *c, const char *line,
			size_t len)
{
	char msg[API_ERR_MSG_SIZE];
	struct api_request req;
	const char *code;

	d->server.requests++;
	if (api_parse_request(line, len, &req, &code, msg)) {
		api_error(&c->out, code, msg);
		return;
	}
	if (req.cmd == API_CMD_DUMP)
		c->dump = api_dump_begin(d, &req, &c->out);
	else
		api_handle(d, &req, c->uid, &c->out);
}

/* Starts answering the buffered requests, one at a time. */
static void process_input(struct daemon *d, struct client *c)
{
	char *nl;
	size_t len;

	while (!c->dump && !c->closing && c->out.len == c->out_sent) {
		nl = memchr(c->in, '\n', c->in_len);
		if (!nl) {
			if (c->in_len > API_MAX_REQUEST) {
				api_error(&c->out, API_ERR_TOO_LARGE,
					  "request line longer than 65536 "
					  "bytes");
				/* Drop the rest of the line, then go on. */
				c->discarding = c->in_len;
				c->in_len = 0;
			}
			return;
		}
		len = (size_t)(nl - c->in);
		/* An empty line (keep-alive, a stray newline) is ignored. */
		if (len && !(len == 1 && c->in[0] == '\r'))
			handle_line(d, c, c->in, len);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
}

/* Sends what is pending; produces more of a dump as the client reads. */
static int flush_out(struct daemon *d, struct client *c)
{
	ssize_t n;

	for (;;) {
		if (c->dump && c->out.len - c->out_sent < OUT_LOW_WATER) {
			if (c->out_sent) {
				jw_consume(&c->out, c->out_sent);
				c->out_sent = 0;
			}
			if (api_dump_step(d, c->dump, &c->out,
					  OUT_LOW_WATER * 2)) {
				api_dump_free(c->dump);
				c->dump = NULL;
			}
		}
		if (c->out.failed)
			return -ENOMEM;
		if (c->out.len == c->out_sent) {
			if (c->dump)
				return 1; /* still reading the map: go on */
			c->out.len = c->out_sent = 0;
			return 0;
		}
		n = send(c->fd, c->out.buf + c->out_sent,
			 c->out.len - c->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 1;
			return -errno;
		}
		c->out_sent += (size_t)n;
		c->last_progress_ms = now_ms();
	}
}

void server_on_client(struct daemon *d, struct client *c, uint32_t events)
{
	ssize_t n;
	int ret;

	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
		/* Read only while no request is being answered: a client
		 * cannot queue unbounded work. The line buffer is bounded. */
		while (!c->closing && !c->eof && c->in_len <= API_MAX_REQUEST) {
			n = recv(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len, MSG_DONTWAIT);
			if (n == 0) {
				c->eof = true;
				break;
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				client_remove(d, c, strerror(errno));
				return;
			}
			c->last_progress_ms = now_ms();
			if (c->discarding) {
				char *nl = memchr(c->in, '\n', (size_t)n);

				c->discarding += (size_t)n;
				if (!nl) {
					if (c->discarding > DISCARD_MAX) {
						client_remove(d, c,
							      "endless line");
						return;
					}
					continue;
				}
				/* The line ended: keep what follows it. */
				c->discarding = 0;
				memmove(c->in, nl + 1,
					(size_t)n - (size_t)(nl + 1 - c->in));
				c->in_len =
					(size_t)n - (size_t)(nl + 1 - c->in);
				continue;
			}
			c->in_len += (size_t)n;
			if (memchr(c->in, '\n', c->in_len))
				break;
		}
	}
	if (events & EPOLLERR) {
		client_remove(d, c, "socket error");
		return;
	}
	process_input(d, c);
	ret = flush_out(d, c);
	if (ret < 0) {
		client_remove(d, c,
			      ret == -ENOMEM ? "out of memory" :
					       "disconnected mid-response");
		return;
	}
	if (ret == 0 && c->closing) {
		client_remove(d, c, "request too large");
		return;
	}
	while (ret == 0 && memchr(c->in, '\n', c->in_len)) {
		/* Answered: the next buffered request. */
		process_input(d, c);
		ret = flush_out(d, c);
		if (ret < 0) {
			client_remove(d, c, "disconnected mid-response");
			return;
		}
	}
	if (ret == 0 && c->eof) {
		/* Everything the client sent is answered. */
		client_remove(d, c, "closed by the client");
		return;
	}
	set_want_out(d, c, ret > 0);
	/*
	 * A full input buffer with a request in progress: stop reading
	 * until the answer is out (EPOLLIN would spin otherwise).
	 */
	if (c->in_len > API_MAX_REQUEST && !c->closing &&
	    (c->dump || ret > 0)) {
		struct epoll_event ev = {
			.events = EPOLLOUT,
			.data.u64 = (uint64_t)(uintptr_t)c | EV_TAG_CLIENT,
		};

		epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = true;
	}
}

void server_on_tick(struct daemon *d)
{
	struct server *s = &d->server;
	uint64_t now = now_ms(), expirations;
	int i;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	for (i = s->n_clients - 1; i >= 0; i--) {
		struct client *c = s->clients[i];

		if (now - c->last_progress_ms >= SERVER_IDLE_MS)
			client_remove(
				d, c,
				c->out.len > c->out_sent ?
					"not reading its answer for 10 s" :
					"idle for 10 s");
	}
}
