/* digest.h — SHA-256, random bytes and hex, through GnuTLS (already linked by
 * libmicrohttpd): token hashes and the audit chain. */
#ifndef CM_DIGEST_H
#define CM_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_SHA256_LEN 32

/* out receives the 32-byte digest of data. */
void cm_sha256(const void *data, size_t len, uint8_t out[CM_SHA256_LEN]);
/* Fills buf with n bytes from the system's cryptographic generator; false on failure. */
bool cm_random_bytes(void *buf, size_t n);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void cm_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses 2n hex digits into n bytes; false on anything else. */
bool cm_unhex(const char *hex, uint8_t *out, size_t n);
/* Compares n bytes in time independent of where they differ. */
bool cm_equal_ct(const uint8_t *a, const uint8_t *b, size_t n);

#endif
