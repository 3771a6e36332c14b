/* SPDX-License-Identifier: MIT */
/* lc_alloc: the one allocation wrapper. Out-of-memory policy: log and abort. A live-chat daemon
 * that cannot allocate a few bytes cannot keep its promises to anyone; dying lets systemd restart
 * it, and RabbitMQ redelivers whatever was not acknowledged. */
#ifndef LC_ALLOC_H
#define LC_ALLOC_H

#include <stddef.h>

void *lc_malloc(size_t n);
void *lc_calloc(size_t nmemb, size_t size);
void *lc_realloc(void *p, size_t n);
char *lc_strdup(const char *s);                 /* s may be NULL: returns NULL */
char *lc_strndup(const char *s, size_t n);
char *lc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
