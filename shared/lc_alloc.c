/* SPDX-License-Identifier: MIT */
/* lc_alloc: allocation that never returns NULL (see lc_alloc.h for the policy). */
#include "config.h"
#include "lc_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void oom(size_t n)
{
	fprintf(stderr, "livechat: out of memory allocating %zu bytes\n", n);
	abort();
}

void *lc_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *lc_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *lc_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *lc_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return lc_strndup(s, strlen(s));
}

char *lc_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = lc_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *lc_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}
