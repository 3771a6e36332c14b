/* SPDX-License-Identifier: MIT */
/* wsd_batch: the messages the writer stores together: filled during a round, stored with one
 * ordered insertMany (lc_store_message_insert_many), each outcome written to its slot; and
 * the rooms' last_seq marks those batches raise, with the pieces of their customers' recent
 * (docs/store.md), written when the writer says (once for many batches under load). Used by the writer thread only. */
#ifndef WSD_BATCH_H
#define WSD_BATCH_H

#include "writer.h"

typedef struct wsd_batch wsd_batch_t;

wsd_batch_t *wsd_batch_new(lc_store_t *store);
void wsd_batch_free(wsd_batch_t **b);
/* Copies the strings. owner: what staged it (for wsd_batch_drop_if). */
void wsd_batch_add(wsd_batch_t *b, const char *room_id, const char *channel,
		   const char *customer_id, const char *msg_id, const char *sender,
		   const char *author, const char *text, int64_t seq, int64_t ts_ms,
		   wsd_wslot_t *slot, void *owner);
size_t wsd_batch_count(const wsd_batch_t *b);
/* Take out the messages whose owner drop(owner, ctx) says (their slots stay not done). */
void wsd_batch_drop_if(wsd_batch_t *b, bool (*drop)(void *owner, void *ctx), void *ctx);
/* Store everything in one insertMany. LC_OK: every slot is done (stored, duplicate, or failed
 * for a reason of its own) and the batch is empty; otherwise (the server cannot be reached)
 * nothing changed and the same batch can be tried again. */
lc_rc wsd_batch_store(wsd_batch_t *b, lc_err_t *err);
/* Whether the batch knows how far the customer's recent goes (else: wsd_batch_recent_start
 * before staging a message of theirs). */
bool wsd_batch_recent_known(const wsd_batch_t *b, const char *channel, const char *customer_id);
/* It has had count messages (lc_store_recent_count of their room; < 0: the room keeps none).
 * The chain goes on without the head of its open block (lc_store_recent_chain_headless): true
 * when count is in the middle of a block, whose head the caller reads off the writer's thread
 * (lc_store_recent_head) and joins later (wsd_batch_recent_join_head); until then the pieces
 * say where they start, and readers read the head piece too. tail: keep their newest messages
 * too, from the head once joined (wsd_batch_recent_history; for a room waiting for an agent). */
bool wsd_batch_recent_start(wsd_batch_t *b, const char *channel, const char *customer_id,
			    int64_t count, bool tail);
/* The head of count's block, read (lc_store_recent_head: head taken, from as it says): put
 * before the chain's messages and its tail's when the chain still goes on from count + 1
 * without it; dropped otherwise (forgotten, started again, or in a later block by now). */
void wsd_batch_recent_join_head(wsd_batch_t *b, const char *channel, const char *customer_id,
				int64_t count, json_object *head, int64_t from);
/* A tail keeps at most n messages (1..LC_STORE_RECENT_MAX; the history_limit setting). */
void wsd_batch_recent_tail_keep(wsd_batch_t *b, int64_t n);
/* Let the customer's tail go (their room no longer waits). */
void wsd_batch_recent_tail_drop(wsd_batch_t *b, const char *channel, const char *customer_id);
/* The customer's last limit messages as accept reads them from the pieces
 * (lc_store_message_recent), from the tail, when it holds them all: a new array of copies
 * (the caller's, free to go to another thread); NULL when it does not. */
json_object *wsd_batch_recent_history(const wsd_batch_t *b, const char *channel,
				      const char *customer_id, int64_t limit);
/* Forget it (unless messages of theirs wait to be written): read again at the next message. */
void wsd_batch_recent_forget(wsd_batch_t *b, const char *channel, const char *customer_id);
/* The same for every customer (another writer may have gone on meanwhile). */
void wsd_batch_recent_forget_all(wsd_batch_t *b);
/* Rooms whose last_seq the stored batches raised and nobody wrote yet. */
size_t wsd_batch_marks_pending(const wsd_batch_t *b);
/* Whether room_id is among them. */
bool wsd_batch_marks_has(const wsd_batch_t *b, const char *room_id);
/* A system message not staged relaxed (an end text; a join whose sender reads recent) is among
 * them, or a relaxed join was hurried: write them before answering, so that an accept reading
 * recent after its join text finds everything stored before it. */
bool wsd_batch_marks_urgent(const wsd_batch_t *b);
/* Make the pending marks urgent (a relaxed join whose answer cannot carry the history). */
void wsd_batch_marks_hurry(wsd_batch_t *b);
/* Write them and the recent pieces (one insertMany of pieces, one bulk write of marks). On
 * failure they stay for the next call. */
lc_rc wsd_batch_flush_marks(wsd_batch_t *b, lc_err_t *err);

#endif
