/* SPDX-License-Identifier: MIT */
/* lc_auth: password hashing (PBKDF2-HMAC-SHA512, OpenSSL) and session tokens.
 * Stored hash format, self-describing so the cost can be raised later:
 *   pbkdf2-sha512$<iterations>$<salt, base64>$<hash, base64>
 * with a 16-byte random salt and a 64-byte derived key. */
#ifndef LC_AUTH_H
#define LC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include "lc_err.h"

#define LC_AUTH_MIN_ITERATIONS 210000
#define LC_AUTH_MAX_ITERATIONS 10000000 /* a stored string above this is refused (CPU DoS) */
#define LC_AUTH_TOKEN_LEN 43        /* 32 random bytes, base64url without padding */
#define LC_AUTH_TOKEN_HASH_LEN 64   /* SHA-256, lower-case hex */

/* Raw PBKDF2-HMAC-SHA512 (for test vectors). Returns LC_OK or LC_ERR_INTERNAL. */
lc_rc lc_auth_pbkdf2_sha512(const char *password, size_t pwlen, const unsigned char *salt,
			    size_t saltlen, unsigned iterations, unsigned char *out, size_t outlen);
/* Hash password with a fresh random salt; *out is a new string the caller frees.
 * iterations < LC_AUTH_MIN_ITERATIONS is raised to the minimum. */
lc_rc lc_auth_hash_password(const char *password, unsigned iterations, char **out, lc_err_t *err);
/* Constant-time check of password against a stored string. A malformed stored string, an
 * unknown algorithm or iterations below the minimum all return false. */
bool lc_auth_verify_password(const char *password, const char *stored);
/* A new session token (LC_AUTH_TOKEN_LEN chars + NUL) from 32 bytes of RAND_bytes. */
lc_rc lc_auth_new_token(char out[LC_AUTH_TOKEN_LEN + 1], lc_err_t *err);
/* SHA-256 of token as lower-case hex: what the store keeps instead of the token. */
void lc_auth_token_hash(const char *token, char out[LC_AUTH_TOKEN_HASH_LEN + 1]);
/* A random identifier of nbytes random bytes rendered as hex (out must hold 2*nbytes+1). */
lc_rc lc_auth_random_hex(size_t nbytes, char *out, lc_err_t *err);

#endif
