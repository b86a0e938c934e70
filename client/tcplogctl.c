// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcplogctl.c - the command-line client of tcploggerd: commands, options,
 * exit statuses (docs/REFERENCE.md, docs/API.md, tcplogctl(1)).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "jsonw.h"
#include "render.h"
#include "tcplogctl.h"
#include "transport.h"

#define DEFAULT_SOCKET "/run/tcploggerd/tcploggerd.sock"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplogctl [--socket PATH] [--json] [-H] COMMAND "
		"[OPTIONS]\n"
		"  dump   [--sort KEY] [--limit N] [--iface IF] [--host IP] "
		"[--port N]\n"
		"         [--state open|closed] [--vlan ID]  the connections\n"
		"  watch  [--interval SECONDS] [--sort KEY] [--limit N]  live "
		"view with rates\n"
		"  stats                            datapath and daemon "
		"counters\n"
		"  health                           exit 0 ok, 1 warning, 2 "
		"critical, 3 unknown\n"
		"  reset                            zero the counters (root)\n"
		"  version\n\n"
		"KEY: bytes, packets, segments, first_seen, last_seen "
		"(largest or newest first)\n"
		"  --socket PATH  the daemon's socket (or TCPLOGCTL_SOCKET; "
		"default %s)\n"
		"  --json         print the daemon's JSON unchanged\n"
		"  -H, --human    human-readable units in tables\n"
		"Exit: 0 success, 1 bad usage, 2 the daemon answered with an "
		"error, 3 the daemon is unreachable.\n",
		DEFAULT_SOCKET);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "tcplogctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'tcplogctl --help'.\n");
	return EXIT_USAGE;
}

struct cJSON *ctl_call(const struct ctl_opts *o, const char *request,
		       int *status)
{
	char *line = NULL;
	size_t len;
	cJSON *resp;
	int fd = ctl_connect(o->socket);

	*status = EXIT_UNREACHABLE;
	if (fd < 0)
		return NULL;
	if (ctl_send(fd, request) || ctl_read_line(fd, &line, &len, NULL)) {
		close(fd);
		return NULL;
	}
	close(fd);
	resp = cJSON_ParseWithLength(line, len);
	free(line);
	if (!resp || !cJSON_IsObject(resp)) {
		fprintf(stderr, "tcplogctl: the daemon's answer is not JSON\n");
		cJSON_Delete(resp);
		*status = EXIT_DAEMON_ERROR;
		return NULL;
	}
	*status = EXIT_OK_;
	return resp;
}

/* Prints a daemon error; returns whether @resp was one. */
static bool daemon_error(const cJSON *resp)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")))
		return false;
	fprintf(stderr, "tcplogctl: the daemon refused: %s: %s\n",
		json_str(err, "code"), json_str(err, "message"));
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
	if (r->iface[0] || r->host_family || r->port >= 0 || r->vlan >= 0 ||
	    r->state) {
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
		jw_object_end(&w);
	}
	jw_object_end(&w);
	snprintf(buf, size, "%.*s", (int)w.len, w.buf ? w.buf : "");
	jw_free(&w);
}

/* --json: the daemon's line, unchanged, streamed. */
static int raw_json(const struct ctl_opts *o, const char *request,
		    enum api_cmd cmd)
{
	char *line = NULL;
	size_t len;
	int fd = ctl_connect(o->socket), status;

	if (fd < 0)
		return EXIT_UNREACHABLE;
	if (ctl_send(fd, request) || ctl_read_line(fd, &line, &len, stdout)) {
		close(fd);
		return EXIT_UNREACHABLE;
	}
	close(fd);
	fflush(stdout);
	status = strncmp(line, "{\"ok\":true", 10) ? EXIT_DAEMON_ERROR :
						     EXIT_OK_;
	if (cmd == API_CMD_HEALTH) {
		status = strstr(line, "\"status\":\"critical\"") ? 2 :
			 strstr(line, "\"status\":\"warning\"")	 ? 1 :
			 strstr(line, "\"status\":\"ok\"")	 ? 0 :
								   3;
	}
	free(line);
	return status;
}

static int cmd_health(const struct ctl_opts *o)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
					     "UNKNOWN" };
	const cJSON *checks, *c;
	const char *st;
	int status, code;
	cJSON *resp = ctl_call(o, "{\"cmd\":\"health\"}", &status);

	if (!resp) {
		printf("TCPLOGGER UNKNOWN - tcploggerd unreachable at %s\n",
		       o->socket);
		return 3;
	}
	if (daemon_error(resp)) {
		cJSON_Delete(resp);
		printf("TCPLOGGER UNKNOWN - the daemon answered with an "
		       "error\n");
		return 3;
	}
	st = json_str(resp, "status");
	code = !strcmp(st, "ok")       ? 0 :
	       !strcmp(st, "warning")  ? 1 :
	       !strcmp(st, "critical") ? 2 :
					 3;
	/* One line, the monitoring-plugin way: worst first. */
	printf("TCPLOGGER %s -", names[code]);
	checks = cJSON_GetObjectItemCaseSensitive(resp, "checks");
	cJSON_ArrayForEach(c, checks)
	{
		printf(" %s %s (%s);", json_str(c, "name"),
		       json_str(c, "status"), json_str(c, "detail"));
	}
	printf("\n");
	cJSON_Delete(resp);
	return code;
}

static int simple_cmd(const struct ctl_opts *o, enum api_cmd cmd)
{
	char request[1024];
	int status;
	cJSON *resp;

	if (cmd == API_CMD_DUMP)
		ctl_dump_request(o, request, sizeof(request));
	else
		snprintf(request, sizeof(request), "{\"cmd\":\"%s\"}",
			 api_cmd_name(cmd));
	if (o->json)
		return raw_json(o, request, cmd);
	if (cmd == API_CMD_HEALTH)
		return cmd_health(o);
	resp = ctl_call(o, request, &status);
	if (!resp)
		return status;
	if (daemon_error(resp)) {
		cJSON_Delete(resp);
		return EXIT_DAEMON_ERROR;
	}
	switch (cmd) {
	case API_CMD_DUMP:
		render_dump(resp, o->human, stdout);
		break;
	case API_CMD_STATS:
		render_stats(resp, stdout);
		break;
	case API_CMD_VERSION:
		render_version(resp, stdout);
		break;
	case API_CMD_RESET:
		printf("Counters reset: %llu connections removed\n",
		       (unsigned long long)json_u64(resp, "deleted"));
		break;
	default:
		break;
	}
	cJSON_Delete(resp);
	return EXIT_OK_;
}

int main(int argc, char **argv)
{
	enum {
		O_SOCKET = 256,
		O_JSON,
		O_SORT,
		O_LIMIT,
		O_IFACE,
		O_HOST,
		O_PORT,
		O_STATE,
		O_VLAN,
		O_INTERVAL
	};
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "json", no_argument, NULL, O_JSON },
		{ "human", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "sort", required_argument, NULL, O_SORT },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "iface", required_argument, NULL, O_IFACE },
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "state", required_argument, NULL, O_STATE },
		{ "vlan", required_argument, NULL, O_VLAN },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{}
	};
	static const char *const cmds[] = { "dump",  "stats",	"health",
					    "reset", "version", "watch" };
	struct ctl_opts o = { .interval = 1.0 };
	bool dump_opts = false, watch_opts = false;
	const char *cmd_name = NULL;
	char *end;
	int opt, i, cmd = -1;
	double d;

	o.req.port = -1;
	o.req.vlan = -1;
	o.socket = getenv("TCPLOGCTL_SOCKET");
	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	while ((opt = getopt_long(argc, argv, "Hh", longopts, NULL)) != -1) {
		switch (opt) {
		case O_SOCKET:
			o.socket = optarg;
			break;
		case O_JSON:
			o.json = true;
			break;
		case 'H':
			o.human = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_SORT:
			if (api_sort_from_name(optarg) <= API_SORT_NONE)
				return bad_usage("--sort: unknown key '%s' "
						 "(bytes, packets, segments, "
						 "first_seen, last_seen)",
						 optarg);
			o.sort_name = optarg;
			o.req.sort = (enum api_sort)api_sort_from_name(optarg);
			watch_opts = true;
			break;
		case O_LIMIT:
			errno = 0;
			o.req.limit = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-')
				return bad_usage("--limit: '%s' is not a whole "
						 "number",
						 optarg);
			watch_opts = true;
			break;
		case O_IFACE:
			if (!*optarg || strlen(optarg) >= IF_NAMESIZE)
				return bad_usage("--iface: '%s' is not an "
						 "interface name",
						 optarg);
			snprintf(o.req.iface, sizeof(o.req.iface), "%s",
				 optarg);
			dump_opts = true;
			break;
		case O_HOST:
			if (inet_pton(AF_INET, optarg, o.req.host) == 1)
				o.req.host_family = 4;
			else if (inet_pton(AF_INET6, optarg, o.req.host) == 1)
				o.req.host_family = 6;
			else
				return bad_usage("--host: '%s' is not an IP "
						 "address",
						 optarg);
			dump_opts = true;
			break;
		case O_PORT:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || *end || !*optarg || d < 0 || d > 65535 ||
			    d != (int)d)
				return bad_usage("--port: '%s' is not a port "
						 "(0-65535)",
						 optarg);
			o.req.port = (int)d;
			dump_opts = true;
			break;
		case O_VLAN:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || *end || !*optarg || d < 0 || d > 4095 ||
			    d != (int)d)
				return bad_usage(
					"--vlan: '%s' is not a VLAN ID "
					"(0-4095)",
					optarg);
			o.req.vlan = (int)d;
			dump_opts = true;
			break;
		case O_STATE:
			if (!strcmp(optarg, "open"))
				o.req.state = API_STATE_OPEN;
			else if (!strcmp(optarg, "closed"))
				o.req.state = API_STATE_CLOSED;
			else
				return bad_usage("--state: '%s' is not open or "
						 "closed",
						 optarg);
			dump_opts = true;
			break;
		case O_INTERVAL:
			errno = 0;
			o.interval = strtod(optarg, &end);
			if (errno || *end || !*optarg || o.interval < 0.1 ||
			    o.interval > 3600)
				return bad_usage("--interval: '%s' is not a "
						 "number of seconds from 0.1 "
						 "to 3600",
						 optarg);
			watch_opts = true;
			break;
		default:
			fprintf(stderr, "Try 'tcplogctl --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		if (optind == argc)
			return bad_usage("%s", "no command given");
		return bad_usage("unexpected argument '%s'", argv[optind + 1]);
	}
	cmd_name = argv[optind];
	for (i = 0; i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++)
		if (!strcmp(cmds[i], cmd_name))
			cmd = i;
	if (cmd < 0)
		return bad_usage("unknown command '%s'", cmd_name);
	if (cmd == 5) { /* watch */
		if (dump_opts)
			return bad_usage("%s", "watch takes --interval, --sort "
					       "and --limit only");
		if (o.json)
			return bad_usage("%s", "watch has no --json output");
		return cmd_watch(&o);
	}
	if (cmd != API_CMD_DUMP && (dump_opts || watch_opts))
		return bad_usage("%s takes no options but --socket, --json and "
				 "-H",
				 cmd_name);
	if (o.interval != 1.0 && cmd == API_CMD_DUMP)
		return bad_usage("%s", "--interval is for watch");
	return simple_cmd(&o, (enum api_cmd)cmd);
}
