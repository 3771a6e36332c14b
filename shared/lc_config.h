/* SPDX-License-Identifier: MIT */
/* lc_config: livechat.conf, whose keys are declared once in a table (name, type, default,
 * bounds, help) in lc_config.c. File syntax: `key = value` lines, blank lines, `#` comments
 * (at line start or after a blank; `a#b` is a value), `key = "quoted value"` kept as written.
 * Environment variables override the file: key `mongo_uri` <- LIVECHAT_MONGO_URI.
 * mongo_uri_file / amqp_url_file name a file holding mongo_uri / amqp_url (relative: in
 * $CREDENTIALS_DIRECTORY); setting a key and its _file key is an error naming both.
 * An unknown key or a bad value is an error naming file, line and key. */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "lc_err.h"

typedef struct lc_config lc_config_t;

/* Defaults only (no file), then environment overrides applied. NULL + err on a bad env value. */
lc_config_t *lc_config_new_defaults(lc_err_t *err);
/* Load path (NULL: defaults + env only), then apply environment overrides.
 * Returns NULL and fills err ("FILE:LINE: unknown key 'x'") on any problem. */
lc_config_t *lc_config_load(const char *path, lc_err_t *err);
void lc_config_free(lc_config_t **cfg);

/* Typed getters; asking for an undeclared key or the wrong type is a bug (LC_ASSERT).
 * A config is immutable once returned: any number of threads may read it concurrently.
 * Strings are owned by cfg and live until lc_config_free. */
const char *lc_config_str(const lc_config_t *cfg, const char *key);
int64_t lc_config_int(const lc_config_t *cfg, const char *key);
int lc_config_bool(const lc_config_t *cfg, const char *key);

/* The default config path: $LIVECHAT_CONFIG if set, else SYSCONFDIR/livechat/livechat.conf. */
const char *lc_config_default_path(void);
/* Print every key with type, default, bounds and help (for `--help-config` and docs) to out
 * (NULL: stdout). */
void lc_config_dump_table(FILE *out);

#endif

/* Keys (see conf/livechat.conf for the documented file):
 *  mongo_uri (str), mongo_uri_file (str), mongo_db (str), amqp_url (str), amqp_url_file (str), amqp_prefix (str, [a-z0-9_.-]+), mongo_db [A-Za-z0-9_-]+,
 *  log_level (str: error|warn|info|debug), log_target (str: stderr|syslog),
 *  pbkdf2_iterations (int 210000..10000000), token_ttl (int s, 60..31536000),
 *  login_max_failures (int 1..100), login_window (int s, 10..86400),
 *  cookie_secure (str: auto|always|never), http_max_body (int 1024..16777216),
 *  wsd_listen (str), wsd_port (int 1..65535), wsd_node_id (str, may be empty),
 *  wsd_max_frame (int 256..1048576), wsd_workers (int 1..64),
 *  wsd_ping_after (int s, 1..3600), wsd_idle_timeout (int s, 2..86400, > wsd_ping_after) */
