// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * request.c - parsing and validating API requests. Nothing in a request is
 * trusted: types, ranges and unknown fields are all checked, and every
 * refusal says what was wrong.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "proto.h"

static const char *const cmd_names[] = {
	[API_CMD_DUMP] = "dump",       [API_CMD_STATS] = "stats",
	[API_CMD_HEALTH] = "health",   [API_CMD_RESET] = "reset",
	[API_CMD_VERSION] = "version", [API_CMD_METRICS] = "metrics",
};

static const char *const sort_names[] = {
	[API_SORT_NONE] = "none",
	[API_SORT_BYTES] = "bytes",
	[API_SORT_PACKETS] = "packets",
	[API_SORT_SEGMENTS] = "segments",
	[API_SORT_FIRST_SEEN] = "first_seen",
	[API_SORT_LAST_SEEN] = "last_seen",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *api_cmd_name(enum api_cmd cmd)
{
	return (size_t)cmd < N_ELEMS(cmd_names) ? cmd_names[cmd] : "?";
}

int api_sort_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_ELEMS(sort_names); i++)
		if (!strcmp(sort_names[i], name))
			return (int)i;
	return -1;
}

__attribute__((format(printf, 4, 5))) static int
refuse(const char **code, const char *which, char *msg, const char *fmt, ...)
{
	va_list ap;

	*code = which;
	va_start(ap, fmt);
	vsnprintf(msg, API_ERR_MSG_SIZE, fmt, ap);
	va_end(ap);
	return -1;
}

/* A JSON number that is a whole number in [min, max]. */
static bool whole_number(const cJSON *item, double min, double max, double *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return false;
	v = item->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_filter(const cJSON *filter, struct api_request *req,
			const char **code, char *msg)
{
	const cJSON *item;
	double port;

	if (!cJSON_IsObject(filter))
		return refuse(code, API_ERR_BAD_REQUEST, msg,
			      "\"filter\" must be an object");
	cJSON_ArrayForEach(item, filter)
	{
		const char *k = item->string;

		if (!strcmp(k, "iface")) {
			if (!cJSON_IsString(item) || !item->valuestring[0] ||
			    strlen(item->valuestring) >= IF_NAMESIZE)
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.iface must be an "
					      "interface name");
			snprintf(req->iface, sizeof(req->iface), "%s",
				 item->valuestring);
		} else if (!strcmp(k, "host")) {
			if (!cJSON_IsString(item))
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.host must be a string");
			memset(req->host, 0, sizeof(req->host));
			if (inet_pton(AF_INET, item->valuestring, req->host) ==
			    1)
				req->host_family = 4;
			else if (inet_pton(AF_INET6, item->valuestring,
					   req->host) == 1)
				req->host_family = 6;
			else
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.host: not an IPv4 or "
					      "IPv6 address");
		} else if (!strcmp(k, "port")) {
			if (!whole_number(item, 0, 65535, &port))
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.port must be a whole "
					      "number from 0 to 65535");
			req->port = (int)port;
		} else if (!strcmp(k, "vlan")) {
			if (!whole_number(item, 0, 4095, &port))
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.vlan must be a whole "
					      "number from 0 to 4095");
			req->vlan = (int)port;
		} else if (!strcmp(k, "state")) {
			if (cJSON_IsString(item) &&
			    !strcmp(item->valuestring, "open"))
				req->state = API_STATE_OPEN;
			else if (cJSON_IsString(item) &&
				 !strcmp(item->valuestring, "closed"))
				req->state = API_STATE_CLOSED;
			else
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.state must be \"open\" "
					      "or \"closed\"");
		} else if (!strcmp(k, "unit")) {
			if (!cJSON_IsString(item) || !item->valuestring[0] ||
			    strlen(item->valuestring) >= API_UNIT_MAX ||
			    strchr(item->valuestring, '/'))
				return refuse(code, API_ERR_BAD_REQUEST, msg,
					      "filter.unit must be a unit name "
					      "(\"nginx.service\")");
			snprintf(req->unit, sizeof(req->unit), "%s",
				 item->valuestring);
		} else {
			return refuse(code, API_ERR_BAD_REQUEST, msg,
				      "unknown filter field \"%.64s\"", k);
		}
	}
	return 0;
}

int api_parse_request(const char *line, size_t len, struct api_request *req,
		      const char **code, char *msg)
{
	char buf[256];
	const cJSON *item;
	const char *end = NULL;
	cJSON *root;
	int ret = 0, sort;
	bool have_cmd = false;
	double limit;
	size_t i;

	memset(req, 0, sizeof(*req));
	req->port = -1;
	req->vlan = -1;
	if (memchr(line, '\0', len))
		return refuse(code, API_ERR_BAD_REQUEST, msg,
			      "the request contains a NUL byte");
	root = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!root)
		return refuse(code, API_ERR_BAD_REQUEST, msg,
			      "the request is not valid JSON (or nests "
			      "deeper than %d levels)",
			      CJSON_NESTING_LIMIT);
	/* One object per line: nothing but blanks may follow it. */
	for (; end < line + len; end++)
		if (!strchr(" \t\r", *end)) {
			ret = refuse(code, API_ERR_BAD_REQUEST, msg,
				     "unexpected text after the request "
				     "object");
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		ret = refuse(code, API_ERR_BAD_REQUEST, msg,
			     "the request must be a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(item, root)
	{
		const char *k = item->string;

		if (!strcmp(k, "cmd")) {
			if (!cJSON_IsString(item)) {
				ret = refuse(code, API_ERR_BAD_REQUEST, msg,
					     "\"cmd\" must be a string");
				goto out;
			}
			for (i = 0; i < N_ELEMS(cmd_names); i++)
				if (!strcmp(cmd_names[i], item->valuestring))
					break;
			if (i == N_ELEMS(cmd_names)) {
				/* Quote at most 64 bytes of what we got. */
				snprintf(buf, sizeof(buf), "%.64s",
					 item->valuestring);
				ret = refuse(code, API_ERR_UNKNOWN_COMMAND, msg,
					     "unknown command \"%s\" (dump, "
					     "stats, health, reset, version)",
					     buf);
				goto out;
			}
			req->cmd = (enum api_cmd)i;
			have_cmd = true;
		} else if (!strcmp(k, "sort")) {
			sort = cJSON_IsString(item) ?
				       api_sort_from_name(item->valuestring) :
				       -1;
			if (sort < 0) {
				ret = refuse(code, API_ERR_BAD_REQUEST, msg,
					     "\"sort\" must be one of bytes, "
					     "packets, segments, first_seen, "
					     "last_seen");
				goto out;
			}
			req->sort = (enum api_sort)sort;
		} else if (!strcmp(k, "limit")) {
			if (!whole_number(item, 0, 1e15, &limit)) {
				ret = refuse(code, API_ERR_BAD_REQUEST, msg,
					     "\"limit\" must be a whole number "
					     "from 0 (no limit) to 10^15");
				goto out;
			}
			req->limit = (uint64_t)limit;
		} else if (!strcmp(k, "view")) {
			if (cJSON_IsString(item) &&
			    !strcmp(item->valuestring, "flows"))
				req->view = API_VIEW_FLOWS;
			else if (cJSON_IsString(item) &&
				 !strcmp(item->valuestring, "connections"))
				req->view = API_VIEW_CONNECTIONS;
			else {
				ret = refuse(code, API_ERR_BAD_REQUEST, msg,
					     "\"view\" must be \"flows\" or "
					     "\"connections\"");
				goto out;
			}
		} else if (!strcmp(k, "filter")) {
			ret = parse_filter(item, req, code, msg);
			if (ret)
				goto out;
		} else {
			ret = refuse(code, API_ERR_BAD_REQUEST, msg,
				     "unknown field \"%.64s\"", k);
			goto out;
		}
	}
	if (!have_cmd)
		ret = refuse(code, API_ERR_BAD_REQUEST, msg,
			     "the request has no \"cmd\"");
	else if (req->cmd != API_CMD_DUMP &&
		 (req->sort || req->limit || req->iface[0] ||
		  req->host_family || req->port >= 0 || req->vlan >= 0 ||
		  req->state || req->unit[0] || req->view))
		ret = refuse(code, API_ERR_BAD_REQUEST, msg,
			     "view, sort, limit and filter apply to dump "
			     "only");
out:
	cJSON_Delete(root);
	return ret;
}
