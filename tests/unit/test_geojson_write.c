/* Unit tests for layers/geojson_write.c and feature bytes: number formatting, every
 * geometry type, axis swap, property values, JSON escaping. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../layers/feature.h"
#include "../../layers/geojson_read.h"
#include "../../layers/geojson_write.h"
#include "check.h"

static void number_is(double v, int decimals, const char *expected) {
    cm_buf b;
    cm_buf_init(&b, 100);
    cm_geojson_write_number(&b, v, decimals);
    CHECK_STR(b.data, expected);
    cm_buf_release(&b);
}

/* Reads text, writes it back, compares. */
static void roundtrip(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    cm_geom g;
    cm_error err;
    CHECK(cm_geojson_read_geometry(j, 1000, 100, &g, &err) == CM_OK);
    cm_buf b;
    cm_buf_init(&b, 10000);
    cm_geojson_write_geometry(&b, &g, 7, false);
    CHECK_STR(b.data, text);
    cm_buf_release(&b);
    cm_geom_release(&g);
    json_decref(j);
}

static void json_string_is(const char *in, const char *expected) {
    cm_buf b;
    cm_buf_init(&b, 1000);
    cm_buf_append_json_string(&b, in);
    cm_buf_append_char(&b, '\0');
    CHECK_STR(b.data, expected);
    cm_buf_release(&b);
}

/* Strings are JSON-escaped, and JSON is UTF-8 whatever the input was: a byte that starts no
 * well-formed character (an echoed request path, a message cut inside a character) becomes
 * U+FFFD; well-formed characters (Arabic names) pass as they are. */
static void json_strings_are_utf8(void) {
    json_string_is("a\"b\\c<d>&\n", "\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\n\"");
    json_string_is("\xd9\x85\xd8\xb3\xd8\xaa\xd8\xb4\xd9\x81\xd9\x89 \xe2\x82\xac\xf0\x9f\x9a\x91",
                   "\"\xd9\x85\xd8\xb3\xd8\xaa\xd8\xb4\xd9\x81\xd9\x89 \xe2\x82\xac\xf0\x9f\x9a\x91\"");
    json_string_is("/\xc0\xaf", "\"/\\ufffd\\ufffd\"");                /* overlong */
    json_string_is("caf\xc3", "\"caf\\ufffd\"");                         /* cut inside */
    json_string_is("\xed\xa0\x80x", "\"\\ufffd\\ufffd\\ufffdx\"");   /* surrogate */
    json_string_is("\xe2\x82", "\"\\ufffd\\ufffd\"");
    json_string_is("\xff", "\"\\ufffd\"");
}

int main(void) {
    json_strings_are_utf8();
    number_is(7.4177772, 7, "7.4177772");
    number_is(7.41777724, 7, "7.4177772");
    number_is(7.41777726, 7, "7.4177773");
    number_is(-0.5, 7, "-0.5");
    number_is(12, 7, "12");
    number_is(0, 7, "0");
    number_is(-180, 7, "-180");
    number_is(4852834.0518, 3, "4852834.052");
    number_is(NAN, 7, "null");
    number_is(INFINITY, 7, "null");
    number_is(1e300, 7, "1.0000000000000001e+300");

    roundtrip("{\"type\":\"Point\",\"coordinates\":[7.5,43.7]}");
    roundtrip("{\"type\":\"LineString\",\"coordinates\":[[0,0],[1.25,-1]]}");
    roundtrip("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}");
    roundtrip("{\"type\":\"MultiPoint\",\"coordinates\":[[0,0],[1,1]]}");
    roundtrip("{\"type\":\"MultiLineString\",\"coordinates\":[[[0,0],[1,1]],[[2,2],[3,3]]]}");
    roundtrip("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}");

    /* lat_first swaps each position (EPSG:4326 authority order). */
    json_t *j = json_loads("{\"type\":\"Point\",\"coordinates\":[7.5,43.7]}", 0, NULL);
    cm_geom g;
    cm_error err;
    cm_geojson_read_geometry(j, 10, 10, &g, &err);
    json_decref(j);
    cm_buf b;
    cm_buf_init(&b, 1000);
    cm_geojson_write_geometry(&b, &g, 7, true);
    CHECK_STR(b.data, "{\"type\":\"Point\",\"coordinates\":[43.7,7.5]}");
    cm_buf_release(&b);

    /* A feature: every declared property, null when unset, strings escaped so markup
     * cannot pass through. */
    json_t *schema = json_loads(
        "{\"layers\":[{\"id\":\"t\",\"title\":{\"en\":\"T\",\"ar\":\"ت\"},\"description\":{\"en\":\"d\",\"ar\":\"د\"},"
        "\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":["
        "{\"name\":\"s\",\"type\":\"string\"},{\"name\":\"i\",\"type\":\"integer\"},{\"name\":\"n\",\"type\":\"number\"},"
        "{\"name\":\"b\",\"type\":\"boolean\"},{\"name\":\"t\",\"type\":\"datetime\"},{\"name\":\"unset\",\"type\":\"string\"}]}]}",
        0, NULL);
    cm_layer_defs defs;
    CHECK(cm_schema_load_json(schema, &defs, &err) == CM_OK);
    json_decref(schema);
    cm_value *v = cm_values_create(&defs.layers[0]);
    v[0].set = true;
    v[0].u.s = strdup("<img src=x onerror=alert(1)> \"q\" \\ \n عمّان");
    v[1].set = true;
    v[1].u.i = -42;
    v[2].set = true;
    v[2].u.d = 2.5;
    v[3].set = true;
    v[3].u.b = true;
    v[4].set = true;
    v[4].u.t_ms = 1795845600000; /* 2026-11-28T06:00:00Z */
    cm_feature *f;
    CHECK(cm_feature_create(&defs.layers[0], 7, &g, v, &f) == CM_OK);
    CHECK_STR(f->json,
              "{\"type\":\"Feature\",\"id\":7,\"geometry\":{\"type\":\"Point\",\"coordinates\":[7.5,43.7]},\"properties\":"
              "{\"s\":\"\\u003cimg src=x onerror=alert(1)\\u003e \\\"q\\\" \\\\ \\n عمّان\",\"i\":-42,\"n\":2.5,\"b\":true,"
              "\"t\":\"2026-11-28T06:00:00Z\",\"unset\":null}}");
    CHECK(strncmp(f->json + f->geom_off, "{\"type\":\"Point\"", 15) == 0);
    CHECK(f->json[f->geom_off + f->geom_len] == ',');
    /* The bytes are valid JSON that parses back to the same text. */
    json_t *back = json_loads(f->json, 0, NULL);
    CHECK(back != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(back, "properties"), "s")),
              "<img src=x onerror=alert(1)> \"q\" \\ \n عمّان");
    json_decref(back);
    cm_feature_unref(f);
    cm_schema_release(&defs);
    /* Integers are written without printf, as "%" PRId64 writes them, to the last digit. */
    int64_t ints[] = {0, 1, -1, 9, 10, -10, 1795845600250, INT64_MAX, INT64_MIN, INT64_MIN + 1, 4294967296LL};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        cm_buf ib;
        cm_buf_init(&ib, 64);
        char want[32];
        snprintf(want, sizeof want, "%" PRId64, ints[i]);
        CHECK(cm_buf_append_int(&ib, ints[i]) && ib.len == strlen(want) && memcmp(ib.data, want, ib.len) == 0);
        cm_buf_release(&ib);
    }
    /* Text joins: the same bytes as snprintf, cut at the same place when out is too small. */
    uint64_t hexes[] = {0, 1, 0xabcdefULL, UINT64_MAX, 0x8000000000000000ULL};
    for (size_t i = 0; i < sizeof hexes / sizeof *hexes; i++) {
        char got[40], want[40];
        size_t used = 0;
        cm_text_append(got, sizeof got, &used, "f");
        cm_text_append_hex64(got, sizeof got, &used, hexes[i]);
        cm_text_append(got, sizeof got, &used, "-");
        cm_text_append_int(got, sizeof got, &used, -4326);
        snprintf(want, sizeof want, "f%016" PRIx64 "-%d", hexes[i], -4326);
        CHECK_STR(got, want);
        CHECK(used == strlen(want));
    }
    for (size_t n = 1; n <= 12; n++) {
        char got[12], want[12];
        size_t used = 0;
        cm_text_append(got, n, &used, "http://");
        cm_text_append(got, n, &used, "host");
        cm_text_append_int(got, n, &used, 8080);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation" /* the cut is what is compared */
        snprintf(want, n, "http://host%d", 8080);
#pragma GCC diagnostic pop
        CHECK_STR(got, want);
        CHECK(used == strlen(want));
    }
    return check_report("test_geojson_write");
}
