// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* call.c - one request to tcploggerd, its answer parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "call.h"
#include "jsonw.h"
#include "render.h"

struct json_object *ctl_call(const struct ctl_opts *o, const char *request,
			     struct ctl_error *err)
{
	struct json_tokener *tok;
	struct json_object *resp = NULL;
	char *line = NULL;
	size_t len;
	int fd = ctl_connect(o->socket, err);

	if (fd < 0)
		return NULL;
	if (ctl_send(fd, request, err) ||
	    ctl_read_line(fd, &line, &len, NULL, err)) {
		close(fd);
		return NULL;
	}
	close(fd);
	tok = json_tokener_new();
	if (tok) {
		resp = json_tokener_parse_ex(tok, line, (int)len);
		/* The whole line, and nothing after the object. */
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len) {
			json_object_put(resp);
			resp = NULL;
		}
		json_tokener_free(tok);
	}
	free(line);
	if (!json_object_is_type(resp, json_type_object)) {
		json_object_put(resp);
		ctl_fail(err, EXIT_DAEMON_ERROR, CTL_ERR_BAD_RESPONSE,
			 "the daemon's answer is not JSON");
		return NULL;
	}
	return resp;
}

bool ctl_daemon_error(const struct json_object *resp, struct ctl_error *err)
{
	struct json_object *ok, *e;

	if (json_object_object_get_ex(resp, "ok", &ok) &&
	    json_object_is_type(ok, json_type_boolean) &&
	    json_object_get_boolean(ok))
		return false;
	json_object_object_get_ex(resp, "error", &e);
	ctl_fail(err, EXIT_DAEMON_ERROR, json_str(e, "code"),
		 "the daemon refused: %s: %s", json_str(e, "code"),
		 json_str(e, "message"));
	return true;
}

void ctl_dump_request(const struct ctl_opts *o, char *buf, size_t size)
{
	const struct api_request *r = &o->req;
	struct jw w;

	jw_init(&w);
	jw_object_begin(&w);
	jw_kv_string(&w, "cmd", "dump");
	if (o->sort_name)
		jw_kv_string(&w, "sort", o->sort_name);
	if (r->limit)
		jw_kv_u64(&w, "limit", r->limit);
	if (r->view == API_VIEW_CONNECTIONS)
		jw_kv_string(&w, "view", "connections");
	if (r->iface[0] || r->host_family || r->port >= 0 || r->vlan >= 0 ||
	    r->state || r->unit[0]) {
		char host[64];

		jw_key(&w, "filter");
		jw_object_begin(&w);
		if (r->iface[0])
			jw_kv_string(&w, "iface", r->iface);
		if (r->host_family) {
			inet_ntop(r->host_family == 4 ? AF_INET : AF_INET6,
				  r->host, host, sizeof(host));
			jw_kv_string(&w, "host", host);
		}
		if (r->port >= 0)
			jw_kv_u64(&w, "port", (uint64_t)r->port);
		if (r->vlan >= 0)
			jw_kv_u64(&w, "vlan", (uint64_t)r->vlan);
		if (r->state)
			jw_kv_string(&w, "state",
				     r->state == API_STATE_OPEN ? "open" :
								  "closed");
		if (r->unit[0])
			jw_kv_string(&w, "unit", r->unit);
		jw_object_end(&w);
	}
	jw_object_end(&w);
	snprintf(buf, size, "%.*s", (int)w.len, w.buf ? w.buf : "");
	jw_free(&w);
}
