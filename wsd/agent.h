/* SPDX-License-Identifier: MIT */
/* wsd_agent: the agent side of /ws/agent (docs/websocket.md): authentication of the session at
 * the handshake, the frames (accept, decline, message, typing, end, history, resume, watch) and
 * the periodic re-check that ends revoked sessions. */
#ifndef WSD_AGENT_H
#define WSD_AGENT_H

#include "wsd.h"
#include "conn.h"

/* The endpoint /ws/agent (listener.h): open checks the session token on a worker, frames go
 * through the agent's frame table (agent.c). */
extern const wsd_endpoint_t wsd_agent_endpoint;
/* Its frame table (frames.h), for tests/fuzz: the rows as the endpoint checks them. */
extern const struct wsd_frame_table *const wsd_agent_frames;

/* Loop: the connection has a session token: check it (on a worker), then prepare hello. */
void wsd_agent_open(wsd_conn_t *c);

/* Loop: the room key of a watched room is bound: read its recent messages (the endpoint's
 * on_watch_bound, called by the rooms layer, follow.c). */
void wsd_agent_watch_fetch(wsd_conn_t *c, const char *room_id);

/* The accepts' claims are made in batches (agent_claim.c): what arrived while one batch was on
 * a worker is the next batch. init before the loop starts; free last, once no thread can answer
 * a room command any more (the accepts still waiting are dropped, their agents unanswered). */
void wsd_agent_claims_init(wsd_t *w);
void wsd_agent_claims_free(wsd_t *w);
/* Any thread: the accepts not finished (queued, claimed with their join on its way, or back on
 * a worker), which a drain waits for like the worker jobs (0 before init). */
size_t wsd_agent_claims_pending(wsd_t *w);
/* Any thread: the claims made and the batches they were made in, since start (zeros before
 * init). */
void wsd_agent_claims_counts(wsd_t *w, uint64_t *claims, uint64_t *batches);
/* Loop: the declines of room_id held for an accept (wsd_croom_t.declines: their refs; NULL:
 * none), each made now and answered with its ref (also the endpoint's on_held_declines). */
void wsd_agent_declines_send(wsd_conn_t *c, const char *room_id, json_object *refs);

#endif
