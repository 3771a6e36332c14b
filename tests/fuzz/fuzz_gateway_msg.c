/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the body of one inbound gateway message (docs/gateway.md) as the consumer
 * takes it in wsd_gateway_inbound (wsd/gateway.c) before anything is stored: JSON parsing, the
 * room-command type that goes to the writer instead, validation against the real inbound rules
 * (wsd_gateway_inbound_rules: type, id, channel, customer_id, ts, customer_name, text, state)
 * and the rejection log line, then what the writer reads of an accepted message (the text a
 * customer_message needs, the ts, the writer key of its customer).
 * Invariants (abort when broken): a body is either rejected, a room command, or an accepted
 * message whose type is one of the four inbound types and whose strings obey the documented
 * bounds; a rejection has a reason to log. */
#include "config.h"
#include "gateway.h"
#include "worker.h"
#include "roomcmd.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const inbound_types[] = {
	"request_agent", "customer_message", "customer_left", "customer_typing", NULL
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_init("fuzz_gateway_msg", "stderr", LC_LOG_ERROR);
	return 0;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* A string field of an accepted message: present (when required) and within [min, max] bytes;
 * the rules count characters, so max bytes is 4 * max characters. */
static void check_str(json_object *m, const char *key, bool required, size_t min, size_t max)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(m, key, &v)) {
		if (required)
			abort();
		return;
	}
	if (!json_object_is_type(v, json_type_string))
		abort();
	size_t n = (size_t)json_object_get_string_len(v);
	if (n < min || n > 4 * max || strlen(json_object_get_string(v)) != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lc_err_t err;
	lc_err_clear(&err);
	json_object *msg = lc_json_parse((const char *)data, size, &err);
	if (msg != NULL && strcmp(lc_json_get_str(msg, "type", ""), WSD_ROOMCMD_TYPE) == 0) {
		json_object_put(msg);   /* the writer's: checked there against its secret */
		return 0;
	}
	json_object *fails = NULL;
	if (msg == NULL || !lc_validate(msg, wsd_gateway_inbound_rules, false, &fails)) {
		/* The log line of a rejection: the parser's reason or the failed fields. */
		const char *why = msg ? (fails ? json_object_to_json_string(fails) : NULL) : err.reason;
		if (why == NULL || *why == '\0')
			abort();
		json_object_put(fails);
		json_object_put(msg);
		return 0;
	}
	json_object_put(fails);

	const char *type = lc_json_get_str(msg, "type", NULL);
	if (!one_of(type, inbound_types))
		abort();
	check_str(msg, "id", true, 1, 128);
	check_str(msg, "channel", true, 1, 32);
	check_str(msg, "customer_id", true, 1, 128);
	check_str(msg, "customer_name", false, 0, 100);
	check_str(msg, "text", false, 1, 4000);
	json_object *ts = NULL;
	if (!json_object_object_get_ex(msg, "ts", &ts) || !json_object_is_type(ts, json_type_int))
		abort();
	/* What the writer reads next (gateway.c inbound_attempt). */
	(void)lc_json_get_int(msg, "ts", 0);
	(void)lc_json_get_str(msg, "text", NULL);
	char *key = wsd_workers_customer_key(lc_json_get_str(msg, "channel", ""),
					      lc_json_get_str(msg, "customer_id", ""));
	if (key == NULL || strchr(key, '\n') == NULL)
		abort();
	free(key);
	json_object_put(msg);
	return 0;
}
