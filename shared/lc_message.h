/* SPDX-License-Identifier: MIT */
/* lc_message: a stored chat message (lc_store messages, docs/store.md) as a typed struct read
 * once, and the sender names (messages.sender) in one place for the store, fcgi and wsd. */
#ifndef LC_MESSAGE_H
#define LC_MESSAGE_H

#include <stdint.h>
#include <json-c/json.h>

typedef enum lc_sender {
	LC_SENDER_UNKNOWN = 0,   /* absent or not one of the names below */
	LC_SENDER_CUSTOMER,
	LC_SENDER_AGENT,
	LC_SENDER_SYSTEM
} lc_sender_t;

/* Every name, in enum order from LC_SENDER_CUSTOMER, NULL-terminated (a lc_validate enum). */
extern const char *const lc_sender_names[];
/* The stored name ("customer", "agent", "system"); NULL for LC_SENDER_UNKNOWN. */
const char *lc_sender_name(lc_sender_t s);
/* The sender a stored name means; LC_SENDER_UNKNOWN for NULL or any other string. */
lc_sender_t lc_sender_parse(const char *name);

/* A stored message as a reader sees it: {id, room_id, channel, customer_id, seq, sender,
 * author, text, ts}. The strings are borrowed from the json object the view was made from:
 * valid while it lives, and the view owns nothing (no free). */
typedef struct lc_message {
	const char *id;            /* the message id in its room; "" when absent */
	const char *room_id, *channel, *customer_id;   /* "" when absent */
	int64_t seq;               /* its place in the room; 0 when absent (stored seqs start at 1) */
	lc_sender_t sender;
	const char *author;        /* the name shown; NULL when absent or null */
	const char *text;          /* "" when absent */
	int64_t ts_ms;             /* when it was stored (ms since the epoch); 0 when absent */
} lc_message_t;

/* Fill *m from stored (a message as lc_store returns it). A NULL stored gives every string ""
 * (author NULL), seq and ts_ms 0, sender LC_SENDER_UNKNOWN. Never fails: a field of the wrong
 * type reads as absent. */
void lc_message_view(lc_message_t *m, json_object *stored);

#endif
