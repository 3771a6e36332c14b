/* SPDX-License-Identifier: MIT */
/* wsd_roomcmd, inside: the pending commands and the seq marks, shared by roomcmd.c (sending,
 * answers, deadlines, the in-process hop, a worker's blocking call) and roomcmd_direct.c (a
 * command stored by this node itself while RabbitMQ is away). Other modules use roomcmd.h. */
#ifndef WSD_ROOMCMD_PRIV_H
#define WSD_ROOMCMD_PRIV_H

#include "roomcmd.h"
#include "map.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#define ROOMCMDS_MAGIC 0x7c0dd001U

/* One per command sent and not answered yet, created by send_wait (roomcmd.c); whoever takes it
 * out of the list (answer, deadline, fallback, a stopping worker) completes and frees it. */
typedef struct pending {
	TAILQ_ENTRY(pending) link;
	uint64_t id;
	int64_t deadline_mono;   /* ms, CLOCK_MONOTONIC */
	int64_t resend_mono;     /* publish again then, if not answered */
	int64_t sent_mono;
	json_object *body;       /* the command as published */
	bool sync;               /* a worker waits for it (never stored by a fallback job) */
	bool local;              /* with this node's writer (not published, not resent) */
	wsd_roomcmd_fn done;
	void *arg;
} pending_t;

struct wsd_roomcmds {
	uint32_t magic;
	pthread_mutex_t lock;
	TAILQ_HEAD(, pending) list;
	uint64_t next_id;
	char secret[65];
	atomic_bool have_secret;
	/* room id -> int64_t *: the highest seq this node stored itself (direct_store) and the
	 * writer has not been told of yet (see direct_mark) */
	wsd_map_t *direct;
	/* counters for the stats line: in process, through the broker, handed back, fallback */
	atomic_uint_fast64_t n_local, n_broker, n_rerouted, n_direct;
};

/* Under r->lock: the highest seq this node stored itself in room_id and the writer was not told
 * of yet (0: none); a command of the room carries it as "above_seq". */
int64_t wsd_roomcmd_mark_of(wsd_roomcmds_t *r, const char *room_id);
/* Any thread (takes r->lock): the writer answered the command body with rc; an above_seq it
 * carried is known there now, so the mark goes unless a higher one came meanwhile. */
void wsd_roomcmd_mark_settled(wsd_roomcmds_t *r, json_object *body, lc_rc rc);
/* At wsd_roomcmds_free: forget the marks. */
void wsd_roomcmd_marks_free(wsd_roomcmds_t *r);
/* Worker: store the command c (a room command body) without the writer; *res as an answer. */
void wsd_roomcmd_direct_store(wsd_t *w, json_object *c, wsd_roomcmd_result_t *res);
/* Any thread: wsd_roomcmd_direct_store body (taken) on the room's worker, then done(arg). */
void wsd_roomcmd_fallback(wsd_t *w, json_object *body, wsd_roomcmd_fn done, void *arg);

#endif
