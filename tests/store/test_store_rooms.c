/* SPDX-License-Identifier: MIT */
/* Store tests of rooms: one open room per customer (also under concurrent opens), the claim race
 * (exactly one winner of 16, twenty times; batched claims too), decline, close, listing. */
#include "config.h"
#include "store_tests.h"
#include "lc_alloc.h"
#include "lc_store_priv.h"

#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#define RACERS 16
#define CLAIM_ROUNDS 20
#define OPENERS 32
#define OPEN_ROUNDS 8

static void test_room_open_is_idempotent_per_customer(void)
{
	lc_err_t err = { 0 };
	json_object *r1 = NULL, *r2 = NULL, *r3 = NULL, *f = NULL;
	bool created = false;
	char *cust = tuniq("cust");

	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "Carol", &r1, &created,
						 &err), LC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_STRING_EQUAL(tstr(r1, "status"), "waiting");
	CU_ASSERT_STRING_EQUAL(tstr(r1, "customer_name"), "Carol");
	CU_ASSERT_EQUAL(tint(r1, "last_seq"), 0);
	CU_ASSERT_PTR_NULL(tstr(r1, "open_key"));
	CU_ASSERT_TRUE(json_object_object_get_ex(r1, "agent_id", NULL));
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "Carol", &r2, &created,
						 &err), LC_OK);
	CU_ASSERT_FALSE(created);
	CU_ASSERT_STRING_EQUAL(tstr(r1, "id"), tstr(r2, "id"));
	/* Another channel is another customer. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "telegram", cust, NULL, &r3, &created,
						 &err), LC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_STRING_NOT_EQUAL(tstr(r1, "id"), tstr(r3, "id"));

	CU_ASSERT_EQUAL_FATAL(lc_store_room_find_open(test_store, "widget", cust, &f, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(f, "id"), tstr(r1, "id"));
	json_object_put(f);
	f = NULL;
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", "nobody-here", &f, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_room_open(test_store, "wid:get", cust, NULL, &f, &created, &err),
			LC_ERR_INVALID);
	json_object_put(r1);
	json_object_put(r2);
	json_object_put(r3);
	free(cust);
}

typedef struct racer {
	pthread_barrier_t *start;
	const char *customer;
	const char *room_id;
	char agent[32];
	lc_rc rc;
	bool created;
	char got_id[32];
	char reason[LC_ERR_REASON_MAX];
} racer_t;

static void *open_racer(void *arg)
{
	racer_t *r = arg;
	lc_err_t err = { 0 };
	json_object *room = NULL;
	pthread_barrier_wait(r->start);
	r->rc = lc_store_room_open(test_store, "widget", r->customer, "Racer", &room, &r->created,
				   &err);
	if (r->rc == LC_OK)
		snprintf(r->got_id, sizeof r->got_id, "%s", tstr(room, "id"));
	else
		snprintf(r->reason, sizeof r->reason, "%s", err.reason);
	json_object_put(room);
	return NULL;
}

/* OPENERS threads open the room of one fresh customer at once, OPEN_ROUNDS times: the pointer
 * upserts of the opener that created the room and of those that met it on open_key race, and
 * with 16 openers once that lost the creator its created (1 run in 3). With 32 openers and 8
 * rounds the race comes up in every run of the unfixed code. */
static void test_concurrent_opens_for_one_customer_create_one_room(void)
{
	for (int round = 0; round < OPEN_ROUNDS; round++) {
		pthread_barrier_t start;
		pthread_t t[OPENERS];
		racer_t r[OPENERS];
		char *cust = tuniq("crowd");
		int created = 0;

		pthread_barrier_init(&start, NULL, OPENERS);
		for (int i = 0; i < OPENERS; i++) {
			r[i] = (racer_t){ .start = &start, .customer = cust };
			pthread_create(&t[i], NULL, open_racer, &r[i]);
		}
		for (int i = 0; i < OPENERS; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < OPENERS; i++) {
			if (r[i].rc != LC_OK)
				fprintf(stderr, "round %d opener %d: %s: %s\n", round, i,
					lc_rc_name(r[i].rc), r[i].reason);
			CU_ASSERT_EQUAL(r[i].rc, LC_OK);
			CU_ASSERT_STRING_EQUAL(r[i].got_id, r[0].got_id);
			created += r[i].created;
		}
		if (created != 1)
			fprintf(stderr, "round %d: %d openers created the room\n", round, created);
		CU_ASSERT_EQUAL(created, 1);
		pthread_barrier_destroy(&start);
		free(cust);
	}
}

static void *claim_racer(void *arg)
{
	racer_t *r = arg;
	lc_err_t err = { 0 };
	json_object *room = NULL;
	pthread_barrier_wait(r->start);
	r->rc = lc_store_room_claim(test_store, r->room_id, r->agent, r->agent, &room, &err);
	snprintf(r->reason, sizeof r->reason, "%s", err.reason);
	json_object_put(room);
	return NULL;
}

/* RACERS threads of fn at once, the i-th given (char *)args + i * size; back when all ended. */
static void race(void *(*fn)(void *), void *args, size_t size)
{
	pthread_t t[RACERS];
	for (int i = 0; i < RACERS; i++)
		pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * size);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
}

static void test_sixteen_concurrent_claims_have_exactly_one_winner(void)
{
	for (int round = 0; round < CLAIM_ROUNDS; round++) {
		lc_err_t err = { 0 };
		json_object *room = NULL, *after = NULL;
		bool created;
		char *cust = tuniq("claimed");
		pthread_barrier_t start;
		racer_t r[RACERS];
		int ok = 0, conflict = 0, winner = -1;

		CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "C", &room,
							 &created, &err), LC_OK);
		pthread_barrier_init(&start, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			r[i] = (racer_t){ .start = &start, .room_id = tstr(room, "id") };
			snprintf(r[i].agent, sizeof r[i].agent, "agent-%d", i);
		}
		race(claim_racer, r, sizeof r[0]);
		for (int i = 0; i < RACERS; i++) {
			if (r[i].rc == LC_OK) {
				ok++;
				winner = i;
			} else if (r[i].rc == LC_ERR_CONFLICT &&
				   strcmp(r[i].reason, "room already taken") == 0) {
				conflict++;
			}
		}
		CU_ASSERT_EQUAL(ok, 1);
		CU_ASSERT_EQUAL(conflict, RACERS - 1);
		CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, tstr(room, "id"), &after, &err),
				      LC_OK);
		CU_ASSERT_STRING_EQUAL(tstr(after, "status"), "engaged");
		if (winner >= 0)
			CU_ASSERT_STRING_EQUAL(tstr(after, "agent_id"), r[winner].agent);
		CU_ASSERT(tint(after, "engaged_at") >= tint(after, "created_at"));
		pthread_barrier_destroy(&start);
		json_object_put(room);
		json_object_put(after);
		free(cust);
	}
}

static char *open_waiting(const char *tag)
{
	lc_err_t err = { 0 };
	json_object *room = NULL;
	bool created;
	char *cust = tuniq(tag);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "B", &room, &created,
						 &err), LC_OK);
	char *id = lc_strdup(tstr(room, "id"));
	json_object_put(room);
	free(cust);
	return id;
}

static uint64_t ops_total(void)
{
	lc_store_stats_t st;
	lc_store_stats(test_store, &st);
	return st.ops_total;
}

static void claims_clear(lc_store_claim_t *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_put(c[i].room);
}

/* A batch engages each room once, as the claims one by one would, and says why the others lost
 * (the room as it is: taken or closed); rooms read one by one, the gates and the updates each in
 * one round trip. */
static void test_a_batch_of_claims_has_one_winner_per_room_and_costs_n_plus_two_trips(void)
{
	lc_err_t err = { 0 };
	json_object *read = NULL;
	char *a = open_waiting("batch-a"), *b = open_waiting("batch-b");
	char *c = open_waiting("batch-c"), *d = open_waiting("batch-d");
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, c, "customer_left", NULL, &err), LC_OK);

	lc_store_claim_t two[] = {
		{ .room_id = b, .agent_id = "ag-b", .agent_name = "Agent B" },
		{ .room_id = d, .agent_id = "ag-d", .agent_name = "Agent D" },
	};
	uint64_t before = ops_total();
	lc_store_room_claim_many(test_store, two, 2, NULL, NULL);
	CU_ASSERT_EQUAL(ops_total() - before, 2 + 2);
	CU_ASSERT_EQUAL(two[0].rc, LC_OK);
	CU_ASSERT_EQUAL(two[1].rc, LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, b, &read, &err), LC_OK);
	json_object_object_del(read, "last_seq");
	CU_ASSERT_TRUE(json_object_equal(two[0].room, read));
	CU_ASSERT_STRING_EQUAL(tstr(read, "agent_id"), "ag-b");
	CU_ASSERT_STRING_EQUAL(tstr(read, "status"), "engaged");
	json_object_put(read);
	claims_clear(two, 2);

	lc_store_claim_t many[] = {
		{ .room_id = a, .agent_id = "ag-1", .agent_name = "One" },
		{ .room_id = b, .agent_id = "ag-2", .agent_name = "Two" },
		{ .room_id = a, .agent_id = "ag-3", .agent_name = "Three" },
		{ .room_id = c, .agent_id = "ag-4", .agent_name = "Four" },
		{ .room_id = "0123456789abcdef01234567", .agent_id = "ag-5", .agent_name = "Five" },
		{ .room_id = "nope", .agent_id = "ag-6", .agent_name = "Six" },
		{ .room_id = a, .agent_id = "", .agent_name = "Nobody" },
	};
	lc_store_room_claim_many(test_store, many, 7, NULL, NULL);
	CU_ASSERT_EQUAL(many[0].rc, LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(many[0].room, "agent_id"), "ag-1");
	CU_ASSERT_EQUAL(many[1].rc, LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(many[1].err.reason, "room already taken");
	CU_ASSERT_STRING_EQUAL(tstr(many[1].room, "agent_id"), "ag-b");
	CU_ASSERT_EQUAL(many[2].rc, LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(many[2].err.reason, "room already taken");
	CU_ASSERT_STRING_EQUAL(tstr(many[2].room, "agent_id"), "ag-1");
	CU_ASSERT_EQUAL(many[3].rc, LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(tstr(many[3].room, "status"), "closed");
	CU_ASSERT_EQUAL(many[4].rc, LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(many[5].rc, LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(many[6].rc, LC_ERR_INVALID);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, a, &read, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(read, "agent_id"), "ag-1");
	CU_ASSERT_STRING_EQUAL(tstr(read, "agent_name"), "One");
	json_object_put(read);
	claims_clear(many, 7);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* What a claim_many's settled callback saw: the claims, in the order they were answered. */
typedef struct settled_log {
	lc_store_claim_t *base;
	size_t order[16], n;
	lc_rc rc[16];
} settled_log_t;

static void log_settled(lc_store_claim_t *c, void *arg)
{
	settled_log_t *l = arg;
	if (l->n < 16) {
		l->rc[l->n] = c->rc;
		l->order[l->n++] = (size_t)(c - l->base);
	}
}

/* Many agents accepting one room in one batch (every online agent sees the request): the room
 * is read once, the claims that lost its gate to the batch's winner are taken without a read,
 * and each claim is told once: 4 round trips for the batch, not one or three per loser. */
static void test_a_contested_batch_reads_the_room_once_and_its_losers_cost_no_trip(void)
{
	char *a = open_waiting("contested-a"), *b = open_waiting("contested-b");
	lc_store_claim_t c[7];
	char agents[7][16];
	for (int i = 0; i < 7; i++) {
		snprintf(agents[i], sizeof agents[i], "cont-%d", i);
		c[i] = (lc_store_claim_t){ .room_id = i == 3 ? b : a, .agent_id = agents[i],
					   .agent_name = agents[i] };
	}
	settled_log_t log = { .base = c };
	uint64_t before = ops_total();
	lc_store_room_claim_many(test_store, c, 7, log_settled, &log);
	CU_ASSERT_EQUAL(ops_total() - before, 2 + 2);
	CU_ASSERT_EQUAL(c[3].rc, LC_OK);
	int won = -1, n_ok = 0;
	for (int i = 0; i < 7; i++) {
		if (i == 3)
			continue;
		if (c[i].rc == LC_OK) {
			won = i;
			n_ok++;
		}
	}
	CU_ASSERT_EQUAL_FATAL(n_ok, 1);
	for (int i = 0; i < 7; i++) {
		if (i == 3 || i == won)
			continue;
		CU_ASSERT_EQUAL(c[i].rc, LC_ERR_CONFLICT);
		CU_ASSERT_STRING_EQUAL(c[i].err.reason, "room already taken");
		CU_ASSERT_STRING_EQUAL(tstr(c[i].room, "agent_id"), agents[won]);
	}
	lc_err_t err = { 0 };
	json_object *read = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, a, &read, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(read, "agent_id"), agents[won]);
	json_object_put(read);
	/* Told once each. */
	CU_ASSERT_EQUAL(log.n, 7);
	bool seen[7] = { false };
	for (size_t k = 0; k < log.n && k < 7; k++) {
		CU_ASSERT_FALSE(seen[log.order[k]]);
		seen[log.order[k]] = true;
		CU_ASSERT_EQUAL(log.rc[k], c[log.order[k]].rc);
	}
	claims_clear(c, 7);
	free(a);
	free(b);
}

typedef struct gate_holder {
	char *gate_id;
	int hold_ms;
} gate_holder_t;

static void *release_gate_later(void *arg)
{
	gate_holder_t *g = arg;
	struct timespec ts = { g->hold_ms / 1000, (long)(g->hold_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	lc_store_gate_release(test_store, LC_COLL_ROOM_GATES, g->gate_id);
	return NULL;
}

/* A claim whose gate another writer holds goes on alone, after the batch's other claims are
 * told (a winner's join does not wait for it); it wins once the gate is free. */
static void test_a_batch_tells_its_answered_claims_before_one_going_on_alone(void)
{
	lc_err_t err = { 0 };
	char *held = open_waiting("alone-held"), *free_room = open_waiting("alone-free");
	/* A fresh room is at revision 0: its next change's gate is "<id>:0" (docs/store.md). */
	gate_holder_t g = { .gate_id = lc_asprintf("%s:0", held), .hold_ms = 300 };
	CU_ASSERT_EQUAL_FATAL(lc_store_gate_try(test_store, LC_COLL_ROOM_GATES, g.gate_id, 10000,
						&err), LC_OK);
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, release_gate_later, &g), 0);
	lc_store_claim_t c[] = {
		{ .room_id = held, .agent_id = "alone-1", .agent_name = "One" },
		{ .room_id = free_room, .agent_id = "alone-2", .agent_name = "Two" },
	};
	settled_log_t log = { .base = c };
	lc_store_room_claim_many(test_store, c, 2, log_settled, &log);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c[0].rc, LC_OK);
	CU_ASSERT_EQUAL(c[1].rc, LC_OK);
	CU_ASSERT_EQUAL_FATAL(log.n, 2);
	CU_ASSERT_EQUAL(log.order[0], 1);
	CU_ASSERT_EQUAL(log.order[1], 0);
	json_object *read = NULL;
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, held, &read, &err), LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(read, "agent_id"), "alone-1");
	json_object_put(read);
	claims_clear(c, 2);
	free(g.gate_id);
	free(held);
	free(free_room);
}

typedef struct batch_racer {
	pthread_barrier_t *start;
	const char *shared_id;     /* the room everyone claims */
	char *own_id;              /* a room only this racer claims (batchers only) */
	char agent[32];
	bool batch;
	lc_rc rc, own_rc;
} batch_racer_t;

static void *batch_claim_racer(void *arg)
{
	batch_racer_t *r = arg;
	lc_err_t err = { 0 };
	pthread_barrier_wait(r->start);
	if (!r->batch) {
		r->rc = lc_store_room_claim(test_store, r->shared_id, r->agent, r->agent, NULL, &err);
		return NULL;
	}
	lc_store_claim_t c[] = {
		{ .room_id = r->own_id, .agent_id = r->agent, .agent_name = r->agent },
		{ .room_id = r->shared_id, .agent_id = r->agent, .agent_name = r->agent },
	};
	lc_store_room_claim_many(test_store, c, 2, NULL, NULL);
	r->own_rc = c[0].rc;
	r->rc = c[1].rc;
	claims_clear(c, 2);
	return NULL;
}

/* Batches and single claims of one room at once, from many threads: exactly one winner, and
 * every batch's other room is engaged by it. */
static void test_batched_and_single_claims_racing_have_exactly_one_winner(void)
{
	for (int round = 0; round < CLAIM_ROUNDS / 2; round++) {
		lc_err_t err = { 0 };
		json_object *after = NULL;
		pthread_barrier_t start;
		batch_racer_t r[RACERS];
		int ok = 0, winner = -1;
		char *shared = open_waiting("batch-raced");

		pthread_barrier_init(&start, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			r[i] = (batch_racer_t){ .start = &start, .shared_id = shared, .batch = i % 2 == 0 };
			snprintf(r[i].agent, sizeof r[i].agent, "agent-%d", i);
			r[i].own_id = r[i].batch ? open_waiting("batch-own") : NULL;
		}
		race(batch_claim_racer, r, sizeof r[0]);
		for (int i = 0; i < RACERS; i++) {
			if (r[i].rc == LC_OK) {
				ok++;
				winner = i;
			} else {
				CU_ASSERT_EQUAL(r[i].rc, LC_ERR_CONFLICT);
			}
			if (r[i].batch)
				CU_ASSERT_EQUAL(r[i].own_rc, LC_OK);
		}
		if (ok != 1)
			fprintf(stderr, "round %d: %d winners\n", round, ok);
		CU_ASSERT_EQUAL(ok, 1);
		CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, shared, &after, &err), LC_OK);
		if (winner >= 0)
			CU_ASSERT_STRING_EQUAL(tstr(after, "agent_id"), r[winner].agent);
		json_object_put(after);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < RACERS; i++)
			free(r[i].own_id);
		free(shared);
	}
}

/* The room a claim and a close return is the one written, not read again: every field a read
 * gives, the same (a claim's without last_seq: its join message comes next; a close's with it). */
static void test_claim_and_close_return_the_room_as_a_read_gives_it(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL, *claimed = NULL, *closed = NULL, *read = NULL;
	bool created;
	char *cust = tuniq("written");

	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "W", &room, &created,
						 &err), LC_OK);
	const char *id = tstr(room, "id");
	CU_ASSERT_EQUAL_FATAL(lc_store_room_claim(test_store, id, "ag-w", "Agent W", &claimed, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &read, &err), LC_OK);
	CU_ASSERT_FALSE(json_object_object_get_ex(claimed, "last_seq", NULL));
	json_object_object_del(read, "last_seq");
	CU_ASSERT_TRUE(json_object_equal(claimed, read));
	CU_ASSERT_STRING_EQUAL(tstr(claimed, "status"), "engaged");
	CU_ASSERT_STRING_EQUAL(tstr(claimed, "agent_name"), "Agent W");
	json_object_put(read);
	read = NULL;

	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, id, "agent_ended", &closed, &err),
			      LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &read, &err), LC_OK);
	CU_ASSERT_TRUE(json_object_object_get_ex(closed, "last_seq", NULL));
	CU_ASSERT_TRUE(json_object_equal(closed, read));
	if (!json_object_equal(closed, read))
		fprintf(stderr, "closed %s\nread   %s\n", json_object_to_json_string(closed),
			json_object_to_json_string(read));
	json_object_put(room);
	json_object_put(claimed);
	json_object_put(closed);
	json_object_put(read);
	free(cust);
}

static void test_claim_of_missing_room_is_not_found(void)
{
	lc_err_t err = { 0 };
	json_object *o = NULL;
	CU_ASSERT_EQUAL(lc_store_room_claim(test_store, "0123456789abcdef01234567", "a", "A", &o,
					    &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_room_claim(test_store, "nope", "a", "A", &o, &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(lc_store_room_close(test_store, "0123456789abcdef01234567", "x", &o, &err),
			LC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(o);
}

static void test_close_frees_the_customer_for_a_new_room(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL, *closed = NULL, *next = NULL, *f = NULL, *o = NULL;
	bool created;
	char *cust = tuniq("leaver");

	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "L", &room, &created,
						 &err), LC_OK);
	const char *id = tstr(room, "id");
	CU_ASSERT_EQUAL(lc_store_room_claim(test_store, id, "ag1", "Agent One", NULL, &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, id, "agent_ended", &closed, &err),
			      LC_OK);
	CU_ASSERT_STRING_EQUAL(tstr(closed, "status"), "closed");
	CU_ASSERT_STRING_EQUAL(tstr(closed, "close_reason"), "agent_ended");
	CU_ASSERT_STRING_EQUAL(tstr(closed, "agent_name"), "Agent One");
	CU_ASSERT(tint(closed, "closed_at") > 0);

	CU_ASSERT_EQUAL(lc_store_room_close(test_store, id, "again", &o, &err), LC_ERR_CONFLICT);
	CU_ASSERT_STRING_EQUAL(err.reason, "room already closed");
	CU_ASSERT_EQUAL(lc_store_room_claim(test_store, id, "ag2", "Two", &o, &err), LC_ERR_CONFLICT);
	CU_ASSERT_EQUAL(lc_store_room_find_open(test_store, "widget", cust, &f, &err),
			LC_ERR_NOT_FOUND);

	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "L", &next, &created,
						 &err), LC_OK);
	CU_ASSERT_TRUE(created);
	CU_ASSERT_STRING_NOT_EQUAL(tstr(next, "id"), id);
	/* A waiting room can be closed too (customer left before anyone accepted). */
	CU_ASSERT_EQUAL(lc_store_room_close(test_store, tstr(next, "id"), NULL, NULL, &err), LC_OK);
	json_object_put(room);
	json_object_put(closed);
	json_object_put(next);
	free(cust);
}

static void test_decline_records_each_agent_once_while_waiting(void)
{
	lc_err_t err = { 0 };
	json_object *room = NULL, *after = NULL;
	bool created;
	char *cust = tuniq("declined");

	CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "D", &room, &created,
						 &err), LC_OK);
	const char *id = tstr(room, "id");
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag1", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag1", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag2", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, "bad", "ag2", &err), LC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &after, &err), LC_OK);
	json_object *d = json_object_object_get(after, "declined_by");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(d), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(d, 0)), "ag1");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(d, 1)), "ag2");
	CU_ASSERT_STRING_EQUAL(tstr(after, "status"), "waiting");
	json_object_put(after);
	after = NULL;
	/* Taken (a decline after the agent's own winning accept, or another's), then closed: the
	 * request is gone, a decline changes nothing. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_claim(test_store, id, "ag3", "Agent 3", NULL, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag3", &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag4", &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_close(test_store, id, NULL, NULL, &err), LC_OK);
	CU_ASSERT_EQUAL(lc_store_room_decline(test_store, id, "ag5", &err), LC_OK);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_get(test_store, id, &after, &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(after, "declined_by")), 2);
	CU_ASSERT_STRING_EQUAL(tstr(after, "status"), "closed");
	json_object_put(room);
	json_object_put(after);
	free(cust);
}

static void test_room_lists_by_status_and_by_agent(void)
{
	lc_err_t err = { 0 };
	json_object *items = NULL, *room = NULL;
	int64_t total = -1, waiting_before = -1;
	bool created;
	char *agent = tuniq("lister-agent");

	CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, "waiting", 0, 0, &items,
						 &waiting_before, &err), LC_OK);
	json_object_put(items);
	for (int i = 0; i < 3; i++) {
		char *cust = tuniq("listed");
		CU_ASSERT_EQUAL_FATAL(lc_store_room_open(test_store, "widget", cust, "X", &room,
							 &created, &err), LC_OK);
		if (i < 2)
			CU_ASSERT_EQUAL(lc_store_room_claim(test_store, tstr(room, "id"), agent, "A",
							    NULL, &err), LC_OK);
		json_object_put(room);
		free(cust);
	}
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list_agent(test_store, agent, &items, &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 2);
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, "waiting", 0, 0, &items, &total, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(total, waiting_before + 1);
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list(test_store, NULL, 0, 2, &items, &total, &err),
			      LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 2);
	CU_ASSERT(total >= 3);
	/* Newest first. */
	CU_ASSERT(tint(json_object_array_get_idx(items, 0), "created_at") >=
		  tint(json_object_array_get_idx(items, 1), "created_at"));
	json_object_put(items);
	/* The rooms one agent took, paged, filtered by status; nobody else's. */
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list_taken(test_store, agent, NULL, 0, 1, &items, &total,
						       &err), LC_OK);
	CU_ASSERT_EQUAL(json_object_array_length(items), 1);
	CU_ASSERT_EQUAL(total, 2);
	CU_ASSERT_STRING_EQUAL(tstr(json_object_array_get_idx(items, 0), "agent_id"), agent);
	json_object_put(items);
	CU_ASSERT_EQUAL_FATAL(lc_store_room_list_taken(test_store, agent, "closed", 0, 0, &items,
						       &total, &err), LC_OK);
	CU_ASSERT_EQUAL(total, 0);
	json_object_put(items);
	CU_ASSERT_EQUAL(lc_store_room_list_taken(test_store, "", NULL, 0, 0, &items, &total, &err),
			LC_ERR_INVALID);
	free(agent);
}

int init_store_rooms_tests(void)
{
	CU_pSuite s = CU_add_suite("store_rooms", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_room_open_is_idempotent_per_customer);
	CU_ADD_TEST(s, test_concurrent_opens_for_one_customer_create_one_room);
	CU_ADD_TEST(s, test_sixteen_concurrent_claims_have_exactly_one_winner);
	CU_ADD_TEST(s, test_a_batch_of_claims_has_one_winner_per_room_and_costs_n_plus_two_trips);
	CU_ADD_TEST(s, test_a_contested_batch_reads_the_room_once_and_its_losers_cost_no_trip);
	CU_ADD_TEST(s, test_a_batch_tells_its_answered_claims_before_one_going_on_alone);
	CU_ADD_TEST(s, test_batched_and_single_claims_racing_have_exactly_one_winner);
	CU_ADD_TEST(s, test_claim_of_missing_room_is_not_found);
	CU_ADD_TEST(s, test_claim_and_close_return_the_room_as_a_read_gives_it);
	CU_ADD_TEST(s, test_close_frees_the_customer_for_a_new_room);
	CU_ADD_TEST(s, test_decline_records_each_agent_once_while_waiting);
	CU_ADD_TEST(s, test_room_lists_by_status_and_by_agent);
	return 0;
}
