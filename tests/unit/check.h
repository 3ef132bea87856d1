/* check.h — a tiny assertion kit for unit tests: CHECK keeps going and counts failures,
 * the test's main returns check_report(). */
#ifndef CM_CHECK_H
#define CM_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        check_count++;                                                                \
        if (!(cond)) {                                                                \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_STR(a, b)                                                                                \
    do {                                                                                               \
        const char *check_a_ = (a), *check_b_ = (b);                                                   \
        check_count++;                                                                                 \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                               \
            check_failures++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK_STR failed:\n  got:      %s\n  expected: %s\n", __FILE__, __LINE__, \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                   \
        }                                                                                              \
    } while (0)

static inline int check_report(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
