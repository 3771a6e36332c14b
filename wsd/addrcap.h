/* SPDX-License-Identifier: MIT */
/* wsd_addrcap: what each client address holds on this node (issue 11, item 5): its open
 * websockets (ws_max_conns_per_address, checked at the handshake) and its widget reads under
 * way (ws_max_jobs_per_address), so one address cannot take every socket or every worker.
 * Loop thread only. */
#ifndef WSD_ADDRCAP_H
#define WSD_ADDRCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <libwebsockets.h>

typedef struct wsd_addrcap wsd_addrcap_t;

typedef enum { WSD_CAP_CONNS, WSD_CAP_JOBS, WSD_CAP_KINDS } wsd_cap_kind;

/* trusted: trusted_proxies (checked by the config loader); NULL when it does not parse. */
wsd_addrcap_t *wsd_addrcap_new(const char *trusted);
void wsd_addrcap_free(wsd_addrcap_t **cap);

/* The client address of wsi (new string): the peer, or when the peer is one of trusted_proxies
 * the client its X-Forwarded-For names (lc_netlist_forwarded_for). */
char *wsd_addrcap_client(const wsd_addrcap_t *cap, struct lws *wsi);

/* How many of kind addr holds now. */
int64_t wsd_addrcap_count(const wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind);
/* Count one more of kind for addr, unless it holds max already (max <= 0: no limit): false
 * then, and nothing is counted. */
bool wsd_addrcap_take(wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind, int64_t max);
/* Count one more connection for addr (no limit: checked before) and return the table's copy of
 * addr, valid while that count is held: a connection keeps this pointer, not a copy of its own. */
const char *wsd_addrcap_hold(wsd_addrcap_t *cap, const char *addr);
/* One of kind taken for addr is over. */
void wsd_addrcap_give(wsd_addrcap_t *cap, const char *addr, wsd_cap_kind kind);

#endif
