/* SPDX-License-Identifier: MIT */
/* livechat-wsd: the websocket daemon. main() reads the config, builds the context (store,
 * worker pool, RabbitMQ threads, node state), runs the libwebsockets event loop until SIGTERM or
 * SIGINT has drained the node (drain_done), and tears everything down in the reverse order.
 * SIGHUP re-reads the config file on the loop thread and applies the live keys (reload). */
#include "config.h"
#include "wsd.h"
#include "addrcap.h"
#include "agent.h"
#include "busio.h"
#include "gateway.h"
#include "idle.h"
#include "listener.h"
#include "room.h"
#include "roomcmd.h"
#include "writer.h"
#include "stats.h"
#include "settings.h"
#include "worker.h"
#include "lc_alloc.h"
#include "lc_log.h"
#include "lc_names.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static wsd_t *the_wsd;   /* for the signal handler only */
/* Set by SIGHUP; the loop thread re-reads the config (a handler may only set a flag). */
static volatile sig_atomic_t reload_pending;

/* ---- start-up helpers */

/* The bus's report of the inbound connection, for the room writer (busio.h inbound_gen). */
static void inbound_gen(wsd_t *w, uint64_t gen)
{
	wsd_writer_inbound_gen(w->writer, gen);
}

static void init_store_run(wsd_t *w, void *arg)
{
	lc_err_t err;
	/* Retried until MongoDB answers: indexes and the settings document must exist. */
	for (int i = 0; !w->stop; i++) {
		if (lc_store_init(w->store, &err) == LC_OK) {
			json_object_put(wsd_settings_get(w));
			wsd_roomcmds_load_secret(w);
			return;
		}
		if (i == 0)
			LC_WARN("MongoDB: %s (retrying)", err.reason);
		sleep(1);
	}
}

/* SIGHUP, on the loop thread: the log keys, the idle timers and the keys read through
 * wsd_live() take the file's values; a file that does not load changes nothing (logged). */
static void reload(wsd_t *w, const char *path)
{
	lc_err_t err;
	lc_err_clear(&err);
	lc_config_t *cfg = lc_config_load(path, &err);
	if (cfg == NULL || !lc_log_reload(path)) {
		if (cfg == NULL)
			LC_ERROR("reload: %s: keeping the running configuration", err.reason);
		lc_config_free(&cfg);
		return;
	}
	wsd_idle_init(w, (uint32_t)lc_config_int(cfg, "wsd_ping_after"),
		      (uint32_t)lc_config_int(cfg, "wsd_idle_timeout"));
	lc_config_free(&w->live);
	w->live = cfg;
	LC_INFO("reload: wsd_ping_after %u, wsd_idle_timeout %u, ws_max_conns_per_address %lld, "
		"ws_max_jobs_per_address %lld", w->ping_after_s, w->idle_timeout_s,
		(long long)lc_config_int(cfg, "ws_max_conns_per_address"),
		(long long)lc_config_int(cfg, "ws_max_jobs_per_address"));
}

static void on_signal(int sig)
{
	if (the_wsd && sig == SIGUSR1) {
		wsd_stats_request(the_wsd);
		return;
	}
	if (sig == SIGHUP) {
		reload_pending = 1;
		if (the_wsd && the_wsd->lws) {
			the_wsd->turn = 1;
			lws_cancel_service(the_wsd->lws);
		}
		return;
	}
	if (the_wsd) {
		/* The first SIGTERM or SIGINT drains (drain_done); a second one stops at once. */
		if (the_wsd->draining)
			the_wsd->stop = 1;
		the_wsd->draining = 1;
		the_wsd->turn = 1;
		if (the_wsd->lws)
			lws_cancel_service(the_wsd->lws);
	}
}

static void drain_end_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;   /* the wake-up is all: the loop returns and drain_done sees the time */
}

/* Loop, while draining: true once the node may stop. The first call closes every websocket
 * with 1001 (new ones already get 503: listener.c); the clients reconnect to another node.
 * Then it waits, up to wsd_drain_timeout in all, for the last connection to go and for the
 * work under way (worker jobs, messages waiting to be published) to finish. */
static bool drain_done(wsd_t *w, int64_t *deadline)
{
	if (*deadline == 0) {
		int timeout_s = lc_config_int(w->cfg, "wsd_drain_timeout");
		*deadline = lc_mono_ms() + 1000 * timeout_s;
		LC_INFO("draining: closing %zu connections", w->nconns);
		wsd_listener_close_all(w);
		/* The loop runs one wake-up at a time now: one comes just past the deadline, not
		 * only at the next tick (whose presence publish would then be counted as left). */
		lws_sul_schedule(w->lws, 0, &w->drain_end, drain_end_cb,
				 (lws_usec_t)timeout_s * LWS_US_PER_SEC + 20000);
	}
	if (lc_mono_ms() >= *deadline) {
		LC_WARN("draining: %zu connections, %zu worker jobs, %zu accepts, %zu publishes left "
			"at the timeout", w->nconns, wsd_workers_pending(w->workers),
			wsd_agent_claims_pending(w), wsd_busio_queued(w->bus));
		return true;
	}
	return w->nconns == 0 && wsd_workers_pending(w->workers) == 0 &&
	       wsd_agent_claims_pending(w) == 0 && wsd_busio_queued(w->bus) == 0;
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	wsd_t *w = lws_container_of(sul, wsd_t, tick);
	if (w->stop)
		return;
	wsd_idle_tick(w);
	wsd_room_tick(w);
	wsd_roomcmd_tick(w);
	wsd_stats_tick(w);
	lws_sul_schedule(w->lws, 0, &w->tick, tick_cb, LWS_US_PER_SEC);
}

/* The event loop is libuv's (epoll), which lws drives as a foreign loop: lws's own loop
 * poll()s every descriptor on every wake-up, so with 19,000 idle widget connections wsd spent
 * 85% of its time in poll and relayed 45% of its round trips (docs/performance.md). */
static uv_loop_t uv_loop;
/* The context until lws has freed it (lws sets it to NULL then: info.pcontext). */
static struct lws_context *lws_alive;

static void loop_break(wsd_t *w)
{
	(void)w;
	uv_stop(&uv_loop);
}

static void lws_log_emit(int level, const char *line)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", line);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		LC_ERROR("lws: %s", buf);
	else
		LC_WARN("lws: %s", buf);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: livechat-wsd [-c FILE] [--session-check SECONDS] [--settings-check SECONDS]\n"
		"                    [--help-config] [--help] [--version]\n"
		"The websocket daemon of livechat. SIGHUP re-reads the config file and applies the\n"
		"keys that change live (log, idle timers, origins, per-address caps); SIGUSR1 logs\n"
		"the store counters; SIGTERM or SIGINT drains it (every websocket closed with 1001,\n"
		"work under way finished, at most wsd_drain_timeout seconds) and stops it;\n"
		"a second SIGTERM or SIGINT stops it at once.\n"
		"  -c FILE                  config file (default: $LIVECHAT_CONFIG or %s)\n"
		"  --session-check SECONDS  how often agent sessions are re-checked (default 30)\n"
		"  --settings-check SECONDS how often the settings are re-read without a settings\n"
		"                           event (default 30)\n"
		"  --help-config            print every config key and exit\n"
		"  --help                   print this help and exit\n"
		"  --version                print the version and exit\n",
		lc_config_default_path());
}

/* A period option: 1..86400 seconds, else a message and false. */
static bool seconds_arg(const char *name, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v < 1 || v > 86400) {
		fprintf(stderr, "livechat-wsd: %s must be 1..86400\n", name);
		return false;
	}
	*out = (int)v;
	return true;
}

/* The writer's steps for a gateway message: gateway.c's (the writer names nothing above it). */
static const wsd_writer_ops_t gateway_steps = {
	.prepare = wsd_gateway_prepare,
	.stored = wsd_gateway_stored,
	.drop = wsd_gateway_drop,
	.seq_taken = wsd_gateway_seq_taken,
	.customer_key = wsd_gateway_customer_key,
	.opened = wsd_gateway_opened,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "session-check", required_argument, NULL, 's' },
		{ "settings-check", required_argument, NULL, 'S' },
		{ "help-config", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfg_path = NULL;
	int session_check = 30, settings_check = 30;
	int opt, status = 1;
	bool uv_ready = false;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 's':
			if (!seconds_arg("--session-check", optarg, &session_check))
				return 2;
			break;
		case 'S':
			if (!seconds_arg("--settings-check", optarg, &settings_check))
				return 2;
			break;
		case 'H': lc_config_dump_table(stdout); return 0;
		case 'h': usage(stdout); return 0;
		case 'V': printf("livechat-wsd %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cfg_path == NULL && access(lc_config_default_path(), R_OK) == 0)
		cfg_path = lc_config_default_path();

	lc_err_t err;
	lc_err_clear(&err);
	wsd_t *w = lc_calloc(1, sizeof *w);
	w->magic = WSD_MAGIC;
	w->rooms_waiting = w->rooms_engaged = -1;   /* not counted until a resync read them */
	wsd_loop_init(w);
	w->session_check_s = session_check;
	wsd_settings_init(w, settings_check);

	w->cfg = lc_config_load(cfg_path, &err);
	if (w->cfg == NULL) {
		fprintf(stderr, "livechat-wsd: %s\n", err.reason);
		goto out;
	}
	int lvl = lc_log_level_parse(lc_config_str(w->cfg, "log_level"));
	lc_log_init("livechat-wsd", lc_config_str(w->cfg, "log_target"),
		    lvl < 0 ? LC_LOG_INFO : (lc_log_level)lvl);
	lws_set_log_level(LLL_ERR, lws_log_emit);

	const char *node = lc_config_str(w->cfg, "wsd_node_id");
	if (node && *node) {
		snprintf(w->node_id, sizeof w->node_id, "%s", node);
	} else {
		char host[64] = "host";
		gethostname(host, sizeof host - 1);
		snprintf(w->node_id, sizeof w->node_id, "%s-%ld", host, (long)getpid());
	}
	for (char *p = w->node_id; *p; p++)
		if (*p == '.' || *p == '*' || *p == '#' || *p == ' ')
			*p = '_';
	const char *prefix = lc_config_str(w->cfg, "amqp_prefix");
	w->ex_inbound = lc_names_inbound(prefix);
	w->ex_outbound = lc_names_outbound(prefix);
	w->ex_nodes = lc_names_nodes(prefix);
	w->q_inbound = lc_names_inbound(prefix);
	w->q_node = lc_names_node_queue(prefix, w->node_id);
	w->q_solo = lc_names_solo(prefix);
	w->max_frame = (size_t)lc_config_int(w->cfg, "wsd_max_frame");
	int64_t ping_after = lc_config_int(w->cfg, "wsd_ping_after");
	int64_t idle_timeout = lc_config_int(w->cfg, "wsd_idle_timeout");
	if (idle_timeout <= ping_after) {
		LC_ERROR("wsd_idle_timeout (%lld) must be larger than wsd_ping_after (%lld)",
			 (long long)idle_timeout, (long long)ping_after);
		goto out;
	}
	wsd_idle_init(w, (uint32_t)ping_after, (uint32_t)idle_timeout);

	w->store = lc_store_new(lc_config_str(w->cfg, "mongo_uri"), lc_config_str(w->cfg, "mongo_db"),
				&err);
	if (w->store == NULL) {
		LC_ERROR("MongoDB: %s", err.reason);
		goto out;
	}
	lc_store_start_monitors(w->store);      /* named as the main thread, not a worker */
	/* The layers above the bus receive what it consumes (busio.h). */
	static const wsd_busio_ops_t bus_ops = {
		.ready = wsd_room_bus_ready,
		.node_event = wsd_room_event,
		.answer = wsd_roomcmd_answer,
		.inbound = wsd_gateway_inbound,
		.inbound_gen = inbound_gen,
	};
	w->bus = wsd_busio_new(w, lc_config_str(w->cfg, "amqp_url"), &bus_ops, &err);
	if (w->bus == NULL) {
		LC_ERROR("RabbitMQ: %s", err.reason);
		goto out;
	}
	wsd_rooms_init(w, wsd_endpoints);
	wsd_roomcmds_init(w);
	wsd_agent_claims_init(w);
	w->addrcap = wsd_addrcap_new(lc_config_str(w->cfg, "trusted_proxies"));
	if (w->addrcap == NULL)
		goto out;
	raise_fd_limit();

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = (int)lc_config_int(w->cfg, "wsd_port");
	const char *listen = lc_config_str(w->cfg, "wsd_listen");
	info.iface = (listen && *listen) ? listen : NULL;
	info.protocols = wsd_protocols;
	info.user = w;
	info.count_threads = 1;
	/* No lws validity timers: lws 4.1 keeps them in one sorted list and re-inserts a
	 * connection on every frame (O(n) each; without a policy its default 300/310 s applies).
	 * A zero hangup turns them off; idle.c pings and drops silent connections instead. */
	static const lws_retry_bo_t no_validity = { NULL, 0, 0, 0, 0, 0 };
	info.retry_and_idle_policy = &no_validity;
	info.timeout_secs = 20;
	/* Room for every header the web servers pass on (lighttpd and Apache refuse more than
	 * 8 KB): a long Cookie header then gets wsd's 400, not a dropped connection (the proxy's
	 * 500). */
	info.max_http_header_data = 16384;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_LIBUV;
	if (uv_loop_init(&uv_loop) != 0) {
		LC_ERROR("libuv: cannot create the event loop");
		goto out;
	}
	uv_ready = true;
	void *foreign_loops[1] = { &uv_loop };
	info.foreign_loops = foreign_loops;
	info.pcontext = &lws_alive;
	w->loop_break = loop_break;
	w->lws = lws_create_context(&info);
	lws_alive = w->lws;
	if (w->lws == NULL) {
		LC_ERROR("cannot listen on %s:%d", listen, info.port);
		goto out;
	}

	w->workers = wsd_workers_new(w, (int)lc_config_int(w->cfg, "wsd_workers"));
	w->writer = wsd_writer_new(w, &gateway_steps);
	wsd_writer_start(w->writer);
	wsd_workers_submit(w->workers, NULL, init_store_run, NULL, NULL);
	wsd_busio_start(w->bus);

	the_wsd = w;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lws_sul_schedule(w->lws, 0, &w->tick, tick_cb, LWS_US_PER_SEC);
	LC_INFO("livechat-wsd node %s listening on %s:%d", w->node_id, listen, info.port);
	int64_t drain_deadline = 0;
	while (!w->stop) {
		/* Runs until loop_break (a signal's turn); while draining, one wake-up at a time,
		 * so the node stops as soon as it is done (it stays the room writer until then). */
		uv_run(&uv_loop, w->draining ? UV_RUN_ONCE : UV_RUN_DEFAULT);
		if (reload_pending) {
			reload_pending = 0;
			reload(w, cfg_path);
		}
		if (w->draining && drain_done(w, &drain_deadline))
			break;
	}
	LC_INFO("livechat-wsd node %s stopping", w->node_id);
	status = 0;
out:
	w->stop = 1;
	if (w->lws) {
		lws_sul_cancel(&w->tick);
		lws_sul_cancel(&w->drain_end);
		wsd_loop_context_destroy(w);
	}
	if (uv_ready) {
		/* lws closes its libuv handles asynchronously: run the loop until they are closed.
		 * lws 4.1 on a foreign loop then waits for a second lws_context_destroy to free the
		 * rest (its vhosts, its descriptor table): without it LeakSanitizer found 330 KB. */
		uv_run(&uv_loop, UV_RUN_DEFAULT);
		if (lws_alive != NULL) {
			lws_context_destroy(lws_alive);
			uv_run(&uv_loop, UV_RUN_DEFAULT);
		}
		if (lws_alive != NULL)
			LC_WARN("libwebsockets: the context was not freed at exit");
		if (uv_loop_close(&uv_loop) != 0)
			LC_WARN("libuv: the event loop still had handles at exit");
	}
	/* The writer and the workers publish: they stop before the bus; the consumer thread may
	 * still hand the writer deliveries until the bus stops, so it is freed after. */
	if (w->writer)
		wsd_writer_stop(w->writer);
	wsd_workers_free(&w->workers);
	/* What the writer and the workers posted as they stopped (answers to other nodes'
	 * commands among it) is published while the bus still runs. */
	wsd_drain_posts(w);
	wsd_busio_free(&w->bus);
	wsd_writer_free(&w->writer);
	wsd_roomcmds_free(w);
	/* Last: the joins still pending, answered by wsd_roomcmds_free, freed their accepts. */
	wsd_agent_claims_free(w);
	if (w->store)
		wsd_stats_log(w);
	wsd_loop_free(w);
	wsd_rooms_free(w);
	wsd_addrcap_free(&w->addrcap);
	lc_store_free(&w->store);
	wsd_settings_free(&w->settings);
	lc_config_free(&w->live);
	lc_config_free(&w->cfg);
	free(w->ex_inbound);
	free(w->ex_outbound);
	free(w->ex_nodes);
	free(w->q_inbound);
	free(w->q_node);
	free(w->q_solo);
	free(w->slots);
	free(w->gens);
	free(w->free_slots);
	the_wsd = NULL;
	free(w);
	return status;
}
