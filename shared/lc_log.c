/* SPDX-License-Identifier: MIT */
/* lc_log: levelled logging to stderr or syslog; SIGHUP re-reads target and level. */
#include "config.h"
#include "lc_log.h"
#include "lc_config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Atomics: lc_log_reconfigure changes them while other threads write. */
static atomic_int threshold = LC_LOG_INFO;
static atomic_bool use_syslog;
static char ident_buf[64] = "livechat";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void lc_log_init(const char *ident, const char *target, lc_log_level level)
{
	snprintf(ident_buf, sizeof ident_buf, "%s", ident ? ident : "livechat");
	lc_log_reconfigure(target, level);
}

void lc_log_reconfigure(const char *target, lc_log_level level)
{
	bool to_syslog = target != NULL && strcmp(target, "syslog") == 0;
	/* Closed and opened again: a restarted syslog daemon gets the lines from here on. */
	closelog();
	if (to_syslog)
		openlog(ident_buf, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&use_syslog, to_syslog);
	atomic_store(&threshold, (int)level);
}

bool lc_log_reload(const char *path)
{
	lc_err_t err;
	lc_err_clear(&err);
	lc_config_t *cfg = lc_config_load(path, &err);
	if (cfg == NULL) {
		LC_ERROR("reload: %s: keeping the running configuration", err.reason);
		return false;
	}
	const char *name = lc_config_str(cfg, "log_level");
	int level = lc_log_level_parse(name);
	lc_log_reconfigure(lc_config_str(cfg, "log_target"), level < 0 ? LC_LOG_INFO : (lc_log_level)level);
	LC_INFO("reload: re-read %s: log_level %s, log_target %s", path ? path : "(no file)", name,
		lc_config_str(cfg, "log_target"));
	lc_config_free(&cfg);
	return true;
}

int lc_log_level_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int lc_log_enabled(lc_log_level level)
{
	return (int)level <= atomic_load(&threshold);
}

void lc_log_write(lc_log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!lc_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (atomic_load(&use_syslog)) {
		syslog(syslog_prio[level], "%s (%s:%d)", msg, file, line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%s] %s (%s:%d)\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, ident_buf, level_names[level], msg, file, line);
	pthread_mutex_unlock(&log_lock);
}
