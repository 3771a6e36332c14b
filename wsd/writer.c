/* SPDX-License-Identifier: MIT */
/* wsd_writer: the room writer thread (see writer.h). One round: take what the consumer queued
 * (waiting a couple of milliseconds for more), prepare each item in queue order (gateway.c's
 * steps for gateway messages, the checks of a room command in wcommand.c), which stages their
 * messages with seqs from the room's block (wroom.c), store the batch with one insertMany, then
 * finish the items in the same order (gateway messages are forwarded and acked by the loop,
 * commands answered and acked). An item MongoDB cannot prepare now is held with everything
 * behind it and tried again (100 ms doubling to 2 s). */
#include "config.h"
#include "writer_priv.h"
#include "busio.h"
#include "roomcmd.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void item_free(wsd_writer_t *wr, witem_t *it, bool finished)
{
	if (it->kind == WI_GATEWAY && !finished)
		wr->ops->drop(wr->w, it->in);   /* not acked: the broker redelivers it */
	lc_bus_delivery_free(&it->d);
	json_object_put(it->cmd);
	json_object_put(it->room);
	json_object_put(it->history);
	wsd_wslot_clear(&it->slot);
	free(it);
}

static void submit(wsd_writer_t *wr, witem_t *it)
{
	if (wsd_witem_is_command(it)) {
		lc_room_status_t st = lc_room_status_parse(lc_json_get_str(it->cmd, "status", NULL));
		it->urgent = st == LC_ROOM_ENGAGED || st == LC_ROOM_CLOSED;
	}
	pthread_mutex_lock(&wr->lock);
	/* After the writer stopped, the queue is only freed (unacked: redelivered elsewhere). */
	TAILQ_INSERT_TAIL(&wr->queue, it, link);
	wr->nqueue++;
	wr->nurgent += it->urgent;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
}

void wsd_writer_submit_gateway(wsd_writer_t *wr, void *in, uint64_t gen)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	/* Only the active consumer gets deliveries: this node is it, for as long as this
	 * connection lives (wsd_writer_inbound_gen). */
	atomic_store(&wr->active_gen, gen);
	witem_t *it = lc_calloc(1, sizeof *it);
	it->kind = WI_GATEWAY;
	it->in = in;
	it->gen = gen;
	submit(wr, it);
}

void wsd_writer_submit_command(wsd_writer_t *wr, lc_bus_delivery_t *d, json_object *cmd)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	atomic_store(&wr->active_gen, d->gen);
	witem_t *it = lc_calloc(1, sizeof *it);
	it->kind = WI_COMMAND;
	it->d = d;
	it->gen = d->gen;
	it->cmd = cmd;
	pthread_mutex_lock(&wr->lock);
	wr->stat_broker++;
	pthread_mutex_unlock(&wr->lock);
	submit(wr, it);
}

void wsd_writer_inbound_gen(wsd_writer_t *wr, uint64_t gen)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	uint64_t active = atomic_load(&wr->active_gen);
	if (active != 0 && active != gen) {
		/* The channel the deliveries came on is gone: the broker has made (or will make)
		 * another consumer active, maybe on another node. Active again only once a delivery
		 * of the new connection shows it. */
		atomic_store(&wr->active_gen, 0);
		LC_INFO("writer: this node is no longer the inbound queue's active consumer");
	}
}

bool wsd_writer_submit_local(wsd_writer_t *wr, json_object *cmd)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	uint64_t gen = atomic_load(&wr->active_gen);
	if (gen == 0)
		return false;
	witem_t *it = lc_calloc(1, sizeof *it);
	it->kind = WI_LOCAL;
	it->gen = gen;
	it->cmd = cmd;
	pthread_mutex_lock(&wr->lock);
	wr->stat_local++;
	pthread_mutex_unlock(&wr->lock);
	submit(wr, it);
	return true;
}

void wsd_writer_stats(wsd_writer_t *wr, uint64_t *local, uint64_t *broker)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	pthread_mutex_lock(&wr->lock);
	*local = wr->stat_local;
	*broker = wr->stat_broker;
	pthread_mutex_unlock(&wr->lock);
}

void wsd_writer_worker_reads(wsd_writer_t *wr, uint64_t reads[3])
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	for (int i = 0; i < 3; i++)
		reads[i] = atomic_load(&wr->worker_reads[i]);
}

static bool stopping(wsd_writer_t *wr)
{
	pthread_mutex_lock(&wr->lock);
	bool s = wr->stop;
	pthread_mutex_unlock(&wr->lock);
	return s || wr->w->stop;
}

/* Sleep up to ms, waking early when stopped. */
static void nap(wsd_writer_t *wr, int ms)
{
	struct timespec ts = lc_mono_after(ms);
	pthread_mutex_lock(&wr->lock);
	if (!wr->stop)
		pthread_cond_timedwait(&wr->cond, &wr->lock, &ts);
	pthread_mutex_unlock(&wr->lock);
}

static void backoff(wsd_writer_t *wr, const char *what, const lc_err_t *err)
{
	if (!wr->warned)
		LC_WARN("writer: %s: %s (holding; everything behind it waits)", what,
			err ? err->reason : "MongoDB cannot be reached");
	wr->warned = true;
	wr->delay_ms = wr->delay_ms ? wr->delay_ms * 2 : RETRY_FIRST_MS;
	if (wr->delay_ms > RETRY_MAX_MS)
		wr->delay_ms = RETRY_MAX_MS;
	nap(wr, wr->delay_ms);
}

static bool owner_is_command(void *owner, void *ctx)
{
	witem_t *it = owner;
	(void)ctx;
	return it != NULL && wsd_witem_is_command(it);
}

/* MongoDB cannot store now: the commands of list are answered unavailable (their senders tell
 * their clients, who send them again) instead of waiting behind the held ones. */
static void refuse_commands(wsd_writer_t *wr, struct witems *list)
{
	witem_t *it, *next;
	for (it = TAILQ_FIRST(list); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		if (!wsd_witem_is_command(it))
			continue;
		TAILQ_REMOVE(list, it, link);
		if (it->rc == LC_OK && !it->forged)
			it->rc = lc_err_set(&it->err, LC_ERR_UNAVAILABLE,
					    "the database cannot be reached");
		wsd_wcommand_finish(wr, it);
		item_free(wr, it, true);
	}
}

/* Under lock: it leaves the queue. */
static void queue_take(wsd_writer_t *wr, witem_t *it)
{
	TAILQ_REMOVE(&wr->queue, it, link);
	wr->nqueue--;
	wr->nurgent -= it->urgent;
}

static void refuse_queued(wsd_writer_t *wr)
{
	struct witems commands = TAILQ_HEAD_INITIALIZER(commands);
	witem_t *it, *next;
	pthread_mutex_lock(&wr->lock);
	for (it = TAILQ_FIRST(&wr->queue); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		if (wsd_witem_is_command(it)) {
			queue_take(wr, it);
			TAILQ_INSERT_TAIL(&commands, it, link);
		}
	}
	pthread_mutex_unlock(&wr->lock);
	refuse_commands(wr, &commands);
}

/* The rooms' marks (last_seq, the customers' recent counts) and the recent pieces: written
 * MARKS_EVERY_MS after the round that raised the first of them (one write for every batch in
 * between; the idle writer's wait wakes for it), and before the answers when a system text
 * not staged relaxed is among them (an end: the customer's next chat starts from the counter)
 * or a join's answer cannot carry the history from the writer's memory (its accept reads the
 * customer's recent next: wsd_wcommand_stored). A waiting text, and a join answered with the
 * history, do not hurry them: an accept's critical path is then its claim and one insert. So
 * the last_seq a room's reader gets (hello.rooms) may be up to MARKS_EVERY_MS (and one write)
 * behind the newest answer: docs/websocket.md says so, and clients resume from their own floor
 * (an update per round before the answers, to keep it exact, cost half the latency and of
 * FerretDB's CPU at moderate load: docs/performance.md). */
static bool marks_due(const wsd_writer_t *wr, int64_t now)
{
	return wsd_batch_marks_pending(wr->batch) > 0 &&
	       (wsd_batch_marks_urgent(wr->batch) || now - wr->marks_ms >= MARKS_EVERY_MS);
}

/* A failed write of the marks: said once until one succeeds; the idle writer tries again
 * MARKS_EVERY_MS later (the marks stay pending: nothing is lost). */
static void marks_result(wsd_writer_t *wr, lc_rc rc, const lc_err_t *err, int64_t now)
{
	if (rc != LC_OK) {
		if (!wr->marks_warned)
			LC_WARN("writer: raising the rooms' last_seq: %s (tried again every %d ms)",
				err->reason, MARKS_EVERY_MS);
		wr->marks_warned = true;
		wr->marks_ms = now;
		return;
	}
	if (wr->marks_warned)
		LC_INFO("writer: the rooms' last_seq written again");
	wr->marks_warned = false;
}

static void marks_flush(wsd_writer_t *wr)
{
	lc_err_t err;
	int64_t now = lc_mono_ms();
	wsd_wroom_heads_join(wr);   /* read since the round began: its pieces whole already */
	if (!marks_due(wr, now))
		return;
	lc_rc rc = wsd_batch_flush_marks(wr->batch, &err);
	marks_result(wr, rc, &err, now);
	if (rc == LC_OK)
		wr->marks_ms = now;
}

/* How long the idle writer may sleep: until its marks are due (MARKS_EVERY_MS after the round
 * that raised them or after a failed write, urgent or not), or the next sweep. */
static int idle_wait_ms(const wsd_writer_t *wr)
{
	int ms = SWEEP_EVERY_MS < wr->closed_keep_ms ? SWEEP_EVERY_MS : (int)wr->closed_keep_ms;
	if (wsd_batch_marks_pending(wr->batch) > 0) {
		int64_t left = wr->marks_ms + MARKS_EVERY_MS - lc_mono_ms();
		ms = left < 1 ? 1 : left < ms ? (int)left : ms;
	}
	return ms;
}

/* A slot refused because its seq was taken: staged again (it takes a new block), at most
 * WSD_SEQ_RETAKES times; then it is refused unavailable (its sender sends it again). */
static bool slot_seq_taken(void *ctx, wsd_wslot_t *slot)
{
	wsd_writer_t *wr = ctx;
	if (!slot->staged || !slot->done || !wsd_seq_taken(slot->rc, &slot->err))
		return false;
	if (slot->retakes >= WSD_SEQ_RETAKES) {
		LC_WARN("writer: %s (staged again %d times)", slot->err.reason, slot->retakes);
		slot->rc = lc_err_set(&slot->err, LC_ERR_UNAVAILABLE,
				      "another writer keeps storing in the room; send it again");
		return false;
	}
	int retakes = slot->retakes + 1;
	wsd_wroom_block_lost(wr, slot->room_id);
	wsd_wslot_clear(slot);
	slot->retakes = retakes;
	return true;
}

/* A room command that came on an inbound connection this node has lost since: the broker gives
 * it (unacked) to the node that is the active consumer now, whose writer checks and stores it.
 * A local command is handed back by round_run. A gateway message is still stored here, as
 * prepared: preparing it may have opened its room, whose waiting text a redelivery to another
 * writer would not store (the room is no longer new); its redelivery is a duplicate there. */
static bool turn_lost(const witem_t *it, uint64_t active)
{
	return it->kind == WI_COMMAND && it->gen != active;
}

/* Someone else stored a message with a seq of our block (a writer that held the room before and
 * still stored, or a node that stored without the writer): the items whose message was refused
 * for it, and those of its room behind it in the batch (not stored: the insert is ordered), are
 * prepared again in their order, first in the next round (before the room's held items, which
 * keep their order behind them), with seqs from a new block above it; those of a connection
 * this node lost meanwhile are left to the writer that has the inbound queue now (unacked). */
static void seq_taken_again(wsd_writer_t *wr, struct witems *ready, struct witems *items)
{
	struct witems again = TAILQ_HEAD_INITIALIZER(again);
	uint64_t active = atomic_load(&wr->active_gen);
	witem_t *it, *next;
	for (it = TAILQ_FIRST(ready); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		bool taken = it->kind == WI_GATEWAY
			? wr->ops->seq_taken(wr->w, it->in, slot_seq_taken, wr)
			: slot_seq_taken(wr, &it->slot);
		if (!taken)
			continue;
		TAILQ_REMOVE(ready, it, link);
		if (turn_lost(it, active)) {
			LC_INFO("writer: a seq of our block was taken after this node lost the inbound "
				"queue; the command is left to its new active consumer");
			item_free(wr, it, false);
			continue;
		}
		LC_INFO("writer: a seq of our block was taken; staging again above it");
		TAILQ_INSERT_TAIL(&again, it, link);
	}
	TAILQ_CONCAT(&again, items, link);
	TAILQ_CONCAT(items, &again, link);
}

static bool owner_turn_lost(void *owner, void *ctx)
{
	const uint64_t *active = ctx;
	return owner != NULL && turn_lost(owner, *active);
}

/* The batch waits for MongoDB: the room commands that came on an inbound connection this node
 * has lost since are not stored by this writer when the database is back (the new active
 * consumer got them again and stores them with seqs of its own block). */
static void drop_turn_lost(wsd_writer_t *wr, struct witems *ready)
{
	uint64_t active = atomic_load(&wr->active_gen);
	witem_t *it, *next;
	wsd_batch_drop_if(wr->batch, owner_turn_lost, &active);
	for (it = TAILQ_FIRST(ready); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		if (turn_lost(it, active)) {
			TAILQ_REMOVE(ready, it, link);
			item_free(wr, it, false);
		}
	}
}

/* A gateway item of a customer whose room a worker opens waits behind the one that asked. */
static bool park_behind(wsd_writer_t *wr, witem_t *it, struct witems *items)
{
	if (wsd_map_count(wr->parked) == 0)
		return false;
	char *key = wr->ops->customer_key(it->in);
	bool parked = wsd_wroom_park_behind(wr, it, key, items);
	free(key);
	return parked;
}

/* How a round ended: ROUND_HELD when an item could not be prepared (it and everything behind
 * it stay in items); items may also hold what is staged again at once (seq taken). */
typedef enum round_end { ROUND_DONE, ROUND_HELD, ROUND_STOP } round_end_t;

/* Prepare items in order, store the batch, finish what was prepared. */
static round_end_t round_run(wsd_writer_t *wr, struct witems *items)
{
	round_end_t end = ROUND_DONE;
	struct witems ready = TAILQ_HEAD_INITIALIZER(ready);
	witem_t *it;
	lc_err_t err;

	wsd_wrooms_sweep(wr);
	wsd_wroom_heads_join(wr);
	wsd_wroom_unpark(wr, items);
	while ((it = TAILQ_FIRST(items)) != NULL) {
		if (it->kind == WI_LOCAL && it->gen != atomic_load(&wr->active_gen)) {
			/* This node stopped being the active consumer before the command was
			 * staged: it goes to whichever node is now, through the broker (staged
			 * nowhere yet, so it is stored once). */
			TAILQ_REMOVE(items, it, link);
			wsd_roomcmd_reroute(wr->w, it->cmd);
			item_free(wr, it, true);
			continue;
		}
		if (turn_lost(it, atomic_load(&wr->active_gen))) {
			/* Held here while this node lost the inbound queue (see turn_lost). */
			TAILQ_REMOVE(items, it, link);
			item_free(wr, it, false);
			continue;
		}
		if (it->kind == WI_GATEWAY && park_behind(wr, it, items))
			continue;   /* its customer's room is being opened on a worker */
		if (it->gen != wr->gen) {
			wsd_wrooms_forget(wr);
			wr->gen = it->gen;
		}
		wr->owner = it;
		bool fin = it->kind == WI_GATEWAY ? wr->ops->prepare(wr->w, it->in)
						  : wsd_wcommand_prepare(wr, it);
		wr->owner = NULL;
		if (wr->parking != NULL) {
			TAILQ_REMOVE(items, it, link);
			wsd_wroom_park(wr, it);
			continue;
		}
		if (!fin) {
			end = ROUND_HELD;
			break;
		}
		TAILQ_REMOVE(items, it, link);
		TAILQ_INSERT_TAIL(&ready, it, link);
	}
	if (wsd_batch_marks_pending(wr->batch) == 0)
		wr->marks_ms = lc_mono_ms();   /* this round's batch starts the marks' wait */
	while (wsd_batch_count(wr->batch) > 0) {
		lc_err_clear(&err);
		if (wsd_batch_store(wr->batch, &err) == LC_OK)
			break;
		if (stopping(wr))
			goto stop;
		wsd_batch_drop_if(wr->batch, owner_is_command, NULL);
		refuse_commands(wr, &ready);
		refuse_commands(wr, items);
		refuse_queued(wr);
		drop_turn_lost(wr, &ready);
		backoff(wr, "storing a batch", &err);
	}
	TAILQ_FOREACH(it, &ready, link)
		if (wsd_witem_is_command(it))
			wsd_wcommand_stored(wr, it);
	marks_flush(wr);
	seq_taken_again(wr, &ready, items);
	while ((it = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, it, link);
		if (it->kind == WI_GATEWAY)
			wr->ops->stored(wr->w, it->in);
		else
			wsd_wcommand_finish(wr, it);
		item_free(wr, it, true);
	}
	return end;
stop:
	TAILQ_CONCAT(items, &ready, link);
	return ROUND_STOP;
}

static void *writer_main(void *arg)
{
	wsd_writer_t *wr = arg;
	wsd_thread_set(WSD_THREAD_WRITER, "wsd-writer");
	struct witems items = TAILQ_HEAD_INITIALIZER(items);
	for (;;) {
		pthread_mutex_lock(&wr->lock);
		while (TAILQ_EMPTY(&wr->queue) && TAILQ_EMPTY(&items) && wr->opened == NULL &&
		       !wr->stop) {
			/* Idle: wake to write the marks when due, and now and then to forget
			 * closed rooms (and retire their counters) that no round would come to. */
			struct timespec ts = lc_mono_after(idle_wait_ms(wr));
			if (pthread_cond_timedwait(&wr->cond, &wr->lock, &ts) == ETIMEDOUT &&
			    TAILQ_EMPTY(&wr->queue) && !wr->stop) {
				pthread_mutex_unlock(&wr->lock);
				marks_flush(wr);
				wsd_wrooms_sweep(wr);
				pthread_mutex_lock(&wr->lock);
			}
		}
		if (wr->stop) {
			pthread_mutex_unlock(&wr->lock);
			break;
		}
		if (TAILQ_EMPTY(&items) && wr->nqueue < ROUND_MAX && wr->nurgent == 0 &&
		    wr->last_taken > 1) {
			/* Let what arrives in the next moments share this round's insertMany (not
			 * when an accept or an end waits for its text). Under light load, when the
			 * last round took one item alone, the wait would only delay this one: at
			 * 50 round trips/s it was 4 of a round trip's 11 ms inside wsd (2 ms on
			 * each of its two messages), for 0.2 items expected to come in it. */
			pthread_mutex_unlock(&wr->lock);
			nap(wr, ROUND_WAIT_MS);
			pthread_mutex_lock(&wr->lock);
		}
		size_t n = 0;
		witem_t *it;
		for (it = TAILQ_FIRST(&items); it; it = TAILQ_NEXT(it, link))
			n++;
		while (n < ROUND_MAX && (it = TAILQ_FIRST(&wr->queue)) != NULL) {
			queue_take(wr, it);
			TAILQ_INSERT_TAIL(&items, it, link);
			n++;
		}
		wr->last_taken = n;
		pthread_mutex_unlock(&wr->lock);
		round_end_t end = round_run(wr, &items);
		if (end == ROUND_STOP)
			break;
		if (end == ROUND_DONE) {
			/* Items left (staged again with a new seq) go first in the next round. */
			if (wr->warned)
				LC_INFO("writer: storing again");
			wr->warned = false;
			wr->delay_ms = 0;
			continue;
		}
		refuse_commands(wr, &items);
		refuse_queued(wr);
		backoff(wr, "preparing an inbound message", NULL);
	}
	witem_t *it;
	while ((it = TAILQ_FIRST(&items)) != NULL) {
		TAILQ_REMOVE(&items, it, link);
		item_free(wr, it, false);
	}
	wsd_wroom_parked_free(wr, item_free);
	return NULL;
}

wsd_writer_t *wsd_writer_new(wsd_t *w, const wsd_writer_ops_t *ops)
{
	wsd_writer_t *wr = lc_calloc(1, sizeof *wr);
	wr->magic = WRITER_MAGIC;
	wr->w = w;
	wr->ops = ops;
	pthread_mutex_init(&wr->lock, NULL);
	lc_cond_init_mono(&wr->cond);
	TAILQ_INIT(&wr->queue);
	wr->rooms = wsd_map_new();
	wr->open = wsd_map_new();
	wr->parked = wsd_map_new();
	wr->open_here = wsd_map_new();
	wr->batch = wsd_batch_new(w->store);
	wr->closed_keep_ms = 1000 * lc_config_int(w->cfg, "wsd_closed_room_keep");
	return wr;
}

void wsd_writer_start(wsd_writer_t *wr)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	if (pthread_create(&wr->tid, NULL, writer_main, wr) != 0) {
		LC_ERROR("cannot start the writer thread");
		abort();
	}
	wr->started = true;
}

void wsd_writer_stop(wsd_writer_t *wr)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	pthread_mutex_lock(&wr->lock);
	wr->stop = true;
	pthread_cond_broadcast(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	if (wr->started)
		pthread_join(wr->tid, NULL);
	wr->started = false;
}

void wsd_writer_free(wsd_writer_t **pwr)
{
	if (pwr == NULL || *pwr == NULL)
		return;
	wsd_writer_t *wr = *pwr;
	wsd_writer_stop(wr);
	witem_t *it;
	while ((it = TAILQ_FIRST(&wr->queue)) != NULL) {
		TAILQ_REMOVE(&wr->queue, it, link);
		item_free(wr, it, false);
	}
	lc_err_t err;
	if (wsd_batch_flush_marks(wr->batch, &err) != LC_OK)
		LC_WARN("writer: raising the rooms' last_seq at stop: %s", err.reason);
	wsd_batch_free(&wr->batch);
	wsd_wrooms_free(wr);
	pthread_mutex_destroy(&wr->lock);
	pthread_cond_destroy(&wr->cond);
	wr->magic = 0;
	free(wr);
	*pwr = NULL;
}
