/* SPDX-License-Identifier: MIT */
/* wsd_wcommand: room commands (roomcmd.h) on the writer: the secret, the deadline, the checks an
 * agent's message needs (engaged, this agent's), the staging of the message, the room status the
 * sender changed, and the answer: on node.<node_id> for a command that came through the broker,
 * in process for one of this node's own (WI_LOCAL). */
#include "config.h"
#include "writer_priv.h"
#include "busio.h"
#include "roomcmd.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"
#include "lc_names.h"
#include "lc_room_status.h"

#include <stdlib.h>
#include <string.h>

bool wsd_wcommand_expired(const witem_t *it)
{
	return wsd_witem_is_command(it) && lc_real_ms() > lc_json_get_int(it->cmd, "deadline", 0);
}

/* The room's checks (an agent's own message: engaged with that agent), then the staging. */
static lc_rc check_and_stage(wsd_writer_t *wr, witem_t *it, wroom_t **out, lc_err_t *err)
{
	json_object *c = it->cmd;
	const char *rid = lc_json_get_str(c, "room_id", "");
	const char *check = lc_json_get_str(c, "check_agent", NULL);
	wroom_t *r = NULL;
	lc_rc rc = wsd_wroom_get(wr, rid, check != NULL, &r, err);
	if (rc != LC_OK)
		return rc;
	if (check != NULL && strcmp(lc_json_get_str(r->doc, "agent_id", ""), check) != 0)
		return lc_err_set(err, LC_ERR_FORBIDDEN, "not your room");
	if (check != NULL && r->status != LC_ROOM_ENGAGED)
		return lc_err_set(err, LC_ERR_CONFLICT, "the room is already closed");
	/* The sender's node stored a message of the room itself at that seq while RabbitMQ was
	 * away from it (roomcmd.c): a block below it would put this message before that one. */
	int64_t above = lc_json_get_int(c, "above_seq", 0);
	if (above > 0 && r->next_seq <= above)
		wsd_wroom_block_drop(r, above);
	*out = r;
	/* A join asking for the history: its answer carries it from memory (wsd_wcommand_stored
	 * hurries the marks when it cannot). */
	it->slot.relaxed = lc_json_get_int(c, "history_limit", 0) > 0;
	return wsd_writer_stage(wr, rid, lc_json_get_str(c, "msg_id", ""),
				lc_json_get_str(c, "sender", ""), lc_json_get_str(c, "author", ""),
				lc_json_get_str(c, "text", ""), lc_real_ms(), &it->slot, err);
}

/* false: MongoDB cannot do it now (held, tried again). */
bool wsd_wcommand_prepare(wsd_writer_t *wr, witem_t *it)
{
	wsd_t *w = wr->w;
	json_object *c = it->cmd;
	const char *secret = wsd_roomcmd_secret(w);
	if (secret == NULL) {
		wsd_roomcmds_load_secret(w);
		if ((secret = wsd_roomcmd_secret(w)) == NULL)
			return false;
	}
	if (strcmp(lc_json_get_str(c, "secret", ""), secret) != 0) {
		it->forged = true;
		return true;
	}
	if (wsd_wcommand_expired(it)) {
		it->drop = true;   /* its sender answered unavailable: the client sends it again */
		return true;
	}
	const char *mid = lc_json_get_str(c, "msg_id", "");
	/* Agents' and system messages only: a customer's comes as a gateway message. */
	lc_sender_t sender = lc_sender_parse(lc_json_get_str(c, "sender", NULL));
	const char *text = lc_json_get_str(c, "text", NULL);
	lc_room_status_t status = lc_room_status_parse(lc_json_get_str(c, "status", NULL));
	if (*mid == '\0' || text == NULL || (sender != LC_SENDER_AGENT && sender != LC_SENDER_SYSTEM)) {
		it->rc = lc_err_set(&it->err, LC_ERR_INVALID, "malformed room command");
		return true;
	}
	wroom_t *r = NULL;
	lc_err_t err;
	lc_rc rc = check_and_stage(wr, it, &r, &err);
	if (wsd_writer_transient(rc))
		return false;
	if (rc != LC_OK) {
		it->rc = rc;
		it->err = err;
		return true;
	}
	/* The sender changed the room just before (a claim, a close): follow it. */
	if (status == LC_ROOM_ENGAGED || status == LC_ROOM_CLOSED)
		json_object_object_add(r->doc, "status",
				       json_object_new_string(lc_room_status_name(status)));
	if (status == LC_ROOM_ENGAGED) {
		json_object_object_add(r->doc, "agent_id", json_object_new_string(
			lc_json_get_str(c, "agent_id", "")));
		json_object_object_add(r->doc, "agent_name", json_object_new_string(
			lc_json_get_str(c, "agent_name", "")));
		wsd_wroom_set_status(wr, r, LC_ROOM_ENGAGED);
	} else if (status == LC_ROOM_CLOSED) {
		wsd_wroom_set_status(wr, r, LC_ROOM_CLOSED);
	}
	json_object_put(it->room);   /* prepared before, when staged again (seq taken) */
	it->room = json_object_new_object();
	static const char *const keys[] = { "id", "channel", "customer_id", "customer_name", NULL };
	for (const char *const *k = keys; *k; k++)
		json_object_object_add(it->room, *k, json_object_new_string(
			lc_json_get_str(r->doc, *k, "")));
	return true;
}

/* What a join asks for with its history_limit: the customer's last messages from what the
 * writer holds (wsd_batch_recent_history), when it holds them all and the message was stored
 * now (a re-send may come after another writer: the sender reads the pieces). NULL: none. A
 * command that engages or closes the room ends its wait for an agent: the tail goes. */
static json_object *finish_history(wsd_writer_t *wr, witem_t *it, lc_rc rc)
{
	const char *channel = lc_json_get_str(it->room, "channel", "");
	const char *customer = lc_json_get_str(it->room, "customer_id", "");
	int64_t limit = lc_json_get_int(it->cmd, "history_limit", 0);
	json_object *h = NULL;
	if (rc == LC_OK && it->room != NULL && limit > 0 && !it->slot.dup)
		h = wsd_batch_recent_history(wr->batch, channel, customer, limit);
	lc_room_status_t st = lc_room_status_parse(lc_json_get_str(it->cmd, "status", NULL));
	if (it->room != NULL && (st == LC_ROOM_ENGAGED || st == LC_ROOM_CLOSED))
		wsd_batch_recent_tail_drop(wr->batch, channel, customer);
	return h;
}

void wsd_wcommand_stored(wsd_writer_t *wr, witem_t *it)
{
	if (!it->slot.relaxed || it->history_done || it->rc != LC_OK || !it->slot.done ||
	    it->slot.rc != LC_OK)
		return;   /* a refused or retaken one reads nothing: no history to answer */
	it->history = finish_history(wr, it, LC_OK);
	it->history_done = true;
	if (it->history == NULL)
		wsd_batch_marks_hurry(wr->batch);
}

/* The history of the answer: the one taken after the store, or taken now. */
static json_object *answer_history(wsd_writer_t *wr, witem_t *it, lc_rc rc)
{
	if (!it->history_done)
		return finish_history(wr, it, rc);
	json_object *h = it->history;
	it->history = NULL;
	return h;
}

/* This node's own command: the answer goes to its sender in process; the stored message and the
 * room go with it (taken from the item: no json_object is shared between threads). */
static void finish_local(wsd_writer_t *wr, witem_t *it, lc_rc rc, const lc_err_t *err)
{
	wsd_roomcmd_result_t res;
	memset(&res, 0, sizeof res);
	res.rc = rc;
	if (rc != LC_OK) {
		res.err = *err;
	} else {
		res.msg = it->slot.stored;
		it->slot.stored = NULL;
		res.dup = it->slot.dup;
		res.history = answer_history(wr, it, rc);
		res.room = it->room;
		it->room = NULL;
	}
	wsd_roomcmd_local_answer(wr->w, lc_json_get_int(it->cmd, "cmd_id", 0), &res);
}

/* The answer to another node's command, serialized on the writer thread (no json_object
 * crosses threads), published by the loop (answer_publish). */
typedef struct answer {
	uint32_t magic;
#define ANSWER_MAGIC 0x616e7377u
	char *key, *body;
	lc_bus_delivery_t *d;    /* the command's delivery, acked once the answer is confirmed */
} answer_t;

static void answer_publish(wsd_t *w, void *arg)
{
	answer_t *ans;
	LC_CAST_OBJ(ans, arg, ANSWER_MAGIC);
	/* Even at shutdown: published or, failing that, the command is redelivered and its
	 * message (stored) is answered as a duplicate. Posted after the bus stopped (the last
	 * posts, wsd_loop_free), it is the latter: not acked. */
	if (w->bus != NULL) {
		wsd_busio_publish(w->bus, w->ex_nodes, ans->key, ans->body, NULL,
				  wsd_busio_ack_when_confirmed, ans->d);
	} else {
		free(ans->body);
		lc_bus_delivery_free(&ans->d);
	}
	free(ans->key);
	ans->magic = 0;
	free(ans);
}

void wsd_wcommand_finish(wsd_writer_t *wr, witem_t *it)
{
	wsd_t *w = wr->w;
	if (it->kind == WI_LOCAL && (it->forged || it->drop)) {
		/* Its sender already answered it unavailable (deadline) or cannot have sent it
		 * without the secret it read itself: nothing to answer. */
		return;
	}
	if (it->forged) {
		LC_WARN("room command %s without the writer secret rejected", it->d->message_id ?
			it->d->message_id : "?");
		wsd_busio_reject(w->bus, it->d, false);
		it->d = NULL;
		return;
	}
	if (it->drop) {
		wsd_busio_ack(w->bus, it->d);
		it->d = NULL;
		return;
	}
	lc_rc rc = it->rc;
	lc_err_t *err = &it->err;
	if (rc == LC_OK && it->slot.done && it->slot.rc != LC_OK) {
		rc = it->slot.rc;
		err = &it->slot.err;
	}
	if (it->kind == WI_LOCAL) {
		finish_local(wr, it, rc, err);
		return;
	}
	json_object *a = json_object_new_object();
	json_object_object_add(a, "type", json_object_new_string("room_appended"));
	json_object_object_add(a, "cmd_id", json_object_new_int64(lc_json_get_int(it->cmd, "cmd_id", 0)));
	json_object_object_add(a, "rc", json_object_new_string(lc_rc_name(rc)));
	if (rc != LC_OK) {
		json_object_object_add(a, "reason", json_object_new_string(err->reason));
		json_object_object_add(a, "field", json_object_new_string(err->field));
	} else {
		json_object_object_add(a, "message", json_object_get(it->slot.stored));
		json_object_object_add(a, "duplicate", json_object_new_boolean(it->slot.dup));
		json_object_object_add(a, "room", json_object_get(it->room));
		json_object *h = answer_history(wr, it, rc);
		if (h != NULL)
			json_object_object_add(a, "history", h);
	}
	answer_t *ans = lc_calloc(1, sizeof *ans);
	ans->magic = ANSWER_MAGIC;
	ans->key = lc_names_node_key(lc_json_get_str(it->cmd, "reply_to", "-"));
	ans->body = lc_strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	ans->d = it->d;
	it->d = NULL;
	json_object_put(a);
	/* Published from the loop, behind the room events of the customer messages stored before
	 * it (wsd_gateway_stored posts those to the loop too): the sender's node publishes the
	 * agent's message as a room event only after this answer, so no node can get a later seq
	 * of the room before an earlier one. Published from here, it could overtake them. */
	wsd_post(w, answer_publish, ans);
}
