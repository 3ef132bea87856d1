/* crs.h — coordinate reference systems through PROJ: naming CRSs by OGC URI, and
 * transforming geometries and boxes between WGS84 (CRS84, lon/lat) and other CRSs.
 *
 * THREAD SAFETY: PROJ objects are not shared between threads; each thread gets its own
 * PROJ context and transformation cache on first use, freed when the thread exits (or by
 * cm_crs_thread_release for the main thread). */
#ifndef CM_CRS_H
#define CM_CRS_H

#include <stdbool.h>
#include <stddef.h>

#include "geom.h"
#include "status.h"

typedef struct cm_crs {
    int epsg; /* 0: OGC CRS84 (WGS84, lon/lat) */
} cm_crs;

#define CM_CRS84_URI "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

/* Accepts an OGC URI (".../OGC/1.3/CRS84", ".../EPSG/0/3857"), a safe CURIE ("[EPSG:3857]")
 * or "EPSG:3857". Does not check that PROJ knows the code (see cm_crs_check). */
bool cm_crs_parse(const char *text, cm_crs *out);
/* The CRS's OGC URI into out (>= 64 bytes). */
void cm_crs_uri(cm_crs crs, char *out, size_t n);
bool cm_crs_is_crs84(cm_crs crs);
/* True when PROJ can transform between crs and WGS84. */
bool cm_crs_check(cm_crs crs);
/* True when the CRS's first axis is latitude/northing (EPSG:4326 is; CRS84 is not). */
bool cm_crs_lat_first(cm_crs crs);
/* Decimals worth writing: 7 for degrees, 3 for metres. */
int cm_crs_decimals(cm_crs crs);

/* Transforms a box given in crs (x = easting/lon, y = northing/lat, whatever the CRS's
 * axis order) to a CRS84 box, densifying edges so curved projections are covered. */
cm_status cm_crs_bbox_to_wgs84(cm_crs crs, const cm_bbox *in, cm_bbox *out, cm_error *err);
/* Writes into out (caller-owned, release with cm_geom_release) a copy of g transformed
 * from WGS84 to crs, x = easting/lon. */
cm_status cm_crs_geom_from_wgs84(cm_crs crs, const cm_geom *g, cm_geom *out, cm_error *err);
/* The inverse: g in crs (x = easting/lon) to WGS84. */
cm_status cm_crs_geom_to_wgs84(cm_crs crs, const cm_geom *g, cm_geom *out, cm_error *err);

void cm_crs_thread_release(void);

#endif
