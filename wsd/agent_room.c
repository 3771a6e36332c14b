/* SPDX-License-Identifier: MIT */
/* wsd_agent_room: what an agent does in a room: message (typed or canned) and end. The reads
 * (history pages, resume, the first read of a watched room) are in agent_history.c. */
#include "config.h"
#include "agent_priv.h"
#include "events.h"
#include "gateway.h"
#include "room.h"
#include "roomcmd.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"
#include "lc_settings.h"

#include <stdlib.h>
#include <string.h>

/* ---- message */

typedef struct message_job {
	uint32_t magic;
#define MESSAGE_JOB_MAGIC 0x6d657367u
	wsd_ajob_t h;
	char *client_id, *text, *canned_id;
	char *channel, *customer_id, *customer_name;   /* the room's, once known */
	bool verdict_only;      /* a room the connection does not follow: only say why it cannot
				 * be written (not_found, not_open, forbidden) */
	json_object *msg;       /* the stored message */
	bool dup;               /* it was stored before (the same id sent again) */
} message_job_t;

static void message_job_free(message_job_t *j)
{
	LC_CHECK_OBJ(j, MESSAGE_JOB_MAGIC);
	wsd_ajob_clear(&j->h);
	free(j->client_id);
	free(j->text);
	free(j->canned_id);
	free(j->channel);
	free(j->customer_id);
	free(j->customer_name);
	json_object_put(j->msg);
	j->magic = 0;
	free(j);
}

/* Take the room's channel and customer from room (a store document). */
static void message_job_room(message_job_t *j, json_object *room)
{
	free(j->channel);
	free(j->customer_id);
	free(j->customer_name);
	j->channel = lc_strdup(lc_json_get_str(room, "channel", ""));
	j->customer_id = lc_strdup(lc_json_get_str(room, "customer_id", ""));
	j->customer_name = lc_strdup(lc_json_get_str(room, "customer_name", ""));
}

/* The room as MongoDB has it, if it is engaged with this job's agent (else FORBIDDEN or
 * CONFLICT in j->h.rc). The loop's view of the connection's rooms is not enough: only the
 * store knows who owns a room. channel, customer_id and customer_name are taken from it. */
static bool owned_engaged(wsd_t *w, message_job_t *j)
{
	json_object *room = NULL;
	j->h.rc = lc_store_room_get(w->store, j->h.room_id, &room, &j->h.err);
	if (j->h.rc != LC_OK)
		return false;
	if (strcmp(lc_json_get_str(room, "agent_id", ""), j->h.user_id) != 0)
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_FORBIDDEN, "not your room");
	else if (wsd_room_status(room) != LC_ROOM_ENGAGED)
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_CONFLICT, "the room is already closed");
	if (j->h.rc == LC_OK)
		message_job_room(j, room);
	json_object_put(room);
	return j->h.rc == LC_OK;
}

static void message_done(wsd_t *w, void *arg);

static void message_run(wsd_t *w, void *arg)
{
	message_job_t *j;
	LC_CAST_OBJ(j, arg, MESSAGE_JOB_MAGIC);
	if (!owned_engaged(w, j))
		return;
	if (j->verdict_only) {
		/* The agent's open room, but this connection has not resumed it: it would not
		 * see the room's messages. */
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_FORBIDDEN, "not followed by this connection: "
				   "resume it first");
		return;
	}
	if (j->canned_id) {
		json_object *canned = NULL;
		j->h.rc = lc_store_canned_get(w->store, j->canned_id, &canned, &j->h.err);
		/* Another agent's canned response is absent for this one, as in the REST API
		 * (docs/api.md): its existence is not told. */
		if (j->h.rc == LC_OK && strcmp(lc_json_get_str(canned, "owner_id", ""), j->h.user_id) != 0 &&
		    !(j->h.perms & WSD_P_CANNED_ALL))
			j->h.rc = LC_ERR_NOT_FOUND;
		if (j->h.rc == LC_ERR_NOT_FOUND)
			lc_err_set(&j->h.err, LC_ERR_NOT_FOUND, "canned_id: no such canned response");
		if (j->h.rc != LC_OK) {
			json_object_put(canned);
			return;
		}
		j->text = lc_settings_render(lc_json_get_str(canned, "text", ""),
						    j->h.display_name, j->customer_name);
		json_object_put(canned);
	}
	char *mid = lc_asprintf("a-%s-%s", j->h.user_id, j->client_id);
	wsd_roomcmd_t cmd = { .room_id = j->h.room_id, .msg_id = mid, .sender = LC_SENDER_AGENT,
			      .author = j->h.display_name, .text = j->text, .check_agent = j->h.user_id };
	j->h.rc = wsd_roomcmd_call(w, &cmd, &j->msg, &j->dup, NULL, &j->h.err);
	free(mid);
}

/* The writer's answer to a typed message (the consumer thread; the writer thread for one
 * handed over in process; the loop when it timed out). */
static void message_answered(wsd_t *w, void *arg, wsd_roomcmd_result_t *res)
{
	message_job_t *j;
	LC_CAST_OBJ(j, arg, MESSAGE_JOB_MAGIC);
	j->h.rc = res->rc;
	j->h.err = res->err;
	j->msg = res->msg;
	j->dup = res->dup;
	if (res->rc == LC_OK)
		message_job_room(j, res->room);
	json_object_put(res->room);
	wsd_post(w, message_done, j);
}

static void message_send(wsd_t *w, message_job_t *j)
{
	/* No worker and no read: the writer checks the room (engaged, this agent's) in memory. */
	char *mid = lc_asprintf("a-%s-%s", j->h.user_id, j->client_id);
	wsd_roomcmd_t cmd = { .room_id = j->h.room_id, .msg_id = mid, .sender = LC_SENDER_AGENT,
			      .author = j->h.display_name, .text = j->text, .check_agent = j->h.user_id };
	wsd_roomcmd_send(w, &cmd, message_answered, j);
	free(mid);
}

/* The error of a message frame names the message (id, room_id): the client re-sends that one
 * with the same id when the code is unavailable (docs/websocket.md). */
static void message_error(wsd_conn_t *c, message_job_t *j)
{
	const char *code = wsd_conn_rc_code(j->h.rc);
	wsd_conn_error_about(c, code, strcmp(code, "unavailable") == 0 ? "the database cannot be "
			     "reached: send it again with the same id" : j->h.err.reason, j->h.room_id,
			     j->client_id, j->h.ref);
}

static void message_done(wsd_t *w, void *arg)
{
	message_job_t *j;
	LC_CAST_OBJ(j, arg, MESSAGE_JOB_MAGIC);
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->h.handle);
	if (j->h.rc != LC_OK) {
		if (c)
			message_error(c, j);
		goto out;
	}
	LC_ASSERT(j->channel != NULL && j->customer_id != NULL);   /* owned_engaged set them */
	json_object *room = json_object_new_object();
	json_object_object_add(room, "id", json_object_new_string(j->h.room_id));
	json_object_object_add(room, "channel", json_object_new_string(j->channel));
	json_object_object_add(room, "customer_id", json_object_new_string(j->customer_id));
	json_object *o = wsd_gateway_out_msg("agent_message", j->msg, room, j->h.user_id,
					     j->h.display_name);
	json_object_put(room);
	wsd_room_publish_outbound(w, o, NULL, NULL);
	json_object_put(o);

	/* For the agent's other connections (other tabs, any node) and for watchers; the sending
	 * connection, named by origin, gets the ack below instead. */
	json_object *ev = wsd_conn_frame("message", NULL);
	json_object_object_add(ev, "room_id", json_object_new_string(j->h.room_id));
	json_object_object_add(ev, "message", json_object_get(j->msg));
	json_object_object_add(ev, "agent_id", json_object_new_string(j->h.user_id));
	json_object_object_add(ev, "origin_node", json_object_new_string(w->node_id));
	json_object_object_add(ev, "origin_conn", json_object_new_int64((int64_t)j->h.handle));
	wsd_room_publish_event(w, j->h.room_id, j->h.user_id, ev, NULL, NULL);
	json_object_put(ev);

	if (c) {
		/* A catch-up read after a broker restart must not send it back as a message. */
		wsd_croom_t *r = wsd_croom_find(c, j->h.room_id);
		lc_message_t m;
		lc_message_view(&m, j->msg);
		if (r != NULL && m.seq > 0)
			wsd_croom_mark(r, m.seq);
		json_object *f = wsd_conn_frame("ack", j->h.ref);
		json_object_object_add(f, "id", json_object_new_string(j->client_id));
		json_object_object_add(f, "room_id", json_object_new_string(j->h.room_id));
		json_object_object_add(f, "message", json_object_get(j->msg));
		wsd_conn_send(c, f);
		json_object_put(f);
	}
out:
	message_job_free(j);
}

void wsd_agent_message(wsd_conn_t *c, const wsd_croom_t *r, const char *room_id,
		       const char *client_id, const char *text, const char *canned_id,
		       json_object *ref)
{
	message_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = MESSAGE_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, r, ref);
	j->client_id = lc_strdup(client_id);
	j->text = lc_strdup(text);
	j->canned_id = lc_strdup(canned_id);
	j->verdict_only = r == NULL;
	if (r) {
		j->channel = lc_strdup(r->channel);
		j->customer_id = lc_strdup(r->customer_id);
		j->customer_name = lc_strdup(r->customer_name);
	}
	if (canned_id == NULL && r != NULL)
		message_send(c->w, j);
	else
		wsd_ajob_submit(&j->h, message_run, message_done, j);
}

/* ---- end */

typedef struct end_job {
	uint32_t magic;
#define END_JOB_MAGIC 0x656e646au
	wsd_ajob_t h;
	bool closed;            /* tried again: the room is closed, the end message not stored */
	json_object *room;      /* the closed room */
	json_object *msg;       /* the stored end message (the customer's) */
	char *agent_text;       /* end_message_agent, rendered */
} end_job_t;

static bool end_run(wsd_t *w, void *arg)
{
	end_job_t *j;
	LC_CAST_OBJ(j, arg, END_JOB_MAGIC);
	if (!j->closed) {
		json_object *room = NULL;
		j->h.rc = lc_store_room_get(w->store, j->h.room_id, &room, &j->h.err);
		if (j->h.rc != LC_OK)
			return true;
		if (strcmp(lc_json_get_str(room, "agent_id", ""), j->h.user_id) != 0 &&
		    !(j->h.perms & WSD_P_END_ANY)) {
			json_object_put(room);
			j->h.rc = lc_err_set(&j->h.err, LC_ERR_FORBIDDEN, "not your room");
			return true;
		}
		json_object_put(room);
		j->h.rc = lc_store_room_close(w->store, j->h.room_id, "agent_ended", &j->room, &j->h.err);
		if (j->h.rc == LC_ERR_CONFLICT)
			lc_err_set(&j->h.err, LC_ERR_CONFLICT, "the room is already closed");
		if (j->h.rc != LC_OK)
			return true;
		j->closed = true;
	}
	const char *agent = lc_json_get_str(j->room, "agent_name", j->h.display_name);
	const char *cust = lc_json_get_str(j->room, "customer_name", "");
	/* The room is closed: the customer is told through the stored end message, which a
	 * MongoDB blip must not lose (fixed id: stored once however often it is tried). */
	lc_err_t err;
	if (wsd_roomcmd_system_message(w, j->h.room_id, "end", "end_message_customer", agent, cust,
				       LC_ROOM_CLOSED, NULL, &j->msg,
				       &err) != LC_OK)
		return false;
	if (j->agent_text == NULL) {
		wsd_room_view_t v;
		wsd_room_view(&v, j->room);
		v.agent_name = agent;
		j->agent_text = wsd_room_end_text(w, &v, "agent_ended", NULL);
	}
	return true;
}

static void end_done(wsd_t *w, void *arg)
{
	end_job_t *j;
	LC_CAST_OBJ(j, arg, END_JOB_MAGIC);
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->h.handle);
	if (j->h.rc != LC_OK) {
		if (c)
			wsd_conn_error_room(c, j->h.rc, j->h.err.reason, j->h.room_id, j->h.ref);
		goto out;
	}
	LC_INFO("room %s ended by %s", j->h.room_id, j->h.user_id);
	const char *text = j->agent_text ? j->agent_text : "";
	wsd_room_end_t end = { .room = j->room, .msg = j->msg, .reason = "agent_ended",
			       .agent_text = text, .origin_conn = j->h.handle };
	wsd_room_ended(w, &end);
	if (c) {
		wsd_croom_remove(c, j->h.room_id);
		/* The answer: the same "ended" without the routing (agent_id), with the ref. */
		wsd_room_view_t v;
		wsd_room_view(&v, j->room);
		wsd_event_t e = { .room = &v, .reason = "agent_ended", .text = text };
		json_object *ev = wsd_event_ended(&e);
		wsd_conn_add_ref(ev, j->h.ref);
		wsd_conn_send(c, ev);
		json_object_put(ev);
	}
out:
	wsd_ajob_clear(&j->h);
	json_object_put(j->room);
	json_object_put(j->msg);
	free(j->agent_text);
	j->magic = 0;
	free(j);
}

void wsd_agent_end(wsd_conn_t *c, const wsd_croom_t *r, const char *room_id, json_object *ref)
{
	end_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = END_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, r, ref);
	wsd_ajob_submit_retry(&j->h, end_run, end_done, j);
}
