/* SPDX-License-Identifier: MIT */
/* CUnit tests of wsd/loop.c: which thread is the loop (the check behind WSD_ASSERT_LOOP, false
 * off the loop; an assert that trips aborts, seen from a forked child), the thread tags behind
 * WSD_ASSERT_THREAD, and the post queue
 * (completions from other threads run on the loop, each once, in the order each thread posted
 * them). No lws context: w->lws is NULL, so posting wakes nobody and the test drains by hand. */
#include "config.h"
#include "wsd.h"
#include "wsd_unit_tests.h"
#include "lc_alloc.h"

#include <CUnit/Basic.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static wsd_t *wsd_for_test(void)
{
	wsd_t *w = lc_calloc(1, sizeof *w);
	w->magic = WSD_MAGIC;
	wsd_loop_init(w);
	return w;
}

static void wsd_test_free(wsd_t *w)
{
	w->stop = 1;
	wsd_loop_free(w);
	free(w);
}

static void *ask_on_loop(void *arg)
{
	return wsd_on_loop(arg) ? arg : NULL;
}

static void test_the_loop_is_the_thread_that_initialised_it(void)
{
	wsd_t *w = wsd_for_test();
	CU_ASSERT_TRUE(wsd_on_loop(w));
	pthread_t tid;
	void *res = w;
	pthread_create(&tid, NULL, ask_on_loop, w);
	pthread_join(tid, &res);
	CU_ASSERT_PTR_NULL(res);        /* another thread is not the loop */
	wsd_test_free(w);
}

static void *tag_as_worker(void *arg)
{
	wsd_thread_t *seen = arg;
	seen[0] = wsd_thread();                 /* a new thread starts untagged */
	wsd_thread_set(WSD_THREAD_WORKER, NULL);
	seen[1] = wsd_thread();
	return NULL;
}

static void test_each_thread_has_its_own_tag(void)
{
	wsd_t *w = wsd_for_test();
	CU_ASSERT_EQUAL(wsd_thread(), WSD_THREAD_LOOP);
	wsd_thread_t seen[2] = { WSD_THREAD_LOOP, WSD_THREAD_LOOP };
	pthread_t tid;
	pthread_create(&tid, NULL, tag_as_worker, seen);
	pthread_join(tid, NULL);
	CU_ASSERT_EQUAL(seen[0], WSD_THREAD_OTHER);
	CU_ASSERT_EQUAL(seen[1], WSD_THREAD_WORKER);
	CU_ASSERT_EQUAL(wsd_thread(), WSD_THREAD_LOOP);   /* the other's tag is its own */
	wsd_test_free(w);
}

static void *drain_off_loop(void *arg)
{
	wsd_drain_posts(arg);   /* a loop-only function: WSD_ASSERT_LOOP aborts */
	return NULL;
}

/* The assert is never compiled out: a loop-only function called on another thread aborts the
 * process (checked in a forked child, whose abort the parent sees). */
static void test_a_loop_only_call_off_the_loop_aborts(void)
{
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* Quiet: the expected assertion message would look like a failure in the log. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		wsd_t *w = wsd_for_test();
		pthread_t tid;
		pthread_create(&tid, NULL, drain_off_loop, w);
		pthread_join(tid, NULL);
		_exit(0);       /* not reached when the assert holds */
	}
	int status = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

#define POSTERS 4
#define PER_POSTER 2000

typedef struct seen {
	int last[POSTERS];
	int runs;
	bool ordered, on_loop;
} seen_t;

static seen_t seen;

typedef struct poster {
	wsd_t *w;
	int id;
} poster_t;

static void record(wsd_t *w, void *arg)
{
	intptr_t v = (intptr_t)arg;
	int who = (int)(v / PER_POSTER), seq = (int)(v % PER_POSTER);
	if (!wsd_on_loop(w))
		seen.on_loop = false;
	if (seq != seen.last[who] + 1)
		seen.ordered = false;
	seen.last[who] = seq;
	seen.runs++;
}

static void *post_many(void *arg)
{
	poster_t *p = arg;
	for (int i = 0; i < PER_POSTER; i++)
		wsd_post(p->w, record, (void *)(intptr_t)(p->id * PER_POSTER + i));
	return NULL;
}

static void test_posts_run_on_the_loop_once_each_in_order(void)
{
	wsd_t *w = wsd_for_test();
	memset(&seen, 0, sizeof seen);
	for (int i = 0; i < POSTERS; i++)
		seen.last[i] = -1;
	seen.ordered = seen.on_loop = true;
	pthread_t tid[POSTERS];
	poster_t ps[POSTERS];
	for (int i = 0; i < POSTERS; i++) {
		ps[i] = (poster_t){ w, i };
		pthread_create(&tid[i], NULL, post_many, &ps[i]);
	}
	/* Drain while they post, as the loop does on each wake-up. */
	while (seen.runs < POSTERS * PER_POSTER)
		wsd_drain_posts(w);
	for (int i = 0; i < POSTERS; i++)
		pthread_join(tid[i], NULL);
	wsd_drain_posts(w);
	CU_ASSERT_EQUAL(seen.runs, POSTERS * PER_POSTER);
	CU_ASSERT_TRUE(seen.ordered);
	CU_ASSERT_TRUE(seen.on_loop);
	wsd_test_free(w);
}

static void count_run(wsd_t *w, void *arg)
{
	(*(int *)arg)++;
}

static void test_posts_left_at_the_end_still_run(void)
{
	wsd_t *w = wsd_for_test();
	int runs = 0;
	wsd_post(w, count_run, &runs);
	wsd_post(w, count_run, &runs);
	/* Their done functions free what they carry: wsd_loop_free runs them (w->stop set). */
	wsd_test_free(w);
	CU_ASSERT_EQUAL(runs, 2);
}

/* How long each post waited for the loop goes to w->post_wait (the metrics' loop delay): one
 * observation per post run, none for those not run yet. */
static void test_each_post_run_counts_its_wait(void)
{
	wsd_t *w = wsd_for_test();
	int runs = 0;
	wsd_post(w, count_run, &runs);
	usleep(30000);          /* the loop busy elsewhere for 30 ms */
	wsd_post(w, count_run, &runs);
	CU_ASSERT_EQUAL(wsd_hist_total(&w->post_wait), 0);
	wsd_drain_posts(w);
	CU_ASSERT_EQUAL(runs, 2);
	CU_ASSERT_EQUAL(wsd_hist_total(&w->post_wait), 2);
	/* The first waited 30 ms or more: above the 25 ms bound. */
	CU_ASSERT_TRUE(atomic_load(&w->post_wait.sum_us) >= 30000);
	CU_ASSERT_TRUE(wsd_hist_at_most(&w->post_wait, 25000) <= 1);
	wsd_test_free(w);
}

int init_wsd_loop_tests(void)
{
	CU_pSuite s = CU_add_suite("wsd_loop", NULL, NULL);
	if (s == NULL)
		return -1;
	CU_ADD_TEST(s, test_the_loop_is_the_thread_that_initialised_it);
	CU_ADD_TEST(s, test_a_loop_only_call_off_the_loop_aborts);
	CU_ADD_TEST(s, test_each_thread_has_its_own_tag);
	CU_ADD_TEST(s, test_posts_run_on_the_loop_once_each_in_order);
	CU_ADD_TEST(s, test_posts_left_at_the_end_still_run);
	CU_ADD_TEST(s, test_each_post_run_counts_its_wait);
	return CU_get_error() == CUE_SUCCESS ? 0 : -1;
}
