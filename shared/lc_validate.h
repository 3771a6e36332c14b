/* SPDX-License-Identifier: MIT */
/* lc_validate: declarative field rules for JSON request bodies and websocket frames.
 * A rule table is checked against a JSON object; every failing field is reported with a reason. */
#ifndef LC_VALIDATE_H
#define LC_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

typedef enum lc_vtype {
	LC_V_STRING = 1,
	LC_V_INT,
	LC_V_BOOL,
	LC_V_STRING_ARRAY,   /* array of strings; min/max bound the count, each item obeys pattern/one_of */
	LC_V_OBJECT
} lc_vtype;

/* A pattern and what it allows in words: the reason a failing value gets is "must contain only "
 * + allowed, never the regex, so the API's and the websocket's errors read well to a person. */
typedef struct lc_vpattern {
	const char *regex;        /* POSIX extended regex the whole string must match */
	const char *allowed;      /* e.g. "letters, digits, '_' and '-'" (plus any rule on the first) */
} lc_vpattern_t;

/* [A-Za-z0-9_-]+: the ids clients make up (message ids, room ids, shortcuts, secrets). */
extern const lc_vpattern_t lc_vpattern_id;

typedef struct lc_vrule {
	const char *field;
	lc_vtype type;
	bool required;
	int64_t min;              /* string: min length in UTF-8 characters; int: min value (always
				   * applied: use INT64_MIN for none); array: min items */
	int64_t max;              /* 0 = unbounded */
	const lc_vpattern_t *pattern; /* what the whole string must match, or NULL */
	const char *const *one_of;/* NULL-terminated list of allowed strings, or NULL */
} lc_vrule_t;

/* Table end marker. */
#define LC_VRULE_END { NULL, 0, false, 0, 0, NULL, NULL }

/* Check obj against rules (terminated by LC_VRULE_END). Returns true when all pass.
 * When failures is non-NULL it receives a new JSON array of {"field":..,"reason":..}
 * (empty when all pass; caller owns it). obj that is not an object fails with field "" .
 * Unknown fields are reported too when reject_unknown is true. Strings must be valid UTF-8. */
bool lc_validate(json_object *obj, const lc_vrule_t *rules, bool reject_unknown,
		 json_object **failures);

/* True when s is valid UTF-8 (no overlongs, no surrogates). */
bool lc_utf8_valid(const char *s, size_t len);
/* Count of UTF-8 characters in a valid string. */
size_t lc_utf8_len(const char *s, size_t len);

#endif
