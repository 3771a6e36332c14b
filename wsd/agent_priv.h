/* SPDX-License-Identifier: MIT */
/* wsd_agent_priv: what the agent files share (agent.c, agent_auth.c, agent_claim.c,
 * agent_room.c, agent_history.c): the header every agent job starts with, and the operations the frame table of
 * agent.c starts. Each operation has its own job struct, private to its file, whose first
 * field is a magic number checked when the job comes back through void * (LC_CAST_OBJ). */
#ifndef WSD_AGENT_PRIV_H
#define WSD_AGENT_PRIV_H

#include "agent.h"
#include "worker.h"

/* What every agent job carries: who asked (a copy of the connection's handle, user and
 * permissions: the connection may be gone when the job comes back), the frame's ref, the room,
 * the worker key and the outcome. Counted among the connection's jobs in flight from
 * wsd_ajob_init to wsd_ajob_clear (WSD_FRAME_JOBS_MAX). */
typedef struct wsd_ajob {
	wsd_t *w;
	uint64_t handle;
	json_object *ref;
	char *user_id, *display_name;
	unsigned perms;
	char *room_id;          /* NULL: a session job */
	char *key;              /* the worker key: the room's customer when known, so the room's
				 * jobs stay in order; else room_id */
	lc_rc rc;
	lc_err_t err;
} wsd_ajob_t;

/* Loop: re-check the session and user of c (its endpoint's on_recheck); closes it (4401) when
 * revoked. */
void wsd_agent_check_session(wsd_conn_t *c);

/* Loop: fill h for connection c (r: the room as the connection follows it, may be NULL;
 * room_id and ref are copied, may be NULL). */
void wsd_ajob_init(wsd_ajob_t *h, wsd_conn_t *c, const char *room_id, const wsd_croom_t *r,
		   json_object *ref);
/* Loop: free what h holds and stop counting it. */
void wsd_ajob_clear(wsd_ajob_t *h);
/* Submit job (the struct that starts with the magic and embeds h) on h's worker. */
void wsd_ajob_submit(wsd_ajob_t *h, wsd_fn run, wsd_fn done, void *job);
/* The same for a run that may ask to be tried again (wsd_workers_submit_retry). */
void wsd_ajob_submit_retry(wsd_ajob_t *h, wsd_try_fn run, wsd_fn done, void *job);
/* The lowest seq among the messages of room_id in items (0: none): a client that got items
 * (accepted, watching) starts there. */
int64_t wsd_ajob_first_seq(json_object *items, const char *room_id);
/* Add room (a stored room) to frame as "room", without declined_by, as "accepted" and
 * "watching" send it. room is shared, not copied: it loses declined_by too. */
void wsd_ajob_add_room(json_object *frame, json_object *room);

/* The operations, started on the loop once the frame passed its row's checks (agent.c); each
 * runs its MongoDB part on a worker and answers on the loop. ref is copied. */
/* accept and end store their system message (join, end) before they finish: while MongoDB
 * refuses it they are tried again (the claim or close itself is done once). */
void wsd_agent_accept(wsd_conn_t *c, const char *room_id, json_object *ref);
void wsd_agent_decline(wsd_conn_t *c, const char *room_id, json_object *ref);
/* A message of the agent (exactly one of text and canned_id). r: the followed room, or NULL
 * when the connection does not follow it: then MongoDB only gives the verdict (not_found,
 * not_open, forbidden) and nothing is written. A typed message of a followed room goes to the
 * room's writer without a worker. */
void wsd_agent_message(wsd_conn_t *c, const wsd_croom_t *r, const char *room_id,
		       const char *client_id, const char *text, const char *canned_id,
		       json_object *ref);
void wsd_agent_end(wsd_conn_t *c, const wsd_croom_t *r, const char *room_id, json_object *ref);
void wsd_agent_history(wsd_conn_t *c, const char *room_id, int64_t before_seq, int64_t limit,
		       json_object *ref);
/* r: the room just added in state RESUMING. */
void wsd_agent_resume(wsd_conn_t *c, const wsd_croom_t *r, int64_t last_seq, json_object *ref);

#endif
