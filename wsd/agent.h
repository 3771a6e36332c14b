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

#endif
