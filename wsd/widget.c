/* SPDX-License-Identifier: MIT */
/* wsd_widget: /ws/widget (docs/websocket.md). The customer's identity is a secret the widget
 * keeps; the customer id is derived from it, so every node recognises the customer with nothing
 * stored per visitor. Customer frames are published to the inbound exchange like any gateway
 * does; outbound messages for widget.<customer_id> come back through this node's queue. */
#include "config.h"
#include "widget.h"
#include "busio.h"
#include "frames.h"
#include "gateway.h"
#include "room.h"
#include "worker.h"
#include "addrcap.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"
#include "lc_validate.h"

#include <stdlib.h>
#include <string.h>

/* ---- welcome and history: the open room and what the widget lacks, a page at a time */

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
	j->ref = ref ? json_object_get(ref) : NULL;
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

static void on_history(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	int64_t before = lc_json_get_int(frame, "before_seq", 0);
	if (!read_start(c, false, before > 0 ? before : 0, ref))
		wsd_conn_error(c, "busy", "history: a page is still loading: ask again once it came", ref);
}

/* ---- publishing the customer's frames as inbound gateway messages */

/* One per published frame the widget gets an ack for: created on the loop, confirmed on the
 * bus thread, answered on the loop. */
typedef struct wack {
	uint32_t magic;
#define WACK_MAGIC 0x7761636bu
	uint64_t handle;
	json_object *ref;
	char *id;
	bool ok;
} wack_t;

static void ack_loop(wsd_t *w, void *arg)
{
	wack_t *a;
	LC_CAST_OBJ(a, arg, WACK_MAGIC);
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, a->handle);
	if (c != NULL) {
		if (a->ok) {
			json_object *f = wsd_conn_frame("ack", a->ref);
			if (a->id)
				json_object_object_add(f, "id", json_object_new_string(a->id));
			wsd_conn_send(c, f);
			json_object_put(f);
		} else {
			wsd_conn_error_about(c, "unavailable", "not sent: try again", NULL, a->id, a->ref);
		}
	}
	json_object_put(a->ref);
	free(a->id);
	a->magic = 0;
	free(a);
}

static void ack_confirmed(wsd_t *w, void *arg, bool ok)
{
	wack_t *a;
	LC_CAST_OBJ(a, arg, WACK_MAGIC);
	a->ok = ok;
	wsd_post(w, ack_loop, a);
}

static void publish_inbound(wsd_conn_t *c, const char *type, const char *id, json_object *extra,
			    json_object *ref, const char *client_id, bool ack)
{
	wsd_t *w = c->w;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "channel", json_object_new_string("widget"));
	json_object_object_add(o, "customer_id", json_object_new_string(c->customer_id));
	json_object_object_add(o, "ts", json_object_new_int64(lc_real_ms()));
	if (c->customer_name)
		json_object_object_add(o, "customer_name", json_object_new_string(c->customer_name));
	if (extra) {
		json_object_object_foreach(extra, k, v) {
			json_object_object_add(o, k, json_object_get(v));
		}
	}
	wack_t *a = NULL;
	if (ack) {
		a = lc_calloc(1, sizeof *a);
		a->magic = WACK_MAGIC;
		a->handle = c->handle;
		a->ref = ref ? json_object_get(ref) : NULL;
		a->id = lc_strdup(client_id);
	}
	wsd_busio_publish_json(w->bus, w->ex_inbound, "widget", o, a ? ack_confirmed : NULL, a);
	json_object_put(o);
}

static char *unique_id(wsd_conn_t *c, const char *what)
{
	char rnd[9];
	if (lc_auth_random_hex(4, rnd, NULL) != LC_OK)
		strcpy(rnd, "0");
	return lc_asprintf("%s-%s-%lld-%s", c->customer_id, what, (long long)lc_real_ms(), rnd);
}

static void on_hello(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	static const lc_vrule_t rules[] = {
		{ "secret", LC_V_STRING, false, LC_AUTH_TOKEN_LEN, LC_AUTH_TOKEN_LEN,
		  &lc_vpattern_id, NULL },
		{ "last_seq", LC_V_INT, false, 0, 0, NULL, NULL },
		LC_VRULE_END
	};
	/* Checked here, not by the row: a second hello is refused whatever it carries. */
	if (c->state != WSD_CS_NEW) {
		wsd_conn_error(c, "validation_failed", "hello: already received", ref);
		return;
	}
	if (!wsd_frames_check(c, frame, rules, ref))
		return;
	const char *secret = lc_json_get_str(frame, "secret", NULL);
	char buf[LC_AUTH_TOKEN_LEN + 1];
	if (secret == NULL) {
		lc_err_t err;
		if (lc_auth_new_token(buf, &err) != LC_OK) {
			wsd_conn_error(c, "internal", "cannot create an identity", ref);
			return;
		}
		secret = buf;
	}
	char hash[LC_AUTH_TOKEN_HASH_LEN + 1];
	lc_auth_token_hash(secret, hash);
	c->customer_id = lc_asprintf("w%.24s", hash);
	c->token = lc_strdup(secret);
	c->last_seq = lc_json_get_int(frame, "last_seq", 0);
	if (c->last_seq < 0)
		c->last_seq = 0;
	c->state = WSD_CS_AUTH;
	wsd_room_widget_online(c->w, c);
}

static void on_request(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *name = lc_json_get_str(frame, "name", NULL);
	if (name && *name) {
		free(c->customer_name);
		c->customer_name = lc_strdup(name);
	}
	char *id = unique_id(c, "request");
	publish_inbound(c, "request_agent", id, NULL, ref, NULL, true);
	free(id);
}

static void on_message(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	const char *cid = lc_json_get_str(frame, "id", "");
	char *id = lc_asprintf("%s-%s", c->customer_id, cid);
	json_object *extra = json_object_new_object();
	json_object_object_add(extra, "text", json_object_new_string(lc_json_get_str(frame, "text", "")));
	publish_inbound(c, "customer_message", id, extra, ref, cid, true);
	json_object_put(extra);
	free(id);
}

static void on_typing(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	char *id = unique_id(c, "typing");
	json_object *extra = json_object_new_object();
	json_object_object_add(extra, "state", json_object_new_boolean(lc_json_get_bool(frame, "state", true)));
	publish_inbound(c, "customer_typing", id, extra, ref, NULL, false);
	json_object_put(extra);
	free(id);
}

static void on_leave(wsd_conn_t *c, json_object *frame, json_object *ref)
{
	char *id = unique_id(c, "leave");
	publish_inbound(c, "customer_left", id, NULL, ref, NULL, true);
	free(id);
}

static const lc_vrule_t request_rules[] = {
	{ "name", LC_V_STRING, false, 0, 100, NULL, NULL }, LC_VRULE_END
};
static const lc_vrule_t message_rules[] = {
	{ "id", LC_V_STRING, true, 1, 64, &lc_vpattern_id, NULL },
	{ "text", LC_V_STRING, true, 1, 4000, NULL, NULL },
	LC_VRULE_END
};

static const lc_vrule_t history_rules[] = {
	{ "before_seq", LC_V_INT, false, 0, 0, NULL, NULL }, LC_VRULE_END
};

/* request, message and typing are published to RabbitMQ and most are stored: a script must not
 * flood them (WSD_FRAME_RATE). history is bounded otherwise: one page at a time per connection,
 * ws_max_jobs_per_address reads per address (read_start). A message is named in its errors so the widget can send it
 * again later. */
static const wsd_frame_row_t widget_rows[] = {
	{ .type = "hello", .flags = WSD_FRAME_EARLY, .handler = on_hello },
	{ .type = "request", .rules = request_rules, .flags = WSD_FRAME_RATE | WSD_FRAME_PUBLISHES,
	  .handler = on_request },
	{ .type = "message", .rules = message_rules,
	  .flags = WSD_FRAME_RATE | WSD_FRAME_NAMES_ID | WSD_FRAME_PUBLISHES,
	  .handler = on_message },
	{ .type = "typing", .flags = WSD_FRAME_RATE | WSD_FRAME_PUBLISHES, .handler = on_typing },
	{ .type = "leave", .handler = on_leave },
	{ .type = "history", .rules = history_rules, .handler = on_history },
	{ .type = NULL }
};

static const wsd_frame_table_t widget_frames = {
	.rows = widget_rows,
	.names_room = false,
	.not_ready = "send hello and wait for welcome",
	.rate_limited = "too many frames: slow down and send it again",
};
/* The table itself, for the fuzz target of tests/fuzz (widget.h). */
const wsd_frame_table_t *const wsd_widget_frames = &widget_frames;

static bool widget_open(wsd_conn_t *c)
{
	c->state = WSD_CS_NEW;   /* until hello */
	return true;
}

static void widget_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref)
{
	wsd_frames_run(&widget_frames, c, type, frame, ref);
}

static void widget_closed(wsd_conn_t *c)
{
	wsd_room_rate_forget(c->w, c->handle);
	wsd_room_widget_offline(c->w, c);
}

const wsd_endpoint_t wsd_widget_endpoint = {
	.path = "/ws/widget",
	.alias = "/widget",
	.session = false,
	.customer_channel = "widget",
	.on_outbound = wsd_widget_outbound,
	.on_open = widget_open,
	.on_frame = widget_frame,
	.on_close = widget_closed,
	.on_customer_bound = wsd_widget_ready,
};

/* ---- outbound gateway messages -> widget frames */

static void to_widget(wsd_conn_t *c, void *ctx)
{
	json_object **fr = ctx;
	json_object *f = fr[0];
	const char *rid = lc_json_get_str(f, "room_id", "");
	const char *type = lc_json_get_str(f, "type", "");
	if (c->state != WSD_CS_READY && c->state != WSD_CS_AUTH)
		return;
	if (strcmp(type, "typing") == 0) {
		if (c->state == WSD_CS_READY)
			wsd_conn_send(c, f);
		return;
	}
	wsd_croom_t *r = wsd_croom_find(c, rid);
	if (r == NULL)
		r = wsd_croom_add(c, rid, "widget", c->customer_id, NULL,
				  WSD_CR_RESUMING, false);
	if (r->state == WSD_CR_RESUMING && c->state == WSD_CS_READY)
		wsd_croom_live(c, r, 0, NULL);
	if (strcmp(type, "ended") == 0 && r->state == WSD_CR_CATCHUP) {
		/* After the messages the catch-up read brings (catchup.c). */
		json_object_put(r->end);
		r->end = json_object_get(f);
		return;
	}
	wsd_croom_deliver(c, r, f);
	if (strcmp(type, "ended") == 0 && r->state == WSD_CR_LIVE)
		wsd_croom_remove(c, rid);
}

void wsd_widget_outbound(wsd_t *w, json_object *o)
{
	const char *cid = lc_json_get_str(o, "customer_id", NULL);
	if (cid == NULL || strcmp(lc_json_get_str(o, "channel", ""), "widget") != 0)
		return;
	json_object *f = wsd_event_widget_frame(o);
	if (f == NULL)
		return;
	json_object *ctx[1] = { f };
	wsd_room_each_widget(w, cid, to_widget, ctx);
	json_object_put(f);
}
