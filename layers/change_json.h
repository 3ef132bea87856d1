/* change_json.h — the JSON object that describes one committed change, as the live event
 * stream sends it and /changes lists it: seq, collection, action, id, version, tombstone and
 * the feature after the change (null when deleted). One writer of the format for both. */
#ifndef CM_CHANGE_JSON_H
#define CM_CHANGE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends the object to b. feature_json is the feature's GeoJSON as the server wrote it (or
 * NULL); <, > and & in it go out escaped. collection and action are identifiers. */
bool cm_change_json_append(cm_buf *b, int64_t seq, const char *collection, const char *action, int64_t id,
                           int64_t version, const char *feature_json, size_t feature_len);

/* The version property of a feature's GeoJSON as the server writes it (properties are flat, so
 * the key "version" occurs once, outside every string); -1 when it is not there. */
int64_t cm_change_json_version(const char *feature_json, size_t feature_len);

#endif
