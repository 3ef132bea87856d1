/* datetime.c — RFC 3339 parsing and formatting without the C library's time zone state
 * (timegm/gmtime are not in C17 and depend on TZ). Civil-date arithmetic after
 * H. Hinnant's days_from_civil. */
#include "datetime.h"

#include <stdio.h>

int64_t cm_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool cm_datetime_parse(const char *s, int64_t *out_ms) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y))) return false;
    int64_t ms = 0, offset_min = 0;
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ') return false;
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &se))
            return false;
        if (h > 23 || mi > 59 || se > 60) return false;
        if (*p == '.') {
            p++;
            int n = 0;
            int64_t frac = 0;
            while (*p >= '0' && *p <= '9') {
                if (n < 3) frac = frac * 10 + (*p - '0');
                n++;
                p++;
            }
            if (n == 0 || n > 9) return false;
            for (int i = n; i < 3; i++) frac *= 10;
            ms = frac;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
                return false;
            offset_min = sign * (oh * 60 + om);
        } else {
            return false; /* RFC 3339 requires an offset */
        }
        if (*p) return false;
    }
    int64_t days = cm_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + (se == 60 ? 59 : se) - offset_min * 60;
    /* An offset can carry 0000-01-01 or 9999-12-31 past the years RFC 3339 (and GDAL, and
     * our own formatting) can write back. */
    if (secs < cm_days_from_civil(0, 1, 1) * 86400 || secs >= cm_days_from_civil(10000, 1, 1) * 86400) return false;
    *out_ms = secs * 1000 + ms;
    return true;
}

/* Writes v (0 <= v < 10^width) with leading zeros; returns the end. */
static char *put_digits(char *p, int v, int width) {
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

size_t cm_datetime_format(int64_t ms, char *out) {
    int y, mo, d, h, mi;
    double sec;
    cm_datetime_split(ms, &y, &mo, &d, &h, &mi, &sec);
    int whole = (int)sec, frac_ms = (int)(ms - (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)) * 1000);
    if (y < 0 || y > 9999) { /* outside RFC 3339: printf's widths say what it looks like */
        int n = frac_ms ? snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, whole, frac_ms)
                        : snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, whole);
        return n > 0 ? (size_t)n : 0;
    }
    /* Digit by digit: this runs for every time of every feature written, and printf is slow
     * in this process (see cm_buf_append_int). */
    char *p = out;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, h, 2);
    *p++ = ':';
    p = put_digits(p, mi, 2);
    *p++ = ':';
    p = put_digits(p, whole, 2);
    if (frac_ms) {
        *p++ = '.';
        p = put_digits(p, frac_ms, 3);
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

void cm_datetime_split(int64_t ms, int *year, int *month, int *day, int *hour, int *minute,
                       double *second) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t rem_ms = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    *year = (int)y;
    *month = (int)m;
    *day = (int)d;
    *hour = (int)(sod / 3600);
    *minute = (int)(sod / 60 % 60);
    *second = (double)(sod % 60) + (double)rem_ms / 1000.0;
}
