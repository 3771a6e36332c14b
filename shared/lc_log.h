/* SPDX-License-Identifier: MIT */
/* lc_log: one log entry point with level macros carrying __FILE__/__LINE__.
 * Destination (stderr, syslog or a file) and threshold come from config; on stderr connected to
 * the journal (JOURNAL_STREAM) lines carry "<N>" priority prefixes instead of a time. Never pass a password, a token
 * or a message body at info level or above. Thread-safe. */
#ifndef LC_LOG_H
#define LC_LOG_H

#include <stdbool.h>

typedef enum lc_log_level {
	LC_LOG_ERROR = 0,
	LC_LOG_WARN,
	LC_LOG_INFO,
	LC_LOG_DEBUG
} lc_log_level;

/* ident: program name for syslog; target: "stderr", "syslog" or an absolute file path (opened
 * for appending, 0640; stderr when it cannot be opened, with an error); level: threshold. */
void lc_log_init(const char *ident, const char *target, lc_log_level level);
/* Change target and threshold while other threads log (SIGHUP): syslog, or the log file, is
 * closed and opened again (a file logrotate moved away is created anew). */
void lc_log_reconfigure(const char *target, lc_log_level level);
/* Re-read the config file at path (NULL: defaults + environment) and apply its log_level and
 * log_target, the only keys the programs change without a restart. A file that does not load
 * is logged (error) and changes nothing: returns false. Call from one thread at a time. */
bool lc_log_reload(const char *path);
/* "error", "warn", "info", "debug" -> level; returns -1 for anything else. */
int lc_log_level_parse(const char *name);
void lc_log_write(lc_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int lc_log_enabled(lc_log_level level);

#define LC_ERROR(...) lc_log_write(LC_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LC_WARN(...)  lc_log_write(LC_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define LC_INFO(...)  lc_log_write(LC_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LC_DEBUG(...) do { if (lc_log_enabled(LC_LOG_DEBUG)) \
	lc_log_write(LC_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
