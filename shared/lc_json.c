/* SPDX-License-Identifier: MIT */
/* lc_json: strict parsing of request bodies and frames (one value, bounded depth, UTF-8) and
 * small tolerant getters and the shared error-body builder over json-c. */
#include "config.h"
#include "lc_json.h"
#include "lc_alloc.h"
#include "lc_validate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_JSON_MAX_DEPTH 32

/* json-c accepts NaN and Infinity even in strict mode; RFC 8259 does not. Depth is bounded
 * by the tokener, so the recursion is too. */
static bool has_non_finite(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double: {
		double d = json_object_get_double(o);
		return d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_non_finite(json_object_array_get_idx(o, i)))
				return true;
		return false;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (has_non_finite(v))
				return true;
		}
		return false;
	}
	default:
		return false;
	}
}

/* True when the string that closed just before buf[i] is an object key (a ':' follows). */
static bool is_key(const char *buf, size_t len, size_t i)
{
	while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
		i++;
	return i < len && buf[i] == ':';
}

/* json-c keeps keys as C strings: a key with an escaped NUL would be cut short silently, so it
 * is refused, naming the key as it was written (n bytes at key). */
static void nul_key(lc_err_t *err, const char *key, size_t n)
{
	char field[LC_ERR_FIELD_MAX];
	size_t m = n < sizeof field ? n : sizeof field - 1;
	/* Cut a long key between characters, never inside one: the answer stays UTF-8. */
	while (m > 0 && m < n && ((unsigned char)key[m] & 0xC0) == 0x80)
		m--;
	snprintf(field, sizeof field, "%.*s", (int)m, key);
	lc_err_set_field(err, LC_ERR_INVALID, field, "object keys must not contain NUL characters");
}

json_object *lc_json_parse(const char *buf, size_t len, lc_err_t *err)
{
	json_tokener *tok = NULL;
	json_object *obj = NULL;

	if (buf == NULL || len == 0) {
		lc_err_set(err, LC_ERR_INVALID, "invalid JSON: empty input");
		goto fail;
	}
	if (len >= INT_MAX) {
		lc_err_set(err, LC_ERR_TOO_LARGE, "invalid JSON: input too large");
		goto fail;
	}
	/* What json-c lets through even in strict mode, checked here in one pass:
	 * - raw control characters (RFC 8259 wants them escaped inside strings; json-c would also
	 *   stop at a NUL, silently hiding the rest of the input);
	 * - single-quoted strings (accepted as object keys). */
	bool in_string = false, has_nul = false;
	size_t str_start = 0, nul_at = 0, nul_len = 0;
	const char *nul = NULL;    /* the first key with an escaped NUL, reported once UTF-8 holds */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r'))) {
			lc_err_set(err, LC_ERR_INVALID,
				   "invalid JSON at offset %zu: unescaped control character", i);
			goto fail;
		}
		if (in_string) {
			if (c == '\\') {
				has_nul |= len - i >= 6 && memcmp(buf + i, "\\u0000", 6) == 0;
				i++;    /* skip the escaped character, whatever it is */
			} else if (c == '"') {
				in_string = false;
				if (has_nul && nul == NULL && is_key(buf, len, i + 1)) {
					nul = buf;
					nul_at = str_start;
					nul_len = i - str_start;
				}
			}
		} else if (c == '"') {
			in_string = true;
			has_nul = false;
			str_start = i + 1;
		} else if (c == '\'') {
			lc_err_set(err, LC_ERR_INVALID, "invalid JSON at offset %zu: unexpected character", i);
			goto fail;
		}
	}
	/* json-c's own UTF-8 check lets encoded surrogates (CESU-8) through. */
	if (!lc_utf8_valid(buf, len)) {
		lc_err_set(err, LC_ERR_INVALID, "invalid JSON: not valid UTF-8");
		goto fail;
	}
	/* Named in the answer, so only once the bytes are known to be UTF-8. */
	if (nul != NULL) {
		nul_key(err, nul + nul_at, nul_len);
		goto fail;
	}
	tok = json_tokener_new_ex(LC_JSON_MAX_DEPTH);
	if (tok == NULL) {
		lc_err_set(err, LC_ERR_INTERNAL, "cannot allocate JSON tokener");
		goto fail;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* Exactly len bytes; a value still open at their end (a bare top-level number, "12") is
	 * completed by one more byte of whitespace, never by reading past buf. */
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (obj == NULL && jerr == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_success || jerr == json_tokener_continue)
			lc_err_set(err, LC_ERR_INVALID, "invalid JSON at offset %zu: unexpected end of input",
				   len);
		else if (jerr == json_tokener_error_depth)
			lc_err_set(err, LC_ERR_INVALID, "invalid JSON at offset %zu: nesting deeper than %d",
				   end, LC_JSON_MAX_DEPTH);
		else
			lc_err_set(err, LC_ERR_INVALID, "invalid JSON at offset %zu: %s", end,
				   json_tokener_error_desc(jerr));
		json_object_put(obj);
		obj = NULL;
		goto fail;
	}
	/* The tokener stops after the first value; anything but whitespace after it is garbage. */
	for (size_t i = end; i < len; i++) {
		if (!strchr(" \t\r\n", buf[i])) {
			lc_err_set(err, LC_ERR_INVALID, "invalid JSON at offset %zu: trailing characters", i);
			json_object_put(obj);
			obj = NULL;
			goto fail;
		}
	}
	if (has_non_finite(obj)) {
		lc_err_set(err, LC_ERR_INVALID, "invalid JSON: NaN and Infinity are not JSON numbers");
		json_object_put(obj);
		obj = NULL;
	}
fail:
	if (tok != NULL)
		json_tokener_free(tok);
	return obj;
}

const char *lc_json_get_str(json_object *obj, const char *key, const char *def)
{
	json_object *v = NULL;
	if (obj == NULL || key == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return def;
	return json_object_get_string(v);
}

int64_t lc_json_get_int(json_object *obj, const char *key, int64_t def)
{
	json_object *v = NULL;
	if (obj == NULL || key == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return def;
	return json_object_get_int64(v);
}

bool lc_json_get_bool(json_object *obj, const char *key, bool def)
{
	json_object *v = NULL;
	if (obj == NULL || key == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return def;
	return json_object_get_boolean(v);
}

json_object *lc_json_copy(json_object *o)
{
	json_object *c = NULL;
	if (o != NULL && json_object_deep_copy(o, &c, NULL) != 0) {
		fprintf(stderr, "livechat: out of memory copying a JSON value\n");   /* lc_alloc's */
		abort();
	}
	return c;
}

const char *lc_json_str(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *lc_json_error(const char *code, const char *message, json_object *fields)
{
	json_object *inner = json_object_new_object();
	json_object_object_add(inner, "code", json_object_new_string(code ? code : "internal"));
	json_object_object_add(inner, "message", json_object_new_string(message ? message : ""));
	if (fields != NULL)
		json_object_object_add(inner, "fields", fields);
	json_object *outer = json_object_new_object();
	json_object_object_add(outer, "error", inner);
	return outer;
}
