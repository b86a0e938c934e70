// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer target for the configuration parser: any bytes
 * in tcploggerd.conf. A crash, a leak or a sanitizer report is a failure;
 * so is an error without a "FILE:LINE" message, and a configuration taken
 * whose values are outside what the parser promises.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a successful parse guarantees, whatever the input. */
static int sane(const struct config *c)
{
	int i;

	if (c->max_connections < 1 || c->max_connections > (1u << 26))
		return 0;
	if (!c->directions || c->directions & ~3u)
		return 0;
	if (c->n_ifaces < 0 || c->n_ifaces > TCPLOG_MAX_IFACES ||
	    (c->ifaces_auto && c->n_ifaces))
		return 0;
	for (i = 0; i < c->n_ifaces; i++)
		if (!c->ifaces[i][0] || strchr(c->ifaces[i], '/') ||
		    strchr(c->ifaces[i], ' '))
			return 0;
	if (c->socket_path[0] != '/' || c->pin_path[0] != '/' ||
	    strstr(c->pin_path, "/../") || strstr(c->socket_path, "/../"))
		return 0;
	return memchr(c->socket_group, '\0', sizeof(c->socket_group)) &&
	       memchr(c->socket_path, '\0', sizeof(c->socket_path)) &&
	       memchr(c->pin_path, '\0', sizeof(c->pin_path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[600] = "";
	FILE *f;
	int ret;

	if (size == 0 || size > 65536)
		return 0; /* (an empty file is unit.config's) */
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	ret = config_read(f, "fuzz.conf", &cfg, false, err, sizeof(err));
	fclose(f);
	if (ret && (ret != -EINVAL || strncmp(err, "fuzz.conf:", 10)))
		__builtin_trap(); /* every refusal says where */
	if (!ret && !sane(&cfg))
		__builtin_trap();
	return 0;
}
