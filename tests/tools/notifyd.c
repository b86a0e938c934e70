// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * notifyd.c - test helper: plays systemd's side of sd_notify(3). Binds a
 * datagram socket at PATH and prints every message it receives, one
 * "FIELD=value" per line, until it is killed.
 *
 *   notifyd PATH
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notifyd PATH\n");
		return 2;
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
	}
	return 0;
}
