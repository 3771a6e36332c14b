/* SPDX-License-Identifier: MIT */
/* wsd_frames: the checks a frame of any endpoint goes through before its handler, read from the
 * endpoint's table (see frames.h). Pure: the connection's state comes in a gate, the answer goes
 * out as a refusal; nothing here sends or touches a connection. */
#include "config.h"
#include "frames.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_perm.h"

#include <stdlib.h>
#include <string.h>

/* The permissions an agent's frames may require, by bit and by the name groups carry. */
static const struct {
	unsigned bit;
	const char *name;
} perm_names[] = {
	{ WSD_P_ACCEPT, "chats.accept" },
	{ WSD_P_MONITOR, "chats.monitor" },
	{ WSD_P_HISTORY, "chats.history" },
	{ WSD_P_END_ANY, "chats.end_any" },
	{ WSD_P_CANNED_ALL, "canned.all" },
};

const char *wsd_frames_perm_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
		if (perm_names[i].bit == bit)
			return perm_names[i].name;
	return NULL;
}

unsigned wsd_frames_perm_bits(json_object *permissions)
{
	unsigned b = 0;
	for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
		if (lc_perm_has(permissions, perm_names[i].name))
			b |= perm_names[i].bit;
	return b;
}

const char *wsd_conn_plain_id(json_object *frame, const char *key)
{
	const char *v = lc_json_get_str(frame, key, NULL);
	size_t n = v ? strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") : 0;
	return v && n >= 1 && n <= 64 && v[n] == '\0' ? v : NULL;
}

const wsd_frame_row_t *wsd_frames_find(const wsd_frame_table_t *t, const char *type)
{
	for (const wsd_frame_row_t *row = t->rows; type && row->type; row++)
		if (strcmp(row->type, type) == 0)
			return row;
	return NULL;
}

char *wsd_frames_invalid(json_object *frame, const lc_vrule_t *rules)
{
	json_object *fails = NULL;
	char *msg = NULL;
	if (!lc_validate(frame, rules, false, &fails)) {
		json_object *f0 = json_object_array_get_idx(fails, 0);
		msg = lc_asprintf("%s: %s", lc_json_get_str(f0, "field", ""),
				  lc_json_get_str(f0, "reason", "invalid"));
	}
	json_object_put(fails);
	return msg;
}

static const wsd_frame_row_t *refuse(wsd_frame_refusal_t *no, const char *code, char *message)
{
	no->code = code;
	no->message = message;
	return NULL;
}

const wsd_frame_row_t *wsd_frames_decide(const wsd_frame_table_t *t, const char *type,
					 json_object *frame, const wsd_frame_gate_t *gate,
					 wsd_frame_refusal_t *no)
{
	const wsd_frame_row_t *row = wsd_frames_find(t, type);
	*no = (wsd_frame_refusal_t){ 0 };
	/* Well-formed ids only: a malformed value is not echoed back. */
	no->room_id = t->names_room ? wsd_conn_plain_id(frame, "room_id") : NULL;
	no->id = row && (row->flags & WSD_FRAME_NAMES_ID) ? wsd_conn_plain_id(frame, "id") : NULL;
	if (!gate->ready && !(row && (row->flags & WSD_FRAME_EARLY)))
		return refuse(no, "not_ready", lc_strdup(t->not_ready));
	if (row == NULL) {
		no->room_id = NULL;
		return refuse(no, "unknown_type", lc_strdup("unknown frame type"));
	}
	if ((row->flags & WSD_FRAME_RATE) && !gate->rate_take(gate->ctx))
		return refuse(no, "rate_limited", lc_strdup(t->rate_limited));
	if (row->perm && !(gate->perms & row->perm)) {
		no->room_id = NULL;
		no->id = NULL;
		return refuse(no, "forbidden", lc_asprintf("permission %s required",
							   wsd_frames_perm_name(row->perm)));
	}
	char *bad = row->rules ? wsd_frames_invalid(frame, row->rules) : NULL;
	if (bad)
		return refuse(no, "validation_failed", bad);
	if ((row->flags & WSD_FRAME_PUBLISHES) && gate->bus_full)
		return refuse(no, "unavailable", lc_strdup(WSD_FRAME_BUS_FULL));
	if ((row->flags & WSD_FRAME_JOB) && !gate->job_room(gate->ctx)) {
		no->id = NULL;
		return refuse(no, "busy", lc_strdup(WSD_FRAME_BUSY));
	}
	return row;
}

void wsd_frame_refusal_clear(wsd_frame_refusal_t *no)
{
	free(no->message);
	*no = (wsd_frame_refusal_t){ 0 };
}
