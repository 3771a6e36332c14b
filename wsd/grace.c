/* SPDX-License-Identifier: MIT */
/* wsd_grace: the grace period of agents who left (docs/websocket.md, "Grace period"), and the
 * jobs that end rooms without an agent's word: no agent (timeout, everyone declined) and agent
 * disconnected (grace expired). An agent's engaged rooms belong to the agent, not to one
 * connection: the timer is per agent and runs only while the agent is online on no node (local
 * connections, and the presence events of the others). Both endings close the room with a
 * conditional update, so exactly one node ends it however many try. */
#include "config.h"
#include "room_priv.h"

#include "roomcmd.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

/* ---- jobs that end rooms: no agent, agent disconnected */

typedef struct endjob {
	char *room_id, *user_id;
	lc_rc rc;
	json_object *room, *msg;   /* no_agent: the room closed and its system message */
	json_object *ended;        /* agent_disconnected: [{"room", "msg"}] of the rooms closed */
} endjob_t;

static void endjob_free(endjob_t *j)
{
	free(j->room_id);
	free(j->user_id);
	json_object_put(j->room);
	json_object_put(j->msg);
	json_object_put(j->ended);
	free(j);
}

static void no_agent_run(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	lc_err_t err;
	/* The same conditional update as an accept: if an agent takes the request at this very
	 * moment, exactly one of us wins. */
	j->rc = lc_store_room_claim(w->store, j->room_id, LC_ROOM_NO_AGENT, "", NULL, &err);
	if (j->rc != LC_OK)
		return;
	j->rc = lc_store_room_close(w->store, j->room_id, "no_agent", &j->room, &err);
	if (j->rc != LC_OK)
		return;
	wsd_room_view_t v;
	wsd_room_view(&v, j->room);
	wsd_roomcmd_system_message(w, j->room_id, "noagent", "no_agent_message", NULL,
				   v.customer_name, LC_ROOM_CLOSED, NULL,
				   &j->msg, &err);
}

/* The customer's gateway gets session_ended (msg: the stored system message, may be NULL);
 * the agent's connections (every one, on any node) and the watchers get "ended" with the text
 * the customer got; a request nobody took is withdrawn everywhere (roomend.c). */
static void room_ended_publish(wsd_t *w, json_object *room, json_object *msg, const char *reason)
{
	wsd_room_end_t end = { .room = room, .msg = msg, .reason = reason };
	wsd_room_ended(w, &end);
}

static void no_agent_done(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	if (!w->stop && j->rc == LC_OK) {
		LC_INFO("room %s closed: no agent", j->room_id);
		room_ended_publish(w, j->room, j->msg, "no_agent");
	}
	endjob_free(j);
}

void wsd_room_submit_no_agent(wsd_t *w, const char *room_id, json_object *room)
{
	endjob_t *j = lc_calloc(1, sizeof *j);
	j->room_id = lc_strdup(room_id);
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_workers_submit_customer(w, v.channel, v.customer_id, no_agent_run, no_agent_done, j);
}

/* Every room still engaged with the agent, read now (not remembered: the agent may have taken
 * rooms on another node), closed one by one; a room someone ended meanwhile is CONFLICT and
 * left alone, so every node that runs this for the agent closes each room at most once. */
static void disconnect_run(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	lc_err_t err;
	json_object *rooms = NULL;
	j->ended = json_object_new_array();
	j->rc = lc_store_room_list_agent(w->store, j->user_id, &rooms, &err);
	for (size_t i = 0; j->rc == LC_OK && i < json_object_array_length(rooms); i++) {
		const char *rid = lc_json_get_str(json_object_array_get_idx(rooms, i), "id", "");
		json_object *room = NULL, *msg = NULL;
		lc_rc rc = lc_store_room_close(w->store, rid, "agent_disconnected", &room, &err);
		if (rc == LC_ERR_CONFLICT || rc == LC_ERR_NOT_FOUND)
			continue;
		j->rc = rc;
		if (rc != LC_OK)
			break;
		/* The room is closed whatever happens to the message: the customer still learns
		 * it from session_ended. */
		wsd_room_view_t v;
		wsd_room_view(&v, room);
		wsd_roomcmd_system_message(w, rid, "disconnected", "agent_disconnected_message",
					   v.agent_name ? v.agent_name : "", v.customer_name,
					   LC_ROOM_CLOSED, NULL, &msg, &err);
		json_object *e = json_object_new_object();
		json_object_object_add(e, "room", room);
		json_object_object_add(e, "msg", msg);
		json_object_array_add(j->ended, e);
	}
	if (j->rc != LC_OK)
		LC_WARN("ending the rooms of agent %s: %s", j->user_id, err.reason);
	json_object_put(rooms);
}

static void disconnect_done(wsd_t *w, void *arg)
{
	endjob_t *j = arg;
	if (w->stop)
		goto out;
	for (size_t i = 0; i < json_object_array_length(j->ended); i++) {
		json_object *e = json_object_array_get_idx(j->ended, i), *room = NULL, *msg = NULL;
		json_object_object_get_ex(e, "room", &room);
		json_object_object_get_ex(e, "msg", &msg);
		wsd_room_view_t v;
		wsd_room_view(&v, room);
		LC_INFO("room %s closed: agent %s disconnected", v.id, j->user_id);
		room_ended_publish(w, room, msg, "agent_disconnected");
	}
	/* MongoDB could not be asked: the agent's rooms get another grace period. */
	if (j->rc != LC_OK)
		wsd_room_grace_left(w, j->user_id);
out:
	endjob_free(j);
}

/* ---- grace timers: one per agent, running (deadline) or deferred (0: online elsewhere) */

static grace_t *grace_find(wsd_t *w, const char *user_id)
{
	for (grace_t *g = w->rooms->grace; g; g = g->next)
		if (strcmp(g->user_id, user_id) == 0)
			return g;
	return NULL;
}

/* The agent's timer (created deferred when there is none). */
static grace_t *grace_get(wsd_t *w, const char *user_id)
{
	grace_t *g = grace_find(w, user_id);
	if (g == NULL) {
		g = lc_calloc(1, sizeof *g);
		g->user_id = lc_strdup(user_id);
		g->next = w->rooms->grace;
		w->rooms->grace = g;
	}
	return g;
}

static void grace_run(wsd_t *w, grace_t *g)
{
	if (g->deadline != 0)
		return;
	g->deadline = lc_mono_ms() + 1000LL * atomic_load(&w->reconnect_grace);
	LC_DEBUG("grace period of agent %s runs", g->user_id);
}

void wsd_room_grace_start(wsd_t *w, const char *user_id)
{
	WSD_ASSERT_LOOP(w);
	if (!wsd_room_user_online(w, user_id))
		grace_run(w, grace_get(w, user_id));
}

void wsd_room_grace_left(wsd_t *w, const char *user_id)
{
	if (wsd_room_user_ready(wsd_map_get(w->rooms->users, user_id), 0))
		return;   /* another connection here: its own close decides */
	grace_t *g = grace_get(w, user_id);
	if (!wsd_room_user_online(w, user_id))
		grace_run(w, g);
}

void wsd_room_grace_free(grace_t *g)
{
	free(g->user_id);
	free(g);
}

void wsd_room_grace_forget(wsd_t *w, const char *user_id)
{
	WSD_ASSERT_LOOP(w);
	for (grace_t **pg = &w->rooms->grace; *pg; pg = &(*pg)->next)
		if (strcmp((*pg)->user_id, user_id) == 0) {
			grace_t *g = *pg;
			*pg = g->next;
			wsd_room_grace_free(g);
			return;
		}
}

void wsd_room_grace_defer(wsd_t *w, const char *user_id)
{
	WSD_ASSERT_LOOP(w);
	grace_t *g = grace_find(w, user_id);
	if (g != NULL && g->deadline != 0) {
		g->deadline = 0;
		LC_DEBUG("grace period of agent %s deferred: online on another node", user_id);
	}
}

void wsd_room_grace_recheck(wsd_t *w)
{
	for (grace_t *g = w->rooms->grace; g; g = g->next)
		if (g->deadline == 0 && !wsd_room_user_online(w, g->user_id))
			grace_run(w, g);
}

void wsd_room_grace_expire(wsd_t *w, int64_t now)
{
	WSD_ASSERT_LOOP(w);
	/* While this node hears nobody (its own presence does not come back), it cannot know
	 * whether the agent is back on another node: the timers wait. */
	if (!wsd_room_presence_heard(w, now))
		return;
	for (grace_t **pg = &w->rooms->grace; *pg;) {
		grace_t *g = *pg;
		if (g->deadline == 0 || g->deadline > now) {
			pg = &g->next;
			continue;
		}
		*pg = g->next;
		endjob_t *j = lc_calloc(1, sizeof *j);
		j->user_id = lc_strdup(g->user_id);
		wsd_workers_submit(w->workers, j->user_id, disconnect_run, disconnect_done, j);
		wsd_room_grace_free(g);
	}
}
