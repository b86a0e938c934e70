// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_server.c - the API server alone (daemon/server/server.c): clients on
 * socketpairs, a fake handler, a real sd-event loop. Checks the limits:
 * one request answered at a time and in order, a too-long line refused and
 * the connection kept, a client that does not read its answer or sits idle
 * dropped, the longest-idle client making room for a new one, a streamed
 * answer produced only as fast as the client reads it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "jsonw.h"
#include "server.h"
#include "testlib.h"

/* The fake handler: "big" streams many bytes, anything else is echoed. */
struct fake {
	uint64_t answered, steps, streamed, stream_total;
	uint64_t written, ended; /* bytes step() wrote; streams ended */
	uint64_t last_peer_requests;
};

struct stream {
	uint64_t left;
};

static void *fake_answer(void *ctx, const char *line, size_t len,
			 const struct api_peer *peer, struct jw *out)
{
	struct fake *f = ctx;
	char text[128];
	struct stream *s;

	f->answered++;
	f->last_peer_requests = peer->requests;
	if (len == 3 && !memcmp(line, "big", 3)) {
		s = calloc(1, sizeof(*s));
		s->left = f->stream_total;
		return s;
	}
	snprintf(text, sizeof(text), "%.*s", (int)len, line);
	jw_object_begin(out);
	jw_kv_string(out, "echo", text);
	jw_object_end(out);
	jw_newline(out);
	return NULL;
}

static bool fake_step(void *ctx, void *stream, struct jw *out, size_t budget)
{
	struct fake *f = ctx;
	struct stream *s = stream;
	size_t before = out->len;
	bool done;

	f->steps++;
	while (out->len < budget && s->left) {
		jw_string(out, "0123456789012345678901234567890123456789");
		f->streamed += 42;
		s->left = s->left > 42 ? s->left - 42 : 0;
	}
	done = !s->left;
	if (done)
		jw_newline(out);
	f->written += out->len - before;
	return done;
}

static struct fake fake;

static void fake_end(void *stream)
{
	fake.ended++;
	free(stream);
}
static struct server srv;
static sd_event *ev;

static void setup(void)
{
	const struct server_handler h = { .ctx = &fake,
					  .answer = fake_answer,
					  .step = fake_step,
					  .end = fake_end };

	memset(&fake, 0, sizeof(fake));
	TL_EQ_INT(sd_event_new(&ev), 0);
	server_init(&srv);
	srv.idle_ms = 300;
	TL_EQ_INT(server_start(&srv, ev, &h), 0);
}

static void teardown(void)
{
	server_close(&srv);
	ev = sd_event_unref(ev);
}

/* A client: our end is returned, the other is given to the server. */
static int client_ret(int *ret)
{
	int sv[2];

	TL_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
		 "socketpair");
	*ret = server_add_client(&srv, sv[1]);
	return sv[0];
}

static int client(void)
{
	int ret, fd = client_ret(&ret);

	TL_EQ_INT(ret, 0);
	return fd;
}

/* Runs the loop for @ms milliseconds; returns how many events it handled. */
static int spin(int ms)
{
	uint64_t end;
	int n = 0;

	sd_event_now(ev, CLOCK_MONOTONIC, &end);
	end += (uint64_t)ms * 1000;
	for (;;) {
		uint64_t now;

		sd_event_now(ev, CLOCK_MONOTONIC, &now);
		if (now >= end)
			break;
		n += sd_event_run(ev, end - now) > 0;
	}
	return n;
}

/* Reads what is there within @ms into @buf (NUL-terminated). */
static size_t drain(int fd, char *buf, size_t size, int ms)
{
	size_t got = 0;
	ssize_t n;

	spin(ms);
	while (got + 1 < size &&
	       (n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

/* Reads what is left; true if the server closed its end. */
static bool closed_by_server(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	/* A close with what we sent unread reads as a reset. */
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_requests_in_order(void)
{
	char buf[4096];
	int fd;

	setup();
	fd = client();
	/* Three requests in one write, an empty line and a CRLF among them. */
	TL_CHECK(send(fd, "one\n\ntwo\r\n\r\nthree\n", 18, 0) == 18, "send");
	drain(fd, buf, sizeof(buf), 50);
	TL_EQ_STR(buf, "{\"echo\":\"one\"}\n{\"echo\":\"two\\r\"}\n"
		       "{\"echo\":\"three\"}\n");
	TL_EQ_U64(fake.answered, 3);
	TL_EQ_U64(fake.last_peer_requests, 3);
	/* Shutting its side: the rest is answered, then closed. */
	TL_CHECK(send(fd, "four\n", 5, 0) == 5, "send");
	shutdown(fd, SHUT_WR);
	drain(fd, buf, sizeof(buf), 50);
	TL_EQ_STR(buf, "{\"echo\":\"four\"}\n");
	TL_EQ_INT(srv.n_clients, 0);
	close(fd);
	teardown();
}

/*
 * One request per client per turn of the loop: a client with 200 requests
 * queued does not hold the loop until they are all answered; another
 * client's single request is answered within a few turns.
 */
static void test_one_request_per_turn(void)
{
	char many[200 * 2], buf[8192];
	uint64_t a_answered = 0;
	int a, b, turns = 0;
	size_t i;

	setup();
	a = client();
	b = client();
	for (i = 0; i < 200; i++) {
		many[2 * i] = 'a';
		many[2 * i + 1] = '\n';
	}
	TL_CHECK(send(a, many, sizeof(many), 0) == (ssize_t)sizeof(many),
		 "send");
	TL_CHECK(send(b, "b\n", 2, 0) == 2, "send");
	while (turns < 1000 && recv(b, buf, sizeof(buf), MSG_DONTWAIT) <= 0) {
		sd_event_run(ev, 10000);
		turns++;
		a_answered = fake.answered;
	}
	TL_CHECK(turns < 1000, "b never answered");
	/* b's answer came after at most a few of a's. */
	TL_CHECK(a_answered <= 4, "%llu answered before b's",
		 (unsigned long long)a_answered);
	/* And a gets all 200, in order, in later turns. */
	drain(a, buf, sizeof(buf), 200);
	TL_EQ_U64(fake.answered, 201);
	TL_EQ_U64(strlen(buf), 200 * strlen("{\"echo\":\"a\"}\n"));
	close(a);
	close(b);
	teardown();
}

static void test_too_large(void)
{
	size_t big = API_MAX_REQUEST + 1000, sent = 0;
	char *line = malloc(big), buf[4096];
	ssize_t n;
	int fd;

	setup();
	fd = client();
	memset(line, 'x', big);
	while (sent < big) {
		n = send(fd, line + sent, big - sent, MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n;
		spin(5);
	}
	TL_CHECK(send(fd, "\nafter\n", 7, 0) == 7, "send");
	drain(fd, buf, sizeof(buf), 100);
	TL_CHECK(strstr(buf, "\"code\":\"too_large\""), "too_large: %s", buf);
	/* The connection goes on: the next line is answered. */
	TL_CHECK(strstr(buf, "{\"echo\":\"after\"}\n"), "after: %s", buf);
	TL_EQ_U64(fake.answered, 1);
	TL_EQ_INT(srv.n_clients, 1);
	free(line);
	close(fd);
	teardown();
}

static void test_idle_and_not_reading(void)
{
	int idle, slow, busy;
	char buf[256];

	setup();
	idle = client();
	/* A 64 MiB answer nobody reads. */
	fake.stream_total = 64ull << 20;
	slow = client();
	TL_CHECK(send(slow, "big\n", 4, 0) == 4, "send");
	busy = client();
	spin(150);
	TL_CHECK(send(busy, "ping\n", 5, 0) == 5, "send");
	drain(busy, buf, sizeof(buf), 200);
	TL_EQ_STR(buf, "{\"echo\":\"ping\"}\n");
	/* The server kept at most what the socket and its low-water mark
	 * hold, not the answer. */
	TL_CHECK(fake.streamed < (4ull << 20), "streamed %llu bytes unread",
		 (unsigned long long)fake.streamed);
	spin(300);
	/* idle (nothing for 450+ ms) and slow (not reading) are gone; busy
	 * was active 300 ms ago... and then idle too. */
	TL_CHECK(closed_by_server(idle), "the idle client is closed");
	TL_CHECK(closed_by_server(slow), "the client not reading is closed");
	TL_EQ_INT(srv.n_clients, 0);
	close(idle);
	close(slow);
	close(busy);
	teardown();
}

static void test_streamed_whole(void)
{
	uint64_t total = 0;
	char buf[65536];
	size_t n;
	int fd;

	setup();
	fake.stream_total = 5ull << 20;
	fd = client();
	TL_CHECK(send(fd, "big\n", 4, 0) == 4, "send");
	do {
		n = drain(fd, buf, sizeof(buf), 2);
		total += n;
	} while (n || !fake.ended);
	/* In 42-byte pieces. */
	TL_EQ_U64(fake.streamed, (fake.stream_total + 41) / 42 * 42);
	TL_EQ_U64(total, fake.written);
	TL_CHECK(buf[n ? n - 1 : 0] == '\n' || total, "ends");
	close(fd);
	teardown();
}

/*
 * Clients that wait cost nothing: one that shut its side and reads its
 * answer slowly, one that never reads. (The first once kept the loop
 * spinning on its end of input.)
 */
static void test_waiting_costs_nothing(void)
{
	int half, never, n;
	char buf[4096];

	setup();
	srv.idle_ms = 60000;
	fake.stream_total = 64ull << 20;
	half = client();
	TL_CHECK(send(half, "big\n", 4, 0) == 4, "send");
	shutdown(half, SHUT_WR);
	never = client();
	TL_CHECK(send(never, "big\n", 4, 0) == 4, "send");
	spin(50); /* both sockets fill up */
	n = spin(300);
	TL_CHECK(n < 10, "%d events in 300 ms while both wait", n);
	/* Reading what is there wakes it to write more, and no more. */
	while (recv(half, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	n = spin(100);
	TL_CHECK(n >= 1 && n < 10, "%d events after one read", n);
	TL_EQ_INT(srv.n_clients, 2);
	close(half);
	close(never);
	spin(20);
	TL_EQ_INT(srv.n_clients, 0);
	teardown();
}

static void test_make_room(void)
{
	int fds[SERVER_MAX_CLIENTS + 1], i;
	char buf[256];

	setup();
	srv.idle_ms = 60000;
	srv.max_per_uid = SERVER_MAX_CLIENTS; /* all are ours: no share */
	for (i = 0; i < SERVER_MAX_CLIENTS; i++) {
		fds[i] = client();
		spin(1);
	}
	/* All but the first make progress: the first is the longest idle. */
	for (i = 1; i < SERVER_MAX_CLIENTS; i++)
		TL_CHECK(send(fds[i], "x\n", 2, 0) == 2, "send");
	spin(20);
	fds[SERVER_MAX_CLIENTS] = client();
	TL_EQ_INT(srv.n_clients, SERVER_MAX_CLIENTS);
	TL_EQ_U64(srv.evicted, 1);
	TL_CHECK(closed_by_server(fds[0]), "the longest-idle client made room");
	TL_CHECK(send(fds[SERVER_MAX_CLIENTS], "new\n", 4, 0) == 4, "send");
	drain(fds[SERVER_MAX_CLIENTS], buf, sizeof(buf), 20);
	TL_EQ_STR(buf, "{\"echo\":\"new\"}\n");
	for (i = 0; i <= SERVER_MAX_CLIENTS; i++)
		close(fds[i]);
	teardown();
}

/*
 * One user's share of the slots: its longest-idle client that waits for
 * nothing makes room for its new one; one with an answer in progress is
 * never dropped for a newcomer, who is answered `busy` when all are.
 */
static void test_share_and_busy(void)
{
	int fds[6], ret, i, late;
	char buf[512];

	setup();
	srv.idle_ms = 60000;
	srv.max_per_uid = 4;
	fake.stream_total = 64ull << 20; /* answers nobody reads */
	for (i = 0; i < 4; i++) {
		fds[i] = client();
		spin(2);
	}
	/* The oldest (0) waits for an answer; 1 is idle; 2 and 3 wait. */
	TL_CHECK(send(fds[0], "big\n", 4, 0) == 4, "send");
	TL_CHECK(send(fds[2], "big\n", 4, 0) == 4, "send");
	TL_CHECK(send(fds[3], "big\n", 4, 0) == 4, "send");
	spin(30);
	fds[4] = client();
	TL_EQ_INT(srv.n_clients, 4);
	TL_EQ_U64(srv.evicted, 1);
	TL_CHECK(closed_by_server(fds[1]), "the idle one made room");
	TL_CHECK(!closed_by_server(fds[0]), "the oldest, waiting, stays");
	/* Now all four wait for answers: the next is refused, told why. */
	TL_CHECK(send(fds[4], "big\n", 4, 0) == 4, "send");
	spin(30);
	late = client_ret(&ret);
	TL_EQ_INT(ret, -EBUSY);
	TL_EQ_U64(srv.refused, 1);
	TL_EQ_INT(srv.n_clients, 4);
	buf[recv(late, buf, sizeof(buf) - 1, 0)] = '\0';
	TL_CHECK(strstr(buf, "{\"ok\":false,\"error\":{\"code\":\"busy\""),
		 "%s", buf);
	close(late);
	for (i = 0; i < 5; i++)
		close(fds[i]);
	teardown();
}

/*
 * A request still in the socket, not yet read by the loop (a burst of
 * connections is accepted in one go), is a client that asked: making room
 * drops an idle one, though newer. A partial line asks nothing yet.
 */
static void test_room_spares_unread(void)
{
	int fds[5], i;
	char buf[256];

	setup();
	srv.idle_ms = 60000;
	srv.max_per_uid = 3;
	for (i = 0; i < 3; i++) {
		fds[i] = client();
		spin(2);
	}
	/* No turn of the loop after these: both stay in the sockets. */
	TL_CHECK(send(fds[0], "asked\n", 6, 0) == 6, "send");
	TL_CHECK(send(fds[1], "part", 4, 0) == 4, "send");
	fds[3] = client();
	TL_EQ_U64(srv.evicted, 1);
	TL_CHECK(closed_by_server(fds[1]), "the partial line made room");
	TL_CHECK(!closed_by_server(fds[0]), "the unread request stays");
	fds[4] = client();
	TL_EQ_U64(srv.evicted, 2);
	TL_CHECK(closed_by_server(fds[2]), "the idle one made room");
	drain(fds[0], buf, sizeof(buf), 20);
	TL_EQ_STR(buf, "{\"echo\":\"asked\"}\n");
	for (i = 0; i < 5; i++)
		close(fds[i]);
	teardown();
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "requests answered in order", test_requests_in_order },
		{ "one request per client per turn",
		  test_one_request_per_turn },
		{ "a too-long line is refused, the connection kept",
		  test_too_large },
		{ "idle and non-reading clients are dropped",
		  test_idle_and_not_reading },
		{ "a streamed answer arrives whole", test_streamed_whole },
		{ "waiting clients cost nothing", test_waiting_costs_nothing },
		{ "the longest-idle client makes room", test_make_room },
		{ "a user's share; busy when all wait", test_share_and_busy },
		{ "an unread request is not dropped for room",
		  test_room_spares_unread },
	};

	return TL_RUN(cases);
}
