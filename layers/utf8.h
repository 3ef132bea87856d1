/* utf8.h — UTF-8 checks for text that enters the store. */
#ifndef CM_UTF8_H
#define CM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1-4) of the well-formed, non-NUL character at s, of at most avail bytes
 * (SIZE_MAX for a NUL-terminated string); 0 when there is none. */
size_t cm_utf8_sequence(const unsigned char *s, size_t avail);
/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or NUL). */
bool cm_utf8_valid(const char *s, size_t n);
/* Code points in a well-formed string. */
size_t cm_utf8_length(const char *s);

#endif
