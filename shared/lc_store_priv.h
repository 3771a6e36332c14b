/* SPDX-License-Identifier: MIT */
/* lc_store_priv: what the lc_store*.c files share and nobody else sees: the store struct, error
 * mapping, the bson -> json-c converter, and one-call helpers (pop a client, run one operation,
 * push the client back) so each resource file reads as a list of queries. */
#ifndef LC_STORE_PRIV_H
#define LC_STORE_PRIV_H

#include <mongoc/mongoc.h>
#include <stdatomic.h>
#include "lc_store.h"
#include "lc_time.h"

#define LC_STORE_MAGIC 0x5703e11cU

/* Collections. */
#define LC_COLL_USERS "users"
#define LC_COLL_GROUPS "groups"
#define LC_COLL_SESSIONS "sessions"
#define LC_COLL_LOGIN_FAILURES "login_failures"
#define LC_COLL_CANNED "canned"
#define LC_COLL_ROOMS "rooms"
#define LC_COLL_ROOMS_CLOSED "rooms_closed"   /* closed rooms, moved out of rooms when swept */
#define LC_COLL_ROOM_GATES "room_gates"   /* one doc per room write in progress (see rooms) */
#define LC_COLL_COUNTERS "counters"       /* per-room message seq counter, _id = room id */
#define LC_COLL_COUNTERS_CLOSED "counters_closed"   /* counters of rooms closed and swept */
#define LC_COLL_MESSAGES "messages"
#define LC_COLL_RECENT "recent"         /* customers' last messages by _id (lc_store_recent.c) */
#define LC_COLL_OPEN_ROOMS "open_rooms"   /* _id "<channel>:<customer>" -> the open room */
#define LC_COLL_SETTINGS "settings"
#define LC_COLL_SECRETS "secrets"         /* _id "room_writer": see lc_store_room_writer_secret */
#define LC_COLL_GATES "gates"             /* named gates (lc_store_gate.c): "admins" */
#define LC_SETTINGS_ID "settings"

struct lc_store {
	unsigned magic;
	mongoc_client_pool_t *pool;
	mongoc_uri_t *uri;
	char *db;
	/* Operations sent to the server, by kind, and message documents stored (lc_store_stats). */
	atomic_uint_fast64_t ops[LC_STORE_OP_KINDS];
	atomic_uint_fast64_t messages_stored;
	atomic_uint_fast64_t op_us[LC_STORE_OP_KINDS];   /* time spent, for the latency metrics */
	atomic_uint_fast64_t batch_docs;                 /* documents sent by insert_many */
};

/* Give every open room its open_rooms pointer (rooms stored by a version without them): one
 * query over the rooms, run by lc_store_init. */
lc_rc lc_store_room_pointers_repair(lc_store_t *s, lc_err_t *err);

/* Count one operation of kind (any thread). */
void lc_store_count_op(lc_store_t *s, lc_store_op_t kind);

/* Turn a driver/server error into an lc_rc. conflict: the reason for a duplicate key (NULL:
 * "already exists"); conflict_field: field named in err for it (may be NULL). */
lc_rc lc_store_map_error(const bson_error_t *e, lc_err_t *err, const char *conflict,
			 const char *conflict_field);

/* The converter every getter uses: "_id" -> "id", ObjectId -> hex string, date -> int ms,
 * int32/int64 -> int, nested documents and arrays recursively. omit: NULL-terminated list of
 * top-level keys to leave out (may be NULL). */
json_object *lc_store_to_json(const bson_t *doc, const char *const *omit);
/* JSON value -> BSON field key (objects, arrays, strings, ints, doubles, bools, null). */
void lc_store_append_json(bson_t *b, const char *key, json_object *v);
/* hex ObjectId -> oid. false when hex is NULL or not 24 hex digits. */
bool lc_store_oid_parse(const char *hex, bson_oid_t *oid);
/* Escape every regex metacharacter so s matches itself. Caller frees (lc_alloc). */
char *lc_store_regex_escape(const char *s);
/* Append a BSON date from ms. */
#define LC_APPEND_MS(b, key, ms) BSON_APPEND_DATE_TIME((b), (key), (ms))

/* One-call operations. Each pops a client and pushes it back.
 * find_one: NOT_FOUND (reason "<what> not found") when nothing matches; *out may be NULL to
 * only test existence; raw (may be NULL) receives a copy of the BSON document (bson_destroy). */
lc_rc lc_store_find_one(lc_store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
			const char *const *omit, const char *what, json_object **out, bson_t *raw,
			lc_err_t *err);
/* All matches as a JSON array (opts: sort/skip/limit/projection). */
lc_rc lc_store_find_many(lc_store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
			 const char *const *omit, json_object **items, lc_err_t *err);
lc_rc lc_store_count(lc_store_t *s, const char *coll, const bson_t *filter, int64_t *n,
		     lc_err_t *err);
lc_rc lc_store_insert(lc_store_t *s, const char *coll, const bson_t *doc, const char *conflict,
		      const char *conflict_field, lc_err_t *err);
/* One unordered insertMany of n documents. LC_OK when the server answered: ok[i] says whether
 * document i was stored, dupkey[i] whether it was refused as a duplicate key (both false: another
 * write error). Any other failure (server down) is returned and nothing is known stored. */
lc_rc lc_store_insert_many(lc_store_t *s, const char *coll, const bson_t **docs, size_t n,
			   bool *ok, bool *dupkey, lc_err_t *err);
/* Ordered insertMany (in pieces of at most 100 documents): docs[0 .. *stored) are stored; when
 * *stored < n, docs[*stored] was refused (*dupkey: as a duplicate key) and the documents after
 * it were not stored. A failure (server down) is returned; then docs[*stored ..] are unknown. */
lc_rc lc_store_insert_ordered(lc_store_t *s, const char *coll, const bson_t **docs, size_t n,
			      size_t *stored, bool *dupkey, lc_err_t *err);
/* matched (may be NULL) receives matchedCount (plus upsertedCount). */
lc_rc lc_store_update_one(lc_store_t *s, const char *coll, const bson_t *filter,
			  const bson_t *update, bool upsert, int64_t *matched, const char *conflict,
			  const char *conflict_field, lc_err_t *err);
/* One unordered bulk write of n updateOne (filters[i], updates[i]), upserting when upsert: one
 * round trip. matched (may be NULL): the documents matched plus those upserted, over all n. */
lc_rc lc_store_update_each(lc_store_t *s, const char *coll, const bson_t *const *filters,
			    const bson_t *const *updates, size_t n, bool upsert, int64_t *matched,
			    lc_err_t *err);
lc_rc lc_store_delete(lc_store_t *s, const char *coll, const bson_t *filter, bool many,
		      int64_t *deleted, lc_err_t *err);
/* findAndModify returning the new document. NOT_FOUND ("<what> not found") when none matched.
 * Not atomic on FerretDB 1.24: use it only where a lost race is harmless (see docs/store.md). */
lc_rc lc_store_find_modify(lc_store_t *s, const char *coll, const bson_t *filter,
			   const bson_t *update, bool upsert, const char *const *omit,
			   const char *what, json_object **out, bson_t *raw, const char *conflict,
			   const char *conflict_field, lc_err_t *err);
/* The room document of oid into *raw (bson_destroy) from rooms or, once moved out
 * (lc_store_room_retire), rooms_closed; *live says which. NOT_FOUND ("room not found"). */
lc_rc lc_store_room_raw(lc_store_t *s, const bson_oid_t *oid, bson_t *raw, bool *live,
			lc_err_t *err);
/* The room's counter document (hex id) into *cur (bson_destroy), from counters or, for a room
 * closed and swept (lc_store_counter_retire), counters_closed; *live says which. NOT_FOUND
 * when neither has it. */
lc_rc lc_store_counter_get(lc_store_t *s, const char *hex, bson_t *cur, bool *live, lc_err_t *err);
/* One attempt at the gate: LC_OK when taken, LC_ERR_CONFLICT when another holds it (a gate older
 * than stale_ms is broken on the way, for the next attempt), another code when the store failed. */
lc_rc lc_store_gate_try(lc_store_t *s, const char *coll, const char *id, int64_t stale_ms,
			lc_err_t *err);
/* Take the gate id in coll (insert {_id: id, at}), retrying for up to wait_ms while another
 * holds it (UNAVAILABLE after), breaking one older than stale_ms. Release deletes it (best
 * effort: a gate left behind goes stale). */
lc_rc lc_store_gate_take(lc_store_t *s, const char *coll, const char *id, int64_t wait_ms,
			 int64_t stale_ms, lc_err_t *err);
void lc_store_gate_release(lc_store_t *s, const char *coll, const char *id);
/* opts for find: {sort: sort (may be NULL), skip, limit} (skip < 0 -> 0, limit <= 0 -> none). */
void lc_store_page_opts(bson_t *opts, const bson_t *sort, int64_t skip, int64_t limit);
/* One page of a list: the matches of filter sorted by sort within skip/limit as *items, and
 * (total may be NULL) the count of all matches as *total. On failure *items is NULL. */
lc_rc lc_store_find_page(lc_store_t *s, const char *coll, const bson_t *filter,
			 const bson_t *sort, int64_t skip, int64_t limit, const char *const *omit,
			 json_object **items, int64_t *total, lc_err_t *err);

#endif
