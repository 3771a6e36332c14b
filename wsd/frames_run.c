/* SPDX-License-Identifier: MIT */
/* wsd_frames_run: a frame table applied to a connection: the decision of frames.c with the
 * connection's state and budgets, then the one error frame or the row's handler. Loop thread. */
#include "config.h"
#include "frames.h"
#include "busio.h"
#include "room.h"

#include <stdlib.h>

typedef struct gate_ctx {
	uint32_t magic;
#define GATE_CTX_MAGIC 0x67617465u
	wsd_conn_t *c;
} gate_ctx_t;

static bool has_job_room(wsd_conn_t *c)
{
	return wsd_room_jobs(c->w, c->handle) < WSD_FRAME_JOBS_MAX;
}

static bool rate_take(void *arg)
{
	gate_ctx_t *g;
	LC_CAST_OBJ(g, arg, GATE_CTX_MAGIC);
	return wsd_room_rate_take(g->c->w, g->c->handle);
}

static bool job_room(void *arg)
{
	gate_ctx_t *g;
	LC_CAST_OBJ(g, arg, GATE_CTX_MAGIC);
	return has_job_room(g->c);
}

void wsd_frames_run(const wsd_frame_table_t *t, wsd_conn_t *c, const char *type,
		    json_object *frame, json_object *ref)
{
	LC_CHECK_OBJ(c, WSD_CONN_MAGIC);
	gate_ctx_t g = { GATE_CTX_MAGIC, c };
	wsd_frame_gate_t gate = { .ready = c->state == WSD_CS_READY, .perms = c->perms,
				  .rate_take = rate_take, .job_room = job_room,
				  .bus_full = wsd_busio_full(c->w->bus), .ctx = &g };
	wsd_frame_refusal_t no;
	const wsd_frame_row_t *row = wsd_frames_decide(t, type, frame, &gate, &no);
	if (row != NULL)
		row->handler(c, frame, ref);
	else
		wsd_conn_error_about(c, no.code, no.message, no.room_id, no.id, ref);
	wsd_frame_refusal_clear(&no);
}

bool wsd_frames_admit(wsd_conn_t *c, json_object *ref, const char *room_id, const char *id)
{
	if (has_job_room(c))
		return true;
	wsd_conn_error_about(c, "busy", WSD_FRAME_BUSY, room_id, id, ref);
	return false;
}

bool wsd_frames_check(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules, json_object *ref)
{
	return wsd_frames_check_about(c, frame, rules, NULL, NULL, ref);
}

bool wsd_frames_check_about(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules,
			  const char *room_id, const char *id, json_object *ref)
{
	char *msg = wsd_frames_invalid(frame, rules);
	if (msg == NULL)
		return true;
	wsd_conn_error_about(c, "validation_failed", msg, room_id, id, ref);
	free(msg);
	return false;
}
