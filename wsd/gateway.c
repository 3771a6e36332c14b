/* SPDX-License-Identifier: MIT */
/* wsd_gateway: inbound gateway messages (docs/gateway.md). The consumer thread hands each
 * delivery to the worker of its customer, which validates and stores it; the loop then forwards
 * it (offer, waiting text, room event) and the delivery is acked once those publishes are
 * confirmed: nothing is acked that is not stored and passed on. */
#include "config.h"
#include "gateway.h"
#include "busio.h"
#include "room.h"
#include "roomcmd.h"
#include "worker.h"
#include "writer.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"
#include "lc_message.h"
#include "lc_validate.h"

#include <stdlib.h>
#include <string.h>

/* An unexpected store error is tried this often in place before the message is requeued. */
#define INTERNAL_TRIES 5

static const char *const inbound_types[] = {
	"request_agent", "customer_message", "customer_left", "customer_typing", NULL
};

/* The ids a gateway makes up (message and customer ids of its network) and channel names. */
static const lc_vpattern_t gateway_id = {
	"[A-Za-z0-9_.:@+=-]+", "letters, digits, '.', '_', ':', '@', '+', '=' and '-'"
};
static const lc_vpattern_t channel_name = { "[a-z0-9_-]+", "lowercase letters, digits, '_' and '-'" };

static const lc_vrule_t inbound_rules[] = {
	{ "type", LC_V_STRING, true, 1, 32, NULL, inbound_types },
	{ "id", LC_V_STRING, true, 1, 128, &gateway_id, NULL },
	{ "channel", LC_V_STRING, true, 1, 32, &channel_name, NULL },
	{ "customer_id", LC_V_STRING, true, 1, 128, &gateway_id, NULL },
	{ "ts", LC_V_INT, true, 0, 0, NULL, NULL },
	{ "customer_name", LC_V_STRING, false, 0, 100, NULL, NULL },
	{ "text", LC_V_STRING, false, 1, 4000, NULL, NULL },
	{ "state", LC_V_BOOL, false, 0, 0, NULL, NULL },
	LC_VRULE_END
};
/* The rules themselves, for the fuzz target of tests/fuzz (gateway.h). */
const lc_vrule_t *const wsd_gateway_inbound_rules = inbound_rules;

typedef struct inbound {
	uint32_t magic;            /* the writer hands it back through void * */
#define INBOUND_MAGIC 0x696e6264u
	lc_bus_delivery_t *d;
	json_object *msg;          /* the parsed inbound message */
	char *type;
	bool invalid, retry;
	bool created;              /* a new room was opened */
	json_object *room;         /* the room after the operation */
	json_object *waiting;      /* the stored waiting text (new rooms) */
	json_object *stored;       /* the stored customer message */
	json_object *first;        /* waiting room: its first customer message, or NULL */
	bool closed;               /* customer_left closed a room */
	bool none;                 /* a worker found no open room of the customer */
	int tries;                 /* failed tries so far (MongoDB down) */
	wsd_wslot_t waiting_slot;  /* the waiting text in the writer's batch */
	wsd_wslot_t stored_slot;   /* the customer message in the writer's batch */
} inbound_t;

json_object *wsd_gateway_out_new(const char *type, const char *id, json_object *room)
{
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e = { .room = &v, .id = id, .ts = lc_real_ms() };
	return wsd_event_outbound_head(type, &e);
}

json_object *wsd_gateway_out_msg(const char *type, json_object *msg, json_object *room,
				 const char *agent_id, const char *agent_name)
{
	wsd_room_view_t v;
	wsd_room_view(&v, room);
	wsd_event_t e;
	wsd_event_of_message(&e, &v, msg);
	e.agent_id = agent_id;
	e.agent_name = agent_name;
	return wsd_event_outbound(type, &e);
}

static void inbound_free(inbound_t *in)
{
	LC_CHECK_OBJ(in, INBOUND_MAGIC);
	in->magic = 0;
	wsd_wslot_clear(&in->waiting_slot);
	wsd_wslot_clear(&in->stored_slot);
	lc_bus_delivery_free(&in->d);
	json_object_put(in->msg);
	free(in->type);
	json_object_put(in->room);
	json_object_put(in->waiting);
	json_object_put(in->stored);
	json_object_put(in->first);
	free(in);
}

/* Each step keeps its result, so a retried inbound message goes on where it failed: the room
 * opened by the first try stays "created", the waiting text is staged once. */
static lc_rc open_room(wsd_t *w, inbound_t *in, lc_err_t *err)
{
	const char *channel = lc_json_get_str(in->msg, "channel", "");
	const char *cid = lc_json_get_str(in->msg, "customer_id", "");
	const char *name = lc_json_get_str(in->msg, "customer_name", NULL);
	if (name == NULL || *name == '\0')
		name = cid;
	lc_rc rc = LC_OK;
	if (in->room == NULL)
		rc = wsd_writer_open_room(w->writer, channel, cid, name, &in->room, &in->created, err);
	if (rc != LC_OK || !in->created || in->waiting_slot.staged)
		return rc;
	json_object *set = wsd_settings_get(w);
	char *text = wsd_settings_render(set, "waiting_message", NULL, name);
	const char *rid = lc_json_get_str(in->room, "id", "");
	char *mid = lc_asprintf("%s-waiting", rid);
	/* Nobody reads the pieces because of it: an accept's join hurries them if it must. */
	in->waiting_slot.relaxed = true;
	rc = wsd_writer_stage(w->writer, rid, mid, lc_sender_name(LC_SENDER_SYSTEM), "", text,
			      lc_real_ms(), &in->waiting_slot, err);
	free(mid);
	free(text);
	json_object_put(set);
	return rc;
}

/* One try at an inbound message on the writer thread; the steps already done are kept in in.
 * Messages are staged in the writer's batch, stored when the round ends. */
static lc_rc inbound_attempt(wsd_t *w, inbound_t *in, lc_err_t *err)
{
	lc_rc rc = LC_OK;
	const char *t = in->type;

	if (strcmp(t, "request_agent") == 0) {
		rc = open_room(w, in, err);
	} else if (strcmp(t, "customer_message") == 0) {
		if (lc_json_get_str(in->msg, "text", NULL) == NULL)
			return lc_err_set(err, LC_ERR_INVALID, "text: required");
		rc = open_room(w, in, err);
		wsd_room_view_t v;
		wsd_room_view(&v, in->room);
		if (rc == LC_OK)
			rc = wsd_writer_stage(w->writer, v.id, lc_json_get_str(in->msg, "id", ""),
					      lc_sender_name(LC_SENDER_CUSTOMER), v.customer_name,
					      lc_json_get_str(in->msg, "text", ""),
					      lc_json_get_int(in->msg, "ts", lc_real_ms()),
					      &in->stored_slot, err);
	} else if (strcmp(t, "customer_left") == 0) {
		if (in->room == NULL)
			rc = in->none ? LC_ERR_NOT_FOUND
				      : wsd_writer_find_open(w->writer,
							     lc_json_get_str(in->msg, "channel", ""),
							     lc_json_get_str(in->msg, "customer_id", ""),
							     &in->room, err);
		if (rc == LC_ERR_NOT_FOUND) {
			rc = LC_OK;
		} else if (rc == LC_OK && !in->closed) {
			json_object *after = NULL;
			rc = wsd_writer_close_room(w->writer, lc_json_get_str(in->room, "id", ""),
						   "customer_left", &after, err);
			if (rc == LC_OK) {
				in->closed = true;
				json_object_put(in->room);
				in->room = after;
			} else if (rc == LC_ERR_CONFLICT) {
				rc = LC_OK;
			}
		}
	} else if (in->room == NULL && !in->none) {
		/* customer_typing: not stored, not worth waiting for (but for its room) */
		rc = wsd_writer_find_open(w->writer, lc_json_get_str(in->msg, "channel", ""),
					  lc_json_get_str(in->msg, "customer_id", ""), &in->room, err);
		if (rc != LC_OK && !wsd_writer_parking(w->writer)) {
			json_object_put(in->room);
			in->room = NULL;
			rc = LC_OK;
		}
	}
	return rc;
}

/* Writer thread: while MongoDB cannot do it the message is held and tried again with a
 * backoff, and everything behind it in the inbound queue waits, so the messages of a customer
 * are stored in the order they were published (a requeue would let a later one overtake it).
 * Nothing is acked before it is stored. */
bool wsd_gateway_prepare(wsd_t *w, void *arg)
{
	WSD_ASSERT_THREAD(WSD_THREAD_WRITER);
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	lc_err_t err;
	lc_err_clear(&err);
	lc_rc rc = inbound_attempt(w, in, &err);
	if (wsd_writer_parking(w->writer))
		return false;   /* its room is being opened on a worker: prepared again after */
	const char *t = in->type, *id = lc_json_get_str(in->msg, "id", "");
	bool transient = rc == LC_ERR_UNAVAILABLE || rc == LC_ERR_TIMEOUT ||
			 (rc == LC_ERR_INTERNAL && in->tries < INTERNAL_TRIES);
	if (transient) {
		if (w->stop) {
			in->retry = true;    /* not acked: the broker gives it to another node */
			return true;
		}
		if (in->tries++ == 0)
			LC_WARN("inbound %s %s: %s (retrying; later messages wait)", t, id,
				err.reason);
		return false;
	}
	if (rc == LC_ERR_INTERNAL) {
		LC_WARN("inbound %s %s: %s (requeued)", t, id, err.reason);
		in->retry = true;
		return true;
	}
	if (rc != LC_OK) {
		LC_WARN("inbound %s %s rejected: %s", t, id, err.reason);
		in->invalid = true;
		return true;
	}
	if (in->tries > 0)
		LC_INFO("inbound %s %s stored after %d retries", t, id, in->tries);
	return true;
}

char *wsd_gateway_customer_key(void *arg)
{
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	return wsd_workers_customer_key(lc_json_get_str(in->msg, "channel", ""),
					lc_json_get_str(in->msg, "customer_id", ""));
}

void wsd_gateway_opened(void *arg, json_object *room, bool created)
{
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	if (in->room != NULL) {   /* cannot be: it waited for its open */
		json_object_put(room);
		return;
	}
	in->room = room;
	in->created = created;
	in->none = room == NULL;
}

static bool room_waiting(json_object *room)
{
	return lc_room_status_parse(lc_json_get_str(room, "status", NULL)) == LC_ROOM_WAITING;
}

/* A staged message's outcome: true when stored (now or before); *out gets it. */
static bool slot_take(inbound_t *in, wsd_wslot_t *slot, json_object **out)
{
	if (!slot->staged)
		return true;
	if (slot->rc != LC_OK) {
		LC_WARN("inbound %s %s: %s (requeued)", in->type, lc_json_get_str(in->msg, "id", ""),
			slot->err.reason);
		in->retry = true;
		return false;
	}
	json_object_put(*out);
	*out = slot->stored;
	slot->stored = NULL;
	return true;
}

static void inbound_done(wsd_t *w, void *arg);

void wsd_gateway_stored(wsd_t *w, void *arg)
{
	WSD_ASSERT_THREAD(WSD_THREAD_WRITER);
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	if (in->invalid || in->retry)
		goto post;
	if (!slot_take(in, &in->waiting_slot, &in->waiting) ||
	    !slot_take(in, &in->stored_slot, &in->stored))
		goto post;
	if (in->stored != NULL && room_waiting(in->room)) {
		/* Read a waiting room again after storing: if an agent claimed it meanwhile, the
		 * event must reach that agent (the claim's history read came before or after this
		 * message; either way nothing is lost). An engaged room keeps its agent until it
		 * closes. */
		json_object *again = NULL;
		lc_err_t err;
		if (lc_store_room_get(w->store, lc_json_get_str(in->room, "id", ""), &again,
				      &err) == LC_OK) {
			json_object_put(in->room);
			in->room = again;
		}
	}
	if (in->room != NULL && room_waiting(in->room))
		in->first = wsd_writer_first_message(w->writer, lc_json_get_str(in->room, "id", ""),
						     in->stored);
post:
	wsd_post(w, inbound_done, in);
}

bool wsd_gateway_seq_taken(wsd_t *w, void *arg, bool (*taken)(void *ctx, wsd_wslot_t *slot),
			   void *ctx)
{
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	(void)w;
	bool a = taken(ctx, &in->waiting_slot);
	bool b = taken(ctx, &in->stored_slot);
	return a || b;
}

void wsd_gateway_drop(wsd_t *w, void *arg)
{
	(void)w;
	inbound_free(arg);
}

static json_object *event_new(const char *type, const char *room_id)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "room_id", json_object_new_string(room_id));
	return o;
}

static void inbound_done(wsd_t *w, void *arg)
{
	inbound_t *in;
	LC_CAST_OBJ(in, arg, INBOUND_MAGIC);
	if (w->stop)
		goto out;
	if (in->invalid) {
		wsd_busio_reject(w->bus, in->d, false);
		in->d = NULL;
		goto out;
	}
	if (in->retry) {
		wsd_busio_reject(w->bus, in->d, true);
		in->d = NULL;
		goto out;
	}
	wsd_room_view_t v;
	wsd_room_view(&v, in->room);
	const char *rid = lc_json_get_str(in->room, "id", NULL);
	bool waiting = v.status == LC_ROOM_WAITING;
	const char *agent = v.status == LC_ROOM_ENGAGED ? v.agent_id : NULL;
	lc_message_t first, stored;   /* empty views when in->first, in->stored are NULL */
	lc_message_view(&first, in->first);
	lc_message_view(&stored, in->stored);

	if (rid && waiting &&
	    (in->created || in->d->redelivered || strcmp(in->type, "request_agent") == 0)) {
		/* Offer (again: receivers ignore a room they already know). */
		json_object *b = json_object_new_object();
		json_object *room = json_object_get(in->room);
		json_object_object_add(room, "first_message",
				       in->first ? json_object_new_string(first.text) : NULL);
		json_object_object_add(b, "type", json_object_new_string("offer"));
		json_object_object_add(b, "room", room);
		wsd_room_broadcast(w, "offer", b);
		json_object_put(b);
	} else if (rid && waiting && in->stored && in->first && *first.id != '\0' &&
		   strcmp(first.id, stored.id) == 0) {
		/* The first message of a request already offered: agents see it in their list. */
		json_object *b = event_new("updated", rid);
		json_object_object_add(b, "first_message", json_object_new_string(first.text));
		wsd_room_broadcast(w, "updated", b);
		json_object_put(b);
	}
	if (rid && in->waiting && (in->created || in->d->redelivered)) {
		json_object *o = wsd_gateway_out_msg("request_waiting", in->waiting, in->room, NULL, NULL);
		wsd_room_publish_outbound(w, o, NULL, NULL);
		json_object_put(o);
	}
	if (rid && in->stored) {
		json_object *ev = event_new("message", rid);
		json_object_object_add(ev, "message", json_object_get(in->stored));
		if (agent)
			json_object_object_add(ev, "agent_id", json_object_new_string(agent));
		wsd_room_publish_event(w, rid, agent, ev, wsd_busio_ack_when_confirmed, in->d);
		in->d = NULL;
		json_object_put(ev);
	} else if (rid && in->closed) {
		/* No stored message: the customer said it; the agent gets customer_left_message. */
		char *mid = lc_asprintf("%s-left", rid);
		wsd_room_end_t end = { .room = in->room, .out_id = mid, .reason = "customer_left" };
		wsd_room_ended(w, &end);
		free(mid);
	} else if (rid && strcmp(in->type, "customer_typing") == 0 && agent) {
		json_object *ev = event_new("typing", rid);
		json_object_object_add(ev, "sender",
				       json_object_new_string(lc_sender_name(LC_SENDER_CUSTOMER)));
		json_object_object_add(ev, "state", json_object_new_boolean(
			lc_json_get_bool(in->msg, "state", true)));
		json_object_object_add(ev, "agent_id", json_object_new_string(agent));
		wsd_room_publish_event(w, rid, agent, ev, NULL, NULL);
		json_object_put(ev);
	}
	if (in->d) {
		/* Acked once whatever was published before is confirmed (one publisher lane, in
		 * order): the ack still follows the forwards. */
		wsd_busio_after_queued(w->bus, wsd_busio_ack_when_confirmed, in->d);
		in->d = NULL;
	}
out:
	inbound_free(in);
}

void wsd_gateway_inbound(wsd_t *w, lc_bus_delivery_t *d)
{
	WSD_ASSERT_THREAD(WSD_THREAD_CONSUMER);
	LC_CHECK_OBJ(d, LC_BUS_DELIVERY_MAGIC);
	inbound_t *in = lc_calloc(1, sizeof *in);
	in->magic = INBOUND_MAGIC;
	in->d = d;
	lc_err_t err;
	lc_err_clear(&err);
	in->msg = lc_json_parse(d->body, d->len, &err);
	if (in->msg != NULL && strcmp(lc_json_get_str(in->msg, "type", ""), WSD_ROOMCMD_TYPE) == 0) {
		/* Another node's message for the room writer: checked there (its secret). Handed
		 * over, not shared: json-c counts references without atomics, so an object is
		 * held by one thread at a time. */
		wsd_writer_submit_command(w->writer, d, in->msg);
		in->msg = NULL;
		in->d = NULL;
		inbound_free(in);
		return;
	}
	json_object *fails = NULL;
	if (in->msg == NULL || !lc_validate(in->msg, inbound_rules, false, &fails)) {
		LC_WARN("inbound message rejected: %s%s",
			in->msg ? "" : err.reason,
			fails ? json_object_to_json_string(fails) : "");
		json_object_put(fails);
		wsd_busio_reject(w->bus, d, false);
		in->d = NULL;
		inbound_free(in);
		return;
	}
	json_object_put(fails);
	in->type = lc_strdup(lc_json_get_str(in->msg, "type", ""));
	wsd_writer_submit_gateway(w->writer, in, d->gen);
}
