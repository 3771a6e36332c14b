/* SPDX-License-Identifier: MIT */
/* wsd_settings_*: wsd's settings (wsd.h). The cache of settings.c, given its two callbacks: read
 * from the store, and publish the integers the loop reads as atomics with each snapshot. */
#include "config.h"
#include "wsd.h"
#include "settings.h"
#include "lc_json.h"
#include "lc_settings.h"

static lc_rc settings_load(void *ctx, json_object **out, lc_err_t *err)
{
	wsd_t *w = ctx;
	return lc_store_settings_get(w->store, out, err);
}

/* The integers the loop thread reads, published as atomics with each snapshot. */
static void settings_seen(void *ctx, json_object *s)
{
	wsd_t *w = ctx;
	atomic_store(&w->request_timeout, (int)lc_json_get_int(s, "request_timeout", 120));
	atomic_store(&w->reconnect_grace, (int)lc_json_get_int(s, "reconnect_grace", 30));
	atomic_store(&w->history_limit, (int)lc_json_get_int(s, "history_limit", 50));
}

json_object *wsd_settings_get(wsd_t *w)
{
	WSD_ASSERT_OFF_LOOP(w);         /* it may wait for MongoDB */
	return wsd_settings_copy(w->settings, lc_mono_ms());
}

json_object *wsd_settings_cached(wsd_t *w)
{
	return wsd_settings_peek(w->settings);
}

void wsd_settings_expire(wsd_t *w)
{
	wsd_settings_expire_all(w->settings);
}

char *wsd_settings_render(json_object *settings, const char *key, const char *agent,
			  const char *customer)
{
	return lc_settings_render(lc_json_get_str(settings, key, ""), agent, customer);
}

void wsd_settings_init(wsd_t *w, int check_s)
{
	/* The integers start at the defaults (lc_settings), until the first snapshot is seen. */
	json_object *d = lc_settings_defaults();
	settings_seen(w, d);
	json_object_put(d);
	w->settings = wsd_settings_new(settings_load, settings_seen, w, 1000LL * check_s);
}
