/* persist_read.c — layer rows read from the GeoPackage: the start-up load, one row (the
 * writer's take-in of another program's change), and every row's digest (the writer's look
 * for such changes).
 *
 * DESIGN: values are read by the definition's type, converting from whatever the column
 * holds (a datetime kept as text, say), and one function makes a row a feature for all
 * three, so that a row the server wrote and its feature in memory compare equal.
 *
 * THREAD SAFETY: a cm_persist belongs to one thread at a time (persist.h). */
#include "persist.h"

#include <cpl_error.h>
#include <gdal.h>
#include <ogr_api.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "datetime.h"
#include "grow.h"
#include "ogr_geom.h"
#include "utf8.h"
#include "validate.h"

#include "persist_internal.h"

void cm_persist_forget_loaded(cm_persist *p) {
    for (size_t i = 0; p->loaded_digests && i < p->n_loaded; i++) cm_row_digests_release(&p->loaded_digests[i]);
    free(p->loaded_digests);
    p->loaded_digests = NULL;
    p->n_loaded = 0;
}

static int64_t ogr_datetime_ms(OGRFeatureH f, int i, bool *ok) {
    int y, mo, d, h, mi, tz;
    float sec;
    *ok = OGR_F_GetFieldAsDateTimeEx(f, i, &y, &mo, &d, &h, &mi, &sec, &tz) != 0;
    if (!*ok) return 0;
    int64_t ms = cm_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000LL +
                 ((int64_t)h * 3600 + mi * 60) * 1000 + (int64_t)(sec * 1000.0f + 0.5f);
    if (tz > 100) ms -= (int64_t)(tz - 100) * 15 * 60000;
    else if (tz > 1 && tz < 100) ms += (int64_t)(100 - tz) * 15 * 60000;
    return ms;
}

/* Reads the declared properties of an OGR feature. idx maps property -> field index. */
static cm_value *read_values(const cm_layer_def *def, OGRFeatureH f, const int *idx) {
    cm_value *v = cm_values_create(def);
    if (!v) return NULL;
    for (size_t i = 0; i < def->n_props; i++) {
        int fi = idx[i];
        if (fi < 0 || !OGR_F_IsFieldSetAndNotNull(f, fi)) continue;
        switch (def->props[i].type) {
        case CM_PROP_STRING: {
            const char *s = OGR_F_GetFieldAsString(f, fi);
            if (!cm_utf8_valid(s, strlen(s))) continue; /* never emit broken JSON */
            v[i].u.s = strdup(s);
            v[i].set = v[i].u.s != NULL;
            break;
        }
        case CM_PROP_INTEGER: v[i].u.i = OGR_F_GetFieldAsInteger64(f, fi); v[i].set = true; break;
        case CM_PROP_NUMBER: v[i].u.d = OGR_F_GetFieldAsDouble(f, fi); v[i].set = true; break;
        case CM_PROP_BOOLEAN: v[i].u.b = OGR_F_GetFieldAsInteger(f, fi) != 0; v[i].set = true; break;
        case CM_PROP_DATETIME: {
            OGRFieldType ft = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, fi));
            bool ok = false;
            if (ft == OFTDateTime || ft == OFTDate) v[i].u.t_ms = ogr_datetime_ms(f, fi, &ok);
            else ok = cm_datetime_parse(OGR_F_GetFieldAsString(f, fi), &v[i].u.t_ms);
            v[i].set = ok;
            break;
        }
        }
    }
    return v;
}

/* A row of def's table as a feature, read as the start-up load reads it, so that a row the
 * server wrote and its feature in memory compare equal (same JSON, same hash). idx maps
 * property -> field index. */
static cm_status feature_of_row(const cm_layer_def *def, OGRFeatureH f, const int *idx, cm_feature **out,
                                cm_error *err) {
    cm_geom g;
    cm_status s = cm_ogr_to_geom(OGR_F_GetGeometryRef(f), CM_MAX_VERTICES, &g, err);
    if (s != CM_OK) return s;
    cm_value *values = read_values(def, f, idx);
    if (!values) {
        cm_geom_release(&g);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    s = cm_feature_create(def, OGR_F_GetFID(f), &g, values, out);
    return s == CM_OK ? CM_OK : cm_error_set(err, s, NULL, NULL);
}

static cm_status load_layer(cm_persist *p, cm_layer *layer, cm_error *err) {
    const cm_layer_def *def = layer->def;
    const struct persist_table *t = cm_persist_table_of(p, def);
    if (!t) return cm_persist_table_missing(err, def);
    GIntBig count = OGR_L_GetFeatureCount(t->lyr, TRUE);
    size_t cap = count > 0 ? (size_t)count : 16, n = 0;
    cm_feature **features = malloc(cap * sizeof *features);
    if (!features) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    cm_status s = CM_OK;
    OGR_L_ResetReading(t->lyr);
    OGRFeatureH f;
    while (s == CM_OK && (f = OGR_L_GetNextFeature(t->lyr)) != NULL) {
        if (n == cap) {
            cap *= 2;
            cm_feature **grown = realloc(features, cap * sizeof *features);
            if (!grown) s = cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
            else features = grown;
        }
        if (s == CM_OK && (s = feature_of_row(def, f, t->field, &features[n], err)) == CM_OK) n++;
        OGR_F_Destroy(f);
    }
    if (s != CM_OK) {
        for (size_t i = 0; i < n; i++) cm_feature_unref(features[i]);
        free(features);
        return s;
    }
    cm_snapshot *snap;
    s = cm_snapshot_create(def, features, n, &snap);
    if (s != CM_OK) return cm_error_set(err, s, NULL, NULL);
    cm_layer_publish(layer, snap);
    return CM_OK;
}

cm_status cm_persist_read(cm_persist *p, const cm_layer_def *def, int64_t id, cm_feature **out, cm_error *err) {
    *out = NULL;
    const struct persist_table *t = cm_persist_table_of(p, def);
    if (!t) return cm_persist_table_missing(err, def);
    CPLErrorReset();
    OGRFeatureH f = OGR_L_GetFeature(t->lyr, id);
    if (!f) return CPLGetLastErrorType() >= CE_Failure ? cm_persist_gdal_error(err, def->id) : CM_OK;
    cm_status s = feature_of_row(def, f, t->field, out, err);
    OGR_F_Destroy(f);
    return s;
}

/* cm_row_digest(a, b, ...): FNV-1a over each argument's type and stored bytes. */
static void row_digest_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    uint64_t h = CM_FNV_SEED;
    for (int i = 0; i < argc; i++) {
        unsigned char type = (unsigned char)sqlite3_value_type(argv[i]);
        h = cm_hash_fnv1a(&type, 1, h);
        if (type == SQLITE_INTEGER) {
            sqlite3_int64 v = sqlite3_value_int64(argv[i]);
            h = cm_hash_fnv1a(&v, sizeof v, h);
        } else if (type == SQLITE_FLOAT) {
            double v = sqlite3_value_double(argv[i]);
            h = cm_hash_fnv1a(&v, sizeof v, h);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void *v =
                type == SQLITE_TEXT ? (const void *)sqlite3_value_text(argv[i]) : sqlite3_value_blob(argv[i]);
            int n = sqlite3_value_bytes(argv[i]);
            h = cm_hash_fnv1a(&n, sizeof n, h);
            if (v) h = cm_hash_fnv1a(v, (size_t)n, h);
        }
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)h);
}

/* Appends "name" to sql, quoted as an SQL identifier. */
static void append_identifier(cm_buf *sql, const char *name) {
    cm_buf_append_char(sql, '"');
    for (const char *c = name; *c; c++) {
        if (*c == '"') cm_buf_append_char(sql, '"');
        cm_buf_append_char(sql, *c);
    }
    cm_buf_append_char(sql, '"');
}

cm_status cm_persist_row_digests(cm_persist *p, const cm_layer_def *def, cm_row_digests *out, cm_error *err) {
    *out = (cm_row_digests){0};
    const struct persist_table *t = cm_persist_table_of(p, def);
    sqlite3 *db = cm_persist_store_db(p);
    if (!t) return cm_persist_table_missing(err, def);
    if (!db) return cm_error_set(err, CM_ERR_IO, def->id, "the store's SQLite connection is not available");
    if (!p->digest_fn) {
        if (sqlite3_create_function_v2(db, "cm_row_digest", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, row_digest_fn,
                                       NULL, NULL, NULL) != SQLITE_OK)
            return cm_error_set(err, CM_ERR_IO, def->id, "cannot register the row digest: %s", sqlite3_errmsg(db));
        p->digest_fn = true;
    }
    /* The columns the features are read from: the geometry and every declared property the
     * table has (a column a GIS added that no property names is not served, so not compared). */
    const char *fid = OGR_L_GetFIDColumn(t->lyr), *geom = OGR_L_GetGeometryColumn(t->lyr);
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(t->lyr);
    cm_buf sql;
    cm_buf_init(&sql, 1 << 20);
    cm_buf_append_str(&sql, "SELECT ");
    append_identifier(&sql, fid && fid[0] ? fid : "fid");
    cm_buf_append_str(&sql, ", cm_row_digest(");
    bool first = true;
    if (geom && geom[0]) {
        append_identifier(&sql, geom);
        first = false;
    }
    for (size_t i = 0; i < def->n_props; i++) {
        if (t->field[i] < 0) continue;
        if (!first) cm_buf_append_char(&sql, ',');
        append_identifier(&sql, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, t->field[i])));
        first = false;
    }
    if (first) cm_buf_append_str(&sql, "NULL");
    cm_buf_append_str(&sql, ") FROM ");
    append_identifier(&sql, OGR_L_GetName(t->lyr));
    cm_buf_append_str(&sql, " ORDER BY 1");
    sqlite3_stmt *st = NULL;
    int rc = sql.failed || !sql.data ? SQLITE_NOMEM : sqlite3_prepare_v2(db, sql.data, (int)sql.len, &st, NULL);
    cm_buf_release(&sql);
    if (rc != SQLITE_OK)
        return cm_error_set(err, CM_ERR_IO, def->id, "cannot read the row digests: %s", sqlite3_errmsg(db));
    size_t cap = 0;
    cm_status s = CM_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cm_row_digest *grown = cm_grow(out->rows, &cap, out->n, sizeof *out->rows, 256);
        if (!grown) {
            s = cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
            break;
        }
        out->rows = grown;
        out->rows[out->n++] = (cm_row_digest){sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1)};
    }
    if (s == CM_OK && rc != SQLITE_DONE)
        s = cm_error_set(err, CM_ERR_IO, def->id, "cannot read the row digests: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (s != CM_OK) cm_row_digests_release(out);
    return s;
}

/* In this order, without a transaction around them: another program's commit after the
 * data_version makes the writer look again, and a row it changed between the digests and the
 * load is in memory as changed, which the writer's next look compares equal. */
cm_status cm_persist_load(cm_persist *p, cm_store *st, cm_error *err) {
    cm_persist_forget_loaded(p);
    p->loaded_data_version = cm_persist_data_version(p);
    p->loaded_digests = calloc(st->n ? st->n : 1, sizeof *p->loaded_digests);
    if (!p->loaded_digests) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    p->n_loaded = st->n;
    for (size_t i = 0; i < st->n; i++) {
        cm_status s = cm_persist_row_digests(p, st->layers[i].def, &p->loaded_digests[i], err);
        if (s != CM_OK) return s;
    }
    for (size_t i = 0; i < st->n; i++) {
        cm_status s = load_layer(p, &st->layers[i], err);
        if (s != CM_OK) return s;
    }
    return CM_OK;
}

cm_row_digests *cm_persist_take_loaded(cm_persist *p, int64_t *data_version) {
    cm_row_digests *d = p->loaded_digests;
    *data_version = p->loaded_data_version;
    p->loaded_digests = NULL;
    p->n_loaded = 0;
    return d;
}
