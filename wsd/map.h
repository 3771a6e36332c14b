/* SPDX-License-Identifier: MIT */
/* wsd_map: a small string -> pointer hash table (chained, grows by doubling) for the loop's
 * indexes: agents by user id, widget customers by customer id, waiting requests by room id. */
#ifndef WSD_MAP_H
#define WSD_MAP_H

#include <stddef.h>

typedef struct wsd_map wsd_map_t;

wsd_map_t *wsd_map_new(void);
/* Frees the table, not the values. */
void wsd_map_free(wsd_map_t **m);
void *wsd_map_get(const wsd_map_t *m, const char *key);
/* Insert or replace (the key is copied). Returns the previous value or NULL. */
void *wsd_map_put(wsd_map_t *m, const char *key, void *value);
/* Remove; returns the value or NULL. */
void *wsd_map_del(wsd_map_t *m, const char *key);
size_t wsd_map_count(const wsd_map_t *m);
/* Call fn for every entry; fn must not modify the map. */
void wsd_map_each(const wsd_map_t *m, void (*fn)(const char *key, void *value, void *ctx),
		  void *ctx);
/* Collect up to max keys (copies the pointers; valid until the map changes). */
size_t wsd_map_keys(const wsd_map_t *m, const char **out, size_t max);

#endif
