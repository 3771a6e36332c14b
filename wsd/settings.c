/* SPDX-License-Identifier: MIT */
/* wsd/settings: the settings cache behind wsd_settings_get. One thread at a time refreshes it
 * from the store without holding the lock; every reader leaves with its own deep copy. */
#include "config.h"
#include "settings.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_settings.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define WSD_SETTINGS_MAGIC 0x77736574u

/* A snapshot that could not be refreshed is tried again this much later. */
#define SETTINGS_RETRY_MS 2000

#define SETTINGS_EXPIRED INT64_MIN

/* One per wsd process, created by main() before the workers start. */
struct wsd_settings {
	uint32_t magic;
	pthread_mutex_t lock;
	json_object *cur;               /* under lock; never leaves this file */
	/* When cur was read (SETTINGS_EXPIRED: read it again). Not 0 for "expired": the
	 * monotonic clock counts from boot, so 0 is less than a long TTL ago on a machine up for
	 * less than that (--settings-check 3600 an hour after boot). */
	int64_t at, ttl_ms;
	uint64_t gen;                   /* counts wsd_settings_expire_all */
	wsd_settings_load_fn load;
	wsd_settings_seen_fn seen;
	void *ctx;
};

wsd_settings_t *wsd_settings_new(wsd_settings_load_fn load, wsd_settings_seen_fn seen,
				 void *ctx, int64_t ttl_ms)
{
	wsd_settings_t *s = lc_calloc(1, sizeof *s);
	s->magic = WSD_SETTINGS_MAGIC;
	pthread_mutex_init(&s->lock, NULL);
	s->ttl_ms = ttl_ms;
	s->at = SETTINGS_EXPIRED;
	s->load = load;
	s->seen = seen;
	s->ctx = ctx;
	return s;
}

void wsd_settings_free(wsd_settings_t **sp)
{
	wsd_settings_t *s = *sp;
	if (s == NULL)
		return;
	assert(s->magic == WSD_SETTINGS_MAGIC);
	json_object_put(s->cur);
	pthread_mutex_destroy(&s->lock);
	s->magic = 0;
	free(s);
	*sp = NULL;
}

/* Under lock: a copy for the caller, sharing no reference count with cur. */
static json_object *settings_copy_locked(wsd_settings_t *s)
{
	return lc_json_copy(s->cur);
}

/* Without lock: the stored settings with anything missing filled from the defaults. */
static lc_rc settings_read(wsd_settings_t *s, json_object **out)
{
	lc_err_t err;
	json_object *r = NULL;
	lc_rc rc = s->load(s->ctx, &r, &err);
	if (rc != LC_OK) {
		LC_WARN("reading settings: %s", err.reason);
		return rc;
	}
	json_object *d = lc_settings_defaults();
	json_object_object_foreach(d, k, v) {
		if (!json_object_object_get_ex(r, k, NULL))
			json_object_object_add(r, k, json_object_get(v));
	}
	json_object_put(d);
	*out = r;
	return LC_OK;
}

/* Under lock: s becomes the snapshot. */
static void settings_install_locked(wsd_settings_t *s, json_object *r)
{
	json_object_put(s->cur);
	s->cur = r;
	if (s->seen)
		s->seen(s->ctx, r);
}

json_object *wsd_settings_copy(wsd_settings_t *s, int64_t now)
{
	assert(s->magic == WSD_SETTINGS_MAGIC);
	pthread_mutex_lock(&s->lock);
	int have = s->cur != NULL;
	if (have && s->at != SETTINGS_EXPIRED && now - s->at <= s->ttl_ms) {
		json_object *r = settings_copy_locked(s);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	/* Stale: this thread refreshes. Claiming the refresh (at = now) lets the others keep
	 * copying the old snapshot meanwhile; the store is read without the lock, so a slow or
	 * unreachable database never makes other workers queue behind one timeout. */
	if (have)
		s->at = now;
	uint64_t gen = s->gen;
	pthread_mutex_unlock(&s->lock);

	json_object *fresh = NULL;
	lc_rc rc = settings_read(s, &fresh);

	pthread_mutex_lock(&s->lock);
	if (rc == LC_OK) {
		settings_install_locked(s, fresh);
		/* An expiry that came during the read may announce a change the read missed. */
		s->at = gen == s->gen ? now : SETTINGS_EXPIRED;
	} else if (have) {
		s->at = now - s->ttl_ms + SETTINGS_RETRY_MS;
	} else if (s->cur == NULL) {
		/* Nothing read yet (start-up with MongoDB down): the defaults until it answers;
		 * at stays old so that the next call tries again. */
		settings_install_locked(s, lc_settings_defaults());
	}
	json_object *r = settings_copy_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

json_object *wsd_settings_peek(wsd_settings_t *s)
{
	assert(s->magic == WSD_SETTINGS_MAGIC);
	pthread_mutex_lock(&s->lock);
	json_object *r = s->cur != NULL ? settings_copy_locked(s) : lc_settings_defaults();
	pthread_mutex_unlock(&s->lock);
	return r;
}

void wsd_settings_expire_all(wsd_settings_t *s)
{
	assert(s->magic == WSD_SETTINGS_MAGIC);
	pthread_mutex_lock(&s->lock);
	s->gen++;
	s->at = SETTINGS_EXPIRED;
	pthread_mutex_unlock(&s->lock);
}
