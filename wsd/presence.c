/* SPDX-License-Identifier: MIT */
/* wsd_presence: which agents are online on which node. Each node publishes its own (every 5 s,
 * on every change, and at once when another node joins) and keeps the others' (expiring after
 * 15 s); from it come "every eligible agent declined", whether an agent who left is online
 * elsewhere (grace.c), and the agents a dead node left behind. Loop thread only. */
#include "config.h"
#include "room_priv.h"

#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_room_status.h"

#include <stdlib.h>
#include <string.h>

/* ---- presence */

bool wsd_room_user_ready(group_t *g, unsigned perm)
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
	if (wsd_room_user_ready(v, WSD_P_ACCEPT))
		json_object_array_add(p->accept, json_object_new_string(uid));
	if (wsd_room_user_ready(v, 0))
		json_object_array_add(p->all, json_object_new_string(uid));
}

void wsd_room_presence_publish(wsd_t *w, bool first)
{
	WSD_ASSERT_LOOP(w);
	if (!w->rooms->ready)
		return;
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	json_object *o = wsd_room_frame("presence");
	json_object_object_add(o, "accept", p.accept);
	json_object_object_add(o, "all", p.all);
	json_object_object_add(o, "ts", json_object_new_int64(lc_real_ms()));
	if (first)
		json_object_object_add(o, "first", json_object_new_boolean(true));
	wsd_solo_presence(w, o);
	wsd_room_broadcast(w, "presence", o);
	json_object_put(o);
	w->rooms->last_presence = lc_mono_ms();
}

void wsd_room_presence_free(presence_t *p)
{
	free(p->node);
	json_object_put(p->all);
	json_object_put(p->accept);
	free(p);
}

void wsd_room_presence_update(wsd_t *w, json_object *ev)
{
	WSD_ASSERT_LOOP(w);
	const char *node = lc_json_get_str(ev, "node", "");
	if (strcmp(node, w->node_id) == 0) {
		w->rooms->presence_heard = lc_mono_ms();
		wsd_solo_heard(w, ev, true);
		return;
	}
	wsd_solo_heard(w, ev, false);
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
	/* A node that has just started under the id of one that died (restarted at once, before
	 * its presence expired here) lost that one's agents: they are gone as if its presence had
	 * expired (wsd_room_presence_expire), unless they are online again somewhere. */
	bool first = lc_json_get_bool(ev, "first", false);
	json_object *gone = first ? p->all : NULL;
	if (!first)
		json_object_put(p->all);
	json_object_put(p->accept);
	p->all = json_object_get(all);
	p->accept = json_object_get(accept);
	p->expires = lc_mono_ms() + PRESENCE_TTL_MS;
	for (size_t i = 0; i < json_object_array_length(all); i++)
		wsd_room_grace_defer(w, json_object_get_string(json_object_array_get_idx(all, i)));
	if (gone != NULL && json_object_array_length(gone) > 0)
		LC_WARN("node %s started again: its agents' grace periods begin", node);
	for (size_t i = 0; gone != NULL && i < json_object_array_length(gone); i++)
		wsd_room_grace_start(w, json_object_get_string(json_object_array_get_idx(gone, i)));
	json_object_put(gone);
	/* Agents this node left waiting for that node may now be online nowhere. */
	wsd_room_grace_recheck(w);
	/* A node that has just joined knows nobody: tell it now rather than in up to 5 s, so its
	 * grace timers see the agents online here. */
	if (first)
		wsd_room_presence_publish(w, false);
}

bool wsd_room_presence_heard(wsd_t *w, int64_t now)
{
	return w->rooms->presence_heard != 0 && now - w->rooms->presence_heard < PRESENCE_TTL_MS;
}

void wsd_room_presence_expire(wsd_t *w, int64_t now)
{
	WSD_ASSERT_LOOP(w);
	/* A node that hears nobody would take every other node for dead. */
	if (!wsd_room_presence_heard(w, now))
		return;
	json_object *gone = NULL;
	for (presence_t **pp = &w->rooms->presence; *pp;) {
		presence_t *p = *pp;
		if (p->expires >= now) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		LC_WARN("node %s not heard for %d s: its agents' grace periods begin", p->node,
			PRESENCE_TTL_MS / 1000);
		gone = gone ? gone : json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(p->all); i++)
			json_object_array_add(gone, json_object_get(json_object_array_get_idx(p->all, i)));
		wsd_room_presence_free(p);
	}
	/* Every node does this for the dead node's agents (it cannot know who followed them);
	 * the conditional close ends each room once. */
	for (size_t i = 0; gone && i < json_object_array_length(gone); i++)
		wsd_room_grace_start(w, json_object_get_string(json_object_array_get_idx(gone, i)));
	if (gone)
		wsd_room_grace_recheck(w);
	json_object_put(gone);
}

bool wsd_room_user_online(wsd_t *w, const char *user_id)
{
	WSD_ASSERT_LOOP(w);
	if (wsd_room_user_ready(wsd_map_get(w->rooms->users, user_id), 0))
		return true;
	int64_t now = lc_mono_ms();
	for (presence_t *r = w->rooms->presence; r; r = r->next)
		if (r->expires >= now && wsd_str_in(r->all, user_id))
			return true;
	return false;
}

/* Every agent allowed to accept who is online on any node. */
json_object *wsd_room_eligible_online(wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	json_object_put(p.all);
	int64_t now = lc_mono_ms();
	for (presence_t *r = w->rooms->presence; r; r = r->next) {
		if (r->expires < now)
			continue;
		for (size_t i = 0; i < json_object_array_length(r->accept); i++) {
			const char *u = json_object_get_string(json_object_array_get_idx(r->accept, i));
			if (u && !wsd_str_in(p.accept, u))
				json_object_array_add(p.accept, json_object_new_string(u));
		}
	}
	return p.accept;
}

void wsd_room_adopt_orphans(wsd_t *w, json_object *engaged)
{
	WSD_ASSERT_LOOP(w);
	for (size_t i = 0; i < json_object_array_length(engaged); i++) {
		const char *agent = lc_json_get_str(json_object_array_get_idx(engaged, i), "agent_id",
						    NULL);
		if (agent != NULL && strcmp(agent, LC_ROOM_NO_AGENT) != 0)
			wsd_room_grace_start(w, agent);
	}
}
