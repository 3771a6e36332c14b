/* SPDX-License-Identifier: MIT */
/* wsd: the context of livechat-wsd shared by its modules (one file per concern: listener, agent,
 * widget, room, gateway, worker, busio, loop). The lws event loop thread owns everything here
 * except what is marked "any thread"; it never calls lc_store_* or lc_bus_* (workers and busio
 * do). The rules are asserted, not only stated: WSD_ASSERT_LOOP, WSD_ASSERT_THREAD (below). */
#ifndef WSD_H
#define WSD_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <libwebsockets.h>

#include "lc_config.h"
#include "lc_err.h"
#include "lc_mq.h"
#include "lc_store.h"
#include "lc_time.h"       /* lc_mono_ms for timers, lc_real_ms for timestamps */
#include "hist.h"

#define WSD_MAGIC 0x77736430u

typedef struct wsd wsd_t;
typedef struct wsd_conn wsd_conn_t;
typedef struct wsd_workers wsd_workers_t;
typedef struct wsd_busio wsd_busio_t;
typedef struct wsd_rooms wsd_rooms_t;
typedef struct wsd_roomcmds wsd_roomcmds_t;
typedef struct wsd_writer wsd_writer_t;
typedef struct wsd_claims wsd_claims_t;

/* A function run on a worker thread or on the loop with its job's argument. */
typedef void (*wsd_fn)(wsd_t *w, void *arg);

struct wsd {
	uint32_t magic;
	lc_config_t *cfg;
	lc_config_t *live;              /* loop only: the file as the last SIGHUP loaded it, read
					 * through wsd_live() for the keys that apply live; NULL: cfg */
	lc_store_t *store;              /* any thread (thread-safe) */
	struct lws_context *lws;
	wsd_workers_t *workers;
	wsd_busio_t *bus;
	wsd_rooms_t *rooms;             /* loop only */
	struct wsd_addrcap *addrcap;    /* per client address counts (addrcap.c); loop only */
	wsd_roomcmds_t *roomcmds;       /* room commands sent, waiting for answers (roomcmd.c) */
	wsd_writer_t *writer;           /* the room writer (writer.c): its own thread */
	wsd_claims_t *claims;           /* accepts waiting for the next batch of claims (agent_claim.c) */
	char node_id[128];
	/* names of the AMQP objects, all starting with amqp_prefix */
	char *ex_inbound, *ex_outbound, *ex_nodes, *q_inbound, *q_node;
	char *q_solo;            /* <prefix>.solo: the lease of a node alone (solo.c) */
	size_t max_frame;
	int session_check_s;
	atomic_int stop;           /* set by a signal or at exit; read by every thread (lock-free) */
	/* SIGTERM: drain (main.c): new websockets and /health get 503, every client is closed
	 * with 1001; the loop ends when the last one is gone or wsd_drain_timeout has passed */
	volatile sig_atomic_t draining;
	volatile sig_atomic_t stats_wanted;     /* SIGUSR1: log the store stats (stats.c) */
	/* The event loop (main.c) runs until its owner needs a turn between runs (a signal: stop,
	 * drain, reload): turn says so, and the loop thread calls loop_break at its next wake-up. */
	volatile sig_atomic_t turn;
	void (*loop_break)(wsd_t *w);

	/* the loop thread (loop.c): who it is, and the completions other threads post to it,
	 * drained on LWS_CALLBACK_EVENT_WAIT_CANCELLED */
	pthread_t loop_tid;
	lc_mq_t *posts;
	/* from wsd_post to the loop running it: how long the loop keeps other threads' results
	 * waiting (a busy or starved loop; the metrics) */
	wsd_hist_t post_wait;

	/* connection registry: handle = generation << 32 | slot, so a late completion never
	 * reaches a different connection that reused the slot */
	wsd_conn_t **slots;
	uint32_t *gens;
	uint32_t nslots, *free_slots, nfree;
	size_t nconns;
	uint64_t frames_in, frames_out;  /* websocket text frames (listener.c; loop only) */
	/* Rooms of the whole installation by status, as the last resync read them (requests.c,
	 * every 30 s; loop only): -1 until a read counted them. For the metrics. */
	int64_t rooms_waiting, rooms_engaged;

	/* settings cache (any thread; wsd/settings.c): read again when a settings event arrives
	 * (wsd_settings_expire) or when older than --settings-check, the fallback for an event lost
	 * while RabbitMQ was away; each reader gets its own copy */
	struct wsd_settings *settings;
	atomic_int request_timeout, reconnect_grace, history_limit;

	lws_sorted_usec_list_t tick;
	lws_sorted_usec_list_t drain_end;   /* wakes the loop at wsd_drain_timeout (main.c) */
	int64_t tick_n;

	/* idle connections (idle.c): loop only */
	uint32_t now_s;                 /* monotonic seconds (coarse clock), set by every tick */
	uint32_t ping_after_s;          /* wsd_ping_after: ping a connection silent this long */
	uint32_t idle_timeout_s;        /* wsd_idle_timeout: drop a connection silent this long */
	uint32_t idle_pos;              /* next slot the round-robin sweep looks at */
};

/* ---- the loop thread (loop.c) */

/* Start-up, on the thread that runs the lws loop (main): remember it, make the post queue. */
void wsd_loop_init(wsd_t *w);
/* Loop, at the end: run what is still posted (w->stop is set: it only frees), free the queue. */
void wsd_loop_free(wsd_t *w);
/* Loop, at the end: take the lws context out of the other threads' reach (their wake-ups), then
 * destroy it; w->lws is NULL after. */
void wsd_loop_context_destroy(wsd_t *w);
/* Any thread: true on the loop thread. */
bool wsd_on_loop(const wsd_t *w);
/* Bugs, never compiled out: a loop-only function called from another thread (the loop owns the
 * connections, the rooms' per-connection state and the registry, unlocked), or a blocking one
 * (MongoDB, RabbitMQ, waits) called on the loop. */
#define WSD_ASSERT_LOOP(w) LC_ASSERT(wsd_on_loop(w))
#define WSD_ASSERT_OFF_LOOP(w) LC_ASSERT(!wsd_on_loop(w))

/* The other threads say what they are when they start (a thread-local tag), so the functions
 * stated "Worker:", "Writer thread", "Consumer thread" can assert it. */
typedef enum wsd_thread {
	WSD_THREAD_OTHER = 0,   /* not tagged: main before the loop starts, tests */
	WSD_THREAD_LOOP,
	WSD_THREAD_WORKER,
	WSD_THREAD_WRITER,
	WSD_THREAD_PUBLISHER,
	WSD_THREAD_CONSUMER,
} wsd_thread_t;
/* The calling thread: tag it (once, first thing in its start function) / its tag. name, when not
 * NULL, becomes the thread's name as top -H, ps -L, /proc/PID/task/TID/comm and perf show it (at
 * most 15 characters; docs/operations.md lists them); the loop keeps the process's name. */
void wsd_thread_set(wsd_thread_t role, const char *name);
wsd_thread_t wsd_thread(void);
#define WSD_ASSERT_THREAD(role) LC_ASSERT(wsd_thread() == (role))
/* Any thread: run done(w, arg) on the loop thread soon (posts run in the order posted). */
void wsd_post(wsd_t *w, wsd_fn done, void *arg);
/* Loop: run everything posted so far. */
void wsd_drain_posts(wsd_t *w);

/* Before any thread starts: the settings cache (wsettings.c over settings.c), read again when
 * older than check_s seconds; the loop's integers start at their defaults. */
void wsd_settings_init(wsd_t *w, int check_s);
/* Worker threads only: the current settings, a private copy owned by the caller (json_object_put
 * it; no json_object crosses threads, json-c's reference counts not being atomic). Read from
 * MongoDB when the snapshot was expired or is older than --settings-check; defaults when
 * MongoDB cannot be read (then tried again two seconds later). */
json_object *wsd_settings_get(wsd_t *w);
/* Any thread, never waits (the loop's form): a private copy of the last settings read, however
 * old (the defaults before the first read). */
json_object *wsd_settings_cached(wsd_t *w);
/* Any thread: the settings changed (a settings event): the next wsd_settings_get reads them,
 * and so does one whose read was under way. */
void wsd_settings_expire(wsd_t *w);
/* Any thread: a template setting rendered (new string). */
char *wsd_settings_render(json_object *settings, const char *key, const char *agent,
			  const char *customer);

/* Loop only: the config to read the keys that apply on SIGHUP from (docs/operations.md:
 * ws_allowed_origins, widget_origins, ws_max_conns_per_address, ws_max_jobs_per_address). */
static inline const lc_config_t *wsd_live(const wsd_t *w)
{
	WSD_ASSERT_LOOP(w);
	return w->live != NULL ? w->live : w->cfg;
}

/* FNV-1a of a string: picks the worker for a key. */
uint32_t wsd_hash(const char *s);

#endif
