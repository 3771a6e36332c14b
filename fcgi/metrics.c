/* SPDX-License-Identifier: MIT */
/* fcgi metrics: series kept in two small arrays under one mutex (about 40 routes times a few
 * statuses: a linear search costs less than the request's MongoDB round trip). Routes are
 * keyed by their static method and pattern pointers, so a label never holds client input. */
#include "config.h"
#include "metrics.h"
#include "lc_alloc.h"
#include "lc_err.h"
#include "lc_netlist.h"
#include "middleware.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_MAGIC 0x4d455431u   /* "MET1" */
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

/* Upper bounds of the latency buckets in microseconds (5 ms .. 10 s; +Inf is the count). */
static const int64_t bucket_us[] = { 5000, 10000, 25000, 50000, 100000, 250000, 500000,
				     1000000, 2500000, 5000000, 10000000 };

typedef struct count_series {        /* requests by route and status */
	const char *method, *pattern;
	int status;
	uint64_t n;
} count_series_t;

typedef struct latency_series {      /* histogram by route */
	const char *method, *pattern;
	uint64_t buckets[NBUCKETS];
	uint64_t n;
	int64_t sum_us;
} latency_series_t;

struct fcgi_metrics {
	unsigned magic;
	lc_netlist_t *allow;             /* replaced on SIGHUP, under lock */
	pthread_mutex_t lock;
	count_series_t *counts;
	size_t ncounts;
	latency_series_t *latencies;
	size_t nlatencies;
};

fcgi_metrics_t *fcgi_metrics_new(const char *allow)
{
	char why[LC_ERR_REASON_MAX];
	fcgi_metrics_t *m = lc_calloc(1, sizeof *m);
	m->magic = METRICS_MAGIC;
	m->allow = lc_netlist_parse(allow, why, sizeof why);
	LC_ASSERT(m->allow != NULL);
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void fcgi_metrics_free(fcgi_metrics_t **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	LC_CHECK_OBJ(*mp, METRICS_MAGIC);
	pthread_mutex_destroy(&(*mp)->lock);
	lc_netlist_free(&(*mp)->allow);
	free((*mp)->counts);
	free((*mp)->latencies);
	(*mp)->magic = 0;
	free(*mp);
	*mp = NULL;
}

bool fcgi_metrics_allows(fcgi_metrics_t *m, const char *addr)
{
	LC_CHECK_OBJ(m, METRICS_MAGIC);
	pthread_mutex_lock(&m->lock);
	bool allowed = lc_netlist_contains(m->allow, addr);
	pthread_mutex_unlock(&m->lock);
	return allowed;
}

void fcgi_metrics_set_allow(fcgi_metrics_t *m, const char *allow)
{
	char why[LC_ERR_REASON_MAX];
	LC_CHECK_OBJ(m, METRICS_MAGIC);
	lc_netlist_t *fresh = lc_netlist_parse(allow, why, sizeof why);
	LC_ASSERT(fresh != NULL);
	pthread_mutex_lock(&m->lock);
	lc_netlist_t *old = m->allow;
	m->allow = fresh;
	pthread_mutex_unlock(&m->lock);
	lc_netlist_free(&old);
}

static count_series_t *count_of(fcgi_metrics_t *m, const char *method, const char *pattern,
				int status)
{
	for (size_t i = 0; i < m->ncounts; i++)
		if (m->counts[i].method == method && m->counts[i].pattern == pattern &&
		    m->counts[i].status == status)
			return &m->counts[i];
	m->counts = lc_realloc(m->counts, (m->ncounts + 1) * sizeof *m->counts);
	m->counts[m->ncounts] = (count_series_t){ method, pattern, status, 0 };
	return &m->counts[m->ncounts++];
}

static latency_series_t *latency_of(fcgi_metrics_t *m, const char *method, const char *pattern)
{
	for (size_t i = 0; i < m->nlatencies; i++)
		if (m->latencies[i].method == method && m->latencies[i].pattern == pattern)
			return &m->latencies[i];
	m->latencies = lc_realloc(m->latencies, (m->nlatencies + 1) * sizeof *m->latencies);
	memset(&m->latencies[m->nlatencies], 0, sizeof *m->latencies);
	m->latencies[m->nlatencies].method = method;
	m->latencies[m->nlatencies].pattern = pattern;
	return &m->latencies[m->nlatencies++];
}

void fcgi_metrics_observe(fcgi_metrics_t *m, const char *method, const char *pattern, int status,
			  int64_t micros)
{
	LC_CHECK_OBJ(m, METRICS_MAGIC);
	if (pattern == NULL)
		method = NULL;   /* the method of an unmatched request is client input */
	pthread_mutex_lock(&m->lock);
	count_of(m, method, pattern, status)->n++;
	latency_series_t *l = latency_of(m, method, pattern);
	for (size_t i = 0; i < NBUCKETS; i++)
		if (micros <= bucket_us[i])
			l->buckets[i]++;
	l->n++;
	l->sum_us += micros;
	pthread_mutex_unlock(&m->lock);
}

typedef struct buf {
	char *s;
	size_t len, cap;
} buf_t;

static void __attribute__((format(printf, 2, 3))) put(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		LC_ASSERT(n >= 0);
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n;
		b->s = lc_realloc(b->s, b->cap);
	}
}

static const char *route_label(const char *method, const char *pattern, char *out, size_t size)
{
	if (pattern == NULL)
		return "unmatched";
	snprintf(out, size, "%s %s", method, pattern);
	return out;
}

char *fcgi_metrics_render(fcgi_metrics_t *m)
{
	buf_t b = { lc_malloc(4096), 0, 4096 };
	char route[160];

	LC_CHECK_OBJ(m, METRICS_MAGIC);
	put(&b, "# HELP livechat_api_requests_total REST requests answered by this livechat-fcgi process.\n"
		"# TYPE livechat_api_requests_total counter\n");
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->ncounts; i++) {
		const count_series_t *c = &m->counts[i];
		put(&b, "livechat_api_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
		    route_label(c->method, c->pattern, route, sizeof route), c->status,
		    (unsigned long long)c->n);
	}
	put(&b, "# HELP livechat_api_request_duration_seconds Time from request to answer, by route.\n"
		"# TYPE livechat_api_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nlatencies; i++) {
		const latency_series_t *l = &m->latencies[i];
		const char *r = route_label(l->method, l->pattern, route, sizeof route);
		for (size_t k = 0; k < NBUCKETS; k++)
			put(&b, "livechat_api_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    r, (double)bucket_us[k] / 1e6, (unsigned long long)l->buckets[k]);
		put(&b, "livechat_api_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
			"livechat_api_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			"livechat_api_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    r, (unsigned long long)l->n, r, (double)l->sum_us / 1e6, r,
		    (unsigned long long)l->n);
	}
	pthread_mutex_unlock(&m->lock);
	put(&b, "# HELP livechat_api_process_info The livechat-fcgi process these numbers are from.\n"
		"# TYPE livechat_api_process_info gauge\n"
		"livechat_api_process_info{version=\"%s\",pid=\"%ld\"} 1\n", PACKAGE_VERSION,
	    (long)getpid());
	return b.s;
}

/* GET /api/metrics: public (Prometheus sends no session), but only to metrics_allow; anyone
 * else gets the answer of a route that does not exist. */
static lc_rc metrics(fcgi_ctx_t *ctx, lc_err_t *err)
{
	if (ctx->app->metrics == NULL ||
	    !fcgi_metrics_allows(ctx->app->metrics, fcgi_request_env(ctx->req, "REMOTE_ADDR")))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "no such resource");
	fcgi_response_text(ctx->resp, 200, "text/plain; version=0.0.4; charset=utf-8",
			   fcgi_metrics_render(ctx->app->metrics));
	return LC_OK;
}

const fcgi_route_t fcgi_metrics_routes[] = {
	{ "GET", "/api/metrics", FCGI_ROUTE_PUBLIC, { NULL }, NULL, NULL, metrics },
	FCGI_ROUTE_END
};
