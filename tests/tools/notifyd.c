// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * notifyd.c - test helper: plays systemd's side of sd_notify(3). Binds a
 * datagram socket at PATH and prints every message it receives, one
 * "FIELD=value" per line, until it is killed. With TIMES, it also appends
 * the CLOCK_MONOTONIC milliseconds of each message holding WATCHDOG=1 to
 * that file, one per line: the gaps between the pings.
 *
 *   notifyd PATH [TIMES]
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	FILE *times = NULL;
	struct timespec ts;
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notifyd PATH [TIMES]\n");
		return 2;
	}
	if (argc == 3 && !(times = fopen(argv[2], "a"))) {
		perror(argv[2]);
		return 1;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		printf("%s%s", buf, n && buf[n - 1] == '\n' ? "" : "\n");
		if (times && strstr(buf, "WATCHDOG=1")) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			fprintf(times, "%lld\n",
				(long long)ts.tv_sec * 1000 +
					ts.tv_nsec / 1000000);
			fflush(times);
		}
	}
	return 0;
}
