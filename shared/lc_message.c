/* SPDX-License-Identifier: MIT */
/* lc_message: sender names <-> lc_sender_t from one table, and the typed view of a stored
 * message. */
#include "config.h"
#include "lc_message.h"
#include "lc_json.h"

#include <string.h>

/* In enum order from LC_SENDER_CUSTOMER (sender s is entry s - 1). */
const char *const lc_sender_names[] = { "customer", "agent", "system", NULL };

#define N_NAMES (sizeof lc_sender_names / sizeof lc_sender_names[0] - 1)

const char *lc_sender_name(lc_sender_t s)
{
	if (s < LC_SENDER_CUSTOMER || (unsigned)s > N_NAMES)
		return NULL;
	return lc_sender_names[s - 1];
}

lc_sender_t lc_sender_parse(const char *name)
{
	for (unsigned i = 0; name != NULL && i < N_NAMES; i++)
		if (strcmp(lc_sender_names[i], name) == 0)
			return (lc_sender_t)(i + 1);
	return LC_SENDER_UNKNOWN;
}

void lc_message_view(lc_message_t *m, json_object *stored)
{
	m->id = lc_json_get_str(stored, "id", "");
	m->room_id = lc_json_get_str(stored, "room_id", "");
	m->channel = lc_json_get_str(stored, "channel", "");
	m->customer_id = lc_json_get_str(stored, "customer_id", "");
	m->seq = lc_json_get_int(stored, "seq", 0);
	m->sender = lc_sender_parse(lc_json_get_str(stored, "sender", NULL));
	m->author = lc_json_get_str(stored, "author", NULL);
	m->text = lc_json_get_str(stored, "text", "");
	m->ts_ms = lc_json_get_int(stored, "ts", 0);
}
