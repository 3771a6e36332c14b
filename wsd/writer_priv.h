/* SPDX-License-Identifier: MIT */
/* wsd_writer_priv: what the room writer's files share (writer.c: items, rounds, the thread;
 * wroom.c: the rooms it knows; wcommand.c: other nodes' room commands). Not part of the API;
 * everything here is the writer thread's unless it says otherwise. */
#ifndef WSD_WRITER_PRIV_H
#define WSD_WRITER_PRIV_H

#include "writer.h"
#include "batch.h"
#include "map.h"
#include "lc_room_status.h"

#include <pthread.h>
#include <sys/queue.h>
#include <time.h>

#define WRITER_MAGIC 0x3717e700U
#define ROUND_MAX 256           /* items per round */
#define ROUND_WAIT_MS 2         /* after the first item, how long a round waits for more (while
				 * the rounds before found company: see writer_main) */
#define ROOM_FRESH_MS 1000      /* a room's status read longer ago is read again before a check */
#define MARKS_EVERY_MS 50       /* under load, the rooms' last_seq is written this often */
#define SWEEP_EVERY_MS 10000   /* how often closed rooms are forgotten (at most) */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000

#define ASSERT_WRITER(wr) LC_ASSERT(pthread_equal(pthread_self(), (wr)->tid))

/* WI_COMMAND: another node's room command, or this node's own that went through the broker
 * (d set); WI_LOCAL: a command of this node handed over in process (no delivery). */
typedef enum witem_kind { WI_GATEWAY, WI_COMMAND, WI_LOCAL } witem_kind_t;

/* One inbound delivery for the writer: created by a submit on the consumer thread, freed by
 * the writer once finished (or dropped at shutdown, unacked). */
typedef struct witem {
	TAILQ_ENTRY(witem) link;
	witem_kind_t kind;
	uint64_t gen;              /* generation of the inbound connection it came on */
	void *in;                  /* WI_GATEWAY: gateway.c's inbound_t */
	lc_bus_delivery_t *d;      /* WI_COMMAND */
	json_object *cmd;          /* WI_COMMAND, WI_LOCAL (both "commands" below): the body */
	wsd_wslot_t slot;          /* commands: its message */
	json_object *room;         /* commands: {id, channel, customer_id, customer_name} */
	lc_rc rc;                  /* commands: refused before storing when not LC_OK */
	lc_err_t err;
	bool drop;                 /* commands: past its deadline: acked, not stored */
	bool forged;               /* commands: without the secret: rejected */
	bool history_done;         /* commands: the answer's history is taken (history) */
	/* commands: it engages or closes its room (a join, an end): a worker waits for it with
	 * an agent's accept or end in hand, so its round starts at once (no ROUND_WAIT_MS). */
	bool urgent;
	json_object *history;      /* commands: the join's history from memory (NULL: none) */
} witem_t;

TAILQ_HEAD(witems, witem);

/* What the writer knows of a room it touched: created when first read, kept while this node
 * holds the inbound queue (forgotten when the inbound connection is new). */
typedef struct wroom {
	json_object *doc;          /* the room as read, with the changes commands told since */
	lc_room_status_t status;   /* never LC_ROOM_UNKNOWN */
	int64_t read_ms;           /* monotonic ms of the read */
	int64_t next_seq;          /* next seq to give (0: no block yet) */
	int64_t block_end;         /* last seq of the reserved block */
	int64_t floor;             /* the highest seq known handed out (by this writer's blocks
				    * given up, or by another node): a new block starts above it */
	bool opened_here;          /* this writer created it: every message of it came through it */
	char *first_id;            /* opened here: msg_id of the first customer message staged */
	json_object *first;        /* its first customer message, once known */
} wroom_t;

/* The head of a customer's open block, read on a worker for the writer (wroom.c). */
typedef struct whead {
	struct whead *next;
	char *channel, *customer_id;
	int64_t count, from;
	json_object *items;        /* NULL: the read failed (the chain stays headless) */
} whead_t;

/* A returning customer's open, done on a worker (wroom.c): their gateway messages wait here
 * meanwhile, in order; the others go on. */
typedef struct wpark {
	struct witems items;
} wpark_t;

/* What a worker's open of a returning customer gave, for the writer's next round. */
typedef struct wopened {
	struct wopened *next;
	char *key;                 /* wsd_workers_customer_key */
	lc_rc rc;
	json_object *room;         /* LC_OK: the open room */
	bool created;
} wopened_t;

struct wsd_writer {
	uint32_t magic;
	wsd_t *w;
	const wsd_writer_ops_t *ops;   /* a gateway message's steps (writer.h) */
	pthread_t tid;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct witems queue;       /* lock: submitted, not taken yet */
	size_t nqueue;             /* lock */
	size_t nurgent;            /* lock: queued commands that change a room's status (below) */
	bool stop;                 /* lock */
	/* writer thread only */
	wsd_map_t *rooms;          /* room id -> wroom_t */
	wsd_map_t *open;           /* wsd_workers_customer_key(channel, customer) -> wroom_t (open) */
	wsd_batch_t *batch;
	witem_t *owner;            /* the item being prepared (owner of what it stages) */
	uint64_t gen;
	/* The inbound generation this node received deliveries on while it is still connected: the
	 * node is the active consumer (x-single-active-consumer delivers to one consumer only, and
	 * keeps it active until its channel closes); 0: not known to be. Written by the consumer
	 * thread (submits, wsd_writer_inbound_gen), read by any. */
	_Atomic uint64_t active_gen;
	uint64_t stat_local, stat_broker;   /* lock: commands taken in process / from the broker */
	int64_t swept_ms;          /* monotonic ms of the last sweep */
	int64_t closed_keep_ms;    /* a closed room is kept this long (wsd_closed_room_keep) */
	int64_t marks_ms;          /* monotonic ms the marks were last written, or the round that
				    * raised the first pending one: they are due MARKS_EVERY_MS on */
	size_t last_taken;         /* items the last round took: one alone (light load) makes the
				    * next round start at once, without ROUND_WAIT_MS */
	int delay_ms;
	bool warned;
	bool marks_warned;           /* a write of the marks failed (said once) */
	whead_t *heads;            /* lock: heads read, to join at the next round */
	wopened_t *opened;         /* lock: opens done by workers, for the next round */
	wsd_map_t *parked;         /* customer key -> wpark_t: their items wait for that open */
	wsd_map_t *open_here;      /* customer keys whose next open the writer does itself (the
				    * worker's failed: the writer's backoff takes over) */
	char *parking;             /* the item being prepared waits for a worker's open: its key */
	_Atomic uint64_t worker_reads[3];   /* wsd_writer_worker_reads: open, find, head */
};

/* MongoDB cannot do it now (the item is held and tried again). */
static inline bool wsd_writer_transient(lc_rc rc)
{
	return rc == LC_ERR_UNAVAILABLE || rc == LC_ERR_TIMEOUT;
}

/* ---- wroom.c */
/* Another node may have written the rooms while this one did not hold the queue: forget them. */
void wsd_wrooms_forget(wsd_writer_t *wr);
/* Forget the rooms closed more than closed_keep_ms ago (at most every SWEEP_EVERY_MS, or
 * closed_keep_ms when shorter), and retire their counters. */
void wsd_wrooms_sweep(wsd_writer_t *wr);
void wsd_wrooms_free(wsd_writer_t *wr);
/* Join the heads the workers have read since (wsd_batch_recent_join_head): at a round's start. */
void wsd_wroom_heads_join(wsd_writer_t *wr);
/* At a round's start: the opens workers finished (their rooms now known), and the items that
 * waited for them put first in items, in their order. */
void wsd_wroom_unpark(wsd_writer_t *wr, struct witems *items);
/* A gateway item (in from) of a customer whose open a worker is doing: it leaves from and
 * waits behind (true). */
bool wsd_wroom_park_behind(wsd_writer_t *wr, witem_t *it, const char *key, struct witems *from);
/* The item just prepared waits for the open it started on a worker (wr->parking): parked. */
void wsd_wroom_park(wsd_writer_t *wr, witem_t *it);
/* At stop: what is parked, not acked (the broker redelivers it). */
void wsd_wroom_parked_free(wsd_writer_t *wr, void (*item_free)(wsd_writer_t *, witem_t *, bool));
/* The room, read again (with its seq marks) when unknown, or when fresh and its status is older
 * than ROOM_FRESH_MS. */
lc_rc wsd_wroom_get(wsd_writer_t *wr, const char *room_id, bool fresh, wroom_t **out,
		    lc_err_t *err);
/* Someone else used a seq of the room's block (a failover race): the next stage takes a new
 * block above every seq handed out. */
void wsd_wroom_block_lost(wsd_writer_t *wr, const char *room_id);
/* The room's block is given up: the next stage takes a new one, above the seqs r handed out
 * and above `above` (a seq another node stored: 0 none). */
void wsd_wroom_block_drop(wroom_t *r, int64_t above);
/* Keep the status the writer now knows of r, and index it as its customer's open room. */
void wsd_wroom_set_status(wsd_writer_t *wr, wroom_t *r, lc_room_status_t st);

/* ---- wcommand.c */
/* Check a room command and stage its message; false: MongoDB cannot now (held). */
bool wsd_wcommand_prepare(wsd_writer_t *wr, witem_t *it);
/* Answer it (once its batch is stored, or refused): a broker command on node.<node_id>, acked
 * once the answer is confirmed; a local one in process (wsd_roomcmd_local_answer). */
void wsd_wcommand_finish(wsd_writer_t *wr, witem_t *it);
/* After the round's batch is stored, before its marks: a relaxed join (wsd_wslot_t) takes
 * its history from the writer's memory now; one that finds it incomplete hurries the marks
 * (its sender reads the pieces after the answer). */
void wsd_wcommand_stored(wsd_writer_t *wr, witem_t *it);
/* A command whose sender gave up (its deadline passed). Any item. */
bool wsd_wcommand_expired(const witem_t *it);
static inline bool wsd_witem_is_command(const witem_t *it)
{
	return it->kind == WI_COMMAND || it->kind == WI_LOCAL;
}

#endif
