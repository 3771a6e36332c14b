/* SPDX-License-Identifier: MIT */
/* wsd_agent: frames of /ws/agent (docs/websocket.md). Each action is checked on the loop
 * (its row in the frame table: permission, rules, job cap; then room membership in its
 * handler), runs its MongoDB part on a worker (a job in agent_auth.c, agent_claim.c or
 * agent_room.c), and finishes on the loop: frames to the agent, publishes to the gateway and to
 * other nodes. This file: the jobs' common header, the frame table and its handlers. */
#include "config.h"
#include "agent_priv.h"
#include "frames.h"
#include "gateway.h"
#include "handshake.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define ROOM_ID_RULE { "room_id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL }

/* ---- the jobs' common header */

void wsd_ajob_init(wsd_ajob_t *h, wsd_conn_t *c, const char *room_id, const wsd_croom_t *r,
		   json_object *ref)
{
	h->w = c->w;
	h->handle = c->handle;
	wsd_room_jobs_add(c->w, c->handle, 1);
	/* A copy of its own: a job may be freed off the loop (an accept while stopping) while
	 * other jobs of the same frame (resume) hold its ref. */
	h->ref = lc_json_copy(ref);
	h->user_id = lc_strdup(c->user_id);
	h->display_name = lc_strdup(c->display_name);
	h->perms = c->perms;
	h->room_id = lc_strdup(room_id);
	h->key = r && r->channel && r->customer_id
		 ? wsd_workers_customer_key(r->channel, r->customer_id) : lc_strdup(room_id);
	h->rc = LC_ERR_UNAVAILABLE;
}

void wsd_ajob_clear(wsd_ajob_t *h)
{
	if (!h->w->stop)   /* when stopping the rooms may be gone; nothing counts any more */
		wsd_room_jobs_add(h->w, h->handle, -1);
	json_object_put(h->ref);
	free(h->user_id);
	free(h->display_name);
	free(h->room_id);
	free(h->key);
	*h = (wsd_ajob_t){ 0 };
}

void wsd_ajob_submit(wsd_ajob_t *h, wsd_fn run, wsd_fn done, void *job)
{
	wsd_workers_submit(h->w->workers, h->key, run, done, job);
}

void wsd_ajob_submit_retry(wsd_ajob_t *h, wsd_try_fn run, wsd_fn done, void *job)
{
	wsd_workers_submit_retry(h->w->workers, h->key, run, done, job);
}

int64_t wsd_ajob_first_seq(json_object *items, const char *room_id)
{
	int64_t first = 0;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		lc_message_t m;
		lc_message_view(&m, json_object_array_get_idx(items, i));
		if (strcmp(m.room_id, room_id) == 0 && m.seq > 0 && (first == 0 || m.seq < first))
			first = m.seq;
	}
	return first;
}

void wsd_ajob_add_room(json_object *frame, json_object *room)
{
	json_object *r = json_object_get(room);
	json_object_object_del(r, "declined_by");
	json_object_object_add(frame, "room", r);
}

/* ---- the handlers: the frame passed its row's checks (frames.h) */

/* Validate an item about one room: validation_failed names the room when its room_id is
 * well-formed (another field is at fault), as every error about a room does. */
static bool check(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules, json_object *ref)
{
	return wsd_frames_check_about(c, frame, rules, wsd_conn_plain_id(frame, "room_id"), NULL,
				      ref);
}

static void send_about_room(wsd_conn_t *c, const char *type, const char *room_id, json_object *ref)
{
	json_object *f = wsd_conn_frame(type, ref);
	json_object_object_add(f, "room_id", json_object_new_string(room_id));
	wsd_conn_send(c, f);
	json_object_put(f);
}

/* The engaged (not watched) room of this connection whose ownership MongoDB confirmed
 * (accepted or resumed), or an error frame naming the room (and the message). While the accept
 * or resume is under way the answer is unavailable: the client sends the frame again, as after
 * a database blip (docs/websocket.md); a room that turns out not to be the agent's is then
 * forbidden. A room this connection does not follow at all is left to the caller (NULL, no
 * frame, *unknown set): only MongoDB can tell a closed or unknown room from another's. */
static wsd_croom_t *own_room(wsd_conn_t *c, const char *room_id, json_object *ref,
			     const char *client_id, bool *unknown)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	*unknown = r == NULL;
	if (r == NULL)
		return NULL;
	if (r->watch) {
		wsd_conn_error_about(c, "forbidden", "not your room: watchers cannot write", room_id,
				     client_id, ref);
		return NULL;
	}
	if (r->state != WSD_CR_LIVE && r->state != WSD_CR_CATCHUP) {
		wsd_conn_error_about(c, "unavailable", "the room is being accepted or resumed: send "
				     "it again (same id) shortly", room_id, client_id, ref);
		return NULL;
	}
	return r;
}

static void on_accept(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", "");
	if (wsd_croom_find(c, rid) != NULL) {
		/* Already this connection's (a second click) or watched by it. */
		send_about_room(c, "already_taken", rid, ref);
		return;
	}
	/* Follow the room from now on: events that arrive before the claim's answer wait in the
	 * room's pending list instead of being lost. */
	wsd_croom_add(c, rid, NULL, NULL, NULL, WSD_CR_JOINING, false);
	wsd_agent_accept(c, rid, ref);
}

static void on_decline(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", "");
	wsd_croom_t *r = wsd_croom_find(c, rid);
	if (r != NULL && !r->watch && r->state == WSD_CR_JOINING) {
		/* This connection's accept of the room is not answered yet (accepts are claimed in
		 * batches, declines one by one): the decline waits for it, in the frames' order
		 * (accept_done sends them on). */
		if (r->declines == NULL)
			r->declines = json_object_new_array();
		json_object_array_add(r->declines, lc_json_copy(ref));
		return;
	}
	wsd_agent_decline(c, rid, ref);
}

/* message: every error names the message (id, room_id) so the client knows which one failed
 * and can send that one again (docs/websocket.md). A room this connection does not follow
 * goes to MongoDB for the verdict (not_found, not_open or forbidden) and is never written. */
static void on_message(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", ""), *id = lc_json_get_str(frame, "id", "");
	const char *text = lc_json_get_str(frame, "text", NULL);
	const char *canned = lc_json_get_str(frame, "canned_id", NULL);
	if ((text == NULL) == (canned == NULL)) {
		wsd_conn_error_about(c, "validation_failed", "text: exactly one of text and canned_id",
				     rid, id, ref);
		return;
	}
	bool unknown;
	wsd_croom_t *r = own_room(c, rid, ref, id, &unknown);
	if ((r == NULL && !unknown) || !wsd_frames_admit(c, ref, rid, id))
		return;
	wsd_agent_message(c, r, rid, id, text, canned, ref);
}

static void on_typing(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	bool unknown;
	const char *rid = lc_json_get_str(frame, "room_id", "");
	wsd_croom_t *r = own_room(c, rid, ref, NULL, &unknown);
	if (unknown)
		wsd_conn_error_about(c, "forbidden", "not your room (accept or resume it first)",
				     rid, NULL, ref);
	if (r == NULL || r->channel == NULL || r->customer_id == NULL)
		return;
	json_object *room = json_object_new_object();
	json_object_object_add(room, "id", json_object_new_string(r->room_id));
	json_object_object_add(room, "channel", json_object_new_string(r->channel));
	json_object_object_add(room, "customer_id", json_object_new_string(r->customer_id));
	char *id = lc_asprintf("typing-%s-%lld", c->user_id, (long long)lc_real_ms());
	json_object *o = wsd_gateway_out_new("agent_typing", id, room);
	free(id);
	json_object_put(room);
	json_object_object_add(o, "state", json_object_new_boolean(lc_json_get_bool(frame, "state", true)));
	wsd_room_publish_outbound_ephemeral(c->w, o);   /* typing: not behind stored messages */
	json_object_put(o);
}

/* Who may end the room (its agent, or chats.end_any) and whether it is still open is decided
 * on the worker from MongoDB: a room this connection does not follow may be the agent's own
 * from before a reload, or closed meanwhile (not_open). */
static void on_end(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", "");
	wsd_croom_t *r = wsd_croom_find(c, rid);
	wsd_agent_end(c, r && !r->watch ? r : NULL, rid, ref);
}

/* Who may read which room is decided on the worker from MongoDB (agent_room.c): the agent a
 * room is or was engaged with may read it from any connection, with no permission, so nothing
 * here can refuse it. */
static void on_history(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", "");
	if (!wsd_frames_admit(c, ref, rid, NULL))
		return;
	int64_t limit = lc_json_get_int(frame, "limit", atomic_load(&c->w->history_limit));
	wsd_agent_history(c, rid, lc_json_get_int(frame, "before_seq", 0), limit > 200 ? 200 : limit,
			  ref);
}

static void on_resume(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	json_object *rooms = NULL;
	if (!json_object_object_get_ex(frame, "rooms", &rooms) ||
	    !json_object_is_type(rooms, json_type_array) || json_object_array_length(rooms) > 100) {
		wsd_conn_error(c, "validation_failed", "rooms: must be an array of at most 100 items", ref);
		return;
	}
	static const lc_vrule_t item_rules[] = {
		ROOM_ID_RULE, { "last_seq", LC_V_INT, false, 0, 0, NULL, NULL }, LC_VRULE_END
	};
	for (size_t i = 0; i < json_object_array_length(rooms); i++) {
		json_object *it = json_object_array_get_idx(rooms, i);
		if (!check(c, it, item_rules, ref))
			continue;
		const char *rid = lc_json_get_str(it, "room_id", "");
		if (!wsd_frames_admit(c, ref, rid, NULL))
			continue;
		wsd_croom_t *r = wsd_croom_find(c, rid);
		if (r && (r->watch || r->state == WSD_CR_JOINING)) {
			/* Watched (not the agent's) or an accept under way (its answer will tell). */
			json_object *f = wsd_conn_frame("error", ref);
			json_object_object_add(f, "code", json_object_new_string(
				r->watch ? "validation_failed" : "not_ready"));
			json_object_object_add(f, "message", json_object_new_string(
				r->watch ? "room_id: watched here; unwatch it first"
					 : "room_id: an accept of this room is under way"));
			json_object_object_add(f, "room_id", json_object_new_string(rid));
			wsd_conn_send(c, f);
			json_object_put(f);
			continue;
		}
		r = wsd_croom_add(c, rid, NULL, NULL, NULL, WSD_CR_RESUMING, false);
		wsd_agent_resume(c, r, lc_json_get_int(it, "last_seq", 0), ref);
	}
}

static void on_watch(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = lc_json_get_str(frame, "room_id", "");
	wsd_croom_t *r = wsd_croom_find(c, rid);
	if (r && !r->watch) {
		wsd_conn_error_about(c, "validation_failed", "room_id: this room is already yours",
				     rid, NULL, ref);
		return;
	}
	if (!wsd_frames_admit(c, ref, rid, NULL))
		return;
	wsd_room_watch(c->w, c, rid, ref);
}

static void on_unwatch(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	wsd_room_unwatch(c->w, c, lc_json_get_str(frame, "room_id", ""));
}

/* ---- the frame table */

static const lc_vrule_t room_rules[] = { ROOM_ID_RULE, LC_VRULE_END };
static const lc_vrule_t message_rules[] = {
	ROOM_ID_RULE,
	{ "id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL },
	{ "text", LC_V_STRING, false, 1, 4000, NULL, NULL },
	{ "canned_id", LC_V_STRING, false, 1, 64, &lc_vpattern_id, NULL },
	LC_VRULE_END
};
static const lc_vrule_t typing_rules[] = {
	ROOM_ID_RULE, { "state", LC_V_BOOL, false, 0, 0, NULL, NULL }, LC_VRULE_END
};
static const lc_vrule_t history_rules[] = {
	ROOM_ID_RULE,
	{ "before_seq", LC_V_INT, false, 0, 0, NULL, NULL },
	{ "limit", LC_V_INT, false, 1, 200, NULL, NULL },
	LC_VRULE_END
};

/* Rows that check something of the connection's rooms before starting a job (message,
 * history, resume, watch) take the job cap in their handler, after that check. typing is
 * published to RabbitMQ and reaches the customer's channel: the same bucket as the widget's
 * frames bounds it. */
static const wsd_frame_row_t agent_rows[] = {
	{ .type = "accept", .perm = WSD_P_ACCEPT, .rules = room_rules,
	  .flags = WSD_FRAME_JOB | WSD_FRAME_PUBLISHES,
	  .handler = on_accept },
	{ .type = "decline", .perm = WSD_P_ACCEPT, .rules = room_rules,
	  .flags = WSD_FRAME_JOB | WSD_FRAME_PUBLISHES,
	  .handler = on_decline },
	{ .type = "message", .rules = message_rules,
	  .flags = WSD_FRAME_NAMES_ID | WSD_FRAME_PUBLISHES,
	  .handler = on_message },
	{ .type = "typing", .rules = typing_rules, .flags = WSD_FRAME_RATE | WSD_FRAME_PUBLISHES,
	  .handler = on_typing },
	{ .type = "end", .rules = room_rules, .flags = WSD_FRAME_JOB | WSD_FRAME_PUBLISHES,
	  .handler = on_end },
	{ .type = "history", .rules = history_rules, .handler = on_history },
	{ .type = "resume", .handler = on_resume },   /* rules per item of rooms */
	{ .type = "watch", .perm = WSD_P_MONITOR, .rules = room_rules, .handler = on_watch },
	{ .type = "unwatch", .rules = room_rules, .handler = on_unwatch },
	{ .type = NULL }
};

static const wsd_frame_table_t agent_frames = {
	.rows = agent_rows,
	.names_room = true,
	.not_ready = "wait for hello",
	.rate_limited = "too many typing frames: slow down",
};
/* The table itself, for the fuzz target of tests/fuzz (agent.h). */
const wsd_frame_table_t *const wsd_agent_frames = &agent_frames;

/* ---- the endpoint */

static bool agent_open(wsd_conn_t *c)
{
	c->token = wsd_handshake_token(c->wsi);
	if (c->token == NULL)
		return false;
	c->state = WSD_CS_AUTH;
	wsd_agent_open(c);
	return true;
}

static void agent_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref)
{
	wsd_frames_run(&agent_frames, c, type, frame, ref);
}

static void agent_closed(wsd_conn_t *c)
{
	if (c->state == WSD_CS_READY || c->user_id != NULL || c->closed_by_server)
		LC_INFO("agent %s disconnected", c->username ? c->username : "?");
	wsd_room_rate_forget(c->w, c->handle);
	wsd_room_agent_offline(c->w, c);
}

const wsd_endpoint_t wsd_agent_endpoint = {
	.path = "/ws/agent",
	.alias = "/agent",
	.session = true,
	.on_open = agent_open,
	.on_frame = agent_frame,
	.on_close = agent_closed,
	.on_recheck = wsd_agent_check_session,
	.on_watch_bound = wsd_agent_watch_fetch,
	.on_held_declines = wsd_agent_declines_send,
};
