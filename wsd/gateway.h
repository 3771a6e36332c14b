/* wsd_gateway: the livechat side of the gateway contract (docs/gateway.md): inbound messages
 * (request_agent, customer_message, customer_left, customer_typing) are validated, stored on a
 * worker, forwarded, and only then acked; outbound messages are built here. */
#ifndef WSD_GATEWAY_H
#define WSD_GATEWAY_H

#include "wsd.h"
#include "lc_bus.h"

/* Consumer thread: take over one inbound delivery. */
void wsd_gateway_inbound(wsd_t *w, lc_bus_delivery_t *d);
/* A new outbound message {type, id, channel, customer_id, ts, room_id} for room (a room
 * object with id, channel, customer_id). */
json_object *wsd_gateway_out_new(const char *type, const char *id, json_object *room);
/* The worker key of a customer: all jobs of one customer's rooms run in order on one worker. */
char *wsd_gateway_key(const char *channel, const char *customer_id);
/* Any thread: submit a job on the worker of the customer (channel, customer_id). */
void wsd_gateway_submit(wsd_t *w, const char *channel, const char *customer_id, wsd_fn run,
			wsd_fn done, void *arg);

/* Worker: store the system message "<room_id>-<suffix>" of room_id, its text the setting key
 * rendered with agent and customer (a re-send finds the stored one). *msg: the stored message;
 * *text (may be NULL): the rendered text (caller frees). */
lc_rc wsd_gateway_system_message(wsd_t *w, const char *room_id, const char *suffix,
				 const char *key, const char *agent, const char *customer,
				 json_object **msg, lc_err_t *err);
/* Worker: the messages of room_id with seq > after, oldest first (at most 5000). */
lc_rc wsd_gateway_messages_after(wsd_t *w, const char *room_id, int64_t after,
				 json_object **items, lc_err_t *err);
/* Worker: the first customer message of a room (agents see it with a waiting request), or NULL
 * (none yet, or the store failed). */
json_object *wsd_gateway_first_message(wsd_t *w, const char *room_id);
/* An outbound message carrying a stored message msg (id, seq, text) of room; agent_id and
 * agent_name (both NULL: none) fill "agent". */
json_object *wsd_gateway_out_msg(const char *type, json_object *msg, json_object *room,
				 const char *agent_id, const char *agent_name);

#endif
