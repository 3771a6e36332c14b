/* SPDX-License-Identifier: MIT */
/* lc_validate: checks a JSON object against a declarative rule table and reports every failing
 * field with a human reason; plus the UTF-8 helpers the checks rely on.
 * Patterns are POSIX extended regexes anchored to the whole value, each with what it allows in
 * words (the reason a failing value gets, never the regex itself); each distinct regex is
 * compiled once and kept in a process-wide cache guarded by a mutex (regexec itself is
 * thread-safe on a shared regex_t). Rule tables are static code, so a pattern that does not
 * compile is a bug and trips LC_ASSERT. */
#include "config.h"
#include "lc_validate.h"
#include "lc_alloc.h"
#include "lc_err.h"

#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

bool lc_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (str == NULL)
		return len == 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1; cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2; cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3; cp = c & 0x07;
		} else {
			return false;   /* continuation byte, C0/C1 overlong lead, or > U+10FFFF lead */
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
			return false;   /* overlong */
		if (cp >= 0xD800 && cp <= 0xDFFF)
			return false;   /* surrogate */
		if (cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

size_t lc_utf8_len(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* ---- regex cache ---- */

typedef struct re_entry {
	struct re_entry *next;
	char *pattern;
	regex_t re;
} re_entry_t;

static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static re_entry_t *re_cache;

static const regex_t *re_get(const char *pattern)
{
	re_entry_t *e;

	pthread_mutex_lock(&re_lock);
	for (e = re_cache; e != NULL; e = e->next)
		if (strcmp(e->pattern, pattern) == 0)
			break;
	if (e == NULL) {
		e = lc_calloc(1, sizeof *e);
		e->pattern = lc_strdup(pattern);
		/* Anchor to the whole value; the group keeps alternations ("a|b") inside. */
		char *anchored = lc_asprintf("^(%s)$", pattern);
		int rc = regcomp(&e->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		LC_ASSERT(rc == 0 && "validation rule pattern does not compile");
		e->next = re_cache;
		re_cache = e;
	}
	pthread_mutex_unlock(&re_lock);
	return &e->re;
}

const lc_vpattern_t lc_vpattern_id = { "[A-Za-z0-9_-]+", "letters, digits, '_' and '-'" };

/* ---- checks ---- */

static void fail(json_object *failures, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(json_object *failures, const char *field, const char *fmt, ...)
{
	char reason[LC_ERR_REASON_MAX];
	va_list ap;

	if (failures == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	json_object *f = json_object_new_object();
	json_object_object_add(f, "field", json_object_new_string(field));
	json_object_object_add(f, "reason", json_object_new_string(reason));
	json_object_array_add(failures, f);
}

static void one_of_list(const char *const *one_of, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; one_of[i] != NULL; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", one_of[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;  /* truncated list: still a readable reason */
		used += (size_t)n;
	}
}

/* A string value (a field, or one item of a string array) against rule r.
 * check_len: apply min/max as character counts (not for array items: there they count items). */
static bool check_string(json_object *v, const lc_vrule_t *r, const char *field, bool check_len,
			 json_object *failures)
{
	const char *s = json_object_get_string(v);
	size_t blen = (size_t)json_object_get_string_len(v);

	if (!lc_utf8_valid(s, blen)) {
		fail(failures, field, "is not valid UTF-8");
		return false;
	}
	/* C code downstream uses NUL-terminated strings: an embedded NUL would cut the value. */
	if (memchr(s, '\0', blen) != NULL) {
		fail(failures, field, "must not contain NUL characters");
		return false;
	}
	if (check_len) {
		size_t clen = lc_utf8_len(s, blen);
		if (r->min > 0 && clen < (size_t)r->min) {
			if (r->min == 1)
				fail(failures, field, "must not be empty");
			else
				fail(failures, field, "must be at least %" PRId64 " characters", r->min);
			return false;
		}
		if (r->max > 0 && clen > (size_t)r->max) {
			fail(failures, field, "must be at most %" PRId64 " characters", r->max);
			return false;
		}
	}
	if (r->one_of != NULL) {
		bool found = false;
		for (size_t i = 0; r->one_of[i] != NULL && !found; i++)
			found = strcmp(r->one_of[i], s) == 0;
		if (!found) {
			char list[LC_ERR_REASON_MAX - 32];
			one_of_list(r->one_of, list, sizeof list);
			fail(failures, field, "must be one of: %s", list);
			return false;
		}
	}
	if (r->pattern != NULL && regexec(re_get(r->pattern->regex), s, 0, NULL, 0) != 0) {
		/* A rule table without the words is a bug: a person would read the regex. */
		LC_ASSERT(r->pattern->allowed != NULL);
		fail(failures, field, "must contain only %s", r->pattern->allowed);
		return false;
	}
	return true;
}

static bool check_int(json_object *v, const lc_vrule_t *r, json_object *failures)
{
	if (!json_object_is_type(v, json_type_int)) {
		fail(failures, r->field, "must be an integer");
		return false;
	}
	int64_t n = json_object_get_int64(v);
	if (n < r->min || (r->max != 0 && n > r->max)) {
		if (r->max != 0)
			fail(failures, r->field, "must be between %" PRId64 " and %" PRId64, r->min, r->max);
		else
			fail(failures, r->field, "must be at least %" PRId64, r->min);
		return false;
	}
	return true;
}

static bool check_string_array(json_object *v, const lc_vrule_t *r, json_object *failures)
{
	if (!json_object_is_type(v, json_type_array)) {
		fail(failures, r->field, "must be an array of strings");
		return false;
	}
	size_t n = json_object_array_length(v);
	if (r->min > 0 && n < (size_t)r->min) {
		fail(failures, r->field, "must have at least %" PRId64 " item%s", r->min,
		     r->min == 1 ? "" : "s");
		return false;
	}
	if (r->max > 0 && n > (size_t)r->max) {
		fail(failures, r->field, "must have at most %" PRId64 " item%s", r->max,
		     r->max == 1 ? "" : "s");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		char item[LC_ERR_FIELD_MAX + 24];
		json_object *it = json_object_array_get_idx(v, i);
		snprintf(item, sizeof item, "%s[%zu]", r->field, i);
		if (!json_object_is_type(it, json_type_string)) {
			fail(failures, item, "must be a string");
			ok = false;
			continue;
		}
		if (!check_string(it, r, item, false, failures))
			ok = false;
	}
	return ok;
}

static bool check_field(json_object *v, const lc_vrule_t *r, json_object *failures)
{
	switch (r->type) {
	case LC_V_STRING:
		if (!json_object_is_type(v, json_type_string)) {
			fail(failures, r->field, "must be a string");
			return false;
		}
		return check_string(v, r, r->field, true, failures);
	case LC_V_INT:
		return check_int(v, r, failures);
	case LC_V_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			fail(failures, r->field, "must be true or false");
			return false;
		}
		return true;
	case LC_V_STRING_ARRAY:
		return check_string_array(v, r, failures);
	case LC_V_OBJECT:
		if (!json_object_is_type(v, json_type_object)) {
			fail(failures, r->field, "must be an object");
			return false;
		}
		return true;
	}
	LC_ASSERT(!"unknown lc_vtype in a rule table");
	return false;
}

static bool is_declared(const lc_vrule_t *rules, const char *key)
{
	for (const lc_vrule_t *r = rules; r->field != NULL; r++)
		if (strcmp(r->field, key) == 0)
			return true;
	return false;
}

bool lc_validate(json_object *obj, const lc_vrule_t *rules, bool reject_unknown,
		 json_object **failures)
{
	json_object *list = json_object_new_array();
	bool ok = true;

	LC_ASSERT(rules != NULL);
	if (!json_object_is_type(obj, json_type_object)) {
		fail(list, "", "must be a JSON object");
		ok = false;
		goto done;
	}
	for (const lc_vrule_t *r = rules; r->field != NULL; r++) {
		json_object *v = NULL;
		if (!json_object_object_get_ex(obj, r->field, &v)) {
			if (r->required) {
				fail(list, r->field, "is required");
				ok = false;
			}
			continue;
		}
		if (!check_field(v, r, list))
			ok = false;
	}
	if (reject_unknown) {
		json_object_object_foreach(obj, key, val) {
			(void)val;
			if (!is_declared(rules, key)) {
				/* The name itself is untrusted input: keep what we echo back valid. */
				fail(list, lc_utf8_valid(key, strlen(key)) ? key : "?", "is not a known field");
				ok = false;
			}
		}
	}
done:
	if (failures != NULL)
		*failures = list;
	else
		json_object_put(list);
	return ok;
}
