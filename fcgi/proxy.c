/* SPDX-License-Identifier: MIT */
/* fcgi proxy: reading Forwarded (RFC 7239), X-Forwarded-Proto, X-Forwarded-For and
 * X-Request-Id from a trusted proxy. */
#include "config.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

/* s[0..len) without blanks around it, into buf (size bytes); "" when it does not fit. */
static const char *trimmed(const char *s, size_t len, char *buf, size_t size)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= size)
		len = 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* The proto= of the first element of a Forwarded header (the client's own hop), quotes
 * dropped, into buf; false when there is none. */
static bool forwarded_proto(const char *h, char *buf, size_t size)
{
	size_t elem = strcspn(h, ",");
	for (const char *p = h; p < h + elem;) {
		size_t len = strcspn(p, ";,");
		char pair[64];
		trimmed(p, len, pair, sizeof pair);
		if (strncasecmp(pair, "proto=", 6) == 0) {
			const char *v = pair + 6;
			size_t vlen = strlen(v);
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
				trimmed(v + 1, vlen - 2, buf, size);
			else
				trimmed(v, vlen, buf, size);
			return true;
		}
		p += len + (p[len] == ';');
	}
	return false;
}

static bool says_https(const fcgi_request_t *req)
{
	const char *fwd = fcgi_request_header(req, "Forwarded");
	const char *xfp = fcgi_request_header(req, "X-Forwarded-Proto");
	char proto[16] = "";

	if (fwd == NULL || !forwarded_proto(fwd, proto, sizeof proto)) {
		if (xfp == NULL)
			return false;
		trimmed(xfp, strcspn(xfp, ","), proto, sizeof proto);
	}
	return strcasecmp(proto, "https") == 0;
}

/* The client named by X-Forwarded-For (lc_netlist_forwarded_for), or NULL. */
static const char *forwarded_for(const fcgi_request_t *req, const lc_netlist_t *trusted,
				 char *buf, size_t size)
{
	return lc_netlist_forwarded_for(trusted, fcgi_request_header(req, "X-Forwarded-For"), buf,
					size);
}

static const char *request_id(const fcgi_request_t *req)
{
	const char *id = fcgi_request_header(req, "X-Request-Id");
	size_t n = id != NULL ? strlen(id) : 0;
	return n > 0 && n <= FCGI_REQUEST_ID_MAX && strspn(id, ID_CHARS) == n ? id : NULL;
}

void fcgi_proxy_apply(fcgi_request_t *req, const lc_netlist_t *trusted)
{
	char client[INET6_ADDRSTRLEN + 1];

	if (lc_netlist_count(trusted) == 0 ||
	    !lc_netlist_contains(trusted, fcgi_request_env(req, "REMOTE_ADDR")))
		return;
	fcgi_request_set_forwarded(req, says_https(req),
				   forwarded_for(req, trusted, client, sizeof client),
				   request_id(req));
}
