/* SPDX-License-Identifier: MIT */
/* wsd_listener: the libwebsockets side: the protocols table, the callback that creates and
 * destroys connections, reassembles frames, sends queued frames, and hands each connection's
 * events to its endpoint (wsd_endpoint_t). */
#ifndef WSD_LISTENER_H
#define WSD_LISTENER_H

#include "wsd.h"
#include "conn.h"

/* The endpoints served, ended by NULL: defined by the program (endpoints.c), so the listener
 * does not know what they are. */
extern const wsd_endpoint_t *const wsd_endpoints[];

/* The protocols table for lws_context_creation_info (terminated by a zeroed entry). */
extern const struct lws_protocols wsd_protocols[];

/* Close every connection (shutdown). */
void wsd_listener_close_all(wsd_t *w);

#endif
