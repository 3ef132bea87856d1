/* Unit tests for layers/datetime.c. */
#include <stdio.h>
#include <string.h>

#include "../../layers/datetime.h"
#include "check.h"

int main(void) {
    int64_t t;
    char out[40];
    CHECK(cm_datetime_parse("1970-01-01T00:00:00Z", &t) && t == 0);
    CHECK(cm_datetime_parse("2026-11-28T06:00:00Z", &t) && t == 1795845600000);
    cm_datetime_format(t, out);
    CHECK_STR(out, "2026-11-28T06:00:00Z");
    CHECK(cm_datetime_parse("2026-11-28T08:30:00.250+02:30", &t));
    cm_datetime_format(t, out);
    CHECK_STR(out, "2026-11-28T06:00:00.250Z");
    CHECK(cm_datetime_parse("2024-02-29", &t));
    cm_datetime_format(t, out);
    CHECK_STR(out, "2024-02-29T00:00:00Z");
    CHECK(cm_datetime_parse("1969-12-31T23:59:59Z", &t) && t == -1000);
    cm_datetime_format(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    CHECK(!cm_datetime_parse("2023-02-29", &t));
    CHECK(!cm_datetime_parse("2026-13-01T00:00:00Z", &t));
    CHECK(!cm_datetime_parse("2026-11-28T24:00:00Z", &t));
    CHECK(!cm_datetime_parse("2026-11-28T10:00Z", &t));
    CHECK(!cm_datetime_parse("2026-11-28T10:00:00", &t));
    CHECK(!cm_datetime_parse("2026-11-28T10:00:00Zjunk", &t));
    CHECK(!cm_datetime_parse("", &t));
    /* The years 0000-9999 in UTC, and nothing an offset carries past them. */
    CHECK(cm_datetime_parse("0000-01-01T00:00:00Z", &t));
    cm_datetime_format(t, out);
    CHECK_STR(out, "0000-01-01T00:00:00Z");
    CHECK(cm_datetime_parse("9999-12-31T23:59:59.999Z", &t));
    cm_datetime_format(t, out);
    CHECK_STR(out, "9999-12-31T23:59:59.999Z");
    CHECK(!cm_datetime_parse("0000-01-01T00:00:00+00:01", &t));
    CHECK(!cm_datetime_parse("9999-12-31T23:59:00-00:02", &t));
    CHECK(cm_datetime_parse("9999-12-31T23:59:00+00:02", &t));
    int y, mo, d, h, mi;
    double s;
    cm_datetime_split(1795845600250, &y, &mo, &d, &h, &mi, &s);
    CHECK(y == 2026 && mo == 11 && d == 28 && h == 6 && mi == 0 && s > 0.24 && s < 0.26);
    /* Written digit by digit, the text is what printf's widths wrote before, for times across
     * the whole range (milliseconds, whole seconds, the epoch's both sides, years 0 and 9999),
     * and outside it. */
    const int64_t lo = cm_days_from_civil(0, 1, 1) * 86400000LL, hi = cm_days_from_civil(10000, 1, 1) * 86400000LL;
    int64_t probe[] = {0, -1, 1, 999, 1000, -1000, lo, lo + 1, hi - 1, hi - 1000, hi, lo - 1, -62198755200001LL};
    int mismatches = 0;
    for (size_t i = 0; i < sizeof probe / sizeof *probe + 20000; i++) {
        int64_t ms = i < sizeof probe / sizeof *probe
                         ? probe[i]
                         : lo + (int64_t)((i * 2654435761u) % 1000003u) * ((hi - lo) / 1000003);
        if (i % 2) ms -= ms % 1000; /* whole seconds too */
        char want[64];
        cm_datetime_split(ms, &y, &mo, &d, &h, &mi, &s);
        int whole = (int)s, frac = (int)(ms - (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000)) * 1000);
        if (frac) snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, whole, frac);
        else snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, whole);
        size_t n = cm_datetime_format(ms, out);
        if (strcmp(out, want) != 0 || n != strlen(want)) {
            if (mismatches++ < 5) fprintf(stderr, "  %lld: %s, want %s\n", (long long)ms, out, want);
        }
    }
    CHECK(mismatches == 0);
    return check_report("test_datetime");
}
