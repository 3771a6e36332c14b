/* SPDX-License-Identifier: MIT */
/* lc_err: result-code names and answers (REST status and code, websocket code), reason
 * formatting, and the never-compiled-out assert. */
#include "config.h"
#include "lc_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one map of a code to its name and to how each surface answers it. REST and websocket differ
 * where docs/api.md and docs/websocket.md promise it: the only conflict a frame meets is a room
 * already closed (`not_open`), and a frame over its limit is `too_large` where a body is
 * `payload_too_large`. */
static const struct {
	const char *name;
	int http_status;
	const char *http_code, *ws_code;
} rc_table[LC_RC_COUNT_] = {
	[LC_OK] = { "ok", 500, "internal", "internal" },
	[LC_ERR_INVALID] = { "invalid", 422, "validation_failed", "validation_failed" },
	[LC_ERR_NOT_FOUND] = { "not_found", 404, "not_found", "not_found" },
	[LC_ERR_CONFLICT] = { "conflict", 409, "conflict", "not_open" },
	[LC_ERR_UNAUTHORIZED] = { "unauthorized", 401, "unauthorized", "unauthorized" },
	[LC_ERR_FORBIDDEN] = { "forbidden", 403, "forbidden", "forbidden" },
	[LC_ERR_TOO_LARGE] = { "too_large", 413, "payload_too_large", "too_large" },
	[LC_ERR_RATE_LIMITED] = { "rate_limited", 429, "rate_limited", "rate_limited" },
	[LC_ERR_UNAVAILABLE] = { "unavailable", 503, "unavailable", "unavailable" },
	[LC_ERR_TIMEOUT] = { "timeout", 503, "unavailable", "unavailable" },
	[LC_ERR_INTERNAL] = { "internal", 500, "internal", "internal" },
};

static lc_rc known(lc_rc rc)
{
	return (unsigned)rc < LC_RC_COUNT_ ? rc : LC_ERR_INTERNAL;
}

const char *lc_rc_name(lc_rc rc)
{
	return rc_table[known(rc)].name;
}

int lc_rc_http(lc_rc rc, bool field_named, const char **code)
{
	/* Bad input tied to no field is a malformed request (unparsable JSON, not an object, a bad
	 * Content-Length), not a failed rule. */
	if (rc == LC_ERR_INVALID && !field_named) {
		*code = "bad_request";
		return 400;
	}
	*code = rc_table[known(rc)].http_code;
	return rc_table[known(rc)].http_status;
}

const char *lc_rc_ws_code(lc_rc rc)
{
	return rc_table[known(rc)].ws_code;
}

static lc_rc err_vset(lc_err_t *err, lc_rc code, const char *field, const char *fmt, va_list ap)
{
	if (err == NULL)
		return code;
	err->code = code;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	vsnprintf(err->reason, sizeof err->reason, fmt, ap);
	return code;
}

lc_rc lc_err_set(lc_err_t *err, lc_rc code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

lc_rc lc_err_set_field(lc_err_t *err, lc_rc code, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, field, fmt, ap);
	va_end(ap);
	return code;
}

void lc_err_clear(lc_err_t *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof *err);
}

void lc_assert_fail(const char *cond, const char *file, int line, const char *func)
{
	fprintf(stderr, "livechat: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
	abort();
}
