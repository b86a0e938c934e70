// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_config.c - unit tests of the tcploggerd.conf parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testlib.h"

static char path[64];

/* Writes @text to a temporary file and parses it (no system checks). */
static int load_text(const char *text, struct config *cfg, char *err,
		     size_t size)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/tcplog-conf-XXXXXX");
	f = fdopen(mkstemp(path), "w");
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	int ret = config_load(path, cfg, false, err, size);

	unlink(path);
	return ret;
}

/* The text must fail with "PATH:LINE: " followed by @msg. */
static void bad(const char *text, int line, const char *msg)
{
	struct config cfg;
	char err[600], want[700];
	int ret = load_text(text, &cfg, err, sizeof(err));

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	TL_EQ_INT(ret, -EINVAL);
	TL_EQ_STR(err, want);
}

static void test_defaults(void)
{
	struct config cfg;
	char err[600];

	TL_EQ_INT(load_text("# nothing set\n\n   \n", &cfg, err, sizeof(err)),
		  0);
	TL_CHECK(cfg.ifaces_auto, "interfaces default to auto");
	TL_EQ_INT(cfg.directions, DIR_INGRESS_BIT);
	TL_EQ_INT(cfg.attach_mode, ATTACH_AUTO);
	TL_EQ_U64(cfg.max_connections, 262144);
	TL_EQ_U64(cfg.idle_timeout, 300);
	TL_EQ_U64(cfg.closed_timeout, 30);
	TL_CHECK(cfg.keep_attached && cfg.log_closed, "yes by default");
	TL_EQ_STR(cfg.socket_path, "/run/tcploggerd/tcploggerd.sock");
	TL_EQ_STR(cfg.socket_group, "tcplogger");
	TL_EQ_STR(cfg.pin_path, "/sys/fs/bpf/tcplogger");
}

static void test_every_key(void)
{
	struct config cfg;
	char err[600];

	TL_EQ_INT(load_text("interfaces = eth0  eth1.100 # two\n"
			    "directions = egress ingress\n"
			    "attach_mode=tc\n"
			    "max_connections = 64\n"
			    "idle_timeout = 0\n"
			    "closed_timeout = 5\n"
			    "keep_attached = no\n"
			    "log_closed = off\n"
			    "socket = /run/x/y.sock\n"
			    "socket_group = adm\n"
			    "pin_path = /sys/fs/bpf/t#1\n",
			    &cfg, err, sizeof(err)),
		  0);
	TL_EQ_STR(err, "");
	TL_CHECK(!cfg.ifaces_auto, "named interfaces");
	TL_EQ_INT(cfg.n_ifaces, 2);
	TL_EQ_STR(cfg.ifaces[0], "eth0");
	TL_EQ_STR(cfg.ifaces[1], "eth1.100");
	TL_EQ_INT(cfg.directions, DIR_INGRESS_BIT | DIR_EGRESS_BIT);
	TL_EQ_INT(cfg.attach_mode, ATTACH_TC);
	TL_EQ_U64(cfg.max_connections, 64);
	TL_EQ_U64(cfg.idle_timeout, 0);
	TL_EQ_U64(cfg.closed_timeout, 5);
	TL_CHECK(!cfg.keep_attached && !cfg.log_closed, "no and off");
	TL_EQ_STR(cfg.socket_path, "/run/x/y.sock");
	TL_EQ_STR(cfg.socket_group, "adm");
	/* '#' starts a comment only at the start or after a blank. */
	TL_EQ_STR(cfg.pin_path, "/sys/fs/bpf/t#1");
}

static void test_errors(void)
{
	bad("max_connections = 10\nbogus = 1\n", 2,
	    "unknown key 'bogus' (the keys: interfaces, directions, "
	    "attach_mode, max_connections, idle_timeout, closed_timeout, "
	    "syn_timeout, keep_attached, log_closed, socket, socket_group, pin_path, "
	    "ipfix_collectors, ipfix_active_timeout, ipfix_observation_domain, "
	    "ipfix_biflow, metrics_listen)");
	bad("\n\nmax_connections = abc\n", 3,
	    "max_connections: expected a whole number, got 'abc'");
	bad("max_connections = 0\n", 1,
	    "max_connections: 0 is out of range (1 to 67108864)");
	bad("max_connections = 99999999999999999999999\n", 1,
	    "max_connections: 99999999999999999999999 is out of range (1 to "
	    "67108864)");
	bad("max_connections = -5\n", 1,
	    "max_connections: expected a whole number, got '-5'");
	bad("idle_timeout = 10s\n", 1,
	    "idle_timeout: expected a whole number, got '10s'");
	bad("attach_mode = xdp\n", 1,
	    "attach_mode: expected auto, tcx or tc, got 'xdp'");
	bad("directions = up\n", 1,
	    "directions: expected ingress and/or egress, got 'up'");
	bad("directions = ingress ingress\n", 1,
	    "directions: 'ingress' is listed twice");
	bad("keep_attached = maybe\n", 1,
	    "keep_attached: expected yes or no, got 'maybe'");
	bad("interfaces = auto eth0\n", 1,
	    "interfaces: 'auto' cannot be combined with interface names");
	bad("interfaces = eth0 eth0\n", 1,
	    "interfaces: 'eth0' is listed twice");
	bad("interfaces = averyveryverylongname\n", 1,
	    "interfaces: 'averyveryverylongname' is not a valid interface "
	    "name");
	bad("interfaces = a/b\n", 1,
	    "interfaces: 'a/b' is not a valid interface name");
	bad("socket = relative.sock\n", 1,
	    "socket: 'relative.sock' is not an absolute path");
	bad("pin_path = /sys/fs/bpf/../../etc\n", 1,
	    "pin_path: '/sys/fs/bpf/../../etc' contains '..'");
	bad("log_closed = yes\nlog_closed = no\n", 2,
	    "log_closed already set on line 1");
	bad("just words\n", 1, "expected 'key = value'");
	bad("socket =\n", 1, "socket: empty value");
	bad("socket_group = two words\n", 1,
	    "socket_group: 'two words' is not a group name");
}

static void test_collectors(void)
{
	struct config cfg;
	char err[600];

	TL_EQ_INT(load_text("", &cfg, err, sizeof(err)), 0);
	TL_EQ_INT(cfg.n_collectors, 0);
	TL_EQ_U64(cfg.ipfix_active_timeout, 60);
	TL_EQ_U64(cfg.ipfix_domain, 0);
	TL_CHECK(!cfg.ipfix_biflow, "uniflow by default");
	/* Empty is off, as the shipped file writes it. */
	TL_EQ_INT(load_text("ipfix_collectors =\n", &cfg, err, sizeof(err)), 0);
	TL_EQ_INT(cfg.n_collectors, 0);
	TL_EQ_INT(
		load_text("ipfix_collectors = udp://198.18.0.1:4739 "
			  "tcp://[fd00::1]:4740  tcp://collector.example:9995\n"
			  "ipfix_observation_domain = 4294967295\n"
			  "ipfix_active_timeout = 1\nipfix_biflow = yes\n",
			  &cfg, err, sizeof(err)),
		0);
	TL_EQ_INT(cfg.n_collectors, 3);
	TL_CHECK(!cfg.collectors[0].tcp && cfg.collectors[1].tcp, "schemes");
	TL_EQ_STR(cfg.collectors[0].host, "198.18.0.1");
	TL_EQ_STR(cfg.collectors[0].port, "4739");
	TL_EQ_STR(cfg.collectors[1].host, "fd00::1");
	TL_EQ_STR(cfg.collectors[2].host, "collector.example");
	TL_EQ_U64(cfg.ipfix_domain, 4294967295u);
	TL_EQ_U64(cfg.ipfix_active_timeout, 1);
	TL_CHECK(cfg.ipfix_biflow, "biflow");
	/* metrics_listen: an address of this host, no name. */
	TL_EQ_INT(load_text("metrics_listen =\n", &cfg, err, sizeof(err)), 0);
	TL_CHECK(!cfg.metrics_on, "off when empty");
	TL_EQ_INT(load_text("metrics_listen = [fd00::2]:9477\n", &cfg, err,
			    sizeof(err)),
		  0);
	TL_CHECK(cfg.metrics_on, "on");
	TL_EQ_STR(cfg.metrics_host, "fd00::2");
	TL_EQ_STR(cfg.metrics_port, "9477");
	TL_EQ_INT(load_text("metrics_listen = 0.0.0.0:9477\n", &cfg, err,
			    sizeof(err)),
		  0);
	bad("metrics_listen = localhost:9477\n", 1,
	    "metrics_listen: 'localhost:9477': not an IPv4 or IPv6 address of "
	    "this host");
	bad("metrics_listen = 127.0.0.1\n", 1,
	    "metrics_listen: '127.0.0.1': no :PORT (an IPv6 address is written "
	    "[ADDRESS]:PORT)");
	bad("metrics_listen = 127.0.0.1:0\n", 1,
	    "metrics_listen: '127.0.0.1:0': the port must be 1 to 65535");
	bad("metrics_listen = fd00::2:9477\n", 1,
	    "metrics_listen: 'fd00::2:9477': no :PORT (an IPv6 address is "
	    "written [ADDRESS]:PORT)");
	bad("ipfix_collectors = http://a:1\n", 1,
	    "ipfix_collectors: 'http://a:1': expected udp://HOST:PORT or "
	    "tcp://HOST:PORT");
	bad("ipfix_collectors = udp://198.18.0.1\n", 1,
	    "ipfix_collectors: 'udp://198.18.0.1': no :PORT (an IPv6 address "
	    "is written [ADDRESS]:PORT)");
	bad("ipfix_collectors = udp://fd00::1:4739\n", 1,
	    "ipfix_collectors: 'udp://fd00::1:4739': no :PORT (an IPv6 "
	    "address is written [ADDRESS]:PORT)");
	bad("ipfix_collectors = udp://[fd00::1]4739\n", 1,
	    "ipfix_collectors: 'udp://[fd00::1]4739': an IPv6 address is "
	    "written [ADDRESS]:PORT");
	bad("ipfix_collectors = udp://a:0\n", 1,
	    "ipfix_collectors: 'udp://a:0': the port must be 1 to 65535");
	bad("ipfix_collectors = udp://a:65536\n", 1,
	    "ipfix_collectors: 'udp://a:65536': the port must be 1 to 65535");
	bad("ipfix_collectors = udp://:1\n", 1,
	    "ipfix_collectors: 'udp://:1': bad host");
	bad("ipfix_collectors = udp://a:1 udp://a:1\n", 1,
	    "ipfix_collectors: 'udp://a:1' is listed twice");
	bad("ipfix_collectors = udp://a:1 udp://a:2 udp://a:3 udp://a:4 "
	    "udp://a:5 udp://a:6 udp://a:7 udp://a:8 udp://a:9\n",
	    1, "ipfix_collectors: more than 8 collectors");
	bad("ipfix_active_timeout = 0\n", 1,
	    "ipfix_active_timeout: 0 is out of range (1 to 315360000)");
	bad("ipfix_biflow = both\n", 1,
	    "ipfix_biflow: expected yes or no, got 'both'");
}

static void test_embedded_nul(void)
{
	struct config cfg;
	char err[600], want[700];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/tcplog-conf-XXXXXX");
	f = fdopen(mkstemp(path), "w");
	fwrite("log_closed = no\nsocket = /a\0b\n", 1, 30, f);
	fclose(f);
	TL_EQ_INT(config_load(path, &cfg, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	TL_EQ_STR(err, want);
	unlink(path);
}

static void test_long_line(void)
{
	char *text = malloc(10000);
	struct config cfg;
	char err[600], want[700];

	memset(text, 'a', 9998);
	text[9998] = '\n';
	text[9999] = '\0';
	TL_EQ_INT(load_text(text, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: line longer than 4096 bytes", path);
	TL_EQ_STR(err, want);
	free(text);
}

static void test_system_checks(void)
{
	struct config cfg;
	char err[600];

	config_defaults(&cfg);
	TL_EQ_INT(config_set(&cfg, "interfaces", "lo", true, err, sizeof(err)),
		  0);
	TL_EQ_INT(config_set(&cfg, "interfaces", "tl-no-such0", true, err,
			     sizeof(err)),
		  -EINVAL);
	TL_EQ_STR(err, "interfaces: no interface named 'tl-no-such0'");
	TL_EQ_INT(config_set(&cfg, "socket_group", "tl-no-such-group", true,
			     err, sizeof(err)),
		  -EINVAL);
	TL_EQ_STR(err, "socket_group: no group 'tl-no-such-group'");
	TL_EQ_INT(config_load("/nonexistent/tcploggerd.conf", &cfg, true, err,
			      sizeof(err)),
		  -ENOENT);
	TL_EQ_STR(err, "/nonexistent/tcploggerd.conf: cannot open: No such "
		       "file or directory");
}

static void test_shipped_file(void)
{
	struct config cfg;
	char err[600];

	/* conf/tcploggerd.conf sets every key to its default. */
	err[0] = '\0';
	TL_EQ_INT(config_load(TCPLOG_SOURCE_DIR "/conf/tcploggerd.conf", &cfg,
			      false, err, sizeof(err)),
		  0);
	TL_EQ_STR(err, "");
	TL_CHECK(cfg.ifaces_auto && cfg.keep_attached, "defaults");
	TL_EQ_U64(cfg.max_connections, 262144);
}

/* Paths shorter than "/.." (a read before the value once). */
static void test_short_paths(void)
{
	struct config cfg;
	char err[600];

	TL_EQ_INT(load_text("socket = /s\npin_path = /\n", &cfg, err,
			    sizeof(err)),
		  0);
	TL_EQ_STR(cfg.socket_path, "/s");
	TL_EQ_STR(cfg.pin_path, "/");
	bad("pin_path = /..\n", 1, "pin_path: '/..' contains '..'");
	bad("socket = /a/..\n", 1, "socket: '/a/..' contains '..'");
}

/* The whole of @file, NUL-terminated (freed by the caller). */
static char *slurp(const char *file)
{
	FILE *f = fopen(file, "re");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	TL_CHECK(f && buf, "reading %s", file);
	if (f && buf)
		n = fread(buf, 1, (1 << 20) - 1, f);
	if (f)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/*
 * The key table is the one list: the shipped file and the man page each
 * document every key with its default, and the man page no other key.
 */
static void test_documented(void)
{
	char *conf = slurp(TCPLOG_SOURCE_DIR "/conf/tcploggerd.conf");
	char *man = slurp(TCPLOG_SOURCE_DIR "/man/tcploggerd.conf.5");
	const struct config_key *k;
	char want[512], *p;
	size_t i, n = 0;

	if (!conf || !man)
		goto out;
	for (i = 0; (k = config_key_at(i)); i++) {
		/* An empty default ("off") is written "key =". */
		snprintf(want, sizeof(want), "\n%s =%s%s\n", k->name,
			 *k->def ? " " : "", k->def);
		TL_CHECK(strstr(conf, want),
			 "conf/tcploggerd.conf: no '%s = %s'", k->name, k->def);
		if (*k->def)
			snprintf(want, sizeof(want),
				 "\n.BR %s \" (default \" %s )\n", k->name,
				 k->def);
		else
			snprintf(want, sizeof(want),
				 "\n.BR %s \" (default empty", k->name);
		TL_CHECK(strstr(man, want),
			 "man/tcploggerd.conf.5: no entry for %s (default %s)",
			 k->name, k->def);
	}
	/* Every entry of the man page's list is a key of the table. */
	for (p = man; (p = strstr(p, "\n.BR ")); p++) {
		char name[64] = "";
		struct config cfg;
		char err[600];

		if (!strstr(p, " (default ") ||
		    strstr(p, " (default ") > strchr(p + 1, '\n'))
			continue;
		sscanf(p + 5, "%63s", name);
		n++;
		config_defaults(&cfg);
		TL_CHECK(config_set(&cfg, name, "x", false, err, sizeof(err)) ==
					 0 ||
				 !strstr(err, "unknown key"),
			 "man/tcploggerd.conf.5 documents '%s', no key", name);
	}
	TL_EQ_U64(n, i);
out:
	free(conf);
	free(man);
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "defaults", test_defaults },
		{ "every key", test_every_key },
		{ "errors carry FILE:LINE", test_errors },
		{ "IPFIX collectors", test_collectors },
		{ "embedded NUL", test_embedded_nul },
		{ "line too long", test_long_line },
		{ "interfaces and groups must exist", test_system_checks },
		{ "the shipped file parses to the defaults",
		  test_shipped_file },
		{ "short paths", test_short_paths },
		{ "the file and the man page document every key",
		  test_documented },
	};

	return TL_RUN(cases);
}
