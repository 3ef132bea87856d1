/* Unit tests for layers/spindex.c: query results, counts and the ordered walk equal a
 * brute-force scan on random boxes, including points, degenerate and empty entries. */
#include <math.h>
#include <stdlib.h>

#include "../../layers/spindex.h"
#include "check.h"

static double rnd(unsigned *seed) { return (double)rand_r(seed) / RAND_MAX; }

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static bool odd_entry(void *cls, uint32_t entry) {
    (void)cls;
    return entry % 2 == 1;
}

static void run(size_t n, unsigned seed, int queries) {
    cm_bbox *boxes = malloc(n * sizeof *boxes + 1);
    for (size_t i = 0; i < n; i++) {
        double x = 35.75 + 0.4 * rnd(&seed), y = 31.75 + 0.4 * rnd(&seed);
        double w = (i % 3 == 0) ? 0 : 0.01 * rnd(&seed), h = (i % 3 == 0) ? 0 : 0.01 * rnd(&seed);
        boxes[i] = (cm_bbox){x, y, x + w, y + h};
        if (i % 97 == 0) boxes[i] = (cm_bbox){INFINITY, INFINITY, -INFINITY, -INFINITY}; /* empty geometry */
    }
    cm_spindex *ix = cm_spindex_create(boxes, n);
    CHECK(ix != NULL);
    for (int q = 0; q < queries; q++) {
        double x = 35.7 + 0.5 * rnd(&seed), y = 31.7 + 0.5 * rnd(&seed), s = 0.05 * rnd(&seed);
        cm_bbox qb = {x, y, x + s, y + s};
        if (q == 0) qb = (cm_bbox){-180, -90, 180, 90};
        cm_idlist got = {0};
        CHECK(cm_spindex_query(ix, &qb, &got) == CM_OK);
        if (got.n > 1) qsort(got.v, got.n, sizeof *got.v, cmp_u32);
        size_t expected = 0;
        int mismatch = 0;
        for (size_t i = 0; i < n; i++)
            if (cm_bbox_intersects(&boxes[i], &qb)) {
                if (expected >= got.n || got.v[expected] != i) mismatch = 1;
                expected++;
            }
        CHECK(!mismatch && expected == got.n);
        /* Counting: boxes inside q count without the test; the others only when it accepts
         * them (here: odd entries). */
        size_t want_count = 0;
        for (size_t i = 0; i < n; i++)
            if (cm_bbox_intersects(&boxes[i], &qb) && (cm_bbox_within(&boxes[i], &qb) || i % 2 == 1)) want_count++;
        CHECK(cm_spindex_count(ix, &qb, odd_entry, NULL) == want_count);
        /* The walk: every meeting entry once, ascending, with the right inside flag. */
        cm_spindex_walk *w = cm_spindex_walk_start(ix, &qb);
        CHECK(w != NULL);
        uint32_t e;
        bool inside;
        size_t k = 0;
        int walk_ok = 1;
        cm_status st;
        while ((st = cm_spindex_walk_next(w, &e, &inside)) == CM_OK) {
            walk_ok &= k < got.n && got.v[k] == e && inside == cm_bbox_within(&boxes[e], &qb);
            k++;
        }
        CHECK(st == CM_ERR_NOT_FOUND && walk_ok && k == got.n);
        cm_spindex_walk_end(w);
        cm_idlist_release(&got);
    }
    cm_spindex_destroy(ix);
    free(boxes);
}

int main(void) {
    run(0, 1, 3);
    run(1, 2, 10);
    run(17, 3, 50);
    run(1000, 4, 200);
    run(100000, 5, 100);
    return check_report("test_spindex");
}
