/* geojson_read.h — GeoJSON geometry input (RFC 7946) into cm_geom, with caps. */
#ifndef CM_GEOJSON_READ_H
#define CM_GEOJSON_READ_H

#include <jansson.h>

#include "geom.h"

/* Reads a borrowed GeoJSON geometry object into caller-owned out. Positions must be
 * arrays of 2 or 3 numbers (a height is dropped); at most max_points positions and
 * max_parts lines/rings. CM_ERR_BAD_GEOMETRY with err->field naming the offending member
 * ("geometry.coordinates[1][0]"); JSON null gives CM_GEOM_NONE. Structure only: ranges
 * and ring closure are validate.h's job. */
cm_status cm_geojson_read_geometry(const json_t *j, uint32_t max_points, uint32_t max_parts, cm_geom *out,
                                   cm_error *err);

#endif
