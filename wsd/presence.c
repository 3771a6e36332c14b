/* wsd_presence: which agents are online on which node. Each node publishes its own (every 5 s
 * and on every change) and keeps the others' (expiring after 15 s); from it come "every eligible
 * agent declined" and the orphaned rooms a dead node left behind. Loop thread only. */
#include "config.h"
#include "room_priv.h"

#include "lc_alloc.h"
#include "lc_json.h"

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

void wsd_room_presence_publish(wsd_t *w)
{
	if (!w->rooms->ready)
		return;
	pres_ctx_t p = { json_object_new_array(), json_object_new_array(), w->rooms };
	wsd_map_each(w->rooms->users, pres_collect, &p);
	json_object *o = wsd_room_frame("presence");
	json_object_object_add(o, "accept", p.accept);
	json_object_object_add(o, "all", p.all);
	json_object_object_add(o, "ts", json_object_new_int64(wsd_now_ms()));
	wsd_room_broadcast(w, "presence", o);
	json_object_put(o);
	w->rooms->last_presence = wsd_now_ms();
}

void wsd_room_presence_update(wsd_t *w, json_object *ev)
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
		wsd_room_grace_cancel_user(w, json_object_get_string(json_object_array_get_idx(all, i)));
}

/* Every agent allowed to accept who is online on any node. */
json_object *wsd_room_eligible_online(wsd_t *w)
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
			if (u && !wsd_str_in(p.accept, u))
				json_object_array_add(p.accept, json_object_new_string(u));
		}
	}
	return p.accept;
}

void wsd_room_adopt_orphans(wsd_t *w, json_object *engaged)
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
		if (agent == NULL || rid == NULL || strcmp(agent, "-") == 0 || wsd_str_in(p.all, agent))
			continue;
		wsd_room_grace_start(w, agent, rid, lc_json_get_str(room, "channel", ""),
				     lc_json_get_str(room, "customer_id", ""));
	}
	json_object_put(p.all);
	json_object_put(p.accept);
}
