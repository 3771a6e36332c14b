/* SPDX-License-Identifier: MIT */
/* wsd/handshake: what a websocket upgrade must pass before a connection exists: the Origin
 * (ws_allowed_origins, widget_origins), the Cookie header (the shared parser, lc_cookie.h) and the session
 * token of /ws/agent. Loop thread only (it reads the request headers through lws). */
#ifndef WSD_HANDSHAKE_H
#define WSD_HANDSHAKE_H

#include <stdbool.h>
#include <libwebsockets.h>
#include "lc_config.h"

/* True when origin (the Origin header; NULL: absent, as from a non-browser client) may open
 * the endpoint: its host[:port] is host (the Host header, which the shipped proxies preserve),
 * or it is one of allowed (ws_allowed_origins: origins separated by blanks or commas); the
 * widget endpoint (agent false) also from one of sites (widget_origins), and from any origin
 * when both lists are empty. */
bool wsd_handshake_origin_ok(const char *allowed, const char *sites, const char *origin,
			     const char *host, bool agent);

/* The HTTP status refusing the upgrade (the lists read from cfg, the live one: SIGHUP) of wsi to an endpoint (agent or widget), or 0 to let it
 * through: 403 for an origin not allowed, 400 for a Cookie header over LC_COOKIE_HEADER_MAX,
 * 401 for /ws/agent without credentials. */
int wsd_handshake_refusal(struct lws *wsi, const lc_config_t *cfg, bool agent);

/* The session token from "Authorization: Bearer" or the lc_session cookie (new string), or
 * NULL. */
char *wsd_handshake_token(struct lws *wsi);

#endif
