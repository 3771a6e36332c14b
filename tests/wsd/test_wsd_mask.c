/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/maskcheck.c's scanner: the frame headers of a client's byte stream after its
 * upgrade request, in whatever pieces the socket hands them over (RFC 6455 5.1, 5.2). */
#include "config.h"
#include "maskcheck.h"
#include "wsd_unit_tests.h"

#include <CUnit/Basic.h>
#include <string.h>

static const char request[] = "GET /ws/widget HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";

/* A client frame (FIN, text) of len payload bytes, masked or not, into out: its size. */
static size_t frame(uint8_t *out, size_t len, bool masked)
{
	size_t n = 0;
	out[n++] = 0x81;
	uint8_t m = masked ? 0x80 : 0;
	if (len < 126) {
		out[n++] = (uint8_t)(m | len);
	} else if (len <= 0xffff) {
		out[n++] = m | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (masked) {
		memcpy(out + n, "\x11\x22\x33\x44", 4);
		n += 4;
	}
	memset(out + n, 'x', len);
	return n + len;
}

static wsd_mask_stream_t fresh(void)
{
	wsd_mask_stream_t s;
	wsd_mask_start(&s);
	return s;
}

static uint8_t buf[200000];

/* buf starts with the upgrade request: its length. */
static size_t after_request(void)
{
	memcpy(buf, request, strlen(request));
	return strlen(request);
}

static void test_masked_frames_of_every_length_form_pass_in_one_read(void)
{
	wsd_mask_stream_t s = fresh();
	size_t n = after_request();
	n += frame(buf + n, 5, true);
	n += frame(buf + n, 0, true);
	n += frame(buf + n, 300, true);
	n += frame(buf + n, 70000, true);
	n += frame(buf + n, 125, true);
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n), n);
	CU_ASSERT_FALSE(wsd_mask_unmasked(&s));
}

static void test_masked_frames_pass_one_byte_at_a_time(void)
{
	wsd_mask_stream_t s = fresh();
	size_t n = after_request();
	n += frame(buf + n, 130, true);
	n += frame(buf + n, 3, true);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf + i, 1), 1);
	CU_ASSERT_FALSE(wsd_mask_unmasked(&s));
}

static void test_an_unmasked_frame_is_found_at_its_header_and_every_later_read_refused(void)
{
	wsd_mask_stream_t s = fresh();
	size_t n = after_request(), at;
	n += frame(buf + n, 300, true);
	at = n;
	n += frame(buf + n, 4, false);
	n += frame(buf + n, 4, true);
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n), at);
	CU_ASSERT_TRUE(wsd_mask_unmasked(&s));
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n), 0);
}

static void test_an_unmasked_header_split_across_reads_is_found(void)
{
	wsd_mask_stream_t s = fresh();
	size_t n = after_request();
	size_t f = frame(buf + n, 4, false);
	/* The request and the header's first byte in one read, the rest in the next. */
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n + 1), n + 1);
	CU_ASSERT_FALSE(wsd_mask_unmasked(&s));
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf + n + 1, f - 1), 0);
	CU_ASSERT_TRUE(wsd_mask_unmasked(&s));
}

static void test_payload_bytes_that_look_like_headers_are_skipped(void)
{
	wsd_mask_stream_t s = fresh();
	size_t n = after_request(), f;
	f = frame(buf + n, 10, true);
	memset(buf + n + f - 10, 0x01, 10);   /* an unmasked header's look, inside the payload */
	n += f;
	/* "\r\n\r\n" inside a payload does not start anything either. */
	f = frame(buf + n, 8, true);
	memcpy(buf + n + f - 8, "\r\n\r\n\r\n\r\n", 8);
	n += f;
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n), n);
	CU_ASSERT_FALSE(wsd_mask_unmasked(&s));
}

static void test_a_stream_not_watched_is_not_looked_at(void)
{
	wsd_mask_stream_t s = { 0 };
	size_t n = frame(buf, 4, false);
	CU_ASSERT_EQUAL(wsd_mask_scan(&s, buf, n), n);
	CU_ASSERT_FALSE(wsd_mask_unmasked(&s));
}

int init_wsd_mask_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_mask", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "masked frames of every length form pass in one read",
			 test_masked_frames_of_every_length_form_pass_in_one_read) ||
	    !CU_add_test(s, "masked frames pass one byte at a time",
			 test_masked_frames_pass_one_byte_at_a_time) ||
	    !CU_add_test(s, "an unmasked frame is found at its header, every later read refused",
			 test_an_unmasked_frame_is_found_at_its_header_and_every_later_read_refused) ||
	    !CU_add_test(s, "an unmasked header split across reads is found",
			 test_an_unmasked_header_split_across_reads_is_found) ||
	    !CU_add_test(s, "payload bytes that look like headers are skipped",
			 test_payload_bytes_that_look_like_headers_are_skipped) ||
	    !CU_add_test(s, "a stream not watched is not looked at",
			 test_a_stream_not_watched_is_not_looked_at))
		return -1;
	return 0;
}
