/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * config.h - tcploggerd.conf: the keys of the contract, their defaults and
 * validation. Errors are reported as "FILE:LINE: message".
 */
#ifndef TCPLOG_CONFIG_H_
#define TCPLOG_CONFIG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>

#define TCPLOG_DEFAULT_CONFIG "/etc/tcplogger/tcploggerd.conf"
#define TCPLOG_DEFAULT_SOCKET "/run/tcploggerd/tcploggerd.sock"
#define TCPLOG_DEFAULT_PIN_PATH "/sys/fs/bpf/tcplogger"
#define TCPLOG_DEFAULT_GROUP "tcplogger"
#define TCPLOG_MAX_IFACES 64
#define TCPLOG_MAX_COLLECTORS 8

enum attach_mode {
	ATTACH_AUTO = 0, /* TCX where the kernel has it, else tc */
	ATTACH_TCX,
	ATTACH_TC,
};

/* An IPFIX collector as ipfix_collectors names it: resolved at start. */
struct config_collector {
	bool tcp; /* tcp://, else udp:// */
	char host[256]; /* a name or an address (no brackets) */
	char port[6];
};

/* Bits of config.directions. */
#define DIR_INGRESS_BIT 1u
#define DIR_EGRESS_BIT 2u

struct config {
	bool ifaces_auto;
	int n_ifaces;
	char ifaces[TCPLOG_MAX_IFACES][IF_NAMESIZE];
	unsigned int directions;
	enum attach_mode attach_mode;
	uint32_t max_connections;
	uint32_t idle_timeout; /* seconds, 0 = never */
	uint32_t closed_timeout; /* seconds */
	uint32_t syn_timeout; /* seconds, for embryonic entries */
	bool keep_attached;
	bool log_closed;
	char socket_path[108]; /* sizeof(sun_path) */
	char socket_group[64];
	char pin_path[256];
	int n_collectors; /* 0: no IPFIX export */
	struct config_collector collectors[TCPLOG_MAX_COLLECTORS];
	uint32_t ipfix_active_timeout; /* seconds */
	uint32_t ipfix_domain; /* observation domain ID */
	bool ipfix_biflow;
	bool metrics_on; /* metrics_listen set: the HTTP endpoint */
	char metrics_host[64]; /* a numeric address, no brackets */
	char metrics_port[6];
};

/* A key of tcploggerd.conf, with its default as the file writes it. */
struct config_key {
	const char *name;
	const char *def;
};

/* The @i-th key (from 0), or NULL past the last. */
const struct config_key *config_key_at(size_t i);

/* Every key at its default. */
void config_defaults(struct config *cfg);

/*
 * Parses @path into @cfg (which starts from the defaults). On an error,
 * writes "PATH:LINE: message" into @err and returns -EINVAL (or the errno
 * of opening the file). With @check_system, also checks what the system
 * must provide: named interfaces and the socket group exist.
 */
int config_load(const char *path, struct config *cfg, bool check_system,
		char *err, size_t err_size);

/* The same from an open stream; @path names it in messages. */
int config_read(FILE *f, const char *path, struct config *cfg,
		bool check_system, char *err, size_t err_size);

/* Parses one "key = value" pair; the message is without a location. */
int config_set(struct config *cfg, const char *key, const char *value,
	       bool check_system, char *err, size_t err_size);

/* The ARPHRD_ type of interface @name in this network namespace, or a
 * negative errno; and whether the program can parse its frames. */
int config_link_type(const char *name);
bool config_link_supported(int type);

#endif /* TCPLOG_CONFIG_H_ */
