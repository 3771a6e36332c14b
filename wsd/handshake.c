/* SPDX-License-Identifier: MIT */
/* wsd/handshake: the checks of a websocket upgrade (issue 11, item 10). A browser always sends
 * Origin on a websocket upgrade, so checking it is what keeps another site's page from opening
 * /ws/agent with the agent's cookie; non-browser clients (gateways, tests) send none. */
#include "config.h"
#include "handshake.h"
#include "lc_alloc.h"
#include "lc_cookie.h"
#include "lc_origin.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The largest header copied here: larger ones are refused before (Cookie) or are not ours. */
#define HS_HEADER_MAX (LC_COOKIE_HEADER_MAX + 1)

/* The value of header token (new string; "" when absent), or NULL when over HS_HEADER_MAX. */
static char *hs_header(struct lws *wsi, enum lws_token_indexes token)
{
	int len = lws_hdr_total_length(wsi, token);
	if (len >= HS_HEADER_MAX)
		return NULL;
	/* Repeated headers are copied joined: room for the separators. */
	char *v = lc_malloc((size_t)len + 64);
	if (len == 0 || lws_hdr_copy(wsi, v, len + 64, token) < 0)
		v[0] = '\0';
	return v;
}

/* True when origin is one of the list (case-insensitive, exact). */
static bool hs_listed(const char *allowed, const char *origin)
{
	size_t olen = strlen(origin);
	const char *p = allowed;
	while (*p) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n > 0 && n == olen && strncasecmp(p, origin, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* True when list holds no origin. */
static bool hs_empty(const char *list)
{
	return list == NULL || list[strspn(list, " \t,")] == '\0';
}

bool wsd_handshake_origin_ok(const char *allowed, const char *sites, const char *origin,
			     const char *host, bool agent)
{
	if (origin == NULL || *origin == '\0')
		return true;
	if (lc_origin_is_host(origin, host) || (!hs_empty(allowed) && hs_listed(allowed, origin)))
		return true;
	if (agent)
		return false;   /* the embedding sites never open /ws/agent */
	if (hs_empty(allowed) && hs_empty(sites))
		return true;
	return !hs_empty(sites) && hs_listed(sites, origin);
}

int wsd_handshake_refusal(struct lws *wsi, const lc_config_t *cfg, bool agent)
{
	int status = 0;
	char *origin = hs_header(wsi, WSI_TOKEN_ORIGIN);
	char *host = hs_header(wsi, WSI_TOKEN_HOST);
	char *token = NULL;
	if (origin == NULL || host == NULL ||
	    !wsd_handshake_origin_ok(lc_config_str(cfg, "ws_allowed_origins"),
				     lc_config_str(cfg, "widget_origins"), origin, host, agent)) {
		status = HTTP_STATUS_FORBIDDEN;
		goto out;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE) > LC_COOKIE_HEADER_MAX) {
		/* As the API answers it: a browser with such a cookie jar must be told, not cut. */
		status = HTTP_STATUS_BAD_REQUEST;
		goto out;
	}
	if (agent && (token = wsd_handshake_token(wsi)) == NULL)
		/* No credentials: a real 401, which the web server passes on (a bare close would
		 * become its 500). */
		status = HTTP_STATUS_UNAUTHORIZED;
out:
	free(token);
	free(origin);
	free(host);
	return status;
}

char *wsd_handshake_token(struct lws *wsi)
{
	char *token = NULL;
	char *auth = hs_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *t = auth + 7;
		while (*t == ' ')
			t++;
		if (*t)
			token = lc_strdup(t);
	}
	free(auth);
	if (token != NULL)
		return token;
	char *cookie = hs_header(wsi, WSI_TOKEN_HTTP_COOKIE);
	if (cookie != NULL && lc_cookie_find(cookie, "lc_session", &token, NULL) == LC_OK &&
	    *token == '\0') {
		free(token);
		token = NULL;
	}
	free(cookie);
	return token;
}
