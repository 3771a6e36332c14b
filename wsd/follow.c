/* SPDX-License-Identifier: MIT */
/* wsd_follow: which local connections follow which routing keys (an agent's user id, a watched
 * room, a widget customer), binding and unbinding those keys on this node's queue, and the
 * delivery of room events to the connections that follow the room. Loop thread only. A bound
 * key is reported up to the connection's endpoint (on_watch_bound, on_customer_bound): this
 * layer names no endpoint. */
#include "config.h"
#include "room_priv.h"

#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_names.h"

#include <stdlib.h>
#include <string.h>

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
		if (any) {
			/* A close while this one was authenticating may have started the timer. */
			wsd_room_grace_forget(w, uid);
			wsd_room_presence_publish(w, false);
		}
	}
	free(uid);
}

void wsd_room_agent_online(wsd_t *w, wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(w);
	group_t *g = wsd_group_get(w->rooms->users, c->user_id, true);
	wsd_cvec_add(&g->conns, c);
	wsd_room_grace_forget(w, c->user_id);
	if (g->bound) {
		agent_bound(w, lc_strdup(c->user_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_names_agent_binding(c->user_id);
		wsd_busio_bind(w->bus, w->ex_nodes, key, agent_bound, lc_strdup(c->user_id));
		free(key);
	}
}

void wsd_room_agent_offline(wsd_t *w, wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(w);
	if (c->user_id == NULL)
		return;
	for (size_t i = c->nrooms; i-- > 0;)
		if (c->rooms[i].watch)
			wsd_room_unwatch(w, c, c->rooms[i].room_id);
	group_t *g = wsd_map_get(w->rooms->users, c->user_id);
	if (g == NULL)
		return;
	wsd_cvec_del(&g->conns, c);
	/* The agent's rooms are theirs, not this connection's: they wait for the last one. */
	if (!w->stop)
		wsd_room_grace_left(w, c->user_id);
	if (g->conns.n == 0) {
		if (g->bound || g->binding) {
			char *key = lc_names_agent_binding(c->user_id);
			wsd_busio_unbind(w->bus, w->ex_nodes, key);
			free(key);
		}
		/* A bind still in flight finds no group and does nothing. */
		wsd_group_drop(w->rooms->users, c->user_id);
	}
	if (!w->stop)
		wsd_room_presence_publish(w, false);
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
				g->conns.v[i]->ep->on_watch_bound(g->conns.v[i], rid);
			}
		}
	}
	free(rid);
}

void wsd_room_watch(wsd_t *w, wsd_conn_t *c, const char *room_id, json_object *ref)
{
	WSD_ASSERT_LOOP(w);
	LC_ASSERT(c->ep->on_watch_bound != NULL);
	wsd_croom_add(c, room_id, NULL, NULL, NULL, WSD_CR_JOINING, true);
	group_t *g = wsd_group_get(w->rooms->watchers, room_id, true);
	bool have = false;
	for (size_t i = 0; i < g->conns.n; i++)
		have |= g->conns.v[i] == c;
	if (!have)
		wsd_cvec_add(&g->conns, c);
	if (g->bound) {
		watch_bound(w, lc_strdup(room_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_names_room_binding(room_id);
		wsd_busio_bind(w->bus, w->ex_nodes, key, watch_bound, lc_strdup(room_id));
		free(key);
	}
}

void wsd_room_unwatch(wsd_t *w, wsd_conn_t *c, const char *room_id)
{
	WSD_ASSERT_LOOP(w);
	wsd_croom_t *r = wsd_croom_find(c, room_id);
	if (r == NULL || !r->watch)
		return;
	char *rid = lc_strdup(room_id);
	wsd_croom_remove(c, rid);
	group_t *g = wsd_map_get(w->rooms->watchers, rid);
	if (g != NULL) {
		wsd_cvec_del(&g->conns, c);
		if (g->conns.n == 0) {
			char *key = lc_names_room_binding(rid);
			wsd_busio_unbind(w->bus, w->ex_nodes, key);
			free(key);
			wsd_group_drop(w->rooms->watchers, rid);
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
				g->conns.v[i]->ep->on_customer_bound(g->conns.v[i]);
	}
	free(cid);
}

void wsd_room_widget_online(wsd_t *w, wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(w);
	LC_ASSERT(c->ep->on_customer_bound != NULL);
	group_t *g = wsd_group_get(w->rooms->widgets, c->customer_id, true);
	wsd_cvec_add(&g->conns, c);
	if (g->bound) {
		widget_bound(w, lc_strdup(c->customer_id));
	} else if (!g->binding) {
		g->binding = true;
		char *key = lc_names_widget_key(c->customer_id);
		wsd_busio_bind(w->bus, w->ex_outbound, key, widget_bound, lc_strdup(c->customer_id));
		free(key);
	}
}

void wsd_room_widget_offline(wsd_t *w, wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(w);
	if (c->customer_id == NULL)
		return;
	group_t *g = wsd_map_get(w->rooms->widgets, c->customer_id);
	if (g == NULL)
		return;
	wsd_cvec_del(&g->conns, c);
	if (g->conns.n == 0) {
		char *key = lc_names_widget_key(c->customer_id);
		wsd_busio_unbind(w->bus, w->ex_outbound, key);
		free(key);
		wsd_group_drop(w->rooms->widgets, c->customer_id);
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
			  const char *type, const char *rid, uint64_t skip)
{
	wsd_croom_t *r = wsd_croom_find(c, rid);
	if (c->state != WSD_CS_READY || c->handle == skip)
		return;
	if (r == NULL && !watch && strcmp(type, "ended") == 0) {
		/* The room is the agent's, not only the connection's that follows it: every
		 * connection of the agent learns that it ended (docs/websocket.md, "ended"). */
		wsd_conn_send(c, ev);
		return;
	}
	if (r == NULL || r->watch != watch)
		return;
	if (strcmp(type, "message") == 0) {
		wsd_croom_deliver(c, r, ev);
	} else if (strcmp(type, "typing") == 0) {
		if (r->state == WSD_CR_LIVE)
			wsd_conn_send(c, ev);
	} else if (strcmp(type, "ended") == 0) {
		if (r->state == WSD_CR_CATCHUP) {
			/* After the messages the catch-up read brings (catchup.c). */
			json_object_put(r->end);
			r->end = json_object_get(ev);
			return;
		}
		wsd_conn_send(c, ev);
		if (watch)
			wsd_room_unwatch(w, c, rid);
		else
			wsd_croom_remove(c, rid);
	}
}

void wsd_room_event_local(wsd_t *w, json_object *ev, const char *type)
{
	WSD_ASSERT_LOOP(w);
	const char *rid = lc_json_get_str(ev, "room_id", NULL);
	const char *aid = lc_json_get_str(ev, "agent_id", NULL);
	if (rid == NULL)
		return;
	/* The delivery fields stay out of what the client sees. */
	char *agent = aid ? lc_strdup(aid) : NULL;
	/* An agent's own message: the connection that sent it had its ack. */
	uint64_t skip = 0;
	if (strcmp(lc_json_get_str(ev, "origin_node", ""), w->node_id) == 0)
		skip = (uint64_t)lc_json_get_int(ev, "origin_conn", 0);
	json_object_object_del(ev, "agent_id");
	json_object_object_del(ev, "node");
	json_object_object_del(ev, "origin_node");
	json_object_object_del(ev, "origin_conn");
	if (agent) {
		group_t *g = wsd_map_get(w->rooms->users, agent);
		/* Copy: room_event_to may remove connections' rooms, never the vector itself. */
		for (size_t i = 0; g && i < g->conns.n; i++)
			room_event_to(w, g->conns.v[i], false, ev, type, rid, skip);
	}
	group_t *g = wsd_map_get(w->rooms->watchers, rid);
	if (g != NULL) {
		size_t n = g->conns.n;
		wsd_conn_t **v = lc_malloc((n ? n : 1) * sizeof *v);
		memcpy(v, g->conns.v, n * sizeof *v);
		for (size_t i = 0; i < n; i++)
			room_event_to(w, v[i], true, ev, type, rid, skip);
		free(v);
	}
	free(agent);
}

void wsd_follow_counts(wsd_t *w, size_t *users, size_t *rooms, size_t *customers)
{
	WSD_ASSERT_LOOP(w);
	*users = w->rooms ? wsd_map_count(w->rooms->users) : 0;
	*rooms = w->rooms ? wsd_map_count(w->rooms->watchers) : 0;
	*customers = w->rooms ? wsd_map_count(w->rooms->widgets) : 0;
}
