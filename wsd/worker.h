/* wsd_workers: the threads that run blocking MongoDB calls for the event loop. A job runs
 * run(w, arg) on a worker, then done(w, arg) on the loop thread (via wsd_post). Jobs with the same
 * key run on the same worker, one after another, so the work of one room keeps its order. */
#ifndef WSD_WORKER_H
#define WSD_WORKER_H

#include "wsd.h"

wsd_workers_t *wsd_workers_new(wsd_t *w, int nthreads);
/* Stops the threads after the job each is running; pending jobs are dropped with their done
 * called on the calling thread with w->stop set, so they can free their argument. */
void wsd_workers_free(wsd_workers_t **pool);
/* Any thread. key NULL: any worker. done may be NULL (then run must free arg). */
void wsd_workers_submit(wsd_workers_t *pool, const char *key, wsd_fn run, wsd_fn done, void *arg);

#endif
