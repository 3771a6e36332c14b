/* SPDX-License-Identifier: MIT */
/* wsd_listener: the libwebsockets side: the protocols table, the callback that creates and
 * destroys connections, reassembles frames, sends queued frames, and routes /ws/agent and
 * /ws/widget to agent.c and widget.c. */
#ifndef WSD_LISTENER_H
#define WSD_LISTENER_H

#include "wsd.h"

/* The protocols table for lws_context_creation_info (terminated by a zeroed entry). */
extern const struct lws_protocols wsd_protocols[];

/* Close every connection (shutdown). */
void wsd_listener_close_all(wsd_t *w);
/* Call fn for every live connection. */
void wsd_listener_each(wsd_t *w, void (*fn)(wsd_conn_t *c, void *ctx), void *ctx);

#endif
