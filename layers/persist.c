/* persist.c — GeoPackage through OGR: schema set-up, loading, inserting.
 *
 * DESIGN: the table layout follows the layer definitions; a column the definition lacks
 * is ignored on load, a missing one is added, so a layers.json that gains a property
 * works on an existing store. Values are read by the definition's type, converting from
 * whatever the column holds (a datetime kept as text, say). */
#include "persist.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "datetime.h"
#include "grow.h"
#include "ogr_geom.h"
#include "utf8.h"
#include "validate.h"
#include "wal_vfs.h"

#include "persist_internal.h"

static OGRwkbGeometryType table_geom_type(const cm_layer_def *def) {
    static const OGRwkbGeometryType map[] = {
        [CM_GEOM_POINT] = wkbPoint, [CM_GEOM_LINESTRING] = wkbLineString,
        [CM_GEOM_POLYGON] = wkbPolygon, [CM_GEOM_MULTIPOINT] = wkbMultiPoint,
        [CM_GEOM_MULTILINESTRING] = wkbMultiLineString, [CM_GEOM_MULTIPOLYGON] = wkbMultiPolygon,
    };
    int only = -1, count = 0;
    for (int t = CM_GEOM_POINT; t <= CM_GEOM_MULTIPOLYGON; t++)
        if (cm_schema_allows_geom(def, (cm_geom_type)t)) {
            only = t;
            count++;
        }
    /* A layer taking both single and multi parts gets a generic column, which GeoPackage
     * readers accept for either. */
    return count == 1 ? map[only] : wkbUnknown;
}

static OGRFieldType field_type(cm_prop_type t, OGRFieldSubType *sub) {
    *sub = OFSTNone;
    switch (t) {
    case CM_PROP_STRING: return OFTString;
    case CM_PROP_INTEGER: return OFTInteger64;
    case CM_PROP_NUMBER: return OFTReal;
    case CM_PROP_BOOLEAN: *sub = OFSTBoolean; return OFTInteger;
    case CM_PROP_DATETIME: return OFTDateTime;
    }
    return OFTString;
}

#define LOCKED_MESSAGE "another program holds the store's write lock (a GIS editing the GeoPackage?)"

cm_status cm_persist_gdal_error(cm_error *err, const char *what) {
    const char *msg = CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "GDAL error";
    if (strstr(msg, "database is locked"))
        return cm_error_set(err, CM_ERR_IO, NULL, "%s: " LOCKED_MESSAGE, what);
    return cm_error_set(err, CM_ERR_IO, NULL, "%s: %s", what, msg);
}

/* SQLite's busy handler, with one budget per transaction: GDAL runs several statements
 * per feature (and flushes layer metadata when a transaction starts), and a plain busy
 * timeout would let each of them wait the whole time in turn. */
static int wait_for_lock(void *cls, int count) {
    cm_persist *p = cls;
    int64_t now = cm_clock_monotonic_ms();
    if (p->lock_deadline_ms == 0) p->lock_deadline_ms = now + p->lock_wait_ms;
    if (now >= p->lock_deadline_ms) return 0;
    int64_t nap = count < 5 ? (int64_t)1 << count : 20; /* ms: short first, a lock is often brief */
    if (nap > p->lock_deadline_ms - now) nap = p->lock_deadline_ms - now;
    struct timespec ts = {(time_t)(nap / 1000), (long)(nap % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* The store's own SQLite connection, GDAL's: the documented way to set what GDAL's GeoPackage
 * driver does not (a bounded lock wait, a statement of our own). NULL if GDAL gives none. */
static sqlite3 *store_db(cm_persist *p) { return GDALGetInternalHandle(p->ds, "SQLITE_HANDLE"); }

void cm_persist_set_lock_wait(cm_persist *p, long ms) {
    /* GDAL's GeoPackage driver waits for the lock without a bound. */
    sqlite3 *db = store_db(p);
    p->lock_wait_ms = ms;
    if (db) sqlite3_busy_handler(db, wait_for_lock, p);
}

/* A layer's table and where each property of its definition is among the table's fields,
 * looked up once: by name, GDAL compares with every field, case-blind, on every write. */
struct persist_table {
    OGRLayerH lyr; /* NULL: not looked up yet */
    int *field;    /* per property of the definition; -1 where the table has no such field */
};

static void forget_table(cm_persist *p, const cm_layer_def *def) {
    for (size_t i = 0; p->tables && i < p->defs->n; i++)
        if (&p->defs->layers[i] == def) {
            free(p->tables[i].field);
            p->tables[i] = (struct persist_table){0};
        }
}

/* NULL when the table is missing, def is not one of the definitions the store was opened
 * with, or memory is short. */
static const struct persist_table *table_of(cm_persist *p, const cm_layer_def *def) {
    if (!p->tables && p->defs && p->defs->n) p->tables = calloc(p->defs->n, sizeof *p->tables);
    struct persist_table *t = NULL;
    for (size_t i = 0; p->tables && i < p->defs->n; i++)
        if (&p->defs->layers[i] == def) t = &p->tables[i];
    if (!t || t->lyr) return t;
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, def->id);
    int *field = malloc((def->n_props ? def->n_props : 1) * sizeof *field);
    if (!lyr || !field) {
        free(field);
        return NULL;
    }
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(lyr);
    for (size_t i = 0; i < def->n_props; i++) field[i] = OGR_FD_GetFieldIndex(fd, def->props[i].name);
    *t = (struct persist_table){lyr, field};
    return t;
}

static cm_status table_missing(cm_error *err, const cm_layer_def *def) {
    return cm_error_set(err, CM_ERR_IO, def->id,
                        "table %s missing, or not one of the store's layers (or no memory to look it up)", def->id);
}

static cm_status ensure_table(cm_persist *p, const cm_layer_def *def, cm_error *err) {
    bool created = false;
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, def->id);
    if (!lyr) {
        OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
        OSRImportFromEPSG(srs, 4326);
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        char ident[256], desc[512];
        snprintf(ident, sizeof ident, "IDENTIFIER=%s", def->title.en);
        snprintf(desc, sizeof desc, "DESCRIPTION=%s", def->description.en);
        char *opts[] = {"FID=fid", "GEOMETRY_NAME=geom", "SPATIAL_INDEX=YES", ident, desc, NULL};
        lyr = GDALDatasetCreateLayer(p->ds, def->id, srs, table_geom_type(def), opts);
        OSRDestroySpatialReference(srs);
        if (!lyr) return cm_persist_gdal_error(err, def->id);
        created = true;
    }
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(lyr);
    for (size_t i = 0; i < def->n_props; i++) {
        if (OGR_FD_GetFieldIndex(fd, def->props[i].name) >= 0) continue;
        created = true;
        OGRFieldSubType sub;
        OGRFieldDefnH fld = OGR_Fld_Create(def->props[i].name, field_type(def->props[i].type, &sub));
        OGR_Fld_SetSubType(fld, sub);
        OGRErr e = OGR_L_CreateField(lyr, fld, TRUE);
        OGR_Fld_Destroy(fld);
        if (e != OGRERR_NONE) return cm_persist_gdal_error(err, def->props[i].name);
    }
    if (created) forget_table(p, def); /* its fields moved */
    /* GeoPackage defers creating a new table until its first feature; a later rolled-back
     * import would then take the table with it. Create it now, outside any transaction. */
    if (created && OGR_L_SyncToDisk(lyr) != OGRERR_NONE) return cm_persist_gdal_error(err, def->id);
    return CM_OK;
}

int64_t cm_persist_query_int(cm_persist *p, const char *sql) {
    sqlite3 *db = store_db(p);
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Acknowledged writes need it, and so does the WAL VFS (wal_vfs.h): whatever
 * OGR_SQLITE_PRAGMA asked for, the store's connection commits with synchronous=FULL. */
static cm_status require_full_sync(cm_persist *p, cm_error *err) {
    sqlite3 *db = store_db(p);
    if (!db) return cm_error_set(err, CM_ERR_IO, "store", "cannot reach the GeoPackage's SQLite connection");
    if (cm_persist_query_int(p, "PRAGMA synchronous") >= 2) return CM_OK; /* FULL or EXTRA */
    if (sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
        return cm_error_set(err, CM_ERR_IO, "store", "cannot set synchronous=FULL: %s", sqlite3_errmsg(db));
    return CM_OK;
}

cm_status cm_persist_open(const char *path, const cm_layer_defs *defs, bool create,
                          cm_persist **out, cm_error *err) {
    *out = NULL;
    GDALAllRegister();
    /* Durability: every committed transaction is on disk before commit returns. */
    CPLSetConfigOption("OGR_SQLITE_JOURNAL", "WAL");
    CPLSetConfigOption("OGR_SQLITE_SYNCHRONOUS", "FULL");
    /* Page cache, MB: a commit walks the B-tree and R-tree paths of a layer and of the
     * audit log; with SQLite's default 2 MB a store of tens of thousands of features reads
     * pages back on every commit (a third of its time at 60,000). The environment's
     * OGR_SQLITE_CACHE wins. */
    if (!CPLGetConfigOption("OGR_SQLITE_CACHE", NULL)) CPLSetConfigOption("OGR_SQLITE_CACHE", "64");
    /* Statement journals in memory: an insert whose R-tree node splits spills its journal
     * past 64 KB, and SQLite then made, wrote and unlinked a file in /var/tmp (about once
     * in 50 creates), which also made writes depend on a writable temporary directory. The
     * journal only rolls back one statement; durability is the WAL's. */
    if (!CPLGetConfigOption("OGR_SQLITE_PRAGMA", NULL)) CPLSetConfigOption("OGR_SQLITE_PRAGMA", "temp_store=MEMORY");
    cm_persist *p = calloc(1, sizeof *p);
    if (!p) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    p->defs = defs;
    p->path = strdup(path);
    struct stat stbuf;
    bool exists = stat(path, &stbuf) == 0;
    if (exists) {
        const char *drivers[] = {"GPKG", NULL};
        CPLErrorReset();
        bool scoped = cm_wal_vfs_open_scope();
        p->ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, NULL, NULL);
        if (scoped) cm_wal_vfs_close_scope();
        if (!p->ds) {
            cm_error_set(err, CM_ERR_IO, "store", "cannot open %s as a GeoPackage for update: %s", path,
                         CPLGetLastErrorMsg());
            cm_persist_close(p);
            return CM_ERR_IO;
        }
    } else if (create) {
        GDALDriverH drv = GDALGetDriverByName("GPKG");
        bool scoped = cm_wal_vfs_open_scope();
        p->ds = drv ? GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
        if (scoped) cm_wal_vfs_close_scope();
        if (!p->ds) {
            cm_error_set(err, CM_ERR_IO, "store", "cannot create %s: %s", path, CPLGetLastErrorMsg());
            cm_persist_close(p);
            return CM_ERR_IO;
        }
    } else {
        cm_error_set(err, CM_ERR_IO, "store",
                     "store %s does not exist; create it with `crisismap demo --store %s` or `crisismap import`",
                     path, path);
        cm_persist_close(p);
        return CM_ERR_IO;
    }
    cm_status fs = require_full_sync(p, err);
    if (fs != CM_OK) {
        cm_persist_close(p);
        return fs;
    }
    for (size_t i = 0; i < defs->n; i++) {
        cm_status s = ensure_table(p, &defs->layers[i], err);
        if (s != CM_OK) {
            cm_persist_close(p);
            return s;
        }
    }
    cm_status s = cm_persist_ensure_system_tables(p, err);
    if (s != CM_OK) {
        cm_persist_close(p);
        return s;
    }
    *out = p;
    return CM_OK;
}

static void forget_loaded(cm_persist *p) {
    for (size_t i = 0; p->loaded_digests && i < p->n_loaded; i++) cm_row_digests_release(&p->loaded_digests[i]);
    free(p->loaded_digests);
    p->loaded_digests = NULL;
    p->n_loaded = 0;
}

void cm_persist_close(cm_persist *p) {
    if (!p) return;
    forget_loaded(p);
    for (size_t i = 0; p->tables && i < p->defs->n; i++) free(p->tables[i].field);
    free(p->tables);
    sqlite3_finalize(p->data_version); /* before GDAL closes the connection it belongs to */
    sqlite3_finalize(p->write_lock);
    if (p->ds) GDALClose(p->ds);
    free(p->path);
    free(p);
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
    const struct persist_table *t = table_of(p, def);
    if (!t) return table_missing(err, def);
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
    const struct persist_table *t = table_of(p, def);
    if (!t) return table_missing(err, def);
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
    const struct persist_table *t = table_of(p, def);
    sqlite3 *db = store_db(p);
    if (!t) return table_missing(err, def);
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
    forget_loaded(p);
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

int64_t cm_persist_count(cm_persist *p, const cm_layer_def *def) {
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, def->id);
    return lyr ? (int64_t)OGR_L_GetFeatureCount(lyr, TRUE) : -1;
}

int64_t cm_persist_max_id(cm_persist *p, const cm_layer_def *def) {
    /* def->id is a checked identifier ([a-z0-9_]) from the configuration, never request input. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COALESCE(MAX(fid), 0) FROM \"%s\"", def->id);
    return cm_persist_query_int(p, sql);
}

int64_t cm_persist_data_version(cm_persist *p) {
    sqlite3 *db = store_db(p);
    if (!p->data_version &&
        (!db || sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &p->data_version, NULL) != SQLITE_OK))
        return -1;
    int64_t v = sqlite3_step(p->data_version) == SQLITE_ROW ? sqlite3_column_int64(p->data_version, 0) : -1;
    sqlite3_reset(p->data_version);
    return v;
}

/* GDAL's BEGIN is SQLite's deferred one: the lock is taken by the first write. A transaction
 * whose first statement reads (the writer reads a row before it changes it) would hold a read
 * snapshot by then, and SQLite does not wait for the lock to upgrade one (no busy handler: it
 * could deadlock); while a GIS held the lock, every such batch failed at once. So a write that
 * changes nothing goes first and waits its turn, as BEGIN IMMEDIATE would: afterwards nothing
 * can commit between a row read here and its rewrite. */
static cm_status take_write_lock(cm_persist *p, cm_error *err) {
    sqlite3 *db = store_db(p);
    if (!p->write_lock && (!db || sqlite3_prepare_v2(db, "DELETE FROM " CM_AUDIT_TABLE " WHERE 0", -1, &p->write_lock,
                                                     NULL) != SQLITE_OK))
        return cm_error_set(err, CM_ERR_IO, NULL, "begin: cannot prepare the store's lock statement");
    int rc = sqlite3_step(p->write_lock);
    sqlite3_reset(p->write_lock);
    if (rc == SQLITE_DONE) return CM_OK;
    if ((rc & 0xff) == SQLITE_BUSY) return cm_error_set(err, CM_ERR_IO, NULL, "begin: " LOCKED_MESSAGE);
    return cm_error_set(err, CM_ERR_IO, NULL, "begin: %s", sqlite3_errstr(rc));
}

cm_status cm_persist_begin(cm_persist *p, cm_error *err) {
    p->lock_deadline_ms = 0; /* a fresh budget for waiting on another program's lock */
    if (GDALDatasetStartTransaction(p->ds, FALSE) != OGRERR_NONE) return cm_persist_gdal_error(err, "begin");
    cm_status s = take_write_lock(p, err);
    if (s != CM_OK) GDALDatasetRollbackTransaction(p->ds);
    return s;
}

cm_status cm_persist_commit(cm_persist *p, cm_error *err) {
    return GDALDatasetCommitTransaction(p->ds) == OGRERR_NONE ? CM_OK : cm_persist_gdal_error(err, "commit");
}

void cm_persist_rollback(cm_persist *p) { GDALDatasetRollbackTransaction(p->ds); }

static void set_value(OGRFeatureH f, int fi, const cm_value *v) {
    if (!v->set) {
        OGR_F_SetFieldNull(f, fi);
        return;
    }
    switch (v->type) {
    case CM_PROP_STRING: OGR_F_SetFieldString(f, fi, v->u.s); break;
    case CM_PROP_INTEGER: OGR_F_SetFieldInteger64(f, fi, v->u.i); break;
    case CM_PROP_NUMBER: OGR_F_SetFieldDouble(f, fi, v->u.d); break;
    case CM_PROP_BOOLEAN: OGR_F_SetFieldInteger(f, fi, v->u.b ? 1 : 0); break;
    case CM_PROP_DATETIME: {
        int y, mo, d, h, mi;
        double sec;
        cm_datetime_split(v->u.t_ms, &y, &mo, &d, &h, &mi, &sec);
        OGR_F_SetFieldDateTimeEx(f, fi, y, mo, d, h, mi, (float)sec, 100);
        break;
    }
    }
}

static cm_status write_feature(const struct persist_table *t, const cm_layer_def *def, OGRFeatureH f,
                               const cm_geom *geom, const cm_value *values, cm_error *err) {
    OGRGeometryH g = cm_ogr_from_geom(geom);
    if (geom->type != CM_GEOM_NONE && !g) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    OGR_F_SetGeometryDirectly(f, g);
    for (size_t i = 0; i < def->n_props; i++)
        if (t->field[i] >= 0) set_value(f, t->field[i], &values[i]);
    return CM_OK;
}

/* Writes a new row; id < 0 lets the table choose it. */
static cm_status insert_row(cm_persist *p, const cm_layer_def *def, int64_t id, const cm_geom *geom,
                            const cm_value *values, int64_t *out_id, cm_error *err) {
    const struct persist_table *t = table_of(p, def);
    if (!t) return table_missing(err, def);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(t->lyr));
    cm_status s = f ? CM_OK : cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    if (s == CM_OK && id >= 0) OGR_F_SetFID(f, id);
    if (s == CM_OK) s = write_feature(t, def, f, geom, values, err);
    if (s == CM_OK && OGR_L_CreateFeature(t->lyr, f) != OGRERR_NONE) s = cm_persist_gdal_error(err, def->id);
    if (s == CM_OK && out_id) *out_id = OGR_F_GetFID(f);
    OGR_F_Destroy(f);
    return s;
}

cm_status cm_persist_insert(cm_persist *p, const cm_layer_def *def, const cm_geom *geom, const cm_value *values,
                            int64_t *out_id, cm_error *err) {
    return insert_row(p, def, -1, geom, values, out_id, err);
}

cm_status cm_persist_insert_with_id(cm_persist *p, const cm_layer_def *def, int64_t id, const cm_geom *geom,
                                    const cm_value *values, cm_error *err) {
    return insert_row(p, def, id, geom, values, NULL, err);
}

/* The row of a feature the server holds is missing: only another program can have removed it
 * (the server never deletes without its own edit). The statement changed nothing, so the
 * transaction is still good for the batch's other edits. */
static cm_status row_gone(cm_error *err, const cm_layer_def *def, int64_t id) {
    return cm_error_set(
        err, CM_ERR_CONFLICT, "featureId",
        "feature %lld of %s is no longer in the store: another program removed it while the server ran; "
        "send the edit again",
        (long long)id, def->id);
}

cm_status cm_persist_update(cm_persist *p, const cm_layer_def *def, int64_t id, const cm_geom *geom,
                            const cm_value *values, cm_error *err) {
    const struct persist_table *t = table_of(p, def);
    if (!t) return table_missing(err, def);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(t->lyr));
    cm_status s = f ? CM_OK : cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    if (s == CM_OK) {
        OGR_F_SetFID(f, id);
        s = write_feature(t, def, f, geom, values, err);
    }
    OGRErr oe = s == CM_OK ? OGR_L_SetFeature(t->lyr, f) : OGRERR_NONE;
    if (oe == OGRERR_NON_EXISTING_FEATURE) s = row_gone(err, def, id);
    else if (oe != OGRERR_NONE) s = cm_persist_gdal_error(err, def->id);
    OGR_F_Destroy(f);
    return s;
}

cm_status cm_persist_delete(cm_persist *p, const cm_layer_def *def, int64_t id, cm_error *err) {
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, def->id);
    if (!lyr) return cm_error_set(err, CM_ERR_IO, def->id, "table %s missing", def->id);
    OGRErr oe = OGR_L_DeleteFeature(lyr, id);
    if (oe == OGRERR_NON_EXISTING_FEATURE) return row_gone(err, def, id);
    return oe == OGRERR_NONE ? CM_OK : cm_persist_gdal_error(err, def->id);
}

cm_status cm_persist_clear(cm_persist *p, const cm_layer_def *def, cm_error *err) {
    /* The layer id is a checked identifier ([a-z0-9_]), never request input. */
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", def->id);
    CPLErrorReset();
    OGRLayerH res = GDALDatasetExecuteSQL(p->ds, sql, NULL, "SQLITE");
    if (res) GDALDatasetReleaseResultSet(p->ds, res);
    return CPLGetLastErrorType() >= CE_Failure ? cm_persist_gdal_error(err, def->id) : CM_OK;
}
