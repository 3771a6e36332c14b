/* SPDX-License-Identifier: MIT */
/* lc_config: livechat.conf. Every key is declared once in config_keys[] (name, type, default,
 * bounds or allowed values, help); the parser, the environment overrides, the getters and
 * `--help-config` all work from that table. A loaded config is never modified afterwards, so
 * any number of threads may read it without locking. */
#include "config.h"
#include "lc_config.h"
#include "lc_alloc.h"
#include "lc_netlist.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifndef LC_SYSCONFDIR
#define LC_SYSCONFDIR "/etc"
#endif

#define LC_CONFIG_MAGIC 0x6c63636fU   /* "lcco" */
#define ENV_PREFIX "LIVECHAT_"
#define SECRET_LINE_MAX 4096          /* longest URI a *_file key may hold */

typedef enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL } cfg_type;

typedef struct cfg_key {
	const char *name;
	cfg_type type;
	const char *def;                 /* default, written as it would be in the file */
	int64_t min, max;                /* CFG_INT bounds (inclusive) */
	const char *const *allowed;      /* CFG_STR: NULL-terminated allowed values, or NULL */
	const char *charset;             /* CFG_STR: every byte must be one of these, or NULL */
	const char *charset_desc;        /* the same for humans: "a-z0-9_.-" */
	bool nonempty;                   /* CFG_STR: the empty string is refused */
	const char *help;
	const char *file_for;            /* CFG_STR: this key names a file holding that key's value */
	bool (*check)(const char *text, char *why, size_t whylen);   /* CFG_STR: more rules, or NULL */
} cfg_key_t;

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const cookie_modes[] = { "auto", "always", "never", NULL };

/* stderr, syslog, or a file: an absolute path. */
static bool check_log_target(const char *text, char *why, size_t whylen)
{
	if (strcmp(text, "stderr") == 0 || strcmp(text, "syslog") == 0 || text[0] == '/')
		return true;
	snprintf(why, whylen, "must be stderr, syslog or an absolute file path");
	return false;
}

static bool check_netlist(const char *text, char *why, size_t whylen)
{
	lc_netlist_t *list = lc_netlist_parse(text, why, whylen);
	bool ok = list != NULL;
	lc_netlist_free(&list);
	return ok;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ" LOWER_DIGITS

#define STR(n, d, ne, h)             { n, CFG_STR, d, 0, 0, NULL, NULL, NULL, ne, h, NULL, NULL }
#define STR_CS(n, d, cs, desc, h)    { n, CFG_STR, d, 0, 0, NULL, cs, desc, true, h, NULL, NULL }
#define ENUM(n, d, list, h)          { n, CFG_STR, d, 0, 0, list, NULL, NULL, true, h, NULL, NULL }
#define INT(n, d, lo, hi, h)         { n, CFG_INT, d, lo, hi, NULL, NULL, NULL, false, h, NULL, NULL }
/* A secret kept apart from the main file (a systemd credential, a 0640 file). */
#define SECRET_FILE(n, target)       { n, CFG_STR, "", 0, 0, NULL, NULL, NULL, false, \
	"file whose first line is " target " (a relative path is looked up in $CREDENTIALS_DIRECTORY); " \
	"excludes " target, target, NULL }
#define NETS(n, h)                   { n, CFG_STR, "", 0, 0, NULL, NULL, NULL, false, h, NULL, \
	check_netlist }

static const cfg_key_t config_keys[] = {
	STR("mongo_uri", "mongodb://127.0.0.1:27017/", true, "MongoDB connection URI"),
	STR_CS("mongo_db", "livechat", ALNUM "_-", "A-Za-z0-9_-", "MongoDB database name"),
	SECRET_FILE("mongo_uri_file", "mongo_uri"),
	STR("amqp_url", "amqp://guest:guest@127.0.0.1:5672/", true, "RabbitMQ URL"),
	SECRET_FILE("amqp_url_file", "amqp_url"),
	STR("amqp_tls_ca", "", false,
	    "for an amqps:// amqp_url: PEM file of the CAs that sign the broker's certificate "
	    "(verified with the URL's host name, always); empty: the system's CAs"),
	STR("amqp_tls_cert", "", false,
	    "for an amqps:// amqp_url: PEM client certificate, for a broker that asks for one "
	    "(with amqp_tls_key); empty: none"),
	STR("amqp_tls_key", "", false, "PEM private key (unencrypted) of amqp_tls_cert; empty: none"),
	STR_CS("amqp_prefix", "livechat", LOWER_DIGITS "_.-", "a-z0-9_.-",
	       "first part of the name of every exchange and queue livechat declares"),
	ENUM("log_level", "info", log_levels, "log threshold"),
	{ "log_target", CFG_STR, "stderr", 0, 0, NULL, NULL, NULL, true,
	  "where log lines go: stderr (under systemd with journal priorities), syslog, or an "
	  "absolute file path (reopened on SIGHUP, for logrotate)", NULL, check_log_target },
	INT("pbkdf2_iterations", "210000", 210000, 10000000,
	    "PBKDF2-HMAC-SHA512 iterations for new password hashes"),
	INT("token_ttl", "43200", 60, 31536000, "session lifetime in seconds"),
	INT("login_max_failures", "5", 1, 100,
	    "failed password checks allowed per username and client address in login_window"),
	INT("login_max_failures_per_address", "50", 1, 100000,
	    "failed password checks allowed per client address (any usernames) in login_window"),
	INT("login_window", "900", 10, 86400, "seconds over which failed logins are counted"),
	INT("login_concurrency", "2", 1, 64,
	    "password checks one livechat-fcgi process runs at the same time, at most one per client address (more: 429)"),
	ENUM("cookie_secure", "auto", cookie_modes,
	     "Secure flag of the session cookie: auto (when the request came over https), always, never"),
	NETS("trusted_proxies",
	     "addresses or ranges (10.0.0.0/8, ::1; blank- or comma-separated) of proxies in front of "
	     "the web server whose X-Forwarded-Proto / Forwarded proto=, X-Forwarded-For and "
	     "X-Request-Id headers livechat-fcgi believes, and whose X-Forwarded-For livechat-wsd "
	     "believes (ws_max_conns_per_address); empty: nobody's"),
	{ "metrics_allow", CFG_STR, "127.0.0.1, ::1", 0, 0, NULL, NULL, NULL, false,
	  "addresses or ranges (as trusted_proxies) that may read the Prometheus metrics: GET "
	  "/api/metrics of the API (the web server's REMOTE_ADDR) and GET /metrics on each "
	  "livechat-wsd port (the peer address); others get 404; empty: nobody",
	  NULL, check_netlist },
	INT("http_max_body", "65536", 1024, 16777216, "largest REST request body in bytes (larger: 413)"),
	INT("fcgi_threads", "4", 1, 64,
	    "requests one livechat-fcgi process serves at the same time (threads)"),
	STR("wsd_listen", "127.0.0.1", true, "address livechat-wsd listens on"),
	INT("wsd_port", "8090", 1, 65535, "port livechat-wsd listens on"),
	STR("wsd_node_id", "", false, "unique id of this wsd process; empty: hostname-pid"),
	STR("ws_allowed_origins", "", false,
	    "origins (scheme://host[:port], blank- or comma-separated) besides the dashboard's own "
	    "that may open /ws/agent and /ws/widget; empty: /ws/agent only from its own origin, "
	    "/ws/widget from any site (list the sites that embed the widget in widget_origins)"),
	STR("widget_origins", "", false,
	    "origins (as ws_allowed_origins) of the sites that embed the widget: they may open "
	    "/ws/widget, never /ws/agent; with this and ws_allowed_origins empty, /ws/widget opens "
	    "from any site; applied on SIGHUP"),
	INT("wsd_max_frame", "16384", 256, 1048576, "largest websocket frame in bytes"),
	INT("ws_max_conns_per_address", "64", 0, 1000000,
	    "websockets one client address may hold open on one livechat-wsd (more: HTTP 429 at the "
	    "handshake); the address is the peer's, or the X-Forwarded-For client when the peer is "
	    "in trusted_proxies; 0: no limit"),
	INT("ws_max_jobs_per_address", "8", 1, 10000,
	    "widget catch-up reads (welcome, history) one client address may have under way on one "
	    "livechat-wsd (more: error busy)"),
	INT("widget_page_messages", "100", 1, 1000,
	    "most messages a widget welcome or history frame carries (the rest on request)"),
	INT("widget_page_bytes", "262144", 16384, 2097152,
	    "most bytes of messages a widget welcome or history frame carries (at least one message)"),
	INT("wsd_workers", "2", 1, 64, "worker threads of livechat-wsd"),
	INT("wsd_publish_queue_max", "10000", 10, 10000000,
	    "messages livechat-wsd holds for RabbitMQ (not yet confirmed) before it refuses new "
	    "work that needs a publish: agent and widget frames get unavailable, inbound "
	    "deliveries wait in the broker; until half went out. Queued messages are never "
	    "dropped"),
	INT("wsd_closed_room_keep", "60", 1, 3600,
	    "seconds livechat-wsd's room writer keeps a closed room (its end texts come after the "
	    "close) before it forgets it and moves its counter out of the counters every flush "
	    "updates"),
	INT("wsd_drain_timeout", "10", 1, 3600,
	    "seconds livechat-wsd waits on SIGTERM for its websocket clients to go (each is closed "
	    "with 1001) before it stops anyway; then it finishes its stored work and exits"),
	INT("wsd_ping_after", "30", 1, 3600,
	    "seconds a websocket client may stay silent before livechat-wsd pings it"),
	INT("wsd_idle_timeout", "75", 2, 86400,
	    "seconds of silence after which livechat-wsd drops a websocket (above wsd_ping_after)"),
};
#define NKEYS (sizeof config_keys / sizeof config_keys[0])

typedef struct cfg_value {
	char *s;            /* CFG_STR */
	int64_t i;          /* CFG_INT, CFG_BOOL (0/1) */
	int line;           /* line of the file that set it, 0 when not from the file */
	bool set;           /* set by the file or the environment (not the default) */
} cfg_value_t;

struct lc_config {
	unsigned magic;
	cfg_value_t v[NKEYS];
};

static const cfg_key_t *find_key(const char *name, size_t *index)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0) {
			if (index != NULL)
				*index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

static void join_list(const char *const *list, const char *sep, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; list[i] != NULL; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? sep : "", list[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

/* Parse text for key k into *out. On failure writes a reason ("must be ...") into why. */
static bool parse_value(const cfg_key_t *k, const char *text, cfg_value_t *out, char *why, size_t whylen)
{
	switch (k->type) {
	case CFG_INT: {
		char *end = NULL;
		errno = 0;
		long long n = strtoll(text, &end, 10);
		if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0' || errno == ERANGE) {
			snprintf(why, whylen, "must be an integer between %" PRId64 " and %" PRId64,
				 k->min, k->max);
			return false;
		}
		if (n < k->min || n > k->max) {
			snprintf(why, whylen, "must be between %" PRId64 " and %" PRId64, k->min, k->max);
			return false;
		}
		out->i = n;
		return true;
	}
	case CFG_BOOL: {
		static const char *const yes[] = { "true", "yes", "on", "1", NULL };
		static const char *const no[] = { "false", "no", "off", "0", NULL };
		for (size_t i = 0; yes[i] != NULL; i++) {
			if (strcasecmp(text, yes[i]) == 0) {
				out->i = 1;
				return true;
			}
			if (strcasecmp(text, no[i]) == 0) {
				out->i = 0;
				return true;
			}
		}
		snprintf(why, whylen, "must be true or false");
		return false;
	}
	case CFG_STR:
		if (k->nonempty && text[0] == '\0') {
			snprintf(why, whylen, "must not be empty");
			return false;
		}
		if (k->allowed != NULL) {
			bool found = false;
			for (size_t i = 0; k->allowed[i] != NULL && !found; i++)
				found = strcmp(k->allowed[i], text) == 0;
			if (!found) {
				char list[160];
				join_list(k->allowed, ", ", list, sizeof list);
				snprintf(why, whylen, "must be one of: %s", list);
				return false;
			}
		}
		if (k->charset != NULL && strspn(text, k->charset) != strlen(text)) {
			snprintf(why, whylen, "may contain only the characters [%s]", k->charset_desc);
			return false;
		}
		if (k->check != NULL && !k->check(text, why, whylen))
			return false;
		free(out->s);
		out->s = lc_strdup(text);
		return true;
	}
	LC_ASSERT(!"unknown config key type");
	return false;
}

static lc_config_t *config_alloc_defaults(void)
{
	lc_config_t *cfg = lc_calloc(1, sizeof *cfg);
	char why[LC_ERR_REASON_MAX];

	cfg->magic = LC_CONFIG_MAGIC;
	for (size_t i = 0; i < NKEYS; i++) {
		/* A default that fails its own bounds is a bug in the table. */
		bool ok = parse_value(&config_keys[i], config_keys[i].def, &cfg->v[i], why, sizeof why);
		LC_ASSERT(ok);
	}
	return cfg;
}

static bool apply_env(lc_config_t *cfg, lc_err_t *err)
{
	char var[96], why[LC_ERR_REASON_MAX];

	for (size_t i = 0; i < NKEYS; i++) {
		const cfg_key_t *k = &config_keys[i];
		size_t n = snprintf(var, sizeof var, ENV_PREFIX "%s", k->name);
		LC_ASSERT(n < sizeof var);
		for (char *p = var; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		const char *val = getenv(var);
		if (val == NULL)
			continue;
		if (!parse_value(k, val, &cfg->v[i], why, sizeof why)) {
			lc_err_set_field(err, LC_ERR_INVALID, k->name, "environment variable %s: %s", var, why);
			return false;
		}
		cfg->v[i].line = 0;
		cfg->v[i].set = true;
	}
	return true;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cut a comment off an unquoted value: '#' starts one only after a blank, so that
 * `amqp_url = amqp://u:pa#ss@h/` keeps its '#' while `key = v  # note` loses the note. */
static void cut_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* The value after '=': either "quoted" (kept as written, blanks and '#' included; no '"'
 * inside) followed only by blanks or a comment, or unquoted (see cut_comment, then trimmed).
 * Returns NULL with why filled on a bad quoted value. */
static char *split_value(char *text, char *why, size_t whylen)
{
	char *val = trim(text);
	if (*val != '"') {
		cut_comment(val);
		return trim(val);
	}
	char *close = strchr(val + 1, '"');
	if (close == NULL) {
		snprintf(why, whylen, "missing closing '\"'");
		return NULL;
	}
	*close = '\0';
	char *rest = trim(close + 1);
	if (*rest != '\0' && *rest != '#') {
		snprintf(why, whylen, "only a comment may follow a quoted value");
		return NULL;
	}
	return val + 1;
}

static bool load_file(lc_config_t *cfg, const char *path, lc_err_t *err)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	int lineno = 0;
	bool ok = false;
	char why[LC_ERR_REASON_MAX];

	if (f == NULL) {
		lc_err_set(err, LC_ERR_INVALID, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	while (getline(&buf, &cap, f) != -1) {
		lineno++;
		char *line = trim(buf);
		if (*line == '\0' || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL) {
			lc_err_set(err, LC_ERR_INVALID, "%s:%d: expected 'key = value'", path, lineno);
			goto fail;
		}
		*eq = '\0';
		char *key = trim(line);
		size_t idx;
		const cfg_key_t *k = find_key(key, &idx);
		if (k == NULL) {
			lc_err_set_field(err, LC_ERR_INVALID, key, "%s:%d: unknown key '%.64s'", path, lineno, key);
			goto fail;
		}
		if (cfg->v[idx].line != 0) {
			lc_err_set_field(err, LC_ERR_INVALID, key, "%s:%d: key '%s' already set on line %d",
					 path, lineno, key, cfg->v[idx].line);
			goto fail;
		}
		char *val = split_value(eq + 1, why, sizeof why);
		if (val == NULL || !parse_value(k, val, &cfg->v[idx], why, sizeof why)) {
			lc_err_set_field(err, LC_ERR_INVALID, key, "%s:%d: key '%s': %s", path, lineno, key, why);
			goto fail;
		}
		cfg->v[idx].line = lineno;
		cfg->v[idx].set = true;
	}
	if (ferror(f)) {
		lc_err_set(err, LC_ERR_INVALID, "%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	ok = true;
fail:
	free(buf);
	fclose(f);
	return ok;
}

/* Read the first line of the file key k names into its target key. */
static bool read_secret(lc_config_t *cfg, const cfg_key_t *k, const char *name, const char *where,
			lc_err_t *err)
{
	char full[4096], why[LC_ERR_REASON_MAX];
	char line[SECRET_LINE_MAX + 2];   /* the line, its newline, the NUL */
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	size_t idx = 0;
	bool ok = false;

	if (name[0] != '/' && creds != NULL && creds[0] != '\0')
		snprintf(full, sizeof full, "%s/%s", creds, name);
	else
		snprintf(full, sizeof full, "%s", name);
	FILE *f = fopen(full, "r");
	if (f == NULL) {
		lc_err_set_field(err, LC_ERR_INVALID, k->name, "%s: key '%s': cannot open %s: %s",
				 where, k->name, full, strerror(errno));
		return false;
	}
	/* Bounded: a name like /dev/zero must not make the program read forever. */
	if (fgets(line, sizeof line, f) == NULL) {
		lc_err_set_field(err, LC_ERR_INVALID, k->name, "%s: key '%s': %s is empty", where, k->name, full);
		goto fail;
	}
	if (strchr(line, '\n') == NULL && !feof(f)) {
		lc_err_set_field(err, LC_ERR_INVALID, k->name, "%s: key '%s': the first line of %s is "
				 "longer than %d bytes", where, k->name, full, SECRET_LINE_MAX);
		goto fail;
	}
	const cfg_key_t *target = find_key(k->file_for, &idx);
	LC_ASSERT(target != NULL);
	if (!parse_value(target, trim(line), &cfg->v[idx], why, sizeof why)) {
		lc_err_set_field(err, LC_ERR_INVALID, k->name, "%s: key '%s': %s: %s", where, k->name, full, why);
		goto fail;
	}
	ok = true;
fail:
	explicit_bzero(line, sizeof line);   /* a password was in it */
	fclose(f);
	return ok;
}

/* Apply every *_file key; setting both it and its target is an error naming both. */
static bool apply_secret_files(lc_config_t *cfg, const char *path, lc_err_t *err)
{
	const char *where = path != NULL ? path : "environment";

	for (size_t i = 0; i < NKEYS; i++) {
		const cfg_key_t *k = &config_keys[i];
		size_t t = 0;
		if (k->file_for == NULL || cfg->v[i].s[0] == '\0')
			continue;
		find_key(k->file_for, &t);
		if (cfg->v[t].set) {
			lc_err_set_field(err, LC_ERR_INVALID, k->name,
					 "%s: keys '%s' and '%s' are both set: keep one",
					 where, k->file_for, k->name);
			return false;
		}
		if (!read_secret(cfg, k, cfg->v[i].s, where, err))
			return false;
	}
	return true;
}

/* Rules between keys, checked once every key is known (file, environment, secret files). */
static bool check_pairs(const lc_config_t *cfg, const char *path, lc_err_t *err)
{
	int64_t ping = lc_config_int(cfg, "wsd_ping_after");
	int64_t idle = lc_config_int(cfg, "wsd_idle_timeout");
	if (idle <= ping) {
		lc_err_set_field(err, LC_ERR_INVALID, "wsd_idle_timeout",
				 "%s: wsd_idle_timeout (%" PRId64 ") must be larger than wsd_ping_after (%" PRId64 ")",
				 path != NULL ? path : "environment", idle, ping);
		return false;
	}
	return true;
}

lc_config_t *lc_config_new_defaults(lc_err_t *err)
{
	return lc_config_load(NULL, err);
}

lc_config_t *lc_config_load(const char *path, lc_err_t *err)
{
	lc_config_t *cfg = config_alloc_defaults();

	if (path != NULL && !load_file(cfg, path, err))
		goto fail;
	if (!apply_env(cfg, err))
		goto fail;
	if (!apply_secret_files(cfg, path, err))
		goto fail;
	if (!check_pairs(cfg, path, err))
		goto fail;
	return cfg;
fail:
	lc_config_free(&cfg);
	return NULL;
}

void lc_config_free(lc_config_t **cfgp)
{
	if (cfgp == NULL || *cfgp == NULL)
		return;
	lc_config_t *cfg = *cfgp;
	LC_CHECK_OBJ(cfg, LC_CONFIG_MAGIC);
	for (size_t i = 0; i < NKEYS; i++)
		free(cfg->v[i].s);
	cfg->magic = 0;
	free(cfg);
	*cfgp = NULL;
}

static const cfg_value_t *get(const lc_config_t *cfg, const char *key, cfg_type type)
{
	size_t idx = 0;
	LC_CHECK_OBJ(cfg, LC_CONFIG_MAGIC);
	const cfg_key_t *k = find_key(key, &idx);
	LC_ASSERT(k != NULL && "config key not declared in config_keys[]");
	LC_ASSERT(k->type == type && "config key read with the wrong type");
	return &cfg->v[idx];
}

const char *lc_config_str(const lc_config_t *cfg, const char *key)
{
	return get(cfg, key, CFG_STR)->s;
}

int64_t lc_config_int(const lc_config_t *cfg, const char *key)
{
	return get(cfg, key, CFG_INT)->i;
}

int lc_config_bool(const lc_config_t *cfg, const char *key)
{
	return (int)get(cfg, key, CFG_BOOL)->i;
}

const char *lc_config_default_path(void)
{
	const char *env = getenv("LIVECHAT_CONFIG");
	if (env != NULL && env[0] != '\0')
		return env;
	return LC_SYSCONFDIR "/livechat/livechat.conf";
}

void lc_config_dump_table(FILE *out)
{
	static const char *const type_names[] = { "str", "int", "bool" };
	char bounds[200];

	if (out == NULL)
		out = stdout;
	fprintf(out, "%-20s %-5s %-28s %-26s %s\n", "KEY", "TYPE", "DEFAULT", "ALLOWED", "HELP");
	for (size_t i = 0; i < NKEYS; i++) {
		const cfg_key_t *k = &config_keys[i];
		bounds[0] = '\0';
		if (k->type == CFG_INT)
			snprintf(bounds, sizeof bounds, "%" PRId64 "..%" PRId64, k->min, k->max);
		else if (k->type == CFG_BOOL)
			snprintf(bounds, sizeof bounds, "true|false");
		else if (k->allowed != NULL)
			join_list(k->allowed, "|", bounds, sizeof bounds);
		else if (k->check == check_log_target)
			snprintf(bounds, sizeof bounds, "stderr|syslog|/PATH");
		else if (k->check == check_netlist)
			snprintf(bounds, sizeof bounds, "IP[/bits],...");
		else if (k->charset != NULL)
			snprintf(bounds, sizeof bounds, "[%s]+", k->charset_desc);
		else
			snprintf(bounds, sizeof bounds, "%s", k->nonempty ? "non-empty" : "any");
		fprintf(out, "%-20s %-5s %-28s %-26s %s\n", k->name, type_names[k->type],
			k->def[0] ? k->def : "\"\"", bounds, k->help);
	}
	fprintf(out, "\nEach key can be overridden by the environment variable " ENV_PREFIX
		"<KEY IN UPPER CASE>.\n");
}
