/* SPDX-License-Identifier: MIT */
/* wsd_conn: the connections (conn.h) as every layer sees them: the registry of handles, the send
 * queue and its writes, the error frames, closing. Loop thread only. It calls no other wsd
 * module, so the endpoints and the rooms send to the connection they hold without reaching up
 * into the listener (listener.c, the lws callbacks, creates and frees connections). */
#include "config.h"
#include "conn.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_log.h"

#include <stdlib.h>
#include <string.h>

#define OUT_MAX_BYTES (4u << 20)   /* a client that reads nothing is dropped past this */

struct wsd_out {
	struct wsd_out *next;
	size_t len;
	unsigned char buf[];       /* LWS_PRE bytes, then the frame */
};

/* ---- registry */

uint64_t wsd_conn_register(wsd_t *w, wsd_conn_t *c)
{
	WSD_ASSERT_LOOP(w);
	uint32_t slot;
	if (w->nfree > 0) {
		slot = w->free_slots[--w->nfree];
	} else {
		if (w->nslots % 1024 == 0) {
			size_t n = w->nslots + 1024;
			w->slots = lc_realloc(w->slots, n * sizeof *w->slots);
			w->gens = lc_realloc(w->gens, n * sizeof *w->gens);
			w->free_slots = lc_realloc(w->free_slots, n * sizeof *w->free_slots);
		}
		slot = w->nslots++;
		w->gens[slot] = 0;
	}
	w->gens[slot]++;
	w->slots[slot] = c;
	w->nconns++;
	return ((uint64_t)w->gens[slot] << 32) | slot;
}

void wsd_conn_unregister(wsd_t *w, uint64_t handle)
{
	WSD_ASSERT_LOOP(w);
	uint32_t slot = (uint32_t)handle;
	LC_ASSERT(slot < w->nslots && w->slots[slot] != NULL);
	w->slots[slot] = NULL;
	w->free_slots[w->nfree++] = slot;
	w->nconns--;
}

wsd_conn_t *wsd_conn_find(wsd_t *w, uint64_t handle)
{
	WSD_ASSERT_LOOP(w);
	uint32_t slot = (uint32_t)handle;
	if (slot >= w->nslots || w->gens[slot] != (uint32_t)(handle >> 32))
		return NULL;
	wsd_conn_t *c = w->slots[slot];
	if (c == NULL || c->state == WSD_CS_CLOSING)
		return NULL;
	return c;
}

void wsd_conn_each(wsd_t *w, void (*fn)(wsd_conn_t *c, void *ctx), void *ctx)
{
	WSD_ASSERT_LOOP(w);
	for (uint32_t i = 0; i < w->nslots; i++)
		if (w->slots[i] && w->slots[i]->state != WSD_CS_CLOSING)
			fn(w->slots[i], ctx);
}

/* ---- sending */

void wsd_conn_send_str(wsd_conn_t *c, const char *s, size_t len)
{
	WSD_ASSERT_LOOP(c->w);
	if (c->state == WSD_CS_CLOSING)
		return;
	if (c->out_bytes + len > OUT_MAX_BYTES) {
		LC_WARN("connection %llx reads too slowly: closing", (unsigned long long)c->handle);
		c->state = WSD_CS_CLOSING;
		c->close_code = 1008;
		lws_callback_on_writable(c->wsi);
		return;
	}
	wsd_out_t *o = lc_malloc(sizeof *o + LWS_PRE + len);
	o->next = NULL;
	o->len = len;
	memcpy(o->buf + LWS_PRE, s, len);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += len;
	lws_callback_on_writable(c->wsi);
}

void wsd_conn_send(wsd_conn_t *c, json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	wsd_conn_send_str(c, s, len);
}

void wsd_conn_add_ref(json_object *reply, json_object *ref)
{
	if (ref != NULL)
		json_object_object_add(reply, "ref", json_object_get(ref));
}

json_object *wsd_conn_frame(const char *type, json_object *ref)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	wsd_conn_add_ref(o, ref);
	return o;
}

void wsd_conn_error_about(wsd_conn_t *c, const char *code, const char *msg, const char *room_id,
			  const char *id, json_object *ref)
{
	json_object *o = wsd_conn_frame("error", ref);
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg ? msg : code));
	if (id != NULL)
		json_object_object_add(o, "id", json_object_new_string(id));
	if (room_id != NULL)
		json_object_object_add(o, "room_id", json_object_new_string(room_id));
	wsd_conn_send(c, o);
	json_object_put(o);
}

void wsd_conn_error(wsd_conn_t *c, const char *code, const char *msg, json_object *ref)
{
	wsd_conn_error_about(c, code, msg, NULL, NULL, ref);
}

const char *wsd_conn_rc_code(lc_rc rc)
{
	return lc_rc_ws_code(rc);
}

void wsd_conn_error_room(wsd_conn_t *c, lc_rc rc, const char *msg, const char *room_id,
			 json_object *ref)
{
	wsd_conn_error_about(c, wsd_conn_rc_code(rc), msg, room_id, NULL, ref);
}

void wsd_conn_close(wsd_conn_t *c, uint16_t code, const char *why)
{
	WSD_ASSERT_LOOP(c->w);
	if (c->state == WSD_CS_CLOSING)
		return;
	LC_DEBUG("closing connection %llx: %s", (unsigned long long)c->handle, why);
	c->state = WSD_CS_CLOSING;
	c->close_code = code;
	c->closed_by_server = true;
	lws_callback_on_writable(c->wsi);
}

/* lws 4.1's opcode for a close frame, which its public enum leaves out ("handled by
 * lws_close_reason"). */
#define WSD_WRITE_CLOSE ((enum lws_write_protocol)4)

/* Close with c->close_code: wsd writes the close frame itself on this WRITEABLE and closes on
 * the next. Not lws_close_reason and -1 at once: Debian's lws 4.1 is built with _DEBUG, and on
 * libuv it closes a connection twice after a callback asks for it ("uv repeat test"); the
 * second close kills the socket before the close frame the first one queued is sent, and the
 * client saw 1006 instead of the code. */
static int conn_close_now(wsd_conn_t *c)
{
	if (c->close_queued)
		return -1;
	unsigned char b[LWS_PRE + 2];
	b[LWS_PRE] = (unsigned char)(c->close_code >> 8);
	b[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
	if (lws_write(c->wsi, b + LWS_PRE, 2, WSD_WRITE_CLOSE) < 0)
		return -1;
	c->close_queued = true;
	lws_callback_on_writable(c->wsi);
	return 0;
}

int wsd_conn_write(wsd_conn_t *c)
{
	if (c->close_queued)
		return -1;
	if (c->state == WSD_CS_CLOSING && c->close_code == 1008)
		/* Too slow a reader: drop what is queued instead of sending megabytes first. */
		return conn_close_now(c);
	if (c->ping == WSD_PING_PENDING) {
		/* One lws_write per WRITEABLE: the ping now, queued frames on the next one. The
		 * ping carries a byte because lws 4.1 does not report an empty pong. */
		unsigned char pb[LWS_PRE + 1];
		pb[LWS_PRE] = 'p';
		if (lws_write(c->wsi, pb + LWS_PRE, 1, LWS_WRITE_PING) < 0)
			return -1;
		c->ping = WSD_PING_SENT;
		if (c->out_head != NULL || c->state == WSD_CS_CLOSING)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	wsd_out_t *o = c->out_head;
	if (o != NULL) {
		int n = lws_write(c->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
		if (n < 0)
			return -1;
		c->w->frames_out++;
		c->out_head = o->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		c->out_bytes -= o->len;
		free(o);
	}
	/* One lws_write per WRITEABLE: the close frame on one of its own. */
	if (c->out_head != NULL || (o != NULL && c->state == WSD_CS_CLOSING)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->state == WSD_CS_CLOSING)
		return conn_close_now(c);
	return 0;
}

/* ---- handshake */


void wsd_conn_free_queue(wsd_conn_t *c)
{
	for (wsd_out_t *o = c->out_head, *n; o; o = n) {
		n = o->next;
		free(o);
	}
	c->out_head = c->out_tail = NULL;
	c->out_bytes = 0;
}
