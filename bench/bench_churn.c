// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_churn.c - the connection-churn workload of the traffic benchmark:
 * as many short TCP connections per second as the machine manages.
 *
 *   bench_churn serve ADDR PORT BYTES THREADS
 *   bench_churn run ADDR PORT BYTES THREADS SECONDS
 *
 * A connection: connect, send BYTES, wait for the server's close, close.
 * The server closes first, after exactly BYTES, so TIME_WAIT is on its
 * side and the client never runs out of ports. `run` prints
 * "CONNECTIONS SECONDS PER_SECOND FAILED". Between the benchmark's own
 * namespaces only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static struct sockaddr_in server;
static size_t nbytes;
static int listen_fd;
static double deadline;
static atomic_ulong done, failed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *serve_loop(void *arg)
{
	char buf[4096];

	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		size_t got = 0;
		ssize_t n = 1;

		if (fd < 0)
			continue;
		while (got < nbytes && n > 0) {
			n = read(fd, buf, sizeof(buf));
			if (n > 0)
				got += (size_t)n;
		}
		close(fd);
	}
	return NULL;
}

/* One connection; 0 when it went through whole. */
static int one_connection(const char *payload)
{
	char buf[256];
	int fd, one = 1;
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) ||
	    write(fd, payload, nbytes) != (ssize_t)nbytes)
		goto fail;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static void *run_loop(void *arg)
{
	const char *payload = arg;

	while (now() < deadline) {
		if (one_connection(payload))
			atomic_fetch_add(&failed, 1);
		else
			atomic_fetch_add(&done, 1);
	}
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_churn serve ADDR PORT BYTES THREADS\n"
			"       bench_churn run ADDR PORT BYTES THREADS "
			"SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	pthread_t tid[64];
	int threads, i, one = 1;
	bool serve;
	char *payload;
	double start, seconds = 0;

	if (argc < 6)
		return usage();
	serve = !strcmp(argv[1], "serve");
	if ((serve && argc != 6) ||
	    (!serve && (strcmp(argv[1], "run") || argc != 7)))
		return usage();
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[3]));
	nbytes = strtoul(argv[4], NULL, 10);
	threads = atoi(argv[5]);
	if (inet_pton(AF_INET, argv[2], &server.sin_addr) != 1 || !nbytes ||
	    nbytes > 65536 || threads < 1 || threads > 64)
		return usage();

	if (serve) {
		listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
			   sizeof(one));
		if (listen_fd < 0 ||
		    bind(listen_fd, (struct sockaddr *)&server,
			 sizeof(server)) ||
		    listen(listen_fd, 4096)) {
			perror("bench_churn: listen");
			return 1;
		}
		for (i = 1; i < threads; i++)
			pthread_create(&tid[i], NULL, serve_loop, NULL);
		serve_loop(NULL);
		return 0;
	}

	seconds = atof(argv[6]);
	payload = calloc(1, nbytes);
	if (!payload || seconds <= 0)
		return usage();
	start = now();
	deadline = start + seconds;
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, run_loop, payload);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	seconds = now() - start;
	printf("%lu %.3f %.1f %lu\n", atomic_load(&done), seconds,
	       (double)atomic_load(&done) / seconds, atomic_load(&failed));
	free(payload);
	return 0;
}
