/* Unit tests for layers/geom.c: the exact geometry-vs-box test agrees with GEOS (through
 * OGR) on random lines and polygons, and on hand-made edge cases. */
#include <ogr_api.h>
#include <math.h>
#include <stdlib.h>

#include "../../layers/geom.h"
#include "../../layers/ogr_geom.h"
#include "check.h"

static double rnd(unsigned *seed) { return (double)rand_r(seed) / RAND_MAX; }

static bool oracle(const cm_geom *g, const cm_bbox *b) {
    OGRGeometryH og = cm_ogr_from_geom(g);
    OGRGeometryH box = OGR_G_CreateGeometry(wkbPolygon);
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_AddPoint_2D(ring, b->min_lon, b->min_lat);
    OGR_G_AddPoint_2D(ring, b->max_lon, b->min_lat);
    OGR_G_AddPoint_2D(ring, b->max_lon, b->max_lat);
    OGR_G_AddPoint_2D(ring, b->min_lon, b->max_lat);
    OGR_G_AddPoint_2D(ring, b->min_lon, b->min_lat);
    OGR_G_AddGeometryDirectly(box, ring);
    bool r = OGR_G_Intersects(og, box);
    OGR_G_DestroyGeometry(og);
    OGR_G_DestroyGeometry(box);
    return r;
}

/* A star-shaped polygon (valid, non-self-intersecting) with an optional hole. */
static void make_polygon(cm_geom *out, unsigned *seed, bool hole) {
    cm_geom_builder b;
    cm_geom_builder_init(&b, CM_GEOM_POLYGON, 1000, 10);
    double cx = rnd(seed), cy = rnd(seed), r = 0.05 + 0.2 * rnd(seed);
    int n = 5 + rand_r(seed) % 20;
    double first_x = 0, first_y = 0;
    for (int i = 0; i < n; i++) {
        double a = 2 * 3.141592653589793 * i / n, rr = r * (0.6 + 0.4 * rnd(seed));
        double x = cx + rr * cos(a), y = cy + rr * sin(a);
        if (i == 0) first_x = x, first_y = y;
        cm_geom_builder_point(&b, x, y);
    }
    cm_geom_builder_point(&b, first_x, first_y);
    cm_geom_builder_end_run(&b);
    if (hole) {
        double hr = r * 0.3;
        for (int i = 0; i <= 8; i++) {
            double a = -2 * 3.141592653589793 * (i % 8) / 8;
            cm_geom_builder_point(&b, cx + hr * cos(a), cy + hr * sin(a));
        }
        cm_geom_builder_end_run(&b);
    }
    cm_geom_builder_end_poly(&b);
    cm_geom_builder_finish(&b, out);
}

static void make_line(cm_geom *out, unsigned *seed) {
    cm_geom_builder b;
    cm_geom_builder_init(&b, CM_GEOM_LINESTRING, 1000, 10);
    int n = 2 + rand_r(seed) % 10;
    double x = rnd(seed), y = rnd(seed);
    for (int i = 0; i < n; i++) {
        cm_geom_builder_point(&b, x, y);
        x += 0.2 * (rnd(seed) - 0.5);
        y += 0.2 * (rnd(seed) - 0.5);
    }
    cm_geom_builder_end_run(&b);
    cm_geom_builder_finish(&b, out);
}

int main(void) {
    unsigned seed = 42;
    int disagreements = 0, hits = 0, total = 0;
    for (int i = 0; i < 3000; i++) {
        cm_geom g;
        if (i % 2) make_polygon(&g, &seed, i % 4 == 1);
        else make_line(&g, &seed);
        for (int q = 0; q < 5; q++) {
            double x = rnd(&seed) * 1.2 - 0.1, y = rnd(&seed) * 1.2 - 0.1, s = 0.02 + 0.3 * rnd(&seed);
            cm_bbox b = {x, y, x + s, y + s};
            bool mine = cm_geom_intersects_bbox(&g, &b), theirs = oracle(&g, &b);
            disagreements += mine != theirs;
            hits += mine;
            total++;
        }
        cm_geom_release(&g);
    }
    CHECK(disagreements == 0);
    CHECK(hits > total / 20); /* the random cases do exercise both answers */
    if (disagreements) fprintf(stderr, "%d of %d cases disagree with GEOS\n", disagreements, total);

    /* A diagonal line whose envelope covers the box but which passes beside it. */
    cm_geom_builder b;
    cm_geom_builder_init(&b, CM_GEOM_LINESTRING, 10, 10);
    cm_geom_builder_point(&b, 0, 0);
    cm_geom_builder_point(&b, 10, 10);
    cm_geom_builder_end_run(&b);
    cm_geom line;
    cm_geom_builder_finish(&b, &line);
    cm_bbox corner = {8, 0, 10, 1};
    CHECK(!cm_geom_intersects_bbox(&line, &corner));
    cm_bbox touching = {5, 0, 6, 5}; /* touches at (5,5): closed test */
    CHECK(cm_geom_intersects_bbox(&line, &touching));
    cm_geom_release(&line);

    /* A box inside a polygon's hole does not intersect; inside the polygon it does. */
    cm_geom_builder_init(&b, CM_GEOM_POLYGON, 20, 10);
    double outer[][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}, inner[][2] = {{3, 3}, {3, 7}, {7, 7}, {7, 3}, {3, 3}};
    for (int i = 0; i < 5; i++) cm_geom_builder_point(&b, outer[i][0], outer[i][1]);
    cm_geom_builder_end_run(&b);
    for (int i = 0; i < 5; i++) cm_geom_builder_point(&b, inner[i][0], inner[i][1]);
    cm_geom_builder_end_run(&b);
    cm_geom_builder_end_poly(&b);
    cm_geom poly;
    cm_geom_builder_finish(&b, &poly);
    cm_bbox in_hole = {4, 4, 6, 6}, in_ring = {1, 1, 2, 2}, outside = {11, 11, 12, 12}, around = {-1, -1, 11, 11};
    CHECK(!cm_geom_intersects_bbox(&poly, &in_hole));
    CHECK(cm_geom_intersects_bbox(&poly, &in_ring));
    CHECK(!cm_geom_intersects_bbox(&poly, &outside));
    CHECK(cm_geom_intersects_bbox(&poly, &around));
    cm_bbox env = cm_geom_bbox(&poly);
    CHECK(env.min_lon == 0 && env.max_lat == 10);
    cm_geom copy;
    CHECK(cm_geom_copy(&copy, &poly) == CM_OK && copy.n_points == 10 && copy.poly_start[1] == 2);
    cm_geom_release(&copy);
    cm_geom_release(&poly);
    return check_report("test_geom");
}
