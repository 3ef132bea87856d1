/* feature_input.h — turning a client's GeoJSON Feature (a parsed jansson tree) into a
 * geometry and typed property values for a layer, with the field of any fault. */
#ifndef CM_FEATURE_INPUT_H
#define CM_FEATURE_INPUT_H

#include <jansson.h>

#include "crs.h"
#include "feature.h"
#include "schema.h"

/* Reads a borrowed Feature object for layer def: the geometry (transformed from crs to
 * WGS84), and the declared properties. Server-owned properties in the input are ignored;
 * unknown ones are dropped or refused as the layer says. On success the caller owns *geom
 * and *values. Structural faults are 400 statuses (CM_ERR_BAD_JSON, CM_ERR_BAD_GEOMETRY,
 * CM_ERR_BAD_PROPERTY) with err->field set. No range or schema-rule check here: that is
 * cm_validate_*. */
cm_status cm_feature_input_read(const cm_layer_def *def, const json_t *feature, cm_crs crs, cm_geom *geom,
                                cm_value **values, cm_error *err);

/* Applies an RFC 7396 JSON merge patch to target in place (borrowed patch). */
void cm_json_merge_patch(json_t *target, const json_t *patch);

#endif
