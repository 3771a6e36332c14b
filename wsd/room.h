/* SPDX-License-Identifier: MIT */
/* wsd_room: what this node knows about rooms, on the loop thread: the waiting requests (offered
 * to local agents), which local connections follow which rooms, grace timers of dropped agents,
 * the presence of agents on other nodes, request timeouts, and the node-to-node events
 * (docs/topology.md) that keep all of it in step across nodes. */
#ifndef WSD_ROOM_H
#define WSD_ROOM_H

#include "wsd.h"
#include "conn.h"
#include "busio.h"
#include "events.h"

/* endpoints (ended by NULL): those the consumed outbound messages go to (on_outbound), given
 * by the program (main.c: wsd_endpoints), so the rooms name no endpoint. */
void wsd_rooms_init(wsd_t *w, const wsd_endpoint_t *const *endpoints);
void wsd_rooms_free(wsd_t *w);

/* Posted by busio once the topology is declared: read waiting rooms, announce presence. */
void wsd_room_bus_ready(wsd_t *w, void *arg);
/* Posted by busio for each delivery on this node's queue (arg: lc_bus_delivery_t *, freed). */
void wsd_room_event(wsd_t *w, void *arg);
/* Once a second on the loop: timeouts, grace, presence, resync, session checks. */
void wsd_room_tick(wsd_t *w);

/* An agent connection passed authentication (c->hello prepared): register it, bind its room
 * key if it is the user's first connection here, and send hello once the binding is up. */
void wsd_room_agent_online(wsd_t *w, wsd_conn_t *c);
/* An agent connection is going away: grace timers for its rooms, unbind when it was the last. */
void wsd_room_agent_offline(wsd_t *w, wsd_conn_t *c);
/* Start following a room read-only (chats.monitor); c's endpoint's on_watch_bound runs once
 * the room's key is bound to this node's queue (at once when it already is). */
void wsd_room_watch(wsd_t *w, wsd_conn_t *c, const char *room_id, json_object *ref);
void wsd_room_unwatch(wsd_t *w, wsd_conn_t *c, const char *room_id);
/* Loop, for the metrics (follow.c): the keys this node follows: agents' user ids, rooms watched
 * read-only, widget customers. */
void wsd_follow_counts(wsd_t *w, size_t *users, size_t *rooms, size_t *customers);
/* A widget connection said hello: register it under its customer id; c's endpoint's
 * on_customer_bound runs once widget.<customer_id> is bound to this node's queue. */
void wsd_room_widget_online(wsd_t *w, wsd_conn_t *c);
void wsd_room_widget_offline(wsd_t *w, wsd_conn_t *c);
/* Call fn for each local widget connection of customer_id. */
void wsd_room_each_widget(wsd_t *w, const char *customer_id,
			  void (*fn)(wsd_conn_t *c, void *ctx), void *ctx);

/* Publishing (any thread): a room event to the nodes of the agent (agent_id NULL: "-") and of
 * the watchers; a broadcast to every node. obj is not taken. */
/* Whether this node is alone and delivers room events in process (solo.c; loop thread). */
bool wsd_solo_on(wsd_t *w);
/* Room events delivered in process so far (loop thread). */
uint64_t wsd_solo_events(wsd_t *w);
void wsd_room_publish_event(wsd_t *w, const char *room_id, const char *agent_id,
			    json_object *obj, wsd_pub_done_fn done, void *arg);
void wsd_room_broadcast(wsd_t *w, const char *kind, json_object *obj);
/* Any thread: the outbound message of the gateway contract for room (routing key
 * <channel>.<customer_id>). obj is not taken. */
void wsd_room_publish_outbound(wsd_t *w, json_object *obj, wsd_pub_done_fn done, void *arg);
/* The same for a frame stored nowhere (typing): on the bus's ephemeral lane
 * (wsd_busio_publish_ephemeral), not behind the stored path's publishes. */
void wsd_room_publish_outbound_ephemeral(wsd_t *w, json_object *obj);

/* Loop: a room was closed (docs/gateway.md session_ended, docs/websocket.md ended and
 * withdrawn): the one path that tells it, for every reason (roomend.c). */
typedef struct wsd_room_end {
	json_object *room;        /* the room as closed (not taken) */
	json_object *msg;         /* the stored system message the customer got, or NULL */
	const char *out_id;       /* without msg: the id of session_ended (NULL: the room id) */
	const char *reason;       /* agent_ended, customer_left, no_agent, agent_disconnected */
	const char *agent_text;   /* the text of "ended"; NULL: wsd_room_end_text's */
	uint64_t origin_conn;     /* not 0: the connection whose "end" closed it (it gets the
				   * answer, not the event) */
} wsd_room_end_t;
void wsd_room_ended(wsd_t *w, const wsd_room_end_t *end);
/* Any thread: the text the agent gets with "ended" for reason (events.h
 * wsd_event_ended_setting rendered with the room's names; else customer_text). New string. */
char *wsd_room_end_text(wsd_t *w, const wsd_room_view_t *v, const char *reason,
			const char *customer_text);
/* e describes msg (a stored message, or NULL) of the room v: its id, seq and text, ts now. */
void wsd_event_of_message(wsd_event_t *e, const wsd_room_view_t *v, json_object *msg);

/* Loop: after a decline, close the request as no_agent when every eligible online agent has
 * declined it. room: the room after the decline (with declined_by). */
void wsd_room_check_declined(wsd_t *w, json_object *room);
/* Loop: the waiting requests user_id may accept and has not declined (new array). */
json_object *wsd_room_requests_for(wsd_t *w, const char *user_id);
/* Loop: the agent jobs (agent_priv.h) of connection handle that are queued or running, and
 * one more (delta 1) or one less (delta -1). The agent frames refuse work beyond a cap. */
size_t wsd_room_jobs(wsd_t *w, uint64_t handle);
void wsd_room_jobs_add(wsd_t *w, uint64_t handle, int delta);
/* Loop: a widget connection's frames (request, message, typing) and an agent connection's
 * typing frames are limited to WSD_RATE_PER_S a second with bursts of WSD_RATE_BURST: take
 * one token (false: none left, refuse the frame). forget: the connection is gone. */
#define WSD_RATE_PER_S 10
#define WSD_RATE_BURST 20
bool wsd_room_rate_take(wsd_t *w, uint64_t handle);
void wsd_room_rate_forget(wsd_t *w, uint64_t handle);
/* Loop: an agent's connection here is gone (or never got the answer of its accept): when it
 * was their last one here, their grace period runs if they are online on no other node, and
 * waits (deferred) until they are otherwise (docs/websocket.md, "Grace period"). */
void wsd_room_grace_left(wsd_t *w, const char *user_id);
/* Worker: the messages of room_id with seq > after, oldest first (at most 5000; catchup.c). */
lc_rc wsd_room_messages_after(wsd_t *w, const char *room_id, int64_t after, json_object **items,
			      lc_err_t *err);

#endif
