/* import.h — loading any vector file GDAL reads into a layer of the store, reprojected to
 * WGS84, in one transaction. */
#ifndef CM_IMPORT_H
#define CM_IMPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "persist.h"

typedef struct cm_import_opts {
    const char *src_path;
    const char *src_layer;   /* NULL: the file's first layer */
    const char *s_srs;       /* CRS of the source when the file does not say (or overrides) */
    bool skip_invalid;       /* import the valid features and report the rest */
    bool replace;            /* empty the layer first (same transaction) */
    bool progress;           /* draw a progress bar on stderr */
    FILE *report;            /* one line per rejected feature; NULL for none */
} cm_import_opts;

typedef struct cm_import_result {
    size_t read, imported, rejected;
} cm_import_result;

/* Imports into layer def. All or nothing unless opts->skip_invalid: on a rejected feature
 * the transaction is rolled back and err names the feature and the reason. */
cm_status cm_import_file(cm_persist *p, const cm_layer_def *def, const cm_import_opts *opts,
                         cm_import_result *res, cm_error *err);

#endif
