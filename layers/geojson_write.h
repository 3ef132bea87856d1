/* geojson_write.h — GeoJSON output of geometries, numbers and property values.
 *
 * Writers append to a cm_buf and return false when the buffer refused (its maximum or
 * memory); the buffer's `failed` flag stays set so a caller may check once at the end. */
#ifndef CM_GEOJSON_WRITE_H
#define CM_GEOJSON_WRITE_H

#include <stdbool.h>

#include "buf.h"
#include "feature.h"
#include "geom.h"
#include "schema.h"

/* A finite number with at most `decimals` decimals, trailing zeros trimmed ("7.4", "12").
 * Non-finite numbers are written as null (JSON has no NaN). */
bool cm_geojson_write_number(cm_buf *b, double v, int decimals);
/* {"type":...,"coordinates":...}; lat_first swaps each pair (EPSG:4326 axis order). */
bool cm_geojson_write_geometry(cm_buf *b, const cm_geom *g, int decimals, bool lat_first);
/* One property value as JSON (null when unset). */
bool cm_geojson_write_value(cm_buf *b, const cm_value *v);
/* {"name":value,...} with every declared property of def, null when unset. */
bool cm_geojson_write_properties(cm_buf *b, const cm_layer_def *def, const cm_value *values);

/* Coordinates written for WGS84 degrees: 7 decimals is about 1 cm. */
#define CM_DEGREE_DECIMALS 7

#endif
