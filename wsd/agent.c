/* SPDX-License-Identifier: MIT */
/* wsd_agent: frames of /ws/agent (docs/websocket.md). Each action is checked on the loop
 * (permissions, room membership), runs its MongoDB part on a worker (a job in agent_auth.c,
 * agent_claim.c or agent_room.c), and finishes on the loop: frames to the agent, publishes to
 * the gateway and to other nodes. This file: the job struct's helpers and the frame dispatch. */
#include "config.h"
#include "agent_priv.h"
#include "gateway.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define ROOM_ID_RULE { "room_id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL }

ajob_t *wsd_ajob_new(wsd_conn_t *c, const char *op, json_object *ref)
{
	ajob_t *j = lc_calloc(1, sizeof *j);
	j->w = c->w;
	j->handle = c->handle;
	wsd_room_jobs_add(c->w, c->handle, 1);
	j->ref = ref ? json_object_get(ref) : NULL;
	j->op = lc_strdup(op);
	j->user_id = lc_strdup(c->user_id);
	j->display_name = lc_strdup(c->display_name);
	j->perms = c->perms;
	j->rc = LC_ERR_UNAVAILABLE;
	return j;
}

void wsd_ajob_free(ajob_t *j)
{
	if (!j->w->stop)   /* when stopping the rooms may be gone; nothing counts any more */
		wsd_room_jobs_add(j->w, j->handle, -1);
	json_object_put(j->ref);
	free(j->op);
	free(j->token);
	free(j->user_id);
	free(j->display_name);
	free(j->room_id);
	free(j->client_id);
	free(j->text);
	free(j->canned_id);
	free(j->channel);
	free(j->customer_id);
	free(j->customer_name);
	json_object_put(j->user);
	json_object_put(j->perm_list);
	json_object_put(j->room);
	json_object_put(j->items);
	json_object_put(j->msg);
	free(j->text2);
	free(j);
}

/* The worker key for a room: the customer's when known, so the room's jobs stay in order. */
void wsd_ajob_submit(wsd_t *w, ajob_t *j, wsd_fn run, wsd_fn done)
{
	char *key = (j->channel && j->customer_id) ? wsd_gateway_key(j->channel, j->customer_id)
						   : lc_strdup(j->room_id ? j->room_id : j->user_id);
	wsd_workers_submit(w->workers, key, run, done, j);
	free(key);
}

void wsd_ajob_submit_retry(wsd_t *w, ajob_t *j, wsd_try_fn run, wsd_fn done)
{
	char *key = (j->channel && j->customer_id) ? wsd_gateway_key(j->channel, j->customer_id)
						   : lc_strdup(j->room_id ? j->room_id : j->user_id);
	wsd_workers_submit_retry(w->workers, key, run, done, j);
	free(key);
}


int64_t wsd_ajob_first_seq(json_object *items, const char *room_id)
{
	int64_t m = 0;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *rid = lc_json_get_str(it, "room_id", NULL);
		int64_t s = lc_json_get_int(it, "seq", 0);
		if (rid && strcmp(rid, room_id) == 0 && s > 0 && (m == 0 || s < m))
			m = s;
	}
	return m;
}


/* ---- frames */

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

/* Validate a frame about one room: validation_failed names the room when its room_id is
 * well-formed (another field is at fault), as every error about a room does. */
static bool check(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules, json_object *ref)
{
	return wsd_conn_check_about(c, frame, rules, wsd_conn_plain_id(frame, "room_id"), NULL, ref);
}

static bool need(wsd_conn_t *c, unsigned perm, const char *name, json_object *ref)
{
	if (c->perms & perm)
		return true;
	char *msg = lc_asprintf("permission %s required", name);
	wsd_conn_error(c, "forbidden", msg, ref);
	free(msg);
	return false;
}

/* Whether c may start one more job: a client cannot pile up unbounded work on the workers
 * (a resume names up to 100 rooms). Beyond the cap: error busy, naming the room and message. */
static bool admit(wsd_conn_t *c, json_object *ref, const char *room_id, const char *client_id)
{
	if (wsd_room_jobs(c->w, c->handle) < WSD_AGENT_JOBS_MAX)
		return true;
	wsd_conn_error_about(c, "busy", "too many requests of this connection under way: send it "
			     "again once some are answered", room_id, client_id, ref);
	return false;
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

static ajob_t *room_job(wsd_conn_t *c, const char *op, json_object *frame, json_object *ref,
			wsd_croom_t *r)
{
	ajob_t *j = wsd_ajob_new(c, op, ref);
	j->room_id = lc_strdup(lc_json_get_str(frame, "room_id", ""));
	if (r) {
		j->channel = lc_strdup(r->channel);
		j->customer_id = lc_strdup(r->customer_id);
		j->customer_name = lc_strdup(r->customer_name);
	}
	return j;
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
		if (!admit(c, ref, rid, NULL))
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
		ajob_t *j = room_job(c, "resume", it, ref, r);
		j->n1 = lc_json_get_int(it, "last_seq", 0);
		wsd_ajob_submit(c->w, j, wsd_agent_resume_run, wsd_agent_resume_done);
	}
}

/* message: every error names the message (id, room_id) so the client knows which one failed
 * and can send that one again (docs/websocket.md). A room this connection does not follow
 * goes to MongoDB for the verdict (not_found, not_open or forbidden) and is never written. */
static void on_message(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *rid = wsd_conn_plain_id(frame, "room_id"), *id = wsd_conn_plain_id(frame, "id");
	if (!wsd_conn_check_about(c, frame, message_rules, rid, id, ref))
		return;
	const char *text = lc_json_get_str(frame, "text", NULL);
	const char *canned = lc_json_get_str(frame, "canned_id", NULL);
	if ((text == NULL) == (canned == NULL)) {
		wsd_conn_error_about(c, "validation_failed", "text: exactly one of text and canned_id",
				     rid, id, ref);
		return;
	}
	bool unknown;
	wsd_croom_t *r = own_room(c, rid, ref, id, &unknown);
	if ((r == NULL && !unknown) || !admit(c, ref, rid, id))
		return;
	ajob_t *j = room_job(c, "message", frame, ref, r);
	j->client_id = lc_strdup(id);
	j->text = lc_strdup(text);
	j->canned_id = lc_strdup(canned);
	j->verdict_only = unknown;
	if (canned == NULL && !unknown)
		wsd_agent_message_send(c->w, j);
	else
		wsd_ajob_submit(c->w, j, wsd_agent_message_run, wsd_agent_message_done);
}

void wsd_agent_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref)
{
	wsd_t *w = c->w;
	if (c->state != WSD_CS_READY) {
		wsd_conn_error_about(c, "not_ready", "wait for hello", wsd_conn_plain_id(frame, "room_id"),
				     strcmp(type, "message") == 0 ? wsd_conn_plain_id(frame, "id") : NULL, ref);
		return;
	}
	if (strcmp(type, "accept") == 0) {
		if (!need(c, WSD_P_ACCEPT, "chats.accept", ref) || !check(c, frame, room_rules, ref))
			return;
		const char *rid = lc_json_get_str(frame, "room_id", "");
		if (!admit(c, ref, rid, NULL))
			return;
		wsd_croom_t *r = wsd_croom_find(c, rid);
		if (r != NULL) {
			/* Already this connection's (a second click) or watched by it. */
			json_object *f = wsd_conn_frame("already_taken", ref);
			json_object_object_add(f, "room_id", json_object_new_string(rid));
			wsd_conn_send(c, f);
			json_object_put(f);
			return;
		}
		/* Follow the room from now on: events that arrive before the claim's answer wait
		 * in the room's pending list instead of being lost. */
		wsd_croom_add(c, rid, NULL, NULL, NULL, WSD_CR_JOINING, false);
		ajob_t *j = room_job(c, "accept", frame, ref, NULL);
		wsd_workers_submit_retry(w->workers, j->room_id, wsd_agent_accept_run,
					 wsd_agent_accept_done, j);
	} else if (strcmp(type, "decline") == 0) {
		if (!need(c, WSD_P_ACCEPT, "chats.accept", ref) || !check(c, frame, room_rules, ref) ||
		    !admit(c, ref, lc_json_get_str(frame, "room_id", ""), NULL))
			return;
		ajob_t *j = room_job(c, "decline", frame, ref, NULL);
		wsd_workers_submit(w->workers, j->room_id, wsd_agent_decline_run, wsd_agent_decline_done, j);
	} else if (strcmp(type, "message") == 0) {
		on_message(c, frame, ref);
	} else if (strcmp(type, "typing") == 0) {
		/* Each one is published to RabbitMQ and reaches the customer's channel: the same
		 * bucket as the widget's frames (room.c) bounds them. */
		if (!wsd_room_rate_take(w, c->handle)) {
			wsd_conn_error_about(c, "rate_limited", "too many typing frames: slow down",
					     lc_json_get_str(frame, "room_id", NULL), NULL, ref);
			return;
		}
		if (!check(c, frame, typing_rules, ref))
			return;
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
		wsd_room_publish_outbound(w, o, NULL, NULL);
		json_object_put(o);
	} else if (strcmp(type, "end") == 0) {
		if (!check(c, frame, room_rules, ref))
			return;
		/* Who may end the room (its agent, or chats.end_any) and whether it is still open
		 * is decided on the worker from MongoDB: a room this connection does not follow
		 * may be the agent's own from before a reload, or closed meanwhile (not_open). */
		wsd_croom_t *r = wsd_croom_find(c, lc_json_get_str(frame, "room_id", ""));
		if (r && r->watch)
			r = NULL;
		if (!admit(c, ref, lc_json_get_str(frame, "room_id", ""), NULL))
			return;
		ajob_t *j = room_job(c, "end", frame, ref, r);
		wsd_ajob_submit_retry(w, j, wsd_agent_end_run, wsd_agent_end_done);
	} else if (strcmp(type, "history") == 0) {
		if (!check(c, frame, history_rules, ref))
			return;
		/* Who may read which room is decided on the worker from MongoDB
		 * (wsd_agent_history_run); here only whether asking makes sense at all. */
		const char *rid = lc_json_get_str(frame, "room_id", "");
		if (wsd_croom_find(c, rid) == NULL && !(c->perms & (WSD_P_MONITOR | WSD_P_HISTORY))) {
			wsd_conn_error_about(c, "forbidden", "not your room", rid, NULL, ref);
			return;
		}
		if (!admit(c, ref, lc_json_get_str(frame, "room_id", ""), NULL))
			return;
		ajob_t *j = room_job(c, "history", frame, ref, NULL);
		j->n1 = lc_json_get_int(frame, "before_seq", 0);
		j->n2 = lc_json_get_int(frame, "limit", atomic_load(&w->history_limit));
		if (j->n2 > 200)
			j->n2 = 200;
		wsd_ajob_submit(w, j, wsd_agent_history_run, wsd_agent_history_done);
	} else if (strcmp(type, "resume") == 0) {
		on_resume(c, frame, ref);
	} else if (strcmp(type, "watch") == 0) {
		if (!need(c, WSD_P_MONITOR, "chats.monitor", ref) || !check(c, frame, room_rules, ref))
			return;
		const char *rid = lc_json_get_str(frame, "room_id", "");
		wsd_croom_t *r = wsd_croom_find(c, rid);
		if (r && !r->watch) {
			wsd_conn_error_about(c, "validation_failed", "room_id: this room is already yours",
					     rid, NULL, ref);
			return;
		}
		if (!admit(c, ref, rid, NULL))
			return;
		wsd_room_watch(w, c, rid, ref);
	} else if (strcmp(type, "unwatch") == 0) {
		if (!check(c, frame, room_rules, ref))
			return;
		wsd_room_unwatch(w, c, lc_json_get_str(frame, "room_id", ""));
	} else {
		wsd_conn_error(c, "unknown_type", "unknown frame type", ref);
	}
}

void wsd_agent_closed(wsd_conn_t *c)
{
	if (c->state == WSD_CS_READY || c->user_id != NULL || c->closed_by_server)
		LC_INFO("agent %s disconnected", c->username ? c->username : "?");
	wsd_room_rate_forget(c->w, c->handle);
	wsd_room_agent_offline(c->w, c);
}
