/* Unit tests for layers/row_digests.c: which ids differ between two looks at a table. */
#include <stdlib.h>
#include <string.h>

#include "../../layers/row_digests.h"
#include "check.h"

typedef struct {
    int64_t ids[16];
    int n, stop_after;
} seen_ids;

static int note(int64_t id, void *cls) {
    seen_ids *s = cls;
    s->ids[s->n++] = id;
    return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static int same(const seen_ids *s, const int64_t *want, int n) {
    if (s->n != n) return 0;
    for (int i = 0; i < n; i++)
        if (s->ids[i] != want[i]) return 0;
    return 1;
}

int main(void) {
    cm_row_digest a_rows[] = {{1, 10}, {2, 20}, {4, 40}, {5, 50}};
    /* 1 same, 2 changed, 3 added, 4 gone, 5 same, 9 added at the end */
    cm_row_digest b_rows[] = {{1, 10}, {2, 21}, {3, 30}, {5, 50}, {9, 90}};
    cm_row_digests a = {a_rows, 4}, b = {b_rows, 5}, empty = {NULL, 0};

    seen_ids s = {0};
    CHECK(cm_row_digests_diff(&a, &b, note, &s) == 0);
    CHECK(same(&s, (int64_t[]){2, 3, 4, 9}, 4));

    memset(&s, 0, sizeof s); /* nothing changed: nothing named */
    CHECK(cm_row_digests_diff(&a, &a, note, &s) == 0 && s.n == 0);

    memset(&s, 0, sizeof s); /* from nothing: every row is new */
    CHECK(cm_row_digests_diff(&empty, &b, note, &s) == 0);
    CHECK(same(&s, (int64_t[]){1, 2, 3, 5, 9}, 5));

    memset(&s, 0, sizeof s); /* to nothing: every row is gone */
    CHECK(cm_row_digests_diff(&a, &empty, note, &s) == 0);
    CHECK(same(&s, (int64_t[]){1, 2, 4, 5}, 4));

    memset(&s, 0, sizeof s); /* the callback's nonzero return stops the walk and is returned */
    s.stop_after = 2;
    CHECK(cm_row_digests_diff(&a, &b, note, &s) == 7 && s.n == 2);

    cm_row_digests copy; /* a copy compares equal: nothing named */
    CHECK(cm_row_digests_copy(&b, &copy) && copy.n == b.n && copy.rows != b.rows);
    memset(&s, 0, sizeof s);
    CHECK(cm_row_digests_diff(&b, &copy, note, &s) == 0 && s.n == 0);
    cm_row_digests_release(&copy);
    CHECK(cm_row_digests_copy(&empty, &copy) && copy.n == 0 && copy.rows == NULL);

    cm_row_digests owned = {malloc(2 * sizeof(cm_row_digest)), 2};
    cm_row_digests_release(&owned);
    CHECK(owned.rows == NULL && owned.n == 0);
    cm_row_digests_release(&owned); /* an empty one too */
    return check_report("test_row_digests");
}
