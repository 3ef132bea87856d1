/* ogr_geom.h — conversion between OGR geometries and cm_geom (for the persistence and
 * import modules, the only users of GDAL). */
#ifndef CM_OGR_GEOM_H
#define CM_OGR_GEOM_H

#include <ogr_api.h>

#include "geom.h"

/* Converts a borrowed OGR geometry (2D, 2.5D, M; curves are linearised; a
 * GeometryCollection is refused) into caller-owned out. NULL or empty gives CM_GEOM_NONE.
 * CM_ERR_BAD_GEOMETRY when the type cannot be represented or a cap is exceeded. */
cm_status cm_ogr_to_geom(OGRGeometryH g, uint32_t max_points, cm_geom *out, cm_error *err);

/* Returns a new OGR geometry (caller destroys) or NULL when out of memory. */
OGRGeometryH cm_ogr_from_geom(const cm_geom *g);

/* GEOS validity through OGR: CM_OK, or CM_ERR_INVALID_GEOMETRY with GEOS's reason and
 * location ("Self-intersection at or near point 7.42 43.73") in err. Safe on any thread
 * (no dataset involved). */
cm_status cm_ogr_check_valid(const cm_geom *g, cm_error *err);

#endif
