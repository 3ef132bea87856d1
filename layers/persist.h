/* persist.h — the GeoPackage store on disk, through GDAL/OGR.
 *
 * The only module that holds a GDAL dataset. One table per layer (name = layer id,
 * integer primary key `fid` = the API's feature id, geometry column `geom`, one column
 * per declared property), opened with WAL journaling and synchronous=FULL so a committed
 * transaction survives a crash.
 *
 * THREAD SAFETY: a cm_persist belongs to one thread at a time (GDAL datasets are not
 * thread-safe): the server's is the persistence worker's (writer.h) once loaded. */
#ifndef CM_PERSIST_H
#define CM_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "feature.h"
#include "row_digests.h"
#include "schema.h"
#include "store.h"

typedef struct cm_persist cm_persist;

/* Opens the store at path for update (creating the file when create is true and it does
 * not exist) and makes sure every layer of defs has its table and columns. defs is
 * borrowed and must outlive the handle. Returns new in *out. */
cm_status cm_persist_open(const char *path, const cm_layer_defs *defs, bool create,
                          cm_persist **out, cm_error *err);
void cm_persist_close(cm_persist *p); /* accepts NULL */

/* How long a write waits for the GeoPackage's write lock when another program holds it
 * (a GIS editing the file, a backup) before the write fails (the edits of that commit
 * get 503 and nothing changes). Without a bound, every edit would hang behind it. */
void cm_persist_set_lock_wait(cm_persist *p, long ms);

/* Reads every layer into st (publishing one snapshot per layer). Also notes the store's
 * data_version and each layer's row digests as of just before the read: what the writer
 * compares later looks with to find another program's changes (cm_persist_take_loaded). */
cm_status cm_persist_load(cm_persist *p, cm_store *st, cm_error *err);
/* The row digests (one list per layer of the store loaded; the caller's, to release and
 * free) and the data_version cm_persist_load noted; NULL when it has not run. */
cm_row_digests *cm_persist_take_loaded(cm_persist *p, int64_t *data_version);

/* The row with this id as a feature, read as cm_persist_load reads it (a row the server
 * wrote compares equal to its feature in memory): *out NULL when there is no such row. Inside
 * a transaction, what that transaction sees. */
cm_status cm_persist_read(cm_persist *p, const cm_layer_def *def, int64_t id, cm_feature **out, cm_error *err);

/* Every row of def's table as (id, digest of its stored geometry and property columns), in
 * ascending id order, into *out (the caller's; release it). One SQL scan over the stored
 * bytes, far cheaper than reading the features: what changes a row's bytes changes its
 * digest (but for a 64-bit collision). */
cm_status cm_persist_row_digests(cm_persist *p, const cm_layer_def *def, cm_row_digests *out, cm_error *err);

/* Number of rows in a layer's table, or -1 on error. */
int64_t cm_persist_count(cm_persist *p, const cm_layer_def *def);
/* The largest feature id in a layer's table (0 when empty, -1 on error). */
int64_t cm_persist_max_id(cm_persist *p, const cm_layer_def *def);
/* SQLite's data_version of the store's connection: it changes when another connection (another
 * program, or a crisismap command) commits to the file, never for this connection's own commits.
 * -1 on error. */
int64_t cm_persist_data_version(cm_persist *p);

/* Transactions around writes; a failed transaction leaves the store as it was. begin takes
 * the write lock at once (waiting for another program's as set above), so that what the
 * transaction reads no other program can change before it commits. */
cm_status cm_persist_begin(cm_persist *p, cm_error *err);
cm_status cm_persist_commit(cm_persist *p, cm_error *err);
void cm_persist_rollback(cm_persist *p);

/* Inserts one feature (borrowed geometry and values) and returns its new id. */
cm_status cm_persist_insert(cm_persist *p, const cm_layer_def *def, const cm_geom *geom,
                            const cm_value *values, int64_t *out_id, cm_error *err);
/* Inserts one feature under a given id (the writer assigns ids, never reusing one). */
cm_status cm_persist_insert_with_id(cm_persist *p, const cm_layer_def *def, int64_t id, const cm_geom *geom,
                                    const cm_value *values, cm_error *err);
/* Replaces the row with this id (borrowed geometry and values). CM_ERR_CONFLICT, with nothing
 * written, when the row is not there (removed by another program); so for a delete. */
cm_status cm_persist_update(cm_persist *p, const cm_layer_def *def, int64_t id, const cm_geom *geom,
                            const cm_value *values, cm_error *err);
/* Deletes the row with this id. */
cm_status cm_persist_delete(cm_persist *p, const cm_layer_def *def, int64_t id, cm_error *err);
/* Deletes every row of a layer (inside the caller's transaction). */
cm_status cm_persist_clear(cm_persist *p, const cm_layer_def *def, cm_error *err);

/* The audit log (table cm_audit, FID = sequence number). */
#include "audit.h"
/* Appends rec (already sealed) inside the caller's transaction. */
cm_status cm_persist_audit_append(cm_persist *p, const cm_audit_record *rec, cm_error *err);
/* The last record's sequence number and hash (0 and the genesis hash when empty). */
cm_status cm_persist_audit_last(cm_persist *p, int64_t *seq, char hash[2 * CM_SHA256_LEN + 1], cm_error *err);
/* The largest feature id the audit log records for a layer (0 when none). */
int64_t cm_persist_audit_max_feature_id(cm_persist *p, const cm_layer_def *def);
/* Reads the record with this sequence number into caller-owned rec; CM_ERR_NOT_FOUND past the end. */
cm_status cm_persist_audit_get(cm_persist *p, int64_t seq, cm_audit_record *rec, cm_error *err);

/* API tokens (table cm_tokens; only hashes are stored). */
#include "tokens.h"
cm_status cm_persist_tokens_load(cm_persist *p, cm_token_set **out, cm_error *err);
/* CM_ERR_BAD_PARAMETER when the name is taken. */
cm_status cm_persist_token_add(cm_persist *p, const char *name, cm_role role, const char *layers_csv,
                               const uint8_t hash[CM_SHA256_LEN], cm_error *err);
/* CM_ERR_NOT_FOUND when there is no such token. */
cm_status cm_persist_token_revoke(cm_persist *p, const char *name, cm_error *err);

#endif
