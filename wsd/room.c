/* wsd_room: the loop's view of rooms and the node-to-node events (see room.h and
 * docs/topology.md). Everything here runs on the loop thread except the *_run job functions
 * (workers) and the publish helpers (any thread). */
#include "config.h"
#include "room.h"
#include "agent.h"
#include "gateway.h"
#include "listener.h"
#include "map.h"
#include "widget.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 1000
#define PRESENCE_EVERY_MS 5000
#define PRESENCE_TTL_MS 15000
#define RESYNC_EVERY_MS 30000
#define SETTINGS_EVERY_MS 5000

typedef struct cvec {
	wsd_conn_t **v;
	size_t n, cap;
} cvec_t;

/* Local connections under one key (an agent's user id, a widget customer id, a watched room),
 * and whether that key is bound to this node's queue yet. */
typedef struct group {
	cvec_t conns;
	bool bound, binding;
} group_t;

typedef struct req {
	json_object *room;       /* summary offered to agents */
	json_object *declined;   /* array of user ids */
	int64_t created_at, closing_at, seen_at;
} req_t;

typedef struct grace {
	struct grace *next;
	char *user_id, *room_id, *channel, *customer_id;
	int64_t deadline;
} grace_t;

typedef struct presence {
	struct presence *next;
	char *node;
	json_object *accept, *all;
	int64_t expires;
} presence_t;

struct wsd_rooms {
	wsd_map_t *users, *widgets, *watchers, *reqs;
	grace_t *grace;
	presence_t *presence;
	bool ready;
	int64_t started_at, last_presence, last_resync, last_session_check, last_settings;
};

/* ---- small helpers */

static void cvec_add(cvec_t *cv, wsd_conn_t *c)
{
	if (cv->n == cv->cap) {
		cv->cap = cv->cap ? cv->cap * 2 : 2;
		cv->v = lc_realloc(cv->v, cv->cap * sizeof *cv->v);
	}
	cv->v[cv->n++] = c;
}

static void cvec_del(cvec_t *cv, wsd_conn_t *c)
{
	for (size_t i = 0; i < cv->n; i++)
		if (cv->v[i] == c) {
			cv->v[i] = cv->v[--cv->n];
			return;
		}
}

static group_t *group_get(wsd_map_t *m, const char *key, bool create)
{
	group_t *g = wsd_map_get(m, key);
	if (g == NULL && create) {
		g = lc_calloc(1, sizeof *g);
		wsd_map_put(m, key, g);
	}
	return g;
}

static void group_drop(wsd_map_t *m, const char *key)
{
	group_t *g = wsd_map_del(m, key);
	if (g) {
		free(g->conns.v);
		free(g);
	}
}

static bool str_in(json_object *arr, const char *s)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
		if (v && strcmp(v, s) == 0)
			return true;
	}
	return false;
}

static json_object *frame_new(const char *type)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

static void copy_key(json_object *dst, json_object *src, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
}

/* ---- per-connection rooms */

wsd_croom_t *wsd_croom_find(wsd_conn_t *c, const char *room_id)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (strcmp(c->rooms[i].room_id, room_id) == 0)
			return &c->rooms[i];
	return NULL;
}

wsd_croom_t *wsd_croom_add(wsd_conn_t *c, const char *room_id, const char *channel,
			   const char *customer_id, const char *customer_name, uint8_t state,
			   bool watch)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL) {
		c->rooms = lc_realloc(c->rooms, (c->nrooms + 1) * sizeof *c->rooms);
		r = &c->rooms[c->nrooms++];
		memset(r, 0, sizeof *r);
		r->room_id = lc_strdup(room_id);
	}
	if (channel && !r->channel)
		r->channel = lc_strdup(channel);
	if (customer_id && !r->customer_id)
		r->customer_id = lc_strdup(customer_id);
	if (customer_name && !r->customer_name)
		r->customer_name = lc_strdup(customer_name);
	r->state = state;
	r->watch = watch;
	return r;
}

void wsd_croom_remove(wsd_conn_t *c, const char *room_id)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL)
		return;
	free(r->room_id);
	free(r->channel);
	free(r->customer_id);
	free(r->customer_name);
	json_object_put(r->pending);
	*r = c->rooms[--c->nrooms];
}

static int64_t frame_seq(json_object *frame)
{
	json_object *m;
	if (!json_object_object_get_ex(frame, "message", &m))
		return lc_json_get_int(frame, "seq", -1);   /* widget: waiting, joined, ended */
	return lc_json_get_int(m, "seq", -1);
}

void wsd_croom_deliver(wsd_conn_t *c, wsd_croom_t *r, json_object *frame)
{
	if (r->state != WSD_CR_LIVE) {
		if (r->pending == NULL)
			r->pending = json_object_new_array();
		/* Past the cap the client reads it from MongoDB anyway (resume). */
		if (json_object_array_length(r->pending) < PENDING_MAX)
			json_object_array_add(r->pending, json_object_get(frame));
		return;
	}
	if (frame_seq(frame) >= 0 && frame_seq(frame) <= r->floor)
		return;
	wsd_conn_send(c, frame);
}

static int cmp_seq(const void *a, const void *b)
{
	int64_t x = frame_seq(*(json_object *const *)a), y = frame_seq(*(json_object *const *)b);
	return x < y ? -1 : x > y;
}

void wsd_croom_live(wsd_conn_t *c, wsd_croom_t *r, int64_t floor)
{
	r->state = WSD_CR_LIVE;
	r->floor = floor;
	if (r->pending == NULL)
		return;
	json_object *p = r->pending;
	r->pending = NULL;
	json_object_array_sort(p, cmp_seq);
	int64_t last = floor;
	for (size_t i = 0; i < json_object_array_length(p); i++) {
		json_object *f = json_object_array_get_idx(p, i);
		int64_t s = frame_seq(f);
		if (s >= 0 && s <= last)
			continue;
		if (s >= 0)
			last = s;
		wsd_conn_send(c, f);
	}
	json_object_put(p);
}

/* ---- publishing (any thread) */

void wsd_room_publish_event(wsd_t *w, const char *room_id, const char *agent_id,
			    json_object *obj, wsd_pub_done_fn done, void *arg)
{
	char *key = lc_asprintf("room.%s.%s", room_id,
				agent_id && *agent_id ? agent_id : "-");
	wsd_busio_publish_json(w->bus, w->ex_nodes, key, obj, done, arg);
	free(key);
}

void wsd_room_broadcast(wsd_t *w, const char *kind, json_object *obj)
{
	char *key = lc_asprintf("broadcast.%s", kind);
	json_object_object_add(obj, "node", json_object_new_string(w->node_id));
	wsd_busio_publish_json(w->bus, w->ex_nodes, key, obj, NULL, NULL);
	free(key);
}

void wsd_room_publish_outbound(wsd_t *w, json_object *obj, wsd_pub_done_fn done, void *arg)
{
	char *key = lc_asprintf("%s.%s", lc_json_get_str(obj, "channel", ""),
				lc_json_get_str(obj, "customer_id", ""));
	wsd_busio_publish_json(w->bus, w->ex_outbound, key, obj, done, arg);
	free(key);
}

/* ---- jobs that end rooms: no agent, agent disconnected */

typedef struct endjob {
	char *room_id, *user_id;
	const char *reason;
	lc_rc rc;
	json_object *room, *msg;
	char *text_agent;
} endjob_t;

static void endjob_free(endjob_t *j)
{
	free(j->room_id);
	free(j->user_id);
	json_object_put(j->room);
	json_object_put(j->msg);
	free(j->text_agent);
	free(j);
}

static void no_agent_run(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	lc_err_t err;
	json_object *tmp = NULL;
	/* The same conditional update as an accept: if an agent takes the request at this very
	 * moment, exactly one of us wins. */
	j->rc = lc_store_room_claim(w->store, j->room_id, "-", "", &tmp, &err);
	json_object_put(tmp);
	tmp = NULL;
	if (j->rc != LC_OK)
		return;
	j->rc = lc_store_room_close(w->store, j->room_id, "no_agent", &j->room, &err);
	if (j->rc != LC_OK)
		return;
	json_object *set = wsd_settings_get(w);
	char *text = wsd_settings_render(set, "no_agent_message", NULL,
					 lc_json_get_str(j->room, "customer_name", ""));
	char *mid = lc_asprintf("%s-noagent", j->room_id);
	bool dup;
	lc_store_message_append(w->store, mid, j->room_id, "system", "", text, wsd_now_ms(),
				&j->msg, &dup, &err);
	free(mid);
	free(text);
	json_object_put(set);
}

static void room_ended_publish(wsd_t *w, endjob_t *j, const char *reason)
{
	json_object *out = wsd_gateway_out_new("session_ended",
					       lc_json_get_str(j->msg, "id", j->room_id), j->room);
	copy_key(out, j->msg, "seq");
	json_object_object_add(out, "reason", json_object_new_string(reason));
	json_object_object_add(out, "text",
			       json_object_new_string(lc_json_get_str(j->msg, "text", "")));
	wsd_room_publish_outbound(w, out, NULL, NULL);
	json_object_put(out);

	json_object *ev = frame_new("ended");
	json_object_object_add(ev, "room_id", json_object_new_string(j->room_id));
	json_object_object_add(ev, "reason", json_object_new_string(reason));
	json_object_object_add(ev, "text", json_object_new_string(j->text_agent ? j->text_agent :
								   lc_json_get_str(j->msg, "text", "")));
	const char *agent = lc_json_get_str(j->room, "agent_id", NULL);
	wsd_room_publish_event(w, j->room_id, agent && strcmp(agent, "-") ? agent : NULL, ev,
			       NULL, NULL);
	json_object_put(ev);
}

static void no_agent_done(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	if (!w->stop && j->rc == LC_OK) {
		LC_INFO("room %s closed: no agent", j->room_id);
		room_ended_publish(w, j, "no_agent");
		json_object *b = frame_new("withdrawn");
		json_object_object_add(b, "room_id", json_object_new_string(j->room_id));
		json_object_object_add(b, "reason", json_object_new_string("no_agent"));
		wsd_room_broadcast(w, "withdrawn", b);
		json_object_put(b);
	}
	endjob_free(j);
}

static void submit_no_agent(wsd_t *w, const char *room_id, json_object *room)
{
	endjob_t *j = lc_calloc(1, sizeof *j);
	j->room_id = lc_strdup(room_id);
	char *key = wsd_gateway_key(lc_json_get_str(room, "channel", ""),
				    lc_json_get_str(room, "customer_id", ""));
	wsd_workers_submit(w->workers, key, no_agent_run, no_agent_done, j);
	free(key);
}

static void disconnect_run(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	lc_err_t err;
	json_object *room = NULL;
	j->rc = lc_store_room_get(w->store, j->room_id, &room, &err);
	if (j->rc != LC_OK)
		return;
	const char *st = lc_json_get_str(room, "status", "");
	const char *agent = lc_json_get_str(room, "agent_id", "");
	if (strcmp(st, "engaged") != 0 || strcmp(agent, j->user_id) != 0) {
		j->rc = LC_ERR_CONFLICT;
		json_object_put(room);
		return;
	}
	json_object_put(room);
	j->rc = lc_store_room_close(w->store, j->room_id, "agent_disconnected", &j->room, &err);
	if (j->rc != LC_OK)
		return;
	json_object *set = wsd_settings_get(w);
	char *text = wsd_settings_render(set, "agent_disconnected_message",
					 lc_json_get_str(j->room, "agent_name", ""),
					 lc_json_get_str(j->room, "customer_name", ""));
	char *mid = lc_asprintf("%s-disconnected", j->room_id);
	bool dup;
	lc_store_message_append(w->store, mid, j->room_id, "system", "", text, wsd_now_ms(),
				&j->msg, &dup, &err);
	free(mid);
	free(text);
	json_object_put(set);
}

static void disconnect_done(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	if (!w->stop && j->rc == LC_OK) {
		LC_INFO("room %s closed: agent %s disconnected", j->room_id, j->user_id);
		room_ended_publish(w, j, "agent_disconnected");
	}
	endjob_free(j);
}

/* ---- grace timers */

void wsd_room_grace_start(wsd_t *w, const char *user_id, const char *room_id,
			  const char *channel, const char *customer_id)
{
	wsd_rooms_t *R = w->rooms;
	for (grace_t *g = R->grace; g; g = g->next)
		if (strcmp(g->room_id, room_id) == 0)
			return;
	grace_t *g = lc_calloc(1, sizeof *g);
	g->user_id = lc_strdup(user_id);
	g->room_id = lc_strdup(room_id);
	g->channel = lc_strdup(channel ? channel : "");
	g->customer_id = lc_strdup(customer_id ? customer_id : "");
	g->deadline = wsd_now_ms() + 1000LL * atomic_load(&w->reconnect_grace);
	g->next = R->grace;
	R->grace = g;
	LC_DEBUG("grace for room %s of %s", room_id, user_id);
}

static void grace_free(grace_t *g)
{
	free(g->user_id);
	free(g->room_id);
	free(g->channel);
	free(g->customer_id);
	free(g);
}

static void grace_cancel_user(wsd_t *w, const char *user_id)
{
	for (grace_t **pg = &w->rooms->grace; *pg;) {
		grace_t *g = *pg;
		if (strcmp(g->user_id, user_id) == 0) {
			*pg = g->next;
			grace_free(g);
		} else {
			pg = &g->next;
		}
	}
}

static void grace_expire(wsd_t *w, int64_t now)
{
	for (grace_t **pg = &w->rooms->grace; *pg;) {
		grace_t *g = *pg;
		if (g->deadline > now) {
			pg = &g->next;
			continue;
		}
		*pg = g->next;
		endjob_t *j = lc_calloc(1, sizeof *j);
		j->room_id = lc_strdup(g->room_id);
		j->user_id = lc_strdup(g->user_id);
		char *key = wsd_gateway_key(g->channel, g->customer_id);
		wsd_workers_submit(w->workers, key, disconnect_run, disconnect_done, j);
		free(key);
		grace_free(g);
	}
}

/* ---- presence */

static bool user_ready(group_t *g, unsigned perm)
{
	for (size_t i = 0; g && i < g->conns.n; i++)
		if (g->conns.v[i]->state == WSD_CS_READY && (g->conns.v[i]->perms & perm) == perm)
			return true;
	return false;
}

typedef struct pres_ctx {
	json_object *accept, *all;
	wsd_rooms_t *R;
} pres_ctx_t;

static void pres_collect(const char *uid, void *v, void *ctx)
{
	pres_ctx_t *p = ctx;
	if (user_ready(v, WSD_P_ACCEPT))
		json_object_array_add(p->accept, json_object_new_string(uid));
	if (user_ready(v, 0))
		json_object_array_add(p->all, json_object_new_string(uid));
}

static void presence_publish(wsd_t *w)
{
	if (!w->rooms->ready)
		return;
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	json_object *o = frame_new("presence");
	json_object_object_add(o, "accept", p.accept);
	json_object_object_add(o, "all", p.all);
	json_object_object_add(o, "ts", json_object_new_int64(wsd_now_ms()));
	wsd_room_broadcast(w, "presence", o);
	json_object_put(o);
	w->rooms->last_presence = wsd_now_ms();
}

static void presence_update(wsd_t *w, json_object *ev)
{
	const char *node = lc_json_get_str(ev, "node", "");
	if (strcmp(node, w->node_id) == 0)
		return;
	json_object *all = NULL, *accept = NULL;
	json_object_object_get_ex(ev, "all", &all);
	json_object_object_get_ex(ev, "accept", &accept);
	if (!json_object_is_type(all, json_type_array) ||
	    !json_object_is_type(accept, json_type_array))
		return;
	presence_t *p;
	for (p = w->rooms->presence; p; p = p->next)
		if (strcmp(p->node, node) == 0)
			break;
	if (p == NULL) {
		p = lc_calloc(1, sizeof *p);
		p->node = lc_strdup(node);
		p->next = w->rooms->presence;
		w->rooms->presence = p;
	}
	json_object_put(p->all);
	json_object_put(p->accept);
	p->all = json_object_get(all);
	p->accept = json_object_get(accept);
	p->expires = wsd_now_ms() + PRESENCE_TTL_MS;
	for (size_t i = 0; i < json_object_array_length(all); i++)
		grace_cancel_user(w, json_object_get_string(json_object_array_get_idx(all, i)));
}

/* Every agent allowed to accept who is online on any node. */
static json_object *eligible_online(wsd_t *w)
{
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	json_object_put(p.all);
	int64_t now = wsd_now_ms();
	for (presence_t *r = w->rooms->presence; r; r = r->next) {
		if (r->expires < now)
			continue;
		for (size_t i = 0; i < json_object_array_length(r->accept); i++) {
			const char *u = json_object_get_string(json_object_array_get_idx(r->accept, i));
			if (u && !str_in(p.accept, u))
				json_object_array_add(p.accept, json_object_new_string(u));
		}
	}
	return p.accept;
}

/* ---- waiting requests */

static json_object *room_summary(json_object *room)
{
	json_object *s = json_object_new_object();
	static const char *const keys[] = { "id", "channel", "customer_id", "customer_name",
					    "status", "created_at", NULL };
	for (size_t i = 0; keys[i]; i++)
		copy_key(s, room, keys[i]);
	return s;
}

static void offer_to_user(wsd_t *w, const char *uid, group_t *g, req_t *q)
{
	if (str_in(q->declined, uid))
		return;
	json_object *f = NULL;
	for (size_t i = 0; i < g->conns.n; i++) {
		wsd_conn_t *c = g->conns.v[i];
		if (c->state != WSD_CS_READY || !(c->perms & WSD_P_ACCEPT))
			continue;
		if (f == NULL) {
			f = frame_new("request_offered");
			json_object_object_add(f, "room", json_object_get(q->room));
		}
		wsd_conn_send(c, f);
	}
	json_object_put(f);
}

typedef struct offer_ctx {
	wsd_t *w;
	req_t *q;
} offer_ctx_t;

static void offer_each_user(const char *uid, void *v, void *ctx)
{
	offer_ctx_t *o = ctx;
	offer_to_user(o->w, uid, v, o->q);
}

static req_t *req_add(wsd_t *w, json_object *room)
{
	const char *id = lc_json_get_str(room, "id", NULL);
	if (id == NULL)
		return NULL;
	req_t *q = wsd_map_get(w->rooms->reqs, id);
	json_object *declined = NULL;
	json_object_object_get_ex(room, "declined_by", &declined);
	if (q != NULL) {
		q->seen_at = wsd_now_ms();
		for (size_t i = 0; declined && i < json_object_array_length(declined); i++) {
			const char *u = json_object_get_string(json_object_array_get_idx(declined, i));
			if (u && !str_in(q->declined, u))
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
	q->created_at = lc_json_get_int(room, "created_at", wsd_now_ms());
	q->seen_at = wsd_now_ms();
	wsd_map_put(w->rooms->reqs, id, q);
	offer_ctx_t o = { w, q };
	wsd_map_each(w->rooms->users, offer_each_user, &o);
	return q;
}

static void req_free(req_t *q)
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

static void req_remove(wsd_t *w, const char *room_id, const char *reason)
{
	req_t *q = wsd_map_del(w->rooms->reqs, room_id);
	if (q == NULL)
		return;
	wd_ctx_t x = { room_id, reason, frame_new("request_withdrawn") };
	json_object_object_add(x.frame, "room_id", json_object_new_string(room_id));
	json_object_object_add(x.frame, "reason", json_object_new_string(reason));
	wsd_map_each(w->rooms->users, withdraw_each_user, &x);
	json_object_put(x.frame);
	req_free(q);
}

typedef struct reqs_ctx {
	const char *uid;
	json_object *out;
} reqs_ctx_t;

static void reqs_collect(const char *rid, void *v, void *ctx)
{
	reqs_ctx_t *x = ctx;
	req_t *q = v;
	if (!str_in(q->declined, x->uid))
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
	reqs_ctx_t x = { user_id, json_object_new_array() };
	wsd_map_each(w->rooms->reqs, reqs_collect, &x);
	json_object_array_sort(x.out, cmp_created);
	return x.out;
}

void wsd_room_check_declined(wsd_t *w, json_object *room)
{
	if (strcmp(lc_json_get_str(room, "status", ""), "waiting") != 0)
		return;
	const char *rid = lc_json_get_str(room, "id", "");
	json_object *declined = NULL;
	json_object_object_get_ex(room, "declined_by", &declined);
	req_t *q = wsd_map_get(w->rooms->reqs, rid);
	json_object *elig = eligible_online(w);
	size_t n = json_object_array_length(elig);
	bool all = n > 0;
	for (size_t i = 0; i < n && all; i++) {
		const char *u = json_object_get_string(json_object_array_get_idx(elig, i));
		if (!str_in(declined, u) && !(q && str_in(q->declined, u)))
			all = false;
	}
	json_object_put(elig);
	if (all) {
		LC_INFO("room %s: every online agent declined", rid);
		if (q)
			q->closing_at = wsd_now_ms();
		submit_no_agent(w, rid, room);
	}
}

/* Re-read every waiting room (start, and every 30 s: heals lost broadcasts). */
typedef struct resync {
	lc_rc rc;
	json_object *items, *engaged;
	bool orphans;
} resync_t;

static void resync_run(wsd_t *w, void *arg)
{
	resync_t *r = arg;
	lc_err_t err;
	int64_t total = 0;
	r->rc = lc_store_room_list(w->store, "waiting", 0, 1000, &r->items, &total, &err);
	if (r->rc != LC_OK)
		LC_WARN("reading waiting rooms: %s", err.reason);
	if (r->rc == LC_OK && r->orphans &&
	    lc_store_room_list(w->store, "engaged", 0, 1000, &r->engaged, &total, &err) != LC_OK)
		r->engaged = NULL;
}

/* Engaged rooms whose agent is online on no node (their node died with its grace timers, or
 * they were never resumed): give them a grace period here. Every node may do this; the
 * conditional close lets exactly one of them end the room. */
static void adopt_orphans(wsd_t *w, json_object *engaged)
{
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	int64_t now = wsd_now_ms();
	for (presence_t *r = w->rooms->presence; r; r = r->next)
		for (size_t i = 0; r->expires >= now && i < json_object_array_length(r->all); i++)
			json_object_array_add(p.all, json_object_get(json_object_array_get_idx(r->all, i)));
	for (size_t i = 0; i < json_object_array_length(engaged); i++) {
		json_object *room = json_object_array_get_idx(engaged, i);
		const char *agent = lc_json_get_str(room, "agent_id", NULL);
		const char *rid = lc_json_get_str(room, "id", NULL);
		if (agent == NULL || rid == NULL || strcmp(agent, "-") == 0 || str_in(p.all, agent))
			continue;
		wsd_room_grace_start(w, agent, rid, lc_json_get_str(room, "channel", ""),
				     lc_json_get_str(room, "customer_id", ""));
	}
	json_object_put(p.all);
	json_object_put(p.accept);
}

typedef struct stale_ctx {
	json_object *seen;
	json_object *gone;
	int64_t before;
} stale_ctx_t;

static void find_stale(const char *rid, void *v, void *ctx)
{
	stale_ctx_t *s = ctx;
	req_t *q = v;
	if (!str_in(s->seen, rid) && q->seen_at < s->before)
		json_object_array_add(s->gone, json_object_new_string(rid));
}

static void resync_done(wsd_t *w, void *arg)
{
	resync_t *r = arg;
	if (!w->stop && r->rc == LC_OK) {
		json_object *seen = json_object_new_array();
		int64_t started = wsd_now_ms();
		for (size_t i = 0; i < json_object_array_length(r->items); i++) {
			json_object *room = json_object_array_get_idx(r->items, i);
			req_add(w, room);
			json_object_array_add(seen, json_object_new_string(
				lc_json_get_str(room, "id", "")));
		}
		stale_ctx_t s = { seen, json_object_new_array(), started - 10000 };
		wsd_map_each(w->rooms->reqs, find_stale, &s);
		for (size_t i = 0; i < json_object_array_length(s.gone); i++)
			req_remove(w, json_object_get_string(json_object_array_get_idx(s.gone, i)),
				   "closed");
		json_object_put(s.gone);
		json_object_put(seen);
		if (r->engaged)
			adopt_orphans(w, r->engaged);
	}
	json_object_put(r->items);
	json_object_put(r->engaged);
	free(r);
}

static void resync(wsd_t *w)
{
	resync_t *r = lc_calloc(1, sizeof *r);
	w->rooms->last_resync = wsd_now_ms();
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
	if (t->now < q->created_at + limit)
		return;
	if (q->closing_at != 0 && t->now - q->closing_at < 10000)
		return;
	q->closing_at = t->now;
	json_object_array_add(t->due, json_object_get(q->room));
}

/* ---- registrations of local connections */

static void agent_bound(wsd_t *w, void *arg)
{
	char *uid = arg;
	group_t *g = w->stop ? NULL : wsd_map_get(w->rooms->users, uid);
	if (g != NULL) {
		g->bound = true;
		g->binding = false;
		bool any = false;
		for (size_t i = 0; i < g->conns.n; i++) {
			wsd_conn_t *c = g->conns.v[i];
			if (c->state != WSD_CS_AUTH || c->hello == NULL)
				continue;
			json_object_object_add(c->hello, "requests",
					       (c->perms & WSD_P_ACCEPT) ?
					       wsd_room_requests_for(w, uid) : json_object_new_array());
			wsd_conn_send(c, c->hello);
			json_object_put(c->hello);
			c->hello = NULL;
			c->state = WSD_CS_READY;
			any = true;
		}
		if (any)
			presence_publish(w);
	}
	free(uid);
}

void wsd_room_agent_online(wsd_t *w, wsd_conn_t *c)
{
	group_t *g = group_get(w->rooms->users, c->user_id, true);
	cvec_add(&g->conns, c);
	grace_cancel_user(w, c->user_id);
	if (g->bound) {
		agent_bound(w, lc_strdup(c->user_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_asprintf("room.*.%s", c->user_id);
		wsd_busio_bind(w->bus, w->ex_nodes, key, agent_bound, lc_strdup(c->user_id));
		free(key);
	}
}

void wsd_room_agent_offline(wsd_t *w, wsd_conn_t *c)
{
	if (c->user_id == NULL)
		return;
	for (size_t i = c->nrooms; i-- > 0;)
		if (c->rooms[i].watch)
			wsd_room_unwatch(w, c, c->rooms[i].room_id);
	group_t *g = wsd_map_get(w->rooms->users, c->user_id);
	if (g == NULL)
		return;
	cvec_del(&g->conns, c);
	bool others = user_ready(g, 0);
	if (!others && !w->stop) {
		for (size_t i = 0; i < c->nrooms; i++)
			if (!c->rooms[i].watch)
				wsd_room_grace_start(w, c->user_id, c->rooms[i].room_id,
						     c->rooms[i].channel, c->rooms[i].customer_id);
	}
	if (g->conns.n == 0) {
		if (g->bound || g->binding) {
			char *key = lc_asprintf("room.*.%s", c->user_id);
			wsd_busio_unbind(w->bus, w->ex_nodes, key);
			free(key);
		}
		/* A bind still in flight finds no group and does nothing. */
		group_drop(w->rooms->users, c->user_id);
	}
	if (!w->stop)
		presence_publish(w);
}

static void watch_bound(wsd_t *w, void *arg)
{
	char *rid = arg;
	group_t *g = w->stop ? NULL : wsd_map_get(w->rooms->watchers, rid);
	if (g != NULL) {
		g->bound = true;
		g->binding = false;
		for (size_t i = 0; i < g->conns.n; i++) {
			wsd_croom_t *r = wsd_croom_find(g->conns.v[i], rid);
			if (r && r->watch && r->state == WSD_CR_JOINING) {
				r->state = WSD_CR_RESUMING;
				wsd_agent_watch_fetch(g->conns.v[i], rid);
			}
		}
	}
	free(rid);
}

void wsd_room_watch(wsd_t *w, wsd_conn_t *c, const char *room_id, json_object *ref)
{
	wsd_croom_add(c, room_id, NULL, NULL, NULL, WSD_CR_JOINING, true);
	group_t *g = group_get(w->rooms->watchers, room_id, true);
	bool have = false;
	for (size_t i = 0; i < g->conns.n; i++)
		have |= g->conns.v[i] == c;
	if (!have)
		cvec_add(&g->conns, c);
	if (g->bound) {
		watch_bound(w, lc_strdup(room_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_asprintf("room.%s.*", room_id);
		wsd_busio_bind(w->bus, w->ex_nodes, key, watch_bound, lc_strdup(room_id));
		free(key);
	}
}

void wsd_room_unwatch(wsd_t *w, wsd_conn_t *c, const char *room_id)
{
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL || !r->watch)
		return;
	char *rid = lc_strdup(room_id);
	wsd_croom_remove(c, rid);
	group_t *g = wsd_map_get(w->rooms->watchers, rid);
	if (g != NULL) {
		cvec_del(&g->conns, c);
		if (g->conns.n == 0) {
			char *key = lc_asprintf("room.%s.*", rid);
			wsd_busio_unbind(w->bus, w->ex_nodes, key);
			free(key);
			group_drop(w->rooms->watchers, rid);
		}
	}
	free(rid);
}

static void widget_bound(wsd_t *w, void *arg)
{
	char *cid = arg;
	group_t *g = w->stop ? NULL : wsd_map_get(w->rooms->widgets, cid);
	if (g != NULL) {
		g->bound = true;
		g->binding = false;
		for (size_t i = 0; i < g->conns.n; i++)
			if (g->conns.v[i]->state == WSD_CS_AUTH)
				wsd_widget_ready(g->conns.v[i]);
	}
	free(cid);
}

void wsd_room_widget_online(wsd_t *w, wsd_conn_t *c)
{
	group_t *g = group_get(w->rooms->widgets, c->customer_id, true);
	cvec_add(&g->conns, c);
	if (g->bound) {
		widget_bound(w, lc_strdup(c->customer_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_asprintf("widget.%s", c->customer_id);
		wsd_busio_bind(w->bus, w->ex_outbound, key, widget_bound, lc_strdup(c->customer_id));
		free(key);
	}
}

void wsd_room_widget_offline(wsd_t *w, wsd_conn_t *c)
{
	if (c->customer_id == NULL)
		return;
	group_t *g = wsd_map_get(w->rooms->widgets, c->customer_id);
	if (g == NULL)
		return;
	cvec_del(&g->conns, c);
	if (g->conns.n == 0) {
		char *key = lc_asprintf("widget.%s", c->customer_id);
		wsd_busio_unbind(w->bus, w->ex_outbound, key);
		free(key);
		group_drop(w->rooms->widgets, c->customer_id);
	}
}

void wsd_room_each_widget(wsd_t *w, const char *customer_id,
			  void (*fn)(wsd_conn_t *c, void *ctx), void *ctx)
{
	group_t *g = wsd_map_get(w->rooms->widgets, customer_id);
	for (size_t i = 0; g && i < g->conns.n; i++)
		if (g->conns.v[i]->state != WSD_CS_CLOSING)
			fn(g->conns.v[i], ctx);
}

/* ---- events from other nodes */

static void room_event_to(wsd_t *w, wsd_conn_t *c, bool watch, json_object *ev,
			  const char *type, const char *rid)
{
	wsd_croom_t *r = wsd_croom_find(c, rid);
	if (r == NULL || r->watch != watch || c->state != WSD_CS_READY)
		return;
	if (strcmp(type, "message") == 0) {
		wsd_croom_deliver(c, r, ev);
	} else if (strcmp(type, "typing") == 0) {
		if (r->state == WSD_CR_LIVE)
			wsd_conn_send(c, ev);
	} else if (strcmp(type, "ended") == 0) {
		wsd_conn_send(c, ev);
		if (watch)
			wsd_room_unwatch(w, c, rid);
		else
			wsd_croom_remove(c, rid);
	}
}

static void room_event(wsd_t *w, json_object *ev, const char *type)
{
	const char *rid = lc_json_get_str(ev, "room_id", NULL);
	const char *aid = lc_json_get_str(ev, "agent_id", NULL);
	if (rid == NULL)
		return;
	/* The delivery fields stay out of what the client sees. */
	char *agent = aid ? lc_strdup(aid) : NULL;
	json_object_object_del(ev, "agent_id");
	json_object_object_del(ev, "node");
	if (agent) {
		group_t *g = wsd_map_get(w->rooms->users, agent);
		/* Copy: room_event_to may remove connections' rooms, never the vector itself. */
		for (size_t i = 0; g && i < g->conns.n; i++)
			room_event_to(w, g->conns.v[i], false, ev, type, rid);
	}
	group_t *g = wsd_map_get(w->rooms->watchers, rid);
	if (g != NULL) {
		size_t n = g->conns.n;
		wsd_conn_t **v = lc_malloc((n ? n : 1) * sizeof *v);
		memcpy(v, g->conns.v, n * sizeof *v);
		for (size_t i = 0; i < n; i++)
			room_event_to(w, v[i], true, ev, type, rid);
		free(v);
	}
	free(agent);
}

typedef struct revoke_ctx {
	wsd_t *w;
	const char *uid;
} revoke_ctx_t;

void wsd_room_event(wsd_t *w, void *arg)
{
	lc_bus_delivery_t *d = arg;
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
		wsd_widget_outbound(w, ev);
	} else if (strncmp(d->routing_key ? d->routing_key : "", "room.", 5) == 0) {
		room_event(w, ev, type);
	} else if (strcmp(type, "offer") == 0) {
		json_object *room;
		if (json_object_object_get_ex(ev, "room", &room))
			req_add(w, room);
	} else if (strcmp(type, "taken") == 0 || strcmp(type, "withdrawn") == 0) {
		req_remove(w, lc_json_get_str(ev, "room_id", ""),
			   strcmp(type, "taken") == 0 ? "taken" : lc_json_get_str(ev, "reason", "closed"));
	} else if (strcmp(type, "declined") == 0) {
		const char *rid = lc_json_get_str(ev, "room_id", ""), *uid = lc_json_get_str(ev, "user_id", "");
		req_t *q = wsd_map_get(w->rooms->reqs, rid);
		if (q && !str_in(q->declined, uid))
			json_object_array_add(q->declined, json_object_new_string(uid));
		group_t *g = wsd_map_get(w->rooms->users, uid);
		json_object *f = frame_new("request_withdrawn");
		json_object_object_add(f, "room_id", json_object_new_string(rid));
		json_object_object_add(f, "reason", json_object_new_string("declined"));
		for (size_t i = 0; g && i < g->conns.n; i++)
			if (g->conns.v[i]->state == WSD_CS_READY)
				wsd_conn_send(g->conns.v[i], f);
		json_object_put(f);
	} else if (strcmp(type, "presence") == 0) {
		presence_update(w, ev);
	} else if (strcmp(type, "revoke") == 0) {
		group_t *g = wsd_map_get(w->rooms->users, lc_json_get_str(ev, "user_id", ""));
		for (size_t i = 0; g && i < g->conns.n; i++)
			wsd_agent_check_session(w, g->conns.v[i]);
	}
	json_object_put(ev);
out:
	lc_bus_delivery_free(&d);
}

/* ---- lifecycle and the tick */

void wsd_room_bus_ready(wsd_t *w, void *arg)
{
	if (w->stop)
		return;
	LC_INFO("node %s: RabbitMQ topology ready", w->node_id);
	w->rooms->ready = true;
	resync(w);
	presence_publish(w);
}

static void settings_run(wsd_t *w, void *arg)
{
	json_object_put(wsd_settings_get(w));
}

static void check_one(wsd_conn_t *c, void *ctx)
{
	if (c->kind == WSD_AGENT && c->state == WSD_CS_READY)
		wsd_agent_check_session(c->w, c);
}

void wsd_room_tick(wsd_t *w)
{
	wsd_rooms_t *R = w->rooms;
	int64_t now = wsd_now_ms();
	if (now - R->last_settings >= SETTINGS_EVERY_MS) {
		R->last_settings = now;
		wsd_workers_submit(w->workers, NULL, settings_run, NULL, NULL);
	}
	grace_expire(w, now);
	if (!R->ready)
		return;
	timeout_ctx_t t = { w, now, json_object_new_array() };
	wsd_map_each(R->reqs, find_timeouts, &t);
	for (size_t i = 0; i < json_object_array_length(t.due); i++) {
		json_object *room = json_object_array_get_idx(t.due, i);
		LC_INFO("room %s: request timed out", lc_json_get_str(room, "id", ""));
		submit_no_agent(w, lc_json_get_str(room, "id", ""), room);
	}
	json_object_put(t.due);
	if (now - R->last_presence >= PRESENCE_EVERY_MS)
		presence_publish(w);
	if (now - R->last_resync >= RESYNC_EVERY_MS)
		resync(w);
	if (now - R->last_session_check >= 1000LL * w->session_check_s) {
		R->last_session_check = now;
		wsd_listener_each(w, check_one, NULL);
	}
}

void wsd_rooms_init(wsd_t *w)
{
	wsd_rooms_t *R = lc_calloc(1, sizeof *R);
	R->users = wsd_map_new();
	R->widgets = wsd_map_new();
	R->watchers = wsd_map_new();
	R->reqs = wsd_map_new();
	R->last_session_check = R->started_at = wsd_now_ms();
	w->rooms = R;
}

static void free_group(const char *k, void *v, void *ctx)
{
	group_t *g = v;
	free(g->conns.v);
	free(g);
}

static void free_req(const char *k, void *v, void *ctx)
{
	req_free(v);
}

void wsd_rooms_free(wsd_t *w)
{
	wsd_rooms_t *R = w->rooms;
	if (R == NULL)
		return;
	wsd_map_each(R->users, free_group, NULL);
	wsd_map_each(R->widgets, free_group, NULL);
	wsd_map_each(R->watchers, free_group, NULL);
	wsd_map_each(R->reqs, free_req, NULL);
	wsd_map_free(&R->users);
	wsd_map_free(&R->widgets);
	wsd_map_free(&R->watchers);
	wsd_map_free(&R->reqs);
	while (R->grace) {
		grace_t *g = R->grace;
		R->grace = g->next;
		grace_free(g);
	}
	while (R->presence) {
		presence_t *p = R->presence;
		R->presence = p->next;
		free(p->node);
		json_object_put(p->all);
		json_object_put(p->accept);
		free(p);
	}
	free(R);
	w->rooms = NULL;
}
