/* persist_system.c — the store's own tables: the audit log and the API tokens.
 *
 * Both are plain attribute tables of the GeoPackage, so any GIS or SQLite tool can read
 * them; the audit log's FID is its sequence number, which lets records be fetched by key
 * without building a filter string. */
#include <cpl_error.h>
#include <ogr_api.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "persist_internal.h"

#define AUDIT_FEATURE_INDEX "cm_audit_feature"
#define AUDIT_LAYER_INDEX "cm_audit_layer"
#define TOKENS_TABLE "cm_tokens"

typedef struct {
    const char *name;
    OGRFieldType type;
} column;

/* In the order of audit_columns. */
enum { AUDIT_TIME_MS, AUDIT_ACTOR, AUDIT_ROLE, AUDIT_ACTION, AUDIT_LAYER, AUDIT_FEATURE_ID, AUDIT_BEFORE, AUDIT_AFTER,
       AUDIT_PREV_HASH, AUDIT_HASH, AUDIT_COLUMNS };
static const column audit_columns[AUDIT_COLUMNS] = {
    {"time_ms", OFTInteger64}, {"actor", OFTString},  {"role", OFTString},      {"action", OFTString},
    {"layer", OFTString},      {"feature_id", OFTInteger64}, {"before", OFTString}, {"after", OFTString},
    {"prev_hash", OFTString},  {"hash", OFTString},
};
static const column token_columns[] = {
    {"name", OFTString}, {"role", OFTString}, {"layers", OFTString}, {"hash", OFTString}, {"created_ms", OFTInteger64},
};

static cm_status ensure(cm_persist *p, const char *table, const column *cols, size_t n, cm_error *err) {
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, table);
    bool created = false;
    if (!lyr) {
        char *opts[] = {"FID=seq", NULL};
        lyr = GDALDatasetCreateLayer(p->ds, table, NULL, wkbNone, strcmp(table, CM_AUDIT_TABLE) == 0 ? opts : NULL);
        if (!lyr) return cm_persist_gdal_error(err, table);
        created = true;
    }
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(lyr);
    for (size_t i = 0; i < n; i++) {
        if (OGR_FD_GetFieldIndex(fd, cols[i].name) >= 0) continue;
        OGRFieldDefnH f = OGR_Fld_Create(cols[i].name, cols[i].type);
        OGRErr e = OGR_L_CreateField(lyr, f, TRUE);
        OGR_Fld_Destroy(f);
        if (e != OGRERR_NONE) return cm_persist_gdal_error(err, table);
        created = true;
    }
    if (created && OGR_L_SyncToDisk(lyr) != OGRERR_NONE) return cm_persist_gdal_error(err, table);
    return CM_OK;
}

/* A feature's history (the console shows it beside the feature) and a layer's changes (the
 * change feed past its live log) seek these indexes instead of walking the log from one end:
 * on a log of 368,000 records that walk held the persistence worker, and every write, for
 * 0.8 s, and gave up after 100,000 records. The first also answers the largest feature id per
 * layer at startup without reading the whole log. Made once, in place, for stores that
 * predate them. */
static cm_status ensure_audit_index(cm_persist *p, const char *name, const char *columns, cm_error *err) {
    char sql[200];
    snprintf(sql, sizeof sql, "CREATE INDEX IF NOT EXISTS %s ON " CM_AUDIT_TABLE " (%s)", name, columns);
    CPLErrorReset();
    OGRLayerH res = GDALDatasetExecuteSQL(p->ds, sql, NULL, "SQLITE");
    if (res) GDALDatasetReleaseResultSet(p->ds, res);
    return CPLGetLastErrorType() >= CE_Failure ? cm_persist_gdal_error(err, name) : CM_OK;
}

cm_status cm_persist_ensure_system_tables(cm_persist *p, cm_error *err) {
    cm_status s = ensure(p, CM_AUDIT_TABLE, audit_columns, sizeof audit_columns / sizeof *audit_columns, err);
    if (s == CM_OK) s = ensure_audit_index(p, AUDIT_FEATURE_INDEX, "layer, feature_id, seq", err);
    if (s == CM_OK) s = ensure_audit_index(p, AUDIT_LAYER_INDEX, "layer, seq", err);
    if (s == CM_OK) s = ensure(p, TOKENS_TABLE, token_columns, sizeof token_columns / sizeof *token_columns, err);
    return s;
}

static void set_str_at(OGRFeatureH f, int i, const char *v) {
    if (v) OGR_F_SetFieldString(f, i, v);
    else OGR_F_SetFieldNull(f, i);
}

static void set_str(OGRFeatureH f, const char *field, const char *v) {
    set_str_at(f, OGR_F_GetFieldIndex(f, field), v);
}

static char *get_str(OGRFeatureH f, const char *field) {
    int i = OGR_F_GetFieldIndex(f, field);
    return (i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i)) ? strdup(OGR_F_GetFieldAsString(f, i)) : NULL;
}

static int64_t get_i64(OGRFeatureH f, const char *field) {
    int i = OGR_F_GetFieldIndex(f, field);
    return i >= 0 ? OGR_F_GetFieldAsInteger64(f, i) : 0;
}

/* The audit table and where its columns are, looked up once: a change writes one record,
 * and by name GDAL compares with every field, case-blind. */
static bool audit_table(cm_persist *p) {
    _Static_assert(sizeof p->audit_field / sizeof *p->audit_field == AUDIT_COLUMNS, "one index per audit column");
    if (p->audit) return true;
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, CM_AUDIT_TABLE);
    if (!lyr) return false;
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(lyr);
    for (int i = 0; i < AUDIT_COLUMNS; i++)
        if ((p->audit_field[i] = OGR_FD_GetFieldIndex(fd, audit_columns[i].name)) < 0) return false;
    p->audit = lyr;
    return true;
}

cm_status cm_persist_audit_append(cm_persist *p, const cm_audit_record *rec, cm_error *err) {
    if (!audit_table(p))
        return cm_error_set(err, CM_ERR_IO, CM_AUDIT_TABLE, "the audit table or one of its columns is missing");
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(p->audit));
    if (!f) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    const int *at = p->audit_field;
    OGR_F_SetFID(f, rec->seq);
    OGR_F_SetFieldInteger64(f, at[AUDIT_TIME_MS], rec->time_ms);
    set_str_at(f, at[AUDIT_ACTOR], rec->actor);
    set_str_at(f, at[AUDIT_ROLE], rec->role);
    set_str_at(f, at[AUDIT_ACTION], rec->action);
    set_str_at(f, at[AUDIT_LAYER], rec->layer);
    OGR_F_SetFieldInteger64(f, at[AUDIT_FEATURE_ID], rec->feature_id);
    set_str_at(f, at[AUDIT_BEFORE], rec->before);
    set_str_at(f, at[AUDIT_AFTER], rec->after);
    set_str_at(f, at[AUDIT_PREV_HASH], rec->prev_hash);
    set_str_at(f, at[AUDIT_HASH], rec->hash);
    OGRErr e = OGR_L_CreateFeature(p->audit, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? CM_OK : cm_persist_gdal_error(err, CM_AUDIT_TABLE);
}

cm_status cm_persist_audit_get(cm_persist *p, int64_t seq, cm_audit_record *rec, cm_error *err) {
    memset(rec, 0, sizeof *rec);
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, CM_AUDIT_TABLE);
    CPLErrorReset();
    OGRFeatureH f = OGR_L_GetFeature(lyr, seq);
    if (!f) return cm_error_set(err, CM_ERR_NOT_FOUND, "seq", "no audit record %lld", (long long)seq);
    rec->seq = OGR_F_GetFID(f);
    rec->time_ms = get_i64(f, "time_ms");
    rec->actor = get_str(f, "actor");
    rec->role = get_str(f, "role");
    rec->action = get_str(f, "action");
    rec->layer = get_str(f, "layer");
    rec->feature_id = get_i64(f, "feature_id");
    rec->before = get_str(f, "before");
    rec->after = get_str(f, "after");
    char *prev = get_str(f, "prev_hash"), *hash = get_str(f, "hash");
    snprintf(rec->prev_hash, sizeof rec->prev_hash, "%s", prev ? prev : "");
    snprintf(rec->hash, sizeof rec->hash, "%s", hash ? hash : "");
    free(prev);
    free(hash);
    OGR_F_Destroy(f);
    return CM_OK;
}

cm_status cm_persist_audit_last(cm_persist *p, int64_t *seq, char hash[2 * CM_SHA256_LEN + 1], cm_error *err) {
    *seq = 0;
    memcpy(hash, cm_audit_genesis, sizeof cm_audit_genesis);
    /* The table name is a constant, not request input. */
    OGRLayerH res = GDALDatasetExecuteSQL(p->ds, "SELECT seq, hash FROM " CM_AUDIT_TABLE " ORDER BY seq DESC LIMIT 1", NULL, "SQLITE");
    if (!res) return cm_persist_gdal_error(err, CM_AUDIT_TABLE);
    OGRFeatureH f = OGR_L_GetNextFeature(res);
    if (f) {
        /* GDAL turns the primary key into the result's FID rather than a field. */
        *seq = OGR_F_GetFID(f);
        snprintf(hash, 2 * CM_SHA256_LEN + 1, "%s", OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "hash")));
        OGR_F_Destroy(f);
    }
    GDALDatasetReleaseResultSet(p->ds, res);
    return CM_OK;
}

cm_status cm_persist_tokens_load(cm_persist *p, cm_token_set **out, cm_error *err) {
    *out = cm_token_set_create();
    if (!*out) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, TOKENS_TABLE);
    OGR_L_ResetReading(lyr);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(lyr)) != NULL) {
        char *name = get_str(f, "name"), *role = get_str(f, "role"), *layers = get_str(f, "layers"),
             *hash = get_str(f, "hash");
        cm_role r;
        uint8_t h[CM_SHA256_LEN];
        if (name && cm_role_from_name(role, &r) && hash && cm_unhex(hash, h, sizeof h))
            cm_token_set_add(*out, name, r, layers, h);
        free(name);
        free(role);
        free(layers);
        free(hash);
        OGR_F_Destroy(f);
    }
    return CM_OK;
}

static OGRFeatureH find_token(OGRLayerH lyr, const char *name) {
    OGR_L_ResetReading(lyr);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(lyr)) != NULL) {
        int i = OGR_F_GetFieldIndex(f, "name");
        if (strcmp(OGR_F_GetFieldAsString(f, i), name) == 0) return f;
        OGR_F_Destroy(f);
    }
    return NULL;
}

cm_status cm_persist_token_add(cm_persist *p, const char *name, cm_role role, const char *layers_csv,
                               const uint8_t hash[CM_SHA256_LEN], cm_error *err) {
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, TOKENS_TABLE);
    OGRFeatureH existing = find_token(lyr, name);
    if (existing) {
        OGR_F_Destroy(existing);
        return cm_error_set(err, CM_ERR_BAD_PARAMETER, "--name", "a token named \"%s\" exists; revoke it first or pick another name", name);
    }
    char hex[2 * CM_SHA256_LEN + 1];
    cm_hex(hash, CM_SHA256_LEN, hex);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(lyr));
    set_str(f, "name", name);
    set_str(f, "role", cm_role_name(role));
    set_str(f, "layers", layers_csv && *layers_csv ? layers_csv : NULL);
    set_str(f, "hash", hex);
    OGR_F_SetFieldInteger64(f, OGR_F_GetFieldIndex(f, "created_ms"), cm_clock_wall_ms());
    OGRErr e = OGR_L_CreateFeature(lyr, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? CM_OK : cm_persist_gdal_error(err, TOKENS_TABLE);
}

cm_status cm_persist_token_revoke(cm_persist *p, const char *name, cm_error *err) {
    OGRLayerH lyr = GDALDatasetGetLayerByName(p->ds, TOKENS_TABLE);
    OGRFeatureH f = find_token(lyr, name);
    if (!f) return cm_error_set(err, CM_ERR_NOT_FOUND, "name", "no token named \"%s\"", name);
    GIntBig fid = OGR_F_GetFID(f);
    OGR_F_Destroy(f);
    return OGR_L_DeleteFeature(lyr, fid) == OGRERR_NONE ? CM_OK : cm_persist_gdal_error(err, TOKENS_TABLE);
}

int64_t cm_persist_audit_max_feature_id(cm_persist *p, const cm_layer_def *def) {
    /* def->id is a checked identifier ([a-z0-9_]) from the configuration, never request input. */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT MAX(feature_id) FROM " CM_AUDIT_TABLE " WHERE layer = '%s'", def->id);
    int64_t max = cm_persist_query_int(p, sql);
    return max > 0 ? max : 0;
}
