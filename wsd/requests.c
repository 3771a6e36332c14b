/* SPDX-License-Identifier: MIT */
/* wsd_requests: the waiting requests this node knows (offers from the inbound node, plus a
 * re-read of MongoDB at start, after a new bus connection and every 30 s), offered to the local
 * agents allowed to accept them, withdrawn when taken or closed, timed out as no_agent. */
#include "config.h"
#include "room_priv.h"

#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"

#include <stdlib.h>
#include <string.h>

/* ---- waiting requests */

static json_object *room_summary(json_object *room)
{
	json_object *s = json_object_new_object();
	static const char *const keys[] = { "id", "channel", "customer_id", "customer_name",
					    "status", "created_at", NULL };
	for (size_t i = 0; keys[i]; i++)
		wsd_copy_key(s, room, keys[i]);
	json_object *first = NULL;
	json_object_object_get_ex(room, "first_message", &first);
	json_object_object_add(s, "first_message", json_object_get(first));
	return s;
}

/* Send frame to every ready connection of the users who may accept q and have not declined. */
static void req_send(wsd_t *w, req_t *q, json_object *frame);

/* The request's first customer message became known: every agent who sees it hears of it. */
void wsd_room_req_set_first(wsd_t *w, const char *room_id, const char *text)
{
	req_t *q = wsd_map_get(w->rooms->reqs, room_id);
	if (q == NULL || text == NULL || lc_json_get_str(q->room, "first_message", NULL) != NULL)
		return;
	json_object_object_add(q->room, "first_message", json_object_new_string(text));
	json_object *f = wsd_room_frame("request_updated");
	json_object_object_add(f, "room", json_object_get(q->room));
	req_send(w, q, f);
	json_object_put(f);
}

/* A request learnt from MongoDB (resync) does not say its first message: read it. */
typedef struct firstjob {
	char *room_id;
	char *text;
} firstjob_t;

static void first_run(wsd_t *w, void *arg)
{
	firstjob_t *j = arg;
	json_object *first = NULL;
	lc_err_t err;
	if (lc_store_message_first_customer(w->store, j->room_id, &first, &err) == LC_OK &&
	    first != NULL) {
		lc_message_t m;
		lc_message_view(&m, first);
		j->text = lc_strdup(m.text);
	}
	json_object_put(first);
}

static void first_done(wsd_t *w, void *arg)
{
	firstjob_t *j = arg;
	if (!w->stop)
		wsd_room_req_set_first(w, j->room_id, j->text);
	free(j->room_id);
	free(j->text);
	free(j);
}

typedef struct offer_ctx {
	req_t *q;
	json_object *frame;
} offer_ctx_t;

static void send_each_user(const char *uid, void *v, void *ctx)
{
	offer_ctx_t *o = ctx;
	group_t *g = v;
	if (wsd_str_in(o->q->declined, uid))
		return;
	for (size_t i = 0; i < g->conns.n; i++) {
		wsd_conn_t *c = g->conns.v[i];
		if (c->state == WSD_CS_READY && (c->perms & WSD_P_ACCEPT))
			wsd_conn_send(c, o->frame);
	}
}

static void req_send(wsd_t *w, req_t *q, json_object *frame)
{
	offer_ctx_t o = { q, frame };
	wsd_map_each(w->rooms->users, send_each_user, &o);
}

req_t *wsd_room_req_add(wsd_t *w, json_object *room)
{
	WSD_ASSERT_LOOP(w);
	const char *id = lc_json_get_str(room, "id", NULL);
	if (id == NULL)
		return NULL;
	req_t *q = wsd_map_get(w->rooms->reqs, id);
	json_object *declined = NULL;
	json_object_object_get_ex(room, "declined_by", &declined);
	if (q != NULL) {
		q->seen_at = lc_mono_ms();
		for (size_t i = 0; declined && i < json_object_array_length(declined); i++) {
			const char *u = json_object_get_string(json_object_array_get_idx(declined, i));
			if (u && !wsd_str_in(q->declined, u))
				json_object_array_add(q->declined, json_object_new_string(u));
		}
		return q;
	}
	q = lc_calloc(1, sizeof *q);
	q->room = room_summary(room);
	q->declined = json_object_new_array();
	for (size_t i = 0; json_object_is_type(declined, json_type_array) &&
			   i < json_object_array_length(declined); i++)
		json_object_array_add(q->declined,
				      json_object_get(json_object_array_get_idx(declined, i)));
	q->created_at = lc_json_get_int(room, "created_at", lc_real_ms());
	q->seen_at = lc_mono_ms();
	wsd_map_put(w->rooms->reqs, id, q);
	json_object *f = wsd_room_frame("request_offered");
	json_object_object_add(f, "room", json_object_get(q->room));
	req_send(w, q, f);
	json_object_put(f);
	if (!json_object_object_get_ex(room, "first_message", NULL)) {
		firstjob_t *j = lc_calloc(1, sizeof *j);
		j->room_id = lc_strdup(id);
		wsd_workers_submit_customer(w, lc_json_get_str(room, "channel", ""),
					    lc_json_get_str(room, "customer_id", ""), first_run,
					    first_done, j);
	}
	return q;
}


void wsd_room_req_free(req_t *q)
{
	json_object_put(q->room);
	json_object_put(q->declined);
	free(q);
}

typedef struct wd_ctx {
	const char *room_id, *reason;
	json_object *frame;
} wd_ctx_t;

static void withdraw_each_user(const char *uid, void *v, void *ctx)
{
	wd_ctx_t *x = ctx;
	group_t *g = v;
	for (size_t i = 0; i < g->conns.n; i++)
		if (g->conns.v[i]->state == WSD_CS_READY && (g->conns.v[i]->perms & WSD_P_ACCEPT))
			wsd_conn_send(g->conns.v[i], x->frame);
}

void wsd_room_req_remove(wsd_t *w, const char *room_id, const char *reason)
{
	WSD_ASSERT_LOOP(w);
	req_t *q = wsd_map_del(w->rooms->reqs, room_id);
	if (q == NULL)
		return;
	wsd_room_view_t v = { .id = room_id };
	wsd_event_t e = { .room = &v, .reason = reason };
	wd_ctx_t x = { room_id, reason, wsd_event_request_withdrawn(&e) };
	wsd_map_each(w->rooms->users, withdraw_each_user, &x);
	json_object_put(x.frame);
	wsd_room_req_free(q);
}

typedef struct reqs_ctx {
	const char *uid;
	json_object *out;
} reqs_ctx_t;

static void reqs_collect(const char *rid, void *v, void *ctx)
{
	reqs_ctx_t *x = ctx;
	req_t *q = v;
	if (!wsd_str_in(q->declined, x->uid))
		json_object_array_add(x->out, json_object_get(q->room));
}

static int cmp_created(const void *a, const void *b)
{
	int64_t x = lc_json_get_int(*(json_object *const *)a, "created_at", 0);
	int64_t y = lc_json_get_int(*(json_object *const *)b, "created_at", 0);
	return x < y ? -1 : x > y;
}

json_object *wsd_room_requests_for(wsd_t *w, const char *user_id)
{
	WSD_ASSERT_LOOP(w);
	reqs_ctx_t x = { user_id, json_object_new_array() };
	wsd_map_each(w->rooms->reqs, reqs_collect, &x);
	json_object_array_sort(x.out, cmp_created);
	return x.out;
}

void wsd_room_check_declined(wsd_t *w, json_object *room)
{
	if (lc_room_status_parse(lc_json_get_str(room, "status", NULL)) != LC_ROOM_WAITING)
		return;
	const char *rid = lc_json_get_str(room, "id", "");
	json_object *declined = NULL;
	json_object_object_get_ex(room, "declined_by", &declined);
	req_t *q = wsd_map_get(w->rooms->reqs, rid);
	json_object *elig = wsd_room_eligible_online(w);
	size_t n = json_object_array_length(elig);
	bool all = n > 0;
	for (size_t i = 0; i < n && all; i++) {
		const char *u = json_object_get_string(json_object_array_get_idx(elig, i));
		if (!wsd_str_in(declined, u) && !(q && wsd_str_in(q->declined, u)))
			all = false;
	}
	json_object_put(elig);
	if (all) {
		LC_INFO("room %s: every online agent declined", rid);
		if (q)
			q->closing_at = lc_mono_ms();
		wsd_room_submit_no_agent(w, rid, room);
	}
}

/* Re-read every waiting room (start, and every 30 s: heals lost broadcasts). */
typedef struct resync {
	lc_rc rc;
	json_object *items, *engaged;
	int64_t total, engaged_total, read_at;
	bool orphans;
} resync_t;

static void resync_run(wsd_t *w, void *arg)
{
	resync_t *r = arg;
	lc_err_t err;
	r->engaged_total = -1;
	r->read_at = lc_mono_ms();
	r->rc = lc_store_room_list(w->store, lc_room_status_name(LC_ROOM_WAITING), 0, 1000, &r->items, &r->total, &err);
	if (r->rc != LC_OK)
		LC_WARN("reading waiting rooms: %s", err.reason);
	if (r->rc == LC_OK && r->orphans &&
	    lc_store_room_list(w->store, lc_room_status_name(LC_ROOM_ENGAGED), 0, 1000, &r->engaged,
			       &r->engaged_total, &err) != LC_OK) {
		r->engaged = NULL;
		r->engaged_total = -1;
	}
}

/* Engaged rooms whose agent is online on no node (their node died with its grace timers, or
 * they were never resumed): give them a grace period here. Every node may do this; the
 * conditional close lets exactly one of them end the room. */
typedef struct stale_ctx {
	json_object *seen;
	json_object *gone;
	int64_t before;
} stale_ctx_t;

static void find_stale(const char *rid, void *v, void *ctx)
{
	stale_ctx_t *s = ctx;
	req_t *q = v;
	if (!wsd_str_in(s->seen, rid) && q->seen_at < s->before)
		json_object_array_add(s->gone, json_object_new_string(rid));
}

static void resync_done(wsd_t *w, void *arg)
{
	resync_t *r = arg;
	if (!w->stop && r->rc == LC_OK) {
		w->rooms_waiting = r->total;
		if (r->engaged_total >= 0)
			w->rooms_engaged = r->engaged_total;
		json_object *seen = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(r->items); i++) {
			json_object *room = json_object_array_get_idx(r->items, i);
			wsd_room_req_add(w, room);
			json_object_array_add(seen, json_object_new_string(
				lc_json_get_str(room, "id", "")));
		}
		/* A request this node knew before the read began and the read did not return is
		 * no longer waiting (its room is stored before it is offered): its taken or
		 * withdrawn event was lost (a broker restart). Only when the read saw them all. */
		stale_ctx_t s = { seen, json_object_new_array(), r->read_at };
		if (r->total <= (int64_t)json_object_array_length(r->items))
			wsd_map_each(w->rooms->reqs, find_stale, &s);
		for (size_t i = 0; i < json_object_array_length(s.gone); i++)
			wsd_room_req_remove(w, json_object_get_string(json_object_array_get_idx(s.gone, i)),
				   "closed");
		json_object_put(s.gone);
		json_object_put(seen);
		if (r->engaged)
			wsd_room_adopt_orphans(w, r->engaged);
	}
	json_object_put(r->items);
	json_object_put(r->engaged);
	free(r);
	if (w->stop)
		return;
	w->rooms->resync_busy = false;
	if (w->rooms->resync_again) {
		w->rooms->resync_again = false;
		wsd_room_resync(w);
	}
}

void wsd_room_resync(wsd_t *w)
{
	w->rooms->last_resync = lc_mono_ms();
	if (w->rooms->resync_busy) {
		w->rooms->resync_again = true;   /* the read under way may have begun too early */
		return;
	}
	w->rooms->resync_busy = true;
	resync_t *r = lc_calloc(1, sizeof *r);
	/* Only once every node's presence had time to arrive. */
	r->orphans = w->rooms->last_resync - w->rooms->started_at > 2 * PRESENCE_TTL_MS;
	wsd_workers_submit(w->workers, NULL, resync_run, resync_done, r);
}

typedef struct timeout_ctx {
	wsd_t *w;
	int64_t now;
	json_object *due;
} timeout_ctx_t;

static void find_timeouts(const char *rid, void *v, void *ctx)
{
	timeout_ctx_t *t = ctx;
	req_t *q = v;
	int64_t limit = 1000LL * atomic_load(&t->w->request_timeout);
	/* Wall clock: created_at is the stored time the room was made, maybe by another machine. */
	if (lc_real_ms() < q->created_at + limit)
		return;
	if (q->closing_at != 0 && t->now - q->closing_at < 10000)
		return;
	q->closing_at = t->now;
	json_object_array_add(t->due, json_object_get(q->room));
}

void wsd_room_req_timeouts(wsd_t *w, int64_t now)
{
	WSD_ASSERT_LOOP(w);
	timeout_ctx_t t = { w, now, json_object_new_array() };
	wsd_map_each(w->rooms->reqs, find_timeouts, &t);
	for (size_t i = 0; i < json_object_array_length(t.due); i++) {
		json_object *room = json_object_array_get_idx(t.due, i);
		LC_INFO("room %s: request timed out", lc_json_get_str(room, "id", ""));
		wsd_room_submit_no_agent(w, lc_json_get_str(room, "id", ""), room);
	}
	json_object_put(t.due);
}
