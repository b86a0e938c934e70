// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_proto.c - unit tests of the API request parser (lib/request.c) and
 * the JSON writer (lib/jsonw.c): nothing a client sends may crash, hang or
 * be accepted when it is not a valid request.
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "jsonw.h"
#include "proto.h"
#include "testlib.h"

static int parse(const char *line, struct api_request *req, const char **code,
		 char *msg)
{
	return api_parse_request(line, strlen(line), req, code, msg);
}

static void ok(const char *line, struct api_request *req)
{
	char msg[API_ERR_MSG_SIZE] = "";
	const char *code = NULL;

	TL_CHECK(parse(line, req, &code, msg) == 0, "%s refused: %s", line,
		 msg);
}

static void refused(const char *line, size_t len, const char *want_code,
		    const char *want_msg_part)
{
	char msg[API_ERR_MSG_SIZE] = "";
	struct api_request req;
	const char *code = NULL;

	TL_CHECK(api_parse_request(line, len, &req, &code, msg) == -1,
		 "accepted: %.80s", line);
	TL_CHECK(code && !strcmp(code, want_code), "%.80s: code %s, want %s",
		 line, code ? code : "(none)", want_code);
	TL_CHECK(strstr(msg, want_msg_part), "%.80s: message '%s' lacks '%s'",
		 line, msg, want_msg_part);
}

#define REFUSED(line, code, part) refused(line, strlen(line), code, part)

static void test_valid(void)
{
	struct api_request r;

	ok("{\"cmd\":\"version\"}", &r);
	TL_EQ_INT(r.cmd, API_CMD_VERSION);
	ok("{\"cmd\":\"metrics\"}", &r);
	TL_EQ_INT(r.cmd, API_CMD_METRICS);
	REFUSED("{\"cmd\":\"metrics\",\"limit\":3}", API_ERR_BAD_REQUEST,
		"apply to dump only");
	ok("  {\"cmd\" : \"health\"}  \r", &r);
	TL_EQ_INT(r.cmd, API_CMD_HEALTH);
	ok("{\"cmd\":\"dump\",\"sort\":\"last_seen\",\"limit\":25,"
	   "\"filter\":{\"iface\":\"eth0\",\"host\":\"fd00::1\","
	   "\"port\":443,\"state\":\"closed\"}}",
	   &r);
	TL_EQ_INT(r.cmd, API_CMD_DUMP);
	TL_EQ_INT(r.sort, API_SORT_LAST_SEEN);
	TL_EQ_U64(r.limit, 25);
	TL_EQ_STR(r.iface, "eth0");
	TL_EQ_INT(r.host_family, 6);
	TL_EQ_INT(r.host[0], 0xfd);
	TL_EQ_INT(r.host[15], 1);
	TL_EQ_INT(r.port, 443);
	TL_EQ_INT(r.state, API_STATE_CLOSED);
	ok("{\"cmd\":\"dump\",\"filter\":{\"host\":\"198.18.0.1\"}}", &r);
	TL_EQ_INT(r.host_family, 4);
	TL_EQ_INT(r.host[0], 198);
	TL_EQ_INT(r.host[4], 0); /* the key's IPv4 form: bytes 4-15 zero */
	TL_EQ_INT(r.port, -1);
	TL_EQ_INT(r.vlan, -1);
	ok("{\"cmd\":\"dump\",\"filter\":{\"vlan\":4095}}", &r);
	TL_EQ_INT(r.vlan, 4095);
	ok("{\"cmd\":\"dump\",\"limit\":0,\"filter\":{}}", &r);
	TL_EQ_U64(r.limit, 0);
	TL_EQ_INT(r.view, API_VIEW_FLOWS);
	TL_EQ_STR(r.unit, "");
	ok("{\"cmd\":\"dump\",\"view\":\"connections\","
	   "\"filter\":{\"unit\":\"user@1000.service\"}}",
	   &r);
	TL_EQ_INT(r.view, API_VIEW_CONNECTIONS);
	TL_EQ_STR(r.unit, "user@1000.service");
	ok("{\"cmd\":\"dump\",\"view\":\"flows\"}", &r);
	TL_EQ_INT(r.view, API_VIEW_FLOWS);
}

static void test_malformed(void)
{
	REFUSED("", API_ERR_BAD_REQUEST, "not valid JSON");
	REFUSED("{", API_ERR_BAD_REQUEST, "not valid JSON");
	REFUSED("{\"cmd\":\"dump\"", API_ERR_BAD_REQUEST, "not valid JSON");
	REFUSED("not json", API_ERR_BAD_REQUEST, "not valid JSON");
	REFUSED("[\"dump\"]", API_ERR_BAD_REQUEST, "must be a JSON object");
	REFUSED("\"dump\"", API_ERR_BAD_REQUEST, "must be a JSON object");
	REFUSED("{}", API_ERR_BAD_REQUEST, "no \"cmd\"");
	REFUSED("{\"cmd\":\"stats\"}{\"cmd\":\"reset\"}", API_ERR_BAD_REQUEST,
		"unexpected text");
	REFUSED("{\"cmd\":\"stats\"} x", API_ERR_BAD_REQUEST,
		"unexpected text");
}

static void test_types(void)
{
	REFUSED("{\"cmd\":5}", API_ERR_BAD_REQUEST, "\"cmd\" must be a string");
	REFUSED("{\"cmd\":null}", API_ERR_BAD_REQUEST, "must be a string");
	REFUSED("{\"cmd\":\"dump\",\"sort\":1}", API_ERR_BAD_REQUEST,
		"\"sort\" must be one of");
	REFUSED("{\"cmd\":\"dump\",\"sort\":\"size\"}", API_ERR_BAD_REQUEST,
		"\"sort\" must be one of");
	REFUSED("{\"cmd\":\"dump\",\"limit\":\"10\"}", API_ERR_BAD_REQUEST,
		"\"limit\" must be a whole number");
	REFUSED("{\"cmd\":\"dump\",\"limit\":-1}", API_ERR_BAD_REQUEST,
		"whole number");
	REFUSED("{\"cmd\":\"dump\",\"limit\":1.5}", API_ERR_BAD_REQUEST,
		"whole number");
	REFUSED("{\"cmd\":\"dump\",\"filter\":[]}", API_ERR_BAD_REQUEST,
		"\"filter\" must be an object");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"port\":70000}}",
		API_ERR_BAD_REQUEST, "filter.port");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"port\":\"80\"}}",
		API_ERR_BAD_REQUEST, "filter.port");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"host\":\"1.2.3\"}}",
		API_ERR_BAD_REQUEST, "filter.host");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"host\":7}}",
		API_ERR_BAD_REQUEST, "filter.host must be a string");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"state\":\"half\"}}",
		API_ERR_BAD_REQUEST, "filter.state");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"iface\":"
		"\"averyveryverylongname\"}}",
		API_ERR_BAD_REQUEST, "filter.iface");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"vlan\":4096}}",
		API_ERR_BAD_REQUEST, "filter.vlan");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"vlan\":\"100\"}}",
		API_ERR_BAD_REQUEST, "filter.vlan");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"vid\":1}}",
		API_ERR_BAD_REQUEST, "unknown filter field \"vid\"");
	REFUSED("{\"cmd\":\"dump\",\"extra\":true}", API_ERR_BAD_REQUEST,
		"unknown field \"extra\"");
	REFUSED("{\"cmd\":\"stats\",\"limit\":3}", API_ERR_BAD_REQUEST,
		"apply to dump only");
	REFUSED("{\"cmd\":\"stats\",\"view\":\"connections\"}",
		API_ERR_BAD_REQUEST, "apply to dump only");
	REFUSED("{\"cmd\":\"dump\",\"view\":\"conns\"}", API_ERR_BAD_REQUEST,
		"\"view\" must be");
	REFUSED("{\"cmd\":\"dump\",\"view\":1}", API_ERR_BAD_REQUEST,
		"\"view\" must be");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"unit\":\"\"}}",
		API_ERR_BAD_REQUEST, "filter.unit");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"unit\":\"a/b\"}}",
		API_ERR_BAD_REQUEST, "filter.unit");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"unit\":5}}",
		API_ERR_BAD_REQUEST, "filter.unit");
}

static void test_unknown_commands(void)
{
	char line[512];

	REFUSED("{\"cmd\":\"shutdown\"}", API_ERR_UNKNOWN_COMMAND,
		"unknown command \"shutdown\"");
	REFUSED("{\"cmd\":\"\"}", API_ERR_UNKNOWN_COMMAND, "unknown command");
	/* A long name is quoted only in part: the message stays bounded. */
	memset(line, 0, sizeof(line));
	strcpy(line, "{\"cmd\":\"");
	memset(line + 8, 'x', 300);
	strcat(line, "\"}");
	REFUSED(line, API_ERR_UNKNOWN_COMMAND, "unknown command");
}

static void test_huge_numbers(void)
{
	REFUSED("{\"cmd\":\"dump\",\"limit\":1e400}", API_ERR_BAD_REQUEST,
		"whole number");
	REFUSED("{\"cmd\":\"dump\",\"limit\":18446744073709551616}",
		API_ERR_BAD_REQUEST, "whole number");
	REFUSED("{\"cmd\":\"dump\",\"filter\":{\"port\":-0.0001}}",
		API_ERR_BAD_REQUEST, "filter.port");
	REFUSED("{\"cmd\":\"dump\",\"limit\":NaN}", API_ERR_BAD_REQUEST,
		"not valid JSON");
}

static void test_deep_nesting(void)
{
	size_t depth = 100000, i;
	char *line = malloc(2 * depth + 32);
	size_t len = 0;

	len += (size_t)sprintf(line, "{\"cmd\":\"dump\",\"filter\":");
	for (i = 0; i < depth; i++)
		line[len++] = '[';
	for (i = 0; i < depth; i++)
		line[len++] = ']';
	line[len++] = '}';
	refused(line, len, API_ERR_BAD_REQUEST, "not valid JSON");
	free(line);
}

static void test_nul_bytes(void)
{
	static const char line[] = "{\"cmd\":\"stats\"}\0{\"cmd\":\"reset\"}";

	refused(line, sizeof(line) - 1, API_ERR_BAD_REQUEST, "NUL byte");
	refused("{\"cmd\":\"st\0ats\"}", 17, API_ERR_BAD_REQUEST, "NUL byte");
}

/* The writer's output parses back to the same values, exactly. */
static void test_writer(void)
{
	struct jw w;
	cJSON *root, *arr;

	jw_init(&w);
	jw_object_begin(&w);
	jw_kv_bool(&w, "ok", true);
	jw_kv_u64(&w, "max", UINT64_MAX);
	jw_kv_u64(&w, "zero", 0);
	jw_kv_string(&w, "esc", "a\"b\\c\nd\te\x01\x1f/");
	jw_key(&w, "list");
	jw_array_begin(&w);
	jw_u64(&w, 1);
	jw_object_begin(&w);
	jw_object_end(&w);
	jw_array_begin(&w);
	jw_array_end(&w);
	jw_string(&w, "");
	jw_array_end(&w);
	jw_object_end(&w);
	jw_newline(&w);
	TL_CHECK(!w.failed, "writer failed");
	TL_CHECK(w.len && w.buf[w.len - 1] == '\n', "ends with a newline");
	TL_CHECK(memchr(w.buf, '\n', w.len) == w.buf + w.len - 1,
		 "one line only");
	/* Exact: the digits of 2^64-1, not a float. */
	TL_CHECK(strstr(w.buf, "\"max\":18446744073709551615,") != NULL, "%.*s",
		 (int)w.len, w.buf);
	TL_CHECK(strstr(w.buf,
			"\"esc\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f/\"") !=
			 NULL,
		 "%.*s", (int)w.len, w.buf);
	root = cJSON_ParseWithLength(w.buf, w.len);
	TL_CHECK(root != NULL, "the output is valid JSON: %.*s", (int)w.len,
		 w.buf);
	arr = cJSON_GetObjectItem(root, "list");
	TL_EQ_INT(cJSON_GetArraySize(arr), 4);
	TL_EQ_STR(cJSON_GetObjectItem(root, "esc")->valuestring,
		  "a\"b\\c\nd\te\x01\x1f/");
	cJSON_Delete(root);

	jw_consume(&w, strlen("{\"ok\":true"));
	TL_CHECK(!strncmp(w.buf, ",\"max\":", 7),
		 "consume moves the rest to the front: %.10s", w.buf);
	jw_free(&w);
}

int main(void)
{
	static const struct tl_case cases[] = {
		{ "valid requests", test_valid },
		{ "malformed JSON", test_malformed },
		{ "wrong types and unknown fields", test_types },
		{ "unknown commands", test_unknown_commands },
		{ "huge numbers", test_huge_numbers },
		{ "deep nesting", test_deep_nesting },
		{ "embedded NUL bytes", test_nul_bytes },
		{ "response encoding", test_writer },
	};

	return TL_RUN(cases);
}
