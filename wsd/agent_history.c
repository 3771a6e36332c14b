/* SPDX-License-Identifier: MIT */
/* wsd_agent_history: what an agent reads of a room: history pages (who may read what), resume
 * of an engaged room after a reconnect, and the first read of a watched room. */
#include "config.h"
#include "agent_priv.h"
#include "events.h"
#include "gateway.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct history_job {
	uint32_t magic;
#define HISTORY_JOB_MAGIC 0x68697374u
	wsd_ajob_t h;
	int64_t before_seq, limit;
	json_object *items;     /* the page, oldest first */
	bool has_more;
} history_job_t;

/* resume (an engaged room after a reconnect) and the first read of a watched room. */
typedef struct resume_job {
	uint32_t magic;
#define RESUME_JOB_MAGIC 0x7273756du
	wsd_ajob_t h;
	bool watch;
	int64_t last_seq;       /* resume: the client has everything up to here */
	json_object *room, *items;
} resume_job_t;

/* Whether the job's agent may read the room (issue 4 §8, docs/websocket.md "history"): their
 * own room; any room with chats.monitor; with chats.history also a waiting request they may
 * accept and the earlier rooms of a customer they are engaged with now. */
static bool may_read(wsd_t *w, history_job_t *j)
{
	json_object *room = NULL, *open = NULL;
	j->h.rc = lc_store_room_get(w->store, j->h.room_id, &room, &j->h.err);
	if (j->h.rc != LC_OK)
		return false;
	bool ok = strcmp(lc_json_get_str(room, "agent_id", ""), j->h.user_id) == 0 ||
		  (j->h.perms & WSD_P_MONITOR);
	if (!ok && (j->h.perms & WSD_P_HISTORY)) {
		if (wsd_room_status(room) == LC_ROOM_WAITING)
			ok = (j->h.perms & WSD_P_ACCEPT) != 0;
		else {
			lc_err_t err;
			lc_rc rc = lc_store_room_find_open(w->store, lc_json_get_str(room, "channel", ""),
							   lc_json_get_str(room, "customer_id", ""),
							   &open, &err);
			if (rc != LC_OK && rc != LC_ERR_NOT_FOUND) {
				j->h.rc = rc;
				lc_err_set(&j->h.err, rc, "%s", err.reason);
				goto out;
			}
			ok = rc == LC_OK &&
			     wsd_room_status(open) == LC_ROOM_ENGAGED &&
			     strcmp(lc_json_get_str(open, "agent_id", ""), j->h.user_id) == 0;
		}
	}
	if (!ok)
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_FORBIDDEN, "not your room");
out:
	json_object_put(open);
	json_object_put(room);
	return j->h.rc == LC_OK;
}

/* The first n of items (newest first, as the store lists them) oldest first; items is put. */
static json_object *oldest_first(json_object *items, size_t n)
{
	json_object *out = json_object_new_array();
	for (size_t i = n; i-- > 0;)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(items, i)));
	json_object_put(items);
	return out;
}

static void history_run(wsd_t *w, void *arg)
{
	history_job_t *j;
	LC_CAST_OBJ(j, arg, HISTORY_JOB_MAGIC);
	json_object *items = NULL;
	if (!may_read(w, j))
		return;
	j->h.rc = lc_store_message_list_before(w->store, j->h.room_id, j->before_seq, j->limit + 1, &items, &j->h.err);
	if (j->h.rc != LC_OK)
		return;
	/* Newest first from the store, one extra to learn whether more exist. */
	size_t n = json_object_array_length(items);
	bool more = n > (size_t)j->limit;
	if (more)
		n = (size_t)j->limit;
	j->items = oldest_first(items, n);
	j->has_more = more;
}

static void history_done(wsd_t *w, void *arg)
{
	history_job_t *j;
	LC_CAST_OBJ(j, arg, HISTORY_JOB_MAGIC);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->h.handle);
	if (c == NULL)
		goto out;
	if (j->h.rc != LC_OK) {
		wsd_conn_error_room(c, j->h.rc, j->h.err.reason, j->h.room_id, j->h.ref);
		goto out;
	}
	json_object *f = wsd_conn_frame("history", j->h.ref);
	json_object_object_add(f, "room_id", json_object_new_string(j->h.room_id));
	json_object_object_add(f, "has_more", json_object_new_boolean(j->has_more));
	json_object_object_add(f, "messages", json_object_get(j->items));
	wsd_conn_send(c, f);
	json_object_put(f);
out:
	wsd_ajob_clear(&j->h);
	json_object_put(j->items);
	j->magic = 0;
	free(j);
}

void wsd_agent_history(wsd_conn_t *c, const char *room_id, int64_t before_seq, int64_t limit,
		       json_object *ref)
{
	history_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = HISTORY_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, NULL, ref);
	j->before_seq = before_seq;
	j->limit = limit;
	wsd_ajob_submit(&j->h, history_run, history_done, j);
}

static void resume_run(wsd_t *w, void *arg)
{
	resume_job_t *j;
	LC_CAST_OBJ(j, arg, RESUME_JOB_MAGIC);
	j->h.rc = lc_store_room_get(w->store, j->h.room_id, &j->room, &j->h.err);
	if (j->h.rc != LC_OK)
		return;
	bool watch = j->watch;
	if (!watch && wsd_room_status(j->room) != LC_ROOM_ENGAGED) {
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_CONFLICT, "the room is not open");
		return;
	}
	if (!watch && strcmp(lc_json_get_str(j->room, "agent_id", ""), j->h.user_id) != 0) {
		j->h.rc = lc_err_set(&j->h.err, LC_ERR_FORBIDDEN, "not your room");
		return;
	}
	if (watch) {
		json_object *items = NULL;
		int64_t limit = atomic_load(&w->history_limit);
		j->h.rc = lc_store_message_list_before(w->store, j->h.room_id, 0, limit, &items, &j->h.err);
		if (j->h.rc != LC_OK)
			return;
		j->items = oldest_first(items, json_object_array_length(items));
		return;
	}
	j->h.rc = wsd_room_messages_after(w, j->h.room_id, j->last_seq, &j->items, &j->h.err);
}

static void resume_done(wsd_t *w, void *arg)
{
	resume_job_t *j;
	LC_CAST_OBJ(j, arg, RESUME_JOB_MAGIC);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->h.handle);
	if (c == NULL)
		goto out;
	bool watch = j->watch;
	wsd_croom_t *r = wsd_croom_find(c, j->h.room_id);
	if (r == NULL)
		goto out;   /* unwatched or ended meanwhile */
	if (j->h.rc != LC_OK) {
		if (watch)
			wsd_room_unwatch(w, c, j->h.room_id);
		else
			wsd_croom_remove(c, j->h.room_id);
		wsd_conn_error_room(c, j->h.rc, j->h.err.reason, j->h.room_id, j->h.ref);
		goto out;
	}
	if (r->channel == NULL)
		r->channel = lc_strdup(lc_json_get_str(j->room, "channel", ""));
	if (r->customer_id == NULL)
		r->customer_id = lc_strdup(lc_json_get_str(j->room, "customer_id", ""));
	if (r->customer_name == NULL)
		r->customer_name = lc_strdup(lc_json_get_str(j->room, "customer_name", ""));
	json_object *f = wsd_conn_frame(watch ? "watching" : "resumed", j->h.ref);
	json_object_object_add(f, "room_id", json_object_new_string(j->h.room_id));
	if (watch)
		wsd_ajob_add_room(f, j->room);
	json_object_object_add(f, "messages", json_object_get(j->items));
	wsd_conn_send(c, f);
	json_object_put(f);
	/* resume: the client has everything up to its last_seq; watch: from the oldest sent. */
	int64_t first = watch ? wsd_ajob_first_seq(j->items, j->h.room_id) : 0;
	wsd_croom_live(c, r, watch ? (first > 0 ? first - 1 : 0) : j->last_seq, j->items);
out:
	wsd_ajob_clear(&j->h);
	json_object_put(j->room);
	json_object_put(j->items);
	j->magic = 0;
	free(j);
}

static void resume_submit(wsd_conn_t *c, const wsd_croom_t *r, const char *room_id, bool watch,
			  int64_t last_seq, json_object *ref)
{
	resume_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = RESUME_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, r, ref);
	j->watch = watch;
	j->last_seq = last_seq;
	wsd_ajob_submit(&j->h, resume_run, resume_done, j);
}

void wsd_agent_resume(wsd_conn_t *c, const wsd_croom_t *r, int64_t last_seq, json_object *ref)
{
	resume_submit(c, r, r->room_id, false, last_seq, ref);
}

void wsd_agent_watch_fetch(wsd_conn_t *c, const char *room_id)
{
	resume_submit(c, NULL, room_id, true, 0, NULL);
}
