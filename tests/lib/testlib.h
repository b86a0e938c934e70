/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * testlib.h - a small test harness for C test programs run by CTest.
 *
 * Each test program runs named cases; a failed check marks its case failed
 * and the program goes on with the next case. Output is one "ok"/"not ok"
 * line per case and a closing "N passed, N failed" line. A program that
 * cannot run here (no privileges, say) calls tl_skip(): exit code 77, which
 * CTest reports as skipped; with TCPLOGGER_NO_SKIP=1 in the environment (CI)
 * a skip is a failure instead.
 */
#ifndef TCPLOG_TESTLIB_H
#define TCPLOG_TESTLIB_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_SKIP_CODE 77

extern int tl_case_failed;

struct tl_case {
	const char *name;
	void (*fn)(void);
};

/* Runs every case of @cases in order and returns tl_finish(). */
int tl_run(const struct tl_case *cases, size_t n);
#define TL_RUN(cases) tl_run(cases, sizeof(cases) / sizeof(cases[0]))

void tl_case_begin(const char *name);
void tl_case_end(void);
/* Prints the closing line; returns the process exit code. */
int tl_finish(void);
__attribute__((noreturn, format(printf, 1, 2))) void tl_skip(const char *fmt,
							     ...);

#define TL_CHECK(cond, ...)                                                \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr,                                    \
				"    %s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			tl_case_failed = 1;                                \
		}                                                          \
	} while (0)

#define TL_EQ_U64(got, want)                                                \
	do {                                                                \
		uint64_t tl_g_ = (uint64_t)(got), tl_w_ = (uint64_t)(want); \
		TL_CHECK(tl_g_ == tl_w_, "%s = %" PRIu64 ", want %" PRIu64, \
			 #got, tl_g_, tl_w_);                               \
	} while (0)

#define TL_EQ_INT(got, want)                                                  \
	do {                                                                  \
		long long tl_g_ = (got), tl_w_ = (want);                      \
		TL_CHECK(tl_g_ == tl_w_, "%s = %lld, want %lld", #got, tl_g_, \
			 tl_w_);                                              \
	} while (0)

#define TL_EQ_STR(got, want)                                \
	do {                                                \
		const char *tl_g_ = (got), *tl_w_ = (want); \
		TL_CHECK(tl_g_ &&strcmp(tl_g_, tl_w_) == 0, \
			 "%s = \"%s\", want \"%s\"", #got,  \
			 tl_g_ ? tl_g_ : "(null)", tl_w_);  \
	} while (0)

#endif /* TCPLOG_TESTLIB_H */
