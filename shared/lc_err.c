/* SPDX-License-Identifier: MIT */
/* lc_err: result-code names, reason formatting, and the never-compiled-out assert. */
#include "config.h"
#include "lc_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rc_names[LC_RC_COUNT_] = {
	[LC_OK] = "ok",
	[LC_ERR_INVALID] = "invalid",
	[LC_ERR_NOT_FOUND] = "not_found",
	[LC_ERR_CONFLICT] = "conflict",
	[LC_ERR_UNAUTHORIZED] = "unauthorized",
	[LC_ERR_FORBIDDEN] = "forbidden",
	[LC_ERR_TOO_LARGE] = "too_large",
	[LC_ERR_RATE_LIMITED] = "rate_limited",
	[LC_ERR_UNAVAILABLE] = "unavailable",
	[LC_ERR_TIMEOUT] = "timeout",
	[LC_ERR_INTERNAL] = "internal",
};

const char *lc_rc_name(lc_rc rc)
{
	if ((unsigned)rc >= LC_RC_COUNT_)
		return "internal";
	return rc_names[rc];
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
