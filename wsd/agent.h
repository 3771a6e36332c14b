/* SPDX-License-Identifier: MIT */
/* wsd_agent: the agent side of /ws/agent (docs/websocket.md): authentication of the session at
 * the handshake, the frames (accept, decline, message, typing, end, history, resume, watch) and
 * the periodic re-check that ends revoked sessions. */
#ifndef WSD_AGENT_H
#define WSD_AGENT_H

#include "wsd.h"
#include "conn.h"

/* The connection was established with a token: check it (on a worker). */
void wsd_agent_open(wsd_conn_t *c);
/* One frame from the agent (type already read; ref may be NULL). */
void wsd_agent_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref);
void wsd_agent_closed(wsd_conn_t *c);
/* Re-check the session and user of c; closes it (4401) when revoked. */
void wsd_agent_check_session(wsd_t *w, wsd_conn_t *c);

/* Loop: the room key of a watched room is bound: read its recent messages. */
void wsd_agent_watch_fetch(wsd_conn_t *c, const char *room_id);

#endif
