/* SPDX-License-Identifier: MIT */
/* fcgi throttle: what a password check (login, current_password) must pass first. Failures
 * are counted in the store per (username, client address) and per client address, over
 * login_window, across every livechat-fcgi process; and each process runs at most
 * login_concurrency password checks at once, one per client address, so hostile logins cannot
 * take the API's CPU. Everything refused is refused before any hashing, with 429 and a
 * Retry-After of the seconds left. */
#ifndef FCGI_THROTTLE_H
#define FCGI_THROTTLE_H

#include <stdbool.h>
#include "lc_config.h"
#include "lc_err.h"
#include "lc_store.h"
#include "request.h"

/* The password-check slots of one process (shared by its serving threads; thread-safe). */
typedef struct fcgi_throttle fcgi_throttle_t;

/* slots: password checks at once (login_concurrency). NULL never: allocation failure aborts. */
fcgi_throttle_t *fcgi_throttle_new(int slots);
void fcgi_throttle_free(fcgi_throttle_t **t);

/* One password check in progress: filled by fcgi_throttle_begin, released by _end. */
typedef struct fcgi_throttle_pass {
	fcgi_throttle_t *t;        /* NULL: no slot held */
	char addr[64];
	char username[72];
} fcgi_throttle_pass_t;

/* Before checking a password of username sent by req's client: refuse (LC_ERR_RATE_LIMITED,
 * with Retry-After set on resp) when that username failed login_max_failures times from this
 * address within login_window, or the address failed login_max_failures_per_address times
 * (any usernames), or no slot is free (t may be NULL: no slot limit); otherwise record a
 * failure (cleared by fcgi_throttle_success), so that attempts running at once in other
 * processes count it, and hold a slot until fcgi_throttle_end. */
lc_rc fcgi_throttle_begin(fcgi_throttle_t *t, lc_store_t *store, const lc_config_t *cfg,
			  const fcgi_request_t *req, fcgi_response_t *resp, const char *username,
			  fcgi_throttle_pass_t *pass, lc_err_t *err);
/* The password was right: forget the failures of that username from that address. */
lc_rc fcgi_throttle_success(fcgi_throttle_pass_t *pass, lc_store_t *store, lc_err_t *err);
/* Release the slot (idempotent; a pass that never got one is fine). */
void fcgi_throttle_end(fcgi_throttle_pass_t *pass);

#endif
