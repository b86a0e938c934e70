// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcplogctl.c - the command-line client of tcploggerd: commands, options,
 * exit statuses (docs/REFERENCE.md, docs/API.md, tcplogctl(1)).
 *
 * Commands and options are two tables: each option says how it is parsed
 * and which commands take it, each command what it runs. The usage text,
 * getopt's option list and the checks that an option fits its command all
 * come from them (bpftool's cmd_select is the model).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "call.h"
#include "jsonw.h"
#include "render.h"
#include "watch.h"

#define DEFAULT_SOCKET "/run/tcploggerd/tcploggerd.sock"
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- commands --------------------------------------------------------------- */

/* Which commands an option is for. */
enum {
	FOR_DUMP = 1u << 0,
	FOR_WATCH = 1u << 1,
	FOR_ALL = ~0u, /* global options */
};

static int run_dump(const struct ctl_opts *o, struct ctl_error *err);
static int run_simple(const struct ctl_opts *o, struct ctl_error *err);
static int run_health(const struct ctl_opts *o, struct ctl_error *err);
static int run_watch(const struct ctl_opts *o, struct ctl_error *err);

struct cmd {
	const char *name;
	enum api_cmd api; /* the request it sends */
	unsigned int bit; /* FOR_ bit of its own options; 0: none */
	bool json; /* has --json output */
	int (*run)(const struct ctl_opts *o, struct ctl_error *err);
	const char *help;
};

static const struct cmd cmds[] = {
	{ "dump", API_CMD_DUMP, FOR_DUMP, true, run_dump, "the connections" },
	{ "watch", API_CMD_DUMP, FOR_WATCH, false, run_watch,
	  "live view with rates" },
	{ "stats", API_CMD_STATS, 0, true, run_simple,
	  "datapath and daemon counters" },
	{ "health", API_CMD_HEALTH, 0, true, run_health,
	  "exit 0 ok, 1 warning, 2 critical, 3 unknown" },
	{ "reset", API_CMD_RESET, 0, true, run_simple,
	  "zero the counters (root)" },
	{ "version", API_CMD_VERSION, 0, true, run_simple,
	  "versions of the daemon, API, BPF ABI, libbpf, kernel" },
	{ "metrics", API_CMD_METRICS, 0, true, run_simple,
	  "Prometheus text (node_exporter's textfile collector)" },
};

/* ---- options ---------------------------------------------------------------- */

static int opt_socket(struct ctl_opts *o, const char *arg,
		      struct ctl_error *err)
{
	(void)err;
	o->socket = arg;
	return 0;
}

static int opt_json(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	(void)arg;
	(void)err;
	o->json = true;
	return 0;
}

static int opt_human(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	(void)arg;
	(void)err;
	o->human = true;
	return 0;
}

static int usage_error(struct ctl_error *err, const char *opt, const char *arg,
		       const char *what)
{
	return ctl_fail(err, EXIT_USAGE, CTL_ERR_USAGE, "--%s: '%s' is %s", opt,
			arg, what);
}

/* A whole number up to @max, written in decimal digits only. */
static int parse_uint(const char *arg, unsigned long long max,
		      unsigned long long *out)
{
	char *end;

	if (!*arg || strspn(arg, "0123456789") != strlen(arg))
		return -EINVAL;
	errno = 0;
	*out = strtoull(arg, &end, 10);
	return errno || *out > max ? -ERANGE : 0;
}

static int opt_sort(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	int sort = api_sort_from_name(arg);

	if (sort <= API_SORT_NONE)
		return ctl_fail(err, EXIT_USAGE, CTL_ERR_USAGE,
				"--sort: unknown key '%s' (bytes, packets, "
				"segments, first_seen, last_seen)",
				arg);
	o->sort_name = arg;
	o->req.sort = (enum api_sort)sort;
	return 0;
}

static int opt_limit(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	unsigned long long v;

	if (parse_uint(arg, UINT64_MAX, &v))
		return usage_error(err, "limit", arg, "not a whole number");
	o->req.limit = v;
	return 0;
}

static int opt_iface(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	if (!*arg || strlen(arg) >= IF_NAMESIZE)
		return usage_error(err, "iface", arg, "not an interface name");
	snprintf(o->req.iface, sizeof(o->req.iface), "%s", arg);
	return 0;
}

static int opt_host(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	if (inet_pton(AF_INET, arg, o->req.host) == 1)
		o->req.host_family = 4;
	else if (inet_pton(AF_INET6, arg, o->req.host) == 1)
		o->req.host_family = 6;
	else
		return usage_error(err, "host", arg, "not an IP address");
	return 0;
}

static int opt_port(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	unsigned long long v;

	if (parse_uint(arg, 65535, &v))
		return usage_error(err, "port", arg, "not a port (0-65535)");
	o->req.port = (int)v;
	return 0;
}

static int opt_vlan(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	unsigned long long v;

	if (parse_uint(arg, 4095, &v))
		return usage_error(err, "vlan", arg, "not a VLAN ID (0-4095)");
	o->req.vlan = (int)v;
	return 0;
}

static int opt_unit(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	if (!arg[0] || strlen(arg) >= sizeof(o->req.unit) || strchr(arg, '/'))
		return usage_error(err, "unit", arg,
				   "not a unit name (nginx.service)");
	snprintf(o->req.unit, sizeof(o->req.unit), "%s", arg);
	return 0;
}

static int opt_connections(struct ctl_opts *o, const char *arg,
			   struct ctl_error *err)
{
	(void)arg;
	(void)err;
	o->req.view = API_VIEW_CONNECTIONS;
	return 0;
}

static int opt_state(struct ctl_opts *o, const char *arg, struct ctl_error *err)
{
	if (!strcmp(arg, "open"))
		o->req.state = API_STATE_OPEN;
	else if (!strcmp(arg, "closed"))
		o->req.state = API_STATE_CLOSED;
	else
		return usage_error(err, "state", arg, "not open or closed");
	return 0;
}

static int opt_interval(struct ctl_opts *o, const char *arg,
			struct ctl_error *err)
{
	char *end;

	errno = 0;
	o->interval = strtod(arg, &end);
	if (errno || *end || !*arg || !(o->interval >= 0.1) ||
	    o->interval > 3600)
		return usage_error(err, "interval", arg,
				   "not a number of seconds from 0.1 to 3600");
	return 0;
}

struct opt {
	const char *name;
	char short_name; /* 0: none */
	const char *arg; /* its argument in the usage, NULL: none */
	unsigned int for_cmds; /* FOR_ bits */
	int (*parse)(struct ctl_opts *o, const char *arg,
		     struct ctl_error *err);
	const char *help;
};

static const struct opt opts[] = {
	{ "socket", 0, "PATH", FOR_ALL, opt_socket,
	  "the daemon's socket (or TCPLOGCTL_SOCKET; default " DEFAULT_SOCKET
	  ")" },
	{ "json", 0, NULL, FOR_ALL, opt_json,
	  "print the daemon's JSON unchanged (failures too, as JSON)" },
	{ "human", 'H', NULL, FOR_ALL, opt_human,
	  "human-readable units in tables" },
	{ "sort", 0, "KEY", FOR_DUMP | FOR_WATCH, opt_sort,
	  "bytes, packets, segments, first_seen, last_seen (largest or "
	  "newest first)" },
	{ "limit", 0, "N", FOR_DUMP | FOR_WATCH, opt_limit,
	  "at most N connections" },
	{ "iface", 0, "IF", FOR_DUMP, opt_iface, "on interface IF" },
	{ "host", 0, "IP", FOR_DUMP, opt_host, "with IP at either end" },
	{ "port", 0, "N", FOR_DUMP, opt_port, "with port N at either end" },
	{ "state", 0, "open|closed", FOR_DUMP, opt_state,
	  "open, or closed by FIN or RST" },
	{ "vlan", 0, "ID", FOR_DUMP, opt_vlan, "tagged with VLAN ID" },
	{ "unit", 0, "NAME", FOR_DUMP, opt_unit,
	  "owned by systemd unit NAME (the local socket's)" },
	{ "connections", 0, NULL, FOR_DUMP, opt_connections,
	  "one row per connection, both directions (RX and TX)" },
	{ "interval", 0, "SECONDS", FOR_WATCH, opt_interval,
	  "redraw period (default 1)" },
};

static void usage(FILE *out)
{
	size_t i, j;

	fprintf(out, "Usage: tcplogctl [--socket PATH] [--json] [-H] COMMAND "
		     "[OPTIONS]\n\nCommands:\n");
	for (i = 0; i < N_ELEMS(cmds); i++) {
		fprintf(out, "  %s", cmds[i].name);
		for (j = 0; j < N_ELEMS(opts); j++)
			if (opts[j].for_cmds != FOR_ALL &&
			    (opts[j].for_cmds & cmds[i].bit))
				fprintf(out, " [--%s%s%s]", opts[j].name,
					opts[j].arg ? " " : "",
					opts[j].arg ? opts[j].arg : "");
		fprintf(out, "\n           %s\n", cmds[i].help);
	}
	fprintf(out, "\nOptions:\n");
	for (j = 0; j < N_ELEMS(opts); j++) {
		char name[40];

		snprintf(name, sizeof(name), "%s%c%s--%s%s%s",
			 opts[j].short_name ? "-" : "",
			 opts[j].short_name ? opts[j].short_name : ' ',
			 opts[j].short_name ? ", " : "  ", opts[j].name,
			 opts[j].arg ? " " : "",
			 opts[j].arg ? opts[j].arg : "");
		fprintf(out, "  %-22s %s\n",
			name + (opts[j].short_name ? 0 : 1), opts[j].help);
	}
	fprintf(out,
		"\nExit: 0 success, 1 bad usage, 2 the daemon answered with "
		"an error, 3 the daemon is unreachable.\n");
}

/* ---- running ---------------------------------------------------------------- */

/* --json: the daemon's line, unchanged, streamed. */
static int raw_json(const struct ctl_opts *o, const char *request,
		    enum api_cmd cmd, struct ctl_error *err)
{
	char *line = NULL;
	size_t len;
	int fd = ctl_connect(o->socket, err), status;

	if (fd < 0)
		return err->status;
	if (ctl_send(fd, request, err) ||
	    ctl_read_line(fd, &line, &len, stdout, err)) {
		close(fd);
		return err->status;
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

static void request_of(const struct cmd *c, const struct ctl_opts *o, char *buf,
		       size_t size)
{
	if (c->api == API_CMD_DUMP)
		ctl_dump_request(o, buf, size);
	else
		snprintf(buf, size, "{\"cmd\":\"%s\"}", api_cmd_name(c->api));
}

static const struct cmd *running;

static int run_simple(const struct ctl_opts *o, struct ctl_error *err)
{
	struct json_object *resp;
	char request[1024];

	request_of(running, o, request, sizeof(request));
	if (o->json)
		return raw_json(o, request, running->api, err);
	resp = ctl_call(o, request, err);
	if (!resp)
		return err->status;
	if (ctl_daemon_error(resp, err)) {
		json_object_put(resp);
		return err->status;
	}
	switch (running->api) {
	case API_CMD_DUMP:
		if (o->req.view == API_VIEW_CONNECTIONS)
			render_connections(resp, o->human, stdout);
		else
			render_dump(resp, o->human, stdout);
		break;
	case API_CMD_STATS:
		render_stats(resp, stdout);
		break;
	case API_CMD_VERSION:
		render_version(resp, stdout);
		break;
	case API_CMD_METRICS:
		/* As the HTTP endpoint serves it: the exposition, unchanged. */
		fputs(json_str(resp, "text"), stdout);
		break;
	case API_CMD_RESET:
		printf("Counters reset: %llu connections removed\n",
		       (unsigned long long)json_u64(resp, "deleted"));
		break;
	default:
		break;
	}
	json_object_put(resp);
	return EXIT_OK_;
}

static int run_dump(const struct ctl_opts *o, struct ctl_error *err)
{
	return run_simple(o, err);
}

static int run_health(const struct ctl_opts *o, struct ctl_error *err)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
					     "UNKNOWN" };
	struct json_object *resp, *checks;
	const char *st;
	size_t i, n;
	int code;

	/* Unreachable is exit 3 either way: UNKNOWN, for the plugin. */
	if (o->json)
		return raw_json(o, "{\"cmd\":\"health\"}", API_CMD_HEALTH, err);
	resp = ctl_call(o, "{\"cmd\":\"health\"}", err);
	if (resp && ctl_daemon_error(resp, err)) {
		json_object_put(resp);
		resp = NULL;
	}
	if (!resp) {
		/* The plugin way: one line on stdout, UNKNOWN. */
		printf("TCPLOGGER UNKNOWN - %s\n", err->msg);
		err->code = NULL;
		return 3;
	}
	st = json_str(resp, "status");
	code = !strcmp(st, "ok")       ? 0 :
	       !strcmp(st, "warning")  ? 1 :
	       !strcmp(st, "critical") ? 2 :
					 3;
	/* One line, the monitoring-plugin way. */
	printf("TCPLOGGER %s -", names[code]);
	if (!json_object_object_get_ex(resp, "checks", &checks) ||
	    !json_object_is_type(checks, json_type_array))
		checks = NULL;
	n = checks ? json_object_array_length(checks) : 0;
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(checks, i);

		printf(" %s %s (%s);", json_str(c, "name"),
		       json_str(c, "status"), json_str(c, "detail"));
	}
	printf("\n");
	json_object_put(resp);
	return code;
}

static int run_watch(const struct ctl_opts *o, struct ctl_error *err)
{
	(void)err;
	return watch_run(o); /* prints its own failures */
}

/* A failure: as one JSON error line on stdout with --json, else text. */
static int report(const struct ctl_opts *o, const struct ctl_error *err)
{
	struct jw w;

	if (o->json) {
		jw_init(&w);
		jw_error_line(&w, err->code, err->msg);
		fwrite(w.buf, 1, w.len, stdout);
		jw_free(&w);
	} else {
		fprintf(stderr, "tcplogctl: %s\n", err->msg);
		if (err->status == EXIT_USAGE)
			fprintf(stderr, "Try 'tcplogctl --help'.\n");
	}
	return err->status;
}

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < N_ELEMS(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* The options given that @c does not take, named in @err. */
static int check_fit(const struct cmd *c, const bool *given,
		     struct ctl_error *err)
{
	size_t j;

	for (j = 0; j < N_ELEMS(opts); j++)
		if (given[j] && opts[j].for_cmds != FOR_ALL &&
		    !(opts[j].for_cmds & c->bit))
			return ctl_fail(err, EXIT_USAGE, CTL_ERR_USAGE,
					"%s takes no --%s", c->name,
					opts[j].name);
	if (!c->json && given[1])
		return ctl_fail(err, EXIT_USAGE, CTL_ERR_USAGE,
				"%s has no --json output", c->name);
	return 0;
}

int main(int argc, char **argv)
{
	struct option longopts[N_ELEMS(opts) + 2];
	struct ctl_opts o = { .interval = 1.0 };
	struct ctl_error err = { 0 };
	bool given[N_ELEMS(opts)] = { false };
	const struct cmd *c;
	char shortopts[2 * N_ELEMS(opts) + 2] = "h";
	size_t j, ns = 1;
	int opt, i;

	o.req.port = -1;
	o.req.vlan = -1;
	o.socket = getenv("TCPLOGCTL_SOCKET");
	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	/* getopt's tables from ours; an option's index is its value. */
	for (j = 0; j < N_ELEMS(opts); j++) {
		longopts[j] = (struct option){ opts[j].name,
					       opts[j].arg ? required_argument :
							     no_argument,
					       NULL, 256 + (int)j };
		if (opts[j].short_name) {
			shortopts[ns++] = opts[j].short_name;
			if (opts[j].arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[j++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[j] = (struct option){ 0 };
	shortopts[ns] = '\0';
	/* --json anywhere: a usage error is then JSON too. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		o.json |= !strcmp(argv[i], "--json");

	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	       -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		for (j = 0; j < N_ELEMS(opts); j++)
			if (opt == 256 + (int)j || opt == opts[j].short_name)
				break;
		if (opt == '?' || j == N_ELEMS(opts)) {
			ctl_fail(&err, EXIT_USAGE, CTL_ERR_USAGE,
				 "unknown option or missing argument: '%s'",
				 argv[optind - 1]);
			return report(&o, &err);
		}
		if (opts[j].parse(&o, optarg, &err))
			return report(&o, &err);
		given[j] = true;
	}
	if (optind == argc)
		ctl_fail(&err, EXIT_USAGE, CTL_ERR_USAGE, "no command given");
	else if (optind < argc - 1)
		ctl_fail(&err, EXIT_USAGE, CTL_ERR_USAGE,
			 "unexpected argument '%s'", argv[optind + 1]);
	else if (!(c = find_cmd(argv[optind])))
		ctl_fail(&err, EXIT_USAGE, CTL_ERR_USAGE,
			 "unknown command '%s'", argv[optind]);
	else if (!check_fit(c, given, &err)) {
		running = c;
		i = c->run(&o, &err);
		/* A failure the command did not print itself. */
		return err.code ? report(&o, &err) : i;
	}
	return report(&o, &err);
}
