/* SPDX-License-Identifier: MIT */
/* wsd_addrcap: counts per client address (see addrcap.h) in a hash table of entries that exist
 * while the address holds something. */
#include "config.h"
#include "addrcap.h"
#include "lc_alloc.h"
#include "lc_err.h"
#include "lc_log.h"
#include "lc_netlist.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define ADDRCAP_BUCKETS 1024
/* X-Forwarded-For headers longer than this name no client we believe: the peer counts. */
#define ADDRCAP_XFF_MAX 1024

/* One per address that holds a connection or a job; freed when it holds nothing. */
typedef struct addr_entry {
	LIST_ENTRY(addr_entry) link;
	int64_t n[WSD_CAP_KINDS];
	char addr[];
} addr_entry_t;

LIST_HEAD(addr_bucket, addr_entry);

struct wsd_addrcap {
	uint32_t magic;
#define ADDRCAP_MAGIC 0x61646463u
	lc_netlist_t *trusted;
	struct addr_bucket buckets[ADDRCAP_BUCKETS];
};

wsd_addrcap_t *wsd_addrcap_new(const char *trusted)
{
	char why[128];
	lc_netlist_t *list = lc_netlist_parse(trusted ? trusted : "", why, sizeof why);
	if (list == NULL) {
		LC_ERROR("trusted_proxies: %s", why);
		return NULL;
	}
	wsd_addrcap_t *cap = lc_calloc(1, sizeof *cap);
	cap->magic = ADDRCAP_MAGIC;
	cap->trusted = list;
	for (size_t i = 0; i < ADDRCAP_BUCKETS; i++)
		LIST_INIT(&cap->buckets[i]);
	return cap;
}

void wsd_addrcap_free(wsd_addrcap_t **capp)
{
	if (capp == NULL || *capp == NULL)
		return;
	wsd_addrcap_t *cap = *capp;
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	for (size_t i = 0; i < ADDRCAP_BUCKETS; i++) {
		addr_entry_t *e;
		while ((e = LIST_FIRST(&cap->buckets[i])) != NULL) {
			LIST_REMOVE(e, link);
			free(e);
		}
	}
	lc_netlist_free(&cap->trusted);
	cap->magic = 0;
	free(cap);
	*capp = NULL;
}

char *wsd_addrcap_client(const wsd_addrcap_t *cap, struct lws *wsi)
{
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	char peer[INET6_ADDRSTRLEN + 1] = "";
	lws_get_peer_simple(wsi, peer, sizeof peer);
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
	if (len <= 0 || len > ADDRCAP_XFF_MAX || !lc_netlist_contains(cap->trusted, peer))
		return lc_strdup(peer);
	/* Repeated headers are copied joined: room for the separators. */
	char xff[ADDRCAP_XFF_MAX + 64], client[INET6_ADDRSTRLEN + 1];
	if (lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) < 0)
		return lc_strdup(peer);
	const char *named = lc_netlist_forwarded_for(cap->trusted, xff, client, sizeof client);
	return lc_strdup(named != NULL ? named : peer);
}

static size_t bucket_of(const char *addr)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % ADDRCAP_BUCKETS;
}

static addr_entry_t *find(const wsd_addrcap_t *cap, const char *addr)
{
	addr_entry_t *e;
	LIST_FOREACH(e, &cap->buckets[bucket_of(addr)], link)
		if (strcmp(e->addr, addr) == 0)
			return e;
	return NULL;
}

int64_t wsd_addrcap_count(const wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind)
{
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	const addr_entry_t *e = find(cap, addr);
	return e != NULL ? e->n[kind] : 0;
}

/* addr's entry, made when it has none. */
static addr_entry_t *entry(wsd_addrcap_t *cap, const char *addr)
{
	addr_entry_t *e = find(cap, addr);
	if (e == NULL) {
		size_t len = strlen(addr) + 1;
		e = lc_calloc(1, sizeof *e + len);
		memcpy(e->addr, addr, len);
		LIST_INSERT_HEAD(&cap->buckets[bucket_of(addr)], e, link);
	}
	return e;
}

bool wsd_addrcap_take(wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind, int64_t max)
{
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	addr_entry_t *e = find(cap, addr);
	if (e != NULL && max > 0 && e->n[kind] >= max)
		return false;
	entry(cap, addr)->n[kind]++;
	return true;
}

const char *wsd_addrcap_hold(wsd_addrcap_t *cap, const char *addr)
{
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	addr_entry_t *e = entry(cap, addr);
	e->n[WSD_CAP_CONNS]++;
	return e->addr;
}

void wsd_addrcap_give(wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind)
{
	LC_CHECK_OBJ(cap, ADDRCAP_MAGIC);
	addr_entry_t *e = find(cap, addr);
	LC_ASSERT(e != NULL && e->n[kind] > 0);
	e->n[kind]--;
	for (int k = 0; k < WSD_CAP_KINDS; k++)
		if (e->n[k] > 0)
			return;
	LIST_REMOVE(e, link);
	free(e);
}
