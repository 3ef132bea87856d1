/* schema.h — layer definitions (config/layers.json): ids, bilingual titles, allowed
 * geometry types, property schemas, temporal properties and who edits the layer.
 *
 * Definitions are loaded once at start and are immutable afterwards, so every thread may
 * read them without locks. */
#ifndef CM_SCHEMA_H
#define CM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "geom.h"
#include "status.h"

typedef enum {
    CM_PROP_STRING,
    CM_PROP_INTEGER,
    CM_PROP_NUMBER,
    CM_PROP_BOOLEAN,
    CM_PROP_DATETIME,
} cm_prop_type;

typedef struct cm_text {
    char *en;
    char *ar;
} cm_text;

typedef struct cm_prop_def {
    char *name;
    cm_prop_type type;
    cm_text title;
    char **enum_values; /* NULL when the property is free */
    size_t n_enum;
    long max_length; /* characters (UTF-8 code points); -1 when unlimited */
    bool required;
    bool server_owned; /* set by the server, never by a client */
    bool has_minimum;
    double minimum;
} cm_prop_def;

typedef enum { CM_EDIT_OPERATOR, CM_EDIT_REFERENCE } cm_editing;

typedef struct cm_layer_def {
    char *id;
    cm_text title;
    cm_text description;
    unsigned geom_mask; /* bit (1u << cm_geom_type) per allowed type */
    cm_editing editing;
    int time_start; /* property index of the temporal start, -1 when none */
    int time_end;   /* property index of the temporal end (== start for an instant) */
    bool drop_unknown; /* unknown properties: drop (true) or reject (false) */
    bool require_if_match; /* edits must name the version they change (428 without) */
    cm_prop_def *props;
    size_t n_props;
} cm_layer_def;

typedef struct cm_layer_defs {
    cm_layer_def *layers;
    size_t n;
} cm_layer_defs;

/* Reads and checks a layers.json file into caller-owned out. On failure out is empty and
 * err says which entry is wrong. */
cm_status cm_schema_load_file(const char *path, cm_layer_defs *out, cm_error *err);
/* Same from a parsed document (borrowed). */
cm_status cm_schema_load_json(const json_t *doc, cm_layer_defs *out, cm_error *err);
void cm_schema_release(cm_layer_defs *defs);

/* Lookups; NULL / -1 when absent. Borrowed results. */
const cm_layer_def *cm_schema_find_layer(const cm_layer_defs *defs, const char *id);
int cm_schema_prop_index(const cm_layer_def *def, const char *name);
bool cm_schema_allows_geom(const cm_layer_def *def, cm_geom_type t);
const char *cm_prop_type_name(cm_prop_type t);
/* Layer ids and property names are restricted to [a-z0-9_] so they are safe as table,
 * column and URL names everywhere. */
bool cm_schema_is_safe_name(const char *s);

#endif
