/* persist.h — the GeoPackage store on disk, through GDAL/OGR.
 *
 * The only module that holds a GDAL dataset. One table per layer (name = layer id,
 * integer primary key `fid` = the API's feature id, geometry column `geom`, one column
 * per declared property), opened with WAL journaling and synchronous=FULL so a committed
 * transaction survives a crash.
 *
 * THREAD SAFETY: a cm_persist belongs to one thread at a time (GDAL datasets are not
 * thread-safe); the server uses it only at start-up, before serving. */
#ifndef CM_PERSIST_H
#define CM_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "feature.h"
#include "schema.h"
#include "store.h"

typedef struct cm_persist cm_persist;

/* Opens the store at path for update (creating the file when create is true and it does
 * not exist) and makes sure every layer of defs has its table and columns. defs is
 * borrowed and must outlive the handle. Returns new in *out. */
cm_status cm_persist_open(const char *path, const cm_layer_defs *defs, bool create,
                          cm_persist **out, cm_error *err);
void cm_persist_close(cm_persist *p); /* accepts NULL */

/* Reads every layer into st (publishing one snapshot per layer). */
cm_status cm_persist_load(cm_persist *p, cm_store *st, cm_error *err);

/* Number of rows in a layer's table, or -1 on error. */
int64_t cm_persist_count(cm_persist *p, const cm_layer_def *def);

/* Transactions around inserts; a failed transaction leaves the store as it was. */
cm_status cm_persist_begin(cm_persist *p, cm_error *err);
cm_status cm_persist_commit(cm_persist *p, cm_error *err);
void cm_persist_rollback(cm_persist *p);

/* Inserts one feature (borrowed geometry and values) and returns its new id. */
cm_status cm_persist_insert(cm_persist *p, const cm_layer_def *def, const cm_geom *geom,
                            const cm_value *values, int64_t *out_id, cm_error *err);
/* Deletes every row of a layer (inside the caller's transaction). */
cm_status cm_persist_clear(cm_persist *p, const cm_layer_def *def, cm_error *err);

#endif
