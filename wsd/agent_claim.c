/* SPDX-License-Identifier: MIT */
/* wsd_agent_claim: accept (the conditional claim: exactly one winner, the join message, the
 * history) and decline (hidden for this agent; no_agent when everyone declined). The accepts'
 * claims are made in batches (lc_store_room_claim_many), their join texts sent to the room
 * writer together, without a worker waiting for the answers. */
#include "config.h"
#include "agent_priv.h"
#include "events.h"
#include "gateway.h"
#include "roomcmd.h"
#include "room.h"
#include "lc_alloc.h"
#include "lc_config.h"
#include "lc_json.h"
#include "lc_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

/* ---- accept */

typedef struct accept_job {
	uint32_t magic;
#define ACCEPT_JOB_MAGIC 0x61636370u
	wsd_ajob_t h;
	TAILQ_ENTRY(accept_job) link;   /* in the claims' queue */
	bool claimed;           /* tried again: the claim is done, the join message is not */
	bool joined;            /* the join message is stored (j->msg): only the history is read */
	json_object *room;      /* the claimed room (or, on conflict, as it is) */
	json_object *msg;       /* the stored join message */
	json_object *items;     /* the customer's history */
} accept_job_t;

/* Whether items holds the message of id. */
static bool items_have(json_object *items, const char *id)
{
	for (size_t i = json_object_array_length(items); i > 0; i--)
		if (strcmp(lc_json_get_str(json_object_array_get_idx(items, i - 1), "id", ""), id) == 0)
			return true;
	return false;
}

/* The customer's last history_limit messages, across their rooms: from the pieces of their
 * recent (docs/store.md: a few _id reads, whatever the stored history), or, for a room opened
 * before recent existed, from the query over messages. (Most accepts have them already from the
 * room writer's answer to the join: accept_run.) The pieces hold the join text when its writer
 * wrote them before answering without the history, as it does; they may not after a lost
 * answer, the join then found stored by a writer that took over while the first one's pieces
 * were still pending (or lost with it): the query then, on that rare path. */
static lc_rc accept_history(wsd_t *w, accept_job_t *j, int64_t limit, lc_err_t *err)
{
	const char *channel = lc_json_get_str(j->room, "channel", "");
	const char *customer_id = lc_json_get_str(j->room, "customer_id", "");
	lc_rc rc = lc_store_message_recent(w->store, j->h.room_id, channel, customer_id, limit,
					   &j->items, err);
	const char *join_id = lc_json_get_str(j->msg, "id", NULL);
	if (rc == LC_OK && join_id != NULL && !items_have(j->items, join_id)) {
		json_object_put(j->items);
		j->items = NULL;
		rc = LC_ERR_NOT_FOUND;
	}
	if (rc == LC_ERR_NOT_FOUND)
		rc = lc_store_message_history(w->store, channel, customer_id, limit, &j->items, err);
	return rc;
}

static void claims_finished(wsd_t *w);

static void accept_job_free(accept_job_t *j)
{
	LC_CHECK_OBJ(j, ACCEPT_JOB_MAGIC);
	claims_finished(j->h.w);
	wsd_ajob_clear(&j->h);
	json_object_put(j->room);
	json_object_put(j->msg);
	json_object_put(j->items);
	j->magic = 0;
	free(j);
}

/* The join message is stored (j->msg; items: the writer's history, taken, or NULL): the room's
 * last_seq, and the history read when the writer did not have it all. */
static void accept_joined(wsd_t *w, accept_job_t *j, json_object *items, int64_t limit)
{
	lc_err_t err;
	json_object_put(j->items);
	j->items = items;
	/* The claim's room carries no last_seq (lc_store_room_claim): the join text is its last. */
	json_object_object_add(j->room, "last_seq",
			       json_object_new_int64(lc_json_get_int(j->msg, "seq", 0)));
	if (j->items != NULL)
		return;   /* the writer holds the customer's last messages: no read */
	if (accept_history(w, j, limit, &err) != LC_OK) {
		LC_WARN("room %s: reading history: %s", j->h.room_id, err.reason);
		j->items = json_object_new_array();
	}
}

/* An accept whose join message is not stored yet, its claim made (a batch's join the writer
 * did not take): tried until the join is stored. */
static bool accept_run(wsd_t *w, void *arg)
{
	accept_job_t *j;
	LC_CAST_OBJ(j, arg, ACCEPT_JOB_MAGIC);
	LC_ASSERT(j->claimed);
	/* The customer learns of the agent only through the stored join message: a MongoDB blip
	 * must not lose it (the message id is fixed, so a retry stores it once). */
	lc_err_t err;
	int64_t limit = atomic_load(&w->history_limit);
	json_object *msg = NULL, *items = NULL;
	if (wsd_roomcmd_join_message(w, j->h.room_id, j->h.display_name,
				     lc_json_get_str(j->room, "customer_name", ""), j->h.user_id,
				     limit, &msg, &items, &err) != LC_OK)
		return false;
	json_object_put(j->msg);
	j->msg = msg;
	accept_joined(w, j, items, limit);
	return true;
}

static void accept_done(wsd_t *w, void *arg)
{
	accept_job_t *j;
	LC_CAST_OBJ(j, arg, ACCEPT_JOB_MAGIC);
	json_object *declines = NULL;
	wsd_conn_t *c = NULL;
	if (w->stop)
		goto out;
	c = wsd_conn_find(w, j->h.handle);
	wsd_croom_t *joining = c ? wsd_croom_find(c, j->h.room_id) : NULL;
	if (joining != NULL) {
		/* Declines of the room that came after this accept on the same connection
		 * (on_decline): they go on once this accept is answered. */
		declines = joining->declines;
		joining->declines = NULL;
	}
	if (j->h.rc == LC_OK) {
		LC_INFO("room %s taken by %s", j->h.room_id, j->h.user_id);
		/* The claim happened: tell everyone even if the agent is gone already. */
		wsd_room_view_t v = { .id = j->h.room_id };
		json_object *b = wsd_event_taken(&(wsd_event_t){ .room = &v, .agent_id = j->h.user_id });
		wsd_room_broadcast(w, "taken", b);
		json_object_put(b);
		if (j->msg) {
			json_object *o = wsd_gateway_out_msg("agent_joined", j->msg, j->room, j->h.user_id,
							     j->h.display_name);
			wsd_room_publish_outbound(w, o, NULL, NULL);
			json_object_put(o);
		}
		if (c == NULL) {
			wsd_room_grace_left(w, j->h.user_id);
			goto out;
		}
		wsd_croom_t *r = wsd_croom_add(c, j->h.room_id, lc_json_get_str(j->room, "channel", NULL),
					       lc_json_get_str(j->room, "customer_id", NULL),
					       lc_json_get_str(j->room, "customer_name", NULL),
					       WSD_CR_JOINING, false);
		json_object *f = wsd_conn_frame("accepted", j->h.ref);
		wsd_ajob_add_room(f, j->room);
		json_object_object_add(f, "history", json_object_get(j->items));
		wsd_conn_send(c, f);
		json_object_put(f);
		int64_t first = wsd_ajob_first_seq(j->items, j->h.room_id);
		wsd_croom_live(c, r, first > 0 ? first - 1 : 0, j->items);
		goto out;
	}
	if (c == NULL)
		goto out;
	if (joining && !joining->watch && joining->state == WSD_CR_JOINING)
		wsd_croom_remove(c, j->h.room_id);
	bool closed = j->h.rc == LC_ERR_CONFLICT &&
		      wsd_room_status(j->room) == LC_ROOM_CLOSED;
	if (j->h.rc == LC_ERR_CONFLICT && !closed) {
		json_object *f = wsd_conn_frame("already_taken", j->h.ref);
		json_object_object_add(f, "room_id", json_object_new_string(j->h.room_id));
		wsd_conn_send(c, f);
		json_object_put(f);
	} else {
		wsd_conn_error_room(c, j->h.rc, closed ? "the room is already closed" : j->h.err.reason,
				    j->h.room_id, j->h.ref);
	}
out:
	if (c != NULL)
		wsd_agent_declines_send(c, j->h.room_id, declines);
	json_object_put(declines);
	accept_job_free(j);
}

/* ---- the claims, in batches */

#define CLAIMS_MAGIC 0x636c6d73u
#define CLAIMS_BATCH_MAX 64

/* Created at start (wsd_agent_claims_init): the accepts waiting for a batch. */
struct wsd_claims {
	uint32_t magic;
	pthread_mutex_t lock;
	TAILQ_HEAD(, accept_job) queue;   /* lock */
	int running, max_running;         /* lock: workers running claims_run, at most */
	atomic_uint_fast64_t n_claims, n_batches;   /* the metrics' counters */
	atomic_size_t pending;            /* accepts from wsd_agent_accept to accept_job_free */
};

/* An accept is finished (accept_job_free). */
static void claims_finished(wsd_t *w)
{
	if (w->claims != NULL)
		atomic_fetch_sub(&w->claims->pending, 1);
}

size_t wsd_agent_claims_pending(wsd_t *w)
{
	return w->claims ? atomic_load(&w->claims->pending) : 0;
}

void wsd_agent_claims_counts(wsd_t *w, uint64_t *claims, uint64_t *batches)
{
	wsd_claims_t *q = w->claims;
	*claims = q ? atomic_load(&q->n_claims) : 0;
	*batches = q ? atomic_load(&q->n_batches) : 0;
}

void wsd_agent_claims_init(wsd_t *w)
{
	wsd_claims_t *q = lc_calloc(1, sizeof *q);
	q->magic = CLAIMS_MAGIC;
	pthread_mutex_init(&q->lock, NULL);
	TAILQ_INIT(&q->queue);
	q->max_running = (int)lc_config_int(w->cfg, "wsd_workers");
	w->claims = q;
}

void wsd_agent_claims_free(wsd_t *w)
{
	wsd_claims_t *q = w->claims;
	if (q == NULL)
		return;
	LC_CHECK_OBJ(q, CLAIMS_MAGIC);
	accept_job_t *j;
	while ((j = TAILQ_FIRST(&q->queue)) != NULL) {
		TAILQ_REMOVE(&q->queue, j, link);
		accept_done(w, j);   /* w->stop is set: it only frees */
	}
	pthread_mutex_destroy(&q->lock);
	q->magic = 0;
	free(q);
	w->claims = NULL;
}

/* Worker: an accept whose join came back without the writer's history: read it, answer. */
static void accept_history_run(wsd_t *w, void *arg)
{
	accept_job_t *j;
	LC_CAST_OBJ(j, arg, ACCEPT_JOB_MAGIC);
	accept_joined(w, j, NULL, atomic_load(&w->history_limit));
}

/* Loop: an accept whose join was answered without all it needs goes back to a worker: to read
 * the history (joined), or to store the join until it is (accept_run). */
static void accept_resubmit(wsd_t *w, void *arg)
{
	accept_job_t *j;
	LC_CAST_OBJ(j, arg, ACCEPT_JOB_MAGIC);
	if (w->stop)
		accept_done(w, j);   /* it only frees */
	else if (j->joined)
		wsd_ajob_submit(&j->h, accept_history_run, accept_done, j);
	else
		wsd_ajob_submit_retry(&j->h, accept_run, accept_done, j);
}

/* The writer's answer to a claim's join (the writer thread, the consumer thread, or the loop
 * when it timed out): the accept answers on the loop, or goes back to a worker through the
 * loop (which knows whether the workers still run). */
static void accept_join_answered(wsd_t *w, void *arg, wsd_roomcmd_result_t *res)
{
	accept_job_t *j;
	LC_CAST_OBJ(j, arg, ACCEPT_JOB_MAGIC);
	json_object_put(res->room);
	if (w->stop) {
		/* Stopping (wsd_roomcmds_free answers what is left): nothing runs it any more. */
		json_object_put(res->msg);
		json_object_put(res->history);
		accept_done(w, j);   /* it only frees */
		return;
	}
	if (res->rc != LC_OK) {
		LC_WARN("room %s: storing the join message: %s", j->h.room_id, res->err.reason);
		json_object_put(res->msg);
		json_object_put(res->history);
		wsd_post(w, accept_resubmit, j);
		return;
	}
	j->msg = res->msg;
	j->joined = true;
	if (res->history == NULL) {
		wsd_post(w, accept_resubmit, j);
		return;
	}
	accept_joined(w, j, res->history, 0);
	wsd_post(w, accept_done, j);
}

/* A batch on its way: its accepts, beside their claims. */
typedef struct claims_batch {
	wsd_t *w;
	accept_job_t **jobs;
	lc_store_claim_t *c;
	int64_t limit;          /* the history's length, for the joins */
} claims_batch_t;

/* A claim of the batch is answered (lc_store_room_claim_many, during the call): a winner's join
 * goes to the writer at once (the winners of a batch arrive together and one round stores
 * them; none waits for the claims still making round trips), the others answer. */
static void claim_settled(lc_store_claim_t *c, void *arg)
{
	claims_batch_t *b = arg;
	accept_job_t *j = b->jobs[c - b->c];
	j->h.rc = c->rc;
	j->h.err = c->err;
	/* Taken (already_taken) or closed (not_open): the room tells which. */
	j->room = c->room;
	c->room = NULL;
	if (j->h.rc != LC_OK) {
		wsd_post(b->w, accept_done, j);
		return;
	}
	j->claimed = true;
	/* j belongs to the writer's answer from here: read what the join needs first. */
	wsd_roomcmd_join_send(b->w, j->h.room_id, j->h.display_name,
			      lc_json_get_str(j->room, "customer_name", ""), j->h.user_id, b->limit,
			      accept_join_answered, j);
}

/* One batch: the claims (lc_store_room_claim_many), each answered or its join sent as soon as
 * its claim is known. */
static void claims_batch(wsd_t *w, accept_job_t **jobs, size_t n)
{
	claims_batch_t b = { .w = w, .jobs = jobs, .c = lc_calloc(n, sizeof *b.c),
			     .limit = atomic_load(&w->history_limit) };
	for (size_t i = 0; i < n; i++)
		b.c[i] = (lc_store_claim_t){ .room_id = jobs[i]->h.room_id,
					     .agent_id = jobs[i]->h.user_id,
					     .agent_name = jobs[i]->h.display_name };
	atomic_fetch_add(&w->claims->n_claims, n);
	atomic_fetch_add(&w->claims->n_batches, 1);
	lc_store_room_claim_many(w->store, b.c, n, claim_settled, &b);
	free(b.c);
}

static void claims_run(wsd_t *w, void *arg);

/* Loop: the next batch job. */
static void claims_next(wsd_t *w, void *arg)
{
	if (!w->stop)
		wsd_workers_submit(w->workers, NULL, claims_run, NULL, arg);
}

/* Worker: one batch of what queued; then, while accepts wait, the next batch is a job again,
 * behind the other jobs submitted meanwhile (a hello, a history, a decline wait for one batch
 * at most, not for a stream of accepts). */
static void claims_run(wsd_t *w, void *arg)
{
	wsd_claims_t *q;
	LC_CAST_OBJ(q, arg, CLAIMS_MAGIC);
	accept_job_t *jobs[CLAIMS_BATCH_MAX];
	size_t n = 0;
	pthread_mutex_lock(&q->lock);
	while (n < CLAIMS_BATCH_MAX && !w->stop && !TAILQ_EMPTY(&q->queue)) {
		jobs[n] = TAILQ_FIRST(&q->queue);
		TAILQ_REMOVE(&q->queue, jobs[n], link);
		n++;
	}
	if (n == 0)
		q->running--;
	pthread_mutex_unlock(&q->lock);
	if (n == 0)
		return;
	claims_batch(w, jobs, n);
	/* Still counted running: this job's successor takes what queued meanwhile (or, finding
	 * nothing, stops counting), submitted by the loop, which knows whether workers still run. */
	wsd_post(w, claims_next, q);
}

/* An accept's claim joins the next batch: those that arrive while one batch is being made are
 * claimed together (the database's round trips, not the accepts, set the pace: issue 8). */
void wsd_agent_accept(wsd_conn_t *c, const char *room_id, json_object *ref)
{
	wsd_claims_t *q = c->w->claims;
	accept_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = ACCEPT_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, NULL, ref);
	atomic_fetch_add(&q->pending, 1);
	pthread_mutex_lock(&q->lock);
	TAILQ_INSERT_TAIL(&q->queue, j, link);
	/* Up to one batch per worker at a time: two connections to FerretDB use both of a small
	 * machine's cores (an update there is a scan of the rooms); the accepts that arrive
	 * meanwhile make the next batch. */
	bool start = q->running < q->max_running;
	if (start)
		q->running++;
	pthread_mutex_unlock(&q->lock);
	if (start)
		wsd_workers_submit(c->w->workers, NULL, claims_run, NULL, q);
}

/* ---- decline */

typedef struct decline_job {
	uint32_t magic;
#define DECLINE_JOB_MAGIC 0x64636c6eu
	wsd_ajob_t h;
	json_object *room;      /* the room after the decline (who else declined) */
} decline_job_t;

static void decline_run(wsd_t *w, void *arg)
{
	decline_job_t *j;
	LC_CAST_OBJ(j, arg, DECLINE_JOB_MAGIC);
	j->h.rc = lc_store_room_decline(w->store, j->h.room_id, j->h.user_id, &j->h.err);
	if (j->h.rc == LC_OK)
		j->h.rc = lc_store_room_get(w->store, j->h.room_id, &j->room, &j->h.err);
}

static void decline_done(wsd_t *w, void *arg)
{
	decline_job_t *j;
	LC_CAST_OBJ(j, arg, DECLINE_JOB_MAGIC);
	if (w->stop)
		goto out;
	wsd_conn_t *c = wsd_conn_find(w, j->h.handle);
	if (j->h.rc == LC_OK) {
		wsd_room_view_t v = { .id = j->h.room_id };
		wsd_event_t e = { .room = &v, .reason = "declined", .agent_id = j->h.user_id };
		json_object *b = wsd_event_declined(&e);
		wsd_room_broadcast(w, "declined", b);
		json_object_put(b);
		if (c) {
			json_object *f = wsd_event_request_withdrawn(&e);
			wsd_conn_add_ref(f, j->h.ref);
			wsd_conn_send(c, f);
			json_object_put(f);
		}
		wsd_room_check_declined(w, j->room);
	} else if (c) {
		wsd_conn_error_room(c, j->h.rc, j->h.err.reason, j->h.room_id, j->h.ref);
	}
out:
	wsd_ajob_clear(&j->h);
	json_object_put(j->room);
	j->magic = 0;
	free(j);
}

void wsd_agent_declines_send(wsd_conn_t *c, const char *room_id, json_object *refs)
{
	for (size_t i = 0; refs != NULL && i < json_object_array_length(refs); i++)
		wsd_agent_decline(c, room_id, json_object_array_get_idx(refs, i));
}

void wsd_agent_decline(wsd_conn_t *c, const char *room_id, json_object *ref)
{
	decline_job_t *j = lc_calloc(1, sizeof *j);
	j->magic = DECLINE_JOB_MAGIC;
	wsd_ajob_init(&j->h, c, room_id, NULL, ref);
	wsd_ajob_submit(&j->h, decline_run, decline_done, j);
}
