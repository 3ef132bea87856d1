/* digest.c — thin wrappers over GnuTLS's hash and random functions. */
#include "digest.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

void cm_sha256(const void *data, size_t len, uint8_t out[CM_SHA256_LEN]) {
    gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out);
}

bool cm_random_bytes(void *buf, size_t n) { return gnutls_rnd(GNUTLS_RND_KEY, buf, n) == 0; }

void cm_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool cm_unhex(const char *hex, uint8_t *out, size_t n) {
    if (strlen(hex) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool cm_equal_ct(const uint8_t *a, const uint8_t *b, size_t n) {
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= a[i] ^ b[i];
    return diff == 0;
}
