/* SPDX-License-Identifier: MIT */
/* wsd_gateway: the livechat side of the gateway contract (docs/gateway.md): inbound messages
 * (request_agent, customer_message, customer_left, customer_typing) are validated, stored on a
 * worker, forwarded, and only then acked; outbound messages are built here. */
#ifndef WSD_GATEWAY_H
#define WSD_GATEWAY_H

#include "wsd.h"
#include "lc_bus.h"
#include "lc_room_status.h"
#include "writer.h"

/* The rules an inbound gateway message must pass before it is stored (else it is rejected,
 * unacked and not requeued), for tests/fuzz. */
extern const struct lc_vrule *const wsd_gateway_inbound_rules;
/* Consumer thread: take over one inbound delivery (to the room writer, writer.h). */
void wsd_gateway_inbound(wsd_t *w, lc_bus_delivery_t *d);
/* Writer thread (the writer's steps for a gateway message, in: its inbound_t): prepare it
 * (rooms opened or closed, messages staged in the writer's batch; false: MongoDB cannot now,
 * try again later); once the batch is stored, finish it (forwarded and acked by the loop); or
 * drop it unacked (stopping: the broker redelivers it). */
bool wsd_gateway_prepare(wsd_t *w, void *in);
void wsd_gateway_stored(wsd_t *w, void *in);
void wsd_gateway_drop(wsd_t *w, void *in);
/* Its customer's key (wsd_workers_customer_key). */
char *wsd_gateway_customer_key(void *in);
/* The room the writer had a worker open for it (taken). */
void wsd_gateway_opened(void *in, json_object *room, bool created);
/* Writer thread, after a batch: taken(slot, ctx) for each staged message of in; true when any
 * was (then in is prepared again). */
bool wsd_gateway_seq_taken(wsd_t *w, void *in, bool (*taken)(void *ctx, wsd_wslot_t *slot),
			   void *ctx);
/* A new outbound message {type, id, channel, customer_id, ts, room_id} for room (a room
 * object with id, channel, customer_id). */
json_object *wsd_gateway_out_new(const char *type, const char *id, json_object *room);
/* An outbound message carrying a stored message msg (id, seq, text) of room; agent_id and
 * agent_name (both NULL: none) fill "agent". */
json_object *wsd_gateway_out_msg(const char *type, json_object *msg, json_object *room,
				 const char *agent_id, const char *agent_name);

#endif
