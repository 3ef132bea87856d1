/* Unit tests for layers/index_builder.c: an index asked for is built on the builder's
 * thread over the snapshot given, taken once, and adopted by a later snapshot of the line;
 * a second request for a layer is refused until the first is taken; stopping with builds
 * asked for and not taken releases them (LeakSanitizer in the sanitizer build). */
#include <stdlib.h>
#include <time.h>

#include "../../layers/index_builder.h"
#include "check.h"
#include "points.h"

static double rnd(unsigned *s) { return (double)rand_r(s) / RAND_MAX; }

static cm_snapshot *points_snapshot(const cm_layer_def *def, size_t n, unsigned *seed) {
    cm_feature **arr = malloc(n * sizeof *arr);
    for (size_t i = 0; i < n; i++) arr[i] = point(def, (int64_t)i + 1, rnd(seed), rnd(seed));
    cm_snapshot *s;
    CHECK(cm_snapshot_create(def, arr, n, &s) == CM_OK);
    return s;
}

/* s's successor with `count` new points (ids above s's). */
static cm_snapshot *append_points(cm_snapshot *s, const cm_layer_def *def, size_t count, unsigned *seed) {
    cm_feature **added = malloc(count * sizeof *added);
    int64_t id = s->ids[s->n - 1];
    for (size_t i = 0; i < count; i++) added[i] = point(def, ++id, rnd(seed), rnd(seed));
    cm_snapshot *d;
    CHECK(cm_snapshot_derive_appended(s, added, count, &d) == CM_OK);
    free(added);
    cm_snapshot_unref(s);
    return d;
}

/* The index for layer, waiting at most 10 s for the builder. */
static cm_index_base *wait_for(cm_index_builder *b, const cm_layer *layer) {
    for (int i = 0; i < 10000; i++) {
        cm_index_base *got = cm_index_builder_take(b, layer);
        if (got) return got;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return NULL;
}

int main(void) {
    cm_layer_defs defs;
    cm_error err;
    CHECK(cm_schema_load_file(CM_SOURCE_DIR "/config/layers.json", &defs, &err) == CM_OK);
    const cm_layer_def *def = cm_schema_find_layer(&defs, "services");
    unsigned seed = 5;
    cm_layer layer_a = {.def = def}, layer_b = {.def = def}; /* keys only */

    cm_index_builder *b = cm_index_builder_start();
    CHECK(b != NULL);
    cm_snapshot *s = points_snapshot(def, 20000, &seed);
    s = append_points(s, def, 2000, &seed); /* past 1/16 of the layer, short of the derive's own 1/8 */
    CHECK(s->n_overlay == 2000 && cm_snapshot_wants_index(s));
    CHECK(cm_index_builder_request(b, &layer_a, s));
    CHECK(!cm_index_builder_request(b, &layer_a, s)); /* one at a time per layer */
    size_t asked_at = s->n;
    s = append_points(s, def, 500, &seed); /* the line goes on while the build runs */
    cm_index_base *built = wait_for(b, &layer_a);
    CHECK(built && built->n == asked_at);
    CHECK(!cm_index_builder_take(b, &layer_a)); /* taken once */
    s = append_points(s, def, 10, &seed);
    CHECK(cm_snapshot_rebase(s, built) && s->n_overlay == 510 && !cm_snapshot_wants_index(s));
    /* Taken: the layer may ask again; another layer has its own slot. */
    CHECK(cm_index_builder_request(b, &layer_a, s));
    cm_snapshot *other = points_snapshot(def, 1000, &seed);
    CHECK(cm_index_builder_request(b, &layer_b, other));
    cm_index_base *built_b = wait_for(b, &layer_b);
    CHECK(built_b && built_b->n == 1000);
    cm_index_base_release(built_b);
    cm_index_builder_stop(b); /* layer_a's build: taken by nobody, released here */

    /* Stopped at once, with a build asked for that may not have started. */
    b = cm_index_builder_start();
    CHECK(cm_index_builder_request(b, &layer_a, s));
    cm_index_builder_stop(b);
    cm_index_builder_stop(NULL);

    cm_snapshot_unref(other);
    cm_snapshot_unref(s);
    cm_schema_release(&defs);
    return check_report("test_index_builder");
}
