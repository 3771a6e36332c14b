/* SPDX-License-Identifier: MIT */
/* wsd_room: the loop's view of rooms (see room.h and docs/topology.md): shared helpers, the
 * publish helpers (any thread), the dispatch of node-to-node events, the tick and the lifecycle.
 * Requests, presence, grace timers and local followers have files of their own (room_priv.h). */
#include "config.h"
#include "room_priv.h"

#include "events.h"
#include "rate.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESENCE_EVERY_MS 5000
#define RESYNC_EVERY_MS 30000
/* How often a worker is asked for the settings: it reads them only when they are older than
 * --settings-check or a settings event expired them (wsd_settings_get). */
#define SETTINGS_EVERY_MS 1000

/* ---- small helpers */

void wsd_cvec_add(cvec_t *cv, wsd_conn_t *c)
{
	if (cv->cap == 0) {
		cv->v = &cv->one;
		cv->cap = 1;
	} else if (cv->n == cv->cap) {
		size_t cap = cv->cap * 2;
		if (cv->v == &cv->one) {
			cv->v = lc_malloc(cap * sizeof *cv->v);
			cv->v[0] = cv->one;
		} else {
			cv->v = lc_realloc(cv->v, cap * sizeof *cv->v);
		}
		cv->cap = cap;
	}
	cv->v[cv->n++] = c;
}

void wsd_cvec_free(cvec_t *cv)
{
	if (cv->v != &cv->one)
		free(cv->v);
	*cv = (cvec_t){ 0 };
}

void wsd_cvec_del(cvec_t *cv, wsd_conn_t *c)
{
	for (size_t i = 0; i < cv->n; i++)
		if (cv->v[i] == c) {
			cv->v[i] = cv->v[--cv->n];
			return;
		}
}

group_t *wsd_group_get(wsd_map_t *m, const char *key, bool create)
{
	group_t *g = wsd_map_get(m, key);
	if (g == NULL && create) {
		g = lc_calloc(1, sizeof *g);
		wsd_map_put(m, key, g);
	}
	return g;
}

void wsd_group_drop(wsd_map_t *m, const char *key)
{
	group_t *g = wsd_map_del(m, key);
	if (g) {
		wsd_cvec_free(&g->conns);
		free(g);
	}
}

bool wsd_str_in(json_object *arr, const char *s)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
		if (v && strcmp(v, s) == 0)
			return true;
	}
	return false;
}

json_object *wsd_room_frame(const char *type)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

void wsd_copy_key(json_object *dst, json_object *src, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
}

/* ---- publishing (any thread) */

void wsd_room_publish_event(wsd_t *w, const char *room_id, const char *agent_id,
			    json_object *obj, wsd_pub_done_fn done, void *arg)
{
	if (wsd_solo_take(w, room_id, agent_id, obj, done, arg))
		return;   /* alone: delivered here (solo.c) */
	char *key = lc_names_room_key(room_id, agent_id);
	wsd_busio_publish_json(w->bus, w->ex_nodes, key, obj, done, arg);
	free(key);
}

void wsd_room_broadcast(wsd_t *w, const char *kind, json_object *obj)
{
	char *key = lc_names_broadcast_key(kind);
	json_object_object_add(obj, "node", json_object_new_string(w->node_id));
	wsd_busio_publish_json(w->bus, w->ex_nodes, key, obj, NULL, NULL);
	free(key);
}

void wsd_room_publish_outbound(wsd_t *w, json_object *obj, wsd_pub_done_fn done, void *arg)
{
	char *key = lc_names_outbound_key(lc_json_get_str(obj, "channel", ""),
					  lc_json_get_str(obj, "customer_id", ""));
	wsd_busio_publish_json(w->bus, w->ex_outbound, key, obj, done, arg);
	free(key);
}

void wsd_room_publish_outbound_ephemeral(wsd_t *w, json_object *obj)
{
	char *key = lc_names_outbound_key(lc_json_get_str(obj, "channel", ""),
					  lc_json_get_str(obj, "customer_id", ""));
	wsd_busio_publish_ephemeral(w->bus, w->ex_outbound, key, obj);
	free(key);
}

static void settings_run(wsd_t *w, void *arg)
{
	json_object_put(wsd_settings_get(w));
}

/* ---- node-to-node events: one row per broadcast type */

static void on_offer(wsd_t *w, json_object *ev)
{
	json_object *room;
	if (json_object_object_get_ex(ev, "room", &room))
		wsd_room_req_add(w, room);
}

static void on_taken(wsd_t *w, json_object *ev)
{
	wsd_room_req_remove(w, lc_json_get_str(ev, "room_id", ""), "taken");
}

static void on_withdrawn(wsd_t *w, json_object *ev)
{
	wsd_room_req_remove(w, lc_json_get_str(ev, "room_id", ""),
			    lc_json_get_str(ev, "reason", "closed"));
}

static void on_updated(wsd_t *w, json_object *ev)
{
	wsd_room_req_set_first(w, lc_json_get_str(ev, "room_id", ""),
			       lc_json_get_str(ev, "first_message", NULL));
}

static void on_declined(wsd_t *w, json_object *ev)
{
	const char *rid = lc_json_get_str(ev, "room_id", ""), *uid = lc_json_get_str(ev, "user_id", "");
	req_t *q = wsd_map_get(w->rooms->reqs, rid);
	if (q && !wsd_str_in(q->declined, uid))
		json_object_array_add(q->declined, json_object_new_string(uid));
	group_t *g = wsd_map_get(w->rooms->users, uid);
	wsd_room_view_t v = { .id = rid };
	json_object *f = wsd_event_request_withdrawn(&(wsd_event_t){ .room = &v, .reason = "declined" });
	for (size_t i = 0; g && i < g->conns.n; i++)
		if (g->conns.v[i]->state == WSD_CS_READY)
			wsd_conn_send(g->conns.v[i], f);
	json_object_put(f);
}

/* PATCH /api/settings changed them: read them now, not at the periodic re-read. */
static void on_settings(wsd_t *w, json_object *ev)
{
	wsd_settings_expire(w);
	wsd_workers_submit(w->workers, NULL, settings_run, NULL, NULL);
}

static void on_revoke(wsd_t *w, json_object *ev)
{
	group_t *g = wsd_map_get(w->rooms->users, lc_json_get_str(ev, "user_id", ""));
	for (size_t i = 0; g && i < g->conns.n; i++)
		if (g->conns.v[i]->ep->on_recheck != NULL)
			g->conns.v[i]->ep->on_recheck(g->conns.v[i]);
}

static const struct {
	const char *type;
	void (*handler)(wsd_t *w, json_object *ev);
} event_rows[] = {
	{ .type = "offer", .handler = on_offer },
	{ .type = "taken", .handler = on_taken },
	{ .type = "withdrawn", .handler = on_withdrawn },
	{ .type = "updated", .handler = on_updated },
	{ .type = "declined", .handler = on_declined },
	{ .type = "presence", .handler = wsd_room_presence_update },
	{ .type = "settings", .handler = on_settings },
	{ .type = "revoke", .handler = on_revoke },
};

/* Outbound gateway messages go to the endpoints that take them (on_outbound: the widget's),
 * room events to the room's local
 * followers (follow.c), the rest by type; an unknown type is ignored (a newer node's). */
void wsd_room_event(wsd_t *w, void *arg)
{
	WSD_ASSERT_LOOP(w);
	lc_bus_delivery_t *d;
	LC_CAST_OBJ(d, arg, LC_BUS_DELIVERY_MAGIC);
	if (w->stop)
		goto out;
	lc_err_t err;
	json_object *ev = lc_json_parse(d->body, d->len, &err);
	if (ev == NULL || !json_object_is_type(ev, json_type_object)) {
		LC_WARN("ignoring a malformed event on %s", d->routing_key ? d->routing_key : "?");
		json_object_put(ev);
		goto out;
	}
	const char *type = lc_json_get_str(ev, "type", "");
	if (d->exchange && strcmp(d->exchange, w->ex_outbound) == 0) {
		for (const wsd_endpoint_t *const *ep = w->rooms->endpoints; *ep; ep++)
			if ((*ep)->on_outbound != NULL)
				(*ep)->on_outbound(w, ev);
	} else if (strncmp(d->routing_key ? d->routing_key : "", LC_NAMES_ROOM_PREFIX,
			   sizeof LC_NAMES_ROOM_PREFIX - 1) == 0) {
		wsd_room_event_local(w, ev, type);
	} else {
		for (size_t i = 0; i < sizeof event_rows / sizeof event_rows[0]; i++)
			if (strcmp(event_rows[i].type, type) == 0) {
				event_rows[i].handler(w, ev);
				break;
			}
	}
	json_object_put(ev);
out:
	lc_bus_delivery_free(&d);
}

/* ---- lifecycle and the tick */

void wsd_room_bus_ready(wsd_t *w, void *arg)
{
	WSD_ASSERT_LOOP(w);
	if (w->stop)
		return;
	LC_INFO("node %s: RabbitMQ topology ready", w->node_id);
	w->rooms->ready = true;
	wsd_room_resync(w);
	wsd_room_presence_publish(w, true);
	/* What was published while this node's queue was gone (none at the first start): read
	 * once no other node is alone (solo.c), which would not have published it. */
	wsd_solo_ready(w);
	/* A settings event published before the queue was bound (a PATCH during start-up, or
	 * while RabbitMQ was away) is lost: read the settings again, not at --settings-check. */
	on_settings(w, NULL);
}

static void settings_done(wsd_t *w, void *arg)
{
	if (w->rooms != NULL)
		w->rooms->settings_busy = false;
}

/* The connection's endpoint checks again that it may stay (agents: the session). */
static void check_one(wsd_conn_t *c, void *ctx)
{
	if (c->ep->on_recheck != NULL && c->state == WSD_CS_READY)
		c->ep->on_recheck(c);
}

void wsd_room_tick(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	wsd_rooms_t *R = w->rooms;
	int64_t now = lc_mono_ms();
	if (now - R->last_settings >= SETTINGS_EVERY_MS && !R->settings_busy) {
		R->last_settings = now;
		R->settings_busy = true;
		wsd_workers_submit(w->workers, NULL, settings_run, settings_done, NULL);
	}
	wsd_room_grace_expire(w, now);
	if (!R->ready)
		return;
	wsd_room_req_timeouts(w, now);
	if (R->catchup_at != 0 && now >= R->catchup_at && R->catchup_jobs == 0)
		wsd_room_catchup(w);
	if (now - R->last_presence >= PRESENCE_EVERY_MS)
		wsd_room_presence_publish(w, false);
	wsd_room_presence_expire(w, now);
	wsd_solo_tick(w, now);
	if (now - R->last_resync >= RESYNC_EVERY_MS)
		wsd_room_resync(w);
	if (now - R->last_session_check >= 1000LL * w->session_check_s) {
		R->last_session_check = now;
		wsd_conn_each(w, check_one, NULL);
	}
}

void wsd_rooms_init(wsd_t *w, const wsd_endpoint_t *const *endpoints)
{
	wsd_rooms_t *R = lc_calloc(1, sizeof *R);
	R->endpoints = endpoints;
	R->users = wsd_map_new();
	R->widgets = wsd_map_new();
	R->watchers = wsd_map_new();
	R->reqs = wsd_map_new();
	R->jobs = wsd_map_new();
	R->buckets = wsd_map_new();
	R->last_session_check = R->started_at = lc_mono_ms();
	w->rooms = R;
	wsd_solo_init(w);
}

static void free_group(const char *k, void *v, void *ctx)
{
	group_t *g = v;
	wsd_cvec_free(&g->conns);
	free(g);
}

static void free_req(const char *k, void *v, void *ctx)
{
	wsd_room_req_free(v);
}

static void free_value(const char *k, void *v, void *ctx)
{
	(void)k;
	(void)ctx;
	free(v);
}

void wsd_rooms_free(wsd_t *w)
{
	wsd_rooms_t *R = w->rooms;
	if (R == NULL)
		return;
	wsd_solo_free(w);
	wsd_map_each(R->users, free_group, NULL);
	wsd_map_each(R->widgets, free_group, NULL);
	wsd_map_each(R->watchers, free_group, NULL);
	wsd_map_each(R->reqs, free_req, NULL);
	wsd_map_free(&R->users);
	wsd_map_free(&R->widgets);
	wsd_map_free(&R->watchers);
	wsd_map_free(&R->reqs);
	wsd_map_free(&R->jobs);   /* values are counts, nothing to free */
	wsd_map_each(R->buckets, free_value, NULL);
	wsd_map_free(&R->buckets);
	while (R->grace) {
		grace_t *g = R->grace;
		R->grace = g->next;
		wsd_room_grace_free(g);
	}
	while (R->presence) {
		presence_t *p = R->presence;
		R->presence = p->next;
		wsd_room_presence_free(p);
	}
	free(R);
	w->rooms = NULL;
}

/* ---- agent jobs in flight per connection (the values are counts, not pointers) */

static void handle_key(uint64_t handle, char key[24])
{
	snprintf(key, 24, "%llx", (unsigned long long)handle);
}

size_t wsd_room_jobs(wsd_t *w, uint64_t handle)
{
	char key[24];
	handle_key(handle, key);
	return (size_t)(uintptr_t)wsd_map_get(w->rooms->jobs, key);
}

void wsd_room_jobs_add(wsd_t *w, uint64_t handle, int delta)
{
	WSD_ASSERT_LOOP(w);
	char key[24];
	handle_key(handle, key);
	size_t n = (size_t)(uintptr_t)wsd_map_get(w->rooms->jobs, key);
	LC_ASSERT(delta > 0 || n > 0);
	n = delta > 0 ? n + 1 : n - 1;
	if (n == 0)
		wsd_map_del(w->rooms->jobs, key);
	else
		wsd_map_put(w->rooms->jobs, key, (void *)(uintptr_t)n);
}

/* ---- widget frame rate: a token bucket per connection (rate.c) */

bool wsd_room_rate_take(wsd_t *w, uint64_t handle)
{
	WSD_ASSERT_LOOP(w);
	char key[24];
	handle_key(handle, key);
	int64_t now = lc_mono_ms();
	wsd_rate_t *b = wsd_map_get(w->rooms->buckets, key);
	if (b == NULL) {
		b = lc_calloc(1, sizeof *b);
		wsd_rate_init(b, WSD_RATE_BURST, now);
		wsd_map_put(w->rooms->buckets, key, b);
	}
	return wsd_rate_take(b, WSD_RATE_PER_S, WSD_RATE_BURST, now);
}

void wsd_room_rate_forget(wsd_t *w, uint64_t handle)
{
	char key[24];
	handle_key(handle, key);
	free(wsd_map_del(w->rooms->buckets, key));
}
