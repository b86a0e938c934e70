// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* config.c - parsing and validating tcploggerd.conf. */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <netdb.h>
#include <sys/socket.h>

#include "config.h"
#include "tcplogger.h"

/* Large enough for any real server, small enough to refuse a typo. */
#define MAX_CONNECTIONS_LIMIT (1u << 26)
#define MAX_TIMEOUT (10u * 365 * 24 * 3600)
#define MAX_LINE 4096

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t size,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_bool(const char *key, const char *v, bool *out, char *err,
		      size_t size)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return fail(err, size, "%s: expected yes or no, got '%s'", key,
			    v);
	return 0;
}

static int parse_u32(const char *key, const char *v, uint32_t min, uint32_t max,
		     uint32_t *out, char *err, size_t size)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return fail(err, size, "%s: expected a whole number, got '%s'",
			    key, v);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end)
		return fail(err, size, "%s: expected a whole number, got '%s'",
			    key, v);
	if (errno == ERANGE || n < min || n > max)
		return fail(err, size, "%s: %s is out of range (%u to %u)", key,
			    v, min, max);
	*out = (uint32_t)n;
	return 0;
}

static int parse_path(const char *key, const char *v, char *out,
		      size_t out_size, char *err, size_t size)
{
	size_t len;

	if (v[0] != '/')
		return fail(err, size, "%s: '%s' is not an absolute path", key,
			    v);
	if (strlen(v) >= out_size)
		return fail(err, size, "%s: path longer than %zu characters",
			    key, out_size - 1);
	len = strlen(v);
	if (strstr(v, "/../") || (len >= 3 && !strcmp(v + len - 3, "/..")))
		return fail(err, size, "%s: '%s' contains '..'", key, v);
	snprintf(out, out_size, "%s", v);
	return 0;
}

static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= IF_NAMESIZE || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	/* What the kernel's dev_valid_name() refuses. */
	return !strchr(name, '/') && !strchr(name, ':');
}

int config_link_type(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd, type;

	/* An ioctl, not /sys/class/net: sysfs may show another namespace. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	type = ioctl(fd, SIOCGIFHWADDR, &ifr) ? -errno :
						ifr.ifr_hwaddr.sa_family;
	close(fd);
	return type;
}

bool config_link_supported(int type)
{
	/* The program parses from an Ethernet header (loopback has one). */
	return type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK;
}

static int parse_interfaces(struct config *cfg, char *v, bool check_system,
			    char *err, size_t size)
{
	char *save = NULL, *name;
	int i, type;

	if (!strcmp(v, "auto")) {
		cfg->ifaces_auto = true;
		cfg->n_ifaces = 0;
		return 0;
	}
	cfg->ifaces_auto = false;
	cfg->n_ifaces = 0;
	for (name = strtok_r(v, " \t", &save); name;
	     name = strtok_r(NULL, " \t", &save)) {
		if (!strcmp(name, "auto"))
			return fail(err, size,
				    "interfaces: 'auto' cannot be combined "
				    "with interface names");
		if (!valid_ifname(name))
			return fail(err, size,
				    "interfaces: '%s' is not a valid "
				    "interface name",
				    name);
		for (i = 0; i < cfg->n_ifaces; i++)
			if (!strcmp(cfg->ifaces[i], name))
				return fail(err, size,
					    "interfaces: '%s' is listed twice",
					    name);
		if (cfg->n_ifaces == TCPLOG_MAX_IFACES)
			return fail(err, size,
				    "interfaces: more than %d interfaces",
				    TCPLOG_MAX_IFACES);
		if (check_system && if_nametoindex(name) == 0)
			return fail(err, size,
				    "interfaces: no interface named '%s'",
				    name);
		type = check_system ? config_link_type(name) : ARPHRD_ETHER;
		if (!config_link_supported(type))
			return fail(
				err, size,
				"interfaces: '%s' has no Ethernet header "
				"(link type %d); only Ethernet and loopback "
				"interfaces are supported",
				name, type);
		snprintf(cfg->ifaces[cfg->n_ifaces++], IF_NAMESIZE, "%.*s",
			 IF_NAMESIZE - 1, name);
	}
	return 0;
}

static int parse_directions(struct config *cfg, char *v, char *err, size_t size)
{
	char *save = NULL, *word;
	unsigned int dirs = 0, bit;

	for (word = strtok_r(v, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		if (!strcmp(word, "ingress"))
			bit = DIR_INGRESS_BIT;
		else if (!strcmp(word, "egress"))
			bit = DIR_EGRESS_BIT;
		else
			return fail(err, size,
				    "directions: expected ingress and/or "
				    "egress, got '%s'",
				    word);
		if (dirs & bit)
			return fail(err, size,
				    "directions: '%s' is listed twice", word);
		dirs |= bit;
	}
	if (!dirs)
		return fail(err, size, "directions: empty");
	cfg->directions = dirs;
	return 0;
}

/* ---- the keys ---------------------------------------------------------------- */

/* Each key's parser; @v is a writable copy of the value. */
typedef int parse_fn(struct config *cfg, const char *key, char *v,
		     bool check_system, char *err, size_t size);

static int set_interfaces(struct config *cfg, const char *key, char *v,
			  bool check_system, char *err, size_t size)
{
	(void)key;
	return parse_interfaces(cfg, v, check_system, err, size);
}

static int set_directions(struct config *cfg, const char *key, char *v,
			  bool check_system, char *err, size_t size)
{
	(void)key;
	(void)check_system;
	return parse_directions(cfg, v, err, size);
}

static int set_attach_mode(struct config *cfg, const char *key, char *v,
			   bool check_system, char *err, size_t size)
{
	(void)check_system;
	if (!strcmp(v, "auto"))
		cfg->attach_mode = ATTACH_AUTO;
	else if (!strcmp(v, "tcx"))
		cfg->attach_mode = ATTACH_TCX;
	else if (!strcmp(v, "tc"))
		cfg->attach_mode = ATTACH_TC;
	else
		return fail(err, size, "%s: expected auto, tcx or tc, got '%s'",
			    key, v);
	return 0;
}

static int set_max_connections(struct config *cfg, const char *key, char *v,
			       bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 1, MAX_CONNECTIONS_LIMIT,
			 &cfg->max_connections, err, size);
}

static int set_idle_timeout(struct config *cfg, const char *key, char *v,
			    bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 0, MAX_TIMEOUT, &cfg->idle_timeout, err, size);
}

static int set_closed_timeout(struct config *cfg, const char *key, char *v,
			      bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 0, MAX_TIMEOUT, &cfg->closed_timeout, err,
			 size);
}

static int set_syn_timeout(struct config *cfg, const char *key, char *v,
			   bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 0, MAX_TIMEOUT, &cfg->syn_timeout, err, size);
}

static int set_keep_attached(struct config *cfg, const char *key, char *v,
			     bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_bool(key, v, &cfg->keep_attached, err, size);
}

static int set_log_closed(struct config *cfg, const char *key, char *v,
			  bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_bool(key, v, &cfg->log_closed, err, size);
}

static int set_socket(struct config *cfg, const char *key, char *v,
		      bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_path(key, v, cfg->socket_path, sizeof(cfg->socket_path),
			  err, size);
}

static int set_socket_group(struct config *cfg, const char *key, char *v,
			    bool check_system, char *err, size_t size)
{
	if (strlen(v) >= sizeof(cfg->socket_group) || strchr(v, ' '))
		return fail(err, size, "%s: '%s' is not a group name", key, v);
	if (check_system && !getgrnam(v))
		return fail(err, size, "%s: no group '%s'", key, v);
	snprintf(cfg->socket_group, sizeof(cfg->socket_group), "%.*s",
		 (int)sizeof(cfg->socket_group) - 1, v);
	return 0;
}

static int set_pin_path(struct config *cfg, const char *key, char *v,
			bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_path(key, v, cfg->pin_path, sizeof(cfg->pin_path), err,
			  size);
}

/*
 * "HOST:PORT" (HOST "[v6 address]" too) of @key's value @v into @host
 * (room for @hsize, brackets gone) and @port (digits, 1 to 65535).
 */
static int split_host_port(const char *key, const char *v, const char *hp,
			   char *host, size_t hsize, char port[6], char *err,
			   size_t size)
{
	const char *colon, *end;
	char *tail;
	unsigned long p;
	size_t hlen;

	if (*hp == '[') {
		end = strchr(hp, ']');
		if (!end || end[1] != ':')
			return fail(err, size,
				    "%s: '%s': an IPv6 address is written "
				    "[ADDRESS]:PORT",
				    key, v);
		colon = end + 1;
		hp++;
	} else {
		colon = strrchr(hp, ':');
		end = colon;
		if (!colon || memchr(hp, ':', (size_t)(colon - hp)))
			return fail(err, size,
				    "%s: '%s': no :PORT (an IPv6 address is "
				    "written [ADDRESS]:PORT)",
				    key, v);
	}
	hlen = (size_t)(end - hp);
	if (hlen == 0 || hlen >= hsize)
		return fail(err, size, "%s: '%s': bad host", key, v);
	errno = 0;
	p = strtoul(colon + 1, &tail, 10);
	if (!colon[1] || *tail || errno || p == 0 || p > 65535)
		return fail(err, size, "%s: '%s': the port must be 1 to 65535",
			    key, v);
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	snprintf(port, 6, "%lu", p);
	return 0;
}

/* "udp://HOST:PORT" or "tcp://HOST:PORT", HOST "[v6 address]" too. */
static int parse_collector(const char *v, struct config_collector *c,
			   bool check_system, char *err, size_t size)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!strncmp(v, "udp://", 6))
		c->tcp = false;
	else if (!strncmp(v, "tcp://", 6))
		c->tcp = true;
	else
		return fail(err, size,
			    "ipfix_collectors: '%s': expected udp://HOST:PORT "
			    "or tcp://HOST:PORT",
			    v);
	ret = split_host_port("ipfix_collectors", v, v + 6, c->host,
			      sizeof(c->host), c->port, err, size);
	if (ret || !check_system)
		return ret;
	hints.ai_socktype = c->tcp ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	ret = getaddrinfo(c->host, c->port, &hints, &res);
	if (ret)
		return fail(err, size, "ipfix_collectors: '%s': %s", v,
			    gai_strerror(ret));
	freeaddrinfo(res);
	return 0;
}

static int set_ipfix_collectors(struct config *cfg, const char *key, char *v,
				bool check_system, char *err, size_t size)
{
	char *save = NULL, *word;
	int i, ret;

	(void)key;
	cfg->n_collectors = 0;
	for (word = strtok_r(v, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		if (cfg->n_collectors == TCPLOG_MAX_COLLECTORS)
			return fail(err, size,
				    "ipfix_collectors: more than %d collectors",
				    TCPLOG_MAX_COLLECTORS);
		ret = parse_collector(word, &cfg->collectors[cfg->n_collectors],
				      check_system, err, size);
		if (ret)
			return ret;
		for (i = 0; i < cfg->n_collectors; i++)
			if (!memcmp(&cfg->collectors[i],
				    &cfg->collectors[cfg->n_collectors],
				    sizeof(cfg->collectors[i])))
				return fail(err, size,
					    "ipfix_collectors: '%s' is listed "
					    "twice",
					    word);
		cfg->n_collectors++;
	}
	return 0;
}

static int set_ipfix_active_timeout(struct config *cfg, const char *key,
				    char *v, bool check_system, char *err,
				    size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 1, MAX_TIMEOUT, &cfg->ipfix_active_timeout,
			 err, size);
}

static int set_ipfix_domain(struct config *cfg, const char *key, char *v,
			    bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_u32(key, v, 0, UINT32_MAX, &cfg->ipfix_domain, err, size);
}

static int set_ipfix_biflow(struct config *cfg, const char *key, char *v,
			    bool check_system, char *err, size_t size)
{
	(void)check_system;
	return parse_bool(key, v, &cfg->ipfix_biflow, err, size);
}

/* "ADDRESS:PORT", an address of this host (no name: nothing to resolve
 * at start); empty: no HTTP endpoint. */
static int set_metrics_listen(struct config *cfg, const char *key, char *v,
			      bool check_system, char *err, size_t size)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int ret;

	(void)check_system;
	cfg->metrics_on = false;
	if (!*v)
		return 0;
	ret = split_host_port(key, v, v, cfg->metrics_host,
			      sizeof(cfg->metrics_host), cfg->metrics_port, err,
			      size);
	if (ret)
		return ret;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(cfg->metrics_host, cfg->metrics_port, &hints, &res))
		return fail(err, size,
			    "%s: '%s': not an IPv4 or IPv6 address of this "
			    "host",
			    key, v);
	freeaddrinfo(res);
	cfg->metrics_on = true;
	return 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * The keys of tcploggerd.conf: the one list. Parsing, the defaults, the
 * messages of --check-config and the test that the shipped file and the
 * man page document every key (tests/unit/test_config.c) all read it.
 */
static const struct {
	struct config_key k;
	parse_fn *parse;
} keys[] = {
	{ { "interfaces", "auto" }, set_interfaces },
	{ { "directions", "ingress" }, set_directions },
	{ { "attach_mode", "auto" }, set_attach_mode },
	{ { "max_connections", STR(TCPLOG_DEFAULT_MAX_CONNS) },
	  set_max_connections },
	{ { "idle_timeout", "300" }, set_idle_timeout },
	{ { "closed_timeout", "30" }, set_closed_timeout },
	{ { "syn_timeout", "30" }, set_syn_timeout },
	{ { "keep_attached", "yes" }, set_keep_attached },
	{ { "log_closed", "yes" }, set_log_closed },
	{ { "socket", TCPLOG_DEFAULT_SOCKET }, set_socket },
	{ { "socket_group", TCPLOG_DEFAULT_GROUP }, set_socket_group },
	{ { "pin_path", TCPLOG_DEFAULT_PIN_PATH }, set_pin_path },
	{ { "ipfix_collectors", "" }, set_ipfix_collectors },
	{ { "ipfix_active_timeout", "60" }, set_ipfix_active_timeout },
	{ { "ipfix_observation_domain", "0" }, set_ipfix_domain },
	{ { "ipfix_biflow", "no" }, set_ipfix_biflow },
	{ { "metrics_listen", "" }, set_metrics_listen },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

const struct config_key *config_key_at(size_t i)
{
	return i < N_KEYS ? &keys[i].k : NULL;
}

static int key_index(const char *key)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].k.name, key))
			return (int)i;
	return -1;
}

void config_defaults(struct config *cfg)
{
	char err[256];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < N_KEYS; i++)
		config_set(cfg, keys[i].k.name, keys[i].k.def, false, err,
			   sizeof(err));
}

int config_set(struct config *cfg, const char *key, const char *value,
	       bool check_system, char *err, size_t size)
{
	char v[MAX_LINE], known[256];
	size_t i, used = 0;
	int k = key_index(key);

	if (k < 0) {
		for (i = 0; i < N_KEYS && used < sizeof(known); i++)
			used += (size_t)snprintf(known + used,
						 sizeof(known) - used, "%s%s",
						 i ? ", " : "", keys[i].k.name);
		return fail(err, size, "unknown key '%s' (the keys: %s)", key,
			    known);
	}
	/* Empty only where empty is the default: "off". */
	if (!*value && *keys[k].k.def)
		return fail(err, size, "%s: empty value", key);
	snprintf(v, sizeof(v), "%s", value);
	return keys[k].parse(cfg, keys[k].k.name, v, check_system, err, size);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int config_read(FILE *f, const char *path, struct config *cfg,
		bool check_system, char *err, size_t size)
{
	unsigned int seen_line[N_KEYS] = { 0 };
	unsigned int lineno = 0;
	char *line = NULL, msg[512];
	size_t cap = 0;
	ssize_t len;
	int ret = 0, k;

	config_defaults(cfg);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s, *eq, *key, *value, *hash;

		lineno++;
		if (len > MAX_LINE) {
			ret = fail(err, size,
				   "%s:%u: line longer than %d bytes", path,
				   lineno, MAX_LINE);
			break;
		}
		if (strlen(line) != (size_t)len) {
			ret = fail(err, size, "%s:%u: NUL byte in line", path,
				   lineno);
			break;
		}
		/* A '#' starts a comment at the line start or after a blank. */
		for (hash = line; (hash = strchr(hash, '#')); hash++)
			if (hash == line || isspace((unsigned char)hash[-1])) {
				*hash = '\0';
				break;
			}
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			ret = fail(err, size, "%s:%u: expected 'key = value'",
				   path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		k = key_index(key);
		if (k >= 0 && seen_line[k]) {
			ret = fail(err, size,
				   "%s:%u: %s already set on line %u", path,
				   lineno, key, seen_line[k]);
			break;
		}
		if (config_set(cfg, key, value, check_system, msg,
			       sizeof(msg))) {
			ret = fail(err, size, "%s:%u: %s", path, lineno, msg);
			break;
		}
		seen_line[k] = lineno;
	}
	if (!ret && ferror(f))
		ret = fail(err, size, "%s: read error", path);
	free(line);
	return ret;
}

int config_load(const char *path, struct config *cfg, bool check_system,
		char *err, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		ret = -errno;
		config_defaults(cfg);
		snprintf(err, size, "%s: cannot open: %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = config_read(f, path, cfg, check_system, err, size);
	fclose(f);
	return ret;
}
