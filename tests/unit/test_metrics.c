/* SPDX-License-Identifier: MIT */
/* Tests of fcgi metrics: what the Prometheus text says after some requests (counts by route and
 * status, histogram buckets cumulative, unmatched requests under one label, never the client's
 * path), and who may read it (metrics_allow). */
#include "config.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

int init_metrics_tests(void);

static const char *const GET = "GET";
static const char *const USER = "/api/users/{id}";

static void test_metrics_count_by_route_and_status_with_a_cumulative_histogram(void)
{
	fcgi_metrics_t *m = fcgi_metrics_new("127.0.0.1");
	fcgi_metrics_observe(m, GET, USER, 200, 3000);      /* 3 ms */
	fcgi_metrics_observe(m, GET, USER, 200, 40000);     /* 40 ms */
	fcgi_metrics_observe(m, GET, USER, 404, 20000000);  /* 20 s: only +Inf */
	fcgi_metrics_observe(m, "BREW", NULL, 404, 1000);
	char *text = fcgi_metrics_render(m);
	static const char *const want[] = {
		"# TYPE livechat_api_requests_total counter\n",
		"livechat_api_requests_total{route=\"GET /api/users/{id}\",status=\"200\"} 2\n",
		"livechat_api_requests_total{route=\"GET /api/users/{id}\",status=\"404\"} 1\n",
		"livechat_api_requests_total{route=\"unmatched\",status=\"404\"} 1\n",
		"# TYPE livechat_api_request_duration_seconds histogram\n",
		"livechat_api_request_duration_seconds_bucket{route=\"GET /api/users/{id}\",le=\"0.005\"} 1\n",
		"livechat_api_request_duration_seconds_bucket{route=\"GET /api/users/{id}\",le=\"0.025\"} 1\n",
		"livechat_api_request_duration_seconds_bucket{route=\"GET /api/users/{id}\",le=\"0.05\"} 2\n",
		"livechat_api_request_duration_seconds_bucket{route=\"GET /api/users/{id}\",le=\"10\"} 2\n",
		"livechat_api_request_duration_seconds_bucket{route=\"GET /api/users/{id}\",le=\"+Inf\"} 3\n",
		"livechat_api_request_duration_seconds_sum{route=\"GET /api/users/{id}\"} 20.043000\n",
		"livechat_api_request_duration_seconds_count{route=\"GET /api/users/{id}\"} 3\n",
		"livechat_api_request_duration_seconds_count{route=\"unmatched\"} 1\n",
		"livechat_api_process_info{version=\"" PACKAGE_VERSION "\",pid=\"",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want[i]));
		if (strstr(text, want[i]) == NULL)
			fprintf(stderr, "\n  missing: %s", want[i]);
	}
	CU_ASSERT_PTR_NULL(strstr(text, "BREW"));   /* an unmatched method is client input */
	free(text);
	fcgi_metrics_free(&m);
	CU_ASSERT_PTR_NULL(m);
}

static void test_metrics_are_readable_only_from_metrics_allow(void)
{
	fcgi_metrics_t *m = fcgi_metrics_new("127.0.0.1, 10.0.0.0/8");
	CU_ASSERT_TRUE(fcgi_metrics_allows(m, "127.0.0.1"));
	CU_ASSERT_TRUE(fcgi_metrics_allows(m, "10.9.8.7"));
	CU_ASSERT_FALSE(fcgi_metrics_allows(m, "127.0.0.2"));
	CU_ASSERT_FALSE(fcgi_metrics_allows(m, NULL));
	fcgi_metrics_free(&m);
	m = fcgi_metrics_new("");
	CU_ASSERT_FALSE(fcgi_metrics_allows(m, "127.0.0.1"));
	fcgi_metrics_free(&m);
}

int init_metrics_tests(void)
{
	CU_pSuite s = CU_add_suite("fcgi_metrics", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_metrics_count_by_route_and_status_with_a_cumulative_histogram);
	CU_ADD_TEST(s, test_metrics_are_readable_only_from_metrics_allow);
	return 0;
}
