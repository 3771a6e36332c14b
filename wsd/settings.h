/* SPDX-License-Identifier: MIT */
/* wsd/settings: the settings cache shared by wsd's worker threads. Each caller gets its own
 * copy, made under the lock, so no json_object is ever shared between threads (json-c's
 * reference counts are not atomic: a shared object put from two threads is freed twice). */
#ifndef WSD_SETTINGS_H
#define WSD_SETTINGS_H

#include <stdint.h>
#include <json-c/json.h>

#include "lc_err.h"

typedef struct wsd_settings wsd_settings_t;

/* Reads the settings (any thread, called without the lock): a new object in *out, or an
 * error in err. */
typedef lc_rc (*wsd_settings_load_fn)(void *ctx, json_object **out, lc_err_t *err);
/* Told of each snapshot installed (called under the lock; must not call back in). */
typedef void (*wsd_settings_seen_fn)(void *ctx, json_object *settings);

/* A cache read again through load when older than ttl_ms or expired; defaults() stands in
 * until the first read succeeds. ctx is passed to both callbacks. Aborts on out of memory. */
wsd_settings_t *wsd_settings_new(wsd_settings_load_fn load, wsd_settings_seen_fn seen,
				 void *ctx, int64_t ttl_ms);
void wsd_settings_free(wsd_settings_t **sp);

/* Any thread: the current settings, a private deep copy owned by the caller
 * (json_object_put it). now_ms is the caller's clock (ms). */
json_object *wsd_settings_copy(wsd_settings_t *s, int64_t now_ms);
/* Any thread, never reads the store: a copy of the current snapshot (the defaults before the
 * first read), owned by the caller. */
json_object *wsd_settings_peek(wsd_settings_t *s);
/* Any thread: the next wsd_settings_copy reads again, and so does one whose read was under way. */
void wsd_settings_expire_all(wsd_settings_t *s);

#endif
