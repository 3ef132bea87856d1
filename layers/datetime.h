/* datetime.h — RFC 3339 instants as milliseconds since the Unix epoch (UTC).
 *
 * The API's `datetime` parameter and the layers' datetime properties use the same
 * representation, so comparisons are integer comparisons. */
#ifndef CM_DATETIME_H
#define CM_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" (also lower-case t/z, and a space for T)
 * or a plain date "YYYY-MM-DD" (midnight UTC). Returns false on anything else, including
 * out-of-range fields and times that fall outside the years 0000-9999 in UTC. */
bool cm_datetime_parse(const char *s, int64_t *out_ms);

/* Writes the UTC form "YYYY-MM-DDTHH:MM:SSZ" (".mmm" when not whole seconds) into out,
 * which must hold at least 32 bytes. Returns the length. */
size_t cm_datetime_format(int64_t ms, char *out);

/* Splits an instant into UTC calendar fields (for libraries that want them). */
void cm_datetime_split(int64_t ms, int *year, int *month, int *day, int *hour, int *minute,
                       double *second);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t cm_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
