/* SPDX-License-Identifier: MIT */
/* lc_auth: PBKDF2-HMAC-SHA512 password hashes in a self-describing string, and session tokens
 * (random, base64url) whose SHA-256 is what the store keeps. All randomness is RAND_bytes. */
#include "config.h"
#include "lc_auth.h"
#include "lc_alloc.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define ALGO_PREFIX "pbkdf2-sha512$"
#define SALT_LEN 16
#define KEY_LEN 64
/* Salts we accept when verifying; we always write SALT_LEN. */
#define SALT_MIN 8
#define SALT_MAX 64

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encode len bytes; out must hold 4*ceil(len/3)+1. pad: append '=' to a multiple of 4. */
static void b64_encode(const unsigned char *in, size_t len, const char *alpha, bool pad, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (i + 1 < len)
			out[o++] = alpha[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_std, c) : NULL;
	return p ? (int)(p - b64_std) : -1;
}

/* Strict decode of standard, padded base64 of exactly slen chars. Returns the byte count, or
 * -1 for anything malformed (bad char, bad padding, non-zero trailing bits, over outmax). */
static long b64_decode(const char *s, size_t slen, unsigned char *out, size_t outmax)
{
	size_t o = 0;
	if (slen == 0 || slen % 4 != 0)
		return -1;
	for (size_t i = 0; i < slen; i += 4) {
		int v[4];
		int pads = 0;
		for (int k = 0; k < 4; k++) {
			char c = s[i + k];
			if (c == '=' && i + 4 == slen && k >= 2) {
				v[k] = 0;
				pads++;
			} else {
				if (pads > 0)
					return -1;      /* data after padding */
				v[k] = b64_value(c);
				if (v[k] < 0)
					return -1;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if ((pads == 1 && (w & 0xFF) != 0) || (pads == 2 && (w & 0xFFFF) != 0))
			return -1;              /* non-canonical: stray bits under the padding */
		size_t n = 3 - (size_t)pads;
		if (o + n > outmax)
			return -1;
		out[o++] = (unsigned char)(w >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(w >> 8);
		if (n > 2)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}

lc_rc lc_auth_pbkdf2_sha512(const char *password, size_t pwlen, const unsigned char *salt,
			    size_t saltlen, unsigned iterations, unsigned char *out, size_t outlen)
{
	if (password == NULL || salt == NULL || out == NULL || iterations == 0 ||
	    iterations > INT_MAX || pwlen > INT_MAX || saltlen > INT_MAX || outlen > INT_MAX)
		return LC_ERR_INTERNAL;
	if (PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)saltlen, (int)iterations,
			      EVP_sha512(), (int)outlen, out) != 1)
		return LC_ERR_INTERNAL;
	return LC_OK;
}

lc_rc lc_auth_hash_password(const char *password, unsigned iterations, char **out, lc_err_t *err)
{
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char salt64[4 * ((SALT_LEN + 2) / 3) + 1], key64[4 * ((KEY_LEN + 2) / 3) + 1];
	lc_rc rc;

	LC_ASSERT(out != NULL);
	*out = NULL;
	if (password == NULL)
		return lc_err_set(err, LC_ERR_INVALID, "password is missing");
	if (iterations < LC_AUTH_MIN_ITERATIONS)
		iterations = LC_AUTH_MIN_ITERATIONS;
	if (iterations > LC_AUTH_MAX_ITERATIONS)
		return lc_err_set(err, LC_ERR_INVALID, "iteration count %u is above the maximum %u",
				  iterations, (unsigned)LC_AUTH_MAX_ITERATIONS);
	if (RAND_bytes(salt, sizeof salt) != 1) {
		rc = lc_err_set(err, LC_ERR_INTERNAL, "RAND_bytes failed");
		goto fail;
	}
	rc = lc_auth_pbkdf2_sha512(password, strlen(password), salt, sizeof salt, iterations,
				   key, sizeof key);
	if (rc != LC_OK) {
		lc_err_set(err, rc, "PBKDF2 failed");
		goto fail;
	}
	b64_encode(salt, sizeof salt, b64_std, true, salt64);
	b64_encode(key, sizeof key, b64_std, true, key64);
	*out = lc_asprintf(ALGO_PREFIX "%u$%s$%s", iterations, salt64, key64);
	rc = LC_OK;
fail:
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

bool lc_auth_verify_password(const char *password, const char *stored)
{
	unsigned char salt[SALT_MAX], want[KEY_LEN], got[KEY_LEN];
	bool ok = false;

	if (password == NULL || stored == NULL)
		return false;
	if (strncmp(stored, ALGO_PREFIX, strlen(ALGO_PREFIX)) != 0)
		return false;
	const char *p = stored + strlen(ALGO_PREFIX);

	/* Iterations: plain decimal digits, no sign, no leading zero, bounded. */
	unsigned long long iter = 0;
	const char *q = p;
	if (*q < '1' || *q > '9')
		return false;
	while (*q >= '0' && *q <= '9') {
		iter = iter * 10 + (unsigned)(*q - '0');
		if (iter > LC_AUTH_MAX_ITERATIONS)
			return false;
		q++;
	}
	if (*q != '$' || iter < LC_AUTH_MIN_ITERATIONS)
		return false;

	const char *salt_s = q + 1;
	const char *dollar = strchr(salt_s, '$');
	if (dollar == NULL)
		return false;
	const char *key_s = dollar + 1;
	if (strchr(key_s, '$') != NULL)
		return false;
	long saltlen = b64_decode(salt_s, (size_t)(dollar - salt_s), salt, sizeof salt);
	if (saltlen < SALT_MIN)
		return false;
	if (b64_decode(key_s, strlen(key_s), want, sizeof want) != KEY_LEN)
		return false;
	if (lc_auth_pbkdf2_sha512(password, strlen(password), salt, (size_t)saltlen,
				  (unsigned)iter, got, sizeof got) != LC_OK)
		goto done;
	ok = CRYPTO_memcmp(got, want, KEY_LEN) == 0;
done:
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

lc_rc lc_auth_new_token(char out[LC_AUTH_TOKEN_LEN + 1], lc_err_t *err)
{
	unsigned char raw[32];
	char buf[4 * ((sizeof raw + 2) / 3) + 1];

	LC_ASSERT(out != NULL);
	out[0] = '\0';
	if (RAND_bytes(raw, sizeof raw) != 1)
		return lc_err_set(err, LC_ERR_INTERNAL, "RAND_bytes failed");
	b64_encode(raw, sizeof raw, b64_url, false, buf);
	OPENSSL_cleanse(raw, sizeof raw);
	LC_ASSERT(strlen(buf) == LC_AUTH_TOKEN_LEN);
	memcpy(out, buf, LC_AUTH_TOKEN_LEN + 1);
	OPENSSL_cleanse(buf, sizeof buf);
	return LC_OK;
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void lc_auth_token_hash(const char *token, char out[LC_AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	LC_ASSERT(out != NULL);
	if (token == NULL)
		token = "";
	/* A failure of SHA-256 over memory means a broken libcrypto: not a runtime condition. */
	int ok = EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL);
	LC_ASSERT(ok == 1);
	LC_ASSERT(mdlen == sizeof md);
	to_hex(md, sizeof md, out);
}

lc_rc lc_auth_random_hex(size_t nbytes, char *out, lc_err_t *err)
{
	LC_ASSERT(out != NULL);
	out[0] = '\0';
	if (nbytes == 0 || nbytes > 1024)
		return lc_err_set(err, LC_ERR_INVALID, "random id size %zu out of range 1..1024", nbytes);
	unsigned char *raw = lc_malloc(nbytes);
	if (RAND_bytes(raw, (int)nbytes) != 1) {
		free(raw);
		return lc_err_set(err, LC_ERR_INTERNAL, "RAND_bytes failed");
	}
	to_hex(raw, nbytes, out);
	free(raw);
	return LC_OK;
}
