/* utf8.c — UTF-8 validation (RFC 3629 table 3-7). */
#include "utf8.h"

bool cm_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str, *end = s + n;
    while (s < end) {
        unsigned char c = *s;
        if (c == 0) return false;
        if (c < 0x80) {
            s++;
            continue;
        }
        int len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else return false;
        if (end - s < len) return false;
        if (s[1] < lo || s[1] > hi) return false;
        for (int i = 2; i < len; i++)
            if (s[i] < 0x80 || s[i] > 0xBF) return false;
        s += len;
    }
    return true;
}

size_t cm_utf8_length(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}
