/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/conn.c: the registry of connection handles (a handle outlives its
 * connection harmlessly: a reused slot has a new generation), the send queue (frames go out in
 * order, one per writable callback, a client that reads nothing is dropped past 4 MiB), the
 * error frames, and closing. Its own program: the three libwebsockets calls conn.c makes are
 * defined here (a definition in the program takes the place of the library's), so the frames
 * are recorded instead of written to a socket. */
#include "config.h"
#include "conn.h"
#include "cunit_run.h"

#include "lc_json.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- libwebsockets, as conn.c sees it */

static int writable_asks;
static char written[8][256];
static int written_type[8];
#define WRITE_CLOSE 4           /* lws 4.1's close opcode for lws_write (conn.c) */
static size_t nwritten;
static int close_status;
static int write_result;

int lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	writable_asks++;
	return 1;
}

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
	(void)wsi;
	if (write_result < 0)
		return write_result;
	if (nwritten < sizeof written / sizeof written[0]) {
		snprintf(written[nwritten], sizeof written[0], "%.*s", (int)len, (const char *)buf);
		written_type[nwritten++] = (int)wp;
	}
	if ((int)wp == WRITE_CLOSE && len >= 2)
		close_status = buf[0] << 8 | buf[1];
	return (int)len;
}

/* ---- fixtures */

/* The daemon the connections belong to: its loop thread is this test's thread. */
static wsd_t daemon_here;

static void daemon_reset(void)
{
	free(daemon_here.slots);
	free(daemon_here.gens);
	free(daemon_here.free_slots);
	memset(&daemon_here, 0, sizeof daemon_here);
	daemon_here.magic = WSD_MAGIC;
	daemon_here.loop_tid = pthread_self();
	writable_asks = 0;
	nwritten = 0;
	close_status = 0;
	write_result = 0;
}

static void conn_init(wsd_conn_t *c)
{
	memset(c, 0, sizeof *c);
	c->magic = WSD_CONN_MAGIC;
	c->w = &daemon_here;
	c->state = WSD_CS_READY;
}

/* Every writable callback until the queue is empty and nothing more is asked for: the return
 * of the last one. */
static int drain(wsd_conn_t *c)
{
	int rc = 0;
	for (int i = 0; i < 100 && (c->out_head != NULL || c->state == WSD_CS_CLOSING); i++)
		if ((rc = wsd_conn_write(c)) != 0)
			break;
	return rc;
}

/* ---- the registry */

static void test_a_handle_finds_its_connection_until_it_is_gone(void)
{
	daemon_reset();
	wsd_conn_t a, b, c2;
	conn_init(&a);
	conn_init(&b);
	conn_init(&c2);
	uint64_t ha = wsd_conn_register(&daemon_here, &a);
	uint64_t hb = wsd_conn_register(&daemon_here, &b);
	CU_ASSERT_NOT_EQUAL(ha, hb);
	CU_ASSERT_PTR_EQUAL(wsd_conn_find(&daemon_here, ha), &a);
	CU_ASSERT_PTR_EQUAL(wsd_conn_find(&daemon_here, hb), &b);
	CU_ASSERT_EQUAL(daemon_here.nconns, 2);

	wsd_conn_unregister(&daemon_here, ha);
	CU_ASSERT_PTR_NULL(wsd_conn_find(&daemon_here, ha));
	CU_ASSERT_EQUAL(daemon_here.nconns, 1);
	/* The slot is used again, under a new generation: the old handle still finds nothing. */
	uint64_t hc = wsd_conn_register(&daemon_here, &c2);
	CU_ASSERT_EQUAL((uint32_t)hc, (uint32_t)ha);
	CU_ASSERT_NOT_EQUAL(hc, ha);
	CU_ASSERT_PTR_NULL(wsd_conn_find(&daemon_here, ha));
	CU_ASSERT_PTR_EQUAL(wsd_conn_find(&daemon_here, hc), &c2);
	/* A handle of a slot never used, and a closing connection, find nothing either. */
	CU_ASSERT_PTR_NULL(wsd_conn_find(&daemon_here, ((uint64_t)1 << 32) | 999));
	b.state = WSD_CS_CLOSING;
	CU_ASSERT_PTR_NULL(wsd_conn_find(&daemon_here, hb));
}

static void count_cb(wsd_conn_t *c, void *ctx)
{
	(void)c;
	(*(int *)ctx)++;
}

static void test_each_visits_the_open_connections_across_slot_blocks(void)
{
	daemon_reset();
	enum { N = 1500 };   /* past the first block of 1024 slots */
	wsd_conn_t *conns = calloc(N, sizeof *conns);
	uint64_t *h = calloc(N, sizeof *h);
	for (int i = 0; i < N; i++) {
		conn_init(&conns[i]);
		h[i] = wsd_conn_register(&daemon_here, &conns[i]);
	}
	for (int i = 0; i < N; i += 3)
		wsd_conn_unregister(&daemon_here, h[i]);
	conns[1].state = WSD_CS_CLOSING;
	int n = 0;
	wsd_conn_each(&daemon_here, count_cb, &n);
	CU_ASSERT_EQUAL(n, N - N / 3 - 1);
	CU_ASSERT_PTR_EQUAL(wsd_conn_find(&daemon_here, h[N - 1]), &conns[N - 1]);
	free(conns);
	free(h);
}

/* ---- sending */

static void test_frames_go_out_in_order_one_per_writable_callback(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	json_object *ref = json_object_new_string("r7");
	json_object *f = wsd_conn_frame("pong", ref);
	wsd_conn_send(&c, f);
	json_object_put(f);
	wsd_conn_send_str(&c, "{\"type\":\"second\"}", 17);
	CU_ASSERT_EQUAL(c.out_bytes, strlen("{\"type\":\"pong\",\"ref\":\"r7\"}") + 17);
	CU_ASSERT(writable_asks >= 1);

	CU_ASSERT_EQUAL(wsd_conn_write(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 1);
	CU_ASSERT_STRING_EQUAL(written[0], "{\"type\":\"pong\",\"ref\":\"r7\"}");
	CU_ASSERT_EQUAL(written_type[0], LWS_WRITE_TEXT);
	CU_ASSERT_EQUAL(drain(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 2);
	CU_ASSERT_STRING_EQUAL(written[1], "{\"type\":\"second\"}");
	CU_ASSERT_PTR_NULL(c.out_head);
	CU_ASSERT_EQUAL(c.out_bytes, 0);
	json_object_put(ref);
}

static void test_a_pending_ping_goes_before_the_queued_frames(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	wsd_conn_send_str(&c, "{}", 2);
	c.ping = WSD_PING_PENDING;
	CU_ASSERT_EQUAL(wsd_conn_write(&c), 0);
	CU_ASSERT_EQUAL(written_type[0], LWS_WRITE_PING);
	CU_ASSERT_EQUAL(c.ping, WSD_PING_SENT);
	CU_ASSERT_EQUAL(drain(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 2);
	CU_ASSERT_STRING_EQUAL(written[1], "{}");
}

static void test_a_client_that_reads_nothing_is_dropped_past_the_cap(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	size_t len = 64 * 1024;
	char *big = malloc(len);
	memset(big, 'x', len);
	int sent = 0;
	while (c.state != WSD_CS_CLOSING && sent < 1000) {
		wsd_conn_send_str(&c, big, len);
		sent++;
	}
	/* 4 MiB queued at most: the frame that would pass it closes the connection (1008). */
	CU_ASSERT_EQUAL(sent, 4 * 16 + 1);
	CU_ASSERT_EQUAL(c.close_code, 1008);
	CU_ASSERT(c.out_bytes <= (size_t)4 << 20);
	/* Nothing more is queued, and the next write drops the queue instead of sending it. */
	size_t before = c.out_bytes;
	wsd_conn_send_str(&c, "{}", 2);
	CU_ASSERT_EQUAL(c.out_bytes, before);
	/* The close frame (1008) alone, then -1: the socket goes. */
	CU_ASSERT_EQUAL(wsd_conn_write(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 1);
	CU_ASSERT_EQUAL(written_type[0], WRITE_CLOSE);
	CU_ASSERT_EQUAL(close_status, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	CU_ASSERT_EQUAL(wsd_conn_write(&c), -1);
	CU_ASSERT_EQUAL(nwritten, 1);
	wsd_conn_free_queue(&c);
	CU_ASSERT_PTR_NULL(c.out_head);
	CU_ASSERT_EQUAL(c.out_bytes, 0);
	free(big);
}

static void test_close_sends_what_is_queued_then_the_close_code(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	wsd_conn_send_str(&c, "{\"type\":\"bye\"}", 14);
	wsd_conn_close(&c, 4001, "test");
	CU_ASSERT_EQUAL(c.state, WSD_CS_CLOSING);
	CU_ASSERT_TRUE(c.closed_by_server);
	/* A second close keeps the first code; nothing is queued once closing. */
	wsd_conn_close(&c, 1000, "again");
	wsd_conn_send_str(&c, "{}", 2);
	/* The queued frame, then on a WRITEABLE of its own the close frame with its code, then
	 * -1: the socket goes. */
	CU_ASSERT_EQUAL(wsd_conn_write(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 1);
	CU_ASSERT_STRING_EQUAL(written[0], "{\"type\":\"bye\"}");
	CU_ASSERT_EQUAL(close_status, 0);
	CU_ASSERT_EQUAL(wsd_conn_write(&c), 0);
	CU_ASSERT_EQUAL(nwritten, 2);
	CU_ASSERT_EQUAL(written_type[1], WRITE_CLOSE);
	CU_ASSERT_EQUAL(close_status, 4001);
	CU_ASSERT_EQUAL(wsd_conn_write(&c), -1);
	CU_ASSERT_EQUAL(nwritten, 2);
}

static void test_a_failed_write_keeps_the_frame(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	wsd_conn_send_str(&c, "{}", 2);
	write_result = -1;
	CU_ASSERT_EQUAL(wsd_conn_write(&c), -1);
	CU_ASSERT_PTR_NOT_NULL(c.out_head);
	CU_ASSERT_EQUAL(c.out_bytes, 2);
	wsd_conn_free_queue(&c);
}

/* ---- error frames */

static void test_error_frames_name_the_code_room_id_and_ref(void)
{
	daemon_reset();
	wsd_conn_t c;
	conn_init(&c);
	json_object *ref = json_object_new_int(3);
	wsd_conn_error_room(&c, LC_ERR_CONFLICT, "the room is already closed", "room1", ref);
	wsd_conn_error_about(&c, "invalid", NULL, NULL, "m-1", NULL);
	CU_ASSERT_EQUAL(drain(&c), 0);
	CU_ASSERT_EQUAL_FATAL(nwritten, 2);
	json_object *a = json_tokener_parse(written[0]), *b = json_tokener_parse(written[1]);
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(a, "type", ""), "error");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(a, "code", ""), wsd_conn_rc_code(LC_ERR_CONFLICT));
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(a, "message", ""), "the room is already closed");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(a, "room_id", ""), "room1");
	CU_ASSERT_EQUAL(lc_json_get_int(a, "ref", 0), 3);
	CU_ASSERT_FALSE(json_object_object_get_ex(a, "id", NULL));
	/* No message: the code says it; the message's id when it is about one. */
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(b, "message", ""), "invalid");
	CU_ASSERT_STRING_EQUAL(lc_json_get_str(b, "id", ""), "m-1");
	CU_ASSERT_FALSE(json_object_object_get_ex(b, "ref", NULL));
	CU_ASSERT_FALSE(json_object_object_get_ex(b, "room_id", NULL));
	json_object_put(a);
	json_object_put(b);
	json_object_put(ref);
}

static int init_wsd_conn_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_conn", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_a_handle_finds_its_connection_until_it_is_gone);
	CU_ADD_TEST(s, test_each_visits_the_open_connections_across_slot_blocks);
	CU_ADD_TEST(s, test_frames_go_out_in_order_one_per_writable_callback);
	CU_ADD_TEST(s, test_a_pending_ping_goes_before_the_queued_frames);
	CU_ADD_TEST(s, test_a_client_that_reads_nothing_is_dropped_past_the_cap);
	CU_ADD_TEST(s, test_close_sends_what_is_queued_then_the_close_code);
	CU_ADD_TEST(s, test_a_failed_write_keeps_the_frame);
	CU_ADD_TEST(s, test_error_frames_name_the_code_room_id_and_ref);
	return 0;
}

int main(void)
{
	const lc_cunit_init_fn inits[] = { init_wsd_conn_tests };
	int rc = lc_cunit_run("test_wsd_conn", inits, sizeof inits / sizeof inits[0]);
	daemon_reset();
	return rc;
}
