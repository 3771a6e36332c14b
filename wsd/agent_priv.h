/* SPDX-License-Identifier: MIT */
/* wsd_agent_priv: what the agent files share (agent.c, agent_auth.c, agent_claim.c,
 * agent_room.c): the one job struct every agent action uses, and the jobs' run (worker) and done
 * (loop) halves that the frame dispatch in agent.c submits. */
#ifndef WSD_AGENT_PRIV_H
#define WSD_AGENT_PRIV_H

#include "agent.h"
#include "worker.h"

/* Jobs one agent connection may have queued or running; frames beyond get error busy. */
#define WSD_AGENT_JOBS_MAX 32

/* One struct for every agent job: the request, then the results. */
typedef struct ajob {
	wsd_t *w;
	uint64_t handle;
	json_object *ref;
	char *op;
	char *token, *user_id, *display_name, *room_id, *client_id, *text, *canned_id;
	char *channel, *customer_id, *customer_name;
	unsigned perms;
	int64_t n1, n2;
	lc_rc rc;
	lc_err_t err;
	json_object *user, *perm_list, *room, *items, *msg;
	char *text2;
	bool dup;
	bool verdict_only;      /* message to a room the connection does not follow: only say why
				 * it cannot be written (not_found, not_open, forbidden) */
	int phase;              /* retried jobs (accept, end): the steps already done */
} ajob_t;

/* A job for connection c (its handle, user, permissions copied; ref kept), counted among the
 * connection's jobs in flight until it is freed (WSD_AGENT_JOBS_MAX). Loop only. */
ajob_t *wsd_ajob_new(wsd_conn_t *c, const char *op, json_object *ref);
void wsd_ajob_free(ajob_t *j);
/* Submit on the worker of the room's customer when known, so the room's jobs stay in order. */
void wsd_ajob_submit(wsd_t *w, ajob_t *j, wsd_fn run, wsd_fn done);
/* The same for a job whose run may ask to be tried again (wsd_workers_submit_retry). */
void wsd_ajob_submit_retry(wsd_t *w, ajob_t *j, wsd_try_fn run, wsd_fn done);
/* The lowest seq among the messages of room_id in items (0: none): a client that got items
 * (accepted, watching) starts there. */
int64_t wsd_ajob_first_seq(json_object *items, const char *room_id);

/* The jobs: run on a worker, done on the loop (then the job is freed). */
/* accept and end store their system message (join, end) before they finish: while MongoDB
 * refuses it they are tried again (the claim or close itself is done once). */
bool wsd_agent_accept_run(wsd_t *w, void *arg);
void wsd_agent_accept_done(wsd_t *w, void *arg);
void wsd_agent_decline_run(wsd_t *w, void *arg);
void wsd_agent_decline_done(wsd_t *w, void *arg);
void wsd_agent_message_run(wsd_t *w, void *arg);
/* Loop: a typed message of a followed room goes to the room's writer without a worker;
 * wsd_agent_message_done runs with the answer. */
void wsd_agent_message_send(wsd_t *w, ajob_t *j);
void wsd_agent_message_done(wsd_t *w, void *arg);
bool wsd_agent_end_run(wsd_t *w, void *arg);
void wsd_agent_end_done(wsd_t *w, void *arg);
void wsd_agent_history_run(wsd_t *w, void *arg);
void wsd_agent_history_done(wsd_t *w, void *arg);
void wsd_agent_resume_run(wsd_t *w, void *arg);
void wsd_agent_resume_done(wsd_t *w, void *arg);

#endif
