/* SPDX-License-Identifier: MIT */
/* bench/busbind: what a binding costs a livechat-wsd as the bindings grow. A wsd binds
 * `widget.<customer_id>` on its node queue for each widget customer connected to it, through
 * lc_bus, which records each binding for its replay on a new connection (docs/bus-client.md).
 * This binds N keys one by one on one exclusive queue through lc_bus (the same calls, against
 * the real broker), step by step, then unbinds them all, and prints the rate of each step: the
 * broker's round trip plus lc_bus's own work, so a per-binding cost that grows with the
 * bindings held shows as a falling rate. A benchmark: it asserts nothing.
 *   busbind AMQP_URL PREFIX STEP...      e.g. busbind amqp://guest:guest@127.0.0.1:5672/ b1 1000 10000
 * Prints one markdown row per step and direction: | bind or unbind | from | to | seconds | per s | */
#include "lc_bus.h"
#include "lc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void key_of(char *buf, size_t len, const char *prefix, long i)
{
	snprintf(buf, len, "widget.%s-customer-%08ld", prefix, i);
}

/* Binds (or unbinds) keys from..to-1; prints the row. 0, or 1 on an error. */
static int run_step(lc_bus_t *bus, const char *queue, const char *exchange, const char *prefix,
		    bool bind, long from, long to)
{
	char key[128];
	lc_err_t err;
	double t0 = now_s();
	for (long i = from; i < to; i++) {
		key_of(key, sizeof key, prefix, i);
		lc_rc rc = bind ? lc_bus_bind(bus, queue, exchange, key, &err)
				: lc_bus_unbind(bus, queue, exchange, key, &err);
		if (rc != LC_OK) {
			fprintf(stderr, "busbind: %s %s: %s\n", bind ? "bind" : "unbind", key,
				err.reason);
			return 1;
		}
	}
	double secs = now_s() - t0;
	printf("| %s | %ld | %ld | %.2f | %.0f |\n", bind ? "bind" : "unbind",
	       bind ? from : to, bind ? to : from, secs, secs > 0 ? (double)(to - from) / secs : 0);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: busbind AMQP_URL PREFIX STEP...\n");
		return 2;
	}
	lc_log_init("busbind", "stderr", LC_LOG_WARN);
	const char *prefix = argv[2];
	char queue[128], exchange[128];
	snprintf(queue, sizeof queue, "%s.busbind", prefix);
	snprintf(exchange, sizeof exchange, "%s.busbind", prefix);
	lc_err_t err;
	lc_bus_t *bus = lc_bus_new(argv[1], &err);
	if (bus == NULL || lc_bus_declare_exchange(bus, exchange, "topic", false, &err) != LC_OK ||
	    lc_bus_declare_queue(bus, queue, false, true, true, &err) != LC_OK) {
		fprintf(stderr, "busbind: %s\n", err.reason);
		return 1;
	}
	int nsteps = argc - 3;
	long *steps = calloc((size_t)nsteps, sizeof *steps);
	for (int i = 0; i < nsteps; i++) {
		steps[i] = atol(argv[3 + i]);
		if (steps[i] <= (i > 0 ? steps[i - 1] : 0)) {
			fprintf(stderr, "busbind: steps must grow\n");
			return 2;
		}
	}
	int bad = 0;
	for (int i = 0; i < nsteps && !bad; i++)
		bad = run_step(bus, queue, exchange, prefix, true, i > 0 ? steps[i - 1] : 0, steps[i]);
	/* Unbinding from the top step down: the first rows remove from the fullest record. */
	for (int i = nsteps - 1; i >= 0 && !bad; i--)
		bad = run_step(bus, queue, exchange, prefix, false, i > 0 ? steps[i - 1] : 0,
			       steps[i]);
	lc_bus_delete_queue(bus, queue, &err);
	lc_bus_delete_exchange(bus, exchange, &err);
	lc_bus_free(&bus);
	free(steps);
	return bad;
}
