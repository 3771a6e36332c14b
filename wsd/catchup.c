/* SPDX-License-Identifier: MIT */
/* wsd_catchup: after this node's queue came back (a RabbitMQ restart, a broken link), the room
 * events and widget messages published while it was gone are lost. Every room a local connection
 * follows is read again from MongoDB and each connection gets what it lacks (seq dedup in
 * croom.c, so what also arrives live is sent once), and the ending of a room closed meanwhile. */
#include "config.h"
#include "room_priv.h"

#include "events.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"

#include <stdlib.h>
#include <string.h>

#define CATCHUP_RETRY_MS 2000

typedef struct cjob {
	uint64_t handle;
	char *room_id;          /* NULL: the widget customer's open room, if any */
	char *customer_id;      /* widget */
	const char *channel;    /* a customer's: its endpoint's channel; NULL: an agent's */
	bool widget;            /* channel != NULL */
	int64_t after;
	lc_rc rc;
	json_object *room, *items;
	char *end_text;         /* agent: the text of "ended" when the room is closed */
} cjob_t;

static void cjob_free(cjob_t *j)
{
	free(j->room_id);
	free(j->customer_id);
	json_object_put(j->room);
	json_object_put(j->items);
	free(j->end_text);
	free(j);
}

/* The text an agent gets with "ended", as the live path sends it (roomend.c): from the
 * settings, or the text the customer got (the last stored message, when the system's). */
static char *end_text(wsd_t *w, json_object *room)
{
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	if (wsd_event_ended_setting(v.close_reason) != NULL)
		return wsd_room_end_text(w, &v, v.close_reason, NULL);
	json_object *last = NULL;
	lc_err_t err;
	const char *said = NULL;
	if (lc_store_message_list_before(w->store, v.id, 0, 1, &last, &err) == LC_OK &&
	    json_object_array_length(last) == 1) {
		lc_message_t m;
		lc_message_view(&m, json_object_array_get_idx(last, 0));
		if (m.sender == LC_SENDER_SYSTEM)
			said = m.text;
	}
	char *t = wsd_room_end_text(w, &v, v.close_reason, said);
	json_object_put(last);
	return t;
}

static bool room_closed(json_object *room)
{
	return wsd_room_status(room) == LC_ROOM_CLOSED;
}

static void catchup_run(wsd_t *w, void *arg)
{
	cjob_t *j = arg;
	lc_err_t err;
	lc_err_clear(&err);
	if (j->room_id == NULL) {
		j->rc = lc_store_room_find_open(w->store, j->channel, j->customer_id, &j->room, &err);
		if (j->rc == LC_OK)
			j->room_id = lc_strdup(lc_json_get_str(j->room, "id", ""));
	} else {
		j->rc = lc_store_room_get(w->store, j->room_id, &j->room, &err);
	}
	if (j->rc == LC_OK)
		j->rc = wsd_room_messages_after(w, j->room_id, j->after, &j->items, &err);
	if (j->rc == LC_OK && !j->widget && room_closed(j->room))
		j->end_text = end_text(w, j->room);
	if (j->rc != LC_OK && j->rc != LC_ERR_NOT_FOUND)
		LC_WARN("catch-up of room %s: %s", j->room_id ? j->room_id : j->customer_id,
			err.reason);
}

/* The outbound message each stored system message was published as (by its id's suffix), so
 * the widget frame comes from the one builder the live path uses (wsd_event_widget_frame). */
static const struct {
	const char *suffix, *type;
} system_rows[] = {
	{ .suffix = "-waiting", .type = "request_waiting" },
	{ .suffix = "-join", .type = "agent_joined" },
	{ .suffix = "-end", .type = "session_ended" },
	{ .suffix = "-noagent", .type = "session_ended" },
	{ .suffix = "-disconnected", .type = "session_ended" },
};

/* The widget frame of a stored message (docs/websocket.md, /ws/widget), or NULL for the
 * customer's own messages (the widget has them). */
static json_object *widget_frame(json_object *stored, json_object *room)
{
	lc_message_t m;
	lc_message_view(&m, stored);
	if (m.sender == LC_SENDER_CUSTOMER)
		return NULL;
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	size_t rlen = strlen(v.id);
	const char *suffix = strncmp(m.id, v.id, rlen) == 0 ? m.id + rlen : "";
	const char *type = NULL;
	bool system = m.sender == LC_SENDER_SYSTEM;
	for (size_t i = 0; system && i < sizeof system_rows / sizeof system_rows[0]; i++)
		if (strcmp(suffix, system_rows[i].suffix) == 0)
			type = system_rows[i].type;
	if (type == NULL) {
		json_object *f = wsd_room_frame("message");
		json_object_object_add(f, "room_id", json_object_new_string(v.id));
		json_object_object_add(f, "message", json_object_get(stored));
		return f;
	}
	wsd_event_t e;
	wsd_event_message(&e, &v, &m);
	e.reason = v.close_reason;
	e.agent_id = v.agent_id;
	e.agent_name = v.agent_name;
	json_object *o = wsd_event_outbound(type, &e);
	json_object *f = wsd_event_widget_frame(o);
	json_object_put(o);
	return f;
}

/* The frames the connection gets for the messages read (seq order). */
static json_object *frames_of(cjob_t *j)
{
	json_object *frames = json_object_new_array();
	for (size_t i = 0; j->items && i < json_object_array_length(j->items); i++) {
		json_object *m = json_object_array_get_idx(j->items, i), *f;
		if (j->widget) {
			f = widget_frame(m, j->room);
		} else {
			f = wsd_room_frame("message");
			json_object_object_add(f, "room_id", json_object_new_string(j->room_id));
			json_object_object_add(f, "message", json_object_get(m));
		}
		if (f != NULL)
			json_object_array_add(frames, f);
	}
	return frames;
}

/* The "ended" frame of a room found closed that the stored messages do not carry: an agent's
 * (reason and text as the live paths send them), a widget's customer_left (no stored text). */
static json_object *end_frame(cjob_t *j)
{
	wsd_room_view_t v;
	wsd_room_view(&v, j->room);
	const char *reason = v.close_reason ? v.close_reason : "";
	if (v.status != LC_ROOM_CLOSED || (j->widget && strcmp(reason, "customer_left") != 0))
		return NULL;
	v.id = j->room_id;
	wsd_event_t e = { .room = &v, .reason = reason, .text = j->end_text };
	return wsd_event_ended(&e);
}

/* Send what was read and what waited, then the ending if the room closed meanwhile. */
static void finish(wsd_t *w, wsd_conn_t *c, wsd_croom_t *r, cjob_t *j)
{
	json_object *frames = j->rc == LC_OK ? frames_of(j) : NULL;
	wsd_croom_catchup(c, r, frames);
	json_object_put(frames);
	if (r->state != WSD_CR_LIVE)
		return;   /* an accept or resume is under way: its answer tells the ending */
	bool closed = j->rc == LC_OK && room_closed(j->room);
	json_object *end = r->end ? json_object_get(r->end) : j->rc == LC_OK ? end_frame(j) : NULL;
	if (end != NULL) {
		if (c->ep->customer_channel != NULL)
			wsd_croom_deliver(c, r, end);   /* not twice: its seq may have come already */
		else
			wsd_conn_send(c, end);
		json_object_put(end);
	}
	if (end == NULL && !closed)
		return;
	char *rid = lc_strdup(r->room_id);
	if (r->watch)
		wsd_room_unwatch(w, c, rid);
	else
		wsd_croom_remove(c, rid);
	free(rid);
}

static void catchup_done(wsd_t *w, void *arg)
{
	cjob_t *j = arg;
	if (!w->stop)
		w->rooms->catchup_jobs--;
	wsd_conn_t *c = w->stop ? NULL : wsd_conn_find(w, j->handle);
	if (c == NULL || c->state != WSD_CS_READY)
		goto out;
	if (j->rc != LC_OK && j->rc != LC_ERR_NOT_FOUND)
		w->rooms->catchup_at = lc_mono_ms() + CATCHUP_RETRY_MS;   /* read again soon */
	wsd_croom_t *r = j->room_id ? wsd_croom_find(c, j->room_id) : NULL;
	if (r == NULL && j->customer_id != NULL && j->rc == LC_OK)   /* a widget's new room */
		r = wsd_croom_add(c, j->room_id, j->channel, c->customer_id, NULL, WSD_CR_LIVE, false);
	if (r != NULL)
		finish(w, c, r, j);   /* on failure: what waited goes out now, the rest later */
out:
	cjob_free(j);
}

static void submit(wsd_t *w, wsd_conn_t *c, wsd_croom_t *r)
{
	cjob_t *j = lc_calloc(1, sizeof *j);
	j->handle = c->handle;
	j->channel = c->ep->customer_channel;
	j->widget = j->channel != NULL;
	j->rc = LC_ERR_UNAVAILABLE;
	if (r != NULL) {
		j->room_id = lc_strdup(r->room_id);
		j->after = wsd_croom_floor(r);
	} else {
		j->customer_id = lc_strdup(c->customer_id);
		j->after = 0;   /* a new room: the widget has none of it */
	}
	w->rooms->catchup_jobs++;
	/* On the worker of the room's customer, after the room's jobs already queued. */
	const char *channel = j->widget ? j->channel : r->channel;
	const char *cust = j->widget ? c->customer_id : r->customer_id;
	if (channel && cust)
		wsd_workers_submit_customer(w, channel, cust, catchup_run, catchup_done, j);
	else
		wsd_workers_submit(w->workers, j->room_id, catchup_run, catchup_done, j);
}

static void catchup_conn(wsd_conn_t *c, void *ctx)
{
	if (c->state != WSD_CS_READY)
		return;   /* its hello / welcome is still to come, read after the bindings */
	for (size_t i = 0; i < c->nrooms; i++) {
		/* Live messages wait until the read is sent, so they go out in seq order. */
		if (c->rooms[i].state == WSD_CR_LIVE)
			c->rooms[i].state = WSD_CR_CATCHUP;
		submit(c->w, c, &c->rooms[i]);
	}
	if (c->ep->customer_channel != NULL && c->nrooms == 0)
		submit(c->w, c, NULL);   /* a room opened while the node heard nothing */
}

static void hold_conn(wsd_conn_t *c, void *ctx)
{
	(void)ctx;
	if (c->state != WSD_CS_READY)
		return;
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].state == WSD_CR_LIVE)
			c->rooms[i].state = WSD_CR_CATCHUP;
}

void wsd_room_catchup_hold(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	wsd_conn_each(w, hold_conn, NULL);
}

void wsd_room_catchup(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	w->rooms->catchup_at = 0;
	LC_INFO("node %s: catching up the rooms of %zu connections", w->node_id, w->nconns);
	wsd_conn_each(w, catchup_conn, NULL);
}

lc_rc wsd_room_messages_after(wsd_t *w, const char *room_id, int64_t after,
			      json_object **items, lc_err_t *err)
{
	*items = json_object_new_array();
	for (;;) {
		json_object *page = NULL;
		lc_rc rc = lc_store_message_list_after(w->store, room_id, after, 500, &page, err);
		if (rc != LC_OK)
			return rc;
		size_t n = json_object_array_length(page);
		for (size_t i = 0; i < n; i++) {
			json_object *stored = json_object_array_get_idx(page, i);
			json_object_array_add(*items, json_object_get(stored));
			lc_message_t m;
			lc_message_view(&m, stored);
			if (m.seq > 0)
				after = m.seq;
		}
		json_object_put(page);
		if (n < 500 || json_object_array_length(*items) >= 5000)
			return LC_OK;
	}
}
