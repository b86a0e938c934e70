// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_daemon_fds.c - a daemon that fails early closes only what it opened:
 * once, a descriptor that started at 0 made an early exit close fd 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon.h"
#include "testlib.h"

static void test_early_close(void)
{
	static struct daemon d;
	int fd;

	/* Standard input is something we can see still open afterwards. */
	fd = open("/dev/null", O_RDONLY);
	TL_CHECK(fd >= 0 && dup2(fd, 0) == 0, "stdin on /dev/null");
	close(fd);
	daemon_init(&d, "/nonexistent.conf");
	daemon_close(&d);
	TL_CHECK(fcntl(0, F_GETFD) >= 0, "fd 0 is still open");
	TL_CHECK(fcntl(1, F_GETFD) >= 0, "fd 1 is still open");
	TL_CHECK(fcntl(2, F_GETFD) >= 0, "fd 2 is still open");
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "an early failure closes no descriptor it did not open",
		  test_early_close },
	};

	return TL_RUN(cases);
}
