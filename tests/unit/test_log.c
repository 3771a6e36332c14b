/* SPDX-License-Identifier: MIT */
/* Tests of lc_log: "<N>" journald priority prefixes when JOURNAL_STREAM names our stderr (and
 * not when it names another file), and a log file reopened by lc_log_reconfigure after it was
 * moved away, as logrotate does before its postrotate SIGHUP. Temporary files go to $TMPDIR. */
#include "config.h"
#include "unit_tests.h"
#include "lc_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

static char dir[4096];

static int log_suite_init(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/lc-unit-log-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) != NULL ? 0 : 1;
}

static int log_suite_clean(void)
{
	static const char *const names[] = { "journal", "plain", "other", "livechat.log",
					     "livechat.log.1", "fallback" };
	char path[4200];
	lc_log_init("test_unit", "stderr", LC_LOG_ERROR);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir) == 0 ? 0 : 1;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* Log one info and one error line with stderr sent to path, JOURNAL_STREAM set to the
 * device:inode of journal_of (NULL: unset). */
static void log_to_stderr_file(const char *path, const char *journal_of)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(STDERR_FILENO);
	struct stat st;
	char js[64];
	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (journal_of != NULL && stat(journal_of, &st) == 0) {
		snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
	}
	lc_log_init("lctest", "stderr", LC_LOG_INFO);
	LC_INFO("hello %d", 1);
	LC_ERROR("broken %s", "thing");
	unsetenv("JOURNAL_STREAM");
	lc_log_reconfigure("stderr", LC_LOG_ERROR);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static void test_journal_stream_on_stderr_gets_priority_prefixes(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/journal", dir);
	log_to_stderr_file(path, path);
	const char *text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "<6>lctest[info] hello 1 ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n<3>lctest[error] broken thing ("));
	CU_ASSERT_PTR_NULL(strstr(text, "Z lctest"));   /* the journal has its own time */
}

static void test_journal_stream_of_another_file_is_plain_stderr(void)
{
	char path[4200], other[4200];
	snprintf(path, sizeof path, "%s/plain", dir);
	snprintf(other, sizeof other, "%s/other", dir);
	close(open(other, O_WRONLY | O_CREAT, 0600));
	log_to_stderr_file(path, other);
	const char *text = slurp(path);
	CU_ASSERT_PTR_NULL(strstr(text, "<6>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "Z lctest[info] hello 1 ("));
	log_to_stderr_file(path, NULL);
	CU_ASSERT_PTR_NULL(strstr(slurp(path), "<6>"));
}

static void test_log_file_is_created_anew_after_a_move_and_reconfigure(void)
{
	char path[4200], moved[4300];
	struct stat st;
	snprintf(path, sizeof path, "%s/livechat.log", dir);
	snprintf(moved, sizeof moved, "%s.1", path);
	lc_log_init("lctest", path, LC_LOG_INFO);
	LC_INFO("before the move");
	CU_ASSERT_EQUAL(rename(path, moved), 0);
	LC_INFO("after the move, before the signal");
	lc_log_reconfigure(path, LC_LOG_INFO);   /* what SIGHUP does (lc_log_reload) */
	LC_INFO("after the signal");
	lc_log_reconfigure("stderr", LC_LOG_ERROR);
	char *old = strdup(slurp(moved));
	CU_ASSERT_PTR_NOT_NULL(strstr(old, "before the move"));
	CU_ASSERT_PTR_NOT_NULL(strstr(old, "after the move, before the signal"));
	CU_ASSERT_PTR_NULL(strstr(old, "after the signal"));
	const char *now = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(now, "after the signal"));
	CU_ASSERT_PTR_NULL(strstr(now, "before"));
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640 & ~(unsigned)umask(umask(0)));
	free(old);
}

static void test_unopenable_log_file_falls_back_to_stderr(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/fallback", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	lc_log_init("lctest", "/nonexistent/dir/livechat.log", LC_LOG_INFO);
	LC_INFO("still said");
	lc_log_reconfigure("stderr", LC_LOG_ERROR);
	dup2(saved, STDERR_FILENO);
	close(saved);
	const char *text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "cannot open log file /nonexistent/dir/livechat.log"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "still said"));
}

int init_log_tests(void)
{
	CU_pSuite s = CU_add_suite("log", log_suite_init, log_suite_clean);
	if (s == NULL)
		return 1;
	CU_add_test(s, "journal_stream_on_stderr_gets_priority_prefixes",
		    test_journal_stream_on_stderr_gets_priority_prefixes);
	CU_add_test(s, "journal_stream_of_another_file_is_plain_stderr",
		    test_journal_stream_of_another_file_is_plain_stderr);
	CU_add_test(s, "log_file_is_created_anew_after_a_move_and_reconfigure",
		    test_log_file_is_created_anew_after_a_move_and_reconfigure);
	CU_add_test(s, "unopenable_log_file_falls_back_to_stderr",
		    test_unopenable_log_file_falls_back_to_stderr);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
