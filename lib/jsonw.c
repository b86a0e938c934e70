// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* jsonw.c - the streaming JSON writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

void jw_consume(struct jw *w, size_t n)
{
	if (n >= w->len) {
		w->len = 0;
		return;
	}
	memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
}

static bool reserve(struct jw *w, size_t more)
{
	size_t cap;
	char *p;

	if (w->failed)
		return false;
	if (w->len + more <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + more)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->failed = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Writes the comma that separates this value from the previous one. */
static void value_prefix(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->depth <= JW_MAX_DEPTH) {
		if (w->need_comma[w->depth - 1])
			put(w, ",", 1);
		w->need_comma[w->depth - 1] = true;
	}
}

static void open_(struct jw *w, char c)
{
	value_prefix(w);
	put(w, &c, 1);
	if (w->depth < JW_MAX_DEPTH)
		w->need_comma[w->depth] = false;
	w->depth++;
}

static void close_(struct jw *w, char c)
{
	w->depth--;
	put(w, &c, 1);
}

void jw_object_begin(struct jw *w)
{
	open_(w, '{');
}

void jw_object_end(struct jw *w)
{
	close_(w, '}');
}

void jw_array_begin(struct jw *w)
{
	open_(w, '[');
}

void jw_array_end(struct jw *w)
{
	close_(w, ']');
}

/* Bytes that JSON strings carry as they are. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

static void quoted(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	put(w, "\"", 1);
	while (*p) {
		/* Copy runs of plain bytes at once: most strings are one. */
		for (run = p; plain(*p); p++)
			;
		if (p > run)
			put(w, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"':
			put(w, "\\\"", 2);
			break;
		case '\\':
			put(w, "\\\\", 2);
			break;
		case '\n':
			put(w, "\\n", 2);
			break;
		case '\r':
			put(w, "\\r", 2);
			break;
		case '\t':
			put(w, "\\t", 2);
			break;
		default:
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			put(w, esc, 6);
		}
		p++;
	}
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	value_prefix(w);
	quoted(w, key);
	put(w, ":", 1);
	w->after_key = true;
}

void jw_string(struct jw *w, const char *s)
{
	value_prefix(w);
	quoted(w, s);
}

void jw_u64(struct jw *w, uint64_t v)
{
	char num[24], *p = num + sizeof(num);

	/* By hand: printf's generality costs more than the rest of an
	 * entry, and a dump writes eight of these per connection. */
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	value_prefix(w);
	put(w, p, (size_t)(num + sizeof(num) - p));
}

void jw_bool(struct jw *w, bool v)
{
	value_prefix(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	value_prefix(w);
	put(w, "null", 4);
}

void jw_newline(struct jw *w)
{
	put(w, "\n", 1);
	w->depth = 0;
	w->after_key = false;
}

void jw_kv_string(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string(w, s);
}

void jw_kv_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_u64(w, v);
}

void jw_kv_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_error_line(struct jw *w, const char *code, const char *msg)
{
	jw_object_begin(w);
	jw_kv_bool(w, "ok", false);
	jw_key(w, "error");
	jw_object_begin(w);
	jw_kv_string(w, "code", code);
	jw_kv_string(w, "message", msg);
	jw_object_end(w);
	jw_object_end(w);
	jw_newline(w);
}
