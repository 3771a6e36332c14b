/* SPDX-License-Identifier: MIT */
/* wsd_map: chained string hash table used only by the loop thread. */
#include "config.h"
#include "map.h"
#include "wsd.h"
#include "lc_alloc.h"

#include <stdlib.h>
#include <string.h>

/* One allocation per key: a node keeps one entry per connected customer (follow.c). */
typedef struct entry {
	struct entry *next;
	void *value;
	uint32_t hash;
	char key[];
} entry_t;

struct wsd_map {
	entry_t **buckets;
	size_t nbuckets, count;
};

uint32_t wsd_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

wsd_map_t *wsd_map_new(void)
{
	wsd_map_t *m = lc_calloc(1, sizeof *m);
	m->nbuckets = 16;
	m->buckets = lc_calloc(m->nbuckets, sizeof *m->buckets);
	return m;
}

void wsd_map_free(wsd_map_t **pm)
{
	if (pm == NULL || *pm == NULL)
		return;
	wsd_map_t *m = *pm;
	for (size_t i = 0; i < m->nbuckets; i++) {
		entry_t *e = m->buckets[i];
		while (e) {
			entry_t *n = e->next;
			free(e);
			e = n;
		}
	}
	free(m->buckets);
	free(m);
	*pm = NULL;
}

static entry_t **find(const wsd_map_t *m, const char *key, uint32_t h)
{
	entry_t **pe = &m->buckets[h & (m->nbuckets - 1)];
	while (*pe && ((*pe)->hash != h || strcmp((*pe)->key, key) != 0))
		pe = &(*pe)->next;
	return pe;
}

void *wsd_map_get(const wsd_map_t *m, const char *key)
{
	entry_t **pe = find(m, key, wsd_hash(key));
	return *pe ? (*pe)->value : NULL;
}

static void grow(wsd_map_t *m)
{
	size_t nb = m->nbuckets * 2;
	entry_t **b = lc_calloc(nb, sizeof *b);
	for (size_t i = 0; i < m->nbuckets; i++) {
		entry_t *e = m->buckets[i];
		while (e) {
			entry_t *n = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
			e = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

void *wsd_map_put(wsd_map_t *m, const char *key, void *value)
{
	uint32_t h = wsd_hash(key);
	entry_t **pe = find(m, key, h);
	if (*pe) {
		void *old = (*pe)->value;
		(*pe)->value = value;
		return old;
	}
	size_t len = strlen(key) + 1;
	entry_t *e = lc_malloc(sizeof *e + len);
	memcpy(e->key, key, len);
	e->next = NULL;
	e->value = value;
	e->hash = h;
	*pe = e;
	if (++m->count > m->nbuckets)
		grow(m);
	return NULL;
}

void *wsd_map_del(wsd_map_t *m, const char *key)
{
	entry_t **pe = find(m, key, wsd_hash(key));
	if (*pe == NULL)
		return NULL;
	entry_t *e = *pe;
	void *v = e->value;
	*pe = e->next;
	free(e);
	m->count--;
	return v;
}

size_t wsd_map_count(const wsd_map_t *m)
{
	return m->count;
}

void wsd_map_each(const wsd_map_t *m, void (*fn)(const char *, void *, void *), void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (entry_t *e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, ctx);
}

size_t wsd_map_keys(const wsd_map_t *m, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nbuckets && n < max; i++)
		for (entry_t *e = m->buckets[i]; e && n < max; e = e->next)
			out[n++] = e->key;
	return n;
}
