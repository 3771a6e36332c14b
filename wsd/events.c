/* SPDX-License-Identifier: MIT */
/* wsd_event: the builders of the room events (events.h). Each shape is written once here;
 * the callers (gateway, agent_room, grace, catchup, widget) only describe what happened. */
#include "config.h"
#include "events.h"
#include "lc_json.h"

#include <string.h>

void wsd_room_view(wsd_room_view_t *v, json_object *room)
{
	v->id = lc_json_get_str(room, "id", "");
	v->channel = lc_json_get_str(room, "channel", "");
	v->customer_id = lc_json_get_str(room, "customer_id", "");
	v->customer_name = lc_json_get_str(room, "customer_name", "");
	v->status = lc_room_status_parse(lc_json_get_str(room, "status", NULL));
	v->agent_id = lc_json_get_str(room, "agent_id", NULL);
	if (v->agent_id != NULL && (*v->agent_id == '\0' || strcmp(v->agent_id, LC_ROOM_NO_AGENT) == 0))
		v->agent_id = NULL;
	v->agent_name = lc_json_get_str(room, "agent_name", NULL);
	v->close_reason = lc_json_get_str(room, "close_reason", NULL);
}

lc_room_status_t wsd_room_status(json_object *room)
{
	return lc_room_status_parse(lc_json_get_str(room, "status", NULL));
}

void wsd_event_message(wsd_event_t *e, const wsd_room_view_t *v, const lc_message_t *m)
{
	*e = (wsd_event_t){ .room = v, .id = *m->id != '\0' ? m->id : NULL, .ts = m->ts_ms,
			    .has_seq = m->seq > 0, .seq = m->seq, .text = m->text };
}

static void add_str(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value ? value : ""));
}

static json_object *typed(const char *type, const wsd_event_t *e)
{
	json_object *o = json_object_new_object();
	add_str(o, "type", type);
	add_str(o, "room_id", e->room->id);
	return o;
}

/* {type, room_id, reason}: the endings and withdrawals. */
static json_object *with_reason(const char *type, const wsd_event_t *e)
{
	json_object *o = typed(type, e);
	add_str(o, "reason", e->reason);
	return o;
}

json_object *wsd_event_outbound_head(const char *type, const wsd_event_t *e)
{
	json_object *o = json_object_new_object();
	add_str(o, "type", type);
	add_str(o, "id", e->id ? e->id : e->room->id);
	add_str(o, "channel", e->room->channel);
	add_str(o, "customer_id", e->room->customer_id);
	json_object_object_add(o, "ts", json_object_new_int64(e->ts));
	add_str(o, "room_id", e->room->id);
	return o;
}

json_object *wsd_event_outbound(const char *type, const wsd_event_t *e)
{
	json_object *o = wsd_event_outbound_head(type, e);
	if (e->has_seq)
		json_object_object_add(o, "seq", json_object_new_int64(e->seq));
	if (e->agent_id != NULL) {
		json_object *a = json_object_new_object();
		add_str(a, "id", e->agent_id);
		add_str(a, "name", e->agent_name);
		json_object_object_add(o, "agent", a);
	}
	if (strcmp(type, "session_ended") == 0)
		add_str(o, "reason", e->reason);
	add_str(o, "text", e->text);
	return o;
}

json_object *wsd_event_session_ended(const wsd_event_t *e)
{
	return wsd_event_outbound("session_ended", e);
}

json_object *wsd_event_ended(const wsd_event_t *e)
{
	json_object *o = with_reason("ended", e);
	add_str(o, "text", e->text);
	if (e->agent_id != NULL)
		add_str(o, "agent_id", e->agent_id);
	return o;
}

json_object *wsd_event_withdrawn(const wsd_event_t *e)
{
	return with_reason("withdrawn", e);
}

json_object *wsd_event_request_withdrawn(const wsd_event_t *e)
{
	return with_reason("request_withdrawn", e);
}

json_object *wsd_event_taken(const wsd_event_t *e)
{
	json_object *o = typed("taken", e);
	add_str(o, "agent_id", e->agent_id);
	return o;
}

json_object *wsd_event_declined(const wsd_event_t *e)
{
	json_object *o = typed("declined", e);
	add_str(o, "user_id", e->agent_id);
	return o;
}

const char *wsd_event_ended_setting(const char *reason)
{
	if (reason == NULL)
		return NULL;
	if (strcmp(reason, "agent_ended") == 0)
		return "end_message_agent";
	if (strcmp(reason, "customer_left") == 0)
		return "customer_left_message";
	return NULL;
}

/* The keys an outbound message passes on to the widget frame it becomes. */
static void copy_key(json_object *dst, json_object *src, const char *key)
{
	json_object *v = NULL;
	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
}

/* agent_message -> message {id, room_id, seq, sender "agent", author, text, ts}. */
static json_object *widget_message(json_object *o, const char *agent_name)
{
	json_object *f = json_object_new_object(), *m = json_object_new_object();
	add_str(f, "type", "message");
	copy_key(f, o, "room_id");
	copy_key(m, o, "id");
	copy_key(m, o, "room_id");
	copy_key(m, o, "seq");
	add_str(m, "sender", lc_sender_name(LC_SENDER_AGENT));
	add_str(m, "author", agent_name);
	copy_key(m, o, "text");
	json_object_object_add(m, "ts", json_object_new_int64(lc_json_get_int(o, "ts", 0)));
	json_object_object_add(f, "message", m);
	return f;
}

json_object *wsd_event_widget_frame(json_object *o)
{
	static const struct { const char *outbound, *widget; } map[] = {
		{ "request_waiting", "waiting" },
		{ "agent_joined", "joined" },
		{ "session_ended", "ended" },
	};
	const char *type = lc_json_get_str(o, "type", "");
	json_object *agent = NULL;
	json_object_object_get_ex(o, "agent", &agent);
	if (strcmp(type, "agent_message") == 0)
		return widget_message(o, lc_json_get_str(agent, "name", ""));
	if (strcmp(type, "agent_typing") == 0) {
		json_object *f = json_object_new_object();
		add_str(f, "type", "typing");
		copy_key(f, o, "room_id");
		json_object_object_add(f, "state", json_object_new_boolean(lc_json_get_bool(o, "state", true)));
		return f;
	}
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(type, map[i].outbound) != 0)
			continue;
		json_object *f = json_object_new_object();
		add_str(f, "type", map[i].widget);
		copy_key(f, o, "room_id");
		copy_key(f, o, "seq");
		if (strcmp(type, "agent_joined") == 0)
			add_str(f, "agent_name", lc_json_get_str(agent, "name", ""));
		if (strcmp(type, "session_ended") == 0)
			copy_key(f, o, "reason");
		copy_key(f, o, "text");
		return f;
	}
	return NULL;
}
