/* persist_internal.h — the persistence handle's insides, shared by persist.c (opening the
 * store, transactions, writing layer rows), persist_read.c (reading layer rows) and
 * persist_system.c (audit and token tables) only. */
#ifndef CM_PERSIST_INTERNAL_H
#define CM_PERSIST_INTERNAL_H

#include <gdal.h>
#include <ogr_api.h>
#include <stdint.h>

#include "persist.h"

struct cm_persist {
    GDALDatasetH ds;
    const cm_layer_defs *defs;
    char *path;
    long lock_wait_ms;        /* see cm_persist_set_lock_wait */
    int64_t lock_deadline_ms; /* monotonic; 0: no wait yet in this transaction */
    struct sqlite3_stmt *data_version; /* PRAGMA data_version, prepared once (asked every batch) */
    struct sqlite3_stmt *write_lock;   /* a write that changes nothing: takes the write lock (cm_persist_begin) */
    bool digest_fn;                    /* cm_row_digest registered on the connection (cm_persist_row_digests) */
    cm_row_digests *loaded_digests;    /* per layer, as cm_persist_load found them; the writer takes them */
    size_t n_loaded;
    int64_t loaded_data_version;
    struct persist_table *tables;      /* per entry of defs->layers, looked up on first use (cm_persist_table_of) */
    OGRLayerH audit;                   /* the audit table and its fields (persist_system.c), on first use */
    int audit_field[10];
};

#define CM_AUDIT_TABLE "cm_audit"

/* A layer's table and where each property of its definition is among the table's fields,
 * looked up once: by name, GDAL compares with every field, case-blind, on every write. */
struct persist_table {
    OGRLayerH lyr; /* NULL: not looked up yet */
    int *field;    /* per property of the definition; -1 where the table has no such field */
};

/* NULL when the table is missing, def is not one of the definitions the store was opened
 * with, or memory is short. */
const struct persist_table *cm_persist_table_of(cm_persist *p, const cm_layer_def *def);
/* The error for a NULL from cm_persist_table_of. */
cm_status cm_persist_table_missing(cm_error *err, const cm_layer_def *def);
/* The store's own SQLite connection, GDAL's: the documented way to set what GDAL's GeoPackage
 * driver does not (a bounded lock wait, a statement of our own). NULL if GDAL gives none. */
struct sqlite3 *cm_persist_store_db(cm_persist *p);
/* Drops the digests cm_persist_load took that the writer has not taken. */
void cm_persist_forget_loaded(cm_persist *p);

cm_status cm_persist_ensure_system_tables(cm_persist *p, cm_error *err);
cm_status cm_persist_gdal_error(cm_error *err, const char *what);
/* One integer from a statement on the store's own SQLite connection (the first column of the
 * first row; 0 for NULL); -1 when it fails. */
int64_t cm_persist_query_int(cm_persist *p, const char *sql);

#endif
