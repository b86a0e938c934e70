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
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "format.h"
#include "log.h"
#include "server.h"

/* A dump is produced in steps while the client's output is below this. */
#define OUT_LOW_WATER (256 * 1024)
/* After too_large, the rest of that line is read and dropped, up to this;
 * a client that keeps sending without a newline is then disconnected. */
#define DISCARD_MAX (64ull << 20)

struct client {
	struct server *server;
	int fd;
	/* next: a deferred turn for the next buffered request */
	sd_event_source *io, *timer, *next;
	uid_t uid;
	pid_t pid;
	char in[API_MAX_REQUEST + 1];
	size_t in_len;
	struct jw out;
	size_t out_sent;
	void *stream; /* a response being produced (a dump) */
	uint64_t last_progress_ms;
	bool eof; /* the client shut its side: answer what it sent, close */
	uint64_t discarding; /* bytes of a too_large line dropped so far */
	uint32_t io_events; /* what the I/O source waits for */
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

void server_init(struct server *s)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	s->idle_ms = SERVER_IDLE_MS;
	s->max_per_uid = SERVER_MAX_PER_UID;
}

int server_open(struct server *s, const struct config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *gr;
	mode_t old;
	int n, fd, err;

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
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC))
			return -errno;
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
	s->listen_fd = fd;
	log_info("Listening on %s (mode 0660, group %s)", s->path,
		 cfg->socket_group);
	return 0;
}

static void client_free(struct client *c)
{
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	sd_event_source_disable_unref(c->next);
	close(c->fd);
	jw_free(&c->out);
	if (c->stream)
		c->server->handler.end(c->stream);
	free(c);
}

static void client_remove(struct client *c, const char *why)
{
	struct server *s = c->server;
	int i;

	log_debug("Client pid %d uid %u: closing (%s)", (int)c->pid,
		  (unsigned)c->uid, why);
	for (i = 0; i < s->n_clients; i++)
		if (s->clients[i] == c) {
			s->clients[i] = s->clients[--s->n_clients];
			break;
		}
	/* sd-event frees a source disabled in its own callback safely. */
	client_free(c);
}

void server_close(struct server *s)
{
	while (s->n_clients > 0)
		client_remove(s->clients[0], "shutting down");
	s->listen_src = sd_event_source_disable_unref(s->listen_src);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (!s->from_systemd)
			unlink(s->path);
	}
	s->listen_fd = -1;
}

/* ---- answering ------------------------------------------------------------------ */

/* Answers one request line. */
static void handle_line(struct client *c, const char *line, size_t len)
{
	struct server *s = c->server;
	struct api_peer peer = {
		.uid = c->uid,
		.pid = c->pid,
		.clients = (uint64_t)s->n_clients,
		.requests = ++s->requests,
	};

	c->stream =
		s->handler.answer(s->handler.ctx, line, len, &peer, &c->out);
}

/*
 * Starts answering the next buffered request, if the previous answer is
 * out: one request per call, so that a client with many requests queued
 * gets one turn of the loop like every other client (empty lines cost no
 * turn).
 */
static void process_input(struct client *c)
{
	bool answered = false;
	char *nl;
	size_t len;

	while (!answered && !c->stream && c->out.len == c->out_sent) {
		nl = memchr(c->in, '\n', c->in_len);
		if (!nl) {
			if (c->in_len > API_MAX_REQUEST) {
				jw_error_line(&c->out, API_ERR_TOO_LARGE,
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
		if (len && !(len == 1 && c->in[0] == '\r')) {
			handle_line(c, c->in, len);
			answered = true;
		}
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
}

enum {
	FLUSH_DONE, /* all sent, no answer in progress */
	FLUSH_BLOCKED, /* the socket is full: wait for room */
	FLUSH_PRODUCE, /* all sent, more of a streamed answer to produce */
};

/*
 * Sends what is pending; produces one step more of a streamed response
 * when what it has is nearly out. A FLUSH_* or a negative errno.
 */
static int flush_out(struct client *c)
{
	const struct server_handler *h = &c->server->handler;
	ssize_t n;

	for (;;) {
		if (c->stream && c->out.len - c->out_sent < OUT_LOW_WATER) {
			if (c->out_sent) {
				jw_consume(&c->out, c->out_sent);
				c->out_sent = 0;
			}
			if (h->step(h->ctx, c->stream, &c->out,
				    OUT_LOW_WATER * 2)) {
				h->end(c->stream);
				c->stream = NULL;
			}
		}
		if (c->out.failed)
			return -ENOMEM;
		if (c->out.len == c->out_sent) {
			if (c->stream)
				return FLUSH_PRODUCE;
			c->out.len = c->out_sent = 0;
			return FLUSH_DONE;
		}
		n = send(c->fd, c->out.buf + c->out_sent,
			 c->out.len - c->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return FLUSH_BLOCKED;
			return -errno;
		}
		c->out_sent += (size_t)n;
		c->last_progress_ms = now_ms();
	}
}

/* Reads what the client sent; false if it was removed. */
static bool read_input(struct client *c)
{
	ssize_t n;
	char *nl;

	/* Read only while no request is being answered: a client cannot
	 * queue unbounded work. The line buffer is bounded. */
	while (!c->eof && c->in_len <= API_MAX_REQUEST) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
			 MSG_DONTWAIT);
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_remove(c, strerror(errno));
			return false;
		}
		c->last_progress_ms = now_ms();
		if (c->discarding) {
			nl = memchr(c->in, '\n', (size_t)n);
			c->discarding += (size_t)n;
			if (!nl) {
				if (c->discarding > DISCARD_MAX) {
					client_remove(c, "endless line");
					return false;
				}
				continue;
			}
			/* The line ended: keep what follows it. */
			c->discarding = 0;
			c->in_len = (size_t)n - (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->in_len);
			continue;
		}
		c->in_len += (size_t)n;
		if (memchr(c->in, '\n', c->in_len))
			break;
	}
	return true;
}

static int set_io_events(struct client *c, uint32_t events)
{
	int err;

	if (c->io_events == events)
		return 0;
	err = sd_event_source_set_io_events(c->io, events);
	if (!err)
		c->io_events = events;
	return err;
}

/* A client's turn: @events from its socket, or 0 for its deferred turn. */
static int serve_client(struct client *c, uint32_t events)
{
	uint32_t want;
	bool more;
	int ret;

	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !read_input(c))
		return 0;
	if (events & EPOLLERR) {
		client_remove(c, "socket error");
		return 0;
	}
	process_input(c);
	ret = flush_out(c);
	if (ret < 0) {
		client_remove(c, ret == -ENOMEM ? "out of memory" :
						  "disconnected mid-response");
		return 0;
	}
	/*
	 * More work for this client that needs no socket: the next step of
	 * a streamed answer, or the next buffered request. It comes in a
	 * turn of its own, after every socket and timer then pending.
	 */
	more = ret == FLUSH_PRODUCE ||
	       (ret == FLUSH_DONE && memchr(c->in, '\n', c->in_len));
	if (ret == FLUSH_DONE && !more && c->eof) {
		/* Everything the client sent is answered. */
		client_remove(c, "closed by the client");
		return 0;
	}
	if (more &&
	    sd_event_source_set_enabled(c->next, SD_EVENT_ONESHOT) < 0) {
		client_remove(c, "cannot defer its next step");
		return 0;
	}
	/*
	 * Wait only for what can move this client on: the socket's room for
	 * the answer, and input only while there is room for it and the
	 * client has not shut its side. A full input buffer during an answer,
	 * or the end of input of a half-closed client, stays readable: asking
	 * for EPOLLIN then would wake the loop at once, again and again.
	 */
	want = ret == FLUSH_BLOCKED ? EPOLLOUT : 0;
	if (!c->eof &&
	    !(c->in_len > API_MAX_REQUEST && (c->stream || more || want)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (set_io_events(c, want) < 0)
		client_remove(c, "cannot wait for the socket");
	return 0;
}

static int on_client_io(sd_event_source *src, int fd, uint32_t events,
			void *userdata)
{
	(void)src;
	(void)fd;
	return serve_client(userdata, events);
}

static int on_client_next(sd_event_source *src, void *userdata)
{
	(void)src;
	return serve_client(userdata, 0);
}

/* A client that made no progress for idle_ms goes. */
static int on_client_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct client *c = userdata;
	uint64_t now = now_ms(), idle = now - c->last_progress_ms;

	(void)usec;
	if (idle < c->server->idle_ms) {
		/* It moved since the timer was set: wait for the rest. */
		sd_event_source_set_time_relative(
			src, (c->server->idle_ms - idle) * 1000);
		return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	}
	client_remove(c, c->out.len > c->out_sent ?
				 "not reading its answer in time" :
				 "idle too long");
	return 0;
}

/*
 * Whether @c waits for us: an answer being written, a request read, or a
 * request sent that the loop has not read yet (a client accepted a moment
 * ago has its request in the socket, not in its buffer: dropping it would
 * drop a client that asked). Peeks into the free end of the line buffer,
 * so nothing is consumed.
 */
static bool in_progress(struct client *c)
{
	ssize_t n;

	if (c->stream || c->out.len > c->out_sent ||
	    memchr(c->in, '\n', c->in_len))
		return true;
	if (c->eof || c->discarding || c->in_len >= sizeof(c->in))
		return false;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
		 MSG_PEEK | MSG_DONTWAIT);
	return n > 0 && memchr(c->in + c->in_len, '\n', (size_t)n);
}

/*
 * The client to drop for a new one: the longest-idle of those that wait
 * for nothing (of @uid only, if it is not -1). NULL if every one has an
 * answer in progress: those are never dropped for a newcomer.
 */
static struct client *pick_victim(const struct server *s, uid_t uid)
{
	struct client *best = NULL, *c;
	int i;

	for (i = 0; i < s->n_clients; i++) {
		c = s->clients[i];
		if ((uid != (uid_t)-1 && c->uid != uid) || in_progress(c))
			continue;
		if (!best || c->last_progress_ms < best->last_progress_ms)
			best = c;
	}
	return best;
}

/* At most one line per 10 s: a flood of connections cannot flood the
 * journal. */
static void log_limited(struct server *s, const char *what)
{
	if (s->limit_logged_ms && now_ms() - s->limit_logged_ms < 10000)
		return;
	log_info("%s (%llu clients dropped to make room, %llu refused as "
		 "busy so far)",
		 what, (unsigned long long)s->evicted,
		 (unsigned long long)s->refused);
	s->limit_logged_ms = now_ms();
}

/* Tells a client it cannot be served now, as one error line, and closes. */
static void refuse_busy(struct server *s, int fd, const char *why)
{
	struct jw w;

	s->refused++;
	jw_init(&w);
	jw_error_line(&w, API_ERR_BUSY, why);
	/* Best effort: a new socket has room for one short line. */
	if (!w.failed &&
	    send(fd, w.buf, w.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("Cannot tell a client it is refused: %s",
			  strerror(errno));
	jw_free(&w);
	close(fd);
}

/*
 * Makes room for a client of @uid: under SERVER_MAX_CLIENTS in all and
 * under max_per_uid for its user, dropping the longest-idle client that
 * waits for nothing (of that user, if it is the user's share that is
 * full). Returns false, having answered `busy`, when there is none.
 */
static bool make_room(struct server *s, int fd, uid_t uid)
{
	struct client *victim = NULL;
	int i, mine = 0;

	for (i = 0; i < s->n_clients; i++)
		mine += s->clients[i]->uid == uid;
	if (mine >= s->max_per_uid) {
		victim = pick_victim(s, uid);
		if (!victim) {
			log_limited(s, "A user has all its connections busy");
			refuse_busy(s, fd,
				    "too many requests of this user in "
				    "progress; try again when one is answered");
			return false;
		}
	} else if (s->n_clients == SERVER_MAX_CLIENTS) {
		victim = pick_victim(s, (uid_t)-1);
		if (!victim) {
			log_limited(s,
				    "Every client has a request in progress");
			refuse_busy(s, fd,
				    "every connection has a request in "
				    "progress; try again when one is answered");
			return false;
		}
	}
	if (victim) {
		s->evicted++;
		log_limited(s,
			    "Too many clients: dropped the longest-idle one");
		client_remove(victim, "making room");
	}
	return true;
}

int server_add_client(struct server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;
	uid_t uid = (uid_t)-1; /* unknown: never privileged */
	pid_t pid = 0;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		uid = cred.uid;
		pid = cred.pid;
	}
	if (!make_room(s, fd, uid))
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->server = s;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	c->last_progress_ms = now_ms();
	jw_init(&c->out);
	c->io_events = EPOLLIN | EPOLLRDHUP;
	err = sd_event_add_io(s->event, &c->io, fd, c->io_events, on_client_io,
			      c);
	if (!err)
		err = sd_event_add_time_relative(s->event, &c->timer,
						 CLOCK_MONOTONIC,
						 s->idle_ms * 1000, 100000,
						 on_client_timer, c);
	if (!err)
		err = sd_event_add_defer(s->event, &c->next, on_client_next, c);
	/*
	 * After every pending socket and timer: a client's first request
	 * goes before anyone's second, a short answer before the next step
	 * of a long one, and the queued ones take turns.
	 */
	if (!err)
		err = sd_event_source_set_priority(c->next,
						   SERVER_BULK_PRIORITY);
	if (!err)
		err = sd_event_source_set_enabled(c->next, SD_EVENT_OFF);
	if (err < 0) {
		client_free(c);
		return err;
	}
	s->clients[s->n_clients++] = c;
	return 0;
}

static int on_listen(sd_event_source *src, int fd, uint32_t events,
		     void *userdata)
{
	struct server *s = userdata;
	int cfd, err;

	(void)src;
	(void)events;
	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("accept: %s", strerror(errno));
			return 0;
		}
		err = server_add_client(s, cfd);
		if (err && err != -EBUSY)
			log_warn("Cannot serve a client: %s", strerror(-err));
	}
}

int server_start(struct server *s, sd_event *event,
		 const struct server_handler *handler)
{
	s->event = event;
	s->handler = *handler;
	if (s->listen_fd < 0)
		return 0;
	return sd_event_add_io(event, &s->listen_src, s->listen_fd, EPOLLIN,
			       on_listen, s);
}
