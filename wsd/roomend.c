/* SPDX-License-Identifier: MIT */
/* wsd_room_ended: the one path by which every ending of a room (agent_ended, customer_left,
 * no_agent, agent_disconnected) is told: session_ended to the customer's gateway, "ended" to
 * the agent and the watchers, "withdrawn" to every node when nobody had taken the room. The
 * shapes come from events.c; the texts from the settings. */
#include "config.h"
#include "room_priv.h"

#include "events.h"
#include "lc_alloc.h"
#include "lc_message.h"

#include <stdlib.h>

char *wsd_room_end_text(wsd_t *w, const wsd_room_view_t *v, const char *reason,
			const char *customer_text)
{
	const char *key = wsd_event_ended_setting(reason);
	if (key == NULL)
		return lc_strdup(customer_text ? customer_text : "");
	/* The loop never waits on MongoDB: there the last snapshot serves (a timer's or a
	 * done callback's ending); the other threads may refresh it. */
	json_object *set = wsd_on_loop(w) ? wsd_settings_cached(w) : wsd_settings_get(w);
	char *text = wsd_settings_render(set, key, v->agent_name ? v->agent_name : "",
					 v->customer_name);
	json_object_put(set);
	return text;
}

void wsd_event_of_message(wsd_event_t *e, const wsd_room_view_t *v, json_object *msg)
{
	lc_message_t m;
	lc_message_view(&m, msg);
	wsd_event_message(e, v, &m);
	e->ts = lc_real_ms();   /* when it is told, not when it was stored */
}

void wsd_room_ended(wsd_t *w, const wsd_room_end_t *end)
{
	wsd_room_view_t v;
	wsd_room_view(&v, end->room);
	wsd_event_t e;
	wsd_event_of_message(&e, &v, end->msg);
	if (end->msg == NULL && end->out_id != NULL)
		e.id = end->out_id;
	e.reason = end->reason;
	json_object *out = wsd_event_session_ended(&e);
	wsd_room_publish_outbound(w, out, NULL, NULL);
	json_object_put(out);

	char *text = end->agent_text ? NULL : wsd_room_end_text(w, &v, end->reason, e.text);
	e.text = end->agent_text ? end->agent_text : text;
	e.agent_id = v.agent_id;
	json_object *ev = wsd_event_ended(&e);
	if (end->origin_conn != 0) {
		/* The ending connection gets the answer (with its ref), not the event too. */
		json_object_object_add(ev, "origin_node", json_object_new_string(w->node_id));
		json_object_object_add(ev, "origin_conn", json_object_new_int64((int64_t)end->origin_conn));
	}
	wsd_room_publish_event(w, v.id, v.agent_id, ev, NULL, NULL);
	json_object_put(ev);
	free(text);

	if (v.agent_id == NULL) {   /* still a waiting request: every node withdraws it */
		json_object *b = wsd_event_withdrawn(&e);
		wsd_room_broadcast(w, "withdrawn", b);
		json_object_put(b);
	}
}
