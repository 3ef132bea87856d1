/* validate.h — rules every stored feature obeys: geometry structure and ranges, and the
 * layer's property schema. Used by import now and by the write path. */
#ifndef CM_VALIDATE_H
#define CM_VALIDATE_H

#include "feature.h"
#include "geom.h"
#include "schema.h"

/* Limits a single feature may not exceed. */
#define CM_MAX_VERTICES 100000u
#define CM_MAX_PARTS 10000u

/* Checks g for layer def: allowed type, finite coordinates with lon in [-180, 180] and lat
 * in [-90, 90], lines with >= 2 positions, rings closed with >= 4. err->field names the
 * offending part ("geometry.coordinates[0][3]"). */
cm_status cm_validate_geom(const cm_layer_def *def, const cm_geom *g, cm_error *err);

/* "properties.NAME", the field an error about property NAME names, written into out and
 * returned. Made only when there is an error: validation runs for every property of every
 * write, and printf is slow in this process (buf.h). */
enum { CM_PROP_FIELD_MAX = 96 };
const char *cm_validate_prop_field(char out[CM_PROP_FIELD_MAX], const char *name);

/* Checks values against def: required present, enums, maxLength, minimum, UTF-8.
 * Server-owned properties are not required. */
cm_status cm_validate_values(const cm_layer_def *def, const cm_value *values, cm_error *err);

#endif
