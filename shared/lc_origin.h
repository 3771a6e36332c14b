/* SPDX-License-Identifier: MIT */
/* lc_origin: the one comparison of an Origin request header with the Host the request came to,
 * shared by livechat-fcgi (cookie-authenticated writes) and livechat-wsd (the upgrade). */
#ifndef LC_ORIGIN_H
#define LC_ORIGIN_H

#include <stdbool.h>

/* True when origin (may be NULL) is scheme://host[:port] with nothing after, and host[:port]
 * is host (the Host header, may be NULL), case-insensitively. */
bool lc_origin_is_host(const char *origin, const char *host);

#endif
