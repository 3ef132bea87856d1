/* persist.c — GeoPackage through OGR: opening the store, schema set-up, transactions, and
 * writing layer rows. Reading them (the start-up load, one row, the rows' digests) is
 * persist_read.c's.
 *
 * DESIGN: the table layout follows the layer definitions; a column the definition lacks
 * is ignored on load, a missing one is added, so a layers.json that gains a property
 * works on an existing store. */
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

#include "clock.h"
#include "datetime.h"
#include "ogr_geom.h"
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

sqlite3 *cm_persist_store_db(cm_persist *p) { return GDALGetInternalHandle(p->ds, "SQLITE_HANDLE"); }

void cm_persist_set_lock_wait(cm_persist *p, long ms) {
    /* GDAL's GeoPackage driver waits for the lock without a bound. */
    sqlite3 *db = cm_persist_store_db(p);
    p->lock_wait_ms = ms;
    if (db) sqlite3_busy_handler(db, wait_for_lock, p);
}

static void forget_table(cm_persist *p, const cm_layer_def *def) {
    for (size_t i = 0; p->tables && i < p->defs->n; i++)
        if (&p->defs->layers[i] == def) {
            free(p->tables[i].field);
            p->tables[i] = (struct persist_table){0};
        }
}

const struct persist_table *cm_persist_table_of(cm_persist *p, const cm_layer_def *def) {
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

cm_status cm_persist_table_missing(cm_error *err, const cm_layer_def *def) {
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
    sqlite3 *db = cm_persist_store_db(p);
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
    sqlite3 *db = cm_persist_store_db(p);
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

void cm_persist_close(cm_persist *p) {
    if (!p) return;
    cm_persist_forget_loaded(p);
    for (size_t i = 0; p->tables && i < p->defs->n; i++) free(p->tables[i].field);
    free(p->tables);
    sqlite3_finalize(p->data_version); /* before GDAL closes the connection it belongs to */
    sqlite3_finalize(p->write_lock);
    if (p->ds) GDALClose(p->ds);
    free(p->path);
    free(p);
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
    sqlite3 *db = cm_persist_store_db(p);
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
    sqlite3 *db = cm_persist_store_db(p);
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
    const struct persist_table *t = cm_persist_table_of(p, def);
    if (!t) return cm_persist_table_missing(err, def);
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
    const struct persist_table *t = cm_persist_table_of(p, def);
    if (!t) return cm_persist_table_missing(err, def);
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
