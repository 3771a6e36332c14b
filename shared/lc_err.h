/* SPDX-License-Identifier: MIT */
/* lc_err: the one enum of runtime result codes, the reason that travels with it, and the
 * assert that is never compiled out (bugs take this path; runtime failures return an lc_rc). */
#ifndef LC_ERR_H
#define LC_ERR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum lc_rc {
	LC_OK = 0,
	LC_ERR_INVALID,       /* bad input: a field has the wrong type, length, value */
	LC_ERR_NOT_FOUND,     /* the thing named does not exist */
	LC_ERR_CONFLICT,      /* duplicate key, or the state changed under us (room already taken) */
	LC_ERR_UNAUTHORIZED,  /* no or bad credentials */
	LC_ERR_FORBIDDEN,     /* authenticated, but the group lacks the permission */
	LC_ERR_TOO_LARGE,     /* a body or frame over its limit */
	LC_ERR_RATE_LIMITED,  /* too many attempts (login throttle) */
	LC_ERR_UNAVAILABLE,   /* MongoDB or RabbitMQ cannot be reached right now */
	LC_ERR_TIMEOUT,       /* nothing arrived in the time allowed (bus poll) */
	LC_ERR_INTERNAL,      /* anything else that is not the caller's fault */
	LC_RC_COUNT_
} lc_rc;

#define LC_ERR_REASON_MAX 256
#define LC_ERR_FIELD_MAX 64

/* The reason (for humans, never containing secrets) and, for LC_ERR_INVALID, the field. */
typedef struct lc_err {
	lc_rc code;
	char field[LC_ERR_FIELD_MAX];
	char reason[LC_ERR_REASON_MAX];
} lc_err_t;

/* Stable lower_snake name of a code ("not_found"); used in JSON error bodies and logs. */
const char *lc_rc_name(lc_rc rc);

/* How the REST API answers a code (docs/api.md, "Errors"): the HTTP status, and the error code
 * in *code (static). LC_ERR_INVALID is 422 validation_failed when a field is named (field_named),
 * else 400 bad_request. LC_OK and unknown values answer as LC_ERR_INTERNAL (500 internal). */
int lc_rc_http(lc_rc rc, bool field_named, const char **code);
/* The websocket error frame's code of a code (docs/websocket.md, "Common rules"; static). The
 * same as the REST code except LC_ERR_CONFLICT (not_open: a room already closed) and
 * LC_ERR_TOO_LARGE (too_large); LC_ERR_TIMEOUT is unavailable on both. */
const char *lc_rc_ws_code(lc_rc rc);

/* Fill *err (may be NULL) and return code, so callers write `return lc_err_set(err, ...)`. */
lc_rc lc_err_set(lc_err_t *err, lc_rc code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, naming the field at fault. */
lc_rc lc_err_set_field(lc_err_t *err, lc_rc code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reset to LC_OK with empty reason. err may be NULL. */
void lc_err_clear(lc_err_t *err);

/* Bugs only: "cannot happen". Never compiled out, unlike assert(3). */
#define LC_ASSERT(cond) \
	do { if (!(cond)) lc_assert_fail(#cond, __FILE__, __LINE__, __func__); } while (0)
#define LC_CHECK_OBJ(ptr, m) \
	do { LC_ASSERT((ptr) != NULL); LC_ASSERT((ptr)->magic == (m)); } while (0)
/* A pointer back from void * (a job's arg, a callback's user data): to = from, then checked
 * (Varnish CAST_OBJ_NOTNULL). */
#define LC_CAST_OBJ(to, from, m) \
	do { (to) = (from); LC_CHECK_OBJ((to), (m)); } while (0)
_Noreturn void lc_assert_fail(const char *cond, const char *file, int line, const char *func);

#endif
