/* SPDX-License-Identifier: MIT */
/* wsd_roomcmd, the direct store: while RabbitMQ is away the room's writer cannot be reached, so
 * this node stores an agent's or a system message itself, on a worker (the room's key), with
 * the checks the writer would make; and the seq marks ("above_seq") such a store leaves for the
 * writer's next commands of the room. Sending and answers are in roomcmd.c. */
#include "config.h"
#include "roomcmd_priv.h"
#include "worker.h"
#include "writer.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_room_status.h"

#include <stdlib.h>
#include <string.h>

/* A seq this node stored itself lies above the block the room's writer reserved before, so the
 * writer's next seqs from that block would come out below it. The node's next commands of the
 * room carry the mark ("above_seq") until the writer answered one: the writer then takes a
 * new block (wcommand.c). No query in the normal path, nothing when no direct store happened. */
static void direct_mark(wsd_roomcmds_t *r, const char *room_id, int64_t seq)
{
	pthread_mutex_lock(&r->lock);
	int64_t *m = wsd_map_get(r->direct, room_id);
	if (m == NULL) {
		m = lc_calloc(1, sizeof *m);
		wsd_map_put(r->direct, room_id, m);
	}
	if (seq > *m)
		*m = seq;
	pthread_mutex_unlock(&r->lock);
}

/* The mark of room_id (0: none). Under r->lock. */
int64_t wsd_roomcmd_mark_of(wsd_roomcmds_t *r, const char *room_id)
{
	int64_t *m = room_id ? wsd_map_get(r->direct, room_id) : NULL;
	return m ? *m : 0;
}

/* The writer answered the command body: the mark it carried is known there now. */
void wsd_roomcmd_mark_settled(wsd_roomcmds_t *r, json_object *body, lc_rc rc)
{
	int64_t sent = body ? lc_json_get_int(body, "above_seq", 0) : 0;
	if (rc != LC_OK || sent <= 0)
		return;
	const char *rid = lc_json_get_str(body, "room_id", "");
	pthread_mutex_lock(&r->lock);
	int64_t *m = wsd_map_get(r->direct, rid);
	if (m != NULL && *m <= sent)
		free(wsd_map_del(r->direct, rid));
	pthread_mutex_unlock(&r->lock);
}

/* The message of c, not stored yet, with a seq above every seq handed out. That seq may still
 * be in use: a writer whose block the counter does not show (two reservations that met on a
 * database without atomic $inc) stores there too; the unique (room_id, seq) index refuses the
 * second, and a new seq above it stores this one (bounded: then unavailable, sent again). */
static void direct_insert(wsd_t *w, json_object *c, json_object *room, wsd_roomcmd_result_t *res)
{
	const char *rid = lc_json_get_str(c, "room_id", "");
	lc_store_msg_t m = {
		.msg_id = lc_json_get_str(c, "msg_id", ""), .room_id = rid,
		.channel = lc_json_get_str(room, "channel", ""),
		.customer_id = lc_json_get_str(room, "customer_id", ""),
		.sender = lc_json_get_str(c, "sender", ""), .author = lc_json_get_str(c, "author", ""),
		.text = lc_json_get_str(c, "text", ""),
	};
	for (int attempt = 0;; attempt++) {
		/* Again: above the block of the seq found taken, a writer's (the counter may not
		 * show it: two reservations that met), not at its next seq. */
		int64_t above = m.seq > 0 ? m.seq + WSD_SEQ_BLOCK - 1 : 0;
		res->rc = lc_store_seq_reserve_above(w->store, rid, 1, above, &m.seq, NULL,
						     &res->err);
		if (res->rc == LC_OK)
			res->rc = lc_store_message_insert_batch(w->store, &m, 1, &res->err);
		if (res->rc != LC_OK || m.result != LC_STORE_MSG_FAILED)
			break;
		if (!wsd_seq_taken(m.err.code, &m.err)) {
			res->rc = lc_err_set(&res->err, m.err.code, "%s", m.err.reason);
			break;
		}
		LC_INFO("room %s: %s; storing it with a new seq", rid, m.err.reason);
		if (attempt + 1 >= WSD_SEQ_RETAKES) {
			res->rc = lc_err_set(&res->err, LC_ERR_UNAVAILABLE,
					     "another writer keeps storing in the room; send it again");
			break;
		}
	}
	if (res->rc == LC_OK) {
		res->msg = m.stored;
		res->dup = m.result == LC_STORE_MSG_DUPLICATE;
		if (!res->dup)
			direct_mark(w->roomcmds, rid, m.seq);
	} else {
		json_object_put(m.stored);
	}
}

/* RabbitMQ is away, so the room's writer cannot be reached, and agents' messages are still
 * stored and acked (docs/websocket.md): this node stores the message itself, with the checks
 * the writer would make: the room by _id, the message by _id (a re-send), a seq of its own
 * above every seq handed out (lc_store_seq_reserve), one insert. Worker. */
void wsd_roomcmd_direct_store(wsd_t *w, json_object *c, wsd_roomcmd_result_t *res)
{
	const char *rid = lc_json_get_str(c, "room_id", ""), *mid = lc_json_get_str(c, "msg_id", "");
	const char *check = lc_json_get_str(c, "check_agent", NULL);
	json_object *room = NULL;
	memset(res, 0, sizeof *res);
	res->rc = lc_store_room_get(w->store, rid, &room, &res->err);
	if (res->rc == LC_OK && check != NULL) {
		if (strcmp(lc_json_get_str(room, "agent_id", ""), check) != 0)
			res->rc = lc_err_set(&res->err, LC_ERR_FORBIDDEN, "not your room");
		else if (lc_room_status_parse(lc_json_get_str(room, "status", NULL)) != LC_ROOM_ENGAGED)
			res->rc = lc_err_set(&res->err, LC_ERR_CONFLICT, "the room is already closed");
	}
	if (res->rc == LC_OK) {
		res->rc = lc_store_message_get(w->store, rid, mid, &res->msg, &res->err);
		res->dup = res->rc == LC_OK;
	}
	if (res->rc == LC_ERR_NOT_FOUND)
		direct_insert(w, c, room, res);
	if (res->rc == LC_OK) {
		res->room = json_object_new_object();
		static const char *const keys[] = { "id", "channel", "customer_id", "customer_name",
						    NULL };
		for (const char *const *k = keys; *k; k++)
			json_object_object_add(res->room, *k, json_object_new_string(
				lc_json_get_str(room, *k, "")));
	} else {
		json_object_put(res->msg);
		res->msg = NULL;
	}
	json_object_put(room);
}

typedef struct fallback {
	json_object *body;
	wsd_roomcmd_fn done;
	void *arg;
} fallback_t;

static void fallback_run(wsd_t *w, void *arg)
{
	fallback_t *f = arg;
	wsd_roomcmd_result_t res;
	if (w->stop) {
		memset(&res, 0, sizeof res);
		res.rc = lc_err_set(&res.err, LC_ERR_UNAVAILABLE, "stopping");
	} else {
		wsd_roomcmd_direct_store(w, f->body, &res);
	}
	f->done(w, f->arg, &res);
	json_object_put(f->body);
	free(f);
}

void wsd_roomcmd_fallback(wsd_t *w, json_object *body, wsd_roomcmd_fn done, void *arg)
{
	atomic_fetch_add(&w->roomcmds->n_direct, 1);
	fallback_t *f = lc_calloc(1, sizeof *f);
	f->body = body;
	f->done = done;
	f->arg = arg;
	wsd_workers_submit(w->workers, lc_json_get_str(body, "room_id", NULL), fallback_run, NULL,
			   f);
}

static void free_value_cb(const char *key, void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	free(value);
}

void wsd_roomcmd_marks_free(wsd_roomcmds_t *r)
{
	wsd_map_each(r->direct, free_value_cb, NULL);
	wsd_map_free(&r->direct);
}
