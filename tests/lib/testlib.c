// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* testlib.c - the test harness behind testlib.h. */
#include <stdarg.h>

#include "testlib.h"

int tl_case_failed;
static const char *current_case;
static int passed, failed;

void tl_case_begin(const char *name)
{
	current_case = name;
	tl_case_failed = 0;
}

void tl_case_end(void)
{
	if (tl_case_failed)
		failed++;
	else
		passed++;
	printf("%s %d - %s\n", tl_case_failed ? "not ok" : "ok",
	       passed + failed, current_case);
	fflush(stdout);
}

int tl_finish(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int tl_run(const struct tl_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tl_case_begin(cases[i].name);
		cases[i].fn();
		tl_case_end();
	}
	return tl_finish();
}

void tl_skip(const char *fmt, ...)
{
	const char *no_skip = getenv("TCPLOGGER_NO_SKIP");
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (no_skip && strcmp(no_skip, "1") == 0) {
		printf("TCPLOGGER_NO_SKIP=1: a skipped test is a failure\n");
		exit(EXIT_FAILURE);
	}
	exit(TL_SKIP_CODE);
}
