/* Unit tests for layers/datetime.c. */
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
    return check_report("test_datetime");
}
