/* SPDX-License-Identifier: MIT */
/* lc_store_rooms: chat rooms and their state machine waiting -> engaged -> closed.
 *
 * FerretDB 1.24 evaluates an update's filter in its own process and then rewrites the whole
 * document, so neither update nor findAndModify is atomic there (measured: 16 concurrent
 * "claim if waiting" updates had 2 to 14 winners). The one atomic primitive both FerretDB and
 * MongoDB give is the unique-key insert. So:
 *  - one open room per customer: open_key = "<channel>:<customer_id>" under a unique index while
 *    the room is open, replaced by "closed:<room id>" when it closes (no partial index needed);
 *    and a pointer document in open_rooms (_id = that key) so that finding the open room of a
 *    customer is two _id lookups, not a query on open_key (a scan on FerretDB, which uses no
 *    secondary index); the unique open_key stays the truth, the pointer is repaired from it;
 *  - every change to a room document is a gated write: read it (revision r), insert the gate
 *    document "<room id>:<r>" into room_gates (only one writer can), check the precondition,
 *    $set the change with rev r+1 under filter {_id, rev: r}, delete the gate. Losers re-read and
 *    see the new state (claim: "room already taken"). Details in docs/store.md. */
#include "config.h"
#include "lc_store_priv.h"
#include "lc_alloc.h"
#include "lc_auth.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_room_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a writer waits for a gate held by another before giving up, and the age after which
 * a gate is taken to belong to a writer that died between insert and delete. */
#define GATE_WAIT_MS 5000
#define GATE_STALE_MS 10000
#define GATE_RETRY_SLEEP_US 1000

static const char *const omit_internal[] = { "open_key", "rev", NULL };

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static const char *doc_str(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

static int64_t doc_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

/* rooms.last_seq is kept in the counters collection (see lc_store_messages.c) so that message
 * appends never rewrite the room document; single-room results carry it. */
static void attach_last_seq(lc_store_t *s, json_object *room)
{
	json_object *id;
	int64_t last = 0;
	bson_t cur;
	bool live;
	bson_iter_t it;
	if (json_object_object_get_ex(room, "id", &id) &&
	    lc_store_counter_get(s, json_object_get_string(id), &cur, &live, NULL) == LC_OK) {
		if (bson_iter_init_find(&it, &cur, "seq") && BSON_ITER_HOLDS_NUMBER(&it))
			last = bson_iter_as_int64(&it);
		bson_destroy(&cur);
	}
	json_object_object_add(room, "last_seq", json_object_new_int64(last));
}

static lc_rc open_key(const char *channel, const char *customer_id, char **key, lc_err_t *err)
{
	if (channel == NULL || *channel == '\0' || strchr(channel, ':') != NULL)
		return lc_err_set_field(err, LC_ERR_INVALID, "channel", "invalid channel");
	if (customer_id == NULL || *customer_id == '\0')
		return lc_err_set_field(err, LC_ERR_INVALID, "customer_id", "customer id missing");
	*key = lc_asprintf("%s:%s", channel, customer_id);
	return LC_OK;
}

/* The slow way (a query on open_key): only when the pointer is missing although an open room
 * exists (a writer died between the room insert and the pointer's), or for a room of an older
 * version. */
static lc_rc find_open_by_key(lc_store_t *s, const char *key, json_object **out, lc_err_t *err)
{
	bson_t *filter = BCON_NEW("open_key", BCON_UTF8(key));
	lc_rc rc = lc_store_find_one(s, LC_COLL_ROOMS, filter, NULL, omit_internal, "open room",
				     out, NULL, err);
	bson_destroy(filter);
	if (rc == LC_OK)
		attach_last_seq(s, *out);
	return rc;
}

/* An upsert is a find then an insert on FerretDB (and on MongoDB before 4.2): of concurrent
 * upserts of a missing pointer, as the creator's and those of the openers that met its room on
 * open_key, one inserts and the others get a duplicate key. The pointer then exists (nothing
 * deletes it), so the second try is a plain update. */
static lc_rc pointer_set(lc_store_t *s, const char *key, const char *room_hex, lc_err_t *err)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
	bson_t *update = BCON_NEW("$set", "{", "room_id", BCON_UTF8(room_hex), "}");
	lc_rc rc = lc_store_update_one(s, LC_COLL_OPEN_ROOMS, filter, update, true, NULL, NULL, NULL,
				       err);
	if (rc == LC_ERR_CONFLICT)
		rc = lc_store_update_one(s, LC_COLL_OPEN_ROOMS, filter, update, true, NULL, NULL,
					 NULL, err);
	bson_destroy(update);
	bson_destroy(filter);
	return rc;
}

/* A customer seen for the first time has no pointer: inserting theirs first, naming the room
 * about to be inserted (hex), tells so without a read, which on FerretDB 1.24 scans every
 * customer's pointer to find none. *fresh: inserted (a new customer); else the pointer exists
 * (a returning customer, or a concurrent open of a new one): LC_OK, and the open reads it. A
 * pointer whose room never came (the room's insert failed) reads as none. */
static lc_rc pointer_first(lc_store_t *s, const char *key, const char *hex, bool *fresh,
			   lc_err_t *err)
{
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(key), "room_id", BCON_UTF8(hex));
	lc_rc rc = lc_store_insert(s, LC_COLL_OPEN_ROOMS, doc, "pointer", NULL, err);
	bson_destroy(doc);
	*fresh = rc == LC_OK;
	if (rc == LC_ERR_CONFLICT) {
		lc_err_clear(err);
		rc = LC_OK;
	}
	return rc;
}

/* The open room of key through its pointer: two _id lookups (three with last_seq). NOT_FOUND
 * when there is no pointer or its room is not open; then prev (may be NULL; 25 bytes) holds the
 * room it names, the customer's previous room (closes keep the pointer), or "" when there is no
 * pointer. The room is looked for in rooms only: one that left it for rooms_closed is closed
 * (only closed rooms retire), and one found nowhere was never inserted (an open that failed
 * between the pointer and the room); either way not open, and reading rooms_closed, which keeps
 * every retired room, would cost FerretDB 1.24 a scan of it for nothing. (A room never
 * inserted is named as prev too: the open then reads its recent count and misses, a scan of
 * counters_closed on FerretDB, on that rare path.) */
static lc_rc find_open_by_pointer(lc_store_t *s, const char *key, json_object **out,
				  char *prev, lc_err_t *err)
{
	if (prev != NULL)
		prev[0] = '\0';
	bson_t raw, room;
	bson_oid_t oid;
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(key));
	lc_rc rc = lc_store_find_one(s, LC_COLL_OPEN_ROOMS, filter, NULL, NULL, "open room", NULL,
				     &raw, err);
	bson_destroy(filter);
	if (rc != LC_OK)
		return rc;
	const char *room_hex = doc_str(&raw, "room_id");
	if (room_hex == NULL || !lc_store_oid_parse(room_hex, &oid)) {
		bson_destroy(&raw);
		return lc_err_set(err, LC_ERR_NOT_FOUND, "open room not found");
	}
	if (prev != NULL)
		snprintf(prev, 25, "%s", room_hex);
	bson_destroy(&raw);
	filter = BCON_NEW("_id", BCON_OID(&oid));
	rc = lc_store_find_one(s, LC_COLL_ROOMS, filter, NULL, NULL, "open room", NULL, &room, err);
	bson_destroy(filter);
	if (rc != LC_OK)
		return rc;
	bool open = lc_room_status_parse(doc_str(&room, "status")) != LC_ROOM_CLOSED;
	if (open) {
		*out = lc_store_to_json(&room, omit_internal);
		attach_last_seq(s, *out);
		if (prev != NULL)
			prev[0] = '\0';
	}
	bson_destroy(&room);
	return open ? LC_OK : lc_err_set(err, LC_ERR_NOT_FOUND, "open room not found");
}

/* After a conflict on open_key: the open room the unique key holds, with its pointer made
 * right. */
static lc_rc find_open_repair(lc_store_t *s, const char *key, json_object **out, lc_err_t *err)
{
	lc_rc rc = find_open_by_key(s, key, out, err);
	if (rc != LC_OK)
		return rc;
	rc = pointer_set(s, key, lc_json_get_str(*out, "id", ""), err);
	if (rc != LC_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

/* A new room continues its customer's recent (lc_store_recent.c) where their previous room
 * left it: its counter document starts with that room's count (0 for a first room, or after a
 * room from before recent). A failure only costs accept its shortcut (the room then keeps no
 * recent, and accept queries). */
static void recent_seed(lc_store_t *s, const char *room_hex, const char *prev, int64_t reserve,
			int64_t *reserved)
{
	int64_t count = -1;
	lc_err_t err;
	*reserved = 0;
	if (*prev != '\0' && lc_store_recent_count(s, prev, &count, &err) != LC_OK)
		LC_WARN("room %s: the previous room's recent count: %s", room_hex, err.reason);
	bson_t *doc = BCON_NEW("_id", BCON_UTF8(room_hex), "seq", BCON_INT64(0),
			       "reserved", BCON_INT64(reserve), "recent",
			       BCON_INT64(count > 0 ? count : 0));
	if (lc_store_insert(s, LC_COLL_COUNTERS, doc, NULL, NULL, &err) != LC_OK)
		LC_WARN("room %s: starting its recent: %s", room_hex, err.reason);
	else
		*reserved = reserve;
	bson_destroy(doc);
}

static lc_rc room_open(lc_store_t *s, const char *channel, const char *customer_id,
		       const char *customer_name, bool new_only, int64_t reserve,
		       int64_t *reserved, json_object **out, bool *created, lc_err_t *err)
{
	char *key = NULL, prev[25] = "";
	bool found = false, fresh = false;
	bson_oid_t oid;
	char hex[25];
	lc_rc rc = open_key(channel, customer_id, &key, err);

	*created = false;
	*reserved = 0;
	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, hex);
	if (rc == LC_OK)
		rc = pointer_first(s, key, hex, &fresh, err);
	if (rc == LC_OK && !fresh && new_only) {
		free(key);
		return lc_err_set(err, LC_ERR_NOT_FOUND, "the customer has been seen before");
	}
	/* Insert-or-find: the unique open_key makes concurrent opens meet on one document. A
	 * few rounds cover an open room closing between our conflict and our read. */
	for (int round = 0; rc == LC_OK && round < 5; round++) {
		if (!fresh) {
			rc = find_open_by_pointer(s, key, out, prev, err);
			found = rc == LC_OK;
			if (rc != LC_ERR_NOT_FOUND)
				break;
			bson_oid_init(&oid, NULL);
			bson_oid_to_string(&oid, hex);
		}
		int64_t now = lc_real_ms();
		bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "channel", BCON_UTF8(channel),
				       "customer_id", BCON_UTF8(customer_id));
		if (customer_name != NULL)
			BSON_APPEND_UTF8(doc, "customer_name", customer_name);
		else
			BSON_APPEND_NULL(doc, "customer_name");
		BCON_APPEND(doc, "status", BCON_UTF8(lc_room_status_name(LC_ROOM_WAITING)),
			    "agent_id", BCON_NULL, "agent_name", BCON_NULL,
			    "declined_by", "[", "]", "created_at", BCON_DATE_TIME(now),
			    "engaged_at", BCON_NULL, "closed_at", BCON_NULL, "close_reason", BCON_NULL,
			    "open_key", BCON_UTF8(key), "rev", BCON_INT64(0));
		rc = lc_store_insert(s, LC_COLL_ROOMS, doc, "customer already has an open room",
				     NULL, err);
		bool inserted = rc == LC_OK;
		/* Without its pointer the room would be invisible to the finders: a failure here
		 * is the caller's to retry, and the retry repairs it (find_open_repair). A fresh
		 * customer's pointer names this room already. */
		if (inserted && !fresh)
			rc = pointer_set(s, key, hex, err);
		fresh = false;
		if (rc == LC_OK) {
			recent_seed(s, hex, prev, reserve, reserved);
			*out = lc_store_to_json(doc, omit_internal);
			json_object_object_add(*out, "last_seq", json_object_new_int64(0));
			*created = true;
		}
		bson_destroy(doc);
		/* Only the insert's conflict means another open won: a failed pointer write of the
		 * room we inserted must not turn us into one that found it. */
		if (inserted || rc != LC_ERR_CONFLICT)
			break;
		rc = find_open_repair(s, key, out, err);
		found = rc == LC_OK;
		if (rc != LC_ERR_NOT_FOUND)
			break;
		rc = LC_OK;   /* it closed meanwhile: open again */
	}
	if (rc == LC_OK && !*created && !found)
		rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "room of this customer keeps changing");
	free(key);
	return rc;
}

lc_rc lc_store_room_open(lc_store_t *s, const char *channel, const char *customer_id,
			 const char *customer_name, json_object **out, bool *created,
			 lc_err_t *err)
{
	int64_t reserved;
	return room_open(s, channel, customer_id, customer_name, false, 0, &reserved, out, created,
			 err);
}

lc_rc lc_store_room_open_new(lc_store_t *s, const char *channel, const char *customer_id,
			     const char *customer_name, int64_t reserve, int64_t *reserved,
			     json_object **out, bool *created, lc_err_t *err)
{
	LC_ASSERT(reserve >= 0);
	return room_open(s, channel, customer_id, customer_name, true, reserve, reserved, out,
			 created, err);
}

lc_rc lc_store_room_raw(lc_store_t *s, const bson_oid_t *oid, bson_t *raw, bool *live,
			lc_err_t *err)
{
	bson_t *filter = BCON_NEW("_id", BCON_OID(oid));
	lc_rc rc = lc_store_find_one(s, LC_COLL_ROOMS, filter, NULL, NULL, "room", NULL, raw, err);
	*live = rc == LC_OK;
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		rc = lc_store_find_one(s, LC_COLL_ROOMS_CLOSED, filter, NULL, NULL, "room", NULL, raw,
				       err);
	}
	bson_destroy(filter);
	return rc;
}

/* The room of hex id (its oid in *oid) as lc_store_room_raw reads it. */
static lc_rc room_read(lc_store_t *s, const char *id, bson_oid_t *oid, bson_t *raw, bool *live,
		       lc_err_t *err)
{
	if (!lc_store_oid_parse(id, oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "room not found");
	return lc_store_room_raw(s, oid, raw, live, err);
}

lc_rc lc_store_room_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err)
{
	bson_oid_t oid;
	bson_t raw;
	bool live;
	lc_rc rc = room_read(s, id, &oid, &raw, &live, err);
	if (rc == LC_OK) {
		*out = lc_store_to_json(&raw, omit_internal);
		bson_destroy(&raw);
		attach_last_seq(s, *out);
	}
	return rc;
}

lc_rc lc_store_room_find_open(lc_store_t *s, const char *channel, const char *customer_id,
			      json_object **out, lc_err_t *err)
{
	char *key = NULL;
	lc_rc rc = open_key(channel, customer_id, &key, err);
	if (rc == LC_ERR_INVALID)
		rc = lc_err_set(err, LC_ERR_NOT_FOUND, "open room not found");
	else if (rc == LC_OK)
		rc = find_open_by_pointer(s, key, out, NULL, err);
	free(key);
	return rc;
}

/* Whether room a comes before room b in a list: newest first (created_at, then id). */
static bool list_before(json_object *a, json_object *b)
{
	int64_t ta = lc_json_get_int(a, "created_at", 0), tb = lc_json_get_int(b, "created_at", 0);
	if (ta != tb)
		return ta > tb;
	return strcmp(lc_json_get_str(a, "id", ""), lc_json_get_str(b, "id", "")) > 0;
}

/* The page [skip, skip + limit) (limit <= 0: to the end) of two lists in list order. */
static json_object *list_merge(json_object *a, json_object *b, int64_t skip, int64_t limit)
{
	json_object *out = json_object_new_array();
	size_t i = 0, j = 0, na = json_object_array_length(a), nb = json_object_array_length(b);
	for (int64_t k = 0; (i < na || j < nb) && (limit <= 0 || k < skip + limit); k++) {
		json_object *x = i < na ? json_object_array_get_idx(a, i) : NULL;
		json_object *y = j < nb ? json_object_array_get_idx(b, j) : NULL;
		json_object *next = (y == NULL || (x != NULL && list_before(x, y))) ? x : y;
		if (next == x)
			i++;
		else
			j++;
		if (k >= skip)
			json_object_array_add(out, json_object_get(next));
	}
	return out;
}

static lc_rc room_list(lc_store_t *s, const char *agent_id, const char *status, int64_t skip,
			   int64_t limit, json_object **items, int64_t *total, lc_err_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t *sort = BCON_NEW("created_at", BCON_INT32(-1), "_id", BCON_INT32(-1));
	json_object *open = NULL, *closed = NULL;
	int64_t nopen = 0, nclosed = 0;

	if (agent_id != NULL)
		BSON_APPEND_UTF8(&filter, "agent_id", agent_id);
	if (status != NULL)
		BSON_APPEND_UTF8(&filter, "status", status);
	/* Closed rooms are in rooms until swept, then in rooms_closed: a list that may hold closed
	 * rooms reads both, each up to the end of the page, and merges them. */
	bool both = status == NULL || lc_room_status_parse(status) == LC_ROOM_CLOSED;
	lc_rc rc = lc_store_find_page(s, LC_COLL_ROOMS, &filter, sort, both ? 0 : skip,
				      both && limit > 0 ? skip + limit : limit, omit_internal, &open,
				      &nopen, err);
	if (rc == LC_OK && both)
		rc = lc_store_find_page(s, LC_COLL_ROOMS_CLOSED, &filter, sort, 0,
					limit > 0 ? skip + limit : 0, omit_internal, &closed, &nclosed,
					err);
	if (rc == LC_OK) {
		*items = both ? list_merge(open, closed, skip, limit) : json_object_get(open);
		if (total != NULL)
			*total = nopen + nclosed;
	}
	json_object_put(open);
	json_object_put(closed);
	bson_destroy(sort);
	bson_destroy(&filter);
	return rc;
}

lc_rc lc_store_room_list(lc_store_t *s, const char *status, int64_t skip, int64_t limit,
			 json_object **items, int64_t *total, lc_err_t *err)
{
	return room_list(s, NULL, status, skip, limit, items, total, err);
}

lc_rc lc_store_room_list_taken(lc_store_t *s, const char *agent_id, const char *status,
			       int64_t skip, int64_t limit, json_object **items, int64_t *total,
			       lc_err_t *err)
{
	if (agent_id == NULL || *agent_id == '\0')
		return lc_err_set_field(err, LC_ERR_INVALID, "agent_id", "agent_id is required");
	return room_list(s, agent_id, status, skip, limit, items, total, err);
}

lc_rc lc_store_room_list_agent(lc_store_t *s, const char *agent_id, json_object **items,
			       lc_err_t *err)
{
	bson_t opts = BSON_INITIALIZER;
	if (agent_id == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "agent id missing");
	bson_t *filter = BCON_NEW("agent_id", BCON_UTF8(agent_id), "status",
				  BCON_UTF8(lc_room_status_name(LC_ROOM_ENGAGED)));
	bson_t *sort = BCON_NEW("engaged_at", BCON_INT32(1));
	lc_store_page_opts(&opts, sort, 0, 0);
	lc_rc rc = lc_store_find_many(s, LC_COLL_ROOMS, filter, &opts, omit_internal, items, err);
	/* An agent's few engaged rooms: each says how far it goes (a reloaded dashboard compares
	 * it with what it kept, docs/websocket.md hello). */
	for (size_t i = 0; rc == LC_OK && i < json_object_array_length(*items); i++)
		attach_last_seq(s, json_object_array_get_idx(*items, i));
	bson_destroy(sort);
	bson_destroy(filter);
	bson_destroy(&opts);
	return rc;
}

/* ---- gated writes */

/* Decide the change from the current document: fill set (a $set body), or set *nochange, or
 * return an error (the precondition failed). */
typedef lc_rc (*room_change_fn)(const bson_t *room, const char *room_hex, void *ctx,
				bson_t *set, bool *nochange, lc_err_t *err);

/* The room as a gated write just left it: the revision it changed (cur) with the write's $set
 * applied, not read again; with its last_seq (a read of its counter) when with_last_seq. */
static json_object *room_after(lc_store_t *s, const bson_t *cur, const bson_t *set,
			       bool with_last_seq)
{
	json_object *room = lc_store_to_json(cur, omit_internal);
	json_object *changed = lc_store_to_json(set, omit_internal);
	json_object_object_foreach(changed, k, v)
		json_object_object_add(room, k, json_object_get(v));
	json_object_put(changed);
	if (with_last_seq)
		attach_last_seq(s, room);
	return room;
}

/* out (may be NULL): the room after the change (room_after). */
static lc_rc room_modify(lc_store_t *s, const char *id, room_change_fn change, void *ctx,
			 bool with_last_seq, json_object **out, lc_err_t *err)
{
	bson_oid_t oid;
	char hex[25];
	lc_rc rc;

	if (!lc_store_oid_parse(id, &oid))
		return lc_err_set(err, LC_ERR_NOT_FOUND, "room not found");
	bson_oid_to_string(&oid, hex);
	int64_t deadline = lc_mono_ms() + GATE_WAIT_MS;
	for (;;) {
		bson_t cur, set = BSON_INITIALIZER;
		bool nochange = false, live = true;
		rc = lc_store_room_raw(s, &oid, &cur, &live, err);
		if (rc != LC_OK) {
			bson_destroy(&set);
			break;
		}
		int64_t rev = doc_int(&cur, "rev");
		rc = change(&cur, hex, ctx, &set, &nochange, err);
		/* A room moved to rooms_closed is closed for good: the changes a closed room takes
		 * (none but a decline) are not stored. */
		if (rc == LC_OK && !live)
			nochange = true;
		if (rc != LC_OK || nochange) {
			if (rc == LC_OK && out != NULL) {
				*out = lc_store_to_json(&cur, omit_internal);
				if (with_last_seq)
					attach_last_seq(s, *out);
			}
			bson_destroy(&cur);
			bson_destroy(&set);
			break;
		}
		char *gate_id = lc_asprintf("%s:%lld", hex, (long long)rev);
		rc = lc_store_gate_try(s, LC_COLL_ROOM_GATES, gate_id, GATE_STALE_MS, err);
		if (rc == LC_ERR_CONFLICT) {
			/* Another writer holds revision rev: wait for it to land, then re-check. */
			free(gate_id);
			bson_destroy(&cur);
			bson_destroy(&set);
			if (lc_mono_ms() > deadline) {
				rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "room is locked, try again");
				break;
			}
			sleep_us(GATE_RETRY_SLEEP_US);
			continue;
		}
		if (rc != LC_OK) {
			free(gate_id);
			bson_destroy(&cur);
			bson_destroy(&set);
			break;
		}
		BSON_APPEND_INT64(&set, "rev", rev + 1);
		bson_t *update = BCON_NEW("$set", BCON_DOCUMENT(&set));
		bson_t *filter = BCON_NEW("_id", BCON_OID(&oid), "rev", BCON_INT64(rev));
		int64_t matched = 0;
		rc = lc_store_update_one(s, LC_COLL_ROOMS, filter, update, false, &matched,
					 "customer already has an open room", NULL, err);
		/* The gate of a revision the update moved past stays: nobody takes that revision
		 * again (a late reader of it meets the gate or misses on rev, and reads again), and
		 * the room's retirement deletes its gates; one write less on every change. */
		if (rc != LC_OK || matched == 0)
			lc_store_gate_release(s, LC_COLL_ROOM_GATES, gate_id);
		free(gate_id);
		bson_destroy(filter);
		bson_destroy(update);
		if (rc == LC_OK && matched != 0 && out != NULL)
			*out = room_after(s, &cur, &set, with_last_seq);
		bson_destroy(&cur);
		bson_destroy(&set);
		if (rc != LC_OK)
			break;
		if (matched == 0) {
			/* We read a revision that had already moved on: read again. */
			if (lc_mono_ms() > deadline) {
				rc = lc_err_set(err, LC_ERR_UNAVAILABLE, "room is locked, try again");
				break;
			}
			continue;
		}
		break;
	}
	return rc;
}

typedef struct claim_ctx {
	const char *agent_id;
	const char *agent_name;
} claim_ctx_t;

static lc_rc claim_change(const bson_t *room, const char *room_hex, void *ctx, bson_t *set,
			  bool *nochange, lc_err_t *err)
{
	claim_ctx_t *c = ctx;
	const char *status = doc_str(room, "status");
	(void)room_hex;
	(void)nochange;
	if (lc_room_status_parse(status) == LC_ROOM_CLOSED)
		return lc_err_set(err, LC_ERR_CONFLICT, "room is closed");
	if (lc_room_status_parse(status) != LC_ROOM_WAITING)
		return lc_err_set(err, LC_ERR_CONFLICT, "room already taken");
	BCON_APPEND(set, "status", BCON_UTF8(lc_room_status_name(LC_ROOM_ENGAGED)),
		    "agent_id", BCON_UTF8(c->agent_id),
		    "engaged_at", BCON_DATE_TIME(lc_real_ms()));
	if (c->agent_name != NULL)
		BSON_APPEND_UTF8(set, "agent_name", c->agent_name);
	else
		BSON_APPEND_NULL(set, "agent_name");
	return LC_OK;
}

lc_rc lc_store_room_claim(lc_store_t *s, const char *id, const char *agent_id,
			  const char *agent_name, json_object **out, lc_err_t *err)
{
	claim_ctx_t c = { agent_id, agent_name };
	if (agent_id == NULL || *agent_id == '\0')
		return lc_err_set(err, LC_ERR_INVALID, "agent id missing");
	return room_modify(s, id, claim_change, &c, false, out, err);
}

/* ---- claims in a batch */

/* One claim of a batch on its way: the room as read, the change, its gate. */
typedef struct claim_step {
	bson_oid_t oid;
	bson_t cur;             /* the room as read (held while has_cur) */
	bool has_cur;
	bson_t set;             /* the change (claim_change), with the new rev */
	int64_t rev;
	char *gate_id;          /* "<hex>:<rev>" */
	bool gated;             /* the gate is ours */
	bool alone;             /* goes on alone (lc_store_room_claim) */
} claim_step_t;

/* Read the room (or take same's read of it: an earlier claim of the same room in the batch)
 * and decide (claim_change): false when c is answered already. */
static bool claim_read(lc_store_t *s, lc_store_claim_t *c, claim_step_t *st,
		       const claim_step_t *same)
{
	char hex[25];
	bool live = true;
	if (c->agent_id == NULL || *c->agent_id == '\0') {
		c->rc = lc_err_set(&c->err, LC_ERR_INVALID, "agent id missing");
		return false;
	}
	if (!lc_store_oid_parse(c->room_id, &st->oid)) {
		c->rc = lc_err_set(&c->err, LC_ERR_NOT_FOUND, "room not found");
		return false;
	}
	if (same != NULL) {
		bson_copy_to(&same->cur, &st->cur);
		c->rc = LC_OK;
	} else {
		c->rc = lc_store_room_raw(s, &st->oid, &st->cur, &live, &c->err);
	}
	if (c->rc != LC_OK)
		return false;
	st->has_cur = true;
	bool nochange = false;
	claim_ctx_t ctx = { c->agent_id, c->agent_name };
	bson_oid_to_string(&st->oid, hex);
	c->rc = claim_change(&st->cur, hex, &ctx, &st->set, &nochange, &c->err);
	if (c->rc != LC_OK) {
		/* Taken or closed: the room as read tells which. */
		c->room = lc_store_to_json(&st->cur, omit_internal);
		return false;
	}
	st->rev = doc_int(&st->cur, "rev");
	BSON_APPEND_INT64(&st->set, "rev", st->rev + 1);
	st->gate_id = lc_asprintf("%s:%lld", hex, (long long)st->rev);
	return true;
}

/* The gates of the claims in go (indexes into st) in one insertMany: those refused go on alone. */
static lc_rc claim_gates(lc_store_t *s, claim_step_t *st, const size_t *go, size_t ng,
			 lc_err_t *err)
{
	const bson_t **docs = lc_calloc(ng, sizeof *docs);
	bool *ok = lc_calloc(ng, sizeof *ok), *dup = lc_calloc(ng, sizeof *dup);
	int64_t now = lc_real_ms();
	for (size_t k = 0; k < ng; k++)
		docs[k] = BCON_NEW("_id", BCON_UTF8(st[go[k]].gate_id), "at", BCON_DATE_TIME(now));
	lc_rc rc = lc_store_insert_many(s, LC_COLL_ROOM_GATES, docs, ng, ok, dup, err);
	for (size_t k = 0; k < ng; k++) {
		st[go[k]].gated = rc == LC_OK && ok[k];
		st[go[k]].alone = rc == LC_OK && !ok[k];
		bson_destroy((bson_t *)docs[k]);
	}
	free(docs);
	free(ok);
	free(dup);
	return rc;
}

/* The updates of the gated claims in go, in one bulk write; *all: every one matched. */
static lc_rc claim_updates(lc_store_t *s, claim_step_t *st, const size_t *go, size_t ng,
			   bool *all, lc_err_t *err)
{
	bson_t **filters = lc_calloc(ng, sizeof *filters);
	bson_t **updates = lc_calloc(ng, sizeof *updates);
	size_t nu = 0;
	for (size_t k = 0; k < ng; k++) {
		claim_step_t *t = &st[go[k]];
		if (!t->gated)
			continue;
		filters[nu] = BCON_NEW("_id", BCON_OID(&t->oid), "rev", BCON_INT64(t->rev));
		updates[nu] = BCON_NEW("$set", BCON_DOCUMENT(&t->set));
		nu++;
	}
	int64_t matched = 0;
	lc_rc rc = nu == 0 ? LC_OK
		   : lc_store_update_each(s, LC_COLL_ROOMS, (const bson_t *const *)filters,
					  (const bson_t *const *)updates, nu, false, &matched, err);
	*all = rc == LC_OK && matched == (int64_t)nu;
	for (size_t k = 0; k < nu; k++) {
		bson_destroy(filters[k]);
		bson_destroy(updates[k]);
	}
	free(filters);
	free(updates);
	return rc;
}

typedef enum claim_outcome { CLAIM_LANDED, CLAIM_MISSED, CLAIM_UNKNOWN } claim_outcome_t;

/* Whether the claim's own update landed, read again: the room engaged by its agent past rev
 * (nobody else can have moved it from rev while the gate of rev is held; a decline or a close
 * may have come after), or still at rev (missed), or not known (the read failed). */
static claim_outcome_t claim_landed(lc_store_t *s, const lc_store_claim_t *c, claim_step_t *t)
{
	bson_t now;
	bool live = true;
	lc_err_t err;
	if (lc_store_room_raw(s, &t->oid, &now, &live, &err) != LC_OK)
		return CLAIM_UNKNOWN;
	const char *agent = doc_str(&now, "agent_id");
	int64_t rev = doc_int(&now, "rev");
	claim_outcome_t o = rev > t->rev && agent != NULL && strcmp(agent, c->agent_id) == 0
			    ? CLAIM_LANDED : rev == t->rev ? CLAIM_MISSED : CLAIM_UNKNOWN;
	bson_destroy(&now);
	return o;
}

/* The gated claim t of c after the batch's bulk write (rc: how it went; all: every update
 * matched): answered, or marked to go on alone. The gate is released only when the update is
 * known not to have landed: after a failed write it may still be applied (a timeout while
 * FerretDB works through the batch), so the gate stays and goes stale. */
static void claim_settle(lc_store_t *s, lc_store_claim_t *c, claim_step_t *t, lc_rc rc,
			 bool all, const lc_err_t *err)
{
	claim_outcome_t o = rc == LC_OK && all ? CLAIM_LANDED : claim_landed(s, c, t);
	if (o == CLAIM_LANDED) {
		c->rc = LC_OK;
		c->room = room_after(s, &t->cur, &t->set, false);
	} else if (o == CLAIM_MISSED && rc == LC_OK) {
		/* The write was answered and this update matched nothing: read again, alone. */
		lc_store_gate_release(s, LC_COLL_ROOM_GATES, t->gate_id);
		t->alone = true;
	} else if (rc != LC_OK) {
		c->rc = rc;
		c->err = *err;
	} else {
		c->rc = lc_err_set(&c->err, LC_ERR_UNAVAILABLE, "the room's claim is not known yet, "
				   "try again");
	}
}

/* An earlier claim of the same room in the batch that read it (NULL: none). */
static const claim_step_t *claim_same_room(const lc_store_claim_t *claims, const claim_step_t *st,
					   size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (st[k].has_cur && strcmp(claims[k].room_id, claims[i].room_id) == 0)
			return &st[k];
	return NULL;
}

/* A claim refused its gate because another claim of the batch took it (the same room, the same
 * revision): when that one's update landed (answered LC_OK), this one is taken, known without a
 * read; when that one was answered an error (its write failed or is not known: its gate stays
 * until it goes stale), this one gets the same error rather than wait alone for that gate. */
static bool claim_lost_in_batch(lc_store_t *s, lc_store_claim_t *claims, claim_step_t *st,
				const size_t *go, size_t ng, const bool *done, size_t i)
{
	for (size_t k = 0; k < ng; k++) {
		claim_step_t *t = &st[go[k]];
		if (!done[go[k]] || !t->gated || strcmp(t->gate_id, st[i].gate_id) != 0)
			continue;
		if (claims[go[k]].rc != LC_OK) {
			claims[i].rc = claims[go[k]].rc;
			claims[i].err = claims[go[k]].err;
			return true;
		}
		claims[i].rc = lc_err_set(&claims[i].err, LC_ERR_CONFLICT, "room already taken");
		claims[i].room = room_after(s, &t->cur, &t->set, false);
		return true;
	}
	return false;
}

void lc_store_room_claim_many(lc_store_t *s, lc_store_claim_t *claims, size_t n,
			      lc_store_claim_fn settled, void *arg)
{
	if (n == 0)
		return;
	claim_step_t *st = lc_calloc(n, sizeof *st);
	size_t *go = lc_calloc(n, sizeof *go);
	bool *done = lc_calloc(n, sizeof *done);
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		claims[i].room = NULL;
		bson_init(&st[i].set);
	}
	for (size_t i = 0; i < n; i++) {
		if (claim_read(s, &claims[i], &st[i], claim_same_room(claims, st, i))) {
			go[ng++] = i;
		} else if (claims[i].rc == LC_ERR_UNAVAILABLE) {
			/* The server is away: the others would each wait as long for the same. */
			for (size_t k = i + 1; k < n; k++) {
				claims[k].rc = claims[i].rc;
				claims[k].err = claims[i].err;
			}
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		done[i] = true;   /* answered by its read */
	for (size_t k = 0; k < ng; k++)
		done[go[k]] = false;
	lc_err_t err = { 0 };
	bool all = false;
	lc_rc rc = ng == 0 ? LC_OK : claim_gates(s, st, go, ng, &err);
	if (rc == LC_OK && ng > 0)
		rc = claim_updates(s, st, go, ng, &all, &err);
	for (size_t k = 0; k < ng; k++) {
		lc_store_claim_t *c = &claims[go[k]];
		claim_step_t *t = &st[go[k]];
		if (t->alone)
			continue;
		if (!t->gated) {   /* the gates' insertMany failed: nothing written */
			c->rc = rc;
			c->err = err;
		} else {
			claim_settle(s, c, t, rc, all, &err);
		}
		done[go[k]] = !t->alone;
	}
	for (size_t k = 0; k < ng; k++)
		if (st[go[k]].alone && !st[go[k]].gated &&
		    claim_lost_in_batch(s, claims, st, go, ng, done, go[k])) {
			st[go[k]].alone = false;
			done[go[k]] = true;
		}
	/* The claims answered so far are told before those going on alone make their round
	 * trips (a winner's join need not wait for them). */
	for (size_t i = 0; settled != NULL && i < n; i++)
		if (done[i])
			settled(&claims[i], arg);
	for (size_t k = 0; k < ng; k++) {
		lc_store_claim_t *c = &claims[go[k]];
		if (!st[go[k]].alone)
			continue;
		c->rc = lc_store_room_claim(s, c->room_id, c->agent_id, c->agent_name, &c->room,
					    &c->err);
		if (c->rc == LC_ERR_CONFLICT) {
			lc_err_t e2;
			lc_store_room_get(s, c->room_id, &c->room, &e2);
		}
		if (settled != NULL)
			settled(c, arg);
	}
	for (size_t i = 0; i < n; i++) {
		if (st[i].has_cur)
			bson_destroy(&st[i].cur);
		bson_destroy(&st[i].set);
		free(st[i].gate_id);
	}
	free(done);
	free(go);
	free(st);
}

static lc_rc decline_change(const bson_t *room, const char *room_hex, void *ctx, bson_t *set,
			    bool *nochange, lc_err_t *err)
{
	const char *agent_id = ctx;
	bson_iter_t it, child;
	bson_t arr;
	char buf[16];
	const char *key;
	uint32_t n = 0;
	(void)room_hex;
	(void)err;

	/* Taken or closed meanwhile: the request is gone for everyone, the room's agent too (a
	 * decline after its own winning accept); declined_by is for waiting rooms only. */
	if (lc_room_status_parse(doc_str(room, "status")) != LC_ROOM_WAITING) {
		*nochange = true;
		return LC_OK;
	}
	BSON_APPEND_ARRAY_BEGIN(set, "declined_by", &arr);
	if (bson_iter_init_find(&it, room, "declined_by") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &child)) {
		while (bson_iter_next(&child)) {
			if (!BSON_ITER_HOLDS_UTF8(&child))
				continue;
			const char *v = bson_iter_utf8(&child, NULL);
			if (strcmp(v, agent_id) == 0)
				*nochange = true;
			bson_uint32_to_string(n++, &key, buf, sizeof buf);
			BSON_APPEND_UTF8(&arr, key, v);
		}
	}
	bson_uint32_to_string(n, &key, buf, sizeof buf);
	BSON_APPEND_UTF8(&arr, key, agent_id);
	bson_append_array_end(set, &arr);
	return LC_OK;
}

lc_rc lc_store_room_decline(lc_store_t *s, const char *id, const char *agent_id, lc_err_t *err)
{
	if (agent_id == NULL || *agent_id == '\0')
		return lc_err_set(err, LC_ERR_INVALID, "agent id missing");
	return room_modify(s, id, decline_change, (void *)agent_id, false, NULL, err);
}

static lc_rc close_change(const bson_t *room, const char *room_hex, void *ctx, bson_t *set,
			  bool *nochange, lc_err_t *err)
{
	const char *reason = ctx;
	const char *status = doc_str(room, "status");
	(void)nochange;
	if (lc_room_status_parse(status) == LC_ROOM_CLOSED)
		return lc_err_set(err, LC_ERR_CONFLICT, "room already closed");
	char *closed_key = lc_asprintf("closed:%s", room_hex);
	BCON_APPEND(set, "status", BCON_UTF8(lc_room_status_name(LC_ROOM_CLOSED)),
		    "closed_at", BCON_DATE_TIME(lc_real_ms()),
		    "open_key", BCON_UTF8(closed_key));
	if (reason != NULL)
		BSON_APPEND_UTF8(set, "close_reason", reason);
	else
		BSON_APPEND_NULL(set, "close_reason");
	free(closed_key);
	return LC_OK;
}

/* The customer's pointer stays: readers take a pointer to a closed room for none, and the
 * customer's next open finds their previous room through it (recent_seed). */
lc_rc lc_store_room_close(lc_store_t *s, const char *id, const char *reason, json_object **out,
			  lc_err_t *err)
{
	return room_modify(s, id, close_change, (void *)reason, true, out, err);
}

lc_rc lc_store_room_pointers_repair(lc_store_t *s, lc_err_t *err)
{
	json_object *rooms = NULL;
	static const char *const omit_none[] = { NULL };
	bson_t *filter = BCON_NEW("status", "{", "$in", "[",
				  BCON_UTF8(lc_room_status_name(LC_ROOM_WAITING)),
				  BCON_UTF8(lc_room_status_name(LC_ROOM_ENGAGED)), "]", "}");
	lc_rc rc = lc_store_find_many(s, LC_COLL_ROOMS, filter, NULL, omit_none, &rooms, err);
	bson_destroy(filter);
	for (size_t i = 0; rc == LC_OK && i < json_object_array_length(rooms); i++) {
		json_object *r = json_object_array_get_idx(rooms, i);
		const char *key = lc_json_get_str(r, "open_key", NULL);
		if (key != NULL && strncmp(key, "closed:", 7) != 0)
			rc = pointer_set(s, key, lc_json_get_str(r, "id", ""), err);
	}
	json_object_put(rooms);
	return rc;
}

lc_rc lc_store_room_writer_secret(lc_store_t *s, char *out, lc_err_t *err)
{
	char fresh[65];
	bson_t raw;
	lc_rc rc = lc_auth_random_hex(32, fresh, err);
	if (rc != LC_OK)
		return rc;
	/* Insert-if-absent: of the nodes starting together one insert wins, all read it. */
	bson_t *doc = BCON_NEW("_id", "room_writer", "secret", BCON_UTF8(fresh));
	rc = lc_store_insert(s, LC_COLL_SECRETS, doc, NULL, NULL, err);
	bson_destroy(doc);
	if (rc != LC_OK && rc != LC_ERR_CONFLICT)
		return rc;
	bson_t *filter = BCON_NEW("_id", "room_writer");
	rc = lc_store_find_one(s, LC_COLL_SECRETS, filter, NULL, NULL, "secret", NULL, &raw, err);
	bson_destroy(filter);
	if (rc != LC_OK)
		return rc;
	const char *v = doc_str(&raw, "secret");
	if (v == NULL || strlen(v) != 64)
		rc = lc_err_set(err, LC_ERR_INTERNAL, "the stored room writer secret is malformed");
	else
		memcpy(out, v, 65);
	bson_destroy(&raw);
	return rc;
}

lc_rc lc_store_room_retire(lc_store_t *s, const char *id, lc_err_t *err)
{
	bson_oid_t oid;
	bson_t raw;
	bool live;
	lc_rc rc = room_read(s, id, &oid, &raw, &live, err);
	if (rc == LC_ERR_NOT_FOUND) {
		lc_err_clear(err);
		return LC_OK;
	}
	if (rc != LC_OK)
		return rc;
	bool closed = lc_room_status_parse(doc_str(&raw, "status")) == LC_ROOM_CLOSED;
	if (live && closed) {
		/* The copy first (one there already, from a retirement cut short, stays), then the
		 * room leaves rooms, still closed: a reader in between finds it in rooms. */
		rc = lc_store_insert(s, LC_COLL_ROOMS_CLOSED, &raw, NULL, NULL, err);
		if (rc == LC_ERR_CONFLICT) {
			lc_err_clear(err);
			rc = LC_OK;
		}
		bson_t *filter = BCON_NEW("_id", BCON_OID(&oid), "status",
					  BCON_UTF8(lc_room_status_name(LC_ROOM_CLOSED)));
		if (rc == LC_OK)
			rc = lc_store_delete(s, LC_COLL_ROOMS, filter, false, NULL, err);
		bson_destroy(filter);
	}
	if (closed && rc == LC_OK) {
		/* The gates its changes left (room_modify), found by their _id's prefix; again on
		 * a retired room, for a retirement whose delete of them failed. */
		char hex[25], *prefix;
		bson_oid_to_string(&oid, hex);
		prefix = lc_asprintf("^%s:", hex);
		bson_t *gates = BCON_NEW("_id", "{", "$regex", BCON_UTF8(prefix), "}");
		rc = lc_store_delete(s, LC_COLL_ROOM_GATES, gates, true, NULL, err);
		bson_destroy(gates);
		free(prefix);
	}
	bson_destroy(&raw);
	return rc;
}
