/* SPDX-License-Identifier: MIT */
/* libFuzzer target: one websocket text (or binary) frame from a client of /ws/agent or
 * /ws/widget, as far as wsd goes before a job would be submitted or an answer sent: the
 * listener's reassembly of fragments and its size limit, JSON parsing, the "ref" and "type"
 * checks and ping, then the endpoint's real frame table (agent.c, widget.c) through
 * wsd_frames_decide (ready, known type, rate, permission, each row's validation rules, job cap)
 * and the error frame of a refusal, queued on the connection as it would be sent.
 * listener.c is compiled in (its receive and handle_frame are static), and conn.c (the send
 * queue), with the libwebsockets calls they make on the connection's wsi answered here: there
 * is no socket.
 * Input: byte 0 = flags (bit 0 widget, 1 ready, 2 a rate token left, 3 room for a job,
 * 4 binary frame, 5 sent in two fragments), byte 1 = the agent's permission bits (WSD_P_*) and,
 * with bit 5, where the frame is cut; the rest is the frame.
 * Invariants (abort when broken): every frame queued is a JSON object whose type is "error"
 * (with a documented code and a message) or "pong"; a frame that passed its row's checks
 * (the handler would run) got no answer, any other got exactly one. */
#include "config.h"

#include <libwebsockets.h>

static int fuzz_first = 1, fuzz_final = 1, fuzz_binary;

/* The connection has no socket: queued frames stay queued (read below), and the fragment
 * flags are the input's. */
#define lws_callback_on_writable(wsi) ((void)(wsi), 0)
#define lws_is_first_fragment(wsi) ((void)(wsi), fuzz_first)
#define lws_is_final_fragment(wsi) ((void)(wsi), fuzz_final)
#define lws_frame_is_binary(wsi) ((void)(wsi), fuzz_binary)
#include "../../wsd/listener.c"
#include "../../wsd/conn.c"

#include "agent.h"
#include "widget.h"
#include "lc_log.h"

#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const error_codes[] = {
	"bad_json", "too_large", "unknown_type", "validation_failed", "not_ready", "forbidden",
	"busy", "rate_limited", NULL
};

/* The gate's answers for this input, and whether a row passed. */
static bool rate_ok, job_ok, passed;

static bool rate_take(void *ctx)
{
	(void)ctx;
	return rate_ok;
}

static bool job_room(void *ctx)
{
	(void)ctx;
	return job_ok;
}

/* The endpoint as wsd_frames_run drives it, stopped where the row's handler would run. */
static void fuzz_frame(wsd_conn_t *c, const char *type, json_object *frame, json_object *ref)
{
	const wsd_frame_table_t *t = c->ep->customer_channel ? wsd_widget_frames : wsd_agent_frames;
	wsd_frame_gate_t gate = { .ready = c->state == WSD_CS_READY, .perms = c->perms,
				  .rate_take = rate_take, .job_room = job_room, .ctx = NULL };
	wsd_frame_refusal_t no;
	const wsd_frame_row_t *row = wsd_frames_decide(t, type, frame, &gate, &no);
	if (row != NULL) {
		if (no.code != NULL || row->handler == NULL || strcmp(row->type, type) != 0)
			abort();
		passed = true;
	} else {
		if (no.code == NULL || no.message == NULL)
			abort();
		wsd_conn_error_about(c, no.code, no.message, no.room_id, no.id, ref);
	}
	wsd_frame_refusal_clear(&no);
}

static const wsd_endpoint_t fuzz_agent = { .on_frame = fuzz_frame };
static const wsd_endpoint_t fuzz_widget = { .customer_channel = "widget", .on_frame = fuzz_frame };

static bool is_error_code(const char *code)
{
	for (size_t i = 0; code && error_codes[i]; i++)
		if (strcmp(code, error_codes[i]) == 0)
			return true;
	return false;
}

/* Check and free what was queued on c; the number of frames. */
static size_t drain(wsd_conn_t *c)
{
	size_t n = 0;
	for (wsd_out_t *o = c->out_head, *next; o; o = next, n++) {
		next = o->next;
		json_object *f = lc_json_parse((const char *)o->buf + LWS_PRE, o->len, NULL);
		const char *type = lc_json_get_str(f, "type", "");
		if (f == NULL || !json_object_is_type(f, json_type_object))
			abort();
		if (strcmp(type, "error") == 0) {
			if (!is_error_code(lc_json_get_str(f, "code", NULL)) ||
			    lc_json_get_str(f, "message", NULL) == NULL)
				abort();
		} else if (strcmp(type, "pong") != 0) {
			abort();
		}
		json_object_put(f);
		free(o);
	}
	c->out_head = c->out_tail = NULL;
	c->out_bytes = 0;
	return n;
}

static wsd_t fuzz_wsd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_init("fuzz_ws_frame", "stderr", LC_LOG_ERROR);
	fuzz_wsd.magic = WSD_MAGIC;
	wsd_loop_init(&fuzz_wsd);   /* inputs run on this thread: it is the loop */
	/* Smaller than the default 16384 so that short inputs reach too_large; the same code. */
	fuzz_wsd.max_frame = 1024;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t flags = data[0], perms = data[1];
	const char *frame = (const char *)data + 2;
	size_t len = size - 2;
	rate_ok = flags & 0x04;
	job_ok = flags & 0x08;
	passed = false;

	wsd_conn_t *c = lc_calloc(1, sizeof *c);
	c->magic = WSD_CONN_MAGIC;
	c->w = &fuzz_wsd;
	c->ep = flags & 0x01 ? &fuzz_widget : &fuzz_agent;
	c->state = flags & 0x02 ? WSD_CS_READY : (c->ep->customer_channel ? WSD_CS_NEW : WSD_CS_AUTH);
	c->perms = perms & 0x1fu;

	fuzz_binary = (flags & 0x10) != 0;
	if (flags & 0x20) {
		size_t cut = len ? (size_t)perms % (len + 1) : 0;
		fuzz_first = 1;
		fuzz_final = 0;
		receive(c, NULL, frame, cut);
		if (c->out_head != NULL)   /* nothing is answered before the last fragment */
			abort();
		fuzz_first = 0;
		fuzz_final = 1;
		receive(c, NULL, frame + cut, len - cut);
	} else {
		fuzz_first = fuzz_final = 1;
		receive(c, NULL, frame, len);
	}
	size_t answers = drain(c);
	if (answers != (passed ? 0u : 1u))
		abort();
	if (c->rx != NULL || c->rx_len != 0)
		abort();
	conn_free(c);
	return 0;
}
