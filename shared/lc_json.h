/* SPDX-License-Identifier: MIT */
/* lc_json: small helpers over json-c used by fcgi and wsd. */
#ifndef LC_JSON_H
#define LC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "lc_err.h"

/* Parse exactly one JSON value from buf[0..len) (never reads buf[len]: buf need not be
 * NUL-terminated). Trailing garbage, depth > 32 or a parse error -> NULL with LC_ERR_INVALID
 * and a reason ("invalid JSON at offset N"), no field. An object key with an escaped NUL
 * (json-c would cut it short) -> NULL with LC_ERR_INVALID and err->field the key as written.
 * Caller owns the result. */
json_object *lc_json_parse(const char *buf, size_t len, lc_err_t *err);
/* Field getters that tolerate absence: return def when missing or of another type. */
const char *lc_json_get_str(json_object *obj, const char *key, const char *def);
int64_t lc_json_get_int(json_object *obj, const char *key, int64_t def);
bool lc_json_get_bool(json_object *obj, const char *key, bool def);
/* A copy sharing nothing with o (NULL for NULL): how a value crosses threads, since json-c
 * counts references without atomics (docs/security.md). Out of memory aborts (lc_alloc). */
json_object *lc_json_copy(json_object *o);
/* Compact serialization; the string is owned by obj (json-c semantics). */
const char *lc_json_str(json_object *obj);
/* Build {"error":{"code":code,"message":message}}; fields (may be NULL) is an array of
 * {"field":..,"reason":..} added as "fields" (ownership of fields passes to the result). */
json_object *lc_json_error(const char *code, const char *message, json_object *fields);

#endif
