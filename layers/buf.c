/* buf.c — growable byte buffer with a maximum. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void cm_buf_init(cm_buf *b, size_t max) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = false;
}

void cm_buf_release(cm_buf *b) {
    free(b->data);
    cm_buf_init(b, b->max);
}

char *cm_buf_reserve(cm_buf *b, size_t n) {
    if (b->failed) return NULL;
    if (n > b->max || b->len > b->max - n) {
        b->failed = true;
        return NULL;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        if (cap > b->max + 1) cap = b->max + 1;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return NULL;
        }
        b->data = d;
        b->cap = cap;
    }
    return b->data + b->len;
}

void cm_buf_commit(cm_buf *b, size_t n) {
    b->len += n;
    b->data[b->len] = '\0';
}

bool cm_buf_append(cm_buf *b, const void *data, size_t n) {
    char *p = cm_buf_reserve(b, n);
    if (!p) return false;
    if (n) memcpy(p, data, n);
    cm_buf_commit(b, n);
    return true;
}

bool cm_buf_append_str(cm_buf *b, const char *s) { return cm_buf_append(b, s, strlen(s)); }

bool cm_buf_append_char(cm_buf *b, char c) { return cm_buf_append(b, &c, 1); }

static const char hex_digits[] = "0123456789abcdef";

enum { INT_TEXT_MAX = 20 }; /* "-9223372036854775808" */

/* v in decimal into out (INT_TEXT_MAX bytes, not terminated); returns its length. */
static size_t int_to_text(int64_t v, char *out) {
    char tmp[INT_TEXT_MAX];
    char *end = tmp + sizeof tmp, *p = end;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    memcpy(out, p, (size_t)(end - p));
    return (size_t)(end - p);
}

void cm_text_append(char *out, size_t n, size_t *used, const char *s) {
    size_t at = *used < n ? *used : n - 1, len = strlen(s);
    if (len > n - 1 - at) len = n - 1 - at;
    memcpy(out + at, s, len);
    out[at + len] = '\0';
    *used = at + len;
}

void cm_text_append_int(char *out, size_t n, size_t *used, int64_t v) {
    char tmp[INT_TEXT_MAX + 1];
    tmp[int_to_text(v, tmp)] = '\0';
    cm_text_append(out, n, used, tmp);
}

void cm_text_append_hex64(char *out, size_t n, size_t *used, uint64_t v) {
    char tmp[17];
    for (int i = 15; i >= 0; i--, v >>= 4) tmp[i] = hex_digits[v & 15];
    tmp[16] = '\0';
    cm_text_append(out, n, used, tmp);
}

bool cm_buf_append_int(cm_buf *b, int64_t v) {
    char tmp[INT_TEXT_MAX];
    return cm_buf_append(b, tmp, int_to_text(v, tmp));
}

bool cm_buf_printf(cm_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return false;
    }
    if ((size_t)n < sizeof small) return cm_buf_append(b, small, (size_t)n);
    char *p = cm_buf_reserve(b, (size_t)n);
    if (!p) return false;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cm_buf_commit(b, (size_t)n);
    return true;
}

bool cm_buf_append_json_text_markup_safe(cm_buf *b, const char *json, size_t n) {
    const char *run = json, *end = json + n;
    for (const char *p = json; p < end; p++) {
        if (*p != '<' && *p != '>' && *p != '&') continue;
        char esc[6] = {'\\', 'u', '0', '0', hex_digits[(unsigned char)*p >> 4], hex_digits[*p & 15]};
        cm_buf_append(b, run, (size_t)(p - run));
        cm_buf_append(b, esc, sizeof esc);
        run = p + 1;
    }
    return cm_buf_append(b, run, (size_t)(end - run));
}

bool cm_buf_append_json_string(cm_buf *b, const char *s) {
    if (!cm_buf_append_char(b, '"')) return false;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    for (; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') continue;
        if (c >= 0x80) {
            size_t n = cm_utf8_sequence(p, SIZE_MAX);
            if (n) {
                p += n - 1;
                continue;
            }
            /* Not UTF-8 (an echoed request, a message cut inside a character): JSON must be. */
            cm_buf_append(b, run, (size_t)(p - run));
            cm_buf_append(b, "\\ufffd", 6);
            run = p + 1;
            continue;
        }
        cm_buf_append(b, run, (size_t)(p - run));
        run = p + 1;
        switch (c) {
        case '"': cm_buf_append(b, "\\\"", 2); break;
        case '\\': cm_buf_append(b, "\\\\", 2); break;
        case '\n': cm_buf_append(b, "\\n", 2); break;
        case '\r': cm_buf_append(b, "\\r", 2); break;
        case '\t': cm_buf_append(b, "\\t", 2); break;
        default: {
            /* Control characters, and <>& so JSON never carries markup into a page that
             * embeds it. */
            char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
            cm_buf_append(b, esc, 6);
        }
        }
    }
    cm_buf_append(b, run, (size_t)(p - run));
    return cm_buf_append_char(b, '"');
}

char *cm_buf_steal(cm_buf *b, size_t *len) {
    if (b->failed) {
        cm_buf_release(b);
        return NULL;
    }
    if (!b->data && !cm_buf_reserve(b, 0)) return NULL;
    if (!b->data) return NULL;
    b->data[b->len] = '\0';
    char *d = b->data;
    if (len) *len = b->len;
    cm_buf_init(b, b->max);
    return d;
}
