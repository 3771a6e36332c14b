/* SPDX-License-Identifier: MIT */
/* wsd_event: the one builder of each room event wsd sends (outbound to a gateway:
 * docs/gateway.md; to agents and watchers: docs/websocket.md), from one typed description,
 * and the typed view of a stored room the callers fill it from. Pure: no wsd_t, no I/O, so
 * every shape is unit-tested (tests/wsd/test_wsd_events.c). */
#ifndef WSD_EVENTS_H
#define WSD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "lc_message.h"
#include "lc_room_status.h"

/* A stored room as wsd reads it (lc_store rooms), parsed once. The strings are borrowed from the
 * json object the view was made from: valid while it lives. */
typedef struct wsd_room_view {
	const char *id, *channel, *customer_id, *customer_name;
	lc_room_status_t status;
	const char *agent_id;      /* the agent who has (or had) the room; NULL: none (never "-") */
	const char *agent_name;    /* NULL: none */
	const char *close_reason;  /* closed rooms: agent_ended, customer_left, ...; else NULL */
} wsd_room_view_t;

/* Fill *v from room (NULL room: every field empty/NULL, status LC_ROOM_UNKNOWN). id, channel,
 * customer_id and customer_name are never NULL ("" when absent). */
void wsd_room_view(wsd_room_view_t *v, json_object *room);
/* The status of a stored room; LC_ROOM_UNKNOWN for NULL or a status of no known name. */
lc_room_status_t wsd_room_status(json_object *room);

/* What an event says. Fields an event does not carry are ignored; NULL strings are sent as "". */
typedef struct wsd_event {
	const wsd_room_view_t *room;   /* the room (id, channel, customer_id); required */
	const char *id;                /* outbound: the message id; NULL: the room id */
	int64_t ts;                    /* outbound: when (ms) */
	bool has_seq;                  /* outbound: the stored message's seq is sent */
	int64_t seq;
	const char *reason;            /* session_ended, ended, withdrawn: why the room ended */
	const char *text;              /* the text the receiver shows */
	const char *agent_id;          /* outbound: "agent" {id, name} when not NULL;
					* ended: agent_id (routing to the agent's nodes) */
	const char *agent_name;
} wsd_event_t;

/* *e for a stored message m (lc_message_view) of room v: its id (an empty id: none, the room
 * id is sent), ts, seq (when it has one) and text; every other field empty. e and v borrow
 * from m and the room: valid while they live. */
void wsd_event_message(wsd_event_t *e, const wsd_room_view_t *v, const lc_message_t *m);

/* The head every outbound message starts with: {type, id, channel, customer_id, ts, room_id}. */
json_object *wsd_event_outbound_head(const char *type, const wsd_event_t *e);
/* The outbound message type (request_waiting, agent_joined, agent_message, session_ended):
 * {type, id, channel, customer_id, ts, room_id[, seq][, agent][, reason], text}; reason only
 * for session_ended. */
json_object *wsd_event_outbound(const char *type, const wsd_event_t *e);
/* The outbound session_ended (docs/gateway.md). */
json_object *wsd_event_session_ended(const wsd_event_t *e);
/* The room event "ended" to the agent's connections and the watchers:
 * {type, room_id, reason, text[, agent_id]}. */
json_object *wsd_event_ended(const wsd_event_t *e);
/* The broadcast "withdrawn" to every node (a waiting request ended): {type, room_id, reason}. */
json_object *wsd_event_withdrawn(const wsd_event_t *e);

/* To the agents who were offered a request: "request_withdrawn" {type, room_id, reason}
 * (reason: taken, declined, customer_left, no_agent, closed). */
json_object *wsd_event_request_withdrawn(const wsd_event_t *e);
/* The broadcast "taken" to every node (an agent claimed a request): {type, room_id, agent_id}. */
json_object *wsd_event_taken(const wsd_event_t *e);
/* The broadcast "declined" to every node (agent_id declined a request, hidden for them from now
 * on): {type, room_id, user_id}. */
json_object *wsd_event_declined(const wsd_event_t *e);

/* The setting key of the text the agent gets with "ended" for reason, rendered with the
 * room's agent and customer names; NULL: the text the customer got (the stored system
 * message: agent_disconnected, no_agent). */
const char *wsd_event_ended_setting(const char *reason);

/* The widget frame an outbound message for the widget channel becomes (docs/websocket.md,
 * /ws/widget): request_waiting -> waiting, agent_joined -> joined, session_ended -> ended,
 * agent_message -> message, agent_typing -> typing; NULL for any other type. */
json_object *wsd_event_widget_frame(json_object *outbound);

#endif
