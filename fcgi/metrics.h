/* SPDX-License-Identifier: MIT */
/* fcgi metrics: the REST API's Prometheus metrics, per livechat-fcgi process: requests by route
 * and status, and a latency histogram by route. Every request is observed (fcgi_handle); GET
 * /api/metrics renders them, to the addresses of metrics_allow only. Thread-safe. */
#ifndef FCGI_METRICS_H
#define FCGI_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include "router.h"

typedef struct fcgi_metrics fcgi_metrics_t;

/* allow: the addresses that may read the metrics (metrics_allow: an lc_netlist, already
 * checked by the config loader; a bad one is a bug). */
fcgi_metrics_t *fcgi_metrics_new(const char *allow);
void fcgi_metrics_free(fcgi_metrics_t **m);
/* One request: route is "METHOD PATTERN" ("GET /api/users/{id}"), or NULL when no route
 * matched (counted as route "unmatched"); micros: time taken. route must be static (a route
 * table's strings). */
void fcgi_metrics_observe(fcgi_metrics_t *m, const char *method, const char *pattern, int status,
			  int64_t micros);
/* True when addr (the web server's REMOTE_ADDR) may read the metrics. */
bool fcgi_metrics_allows(fcgi_metrics_t *m, const char *addr);
/* SIGHUP: allow (metrics_allow, checked as for fcgi_metrics_new) replaces the list; a thread
 * asking meanwhile gets the answer of the old list or of the new one. */
void fcgi_metrics_set_allow(fcgi_metrics_t *m, const char *allow);
/* The Prometheus text exposition (version 0.0.4) of everything observed. Caller frees. */
char *fcgi_metrics_render(fcgi_metrics_t *m);

/* GET /api/metrics (to metrics_allow only; anyone else: 404). */
extern const fcgi_route_t fcgi_metrics_routes[];

#endif
