/* Unit tests for layers/draft.c: what a draft publishes is exactly the layer after its
 * edits, a discarded draft leaves the layer as it was, and a snapshot held across either
 * keeps its own content. Reference counts are checked by the sanitizer build (a feature
 * freed too early) and LeakSanitizer (one never freed, e.g. after a discard). */
#include <stdlib.h>

#include "../../layers/draft.h"
#include "check.h"
#include "points.h"

static cm_layer_defs defs;

/* The layer's ids, in order, equal want[0, n). */
static bool has_ids(cm_layer *l, const int64_t *want, size_t n) {
    cm_snapshot *s = cm_layer_acquire(l);
    bool ok = s->n == n;
    for (size_t i = 0; ok && i < n; i++) ok = s->ids[i] == want[i] && s->features[i]->id == want[i];
    cm_snapshot_unref(s);
    return ok;
}

static double lon_of(cm_layer *l, int64_t id) {
    cm_snapshot *s = cm_layer_acquire(l);
    const cm_feature *f = cm_snapshot_find(s, id);
    double lon = f ? f->bbox.min_lon : -999;
    cm_snapshot_unref(s);
    return lon;
}

static bool near(double a, double b) { return a - b < 1e-12 && b - a < 1e-12; }

int main(void) {
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    const cm_layer_def *def = cm_schema_find_layer(&defs, "services");
    cm_layer layer = {.def = def};
    pthread_mutex_init(&layer.lock, NULL);
    cm_feature **arr = malloc(5 * sizeof *arr);
    for (int i = 0; i < 5; i++) arr[i] = point(def, i + 1, 0.1 * i, 0.5); /* ids 1..5 */
    CHECK(cm_snapshot_create(def, arr, 5, &layer.current) == CM_OK);
    cm_snapshot *held = cm_layer_acquire(&layer); /* a reader through everything below */

    /* Creates only: published by appending. */
    cm_draft d;
    cm_draft_begin(&d, &layer);
    CHECK(cm_draft_put(&d, point(def, 6, 0.6, 0.5)));
    CHECK(cm_draft_put(&d, point(def, 7, 0.7, 0.5)));
    CHECK(cm_draft_publish(&d, NULL) == CM_OK);
    cm_draft_discard(&d);
    CHECK(has_ids(&layer, (int64_t[]){1, 2, 3, 4, 5, 6, 7}, 7));

    /* A create, then a find (the full copy takes the create in), a replace, a delete, and
     * a replace of the feature created in the same draft. */
    cm_draft_begin(&d, &layer);
    CHECK(cm_draft_put(&d, point(def, 8, 0.8, 0.5)));
    cm_status st;
    CHECK(cm_draft_find(&d, 8, &st) != NULL && st == CM_OK);
    CHECK(cm_draft_find(&d, 99, &st) == NULL && st == CM_OK);
    CHECK(cm_draft_put(&d, point(def, 2, 0.25, 0.5)));
    CHECK(cm_draft_find(&d, 4, &st) != NULL && cm_draft_remove(&d, 4));
    CHECK(cm_draft_find(&d, 4, &st) == NULL && st == CM_OK);
    CHECK(cm_draft_put(&d, point(def, 8, 0.85, 0.5)));
    CHECK(has_ids(&layer, (int64_t[]){1, 2, 3, 4, 5, 6, 7}, 7)); /* nothing shows before publish */
    CHECK(cm_draft_publish(&d, NULL) == CM_OK);
    cm_draft_discard(&d);
    CHECK(has_ids(&layer, (int64_t[]){1, 2, 3, 5, 6, 7, 8}, 7));
    CHECK(near(lon_of(&layer, 2), 0.25) && near(lon_of(&layer, 8), 0.85));

    /* A rollback: the same kinds of change, discarded. The layer is unchanged and the
     * features the draft was given are freed (LeakSanitizer). */
    cm_snapshot *before = cm_layer_acquire(&layer);
    cm_draft_begin(&d, &layer);
    CHECK(cm_draft_put(&d, point(def, 9, 0.9, 0.5)));
    CHECK(cm_draft_put(&d, point(def, 3, 0.35, 0.5)));
    CHECK(cm_draft_find(&d, 5, &st) != NULL && cm_draft_remove(&d, 5));
    CHECK(cm_draft_put(&d, point(def, 9, 0.95, 0.5)));
    cm_draft_discard(&d);
    cm_snapshot *after = cm_layer_acquire(&layer);
    CHECK(after == before && near(lon_of(&layer, 3), 0.2) && cm_snapshot_find(after, 9) == NULL);
    cm_snapshot_unref(after);
    cm_snapshot_unref(before);

    /* A draft whose edits all failed publishes nothing. */
    cm_draft_begin(&d, &layer);
    before = cm_layer_acquire(&layer);
    CHECK(cm_draft_publish(&d, NULL) == CM_OK);
    cm_draft_discard(&d);
    after = cm_layer_acquire(&layer);
    CHECK(after == before);
    cm_snapshot_unref(after);
    cm_snapshot_unref(before);

    /* The reader's snapshot still shows the first content. */
    CHECK(held->n == 5 && cm_snapshot_find(held, 4) != NULL && near(cm_snapshot_find(held, 2)->bbox.min_lon, 0.1));
    cm_snapshot_unref(held);

    cm_snapshot_unref(layer.current);
    pthread_mutex_destroy(&layer.lock);
    cm_schema_release(&defs);
    return check_report("test_draft");
}
