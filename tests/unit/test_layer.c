/* Unit tests for layers/layer.c and select.c: a snapshot derived by changes (shared index +
 * overlay) answers bbox queries exactly as a brute-force scan does, and its version and
 * extent equal those of a snapshot built from scratch over the same content. Snapshots
 * held while later ones are derived keep showing their own features (the retired chain;
 * the sanitizer build catches a feature freed too early, LeakSanitizer one never freed). */
#include <stdlib.h>

#include "../../layers/layer.h"
#include "../../layers/select.h"
#include "check.h"
#include "points.h"

static cm_layer_defs defs;

static double rnd(unsigned *s) { return (double)rand_r(s) / RAND_MAX; }

/* Bbox queries on s against a brute-force scan, and pages of them against the full
 * selection. */
static void check_queries(const cm_snapshot *s, unsigned *seed_in) {
    unsigned seed = *seed_in;
    for (int q = 0; q < 10; q++) {
        double x = rnd(&seed), y = rnd(&seed), w = 0.05 + 0.2 * rnd(&seed);
        if (q % 3 == 0) { /* wide: hundreds of candidates, ordered through the bitmap */
            x *= 0.3;
            y *= 0.3;
            w = 0.5 + 0.2 * rnd(&seed);
        }
        cm_filter f = {.n_boxes = 1, .boxes = {{x, y, x + w, y + w}}};
        cm_idlist got = {0};
        CHECK(cm_select(s, &f, &got) == CM_OK);
        size_t expected = 0;
        int bad = 0;
        for (size_t i = 0; i < s->n; i++)
            if (cm_geom_intersects_bbox(&s->features[i]->geom, &f.boxes[0])) {
                if (expected >= got.n || got.v[expected] != i) bad = 1;
                expected++;
            }
        CHECK(!bad && expected == got.n);
        /* Pages: the walk near the front (small pages of many matches), the full
         * selection further in; both must be the same slice of the same order. */
        static const size_t pages[][2] = {{0, 1}, {0, 7}, {3, 5}, {20, 10}, {0, 100}, {150, 100}, {0, 100000}};
        for (size_t pi = 0; pi < sizeof pages / sizeof *pages; pi++) {
            cm_idlist page = {0};
            size_t matched = 0;
            CHECK(cm_select_page(s, &f, pages[pi][0], pages[pi][1], &page, &matched) == CM_OK);
            size_t from = pages[pi][0] < got.n ? pages[pi][0] : got.n;
            size_t want = got.n - from < pages[pi][1] ? got.n - from : pages[pi][1];
            int same = matched == got.n && page.n == want;
            for (size_t i = 0; same && i < page.n; i++) same = page.v[i] == got.v[from + i];
            CHECK(same);
            cm_idlist_release(&page);
        }
        cm_idlist_release(&got);
    }
    *seed_in = seed;
}

/* A snapshot of n short diagonal lines, ids 1..n, at random places. */
static cm_snapshot *diagonal_lines(const cm_layer_def *def, size_t n, unsigned *seed) {
    cm_feature **arr = malloc(n * sizeof *arr);
    for (size_t i = 0; i < n; i++) {
        double x = rnd(seed), y = rnd(seed);
        arr[i] = line(def, (int64_t)i + 1, x, y, x + 0.08, y + 0.08);
    }
    cm_snapshot *s;
    CHECK(cm_snapshot_create(def, arr, n, &s) == CM_OK);
    return s;
}

/* A line of snapshots where features leave while no older snapshot is held: the shared
 * index still names them, and the queries' exact tests read their geometry (diagonal
 * lines whose envelopes meet the boxes without the lines doing so), so the index must
 * keep them alive (the sanitizer build sees a freed one). */
static void index_keeps_features_that_left(const cm_layer_def *def) {
    unsigned seed = 11;
    cm_snapshot *s = diagonal_lines(def, 600, &seed);
    for (int round = 0; round < 30; round++) {
        cm_feature **next = malloc(s->n * sizeof *next);
        int64_t changed[8];
        size_t nc = 0;
        for (size_t i = 0; i < s->n; i++) {
            next[i] = s->features[i];
            if (nc < 8 && rnd(&seed) < 0.01) {
                double x = rnd(&seed), y = rnd(&seed);
                next[i] = line(def, s->features[i]->id, x, y + 0.08, x + 0.08, y); /* moved: a new feature */
                changed[nc++] = s->features[i]->id;
            }
        }
        cm_snapshot *d;
        CHECK(cm_snapshot_derive(s, next, s->n, changed, nc, &d) == CM_OK);
        cm_snapshot_unref(s);
        s = d;
        check_queries(s, &seed);
    }
    CHECK(s->n_overlay > 0); /* the first index was still in use */
    cm_snapshot_unref(s);
}

/* s's successor after moving, deleting and creating a few of its diagonal lines. */
static cm_snapshot *shuffle_lines(cm_snapshot *s, const cm_layer_def *def, unsigned *seed, int64_t *next_id) {
    cm_feature **next = malloc((s->n + 4) * sizeof *next);
    int64_t changed[24];
    size_t nc = 0, k = 0;
    for (size_t i = 0; i < s->n; i++) {
        double r = rnd(seed);
        if (nc < 16 && r < 0.01) {
            changed[nc++] = s->features[i]->id; /* deleted */
        } else if (nc < 16 && r < 0.02) {
            double x = rnd(seed), y = rnd(seed);
            next[k++] = line(def, s->features[i]->id, x, y + 0.08, x + 0.08, y); /* moved */
            changed[nc++] = s->features[i]->id;
        } else {
            next[k++] = s->features[i];
        }
    }
    for (int j = 0; j < 4; j++) {
        double x = rnd(seed), y = rnd(seed);
        next[k++] = line(def, *next_id, x, y, x + 0.08, y + 0.08);
        changed[nc++] = (*next_id)++; /* above every id so far: `changed` stays ascending */
    }
    cm_snapshot *d;
    CHECK(cm_snapshot_derive(s, next, k, changed, nc, &d) == CM_OK);
    cm_snapshot_unref(s);
    return d;
}

/* An index built over an earlier snapshot of the line (as cm_index_builder does), adopted
 * by a later one: the overlay becomes what changed since, queries stay exact, later derives
 * go on from it, and an index no newer than the snapshot's own is refused. Nothing holds
 * the snapshot the index was built over, so the features that left since are alive only
 * through the index (the sanitizer build sees one freed early). */
static void rebase_on_an_index_built_earlier(const cm_layer_def *def) {
    unsigned seed = 23;
    size_t n = 3000;
    int64_t next_id = (int64_t)n + 1;
    cm_snapshot *s = diagonal_lines(def, n, &seed);
    for (int round = 0; round < 4; round++) s = shuffle_lines(s, def, &seed, &next_id);
    cm_index_base *early = cm_index_base_build(s);
    CHECK(early && early->n == s->n);
    for (int round = 0; round < 4; round++) s = shuffle_lines(s, def, &seed, &next_id);
    cm_index_base *built = cm_index_base_build(s);
    for (int round = 0; round < 6; round++) s = shuffle_lines(s, def, &seed, &next_id);
    size_t before = s->n_overlay;
    CHECK(before > 0);
    CHECK(cm_snapshot_rebase(s, built));
    CHECK(s->base == built && s->n_overlay > 0 && s->n_overlay < before);
    check_queries(s, &seed);
    /* The index built before it would not shrink the overlay: refused, s unchanged. */
    size_t rebased = s->n_overlay;
    CHECK(!cm_snapshot_rebase(s, early) && s->base == built && s->n_overlay == rebased);
    for (int round = 0; round < 5; round++) {
        s = shuffle_lines(s, def, &seed, &next_id);
        check_queries(s, &seed);
    }
    CHECK(s->base == built); /* still in use: the checks above ran over this rebased line */
    /* An index over s itself leaves no overlay. */
    cm_index_base *now = cm_index_base_build(s);
    CHECK(cm_snapshot_rebase(s, now) && s->n_overlay == 0 && !s->overlay);
    check_queries(s, &seed);
    CHECK(!cm_snapshot_rebase(s, early)); /* nothing to gain from an empty overlay */
    s = shuffle_lines(s, def, &seed, &next_id);
    check_queries(s, &seed);
    cm_index_base_release(early);
    cm_snapshot_unref(s);
}

/* A closure (LineString) with valid_from/valid_until in ms, or unset when < 0. */
static cm_feature *timed_line(const cm_layer_def *def, int64_t id, double lon, int64_t from, int64_t until) {
    cm_feature *base = line(def, id, lon, 43.7, lon + 0.01, 43.71);
    cm_value *v = cm_values_create(def);
    if (from >= 0) v[def->time_start] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = from};
    if (until >= 0) v[def->time_end] = (cm_value){.set = true, .type = CM_PROP_DATETIME, .u.t_ms = until};
    cm_geom g;
    cm_geom_copy(&g, &base->geom);
    cm_feature_unref(base);
    cm_feature *f;
    cm_feature_create(def, id, &g, v, &f);
    return f;
}

/* Extents after edits equal a fresh snapshot's: spatial and temporal, with features that have
 * no times (their sentinels are not an edge), and when the feature on an edge is edited again
 * and again (the latest update moving outwards, as an operator updating one closure does). */
static void extents_follow_edits(const cm_layer_def *def) {
    CHECK(def->time_start >= 0 && def->time_end >= 0);
    unsigned seed = 11;
    size_t n = 300;
    cm_feature **arr = malloc(n * sizeof *arr);
    for (size_t i = 0; i < n; i++) {
        int64_t from = rnd(&seed) < 0.3 ? -1 : (int64_t)(rnd(&seed) * 1e9), until = rnd(&seed) < 0.3 ? -1 : from + 1000;
        arr[i] = timed_line(def, (int64_t)i + 1, 7.4 + rnd(&seed) * 0.05, from, until);
    }
    cm_snapshot *s;
    CHECK(cm_snapshot_create(def, arr, n, &s) == CM_OK);
    int same = 1;
    for (int round = 0; round < 200; round++) {
        int64_t id = round % 4 == 0 ? 1 + (int64_t)(rnd(&seed) * (double)n) : 7; /* mostly the same one */
        ssize_t at = cm_snapshot_position(s, id);
        cm_feature **next = malloc(s->n * sizeof *next);
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) next[k++] = s->features[i];
        int64_t from = round % 7 == 0 ? -1 : 1000000000 + (int64_t)round * 1000 * (round % 3 ? 1 : -1);
        int64_t until = round % 5 == 0 ? -1 : from + 500;
        if (round % 11 == 10 && at >= 0) { /* a delete */
            memmove(next + at, next + at + 1, (s->n - (size_t)at - 1) * sizeof *next);
            k--;
        } else if (at >= 0) {
            next[at] = timed_line(def, id, round % 9 == 0 ? 7.3 : 7.42, from, until);
        } else {
            free(next);
            continue;
        }
        cm_snapshot *d;
        CHECK(cm_snapshot_derive(s, next, k, &id, 1, &d) == CM_OK);
        cm_snapshot_unref(s);
        s = d;
        cm_feature **copy = malloc(s->n * sizeof *copy);
        for (size_t i = 0; i < s->n; i++) copy[i] = cm_feature_ref(s->features[i]);
        cm_snapshot *fresh;
        CHECK(cm_snapshot_create(def, copy, s->n, &fresh) == CM_OK);
        same &= fresh->t_min_ms == s->t_min_ms && fresh->t_max_ms == s->t_max_ms &&
                fresh->extent.min_lon == s->extent.min_lon && fresh->extent.max_lon == s->extent.max_lon &&
                fresh->extent.min_lat == s->extent.min_lat && fresh->extent.max_lat == s->extent.max_lat;
        cm_snapshot_unref(fresh);
    }
    CHECK(same);
    cm_snapshot_unref(s);
}

int main(void) {
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    extents_follow_edits(cm_schema_find_layer(&defs, "closures"));
    const cm_layer_def *def = cm_schema_find_layer(&defs, "services");
    unsigned seed = 3;
    size_t n = 2000;
    cm_feature **arr = malloc(n * sizeof *arr);
    for (size_t i = 0; i < n; i++) arr[i] = point(def, (int64_t)i + 1, rnd(&seed), rnd(&seed));
    cm_snapshot *s;
    CHECK(cm_snapshot_create(def, arr, n, &s) == CM_OK);
    /* Held through every change below, as a slow download would; and one held mid-way. */
    cm_snapshot *first = cm_snapshot_ref(s), *middle = NULL;
    uint64_t first_version = s->version, middle_version = 0;
    int64_t next_id = (int64_t)n + 1;
    int appended_in_place = 0; /* create batches whose overlay went after prev's, in its array */
    for (int round = 0; round < 60; round++) {
        if (round % 3 != 0) {
            /* A batch of creates only: appended to s's arrays, in place while they have room,
             * under snapshots still held (first, middle). */
            cm_feature *added[8];
            size_t na = 1 + (size_t)(rnd(&seed) * 7);
            for (size_t j = 0; j < na; j++) added[j] = point(def, next_id++, rnd(&seed), rnd(&seed));
            size_t n_before = s->n;
            cm_snapshot *d;
            CHECK(cm_snapshot_derive_appended(s, added, na, &d) == CM_OK);
            CHECK(d->n == n_before + na && s->n == n_before && d->features[n_before] == added[0]);
            appended_in_place += s->n_overlay > 0 && d->overlay == s->overlay && d->n_overlay == s->n_overlay + na;
            cm_snapshot *second;
            cm_feature *late = point(def, next_id, 0.5, 0.5);
            CHECK(cm_snapshot_derive_appended(s, &late, 1, &second) == CM_ERR_INTERNAL && !second); /* s has a successor */
            cm_snapshot_unref(s);
            s = d;
        } else {
            /* A batch: move some, delete some, create some. */
            size_t m = s->n;
            cm_feature **next = malloc((m + 20) * sizeof *next);
            int64_t changed[40];
            size_t nc = 0, k = 0;
            for (size_t i = 0; i < m; i++) {
                cm_feature *f = s->features[i];
                double r = rnd(&seed);
                if (r < 0.004 && nc < 30) {
                    changed[nc++] = f->id; /* deleted */
                } else if (r < 0.008 && nc < 30) {
                    next[k++] = point(def, f->id, rnd(&seed), rnd(&seed)); /* moved */
                    changed[nc++] = f->id;
                } else {
                    next[k++] = f; /* shared with s: no reference of its own */
                }
            }
            for (int j = 0; j < 5; j++) {
                next[k++] = point(def, next_id, rnd(&seed), rnd(&seed));
                changed[nc++] = next_id++;
            }
            int64_t sorted[40];
            memcpy(sorted, changed, nc * sizeof *sorted);
            for (size_t a = 1; a < nc; a++)
                for (size_t b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) {
                    int64_t t = sorted[b];
                    sorted[b] = sorted[b - 1];
                    sorted[b - 1] = t;
                }
            cm_snapshot *d;
            CHECK(cm_snapshot_derive(s, next, k, sorted, nc, &d) == CM_OK);
            cm_snapshot *second;
            CHECK(cm_snapshot_derive(s, NULL, 0, NULL, 0, &second) == CM_ERR_INTERNAL && !second); /* s has a successor */
            cm_snapshot_unref(s);
            s = d;
        }
        if (round == 31) {
            middle = cm_snapshot_ref(s);
            middle_version = s->version;
        }
        int ids_ok = 1;
        for (size_t i = 0; i < s->n; i++) ids_ok &= s->ids[i] == s->features[i]->id;
        CHECK(ids_ok);
        check_queries(s, &seed);
        /* The version depends on the content only. */
        cm_feature **copy = malloc(s->n * sizeof *copy);
        for (size_t i = 0; i < s->n; i++) copy[s->n - 1 - i] = cm_feature_ref(s->features[i]);
        cm_snapshot *fresh;
        CHECK(cm_snapshot_create(def, copy, s->n, &fresh) == CM_OK);
        CHECK(fresh->version == s->version);
        CHECK(fresh->extent.min_lon == s->extent.min_lon && fresh->extent.min_lat == s->extent.min_lat &&
              fresh->extent.max_lon == s->extent.max_lon && fresh->extent.max_lat == s->extent.max_lat);
        cm_snapshot_unref(fresh);
    }
    CHECK(s->n_overlay < s->n); /* the overlay was folded into a rebuilt index along the way */
    CHECK(appended_in_place > 10);
    /* Creates must come with ascending ids above the layer's: anything else is refused, and
     * the references given are released (LeakSanitizer would see them otherwise). */
    cm_feature *bad[2] = {point(def, next_id + 1, 0.1, 0.1), point(def, next_id, 0.2, 0.2)};
    cm_snapshot *refused;
    CHECK(cm_snapshot_derive_appended(s, bad, 2, &refused) == CM_ERR_INTERNAL && !refused);
    cm_feature *old_id = point(def, 1, 0.3, 0.3);
    CHECK(cm_snapshot_derive_appended(s, &old_id, 1, &refused) == CM_ERR_INTERNAL && !refused);
    int middle_ids_ok = 1;
    for (size_t i = 0; i < middle->n; i++) middle_ids_ok &= middle->ids[i] == middle->features[i]->id;
    CHECK(middle_ids_ok);
    /* The held snapshots still show what they showed: their versions recomputed from their
     * features (whose hashes and ids are read here) are unchanged. */
    cm_snapshot *held[2] = {first, middle};
    uint64_t versions[2] = {first_version, middle_version};
    for (int h = 0; h < 2; h++) {
        check_queries(held[h], &seed); /* their overlays too: later creates appended after them */
        cm_feature **copy = malloc(held[h]->n * sizeof *copy);
        for (size_t i = 0; i < held[h]->n; i++) copy[i] = cm_feature_ref(held[h]->features[i]);
        cm_snapshot *fresh;
        CHECK(cm_snapshot_create(def, copy, held[h]->n, &fresh) == CM_OK);
        CHECK(fresh->version == versions[h] && versions[h] != s->version);
        cm_snapshot_unref(fresh);
    }
    cm_snapshot_unref(first);
    cm_snapshot_unref(middle);
    cm_snapshot_unref(s);
    index_keeps_features_that_left(cm_schema_find_layer(&defs, "roads"));
    rebase_on_an_index_built_earlier(cm_schema_find_layer(&defs, "roads"));
    cm_schema_release(&defs);
    return check_report("test_layer");
}
