/* wsd_writer: the room writer thread (see writer.h). One round: take what the consumer queued
 * (waiting a couple of milliseconds for more), prepare each item in queue order (gateway.c's
 * steps for gateway messages, the checks of a room command), which stages their messages with
 * seqs from the room's block, store the batch with one insertMany, then finish the items in the
 * same order (gateway messages are forwarded and acked by the loop, commands answered and
 * acked). An item MongoDB cannot prepare now is held with everything behind it and tried again
 * (100 ms doubling to 2 s). */
#include "config.h"
#include "writer.h"
#include "batch.h"
#include "busio.h"
#include "gateway.h"
#include "map.h"
#include "roomcmd.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define WRITER_MAGIC 0x3717e700U
#define ROUND_MAX 256           /* items per round */
#define ROUND_WAIT_MS 2         /* after the first item, how long a round waits for more */
#define SEQ_BLOCK 1000          /* seqs reserved per room with one write */
#define ROOM_FRESH_MS 1000      /* a room's status read longer ago is read again before a check */
#define MARKS_EVERY_MS 50       /* under load, the rooms' last_seq is written this often */
#define SWEEP_EVERY_MS 10000   /* how often closed rooms are forgotten */
#define CLOSED_KEEP_MS 60000    /* a closed room is kept this long (its end text comes after) */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000

#define ASSERT_WRITER(wr) LC_ASSERT(pthread_equal(pthread_self(), (wr)->tid))

typedef enum witem_kind { WI_GATEWAY, WI_COMMAND } witem_kind_t;

/* One inbound delivery for the writer: created by a submit on the consumer thread, freed by
 * the writer once finished (or dropped at shutdown, unacked). */
typedef struct witem {
	TAILQ_ENTRY(witem) link;
	witem_kind_t kind;
	uint64_t gen;              /* generation of the inbound connection it came on */
	void *in;                  /* WI_GATEWAY: gateway.c's inbound_t */
	lc_bus_delivery_t *d;      /* WI_COMMAND */
	json_object *cmd;          /* WI_COMMAND: the body */
	wsd_wslot_t slot;          /* WI_COMMAND: its message */
	json_object *room;         /* WI_COMMAND: {id, channel, customer_id, customer_name} */
	lc_rc rc;                  /* WI_COMMAND: refused before storing when not LC_OK */
	lc_err_t err;
	bool drop;                 /* WI_COMMAND: past its deadline: acked, not stored */
	bool forged;               /* WI_COMMAND: without the secret: rejected */
} witem_t;

TAILQ_HEAD(witems, witem);

typedef enum wroom_status { WR_WAITING, WR_ENGAGED, WR_CLOSED } wroom_status_t;

/* What the writer knows of a room it touched: created when first read, kept while this node
 * holds the inbound queue (forgotten when the inbound connection is new). */
typedef struct wroom {
	json_object *doc;          /* the room as read, with the changes commands told since */
	wroom_status_t status;
	int64_t read_ms;           /* monotonic ms of the read */
	int64_t next_seq;          /* next seq to give (0: no block yet) */
	int64_t block_end;         /* last seq of the reserved block */
} wroom_t;

struct wsd_writer {
	uint32_t magic;
	wsd_t *w;
	pthread_t tid;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct witems queue;       /* lock: submitted, not taken yet */
	size_t nqueue;             /* lock */
	bool stop;                 /* lock */
	/* writer thread only */
	wsd_map_t *rooms;          /* room id -> wroom_t */
	wsd_map_t *open;           /* wsd_gateway_key(channel, customer) -> wroom_t (open room) */
	wsd_batch_t *batch;
	witem_t *owner;            /* the item being prepared (owner of what it stages) */
	uint64_t gen;
	int64_t swept_ms;          /* monotonic ms of the last sweep */
	int64_t marks_ms;          /* monotonic ms the last_seq marks were last written */
	int delay_ms;
	bool warned;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_object *copy_of(json_object *o)
{
	json_object *c = NULL;
	if (o == NULL || json_object_deep_copy(o, &c, NULL) != 0)
		return NULL;
	return c;
}

static wroom_status_t status_of(json_object *doc)
{
	const char *s = lc_json_get_str(doc, "status", "");
	if (strcmp(s, "engaged") == 0)
		return WR_ENGAGED;
	if (strcmp(s, "waiting") == 0)
		return WR_WAITING;
	return WR_CLOSED;
}

void wsd_wslot_clear(wsd_wslot_t *slot)
{
	json_object_put(slot->stored);
	memset(slot, 0, sizeof *slot);
}

/* ---- rooms */

static void room_free_cb(const char *key, void *value, void *ctx)
{
	wroom_t *r = value;
	(void)key;
	(void)ctx;
	json_object_put(r->doc);
	free(r);
}

/* Another node may have written the rooms while this one did not hold the queue: forget them
 * (their next seqs come from a new block, above anything the other writer reserved). */
static void rooms_forget(wsd_writer_t *wr)
{
	wsd_map_each(wr->rooms, room_free_cb, NULL);
	wsd_map_free(&wr->rooms);
	wsd_map_free(&wr->open);
	wr->rooms = wsd_map_new();
	wr->open = wsd_map_new();
}

typedef struct sweep {
	int64_t now;
	const char **ids;
	size_t n, cap;
} sweep_t;

static void sweep_cb(const char *key, void *value, void *ctx)
{
	wroom_t *r = value;
	sweep_t *sw = ctx;
	if (r->status == WR_CLOSED && sw->now - r->read_ms > CLOSED_KEEP_MS && sw->n < sw->cap)
		sw->ids[sw->n++] = key;
}

/* The rooms a writer touched would pile up: closed ones are forgotten a minute on (what comes
 * for them later reads them again). */
static void rooms_sweep(wsd_writer_t *wr)
{
	sweep_t sw = { .now = mono_ms(), .cap = 1024 };
	if (sw.now - wr->swept_ms < SWEEP_EVERY_MS)
		return;
	wr->swept_ms = sw.now;
	sw.ids = lc_calloc(sw.cap, sizeof *sw.ids);
	wsd_map_each(wr->rooms, sweep_cb, &sw);
	for (size_t i = 0; i < sw.n; i++) {
		char *id = lc_strdup(sw.ids[i]);   /* the key goes with the entry */
		wroom_t *r = wsd_map_del(wr->rooms, id);
		room_free_cb(id, r, NULL);
		free(id);
	}
	free(sw.ids);
}

static char *open_key(json_object *doc)
{
	return wsd_gateway_key(lc_json_get_str(doc, "channel", ""),
			       lc_json_get_str(doc, "customer_id", ""));
}

/* Keep the status the writer now knows of r, and index it as its customer's open room. */
static void room_set_status(wsd_writer_t *wr, wroom_t *r, wroom_status_t st)
{
	char *key = open_key(r->doc);
	r->status = st;
	if (st != WR_CLOSED)
		wsd_map_put(wr->open, key, r);
	else if (wsd_map_get(wr->open, key) == r)
		wsd_map_del(wr->open, key);
	free(key);
}

/* doc: a room just read from MongoDB (taken). */
static wroom_t *room_update(wsd_writer_t *wr, json_object *doc)
{
	const char *id = lc_json_get_str(doc, "id", "");
	wroom_t *r = wsd_map_get(wr->rooms, id);
	if (r == NULL) {
		r = lc_calloc(1, sizeof *r);
		wsd_map_put(wr->rooms, id, r);
	}
	json_object_put(r->doc);
	r->doc = doc;
	r->read_ms = mono_ms();
	room_set_status(wr, r, status_of(doc));
	return r;
}

/* The room, read again when its status is older than ROOM_FRESH_MS (fresh) or unknown. */
static lc_rc room_get(wsd_writer_t *wr, const char *room_id, bool fresh, wroom_t **out,
		      lc_err_t *err)
{
	wroom_t *r = wsd_map_get(wr->rooms, room_id);
	if (r != NULL && (!fresh || mono_ms() - r->read_ms <= ROOM_FRESH_MS)) {
		*out = r;
		return LC_OK;
	}
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_get(wr->w->store, room_id, &doc, err);
	if (rc != LC_OK)
		return rc;
	r = room_update(wr, doc);
	*out = r;
	/* Reading it again, also see whether someone else reserved seqs above our block (a node
	 * that stored an agent's message itself while RabbitMQ was away from it, or a writer that
	 * held the room meanwhile): then ours would come out below theirs; take a new block. */
	int64_t last = 0, reserved = 0;
	if (r->next_seq != 0 &&
	    lc_store_seq_marks(wr->w->store, room_id, &last, &reserved, NULL) == LC_OK &&
	    (reserved > r->block_end || last > r->block_end))
		r->next_seq = 0;
	return LC_OK;
}

/* The open room of a customer as the writer knows it, when an engaged one was read recently:
 * an engaged room keeps its agent until it closes, and every close goes through the writer
 * (customer_left here, the others as the command that stores their text). A waiting room is
 * always read again: an agent may have claimed it. */
static wroom_t *open_cached(wsd_writer_t *wr, const char *channel, const char *customer_id)
{
	char *key = wsd_gateway_key(channel, customer_id);
	wroom_t *r = wsd_map_get(wr->open, key);
	free(key);
	if (r != NULL && r->status == WR_ENGAGED && mono_ms() - r->read_ms <= ROOM_FRESH_MS)
		return r;
	return NULL;
}

lc_rc wsd_writer_open_room(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   const char *customer_name, json_object **room, bool *created,
			   lc_err_t *err)
{
	ASSERT_WRITER(wr);
	*created = false;
	wroom_t *r = open_cached(wr, channel, customer_id);
	if (r != NULL) {
		*room = copy_of(r->doc);
		return LC_OK;
	}
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_open(wr->w->store, channel, customer_id, customer_name, &doc,
				      created, err);
	if (rc == LC_OK) {
		*room = copy_of(doc);
		room_update(wr, doc);
	}
	return rc;
}

lc_rc wsd_writer_find_open(wsd_writer_t *wr, const char *channel, const char *customer_id,
			   json_object **room, lc_err_t *err)
{
	ASSERT_WRITER(wr);
	wroom_t *r = open_cached(wr, channel, customer_id);
	if (r != NULL) {
		*room = copy_of(r->doc);
		return LC_OK;
	}
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_find_open(wr->w->store, channel, customer_id, &doc, err);
	if (rc == LC_OK) {
		*room = copy_of(doc);
		room_update(wr, doc);
	}
	return rc;
}

lc_rc wsd_writer_close_room(wsd_writer_t *wr, const char *room_id, const char *reason,
			    json_object **room, lc_err_t *err)
{
	ASSERT_WRITER(wr);
	json_object *doc = NULL;
	lc_rc rc = lc_store_room_close(wr->w->store, room_id, reason, &doc, err);
	if (rc == LC_OK) {
		*room = copy_of(doc);
		room_update(wr, doc);
	} else if (rc == LC_ERR_CONFLICT) {
		wroom_t *r = wsd_map_get(wr->rooms, room_id);
		if (r != NULL)
			room_set_status(wr, r, WR_CLOSED);
	}
	return rc;
}

lc_rc wsd_writer_stage(wsd_writer_t *wr, const char *room_id, const char *msg_id,
		       const char *sender, const char *author, const char *text, int64_t ts_ms,
		       wsd_wslot_t *slot, lc_err_t *err)
{
	wroom_t *r = NULL;
	ASSERT_WRITER(wr);
	if (slot->staged)
		return LC_OK;
	lc_rc rc = room_get(wr, room_id, false, &r, err);
	if (rc != LC_OK)
		return rc;
	if (r->next_seq == 0 || r->next_seq > r->block_end) {
		int64_t first = 0;
		rc = lc_store_seq_reserve(wr->w->store, room_id, SEQ_BLOCK, &first, NULL, err);
		if (rc != LC_OK)
			return rc;
		r->next_seq = first;
		r->block_end = first + SEQ_BLOCK - 1;
	}
	wsd_batch_add(wr->batch, room_id, lc_json_get_str(r->doc, "channel", ""),
		      lc_json_get_str(r->doc, "customer_id", ""), msg_id, sender, author, text,
		      r->next_seq++, ts_ms, slot, wr->owner);
	return LC_OK;
}

/* ---- room commands (roomcmd.h) */

static bool transient(lc_rc rc)
{
	return rc == LC_ERR_UNAVAILABLE || rc == LC_ERR_TIMEOUT;
}

static bool command_expired(witem_t *it)
{
	return it->kind == WI_COMMAND && wsd_now_ms() > lc_json_get_int(it->cmd, "deadline", 0);
}

static const char *const append_senders[] = { "agent", "system", NULL };

static bool str_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* false: MongoDB cannot do it now (held, tried again). */
static bool command_prepare(wsd_writer_t *wr, witem_t *it)
{
	wsd_t *w = wr->w;
	json_object *c = it->cmd;
	const char *secret = wsd_roomcmd_secret(w);
	if (secret == NULL) {
		wsd_roomcmds_load_secret(w);
		if ((secret = wsd_roomcmd_secret(w)) == NULL)
			return false;
	}
	if (strcmp(lc_json_get_str(c, "secret", ""), secret) != 0) {
		it->forged = true;
		return true;
	}
	if (command_expired(it)) {
		it->drop = true;   /* its sender answered unavailable: the client sends it again */
		return true;
	}
	const char *rid = lc_json_get_str(c, "room_id", ""), *mid = lc_json_get_str(c, "msg_id", "");
	const char *sender = lc_json_get_str(c, "sender", ""), *text = lc_json_get_str(c, "text", NULL);
	const char *check = lc_json_get_str(c, "check_agent", NULL);
	const char *status = lc_json_get_str(c, "status", NULL);
	if (*mid == '\0' || text == NULL || !str_in(sender, append_senders)) {
		it->rc = lc_err_set(&it->err, LC_ERR_INVALID, "malformed room command");
		return true;
	}
	wroom_t *r = NULL;
	lc_err_t err;
	lc_rc rc = room_get(wr, rid, check != NULL, &r, &err);
	if (transient(rc))
		return false;
	if (rc != LC_OK) {
		it->rc = rc;
		it->err = err;
		return true;
	}
	if (check != NULL && strcmp(lc_json_get_str(r->doc, "agent_id", ""), check) != 0) {
		it->rc = lc_err_set(&it->err, LC_ERR_FORBIDDEN, "not your room");
		return true;
	}
	if (check != NULL && r->status != WR_ENGAGED) {
		it->rc = lc_err_set(&it->err, LC_ERR_CONFLICT, "the room is already closed");
		return true;
	}
	rc = wsd_writer_stage(wr, rid, mid, sender, lc_json_get_str(c, "author", ""), text,
			      wsd_now_ms(), &it->slot, &err);
	if (transient(rc))
		return false;
	if (rc != LC_OK) {
		it->rc = rc;
		it->err = err;
		return true;
	}
	/* The sender changed the room just before (a claim, a close): follow it. */
	if (status != NULL && strcmp(status, "engaged") == 0) {
		json_object_object_add(r->doc, "status", json_object_new_string("engaged"));
		json_object_object_add(r->doc, "agent_id", json_object_new_string(
			lc_json_get_str(c, "agent_id", "")));
		json_object_object_add(r->doc, "agent_name", json_object_new_string(
			lc_json_get_str(c, "agent_name", "")));
		room_set_status(wr, r, WR_ENGAGED);
	} else if (status != NULL && strcmp(status, "closed") == 0) {
		json_object_object_add(r->doc, "status", json_object_new_string("closed"));
		room_set_status(wr, r, WR_CLOSED);
	}
	it->room = json_object_new_object();
	static const char *const keys[] = { "id", "channel", "customer_id", "customer_name", NULL };
	for (const char *const *k = keys; *k; k++)
		json_object_object_add(it->room, *k, json_object_new_string(
			lc_json_get_str(r->doc, *k, "")));
	return true;
}

static void ack_when_confirmed(wsd_t *w, void *arg, bool ok)
{
	lc_bus_delivery_t *d = arg;
	if (ok)
		wsd_busio_ack(w->bus, d);
	else
		lc_bus_delivery_free(&d);   /* not acked: the broker redelivers it */
}

static void command_finish(wsd_writer_t *wr, witem_t *it)
{
	wsd_t *w = wr->w;
	if (it->forged) {
		LC_WARN("room command %s without the writer secret rejected", it->d->message_id ?
			it->d->message_id : "?");
		wsd_busio_reject(w->bus, it->d, false);
		it->d = NULL;
		return;
	}
	if (it->drop) {
		wsd_busio_ack(w->bus, it->d);
		it->d = NULL;
		return;
	}
	lc_rc rc = it->rc;
	lc_err_t *err = &it->err;
	if (rc == LC_OK && it->slot.done && it->slot.rc != LC_OK) {
		rc = it->slot.rc;
		err = &it->slot.err;
	}
	json_object *a = json_object_new_object();
	json_object_object_add(a, "type", json_object_new_string("room_appended"));
	json_object_object_add(a, "cmd_id", json_object_new_int64(lc_json_get_int(it->cmd, "cmd_id", 0)));
	json_object_object_add(a, "rc", json_object_new_string(lc_rc_name(rc)));
	if (rc != LC_OK) {
		json_object_object_add(a, "reason", json_object_new_string(err->reason));
		json_object_object_add(a, "field", json_object_new_string(err->field));
	} else {
		json_object_object_add(a, "message", json_object_get(it->slot.stored));
		json_object_object_add(a, "duplicate", json_object_new_boolean(it->slot.dup));
		json_object_object_add(a, "room", json_object_get(it->room));
	}
	char *key = lc_asprintf("node.%s", lc_json_get_str(it->cmd, "reply_to", "-"));
	wsd_busio_publish_json(w->bus, w->ex_nodes, key, a, ack_when_confirmed, it->d);
	it->d = NULL;
	free(key);
	json_object_put(a);
}

/* ---- items and rounds */

static void item_free(wsd_writer_t *wr, witem_t *it, bool finished)
{
	if (it->kind == WI_GATEWAY && !finished)
		wsd_gateway_drop(wr->w, it->in);   /* not acked: the broker redelivers it */
	lc_bus_delivery_free(&it->d);
	json_object_put(it->cmd);
	json_object_put(it->room);
	wsd_wslot_clear(&it->slot);
	free(it);
}

static void submit(wsd_writer_t *wr, witem_t *it)
{
	pthread_mutex_lock(&wr->lock);
	/* After the writer stopped, the queue is only freed (unacked: redelivered elsewhere). */
	TAILQ_INSERT_TAIL(&wr->queue, it, link);
	wr->nqueue++;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
}

void wsd_writer_submit_gateway(wsd_writer_t *wr, void *in, uint64_t gen)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	witem_t *it = lc_calloc(1, sizeof *it);
	it->kind = WI_GATEWAY;
	it->in = in;
	it->gen = gen;
	submit(wr, it);
}

void wsd_writer_submit_command(wsd_writer_t *wr, lc_bus_delivery_t *d, json_object *cmd)
{
	LC_CHECK_OBJ(wr, WRITER_MAGIC);
	witem_t *it = lc_calloc(1, sizeof *it);
	it->kind = WI_COMMAND;
	it->d = d;
	it->gen = d->gen;
	it->cmd = cmd;
	submit(wr, it);
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
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
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
	return it != NULL && it->kind == WI_COMMAND;
}

/* MongoDB cannot store now: the commands of list are answered unavailable (their senders tell
 * their clients, who send them again) instead of waiting behind the held ones. */
static void refuse_commands(wsd_writer_t *wr, struct witems *list)
{
	witem_t *it, *next;
	for (it = TAILQ_FIRST(list); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		if (it->kind != WI_COMMAND)
			continue;
		TAILQ_REMOVE(list, it, link);
		if (it->rc == LC_OK && !it->forged)
			it->rc = lc_err_set(&it->err, LC_ERR_UNAVAILABLE,
					    "the database cannot be reached");
		command_finish(wr, it);
		item_free(wr, it, true);
	}
}

static void refuse_queued(wsd_writer_t *wr)
{
	struct witems commands = TAILQ_HEAD_INITIALIZER(commands);
	witem_t *it, *next;
	pthread_mutex_lock(&wr->lock);
	for (it = TAILQ_FIRST(&wr->queue); it != NULL; it = next) {
		next = TAILQ_NEXT(it, link);
		if (it->kind == WI_COMMAND) {
			TAILQ_REMOVE(&wr->queue, it, link);
			wr->nqueue--;
			TAILQ_INSERT_TAIL(&commands, it, link);
		}
	}
	pthread_mutex_unlock(&wr->lock);
	refuse_commands(wr, &commands);
}

/* The rooms' last_seq: written before the answers when the writer has nothing else waiting (so a
 * client that reconnects after its answer reads the new last_seq), and under load at most every
 * MARKS_EVERY_MS for all the batches since (one write for many batches). */
static void marks_flush(wsd_writer_t *wr)
{
	lc_err_t err;
	if (wsd_batch_marks_pending(wr->batch) == 0)
		return;
	pthread_mutex_lock(&wr->lock);
	bool busy = wr->nqueue > 0;
	pthread_mutex_unlock(&wr->lock);
	int64_t now = mono_ms();
	if (busy && now - wr->marks_ms < MARKS_EVERY_MS)
		return;
	wr->marks_ms = now;
	if (wsd_batch_flush_marks(wr->batch, &err) != LC_OK)
		LC_WARN("writer: raising the rooms' last_seq: %s (tried again later)", err.reason);
}

/* Prepare items in order, store the batch, finish what was prepared. What could not be
 * prepared stays in items (held). false: stopping. */
static bool round_run(wsd_writer_t *wr, struct witems *items)
{
	struct witems ready = TAILQ_HEAD_INITIALIZER(ready);
	witem_t *it;
	lc_err_t err;

	rooms_sweep(wr);
	while ((it = TAILQ_FIRST(items)) != NULL) {
		if (it->gen != wr->gen) {
			rooms_forget(wr);
			wr->gen = it->gen;
		}
		wr->owner = it;
		bool fin = it->kind == WI_GATEWAY ? wsd_gateway_prepare(wr->w, it->in)
						  : command_prepare(wr, it);
		wr->owner = NULL;
		if (!fin)
			break;
		TAILQ_REMOVE(items, it, link);
		TAILQ_INSERT_TAIL(&ready, it, link);
	}
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
		backoff(wr, "storing a batch", &err);
	}
	marks_flush(wr);
	while ((it = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, it, link);
		if (it->kind == WI_GATEWAY)
			wsd_gateway_stored(wr->w, it->in);
		else
			command_finish(wr, it);
		item_free(wr, it, true);
	}
	return true;
stop:
	TAILQ_CONCAT(items, &ready, link);
	return false;
}

static void *writer_main(void *arg)
{
	wsd_writer_t *wr = arg;
	struct witems items = TAILQ_HEAD_INITIALIZER(items);
	for (;;) {
		pthread_mutex_lock(&wr->lock);
		while (TAILQ_EMPTY(&wr->queue) && TAILQ_EMPTY(&items) && !wr->stop)
			pthread_cond_wait(&wr->cond, &wr->lock);
		if (wr->stop) {
			pthread_mutex_unlock(&wr->lock);
			break;
		}
		if (TAILQ_EMPTY(&items) && wr->nqueue < ROUND_MAX) {
			/* Let what arrives in the next moments share this round's insertMany. */
			pthread_mutex_unlock(&wr->lock);
			nap(wr, ROUND_WAIT_MS);
			pthread_mutex_lock(&wr->lock);
		}
		size_t n = 0;
		witem_t *it;
		for (it = TAILQ_FIRST(&items); it; it = TAILQ_NEXT(it, link))
			n++;
		while (n < ROUND_MAX && (it = TAILQ_FIRST(&wr->queue)) != NULL) {
			TAILQ_REMOVE(&wr->queue, it, link);
			wr->nqueue--;
			TAILQ_INSERT_TAIL(&items, it, link);
			n++;
		}
		pthread_mutex_unlock(&wr->lock);
		if (!round_run(wr, &items))
			break;
		if (TAILQ_EMPTY(&items)) {
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
	return NULL;
}

wsd_writer_t *wsd_writer_new(wsd_t *w)
{
	wsd_writer_t *wr = lc_calloc(1, sizeof *wr);
	wr->magic = WRITER_MAGIC;
	wr->w = w;
	pthread_mutex_init(&wr->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wr->cond, &ca);
	pthread_condattr_destroy(&ca);
	TAILQ_INIT(&wr->queue);
	wr->rooms = wsd_map_new();
	wr->open = wsd_map_new();
	wr->batch = wsd_batch_new(w->store);
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
	wsd_map_each(wr->rooms, room_free_cb, NULL);
	wsd_map_free(&wr->rooms);
	wsd_map_free(&wr->open);
	pthread_mutex_destroy(&wr->lock);
	pthread_cond_destroy(&wr->cond);
	wr->magic = 0;
	free(wr);
	*pwr = NULL;
}
