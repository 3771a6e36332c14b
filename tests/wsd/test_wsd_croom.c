/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/croom.c: what one connection is sent of a room's messages. Each seq goes
 * out once, whether it arrives live, twice, out of order, from a catch-up read, or was the ack
 * of the client's own message; nothing at or below the floor the client already has. The
 * connection's send queue is the one thing replaced: wsd_conn_send below records the seqs
 * (listener.c, which sends them on a real socket, is not linked); the endpoint below records
 * the declines an entry hands on when it goes. */
#include "config.h"
#include "conn.h"
#include "wsd_unit_tests.h"

#include "lc_json.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ROOM "r1"

static int64_t sent[64];
static size_t nsent;

void wsd_conn_send(wsd_conn_t *c, json_object *obj)
{
	json_object *m;
	(void)c;
	if (nsent < sizeof sent / sizeof sent[0] && json_object_object_get_ex(obj, "message", &m))
		sent[nsent++] = lc_json_get_int(m, "seq", -1);
}

static char declined_room[16];
static size_t declined_n;

static void held_declines(wsd_conn_t *c, const char *room_id, json_object *refs)
{
	(void)c;
	snprintf(declined_room, sizeof declined_room, "%s", room_id);
	declined_n += json_object_array_length(refs);
}

static const wsd_endpoint_t declining_endpoint = { .on_held_declines = held_declines };

static json_object *frame(int64_t seq)
{
	json_object *f = json_object_new_object(), *m = json_object_new_object();
	json_object_object_add(m, "room_id", json_object_new_string(ROOM));
	json_object_object_add(m, "seq", json_object_new_int64(seq));
	json_object_object_add(f, "type", json_object_new_string("message"));
	json_object_object_add(f, "message", m);
	return f;
}

static void deliver(wsd_conn_t *c, wsd_croom_t *r, int64_t seq)
{
	json_object *f = frame(seq);
	wsd_croom_deliver(c, r, f);
	json_object_put(f);
}

/* True when exactly the n seqs of want were sent, in that order. */
static bool sent_is(const int64_t *want, size_t n)
{
	return nsent == n && memcmp(sent, want, n * sizeof *want) == 0;
}

/* The daemon a connection belongs to: its loop thread is this test's thread. */
static wsd_t daemon_here;

static wsd_croom_t *setup(wsd_conn_t *c, uint8_t state)
{
	memset(c, 0, sizeof *c);
	c->magic = WSD_CONN_MAGIC;
	daemon_here.magic = WSD_MAGIC;
	daemon_here.loop_tid = pthread_self();
	c->w = &daemon_here;
	nsent = 0;
	return wsd_croom_add(c, ROOM, "widget", "cust", "Customer", state, false);
}

static void teardown(wsd_conn_t *c)
{
	while (c->nrooms > 0)
		wsd_croom_remove(c, c->rooms[0].room_id);
	free(c->rooms);
}

static void test_a_live_room_sends_each_seq_once(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	deliver(&c, r, 1);
	deliver(&c, r, 2);
	deliver(&c, r, 2);
	deliver(&c, r, 1);
	deliver(&c, r, 3);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 1, 2, 3 }, 3));
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 3);
	teardown(&c);
}

static void test_out_of_order_seqs_go_out_once_and_the_floor_closes_the_gap(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	deliver(&c, r, 3);
	deliver(&c, r, 5);
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 0);
	CU_ASSERT_EQUAL(r->nsent, 2);
	deliver(&c, r, 1);
	deliver(&c, r, 3);
	deliver(&c, r, 2);
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 3);
	deliver(&c, r, 4);
	deliver(&c, r, 5);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 3, 5, 1, 2, 4 }, 5));
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 5);
	CU_ASSERT_EQUAL(r->nsent, 0);
	teardown(&c);
}

static void test_frames_before_live_wait_and_go_out_in_seq_order_without_the_read_ones(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_JOINING);
	deliver(&c, r, 7);
	deliver(&c, r, 5);
	deliver(&c, r, 6);
	deliver(&c, r, 3);
	CU_ASSERT_EQUAL(nsent, 0);
	/* The accept's read gave everything up to 4 and seq 6 (5 was still being stored). */
	json_object *items = json_object_new_array(), *m = json_object_new_object(),
		    *other = json_object_new_object();
	json_object_object_add(m, "room_id", json_object_new_string(ROOM));
	json_object_object_add(m, "seq", json_object_new_int64(6));
	json_object_object_add(other, "room_id", json_object_new_string("r2"));
	json_object_object_add(other, "seq", json_object_new_int64(7));
	json_object_array_add(items, m);
	json_object_array_add(items, other);
	wsd_croom_live(&c, r, 4, items);
	json_object_put(items);
	CU_ASSERT_EQUAL(r->state, WSD_CR_LIVE);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 5, 7 }, 2));
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 7);
	teardown(&c);
}

static void test_the_ack_of_the_clients_own_message_is_never_sent_again(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	wsd_croom_mark(r, 1);
	wsd_croom_mark(r, 3);
	deliver(&c, r, 1);
	deliver(&c, r, 2);
	deliver(&c, r, 3);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 2 }, 1));
	teardown(&c);
}

static void test_a_catch_up_sends_the_read_then_what_waited_each_once(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	deliver(&c, r, 1);
	r->state = WSD_CR_CATCHUP;      /* this node's queue was lost after seq 1 */
	deliver(&c, r, 11);
	deliver(&c, r, 10);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 1 }, 1));
	json_object *frames = json_object_new_array();
	for (int64_t s = 8; s <= 10; s++)
		json_object_array_add(frames, frame(s));
	wsd_croom_catchup(&c, r, frames);
	json_object_put(frames);
	CU_ASSERT_EQUAL(r->state, WSD_CR_LIVE);
	CU_ASSERT_TRUE(sent_is((int64_t[]){ 1, 8, 9, 10, 11 }, 5));
	teardown(&c);
}

static void test_a_gap_older_than_the_set_is_given_up(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	/* Seq 1 never comes (a failed write): 2 .. 257 fill the set. */
	for (int64_t s = 2; s < 2 + WSD_CROOM_SENT_MAX; s++)
		wsd_croom_mark(r, s);
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 0);
	CU_ASSERT_EQUAL(r->nsent, WSD_CROOM_SENT_MAX);
	wsd_croom_mark(r, 2 + WSD_CROOM_SENT_MAX);
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 2 + WSD_CROOM_SENT_MAX);
	CU_ASSERT_EQUAL(r->nsent, 0);
	deliver(&c, r, 1);
	CU_ASSERT_EQUAL(nsent, 0);
	teardown(&c);
}

static void test_rooms_are_kept_apart(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_LIVE);
	wsd_croom_mark(r, 1);
	wsd_croom_t *r2 = wsd_croom_add(&c, "r2", "widget", "cust", NULL, WSD_CR_LIVE, true);
	r = wsd_croom_find(&c, ROOM);   /* the array may have moved */
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(wsd_croom_floor(r2), 0);
	CU_ASSERT_EQUAL(wsd_croom_floor(r), 1);
	CU_ASSERT_TRUE(r2->watch);
	wsd_croom_remove(&c, ROOM);
	CU_ASSERT_PTR_NULL(wsd_croom_find(&c, ROOM));
	CU_ASSERT_PTR_NOT_NULL(wsd_croom_find(&c, "r2"));
	teardown(&c);
}

/* Declines held for an accept (agent.c on_decline) are not lost when the entry goes before the
 * accept is answered (the room ended meanwhile): they are handed on, each once. */
static void test_a_removed_entry_hands_on_the_declines_it_held(void)
{
	wsd_conn_t c;
	wsd_croom_t *r = setup(&c, WSD_CR_JOINING);
	c.ep = &declining_endpoint;
	r->declines = json_object_new_array();
	json_object_array_add(r->declines, json_object_new_string("d1"));
	json_object_array_add(r->declines, NULL);
	wsd_croom_add(&c, "r2", NULL, NULL, NULL, WSD_CR_LIVE, false);
	declined_n = 0;
	declined_room[0] = '\0';
	wsd_croom_remove(&c, "r2");
	CU_ASSERT_EQUAL(declined_n, 0);
	wsd_croom_remove(&c, ROOM);
	CU_ASSERT_EQUAL(declined_n, 2);
	CU_ASSERT_STRING_EQUAL(declined_room, ROOM);
	teardown(&c);
	CU_ASSERT_EQUAL(declined_n, 2);
}

int init_wsd_croom_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_croom", NULL, NULL);
	if (s == NULL)
		return -1;
	if (!CU_add_test(s, "a live room sends each seq once", test_a_live_room_sends_each_seq_once) ||
	    !CU_add_test(s, "out of order seqs go out once and the floor closes the gap",
			 test_out_of_order_seqs_go_out_once_and_the_floor_closes_the_gap) ||
	    !CU_add_test(s, "frames before live wait and go out in seq order without the read ones",
			 test_frames_before_live_wait_and_go_out_in_seq_order_without_the_read_ones) ||
	    !CU_add_test(s, "the ack of the client's own message is never sent again",
			 test_the_ack_of_the_clients_own_message_is_never_sent_again) ||
	    !CU_add_test(s, "a catch-up sends the read then what waited, each once",
			 test_a_catch_up_sends_the_read_then_what_waited_each_once) ||
	    !CU_add_test(s, "a gap older than the set is given up", test_a_gap_older_than_the_set_is_given_up) ||
	    !CU_add_test(s, "rooms are kept apart", test_rooms_are_kept_apart) ||
	    !CU_add_test(s, "a removed entry hands on the declines it held",
			 test_a_removed_entry_hands_on_the_declines_it_held))
		return -1;
	return 0;
}
