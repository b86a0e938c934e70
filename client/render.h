/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * render.h - human output of tcplogctl: aligned tables like ss(8), with
 * exact counters or, on request, human-readable units.
 */
#ifndef TCPLOG_RENDER_H
#define TCPLOG_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

/* A table: cells are copied; columns are aligned when printed. */
struct table {
	int ncols, nrows, cap;
	char **cells; /* nrows * ncols */
	bool *right; /* per column: right-aligned (numbers) */
};

void table_init(struct table *t, int ncols, const char *const *headers,
		const bool *right);
void table_add(struct table *t, const char *const *row);
/* Prints at most @max_rows data rows (0: all) and frees the table. */
void table_print(struct table *t, FILE *out, int max_rows);

/* "1.5 MiB" with @human, else the exact integer. */
void fmt_bytes(char *buf, size_t size, uint64_t v, bool human);
/* "1.5 M" with @human, else the exact integer. */
void fmt_count(char *buf, size_t size, uint64_t v, bool human);
/* A JSON integer field, exact to 2^64 - 1 (0 if absent or not one). */
uint64_t json_u64(const struct json_object *obj, const char *key);
/* A JSON string field ("" if absent or not one). */
const char *json_str(const struct json_object *obj, const char *key);
/* "addr:port", IPv6 as "[addr]:port". */
void fmt_endpoint(char *buf, size_t size, const char *ip, uint64_t port);

/*
 * The interface of a connection with its VLAN IDs, outermost first:
 * "eth0", "eth0:v100", "eth0:v300.100".
 */
void fmt_iface(char *buf, size_t size, const struct json_object *c);

/*
 * The columns every connection table starts with: IFACE DIR SOURCE
 * DESTINATION STATE into row[0..4]; @ifc, @src and @dst (@size bytes each)
 * hold the interface and endpoint texts.
 */
void conn_columns(const struct json_object *c, const char **row, char *ifc,
		  char *src, char *dst, size_t size);
/* "2026-11-30T03:47:39.396190Z" -> "03:47:39.396" (@size 13 or more). */
void short_time(char *buf, size_t size, const char *rfc3339);
/* A connection object's unit, "-" if none. */
const char *unit_of(const struct json_object *c);

int render_dump(const struct json_object *resp, bool human, FILE *out);
/* The connection view: one row per connection, RX and TX. */
int render_connections(const struct json_object *resp, bool human, FILE *out);
int render_stats(const struct json_object *resp, FILE *out);
int render_version(const struct json_object *resp, FILE *out);

#endif /* TCPLOG_RENDER_H */
