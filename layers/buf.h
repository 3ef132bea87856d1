/* buf.h — a growable byte buffer with a hard maximum (curl's dynbuf idea).
 *
 * Every buffer states at creation how large it may grow; an append past that fails
 * instead of growing without bound. The bytes are always NUL-terminated for printing,
 * the terminator is not counted in len. */
#ifndef CM_BUF_H
#define CM_BUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef struct cm_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* bytes the buffer may hold, terminator excluded */
    bool failed; /* sticky: an append failed (over max or out of memory) */
} cm_buf;

/* Caller-owned storage: init sets an empty buffer limited to max bytes. */
void cm_buf_init(cm_buf *b, size_t max);
/* Frees the bytes; the buffer is empty again and may be reused. */
void cm_buf_release(cm_buf *b);

/* Appends; on failure sets b->failed and returns false (later appends also fail). */
bool cm_buf_append(cm_buf *b, const void *data, size_t n);
bool cm_buf_append_str(cm_buf *b, const char *s);
bool cm_buf_append_char(cm_buf *b, char c);
bool cm_buf_printf(cm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends v in decimal, as "%" PRId64 writes it, without printf: libquadmath, loaded with
 * GDAL's dependencies, registers printf hooks, and glibc then sends every printf call in the
 * process down its slow positional path; integers are in every feature and audit record. */
bool cm_buf_append_int(cm_buf *b, int64_t v);
/* Joins text into out (n bytes, n > 0) at *used without printf: appends s, cut where it
 * does not fit (as snprintf cuts), and keeps out terminated. For URLs and header values
 * built on every request. */
void cm_text_append(char *out, size_t n, size_t *used, const char *s);
/* The same for v in decimal, and for v as 16 lower-case hex digits ("%016" PRIx64). */
void cm_text_append_int(char *out, size_t n, size_t *used, int64_t v);
void cm_text_append_hex64(char *out, size_t n, size_t *used, uint64_t v);
/* Reserves room for n more bytes; returns a pointer to write into, or NULL. The caller
 * then adds what it wrote with cm_buf_commit. */
char *cm_buf_reserve(cm_buf *b, size_t n);
void cm_buf_commit(cm_buf *b, size_t n);

/* Appends s as a JSON string literal (quotes and escapes included). */
bool cm_buf_append_json_string(cm_buf *b, const char *s);
/* Appends JSON text (n bytes) with every <, > and & written as \u003c, \u003e, \u0026. JSON
 * has them only inside strings, where the escape means the same character, so the text
 * means what it meant and cannot open markup in a page that embeds it. */
bool cm_buf_append_json_text_markup_safe(cm_buf *b, const char *json, size_t n);

/* Transfers the bytes to the caller (returns new, NUL-terminated; free()), leaving the
 * buffer empty. Returns NULL if the buffer failed. */
char *cm_buf_steal(cm_buf *b, size_t *len);

#endif
