/* SPDX-License-Identifier: MIT */
/* lc_cookie: the one parser of the HTTP Cookie request header (RFC 6265 "cookie-string":
 * name=value pairs separated by ';'), shared by livechat-fcgi and livechat-wsd so that both read
 * a session cookie alike. Pure: no allocation in the iterator. */
#ifndef LC_COOKIE_H
#define LC_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include "lc_err.h"

/* The largest Cookie header read (bytes); a longer one is refused as a whole (LC_ERR_TOO_LARGE),
 * never cut: a browser that sent it has a cookie jar to clear, and the client is told so. */
#define LC_COOKIE_HEADER_MAX 4096

/* One pair, pointing into the header (not NUL-terminated). */
typedef struct lc_cookie {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} lc_cookie_t;

/* The next pair of header at or after *pos (start with *pos = 0): true and *c filled, *pos
 * advanced; false at the end. Blanks around names and values are dropped; a value in double
 * quotes (RFC 6265 allows them) is given without them; a piece without '=' or with an empty name
 * is skipped. header must be NUL-terminated. */
bool lc_cookie_next(const char *header, size_t *pos, lc_cookie_t *c);

/* The value of the first cookie called name (case-sensitive) in header (may be NULL), as a new
 * string in *value (caller frees). LC_ERR_NOT_FOUND when absent; LC_ERR_TOO_LARGE when the
 * header is longer than LC_COOKIE_HEADER_MAX; LC_ERR_INVALID when the value holds a byte that
 * is not a cookie-octet (control characters, space, '"', ',', ';', '\\', non-ASCII). */
lc_rc lc_cookie_find(const char *header, const char *name, char **value, lc_err_t *err);

/* True when v[0..n) is only RFC 6265 cookie-octets. */
bool lc_cookie_value_valid(const char *v, size_t n);

/* True when header (may be NULL) is no longer than LC_COOKIE_HEADER_MAX. */
bool lc_cookie_header_ok(const char *header);

#endif
