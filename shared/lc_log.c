/* SPDX-License-Identifier: MIT */
/* lc_log: levelled logging to stderr, syslog or a file; SIGHUP re-reads target and level and
 * reopens the file (after logrotate moved it). On stderr under systemd (JOURNAL_STREAM names
 * our stderr) each line starts with its syslog priority, "<3>" ... "<7>" (sd-daemon(3)), and
 * leaves the time to the journal. */
#include "config.h"
#include "lc_log.h"
#include "lc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

typedef enum log_dest { DEST_STDERR, DEST_JOURNAL, DEST_SYSLOG, DEST_FILE } log_dest;

/* dest and threshold are atomics: lc_log_reconfigure changes them while other threads write.
 * log_fd changes under log_lock, which every write to it holds. */
static atomic_int threshold = LC_LOG_INFO;
static atomic_int dest = DEST_STDERR;
static int log_fd = -1;
static char ident_buf[64] = "livechat";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void lc_log_init(const char *ident, const char *target, lc_log_level level)
{
	snprintf(ident_buf, sizeof ident_buf, "%s", ident ? ident : "livechat");
	lc_log_reconfigure(target, level);
}

/* True when JOURNAL_STREAM ("DEV:INODE") is the file stderr is: systemd connected stderr to
 * the journal (a stderr redirected elsewhere by a child's shell no longer matches). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void lc_log_reconfigure(const char *target, lc_log_level level)
{
	log_dest d = stderr_is_journal() ? DEST_JOURNAL : DEST_STDERR;
	int fd = -1, open_errno = 0;

	if (target != NULL && strcmp(target, "syslog") == 0)
		d = DEST_SYSLOG;
	if (target != NULL && target[0] == '/') {
		fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd >= 0)
			d = DEST_FILE;
		else
			open_errno = errno;
	}
	/* Closed and opened again: a restarted syslog daemon gets the lines from here on. */
	closelog();
	if (d == DEST_SYSLOG)
		openlog(ident_buf, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	atomic_store(&dest, (int)d);
	pthread_mutex_unlock(&log_lock);
	atomic_store(&threshold, (int)level);
	if (open_errno != 0)
		LC_ERROR("cannot open log file %s: %s (logging to stderr)", target, strerror(open_errno));
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

/* One whole line in one write(2), so lines of several processes appending to one file (or one
 * journal stream) never interleave. */
static void write_line(int fd, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;   /* nowhere left to say it */
		line += n;
		len -= (size_t)n;
	}
}

void lc_log_write(lc_log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], out[1400];
	va_list ap;
	int n;

	if (!lc_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_dest d = (log_dest)atomic_load(&dest);
	if (d == DEST_SYSLOG) {
		syslog(syslog_prio[level], "%s (%s:%d)", msg, file, line);
		return;
	}
	if (d == DEST_JOURNAL) {
		n = snprintf(out, sizeof out, "<%d>%s[%s] %s (%s:%d)\n", syslog_prio[level], ident_buf,
			     level_names[level], msg, file, line);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%s] %s (%s:%d)\n",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, ident_buf, level_names[level], msg, file,
			     line);
	}
	size_t len = n < 0 ? 0 : (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
	if (len > 0 && out[len - 1] != '\n')
		out[len - 1] = '\n';   /* cut: still one line */
	pthread_mutex_lock(&log_lock);
	write_line(d == DEST_FILE && log_fd >= 0 ? log_fd : STDERR_FILENO, out, len);
	pthread_mutex_unlock(&log_lock);
}
