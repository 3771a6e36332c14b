/* SPDX-License-Identifier: MIT */
/* lc_store: the MongoDB access layer on a mongoc client pool (thread-safe: each call pops a client
 * from the pool and pushes it back). One function per operation. Documents come back as json-c
 * objects the caller owns (json_object_put), with "id" as a string (never "_id") and dates as
 * integer milliseconds since the epoch. A duplicate key is LC_ERR_CONFLICT, a server that cannot
 * be reached is LC_ERR_UNAVAILABLE, a missing document LC_ERR_NOT_FOUND.
 *
 * Works against MongoDB 5+ and FerretDB 1.24: no transactions, no keys with '.' or '$'.
 * Common rules: an id that is not an ObjectId hex string is NOT_FOUND; in list calls skip < 0 is
 * 0 and limit <= 0 means no limit; *out / *items hold a new object only when LC_OK is returned.
 * Collections, indexes and the concurrency design (FerretDB's updates are not atomic) are in
 * docs/store.md. */
#ifndef LC_STORE_H
#define LC_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "lc_err.h"

typedef struct lc_store lc_store_t;

/* uri: mongodb://...; db: database name. Does not contact the server (lazy), so a daemon can
 * start while MongoDB is down. NULL + err on a malformed URI. */
lc_store_t *lc_store_new(const char *uri, const char *db, lc_err_t *err);
/* Start the driver's background threads (its server monitors) now, from the calling thread,
 * without contacting the server: they take that thread's name (docs/operations.md), not the
 * name of whichever thread would use the pool first. */
void lc_store_start_monitors(lc_store_t *store);
void lc_store_free(lc_store_t **store);
/* Round trip to the server ("ping"). */
lc_rc lc_store_ping(lc_store_t *store, lc_err_t *err);
/* Create every index (idempotent) and seed what a first start needs: the built-in permission
 * groups (lc_perm_builtin_groups) if absent, the settings document if absent. */
lc_rc lc_store_init(lc_store_t *store, lc_err_t *err);
/* Drop the whole database named at lc_store_new (for tests: a fresh database per run). */
lc_rc lc_store_drop_database(lc_store_t *store, lc_err_t *err);
/* ---- operation counters: every round trip to the server is counted by kind (atomic, any
 * thread), so a daemon can report database operations per stored message. */
typedef enum lc_store_op {
	LC_STORE_OP_FIND,        /* find / findOne (one cursor) */
	LC_STORE_OP_COUNT,
	LC_STORE_OP_INSERT,      /* insertOne */
	LC_STORE_OP_INSERT_MANY, /* one insertMany, however many documents */
	LC_STORE_OP_UPDATE,
	LC_STORE_OP_DELETE,
	LC_STORE_OP_FIND_MODIFY,
	LC_STORE_OP_COMMAND,     /* ping, createIndexes, dropDatabase */
	LC_STORE_OP_KINDS
} lc_store_op_t;

typedef struct lc_store_stats {
	uint64_t ops[LC_STORE_OP_KINDS];
	uint64_t ops_total;
	uint64_t messages_stored;   /* message documents inserted (append and batch) */
	uint64_t op_us[LC_STORE_OP_KINDS];   /* microseconds spent in the operations counted in
					      * ops[] that hold a pooled client (not the commands) */
	uint64_t batch_docs;        /* documents sent by insert_many (over ops[INSERT_MANY]: the
				     * mean batch size) */
} lc_store_stats_t;

/* A snapshot of the counters since lc_store_new. */
void lc_store_stats(lc_store_t *s, lc_store_stats_t *out);
/* "find", "count", "insert", "insert_many", "update", "delete", "find_modify", "command". */
const char *lc_store_op_name(lc_store_op_t kind);

/* ---- users: {id, username, display_name, group, active, password_hash, created_at, updated_at}
 * Every result leaves password_hash out except lc_store_user_get_credentials'; CONFLICT (field
 * "username") on a taken name. */
lc_rc lc_store_user_create(lc_store_t *s, const char *username, const char *display_name,
			   const char *group, bool active, const char *password_hash,
			   json_object **out, lc_err_t *err);
/* One user, without password_hash. NOT_FOUND: no such user (an id that is no ObjectId too). */
lc_rc lc_store_user_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err);
lc_rc lc_store_user_get_by_username(lc_store_t *s, const char *username, json_object **out,
				    lc_err_t *err);
/* The user with its password_hash, for the code that checks a password (login, a change of
 * one's own password) and nothing else: it must not reach a client or a log. */
lc_rc lc_store_user_get_credentials(lc_store_t *s, const char *username, json_object **out,
				    lc_err_t *err);
/* group NULL: any; active -1: any, 0/1: that. Sorted by username. *items: array (no
 * password_hash), *total: count matching the filter ignoring skip/limit. */
lc_rc lc_store_user_list(lc_store_t *s, const char *group, int active, int64_t skip, int64_t limit,
			 json_object **items, int64_t *total, lc_err_t *err);
/* NULL / -1 leaves a field unchanged. */
lc_rc lc_store_user_update(lc_store_t *s, const char *id, const char *display_name,
			   const char *group, int active, json_object **out, lc_err_t *err);
lc_rc lc_store_user_set_password(lc_store_t *s, const char *id, const char *password_hash,
				 lc_err_t *err);
lc_rc lc_store_user_delete(lc_store_t *s, const char *id, lc_err_t *err);
/* Users in group (active_only: only active ones). */
lc_rc lc_store_user_count(lc_store_t *s, const char *group, bool active_only, int64_t *n,
			  lc_err_t *err);

/* ---- the admin gate: every change that may take away an active admin (demotion,
 * deactivation, deletion) runs holding it, so that check ("another active admin remains") and
 * change are one step across processes. take waits up to 5 s for another holder (then
 * UNAVAILABLE); a gate older than 30 s is taken to be a dead holder's and broken. */
lc_rc lc_store_admin_gate_take(lc_store_t *s, lc_err_t *err);
void lc_store_admin_gate_release(lc_store_t *s);

/* ---- permission groups: {id (= name), name, permissions: [..], builtin, created_at} */
lc_rc lc_store_group_create(lc_store_t *s, const char *name, json_object *permissions,
			    json_object **out, lc_err_t *err);
lc_rc lc_store_group_get(lc_store_t *s, const char *name, json_object **out, lc_err_t *err);
lc_rc lc_store_group_list(lc_store_t *s, json_object **items, lc_err_t *err);
lc_rc lc_store_group_update(lc_store_t *s, const char *name, json_object *permissions,
			    json_object **out, lc_err_t *err);
/* CONFLICT for a builtin group (they can be edited, not deleted). */
lc_rc lc_store_group_delete(lc_store_t *s, const char *name, lc_err_t *err);

/* ---- auth sessions: {id (= token sha256 hex), user_id, user: {id, username, display_name,
 * group, active, created_at, updated_at}, permissions: [..], created_at, expires_at}.
 * user and permissions are copies (the user without password_hash; its group's permissions, []
 * when the group is gone) that every user and group change of the store rewrites
 * (lc_store_session_sync_*), so checking a session is one _id read (lc_auth_session_check).
 * create: a user_id that names no user gives a session without copies, which authenticates
 * no one. */
lc_rc lc_store_session_create(lc_store_t *s, const char *token_hash, const char *user_id,
			      int64_t expires_at_ms, lc_err_t *err);
/* One _id read. NOT_FOUND when absent or expired. */
lc_rc lc_store_session_get(lc_store_t *s, const char *token_hash, json_object **out,
			   lc_err_t *err);
lc_rc lc_store_session_delete(lc_store_t *s, const char *token_hash, lc_err_t *err);
/* Revoke every session of user_id except keep_hash (NULL: all). */
lc_rc lc_store_session_delete_user(lc_store_t *s, const char *user_id, const char *keep_hash,
				   lc_err_t *err);
/* Rewrite the copies in every session of user_id from the user and its group as they are now
 * (no such user: its sessions are deleted). lc_store_user_update and _delete call it; an error
 * means the change is stored but sessions may still carry the old copies (call again). */
lc_rc lc_store_session_sync_user(lc_store_t *s, const char *user_id, lc_err_t *err);
/* Rewrite the permissions in every session of a member of group (lc_store_group_update and
 * _delete call it). */
lc_rc lc_store_session_sync_group(lc_store_t *s, const char *group, lc_err_t *err);

/* ---- login throttling: one document per failed password check {username, addr, at}
 * (addr: the client address). add also purges every record older than purge_before_ms (of
 * any username: FerretDB 1.24 has no TTL index), so the collection holds one window. */
lc_rc lc_store_login_failure_add(lc_store_t *s, const char *username, const char *addr,
				 int64_t at_ms, int64_t purge_before_ms, lc_err_t *err);
/* *n: failures since since_ms of username from addr (username NULL: of any username from
 * addr). When *n >= max, *free_at_ms is when fewer than max will be left in a window that
 * ends now - since_ms later (the time a Retry-After counts to); else 0. */
lc_rc lc_store_login_failure_count(lc_store_t *s, const char *username, const char *addr,
				   int64_t since_ms, int64_t max, int64_t *n,
				   int64_t *free_at_ms, lc_err_t *err);
/* Forget the failures of username from addr (addr NULL: from every address). */
lc_rc lc_store_login_failure_clear(lc_store_t *s, const char *username, const char *addr,
				   lc_err_t *err);

/* ---- canned responses: {id, owner_id, shortcut, title, text, created_at, updated_at};
 * shortcut unique per owner (CONFLICT). */
lc_rc lc_store_canned_create(lc_store_t *s, const char *owner_id, const char *shortcut,
			     const char *title, const char *text, json_object **out, lc_err_t *err);
lc_rc lc_store_canned_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err);
/* owner_id NULL: every owner. prefix: shortcut starts with it; q: case-insensitive substring of
 * title or text (matched literally, never as a regex). Sorted by shortcut. */
lc_rc lc_store_canned_list(lc_store_t *s, const char *owner_id, const char *prefix, const char *q,
			   int64_t skip, int64_t limit, json_object **items, int64_t *total,
			   lc_err_t *err);
/* NULL leaves a field unchanged. */
lc_rc lc_store_canned_update(lc_store_t *s, const char *id, const char *shortcut,
			     const char *title, const char *text, json_object **out, lc_err_t *err);
lc_rc lc_store_canned_delete(lc_store_t *s, const char *id, lc_err_t *err);
lc_rc lc_store_canned_delete_owner(lc_store_t *s, const char *owner_id, lc_err_t *err);

/* ---- settings: one document; get returns every key (defaults filled in). */
lc_rc lc_store_settings_get(lc_store_t *s, json_object **out, lc_err_t *err);
/* patch: already validated object with a subset of keys. *out: the full settings after. */
lc_rc lc_store_settings_update(lc_store_t *s, json_object *patch, json_object **out,
			       lc_err_t *err);

/* ---- rooms: {id, channel, customer_id, customer_name, status: waiting|engaged|closed,
 * agent_id, agent_name, declined_by: [user ids], created_at, engaged_at, closed_at,
 * close_reason, last_seq} */
/* Open a waiting room for (channel, customer_id), or return the open one (waiting or engaged)
 * that customer already has: *created tells which. */
lc_rc lc_store_room_open(lc_store_t *s, const char *channel, const char *customer_id,
			 const char *customer_name, json_object **out, bool *created,
			 lc_err_t *err);
/* lc_store_room_open for a customer seen for the first time only (inserts, no read: see
 * docs/store.md "open_rooms"). NOT_FOUND, having done nothing, when the customer has been seen
 * before: their open reads their pointer and their previous room's counter (on FerretDB 1.24
 * scans that grow with the customers stored), which wsd's room writer leaves to a worker.
 * reserve: seqs 1..reserve of the new room reserved for the caller, as lc_store_seq_reserve
 * would, in the counter document the open writes anyway (a writer that allocates seqs itself
 * saves the reservation's read and write); *reserved: how many it holds, 0 when the room was not
 * created here or its counter could not be written (then reserve as usual). */
lc_rc lc_store_room_open_new(lc_store_t *s, const char *channel, const char *customer_id,
			     const char *customer_name, int64_t reserve, int64_t *reserved,
			     json_object **out, bool *created, lc_err_t *err);
lc_rc lc_store_room_get(lc_store_t *s, const char *id, json_object **out, lc_err_t *err);
/* The open room (waiting or engaged) of a customer: NOT_FOUND when none. */
lc_rc lc_store_room_find_open(lc_store_t *s, const char *channel, const char *customer_id,
			      json_object **out, lc_err_t *err);
/* status NULL: any. Newest first. */
lc_rc lc_store_room_list(lc_store_t *s, const char *status, int64_t skip, int64_t limit,
			 json_object **items, int64_t *total, lc_err_t *err);
/* The same, limited to the rooms agent_id took (engaged or closed by then). */
lc_rc lc_store_room_list_taken(lc_store_t *s, const char *agent_id, const char *status,
			       int64_t skip, int64_t limit, json_object **items, int64_t *total,
			       lc_err_t *err);
/* Agent's engaged rooms, each with its last_seq. */
lc_rc lc_store_room_list_agent(lc_store_t *s, const char *agent_id, json_object **items,
			       lc_err_t *err);
/* One conditional update waiting -> engaged. CONFLICT when the room is not waiting (someone
 * else won, or it closed); NOT_FOUND when there is no such room. *out (out may be NULL): the
 * room after, as written (not read again), without last_seq: the claimer's join message comes
 * next and is the room's last. */
lc_rc lc_store_room_claim(lc_store_t *s, const char *id, const char *agent_id,
			  const char *agent_name, json_object **out, lc_err_t *err);
/* One claim of a batch (lc_store_room_claim_many). */
typedef struct lc_store_claim {
	const char *room_id, *agent_id, *agent_name;
	lc_rc rc;               /* out: as lc_store_room_claim */
	lc_err_t err;           /* out */
	json_object *room;      /* out, LC_OK or CONFLICT: as lc_store_room_claim's *out (owned) */
} lc_store_claim_t;
/* Told of each claim of a batch once it is answered (on the caller's thread, during the call). */
typedef void (*lc_store_claim_fn)(lc_store_claim_t *c, void *arg);
/* The claims of n rooms, each as lc_store_room_claim would make it (exactly one winner per
 * room, across processes: the same gates), in at most n + 2 round trips instead of 3n: the
 * rooms read one by one (a room claimed twice in the batch read once), their gates in one
 * unordered insertMany, their updates in one bulk write. A claim whose gate another claim of the
 * batch took is taken once that one's update landed; one whose gate another writer holds, or
 * whose update did not land, goes on alone, as lc_store_room_claim. On CONFLICT, room is the
 * room as it is (which tells taken from closed). settled (may be NULL): called once per claim
 * as it is answered, those going on alone last. */
void lc_store_room_claim_many(lc_store_t *s, lc_store_claim_t *claims, size_t n,
			      lc_store_claim_fn settled, void *arg);
/* Adds agent_id to declined_by once (status unchanged) if the room is waiting; a room taken or
 * closed meanwhile is left as it is (LC_OK: the request is gone anyway). claim/decline/close return
 * LC_ERR_UNAVAILABLE ("room is locked") if another writer holds the room for more than 5 s. */
lc_rc lc_store_room_decline(lc_store_t *s, const char *id, const char *agent_id, lc_err_t *err);
/* Any open status -> closed with reason. CONFLICT when already closed. */
lc_rc lc_store_room_close(lc_store_t *s, const char *id, const char *reason, json_object **out,
			  lc_err_t *err);

/* The secret that marks a room command as coming from a livechat-wsd node (gateways publish to
 * the same exchange and never read MongoDB): 64 hex characters, made once per database (the
 * first caller inserts it, everyone reads the same). out holds 65 bytes. */
lc_rc lc_store_room_writer_secret(lc_store_t *s, char *out, lc_err_t *err);

/* ---- messages: {id, room_id, channel, customer_id, seq, sender: customer|agent|system,
 * author, text, ts}. id is the sender's message id, unique within its room (the same id in two
 * rooms is two messages). seq increases within a room (gaps are possible, order is total). */
/* Store a message once: msg_id is its id in the room (gateway message id, or one wsd generated).
 * A second call with the same room and msg_id stores nothing and returns LC_OK with the stored
 * message and *duplicate = true. seq comes from the room's counter ($inc). */
lc_rc lc_store_message_append(lc_store_t *s, const char *msg_id, const char *room_id,
			      const char *sender, const char *author, const char *text,
			      int64_t ts_ms, json_object **out, bool *duplicate, lc_err_t *err);
/* The message msg_id of room_id (one _id lookup). NOT_FOUND when absent. */
lc_rc lc_store_message_get(lc_store_t *s, const char *room_id, const char *msg_id,
			   json_object **out, lc_err_t *err);
/* Reserve count (>= 1) seqs of room_id with one write to the room's counter: *first to
 * *first + count - 1 are above every seq handed out before (by append or an earlier
 * reservation, on any node), so a writer that takes over a room after a failover starts above
 * anything the old one used. *last_before: the counter before (the highest seq ever handed out,
 * 0 for a new room). On FerretDB two concurrent reservations of one room may overlap (the $inc
 * is not atomic there): one writer per room, and the unique (room_id, seq) index catches the rest. */
lc_rc lc_store_seq_reserve(lc_store_t *s, const char *room_id, int64_t count, int64_t *first,
			   int64_t *last_before, lc_err_t *err);
/* The same, the block also above `above`: a seq the caller knows is handed out (a writer whose
 * block met a seq stored by someone else: the counter may not show every seq of its own block,
 * when two reservations overlapped). */
lc_rc lc_store_seq_reserve_above(lc_store_t *s, const char *room_id, int64_t count, int64_t above,
				 int64_t *first, int64_t *last_before, lc_err_t *err);

/* The room's two marks (one _id lookup): *last the highest seq stored, *reserved the highest
 * seq handed to a writer (0 and 0 for a room without messages). A writer whose block ends
 * below *reserved learns that another writer took the room meanwhile. */
lc_rc lc_store_seq_marks(lc_store_t *s, const char *room_id, int64_t *last, int64_t *reserved,
			 lc_err_t *err);

typedef enum lc_store_msg_result {
	LC_STORE_MSG_FAILED = 0,    /* not stored: err says why (batch unsent, seq taken, ...) */
	LC_STORE_MSG_STORED,
	LC_STORE_MSG_DUPLICATE,     /* the room already had this msg_id: stored holds that one */
} lc_store_msg_result_t;

/* One message of a batch. The caller fills the inputs (strings are borrowed for the call);
 * the batch fills result, stored and err. */
typedef struct lc_store_msg {
	const char *msg_id, *room_id, *channel, *customer_id, *sender, *author, *text;
	int64_t seq, ts_ms;              /* ts_ms <= 0: now */
	lc_store_msg_result_t result;
	json_object *stored;             /* STORED / DUPLICATE: the stored message (caller puts) */
	lc_err_t err;                    /* FAILED: why; its seq stored by someone else, or behind
					  * one of its room's that was: CONFLICT, field "seq" (take
					  * a new seq and store it again) */
} lc_store_msg_t;

/* Store n messages of any rooms, with the seqs the caller allocated, in one ordered insertMany
 * (no read before it; pieces of 100 on FerretDB), and one more for the messages behind each one
 * refused. A duplicate msg_id in its room costs one _id lookup to return the stored message. A
 * room's messages are stored in their order: those behind one whose seq is taken are not stored
 * (CONFLICT on "seq" too: new seqs after it store them). LC_OK when the server answered (each
 * result says what became of its message); LC_ERR_UNAVAILABLE (or another error) when a call
 * could not be sent: then every result is FAILED... and what the call before it or an earlier
 * attempt stored, a retry reports as DUPLICATE. Invalid inputs (sender, empty id, bad room id) fail that message only.
 * Then the last_seq of every room in the batch is raised, and the stored messages appended to
 * their customers' recent (one _id read per room for its count, and per customer for the head of
 * its block; one insertMany of pieces). */
lc_rc lc_store_message_insert_batch(lc_store_t *s, lc_store_msg_t *msgs, size_t n, lc_err_t *err);
/* The same without raising the rooms' last_seq: for a writer that raises them itself, for
 * several batches at once, with lc_store_marks_write. */
lc_rc lc_store_message_insert_many(lc_store_t *s, lc_store_msg_t *msgs, size_t n, lc_err_t *err);
/* ---- recent: each customer's last messages across their rooms, for accept (docs/store.md
 * "recent"): insert-only pieces in the `recent` collection, read by _id. Message number i (from
 * 1) of a customer belongs to block (i - 1) / LC_STORE_RECENT_BLOCK; piece n holds n's block
 * from its first message through n. LC_STORE_RECENT_MAX is the most a read returns (the
 * history_limit setting's maximum). */
#define LC_STORE_RECENT_BLOCK 10
#define LC_STORE_RECENT_MAX 500

typedef struct lc_store_mark {
	const char *room_id;   /* 24-hex */
	int64_t seq;           /* last_seq becomes at least this ($max) */
	int64_t recent;        /* the room's recent count becomes at least this; < 0: unchanged */
} lc_store_mark_t;

/* Piece `last` of a customer's recent: the messages of block (last - 1) / LC_STORE_RECENT_BLOCK
 * from its first (or from message number `from`) through message number last. */
typedef struct lc_store_recent_piece {
	const char *channel, *customer_id;
	int64_t last;
	json_object *items;    /* messages as stored (lc_store_msg_t.stored), oldest first: borrowed */
	int64_t from;          /* 0: the block from its first message; else the first one held (a
				* writer that went on without the block's head: a reader reads
				* piece from - 1 next) */
} lc_store_recent_piece_t;

/* The np pieces (one insertMany; a piece already stored counts as written), then the n rooms'
 * marks (one bulk write, $max: marks never go down): at most two operations. */
lc_rc lc_store_marks_write(lc_store_t *s, const lc_store_mark_t *marks, size_t n,
			   const lc_store_recent_piece_t *pieces, size_t np, lc_err_t *err);
/* The messages of the block holding message number count, through count (a writer going on
 * from count), and *from as the piece says (0: the whole block; count + 1 when the piece is
 * missing): an empty array with *from 0 when count starts no block's middle (count <= 0 or a
 * multiple of LC_STORE_RECENT_BLOCK); one _id read otherwise. */
lc_rc lc_store_recent_head(lc_store_t *s, const char *channel, const char *customer_id,
			   int64_t count, json_object **items, int64_t *from, lc_err_t *err);
/* A customer's recent as one writer goes on with it: its count and its open block. */
typedef struct lc_store_recent_chain {
	int64_t count;         /* messages it has had */
	json_object *block;    /* the messages of count's block through count (owned; NULL: none) */
	int64_t from;          /* 0: block holds its block from the first message; else the number
				* of its first (a writer that went on without reading the head) */
} lc_store_recent_chain_t;
/* The chain going on after count messages without the head of its open block (not read yet):
 * the pieces it writes hold its messages from count + 1 and say so. */
lc_store_recent_chain_t lc_store_recent_chain_headless(int64_t count);
/* Put the head read later (lc_store_recent_head of count, with its from) before the chain's
 * block, when the chain still goes on from count + 1 in that block: then its next pieces hold
 * the block as the head had it. Takes head; false (head freed) when it no longer fits. */
bool lc_store_recent_chain_join_head(lc_store_recent_chain_t *c, int64_t count, json_object *head,
				     int64_t from);
/* The next message (as stored). The chain keeps a deep copy of its own, never a reference to
 * stored: stored goes on to other threads (json-c's reference counts are not atomic). Returns
 * true when it fills its block: then piece `count` holds the whole block and should be
 * written. */
bool lc_store_recent_chain_add(lc_store_recent_chain_t *c, json_object *stored);
/* The chain's copy of its last message (borrowed; NULL when it has none): to share with other
 * things the chain's thread keeps. */
json_object *lc_store_recent_chain_last(const lc_store_recent_chain_t *c);
/* Piece `count` of the chain: its open block (a new array of references to its messages, the
 * caller's to put) and its from. */
lc_store_recent_piece_t lc_store_recent_chain_piece(const lc_store_recent_chain_t *c,
						    const char *channel, const char *customer_id);
void lc_store_recent_chain_clear(lc_store_recent_chain_t *c);
/* Move a closed room's counter document from counters to counters_closed (one _id read, one
 * insert, one delete), so that counters, which every flush of the room writers updates, holds
 * the rooms still in use only: FerretDB 1.24 runs an update by _id as a scan of its collection
 * (docs/store.md "counters"). The seq, recent and last_seq reads find it there. For a room
 * closed, once nothing more is stored in it (wsd's writer calls it wsd_closed_room_keep seconds
 * after the close). */
lc_rc lc_store_counter_retire(lc_store_t *s, const char *room_id, lc_err_t *err);
/* The same for a closed room's document: from rooms (which claims, declines and closes update,
 * and every message of a waiting room reads) to rooms_closed (one _id read, one insert, one
 * delete), and the room_gates its changes left are deleted. A room not closed stays. Every read by id, the lists and the purge and export of
 * livechatctl find it there. */
lc_rc lc_store_room_retire(lc_store_t *s, const char *id, lc_err_t *err);
/* How many messages the recent of the room's customer has had, as the room last recorded it
 * (one _id read), or -1 when the room keeps none (opened by a version before the pieces). */
lc_rc lc_store_recent_count(lc_store_t *s, const char *room_id, int64_t *count, lc_err_t *err);
/* The last limit (<= 0 or above LC_STORE_RECENT_MAX: LC_STORE_RECENT_MAX) messages of the
 * room's customer across their rooms, oldest first, read from the newest piece down (_id reads
 * only: the room's counter and limit / LC_STORE_RECENT_BLOCK + 2 pieces at most). NOT_FOUND
 * when the room keeps none: then lc_store_message_history answers. */
lc_rc lc_store_message_recent(lc_store_t *s, const char *room_id, const char *channel,
			      const char *customer_id, int64_t limit, json_object **items,
			      lc_err_t *err);
/* Of messages as the pieces hold them (all, any order, not taken), the newest limit (<= 0: all)
 * in the order lc_store_message_recent gives: by time, seq within a room, each message once.
 * The result holds references to all's messages. */
json_object *lc_store_recent_pick(json_object *all, int64_t limit);

/* Messages of a room with seq > after_seq (after_seq < 0: from the start), oldest first, at most
 * limit. */
lc_rc lc_store_message_list_after(lc_store_t *s, const char *room_id, int64_t after_seq,
				  int64_t limit, json_object **items, lc_err_t *err);
/* The room's first customer message (*msg NULL when it has none among its first 50 messages): a
 * query over messages (a scan on FerretDB 1.24), for a request whose first message is not
 * known otherwise. */
lc_rc lc_store_message_first_customer(lc_store_t *s, const char *room_id, json_object **msg,
				      lc_err_t *err);
/* Page through a room newest first: seq < before_seq (before_seq <= 0: from the newest). */
lc_rc lc_store_message_list_before(lc_store_t *s, const char *room_id, int64_t before_seq,
				   int64_t limit, json_object **items, lc_err_t *err);
/* The last limit messages of a customer across all their rooms, returned oldest first. */
lc_rc lc_store_message_history(lc_store_t *s, const char *channel, const char *customer_id,
			       int64_t limit, json_object **items, lc_err_t *err);

/* ---- retention (lc_store_retention.c, for livechatctl) */
/* Delete every closed room closed before before_ms, with its messages and seq counter, in
 * batches; open rooms are never touched. *rooms, *messages: how many were deleted. Also every
 * room gate older than a minute (gates left by rooms that never retired). */
lc_rc lc_store_purge_closed(lc_store_t *s, int64_t before_ms, int64_t *rooms, int64_t *messages,
			    lc_err_t *err);
/* Every room of (channel, customer_id), oldest first, each with its messages in seq order:
 * *out = {channel, customer_id, rooms: [{...room, messages: [...]}]} (caller puts). */
lc_rc lc_store_customer_export(lc_store_t *s, const char *channel, const char *customer_id,
			       json_object **out, lc_err_t *err);

#endif
