/* SPDX-License-Identifier: MIT */
/* wsd_metrics: Prometheus text of one wsd node (see metrics.h; the names are in
 * docs/operations.md, Metrics). Written with open_memstream: the text is a few kilobytes. */
#include "config.h"
#include "agent.h"
#include "metrics.h"
#include "busio.h"
#include "conn.h"
#include "hist.h"
#include "listener.h"
#include "room.h"
#include "roomcmd.h"
#include "worker.h"
#include "writer.h"
#include "lc_log.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct kinds {
	uint64_t agent, widget;
} kinds_t;

static void count_kind(wsd_conn_t *c, void *ctx)
{
	kinds_t *k = ctx;
	if (c->ep->customer_channel == NULL)   /* an agent's (conn.h) */
		k->agent++;
	else
		k->widget++;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void hist(FILE *f, const char *name, const char *help, const wsd_hist_t *h)
{
	head(f, name, "histogram", help);
	/* Read in this order, each count at least the one before; the total, read last, is both
	 * +Inf and _count. */
	for (int i = 0; i < WSD_HIST_BUCKETS; i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, (double)wsd_hist_bound_us[i] / 1e6,
			(unsigned long long)wsd_hist_at_most(h, wsd_hist_bound_us[i]));
	uint64_t n = wsd_hist_total(h);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)n);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name,
		(double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6, name,
		(unsigned long long)n);
}

static void connections(FILE *f, wsd_t *w)
{
	kinds_t k = { 0, 0 };
	wsd_conn_each(w, count_kind, &k);
	head(f, "livechat_wsd_connections", "gauge", "open websockets by endpoint");
	fprintf(f, "livechat_wsd_connections{kind=\"agent\"} %llu\n"
		"livechat_wsd_connections{kind=\"widget\"} %llu\n",
		(unsigned long long)k.agent, (unsigned long long)k.widget);
	size_t users, rooms, customers;
	wsd_follow_counts(w, &users, &rooms, &customers);
	head(f, "livechat_wsd_followed", "gauge",
	     "keys this node follows for its connections: agents, rooms watched, widget customers");
	fprintf(f, "livechat_wsd_followed{what=\"agents\"} %zu\n"
		"livechat_wsd_followed{what=\"rooms\"} %zu\n"
		"livechat_wsd_followed{what=\"customers\"} %zu\n", users, rooms, customers);
	/* From the resync's reads (every 30 s), not a read per scrape; -1: not counted yet. */
	head(f, "livechat_wsd_rooms", "gauge",
	     "rooms of the installation by status, as this node's last resync read them (30 s)");
	fprintf(f, "livechat_wsd_rooms{status=\"waiting\"} %lld\n"
		"livechat_wsd_rooms{status=\"engaged\"} %lld\n",
		(long long)w->rooms_waiting, (long long)w->rooms_engaged);
	one(f, "livechat_wsd_frames_received_total", "counter", "websocket text frames received",
	    w->frames_in);
	one(f, "livechat_wsd_frames_sent_total", "counter", "websocket text frames sent",
	    w->frames_out);
	hist(f, "livechat_wsd_loop_post_wait_seconds",
	     "from another thread's result (a stored batch, a delivery, a worker's read) being "
	     "posted to the event loop to the loop running it: how long the loop keeps them waiting",
	     &w->post_wait);
}

static void store(FILE *f, wsd_t *w)
{
	lc_store_stats_t st;
	lc_store_stats(w->store, &st);
	head(f, "livechat_wsd_store_operations_total", "counter",
	     "MongoDB round trips by kind (insert_many: one per batch of up to 100 documents, "
	     "one more after a refused one)");
	for (int k = 0; k < LC_STORE_OP_KINDS; k++)
		fprintf(f, "livechat_wsd_store_operations_total{op=\"%s\"} %llu\n",
			lc_store_op_name((lc_store_op_t)k), (unsigned long long)st.ops[k]);
	head(f, "livechat_wsd_store_operation_seconds_total", "counter",
	     "time spent in MongoDB round trips by kind (over operations_total: the mean latency)");
	for (int k = 0; k < LC_STORE_OP_KINDS; k++)
		fprintf(f, "livechat_wsd_store_operation_seconds_total{op=\"%s\"} %.6f\n",
			lc_store_op_name((lc_store_op_t)k), (double)st.op_us[k] / 1e6);
	one(f, "livechat_wsd_store_batch_documents_total", "counter",
	    "documents sent in insert_many batches (over operations_total{op=\"insert_many\"}: the "
	    "mean batch size)", st.batch_docs);
	one(f, "livechat_wsd_store_messages_stored_total", "counter", "message documents stored",
	    st.messages_stored);
}

static void bus(FILE *f, wsd_t *w)
{
	one(f, "livechat_wsd_rabbitmq_up", "gauge", "1 while the node's RabbitMQ links are up",
	    wsd_busio_linked(w->bus) && wsd_busio_ready(w->bus));
	hist(f, "livechat_wsd_bus_publish_seconds",
	     "from a publish being queued to the broker's confirm, per message",
	     wsd_busio_publish_latency(w->bus));
	hist(f, "livechat_wsd_bus_confirm_seconds",
	     "one publish batch: from being sent to all of its confirms "
	     "(batches do not wait for those before them)",
	     wsd_busio_confirm_latency(w->bus));
	hist(f, "livechat_wsd_bus_ephemeral_publish_seconds",
	     "frames stored nowhere (an agent's typing), on a lane of their own: from the frame's "
	     "publish being queued to the broker's confirm, per message",
	     wsd_busio_ephemeral_latency(w->bus));
	one(f, "livechat_wsd_bus_publish_queue", "gauge", "messages waiting for the publisher",
	    wsd_busio_queued(w->bus));
	one(f, "livechat_wsd_alone", "gauge", "1 while this node is alone in its installation and "
	    "delivers its room events in process (docs/topology.md, \"A node alone\")",
	    wsd_solo_on(w));
	one(f, "livechat_wsd_room_events_in_process_total", "counter",
	    "room events delivered in process, not published, while alone",
	    wsd_solo_events(w));
	uint64_t claims = 0, batches = 0;
	wsd_agent_claims_counts(w, &claims, &batches);
	one(f, "livechat_wsd_claims_total", "counter",
	    "accepts' claims made (each in a batch with those that came meanwhile)", claims);
	one(f, "livechat_wsd_claim_batches_total", "counter",
	    "batches of claims (over claims_total: the claims per batch)", batches);
	one(f, "livechat_wsd_worker_jobs", "gauge",
	    "worker jobs submitted and not finished (queued, waiting to retry, running)",
	    w->workers ? wsd_workers_pending(w->workers) : 0);
}

static void roomcmds(FILE *f, wsd_t *w)
{
	wsd_roomcmd_counts_t rc;
	uint64_t wl = 0, wb = 0;
	wsd_roomcmd_counts(w, &rc);
	head(f, "livechat_wsd_room_commands_total", "counter",
	     "room commands this node sent: to its own writer in process (local), through the broker, "
	     "handed back by the writer (rerouted), stored without a writer (direct)");
	fprintf(f, "livechat_wsd_room_commands_total{path=\"local\"} %llu\n"
		"livechat_wsd_room_commands_total{path=\"broker\"} %llu\n"
		"livechat_wsd_room_commands_total{path=\"rerouted\"} %llu\n"
		"livechat_wsd_room_commands_total{path=\"direct\"} %llu\n",
		(unsigned long long)rc.local, (unsigned long long)rc.broker,
		(unsigned long long)rc.rerouted, (unsigned long long)rc.direct);
	if (w->writer != NULL)
		wsd_writer_stats(w->writer, &wl, &wb);
	head(f, "livechat_wsd_writer_commands_total", "counter",
	     "room commands this node's writer took, in process or from the broker");
	fprintf(f, "livechat_wsd_writer_commands_total{from=\"local\"} %llu\n"
		"livechat_wsd_writer_commands_total{from=\"broker\"} %llu\n",
		(unsigned long long)wl, (unsigned long long)wb);
	uint64_t reads[3] = { 0, 0, 0 };
	if (w->writer != NULL)
		wsd_writer_worker_reads(w->writer, reads);
	head(f, "livechat_wsd_writer_worker_reads_total", "counter",
	     "reads the writer left to a worker instead of waiting for them: a returning customer's "
	     "open (open), an unknown customer's open room (find), the head of a customer's recent's "
	     "open block (head)");
	fprintf(f, "livechat_wsd_writer_worker_reads_total{what=\"open\"} %llu\n"
		"livechat_wsd_writer_worker_reads_total{what=\"find\"} %llu\n"
		"livechat_wsd_writer_worker_reads_total{what=\"head\"} %llu\n",
		(unsigned long long)reads[0], (unsigned long long)reads[1],
		(unsigned long long)reads[2]);
}

char *wsd_metrics_render(wsd_t *w, size_t *len)
{
	WSD_ASSERT_LOOP(w);
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	LC_ASSERT(f != NULL);   /* fails only without memory */
	head(f, "livechat_wsd_info", "gauge", "1, with the node id and version as labels");
	fputs("livechat_wsd_info{node=\"", f);
	for (const char *p = w->node_id; *p; p++)   /* a label value escapes \\ and " */
		fprintf(f, "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
	fprintf(f, "\",version=\"%s\"} 1\n", PACKAGE_VERSION);
	one(f, "livechat_wsd_draining", "gauge", "1 once SIGTERM started the drain", w->draining != 0);
	connections(f, w);
	store(f, w);
	bus(f, w);
	roomcmds(f, w);
	int rc = fclose(f);
	LC_ASSERT(rc == 0);
	return text;
}
