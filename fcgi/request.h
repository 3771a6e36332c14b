/* SPDX-License-Identifier: MIT */
/* fcgi request/response: the request object one FastCGI request becomes (method, path, query,
 * headers, cookies, body, request id) and the response built by the pipeline (status, headers,
 * Set-Cookie, JSON body), rendered as a FastCGI/CGI response. Pure: no libfcgi in here, so the
 * unit tests build requests from plain environment arrays. */
#ifndef FCGI_REQUEST_H
#define FCGI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "lc_err.h"

typedef struct fcgi_request fcgi_request_t;
typedef struct fcgi_response fcgi_response_t;

/* Reads up to n bytes of the request body into buf: bytes read, 0 at the end, -1 on error. */
typedef ssize_t (*fcgi_read_fn)(void *rctx, char *buf, size_t n);

/* envp: NULL-terminated "NAME=value" CGI variables, borrowed (must outlive the request).
 * read/rctx: the body source (read may be NULL: no body). Never NULL. The path is taken from
 * REQUEST_URI (query stripped), else SCRIPT_NAME + PATH_INFO, so both lighttpd and Apache work. */
fcgi_request_t *fcgi_request_new(char *const *envp, fcgi_read_fn read, void *rctx);
void fcgi_request_free(fcgi_request_t **req);

/* Read the whole body (CONTENT_LENGTH, or to the end). LC_ERR_TOO_LARGE when it exceeds max
 * bytes (without reading more than max + 1), LC_ERR_INVALID when shorter than announced. */
lc_rc fcgi_request_read_body(fcgi_request_t *req, size_t max, lc_err_t *err);
/* The body read by fcgi_request_read_body (NUL-terminated; *len may be NULL). "" when none. */
const char *fcgi_request_body(const fcgi_request_t *req, size_t *len);

const char *fcgi_request_method(const fcgi_request_t *req);   /* "GET"; never NULL */
const char *fcgi_request_path(const fcgi_request_t *req);     /* "/api/users/1", raw, no query */
/* Any CGI variable ("REMOTE_ADDR"), NULL when absent. */
const char *fcgi_request_env(const fcgi_request_t *req, const char *name);
/* An HTTP header by its name ("Authorization"), NULL when absent. */
const char *fcgi_request_header(const fcgi_request_t *req, const char *name);
/* The first query parameter name, percent-decoded ('+' is a space); NULL when absent. Every
 * pair of the query string is kept (a pair with a malformed escape or an encoded NUL is dropped). */
const char *fcgi_request_query(const fcgi_request_t *req, const char *name);
/* True when a pair of the query string was dropped (malformed escape or encoded NUL). */
bool fcgi_request_query_malformed(const fcgi_request_t *req);
/* Iterate query parameters: returns false past the end. */
bool fcgi_request_query_at(const fcgi_request_t *req, size_t i, const char **name,
			   const char **value);
/* The value of cookie name from the Cookie header as lc_cookie_find reads it (quotes around
 * the value dropped), NULL when absent, malformed (not cookie-octets) or the header is larger
 * than LC_COOKIE_HEADER_MAX. Lives as long as req. */
const char *fcgi_request_cookie(fcgi_request_t *req, const char *name);
/* The bearer token of "Authorization: Bearer T", NULL when absent or another scheme. */
const char *fcgi_request_bearer(const fcgi_request_t *req);
/* The longest request id: a trusted proxy's X-Request-Id may be this long. */
#define FCGI_REQUEST_ID_MAX 64
/* 16 hex characters, random per request, unless a trusted proxy gave one
 * (fcgi_request_set_forwarded). */
const char *fcgi_request_id(const fcgi_request_t *req);
/* True for GET, HEAD and OPTIONS (methods that change nothing). */
bool fcgi_request_is_safe(const fcgi_request_t *req);
/* True when the Origin header names this site: its host[:port] equals the Host header
 * (case-insensitive; the scheme is not compared, so TLS ended in front of the web server
 * does not matter). False when Origin is absent or "null". */
bool fcgi_request_same_origin(const fcgi_request_t *req);
/* True when the request came over https (HTTPS=on or REQUEST_SCHEME=https), or a trusted
 * proxy said so (fcgi_request_set_forwarded). */
bool fcgi_request_is_https(const fcgi_request_t *req);
/* The client's address: the one a trusted proxy named, else REMOTE_ADDR, else "-". */
const char *fcgi_request_client_addr(const fcgi_request_t *req);
/* What a trusted proxy in front said (proxy.c decides whom to believe): the client used https;
 * client (copied; NULL: REMOTE_ADDR stays the client); id (copied; NULL: keep the random one;
 * at most FCGI_REQUEST_ID_MAX characters, longer is a bug). */
void fcgi_request_set_forwarded(fcgi_request_t *req, bool https, const char *client,
				const char *id);

/* Percent-decode src (n bytes) into a new string; '+' becomes a space when plus_space.
 * NULL on a malformed escape or an encoded NUL. */
char *fcgi_url_decode(const char *src, size_t n, bool plus_space);

/* ---- responses */
fcgi_response_t *fcgi_response_new(void);
void fcgi_response_free(fcgi_response_t **resp);
/* Forget status, headers and body (an error replaces whatever a handler had started). */
void fcgi_response_reset(fcgi_response_t *resp);
/* Status and JSON body; takes ownership of body (NULL: no body, e.g. 204). */
void fcgi_response_json(fcgi_response_t *resp, int status, json_object *body);
/* Status and a body that is not JSON (text taken over, NUL-terminated; content_type static),
 * e.g. Prometheus text. Replaces any JSON body. */
void fcgi_response_text(fcgi_response_t *resp, int status, const char *content_type, char *text);
/* Add a header line (copied). Content-Type and Status are written by the renderer. A CR or LF
 * in name or value, or a ':' in name, is a bug (LC_ASSERT): data never reaches a header raw. */
void fcgi_response_header(fcgi_response_t *resp, const char *name, const char *value);
/* Set-Cookie: name=value; Path=/; Max-Age=max_age; HttpOnly; SameSite=Strict[; Secure].
 * name and value must pass fcgi_cookie_value_valid (anything else is a bug: LC_ASSERT), so no
 * value can add attributes or break the header. */
void fcgi_response_set_cookie(fcgi_response_t *resp, const char *name, const char *value,
			      int64_t max_age, bool secure);
/* True when value is only RFC 6265 cookie-octets (printable ASCII but space " , ; \). */
bool fcgi_cookie_value_valid(const char *value);
int fcgi_response_status(const fcgi_response_t *resp);
json_object *fcgi_response_body(const fcgi_response_t *resp);            /* borrowed */
/* The first header called name (case-insensitive), NULL when absent. */
const char *fcgi_response_get_header(const fcgi_response_t *resp, const char *name);
/* The whole CGI response ("Status: 200 OK\r\n...\r\n\r\nbody"); the caller frees it. */
char *fcgi_response_render(const fcgi_response_t *resp, size_t *len);
/* Reason phrase of a status ("Not Found"). */
const char *fcgi_status_text(int status);

#endif
