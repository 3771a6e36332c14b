/* SPDX-License-Identifier: MIT */
/* wsd_roomcmd: the sending side of room commands. Every message with a seq is stored by the
 * room's writer (writer.c: the node that holds the inbound queue), so a node that has a message
 * to store in a room (an agent's message, a join, end, no-agent or disconnected text) publishes
 * a command into the inbound queue and gets the stored message back on its node queue
 * (routing key node.<node_id>). When this node is itself the active consumer of the inbound
 * queue, the command goes to its writer in process instead and is answered there (no broker
 * hop); if the node stops being the active consumer before the writer staged it, the writer
 * hands it back and it is published like any other. While RabbitMQ is away the command waits in the publisher and
 * is published again every WSD_ROOMCMD_RESEND_MS until answered (the writer stores it once:
 * message ids are unique in a room), so an answer lost with a node queue during a broker
 * restart is asked for again. A command not answered in time (WSD_ROOMCMD_WAIT_MS, or
 * WSD_ROOMCMD_CALL_MS for a worker's blocking call, which its job retries) is answered
 * LC_ERR_UNAVAILABLE here; the writer drops it unstored when it gets to it later (the command
 * carries that deadline), so the client's re-send with the same id is the one stored. While
 * MongoDB is down the writer answers LC_ERR_UNAVAILABLE at once. A message this node stored
 * itself while RabbitMQ was away (its seq above the writer's block) is named on the node's next
 * commands of that room (above_seq) until the writer answered one: the writer then takes a new
 * block, so the seqs it hands out stay above it. */
#ifndef WSD_ROOMCMD_H
#define WSD_ROOMCMD_H

#include "wsd.h"
#include "lc_bus.h"
#include "lc_message.h"
#include "lc_room_status.h"

#define WSD_ROOMCMD_WAIT_MS 20000
#define WSD_ROOMCMD_CALL_MS 5000
#define WSD_ROOMCMD_RESEND_MS 3000
/* The command type on the inbound exchange; gateways' messages have other types, and a command
 * without the writer secret (lc_store_room_writer_secret) is rejected. */
#define WSD_ROOMCMD_TYPE "wsd_room_append"

/* What the writer answered. */
typedef struct wsd_roomcmd_result {
	lc_rc rc;
	lc_err_t err;
	json_object *msg;       /* LC_OK: the stored message (the done function owns it) */
	bool dup;               /* it was stored before (a re-send) */
	json_object *room;      /* LC_OK: {id, channel, customer_id, customer_name} (owned too) */
	json_object *history;   /* asked for (history_limit): the customer's last messages, from
				 * the writer's memory, when it holds them all; else NULL (owned) */
} wsd_roomcmd_result_t;

/* Called exactly once per command, on the consumer thread (answer), the writer thread (a local
 * answer) or the loop (timeout); it takes res->msg, res->room and res->history
 * (json_object_put them). */
typedef void (*wsd_roomcmd_fn)(wsd_t *w, void *arg, wsd_roomcmd_result_t *res);

/* A message for the room's writer. status (LC_ROOM_UNKNOWN: none) is what the room became just
 * before (the writer's view of it follows): engaged (with agent_id, agent_name) or closed.
 * check_agent (not NULL): store only if the room is engaged with that agent (agents' own
 * messages: FORBIDDEN "not your room", CONFLICT "the room is already closed"). */
typedef struct wsd_roomcmd {
	const char *room_id, *msg_id;
	lc_sender_t sender;     /* LC_SENDER_AGENT or LC_SENDER_SYSTEM (the writer takes no other) */
	const char *author, *text;
	const char *check_agent;
	lc_room_status_t status;
	const char *agent_id, *agent_name;
	/* > 0 (a join): answer with the customer's last history_limit messages too, when the
	 * writer holds them all (wsd_roomcmd_result_t.history). */
	int64_t history_limit;
} wsd_roomcmd_t;

void wsd_roomcmds_init(wsd_t *w);
void wsd_roomcmds_free(wsd_t *w);
/* Worker: read the writer secret (once; retried by later calls while MongoDB is down). */
void wsd_roomcmds_load_secret(wsd_t *w);
/* Any thread: send a command; done(w, arg, res) once. */
void wsd_roomcmd_send(wsd_t *w, const wsd_roomcmd_t *cmd, wsd_roomcmd_fn done, void *arg);
/* Worker: send and wait for the answer. *msg: the stored message; *history (may be NULL): the
 * writer's answer to cmd->history_limit, or NULL. */
lc_rc wsd_roomcmd_call(wsd_t *w, const wsd_roomcmd_t *cmd, json_object **msg, bool *dup,
		       json_object **history, lc_err_t *err);
/* Consumer thread: an answer arrived on the node queue (takes d). */
void wsd_roomcmd_answer(wsd_t *w, lc_bus_delivery_t *d);
/* Writer thread: the answer to a command this node handed to its own writer (takes res->msg and
 * res->room; dropped when the command already timed out here). */
void wsd_roomcmd_local_answer(wsd_t *w, int64_t cmd_id, wsd_roomcmd_result_t *res);
/* Writer thread: this node stopped being the active consumer before its writer staged the
 * command (body: the writer's copy, not taken): publish it to the inbound queue after all. */
void wsd_roomcmd_reroute(wsd_t *w, json_object *body);
/* Any thread: one log line with the counters (sent in process, through the broker, handed back,
 * stored without the writer). */
void wsd_roomcmd_stats_log(wsd_t *w);
/* Any thread: the room commands sent in process, through the broker, handed back by the writer
 * and run without a writer (the counters of the stats line; zeros before wsd_roomcmds_init). */
typedef struct wsd_roomcmd_counts {
	uint64_t local, broker, rerouted, direct;
} wsd_roomcmd_counts_t;
void wsd_roomcmd_counts(wsd_t *w, wsd_roomcmd_counts_t *out);
/* Loop, once a second: publish again the commands not answered for WSD_ROOMCMD_RESEND_MS,
 * answer those past their deadline with LC_ERR_UNAVAILABLE. */
void wsd_roomcmd_tick(wsd_t *w);
/* Any thread: the writer secret, or NULL while it is not loaded yet. */
const char *wsd_roomcmd_secret(wsd_t *w);
/* Worker: store the system message "<room_id>-<suffix>" of room_id through the room's writer
 * (wsd_roomcmd_call), its text the setting key rendered with agent and customer (a re-send
 * finds the stored one). status, agent_id: what the room just became (LC_ROOM_ENGAGED by
 * agent_id named agent, LC_ROOM_CLOSED), so the writer follows. *msg: the stored message. */
lc_rc wsd_roomcmd_system_message(wsd_t *w, const char *room_id, const char *suffix,
				 const char *key, const char *agent, const char *customer,
				 lc_room_status_t status, const char *agent_id, json_object **msg,
				 lc_err_t *err);
/* Worker: the join text of agent_id (display name agent) in room_id, engaging it, as
 * wsd_roomcmd_system_message; *history: the customer's last history_limit messages (the join
 * text last) when the writer holds them all, else NULL: read them from the store. */
lc_rc wsd_roomcmd_join_message(wsd_t *w, const char *room_id, const char *agent,
			       const char *customer, const char *agent_id, int64_t history_limit,
			       json_object **msg, json_object **history, lc_err_t *err);

/* Worker: the same join text sent without waiting (as wsd_roomcmd_send, within
 * WSD_ROOMCMD_CALL_MS): done(w, arg, res) once, res->history as *history above. */
void wsd_roomcmd_join_send(wsd_t *w, const char *room_id, const char *agent,
			   const char *customer, const char *agent_id, int64_t history_limit,
			   wsd_roomcmd_fn done, void *arg);

#endif
