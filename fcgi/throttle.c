/* SPDX-License-Identifier: MIT */
/* fcgi throttle: failure counts in the store (per username and address, per address) and the
 * per-process password-check slots, in front of every PBKDF2 verification a client can cause.
 * The slots bound CPU: PBKDF2 at the configured cost takes a core for a good fraction of a
 * second, and an unknown username is hashed too (so it answers like a known one). */
#include "config.h"
#include "throttle.h"
#include "lc_alloc.h"
#include "lc_log.h"
#include "lc_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FCGI_THROTTLE_MAGIC 0x54485231u   /* "THR1" */

struct fcgi_throttle {
	unsigned magic;
	pthread_mutex_t lock;
	int slots;                 /* checks allowed at once */
	int busy;                  /* checks running; busy <= slots */
	char (*addrs)[64];         /* the address of each running check ("" when free) */
};

fcgi_throttle_t *fcgi_throttle_new(int slots)
{
	LC_ASSERT(slots > 0);
	fcgi_throttle_t *t = lc_calloc(1, sizeof *t);
	t->magic = FCGI_THROTTLE_MAGIC;
	pthread_mutex_init(&t->lock, NULL);
	t->slots = slots;
	t->addrs = lc_calloc((size_t)slots, sizeof *t->addrs);
	return t;
}

void fcgi_throttle_free(fcgi_throttle_t **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	fcgi_throttle_t *t = *tp;
	LC_CHECK_OBJ(t, FCGI_THROTTLE_MAGIC);
	pthread_mutex_destroy(&t->lock);
	free(t->addrs);
	t->magic = 0;
	free(t);
	*tp = NULL;
}

/* A free slot for addr, unless addr already holds one or none is free. */
static bool slot_take(fcgi_throttle_t *t, const char *addr)
{
	int free_at = -1;
	bool ok = false;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->slots; i++) {
		if (t->addrs[i][0] == '\0') {
			if (free_at < 0)
				free_at = i;
		} else if (strcmp(t->addrs[i], addr) == 0) {
			goto done;
		}
	}
	if (free_at >= 0) {
		snprintf(t->addrs[free_at], sizeof t->addrs[free_at], "%s", addr);
		t->busy++;
		ok = true;
	}
done:
	pthread_mutex_unlock(&t->lock);
	return ok;
}

static void slot_give(fcgi_throttle_t *t, const char *addr)
{
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->slots; i++)
		if (strcmp(t->addrs[i], addr) == 0) {
			t->addrs[i][0] = '\0';
			t->busy--;
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

static lc_rc refuse(fcgi_response_t *resp, int64_t retry_ms, const char *why, lc_err_t *err)
{
	char secs[24];
	/* Whole seconds, rounded up, and never 0: "now" would invite a busy loop. */
	int64_t s = retry_ms <= 0 ? 1 : (retry_ms + 999) / 1000;
	snprintf(secs, sizeof secs, "%lld", (long long)s);
	fcgi_response_header(resp, "Retry-After", secs);
	return lc_err_set(err, LC_ERR_RATE_LIMITED, "%s; try again later", why);
}

/* Refuse when either count has reached its limit (plus own: the attempt's own record, once
 * it is stored). */
static lc_rc check_counts(lc_store_t *store, const lc_config_t *cfg, fcgi_response_t *resp,
			  const fcgi_throttle_pass_t *pass, int64_t now, int own, lc_err_t *err)
{
	int64_t since = now - lc_config_int(cfg, "login_window") * 1000;
	int64_t max_user = lc_config_int(cfg, "login_max_failures");
	int64_t max_addr = lc_config_int(cfg, "login_max_failures_per_address");
	int64_t n = 0, free_at = 0;
	lc_rc rc = lc_store_login_failure_count(store, pass->username, pass->addr, since, max_user,
						&n, &free_at, err);
	if (rc != LC_OK)
		return rc;
	if (n >= max_user + own) {
		LC_WARN("password checks of a username from %s throttled after %lld failures",
			pass->addr, (long long)n);
		return refuse(resp, free_at - now, "too many failed logins for this user", err);
	}
	rc = lc_store_login_failure_count(store, NULL, pass->addr, since, max_addr, &n, &free_at,
					  err);
	if (rc != LC_OK)
		return rc;
	if (n >= max_addr + own) {
		LC_WARN("password checks from %s throttled after %lld failures", pass->addr,
			(long long)n);
		return refuse(resp, free_at - now, "too many failed logins from this address", err);
	}
	return LC_OK;
}

lc_rc fcgi_throttle_begin(fcgi_throttle_t *t, lc_store_t *store, const lc_config_t *cfg,
			  const fcgi_request_t *req, fcgi_response_t *resp, const char *username,
			  fcgi_throttle_pass_t *pass, lc_err_t *err)
{
	/* The web server's REMOTE_ADDR, or the client a trusted proxy named (proxy.h): behind a
	 * proxy every client would otherwise share its address and its limits. */
	const char *addr = fcgi_request_client_addr(req);
	int64_t now = lc_real_ms();
	int64_t window_ms = lc_config_int(cfg, "login_window") * 1000;
	lc_rc rc;

	memset(pass, 0, sizeof *pass);
	snprintf(pass->addr, sizeof pass->addr, "%s", addr != NULL ? addr : "");
	snprintf(pass->username, sizeof pass->username, "%s", username);
	/* Already over a limit: refused without a record, so the window is not pushed further. */
	if ((rc = check_counts(store, cfg, resp, pass, now, 0, err)) != LC_OK)
		return rc;
	if (t != NULL) {
		LC_CHECK_OBJ(t, FCGI_THROTTLE_MAGIC);
		if (!slot_take(t, pass->addr))
			return refuse(resp, 1000, "too many password checks at once", err);
		pass->t = t;
	}
	/* Record the attempt as a failure BEFORE the slow check and count again with it: attempts
	 * running at the same time in other processes each see the records of those that came
	 * before, so at most the limit of them get to check a password. */
	rc = lc_store_login_failure_add(store, pass->username, pass->addr, now, now - window_ms, err);
	if (rc == LC_OK)
		rc = check_counts(store, cfg, resp, pass, now, 1, err);
	if (rc != LC_OK)
		fcgi_throttle_end(pass);
	return rc;
}

lc_rc fcgi_throttle_success(fcgi_throttle_pass_t *pass, lc_store_t *store, lc_err_t *err)
{
	return lc_store_login_failure_clear(store, pass->username, pass->addr, err);
}

void fcgi_throttle_end(fcgi_throttle_pass_t *pass)
{
	if (pass->t == NULL)
		return;
	slot_give(pass->t, pass->addr);
	pass->t = NULL;
}
