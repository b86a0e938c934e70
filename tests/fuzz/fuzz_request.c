// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_request.c - libFuzzer target for the API request parser: any bytes
 * a client can send. A crash, a leak or a sanitizer report is a failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[API_ERR_MSG_SIZE];
	struct api_request req;
	const char *code = NULL;

	if (size > API_MAX_REQUEST)
		return 0; /* the server refuses longer lines before parsing */
	if (api_parse_request((const char *)data, size, &req, &code, msg) &&
	    (!code || !msg[0] || strlen(msg) >= sizeof(msg)))
		__builtin_trap(); /* every refusal has a code and a message */
	return 0;
}
