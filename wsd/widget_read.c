/* SPDX-License-Identifier: MIT */
/* wsd_widget reads: what a widget is sent of its customer's room from the store, a page at a
 * time: the welcome (the open room and the messages the widget lacks, once the customer's key
 * is bound: wsd_widget_ready) and the history frame (older pages). Each read is created on the
 * loop thread, run on the worker of the customer, and answered on the loop; widget.c holds the
 * endpoint and its other frames. */
#include "config.h"
#include "widget.h"
#include "worker.h"
#include "addrcap.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"

#include <stdlib.h>
#include <string.h>

/* One per read of a widget (its welcome, or a history page), created on the loop, run on the
 * worker of the customer, answered on the loop. A read is bounded (widget_page_messages,
 * widget_page_bytes) so that a room of thousands of long messages holds a worker for one page,
 * not for all of it, and its frame stays far below the send cap (issue 11, item 5). */
typedef struct wjob {
	uint32_t magic;
#define WJOB_MAGIC 0x776a6f62u
	uint64_t handle;
	char *customer_id;
	char *addr;             /* counted in WSD_CAP_JOBS until the answer */
	bool welcome;           /* else a history page */
	int64_t last_seq;       /* welcome: the widget has every seq up to here */
	int64_t before_seq;     /* history: messages below this seq (0: from the newest) */
	int64_t limit, max_bytes;
	json_object *ref;
	lc_rc rc;
	lc_err_t err;
	json_object *room, *items;
	bool has_more;
} wjob_t;

/* Keep from page (the room's messages below the page asked for, newest first, at most limit + 1)
 * those above after that fit limit messages and max_bytes (at least one): j->items oldest
 * first, j->has_more when some above after were left out. */
static void keep_page(wjob_t *j, json_object *page, int64_t after)
{
	size_t n = json_object_array_length(page), kept = 0, bytes = 0;
	for (; kept < n; kept++) {
		json_object *stored = json_object_array_get_idx(page, kept);
		lc_message_t m;
		lc_message_view(&m, stored);
		size_t len = 0;
		json_object_to_json_string_length(stored, JSON_C_TO_STRING_PLAIN, &len);
		if (m.seq <= after)
			break;
		if (kept == (size_t)j->limit || (kept > 0 && bytes + len > (size_t)j->max_bytes)) {
			j->has_more = true;
			break;
		}
		bytes += len;
	}
	j->items = json_object_new_array();
	for (size_t i = kept; i-- > 0;)
		json_object_array_add(j->items, json_object_get(json_object_array_get_idx(page, i)));
}

/* The newest messages of the room from its customer's recent (a few reads by _id: a query over
 * messages scans them all on FerretDB 1.24), newest first; NOT_FOUND when it keeps none. The
 * customer's rooms follow each other, so the room's messages end where another room's begin. */
static lc_rc recent_page(wsd_t *w, wjob_t *j, const char *room_id, json_object **page)
{
	json_object *all = NULL;
	lc_rc rc = lc_store_message_recent(w->store, room_id, "widget", j->customer_id, j->limit + 1,
					   &all, &j->err);
	if (rc != LC_OK)
		return rc;
	*page = json_object_new_array();
	for (size_t i = json_object_array_length(all); i-- > 0;) {
		json_object *stored = json_object_array_get_idx(all, i);
		lc_message_t m;
		lc_message_view(&m, stored);
		if (strcmp(m.room_id, room_id) != 0)
			break;
		json_object_array_add(*page, json_object_get(stored));
	}
	json_object_put(all);
	return LC_OK;
}

static void read_run(wsd_t *w, void *arg)
{
	wjob_t *j;
	LC_CAST_OBJ(j, arg, WJOB_MAGIC);
	json_object *page = NULL;
	j->rc = lc_store_room_find_open(w->store, "widget", j->customer_id, &j->room, &j->err);
	if (j->rc == LC_ERR_NOT_FOUND) {
		j->items = json_object_new_array();
		j->rc = LC_OK;
		return;
	}
	if (j->rc != LC_OK)
		return;
	const char *rid = lc_json_get_str(j->room, "id", "");
	/* A reload (no last_seq) shows the newest from the recent chunks, as accept does; a
	 * reconnect must get every seq above its last_seq, also one stored by a node that died
	 * before adding it to the chunks, so it asks messages, as history does: one bounded
	 * query each. */
	j->rc = j->welcome && j->last_seq == 0 ? recent_page(w, j, rid, &page) : LC_ERR_NOT_FOUND;
	if (j->rc == LC_ERR_NOT_FOUND)
		j->rc = lc_store_message_list_before(w->store, rid, j->before_seq, j->limit + 1,
						     &page, &j->err);
	if (j->rc == LC_OK)
		keep_page(j, page, j->welcome ? j->last_seq : 0);
	json_object_put(page);
}

static void welcome_send(wsd_conn_t *c, wjob_t *j)
{
	json_object *f = wsd_conn_frame("welcome", NULL);
	json_object_object_add(f, "customer_id", json_object_new_string(c->customer_id));
	json_object_object_add(f, "secret", json_object_new_string(c->token));
	free(c->token);
	c->token = NULL;
	const char *rid = NULL;
	if (j->room) {
		rid = lc_json_get_str(j->room, "id", "");
		json_object *r = json_object_new_object();
		json_object_object_add(r, "id", json_object_new_string(rid));
		json_object_object_add(r, "status", json_object_new_string(lc_json_get_str(j->room, "status", "")));
		const char *an = lc_json_get_str(j->room, "agent_name", NULL);
		json_object_object_add(r, "agent_name", an && *an ? json_object_new_string(an) : NULL);
		json_object_object_add(f, "room", r);
	} else {
		json_object_object_add(f, "room", NULL);
	}
	json_object_object_add(f, "messages", json_object_get(j->items));
	json_object_object_add(f, "has_more", json_object_new_boolean(j->has_more));
	wsd_conn_send(c, f);
	json_object_put(f);
	c->state = WSD_CS_READY;
	/* The widget has everything up to its last_seq and what welcome carries; what lies
	 * between comes by history, never live, nor by a catch-up (catchup.c reads above the
	 * floor): the floor starts below the page then. */
	int64_t floor = c->last_seq;
	if (j->has_more && json_object_array_length(j->items) > 0) {
		lc_message_t oldest;
		lc_message_view(&oldest, json_object_array_get_idx(j->items, 0));
		floor = oldest.seq > 0 ? oldest.seq - 1 : 0;
	}
	for (size_t i = 0; i < c->nrooms; i++) {
		bool open = rid && strcmp(rid, c->rooms[i].room_id) == 0;
		wsd_croom_live(c, &c->rooms[i], open ? floor : 0, open ? j->items : NULL);
	}
	if (rid && wsd_croom_find(c, rid) == NULL)
		wsd_croom_live(c, wsd_croom_add(c, rid, "widget", c->customer_id, NULL, WSD_CR_LIVE,
						false), floor, j->items);
}

static void history_send(wsd_conn_t *c, wjob_t *j)
{
	json_object *f = wsd_conn_frame("history", j->ref);
	json_object_object_add(f, "room_id", j->room ? json_object_new_string(
		lc_json_get_str(j->room, "id", "")) : NULL);
	json_object_object_add(f, "has_more", json_object_new_boolean(j->has_more));
	json_object_object_add(f, "messages", json_object_get(j->items));
	wsd_conn_send(c, f);
	json_object_put(f);
}

static void read_done(wsd_t *w, void *arg)
{
	wjob_t *j;
	LC_CAST_OBJ(j, arg, WJOB_MAGIC);
	wsd_addrcap_give(w->addrcap, j->addr, WSD_CAP_JOBS);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c == NULL)
		goto out;
	c->reading = false;
	if (j->rc != LC_OK && j->welcome) {
		wsd_conn_error(c, "unavailable", "cannot read the conversation now: reconnect later", NULL);
		wsd_conn_close(c, 1011, "unavailable");
	} else if (j->rc != LC_OK) {
		wsd_conn_error(c, "unavailable", "cannot read the conversation now: try again", j->ref);
	} else if (j->welcome) {
		welcome_send(c, j);
	} else {
		history_send(c, j);
	}
out:
	free(j->customer_id);
	free(j->addr);
	json_object_put(j->ref);
	json_object_put(j->room);
	json_object_put(j->items);
	j->magic = 0;
	free(j);
}

/* Start a read for c, one at a time per connection and at most ws_max_jobs_per_address per
 * client address; false (nothing started) beyond either. */
static bool read_start(wsd_conn_t *c, bool welcome, int64_t before_seq, json_object *ref)
{
	wsd_t *w = c->w;
	if (c->reading || !wsd_addrcap_take(w->addrcap, c->addr, WSD_CAP_JOBS,
					    lc_config_int(wsd_live(w), "ws_max_jobs_per_address")))
		return false;
	c->reading = true;
	wjob_t *j = lc_calloc(1, sizeof *j);
	j->magic = WJOB_MAGIC;
	j->handle = c->handle;
	j->customer_id = lc_strdup(c->customer_id);
	j->addr = lc_strdup(c->addr);
	j->welcome = welcome;
	j->last_seq = c->last_seq;
	j->before_seq = before_seq;
	j->limit = lc_config_int(w->cfg, "widget_page_messages");
	j->max_bytes = lc_config_int(w->cfg, "widget_page_bytes");
	j->ref = lc_json_copy(ref);
	j->rc = LC_ERR_UNAVAILABLE;
	wsd_workers_submit_customer(w, "widget", c->customer_id, read_run, read_done, j);
	return true;
}

void wsd_widget_ready(wsd_conn_t *c)
{
	if (read_start(c, true, 0, NULL))
		return;
	/* Its address has as many reads under way as it may: a widget reconnects later. */
	wsd_conn_error(c, "busy", "too many conversations are loading from your address: reconnect later", NULL);
	wsd_conn_close(c, 1013, "busy");
}

void wsd_widget_history(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	int64_t before = lc_json_get_int(frame, "before_seq", 0);
	if (!read_start(c, false, before > 0 ? before : 0, ref))
		wsd_conn_error(c, "busy", "history: a page is still loading: ask again once it came", ref);
}
