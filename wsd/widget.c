/* SPDX-License-Identifier: MIT */
/* wsd_widget: /ws/widget (docs/websocket.md). The customer's identity is a secret the widget
 * keeps; the customer id is derived from it, so every node recognises the customer with nothing
 * stored per visitor. Customer frames are published to the inbound exchange like any gateway
 * does; outbound messages for widget.<customer_id> come back through this node's queue. Loop
 * thread (a publish is confirmed on the publisher thread). The reads from the store (welcome,
 * history) are in widget_read.c. */
#include "config.h"
#include "widget.h"
#include "busio.h"
#include "frames.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_validate.h"

#include <stdlib.h>
#include <string.h>

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
		a->ref = lc_json_copy(ref);
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
 * ws_max_jobs_per_address reads per address (widget_read.c). A message is named in its errors so the widget can send it
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
	{ .type = "history", .rules = history_rules, .handler = wsd_widget_history },
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
