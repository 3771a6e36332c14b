/* SPDX-License-Identifier: MIT */
/* wsd_health: the plain HTTP routes on wsd's own port, for load balancers and Prometheus:
 * GET /health (200 while the node serves, 503 while it cannot or drains) and GET /metrics (to
 * the addresses in metrics_allow; others get 404). They lie outside /ws/, the only prefix the
 * web server passes to wsd, so they are reached on the node's address only. */
#ifndef WSD_HEALTH_H
#define WSD_HEALTH_H

#include "wsd.h"

/* Loop, from LWS_CALLBACK_HTTP: answer the request for uri (lws's "in"); returns what the
 * callback returns (0: keep the connection, -1: close it). Any other path gets 404. */
int wsd_health_http(wsd_t *w, struct lws *wsi, const char *uri);

#endif
