/* wsd_grace: grace timers of agents whose connection dropped, and the jobs that end rooms without
 * an agent's word: no agent (timeout, everyone declined) and agent disconnected (grace expired).
 * Both close the room with a conditional update, so exactly one node ends it however many try. */
#include "config.h"
#include "room_priv.h"

#include "gateway.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

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
	wsd_gateway_system_message(w, j->room_id, "noagent", "no_agent_message", NULL,
				   lc_json_get_str(j->room, "customer_name", ""), "closed", NULL,
				   &j->msg, &err);
}

static void room_ended_publish(wsd_t *w, endjob_t *j, const char *reason)
{
	json_object *out = wsd_gateway_out_msg("session_ended", j->msg, j->room, NULL, NULL);
	json_object_object_add(out, "reason", json_object_new_string(reason));
	wsd_room_publish_outbound(w, out, NULL, NULL);
	json_object_put(out);

	json_object *ev = wsd_room_frame("ended");
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
		json_object *b = wsd_room_frame("withdrawn");
		json_object_object_add(b, "room_id", json_object_new_string(j->room_id));
		json_object_object_add(b, "reason", json_object_new_string("no_agent"));
		wsd_room_broadcast(w, "withdrawn", b);
		json_object_put(b);
	}
	endjob_free(j);
}

void wsd_room_submit_no_agent(wsd_t *w, const char *room_id, json_object *room)
{
	endjob_t *j = lc_calloc(1, sizeof *j);
	j->room_id = lc_strdup(room_id);
	wsd_gateway_submit(w, lc_json_get_str(room, "channel", ""),
			   lc_json_get_str(room, "customer_id", ""), no_agent_run, no_agent_done, j);
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
	wsd_gateway_system_message(w, j->room_id, "disconnected", "agent_disconnected_message",
				   lc_json_get_str(j->room, "agent_name", ""),
				   lc_json_get_str(j->room, "customer_name", ""), "closed", NULL,
				   &j->msg, &err);
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

void wsd_room_grace_free(grace_t *g)
{
	free(g->user_id);
	free(g->room_id);
	free(g->channel);
	free(g->customer_id);
	free(g);
}

void wsd_room_grace_cancel_user(wsd_t *w, const char *user_id)
{
	for (grace_t **pg = &w->rooms->grace; *pg;) {
		grace_t *g = *pg;
		if (strcmp(g->user_id, user_id) == 0) {
			*pg = g->next;
			wsd_room_grace_free(g);
		} else {
			pg = &g->next;
		}
	}
}

void wsd_room_grace_expire(wsd_t *w, int64_t now)
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
		wsd_gateway_submit(w, g->channel, g->customer_id, disconnect_run, disconnect_done, j);
		wsd_room_grace_free(g);
	}
}
