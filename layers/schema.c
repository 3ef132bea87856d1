/* schema.c — loading and checking layer definitions. */
#include "schema.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const prop_type_names[] = {"string", "integer", "number", "boolean",
                                              "datetime"};

const char *cm_prop_type_name(cm_prop_type t) { return prop_type_names[t]; }

bool cm_schema_is_safe_name(const char *s) {
    if (!s || !*s || strlen(s) > 63) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return false;
    return !(s[0] >= '0' && s[0] <= '9');
}

static cm_status read_text(const json_t *obj, const char *key, cm_text *out, bool need,
                           const char *where, cm_error *err) {
    const json_t *t = json_object_get(obj, key);
    if (!t) {
        if (!need) return CM_OK;
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: missing \"%s\" {en, ar}", where, key);
    }
    const char *en = json_string_value(json_object_get(t, "en"));
    const char *ar = json_string_value(json_object_get(t, "ar"));
    if (!en || !ar)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where,
                            "%s: \"%s\" needs both \"en\" and \"ar\" strings", where, key);
    out->en = strdup(en);
    out->ar = strdup(ar);
    return (out->en && out->ar) ? CM_OK : CM_ERR_NOMEM;
}

static void release_text(cm_text *t) {
    free(t->en);
    free(t->ar);
}

static cm_status read_prop(const json_t *j, cm_prop_def *p, const char *where, cm_error *err) {
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!cm_schema_is_safe_name(name))
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where,
                            "%s: property name must match [a-z_][a-z0-9_]*", where);
    p->name = strdup(name);
    p->max_length = -1;
    int t = -1;
    for (int i = 0; i < 5 && type; i++)
        if (strcmp(type, prop_type_names[i]) == 0) t = i;
    if (t < 0)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where,
                            "%s.%s: type must be string, integer, number, boolean or datetime",
                            where, name);
    p->type = (cm_prop_type)t;
    cm_status s = read_text(j, "title", &p->title, false, where, err);
    if (s != CM_OK) return s;
    p->required = json_is_true(json_object_get(j, "required"));
    p->server_owned = json_is_true(json_object_get(j, "server_owned"));
    const json_t *ml = json_object_get(j, "maxLength");
    if (ml) {
        if (!json_is_integer(ml) || json_integer_value(ml) < 1)
            return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s.%s: maxLength must be a positive integer", where, name);
        p->max_length = (long)json_integer_value(ml);
    }
    const json_t *mn = json_object_get(j, "minimum");
    if (mn) {
        if (!json_is_number(mn))
            return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s.%s: minimum must be a number", where, name);
        p->has_minimum = true;
        p->minimum = json_number_value(mn);
    }
    const json_t *en = json_object_get(j, "enum");
    if (en) {
        if (!json_is_array(en) || json_array_size(en) == 0 || p->type != CM_PROP_STRING)
            return cm_error_set(err, CM_ERR_BAD_CONFIG, where,
                                "%s.%s: enum must be a non-empty array on a string property", where, name);
        p->n_enum = json_array_size(en);
        p->enum_values = calloc(p->n_enum, sizeof(char *));
        if (!p->enum_values) return CM_ERR_NOMEM;
        for (size_t i = 0; i < p->n_enum; i++) {
            const char *v = json_string_value(json_array_get(en, i));
            if (!v) return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s.%s: enum values must be strings", where, name);
            p->enum_values[i] = strdup(v);
        }
    }
    return CM_OK;
}

static void release_prop(cm_prop_def *p) {
    free(p->name);
    release_text(&p->title);
    for (size_t i = 0; i < p->n_enum; i++) free(p->enum_values[i]);
    free(p->enum_values);
}

static cm_status read_layer(const json_t *j, cm_layer_def *d, size_t idx, cm_error *err) {
    char where[96];
    const char *id = json_string_value(json_object_get(j, "id"));
    snprintf(where, sizeof where, "layers[%zu]", idx);
    if (!cm_schema_is_safe_name(id))
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: id must match [a-z_][a-z0-9_]*", where);
    d->id = strdup(id);
    d->time_start = d->time_end = -1;
    snprintf(where, sizeof where, "layers.%s", id);
    cm_status s;
    if ((s = read_text(j, "title", &d->title, true, where, err)) != CM_OK) return s;
    if ((s = read_text(j, "description", &d->description, true, where, err)) != CM_OK) return s;

    const json_t *geoms = json_object_get(j, "geometry");
    size_t gi;
    const json_t *g;
    json_array_foreach(geoms, gi, g) {
        cm_geom_type t = cm_geom_type_from_name(json_string_value(g) ? json_string_value(g) : "");
        if (t == CM_GEOM_NONE)
            return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: unknown geometry type in \"geometry\"", where);
        d->geom_mask |= 1u << t;
    }
    if (!d->geom_mask)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: \"geometry\" must list allowed GeoJSON types", where);

    const char *editing = json_string_value(json_object_get(j, "editing"));
    if (editing && strcmp(editing, "operator") == 0) d->editing = CM_EDIT_OPERATOR;
    else if (editing && strcmp(editing, "reference") == 0) d->editing = CM_EDIT_REFERENCE;
    else return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: \"editing\" must be \"operator\" or \"reference\"", where);

    const char *unknown = json_string_value(json_object_get(j, "unknown_properties"));
    d->drop_unknown = unknown && strcmp(unknown, "drop") == 0;
    d->require_if_match = json_is_true(json_object_get(j, "require_if_match"));

    const json_t *props = json_object_get(j, "properties");
    if (!json_is_array(props))
        return cm_error_set(err, CM_ERR_BAD_CONFIG, where, "%s: \"properties\" must be an array", where);
    d->n_props = json_array_size(props);
    d->props = calloc(d->n_props ? d->n_props : 1, sizeof *d->props);
    if (!d->props) return CM_ERR_NOMEM;
    for (size_t i = 0; i < d->n_props; i++) {
        char pw[160];
        snprintf(pw, sizeof pw, "%s.properties[%zu]", where, i);
        if ((s = read_prop(json_array_get(props, i), &d->props[i], pw, err)) != CM_OK) return s;
        for (size_t k = 0; k < i; k++)
            if (strcmp(d->props[k].name, d->props[i].name) == 0)
                return cm_error_set(err, CM_ERR_BAD_CONFIG, pw, "%s: duplicate property \"%s\"", pw, d->props[i].name);
        if (strcmp(d->props[i].name, "id") == 0 || strcmp(d->props[i].name, "fid") == 0 ||
            strcmp(d->props[i].name, "geom") == 0)
            return cm_error_set(err, CM_ERR_BAD_CONFIG, pw, "%s: \"%s\" is reserved", pw, d->props[i].name);
    }

    const json_t *temporal = json_object_get(j, "temporal");
    if (temporal) {
        const char *start = json_string_value(json_object_get(temporal, "start"));
        const char *end = json_string_value(json_object_get(temporal, "end"));
        const char *instant = json_string_value(json_object_get(temporal, "instant"));
        if (instant) start = end = instant;
        d->time_start = start ? cm_schema_prop_index(d, start) : -1;
        d->time_end = end ? cm_schema_prop_index(d, end) : -1;
        if (d->time_start < 0 || d->time_end < 0 ||
            d->props[d->time_start].type != CM_PROP_DATETIME ||
            d->props[d->time_end].type != CM_PROP_DATETIME)
            return cm_error_set(err, CM_ERR_BAD_CONFIG, where,
                                "%s: \"temporal\" must name datetime properties (start/end or instant)", where);
    }
    return CM_OK;
}

static void release_layer(cm_layer_def *d) {
    free(d->id);
    release_text(&d->title);
    release_text(&d->description);
    for (size_t i = 0; i < d->n_props; i++) release_prop(&d->props[i]);
    free(d->props);
}

cm_status cm_schema_load_json(const json_t *doc, cm_layer_defs *out, cm_error *err) {
    memset(out, 0, sizeof *out);
    const json_t *layers = json_object_get(doc, "layers");
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, "layers", "\"layers\" must be a non-empty array");
    out->n = json_array_size(layers);
    out->layers = calloc(out->n, sizeof *out->layers);
    if (!out->layers) return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    cm_status s = CM_OK;
    for (size_t i = 0; i < out->n && s == CM_OK; i++) {
        s = read_layer(json_array_get(layers, i), &out->layers[i], i, err);
        for (size_t k = 0; k < i && s == CM_OK; k++)
            if (strcmp(out->layers[k].id, out->layers[i].id) == 0)
                s = cm_error_set(err, CM_ERR_BAD_CONFIG, "layers", "duplicate layer id \"%s\"", out->layers[i].id);
    }
    if (s == CM_ERR_NOMEM) cm_error_set(err, s, NULL, NULL);
    if (s != CM_OK) cm_schema_release(out);
    return s;
}

cm_status cm_schema_load_file(const char *path, cm_layer_defs *out, cm_error *err) {
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return cm_error_set(err, CM_ERR_BAD_CONFIG, path, "%s:%d:%d: %s", path, jerr.line,
                            jerr.column, jerr.text);
    cm_status s = cm_schema_load_json(doc, out, err);
    json_decref(doc);
    return s;
}

void cm_schema_release(cm_layer_defs *defs) {
    for (size_t i = 0; i < defs->n; i++) release_layer(&defs->layers[i]);
    free(defs->layers);
    memset(defs, 0, sizeof *defs);
}

const cm_layer_def *cm_schema_find_layer(const cm_layer_defs *defs, const char *id) {
    for (size_t i = 0; i < defs->n; i++)
        if (strcmp(defs->layers[i].id, id) == 0) return &defs->layers[i];
    return NULL;
}

int cm_schema_prop_index(const cm_layer_def *def, const char *name) {
    for (size_t i = 0; i < def->n_props; i++)
        if (strcmp(def->props[i].name, name) == 0) return (int)i;
    return -1;
}

bool cm_schema_allows_geom(const cm_layer_def *def, cm_geom_type t) {
    return (def->geom_mask >> t) & 1u;
}
