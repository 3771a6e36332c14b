/* SPDX-License-Identifier: MIT */
/* wsd_workers: the threads that run blocking MongoDB calls for the event loop. A job runs
 * run(w, arg) on a worker, then done(w, arg) on the loop thread (via wsd_post). Jobs with the same
 * key run on the same worker, one after another, so the work of one room keeps its order. A job
 * submitted with wsd_workers_submit_retry may ask to be tried again later (MongoDB is down): the
 * later retry jobs with its key wait behind it; every other job goes on meanwhile. */
#ifndef WSD_WORKER_H
#define WSD_WORKER_H

#include "wsd.h"

/* A job's run that may fail for now: false = try again later, true = finished. */
typedef bool (*wsd_try_fn)(wsd_t *w, void *arg);

wsd_workers_t *wsd_workers_new(wsd_t *w, int nthreads);
/* Stops the threads after the job each is running; pending and held jobs are dropped with their
 * done called on the calling thread with w->stop set, so they can free their argument. */
void wsd_workers_free(wsd_workers_t **pool);
/* Any thread: the jobs submitted and not finished yet (queued, held for a retry or running). */
size_t wsd_workers_pending(wsd_workers_t *pool);
/* Any thread. key NULL: any worker. done may be NULL (then run must free arg). */
void wsd_workers_submit(wsd_workers_t *pool, const char *key, wsd_fn run, wsd_fn done, void *arg);
/* Any thread: like wsd_workers_submit, but run returns false to be tried again after a backoff
 * (100 ms doubling up to 2 s); until it returns true the later retry jobs with the same key wait
 * (plain jobs of that key do not: they need not wait for it, and fail fast on their own).
 * key must not be NULL. Once w->stop is set a job is not tried again: done runs. */
void wsd_workers_submit_retry(wsd_workers_t *pool, const char *key, wsd_try_fn run, wsd_fn done,
			      void *arg);
/* The worker key of a customer (new string): all jobs of one customer's rooms run in order on
 * one worker. */
char *wsd_workers_customer_key(const char *channel, const char *customer_id);
/* Any thread: submit a job on the worker of the customer (channel, customer_id). */
void wsd_workers_submit_customer(wsd_t *w, const char *channel, const char *customer_id,
				 wsd_fn run, wsd_fn done, void *arg);

#endif
