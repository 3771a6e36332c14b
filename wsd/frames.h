/* SPDX-License-Identifier: MIT */
/* wsd_frames: the frame tables of the endpoints (/ws/agent, /ws/widget). Each endpoint declares
 * one row per frame type with designated initializers, as tmux declares its commands:
 *   { .type = "accept", .perm = WSD_P_ACCEPT, .rules = room_rules, .flags = WSD_FRAME_JOB,
 *     .handler = on_accept }
 * and the checks every frame goes through (state, rate, permission, validation, the job cap)
 * are written once here. wsd_frames_decide is pure (no connection, no libwebsockets): the unit
 * test drives it; wsd_frames_run (frames_run.c) applies it to a connection. Loop thread. */
#ifndef WSD_FRAMES_H
#define WSD_FRAMES_H

#include "conn.h"
#include "lc_validate.h"

#include <json-c/json.h>
#include <stdbool.h>

/* A frame's handler: the frame passed every check of its row. frame and ref are borrowed. */
typedef void (*wsd_frame_fn)(wsd_conn_t *c, json_object *frame, json_object *ref);

/* Row flags. */
#define WSD_FRAME_EARLY    0x01u   /* allowed before the connection is ready (widget hello) */
#define WSD_FRAME_RATE     0x02u   /* takes a token of the connection's frame bucket */
#define WSD_FRAME_JOB      0x04u   /* starts a job: refused (busy) past WSD_FRAME_JOBS_MAX */
#define WSD_FRAME_NAMES_ID 0x08u   /* errors name the frame's "id" (a message the client resends) */
#define WSD_FRAME_PUBLISHES 0x10u  /* needs RabbitMQ: refused (unavailable) while the publisher
				    * queue is full (wsd_busio_full, wsd_publish_queue_max) */

/* Jobs one connection may have queued or running; frames beyond get error busy: a client
 * cannot pile up unbounded work on the workers (a resume names up to 100 rooms). */
#define WSD_FRAME_JOBS_MAX 32
#define WSD_FRAME_BUS_FULL "RabbitMQ is not keeping up: nothing was done; send it again later"
#define WSD_FRAME_BUSY "too many requests of this connection under way: send it again once " \
	"some are answered"

typedef struct wsd_frame_row {
	const char *type;
	unsigned perm;                 /* WSD_P_* the user needs (0: none) */
	const lc_vrule_t *rules;       /* checked before the handler (NULL: the handler checks) */
	unsigned flags;                /* WSD_FRAME_* */
	wsd_frame_fn handler;
} wsd_frame_row_t;

/* One endpoint's frames: rows end with a row whose type is NULL. */
typedef struct wsd_frame_table {
	const wsd_frame_row_t *rows;
	bool names_room;               /* errors name the frame's room_id (agent frames) */
	const char *not_ready;         /* message of error not_ready */
	const char *rate_limited;      /* message of error rate_limited */
} wsd_frame_table_t;

/* What a decision needs from the connection: its state, its permissions, and the two budgets
 * (rate_take spends a token, job_room only looks), each called only when a row asks. */
typedef struct wsd_frame_gate {
	bool ready;
	unsigned perms;
	bool (*rate_take)(void *ctx);
	bool (*job_room)(void *ctx);
	bool bus_full;                 /* the publisher queue is at its cap (WSD_FRAME_PUBLISHES) */
	void *ctx;
} wsd_frame_gate_t;

/* Why a frame is refused: the one error frame to answer. message is allocated (free with
 * wsd_frame_refusal_clear); room_id and id are borrowed from the frame (NULL: not named). */
typedef struct wsd_frame_refusal {
	const char *code;
	char *message;
	const char *room_id, *id;
} wsd_frame_refusal_t;

/* The row of type in t, or NULL. */
const wsd_frame_row_t *wsd_frames_find(const wsd_frame_table_t *t, const char *type);
/* The row whose handler should run for this frame, or NULL with *no filled (code not NULL).
 * Checks in this order: ready (unless EARLY), known type, rate, permission, rules, job cap. */
const wsd_frame_row_t *wsd_frames_decide(const wsd_frame_table_t *t, const char *type,
					 json_object *frame, const wsd_frame_gate_t *gate,
					 wsd_frame_refusal_t *no);
void wsd_frame_refusal_clear(wsd_frame_refusal_t *no);
/* The first failure of frame against rules as "field: reason" (allocated), or NULL if valid. */
char *wsd_frames_invalid(json_object *frame, const lc_vrule_t *rules);
/* The name of one WSD_P_* bit ("chats.accept"), or NULL. */
const char *wsd_frames_perm_name(unsigned bit);
/* The WSD_P_* bits of a permission list (an array of names). */
unsigned wsd_frames_perm_bits(json_object *permissions);

/* frames_run.c: decide for connection c and answer the refusal or run the handler. */
void wsd_frames_run(const wsd_frame_table_t *t, wsd_conn_t *c, const char *type,
		    json_object *frame, json_object *ref);
/* A handler that checks something first takes the job cap itself: false after answering busy
 * (naming room_id and id, either may be NULL). */
bool wsd_frames_admit(wsd_conn_t *c, json_object *ref, const char *room_id, const char *id);

/* Validate frame against rules; on failure send c validation_failed naming the first bad field
 * (wsd_frames_invalid) and return false. _about: the error names what it answers (room_id, id:
 * may be NULL; copied). */
bool wsd_frames_check(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules, json_object *ref);
bool wsd_frames_check_about(wsd_conn_t *c, json_object *frame, const lc_vrule_t *rules,
			    const char *room_id, const char *id, json_object *ref);

#endif
