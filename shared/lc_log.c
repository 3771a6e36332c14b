/* SPDX-License-Identifier: MIT */
/* lc_log: levelled logging to stderr or syslog. */
#include "config.h"
#include "lc_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static lc_log_level threshold = LC_LOG_INFO;
static int use_syslog;
static char ident_buf[64] = "livechat";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void lc_log_init(const char *ident, const char *target, lc_log_level level)
{
	snprintf(ident_buf, sizeof ident_buf, "%s", ident ? ident : "livechat");
	threshold = level;
	use_syslog = target != NULL && strcmp(target, "syslog") == 0;
	if (use_syslog)
		openlog(ident_buf, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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
	return level <= threshold;
}

void lc_log_write(lc_log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (use_syslog) {
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
