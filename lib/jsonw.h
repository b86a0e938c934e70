/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * jsonw.h - a small streaming JSON writer into a growable buffer. Unsigned
 * 64-bit counters are written as exact integers, never as floating point.
 * Commas are placed by the writer; callers only open, close and write.
 */
#ifndef TCPLOG_JSONW_H
#define TCPLOG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_key;
	bool failed; /* out of memory: the output is incomplete */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* Forgets the first @n bytes (sent already). */
void jw_consume(struct jw *w, size_t n);

void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s);
void jw_u64(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Ends one response line. */
void jw_newline(struct jw *w);

/* Shorthands for "key": value. */
void jw_kv_string(struct jw *w, const char *key, const char *s);
void jw_kv_u64(struct jw *w, const char *key, uint64_t v);
void jw_kv_bool(struct jw *w, const char *key, bool v);

/*
 * One error response line of the API contract (docs/API.md):
 * {"ok":false,"error":{"code":CODE,"message":MSG}}. The daemon answers
 * refused requests with it, and tcplogctl --json its own failures.
 */
void jw_error_line(struct jw *w, const char *code, const char *msg);

#endif /* TCPLOG_JSONW_H */
