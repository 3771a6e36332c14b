/* SPDX-License-Identifier: MIT */
/* Tests of lc_netlist (addresses and CIDR ranges, IPv4 and IPv6) and fcgi proxy: the proxy
 * headers (Forwarded proto=, X-Forwarded-Proto, X-Forwarded-For, X-Request-Id) are believed
 * from a trusted address only, and what they change: https, the client address, the id. */
#include "config.h"
#include "proxy.h"
#include "lc_netlist.h"

#include <string.h>
#include <CUnit/CUnit.h>

int init_proxy_tests(void);

static lc_netlist_t *parse(const char *text)
{
	char why[200];
	return lc_netlist_parse(text, why, sizeof why);
}

static void test_netlist_matches_addresses_and_ranges_of_both_families(void)
{
	lc_netlist_t *l = parse(" 10.1.0.0/16, 192.0.2.7 ::1\t2001:db8::/32 ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(lc_netlist_count(l), 4);
	CU_ASSERT_TRUE(lc_netlist_contains(l, "10.1.255.3"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, "10.2.0.1"));
	CU_ASSERT_TRUE(lc_netlist_contains(l, "192.0.2.7"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, "192.0.2.8"));
	CU_ASSERT_TRUE(lc_netlist_contains(l, "::ffff:192.0.2.7"));   /* IPv4-mapped */
	CU_ASSERT_TRUE(lc_netlist_contains(l, "::1"));
	CU_ASSERT_TRUE(lc_netlist_contains(l, "2001:db8:ffff::9"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, "2001:db9::1"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, "not-an-address"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, NULL));
	lc_netlist_free(&l);
	CU_ASSERT_PTR_NULL(l);
	l = parse("10.0.0.0/9");
	CU_ASSERT_TRUE(lc_netlist_contains(l, "10.127.0.1"));
	CU_ASSERT_FALSE(lc_netlist_contains(l, "10.128.0.1"));
	lc_netlist_free(&l);
	l = parse("");
	CU_ASSERT_EQUAL(lc_netlist_count(l), 0);
	CU_ASSERT_FALSE(lc_netlist_contains(l, "127.0.0.1"));
	lc_netlist_free(&l);
}

static void test_netlist_refuses_bad_entries_naming_them(void)
{
	char why[200] = "";
	static const char *const bad[] = { "10.0.0.0/33", "::1/129", "10.0.0.1/", "10.0.0/8",
					   "example.com", "10.0.0.1/8x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		lc_netlist_t *l = lc_netlist_parse(bad[i], why, sizeof why);
		CU_ASSERT_PTR_NULL(l);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i]));
	}
}

/* A request from addr with the given extra CGI variables (NULL-terminated). */
static fcgi_request_t *request_from(char **env, const char *trusted)
{
	fcgi_request_t *req = fcgi_request_new(env, NULL, NULL);
	lc_netlist_t *l = parse(trusted);
	fcgi_proxy_apply(req, l);
	lc_netlist_free(&l);
	return req;
}

static void test_proxy_headers_from_a_trusted_proxy_are_believed(void)
{
	char *env[] = { "REMOTE_ADDR=10.0.0.5", "HTTP_X_FORWARDED_PROTO=https",
			"HTTP_X_FORWARDED_FOR=203.0.113.9, 10.0.0.4", "HTTP_X_REQUEST_ID=lb-1234.ab_c:9",
			NULL };
	fcgi_request_t *req = request_from(env, "10.0.0.0/24");
	CU_ASSERT_TRUE(fcgi_request_is_https(req));
	/* 10.0.0.4 is a trusted hop too: the client is the first untrusted from the right */
	CU_ASSERT_STRING_EQUAL(fcgi_request_client_addr(req), "203.0.113.9");
	CU_ASSERT_STRING_EQUAL(fcgi_request_id(req), "lb-1234.ab_c:9");
	fcgi_request_free(&req);
}

static void test_proxy_headers_from_anyone_else_are_ignored(void)
{
	char *env[] = { "REMOTE_ADDR=10.0.1.5", "HTTP_X_FORWARDED_PROTO=https",
			"HTTP_FORWARDED=proto=https", "HTTP_X_FORWARDED_FOR=203.0.113.9",
			"HTTP_X_REQUEST_ID=forged", NULL };
	fcgi_request_t *req = request_from(env, "10.0.0.0/24");
	CU_ASSERT_FALSE(fcgi_request_is_https(req));
	CU_ASSERT_STRING_EQUAL(fcgi_request_client_addr(req), "10.0.1.5");
	CU_ASSERT_EQUAL(strlen(fcgi_request_id(req)), 16);
	fcgi_request_free(&req);
	/* the empty list (the default) trusts nobody, loopback included */
	char *local[] = { "REMOTE_ADDR=127.0.0.1", "HTTP_X_FORWARDED_PROTO=https", NULL };
	req = request_from(local, "");
	CU_ASSERT_FALSE(fcgi_request_is_https(req));
	fcgi_request_free(&req);
}

static void test_forwarded_proto_wins_over_x_forwarded_proto(void)
{
	char *env[] = { "REMOTE_ADDR=::1", "HTTP_FORWARDED=for=192.0.2.60;Proto=\"HTTPS\";by=x, proto=http",
			"HTTP_X_FORWARDED_PROTO=http", NULL };
	fcgi_request_t *req = request_from(env, "::1");
	CU_ASSERT_TRUE(fcgi_request_is_https(req));
	fcgi_request_free(&req);
	char *plain[] = { "REMOTE_ADDR=::1", "HTTP_FORWARDED=for=192.0.2.60;proto=http",
			  "HTTP_X_FORWARDED_PROTO=https", NULL };
	req = request_from(plain, "::1");
	CU_ASSERT_FALSE(fcgi_request_is_https(req));
	fcgi_request_free(&req);
	/* no proto= in Forwarded: X-Forwarded-Proto, first value */
	char *xfp[] = { "REMOTE_ADDR=::1", "HTTP_FORWARDED=for=192.0.2.60",
			"HTTP_X_FORWARDED_PROTO= https , http", NULL };
	req = request_from(xfp, "::1");
	CU_ASSERT_TRUE(fcgi_request_is_https(req));
	fcgi_request_free(&req);
}

static void test_bad_forwarded_values_keep_what_the_server_saw(void)
{
	char long_id[100];
	memset(long_id, 'a', sizeof long_id);
	memcpy(long_id, "HTTP_X_REQUEST_ID=", 18);
	long_id[sizeof long_id - 1] = '\0';   /* 81 characters: too long */
	char *env[] = { "REMOTE_ADDR=10.0.0.5", "HTTP_X_FORWARDED_FOR=203.0.113.9, evil host",
			long_id, NULL };
	fcgi_request_t *req = request_from(env, "10.0.0.5");
	CU_ASSERT_STRING_EQUAL(fcgi_request_client_addr(req), "10.0.0.5");
	CU_ASSERT_EQUAL(strlen(fcgi_request_id(req)), 16);
	CU_ASSERT_FALSE(fcgi_request_is_https(req));
	fcgi_request_free(&req);
	char *bad_id[] = { "REMOTE_ADDR=10.0.0.5", "HTTP_X_REQUEST_ID=a b\"c", NULL };
	req = request_from(bad_id, "10.0.0.5");
	CU_ASSERT_EQUAL(strlen(fcgi_request_id(req)), 16);
	fcgi_request_free(&req);
	char *none[] = { NULL };
	req = request_from(none, "10.0.0.5");
	CU_ASSERT_STRING_EQUAL(fcgi_request_client_addr(req), "-");
	fcgi_request_free(&req);
}

int init_proxy_tests(void)
{
	CU_pSuite s = CU_add_suite("fcgi_proxy", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_netlist_matches_addresses_and_ranges_of_both_families);
	CU_ADD_TEST(s, test_netlist_refuses_bad_entries_naming_them);
	CU_ADD_TEST(s, test_proxy_headers_from_a_trusted_proxy_are_believed);
	CU_ADD_TEST(s, test_proxy_headers_from_anyone_else_are_ignored);
	CU_ADD_TEST(s, test_forwarded_proto_wins_over_x_forwarded_proto);
	CU_ADD_TEST(s, test_bad_forwarded_values_keep_what_the_server_saw);
	return 0;
}
