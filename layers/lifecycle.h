/* lifecycle.h — the status of time-bound features (closures, blocked areas) follows from
 * their validity interval: planned before valid_from, active until valid_until, expired
 * after; "lifted" is an operator's decision and sticks. */
#ifndef CM_LIFECYCLE_H
#define CM_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "feature.h"
#include "schema.h"

/* Index of the layer's status property when its status follows time, else -1: the layer
 * has start and end temporal properties and a string "status" whose enum holds planned,
 * active and expired. */
int cm_lifecycle_status_prop(const cm_layer_def *def);

/* The status values must have at `now` (returns a static string), given the current one. */
const char *cm_lifecycle_status(const cm_layer_def *def, const cm_value *values, int64_t now_ms);
/* The next instant after now at which that status changes by itself, or INT64_MAX. */
int64_t cm_lifecycle_next_change(const cm_layer_def *def, const cm_value *values, int64_t now_ms);

#endif
