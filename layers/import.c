/* import.c — GDAL source -> validation -> persist, with progress and a reject report.
 *
 * DESIGN: each source feature becomes our own geometry and typed values, then passes the
 * same validation as an API write, so imported data obeys the same rules as edited data.
 * Source fields map to declared properties by name (exact, then case-insensitive); other
 * fields are dropped. CSV sources find geometry in WKT or lon/lat columns. */
#include "import.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "datetime.h"
#include "ogr_geom.h"
#include "utf8.h"
#include "validate.h"

static int find_field(OGRFeatureDefnH fd, const char *name) {
    int i = OGR_FD_GetFieldIndex(fd, name);
    if (i >= 0) return i;
    for (int k = 0; k < OGR_FD_GetFieldCount(fd); k++)
        if (strcasecmp(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, k)), name) == 0) return k;
    return -1;
}

/* OGR writes datetimes into text formats (CSV, KML) as "2026/11/28 08:00:00+00"; read
 * that form too by rewriting it as RFC 3339. */
static bool parse_ogr_datetime(const char *text, int64_t *out) {
    char buf[40];
    size_t n = strlen(text);
    if (n < 10 || n >= sizeof buf - 3 || text[4] != '/' || text[7] != '/') return false;
    memcpy(buf, text, n + 1);
    buf[4] = buf[7] = '-';
    if (n > 10 && buf[10] == ' ') buf[10] = 'T';
    if (n > 19 && (buf[n - 3] == '+' || buf[n - 3] == '-') && buf[n - 2] >= '0' && buf[n - 1] >= '0') {
        memcpy(buf + n, ":00", 4); /* "+00" -> "+00:00" */
    } else if (n == 19) {
        memcpy(buf + n, "Z", 2); /* no zone: OGR's convention for UTC-less values is taken as UTC */
    }
    return cm_datetime_parse(buf, out);
}

/* Converts one source field into a typed value; false with a reason when it does not fit. */
static bool convert_field(OGRFeatureH f, int fi, cm_value *v, char *why, size_t why_len) {
    OGRFieldType ft = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, fi));
    const char *text = OGR_F_GetFieldAsString(f, fi);
    char *end = NULL;
    /* Formats without nulls (CSV, Shapefile) write an empty cell for "no value". */
    if (text[0] == '\0') return true;
    switch (v->type) {
    case CM_PROP_STRING:
        if (!cm_utf8_valid(text, strlen(text))) {
            snprintf(why, why_len, "not valid UTF-8");
            return false;
        }
        v->u.s = strdup(text);
        return (v->set = v->u.s != NULL);
    case CM_PROP_INTEGER:
        if (ft == OFTInteger || ft == OFTInteger64) v->u.i = OGR_F_GetFieldAsInteger64(f, fi);
        else {
            long long x = strtoll(text, &end, 10);
            if (end == text || *end) {
                snprintf(why, why_len, "\"%.40s\" is not an integer", text);
                return false;
            }
            v->u.i = x;
        }
        return (v->set = true);
    case CM_PROP_NUMBER:
        v->u.d = strtod(text, &end);
        if (end == text || *end || !isfinite(v->u.d)) {
            snprintf(why, why_len, "\"%.40s\" is not a finite number", text);
            return false;
        }
        return (v->set = true);
    case CM_PROP_BOOLEAN:
        if (ft == OFTInteger || ft == OFTInteger64) v->u.b = OGR_F_GetFieldAsInteger(f, fi) != 0;
        else if (!strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "yes")) v->u.b = true;
        else if (!strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "no")) v->u.b = false;
        else {
            snprintf(why, why_len, "\"%.40s\" is not a boolean", text);
            return false;
        }
        return (v->set = true);
    case CM_PROP_DATETIME: {
        int y, mo, d, h, mi, tz;
        float sec;
        if ((ft == OFTDateTime || ft == OFTDate) &&
            OGR_F_GetFieldAsDateTimeEx(f, fi, &y, &mo, &d, &h, &mi, &sec, &tz)) {
            int64_t ms = cm_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000LL +
                         ((int64_t)h * 3600 + mi * 60) * 1000 + (int64_t)(sec * 1000.0f + 0.5f);
            if (tz > 100) ms -= (int64_t)(tz - 100) * 15 * 60000;
            else if (tz > 1 && tz < 100) ms += (int64_t)(100 - tz) * 15 * 60000;
            v->u.t_ms = ms;
            return (v->set = true);
        }
        if (!cm_datetime_parse(text, &v->u.t_ms) && !parse_ogr_datetime(text, &v->u.t_ms)) {
            snprintf(why, why_len, "\"%.40s\" is not an RFC 3339 date-time", text);
            return false;
        }
        return (v->set = true);
    }
    }
    return false;
}

/* A single-part multi geometry becomes its part, a single one a one-part multi, when
 * that is what the layer takes (Shapefiles, say, do not tell them apart). */
static void fit_geom_type(const cm_layer_def *def, OGRGeometryH *g) {
    if (!*g) return;
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(*g));
    if (t == wkbMultiLineString && !cm_schema_allows_geom(def, CM_GEOM_MULTILINESTRING) &&
        OGR_G_GetGeometryCount(*g) == 1)
        *g = OGR_G_ForceTo(*g, wkbLineString, NULL);
    else if (t == wkbMultiPolygon && !cm_schema_allows_geom(def, CM_GEOM_MULTIPOLYGON) &&
             OGR_G_GetGeometryCount(*g) == 1)
        *g = OGR_G_ForceTo(*g, wkbPolygon, NULL);
    else if (t == wkbMultiPoint && !cm_schema_allows_geom(def, CM_GEOM_MULTIPOINT) &&
             OGR_G_GetGeometryCount(*g) == 1)
        *g = OGR_G_ForceTo(*g, wkbPoint, NULL);
    else if (t == wkbPolygon && !cm_schema_allows_geom(def, CM_GEOM_POLYGON))
        *g = OGR_G_ForceToMultiPolygon(*g);
    else if (t == wkbLineString && !cm_schema_allows_geom(def, CM_GEOM_LINESTRING))
        *g = OGR_G_ForceToMultiLineString(*g);
}

static void draw_progress(const char *layer, size_t done, int64_t total) {
    if (total > 0) {
        int pct = (int)(done * 100 / (size_t)total);
        int bar = pct * 30 / 100;
        fprintf(stderr, "\rimporting %s [%.*s%*s] %3d%% %zu/%lld", layer, bar,
                "##############################", 30 - bar, "", pct, done, (long long)total);
    } else {
        fprintf(stderr, "\rimporting %s: %zu features", layer, done);
    }
}

/* Checks and converts one source feature; on success fills geom and values. */
static cm_status convert_feature(const cm_layer_def *def, OGRFeatureH f, const int *idx,
                                 OGRCoordinateTransformationH ct, cm_geom *geom,
                                 cm_value **values, cm_error *err) {
    OGRGeometryH g = OGR_F_StealGeometry(f);
    cm_status s = CM_OK;
    if (!g || OGR_G_IsEmpty(g)) {
        OGR_G_DestroyGeometry(g);
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "feature has no geometry");
    }
    if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE) {
        OGR_G_DestroyGeometry(g);
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "cannot reproject to WGS84: %s", CPLGetLastErrorMsg());
    }
    fit_geom_type(def, &g);
    if (OGR_G_GetDimension(g) == 2 && !OGR_G_IsValid(g)) {
        OGR_G_DestroyGeometry(g);
        return cm_error_set(err, CM_ERR_BAD_GEOMETRY, "geometry", "invalid polygon (self-intersection or bad ring)");
    }
    s = cm_ogr_to_geom(g, CM_MAX_VERTICES, geom, err);
    OGR_G_DestroyGeometry(g);
    if (s != CM_OK) return s;
    if ((s = cm_validate_geom(def, geom, err)) != CM_OK) {
        cm_geom_release(geom);
        return s;
    }
    *values = cm_values_create(def);
    if (!*values) {
        cm_geom_release(geom);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < def->n_props && s == CM_OK; i++) {
        if (idx[i] < 0 || !OGR_F_IsFieldSetAndNotNull(f, idx[i])) continue;
        char why[160];
        if (!convert_field(f, idx[i], &(*values)[i], why, sizeof why)) {
            char field[96];
            snprintf(field, sizeof field, "properties.%s", def->props[i].name);
            s = cm_error_set(err, CM_ERR_BAD_PROPERTY, field, "%s: %s", def->props[i].name, why);
        }
    }
    if (s == CM_OK) s = cm_validate_values(def, *values, err);
    if (s != CM_OK) {
        cm_geom_release(geom);
        cm_values_free(*values, def->n_props);
        *values = NULL;
    }
    return s;
}

static OGRCoordinateTransformationH make_transform(OGRLayerH src, const char *s_srs, cm_error *err,
                                                   cm_status *st) {
    *st = CM_OK;
    OGRSpatialReferenceH from = NULL;
    if (s_srs) {
        from = OSRNewSpatialReference(NULL);
        if (OSRSetFromUserInput(from, s_srs) != OGRERR_NONE) {
            OSRDestroySpatialReference(from);
            *st = cm_error_set(err, CM_ERR_BAD_PARAMETER, "--s_srs", "unknown CRS \"%s\" (try EPSG:32636)", s_srs);
            return NULL;
        }
    } else if (OGR_L_GetSpatialRef(src)) {
        from = OSRClone(OGR_L_GetSpatialRef(src));
    }
    if (!from) return NULL; /* no CRS declared: taken as WGS84 lon/lat */
    OSRSetAxisMappingStrategy(from, OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReferenceH to = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(to, 4326);
    OSRSetAxisMappingStrategy(to, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = NULL;
    if (!OSRIsSame(from, to)) {
        ct = OCTNewCoordinateTransformation(from, to);
        if (!ct) *st = cm_error_set(err, CM_ERR_BAD_PARAMETER, "--s_srs", "no transformation from the source CRS to WGS84");
    }
    OSRDestroySpatialReference(from);
    OSRDestroySpatialReference(to);
    return ct;
}

cm_status cm_import_file(cm_persist *p, const cm_layer_def *def, const cm_import_opts *opts,
                         cm_import_result *res, cm_error *err) {
    memset(res, 0, sizeof *res);
    GDALAllRegister();
    const char *open_opts[] = {"X_POSSIBLE_NAMES=lon,longitude,x,lng", "Y_POSSIBLE_NAMES=lat,latitude,y",
                               "GEOM_POSSIBLE_NAMES=wkt,geom,geometry,the_geom", "KEEP_GEOM_COLUMNS=NO", NULL};
    CPLErrorReset();
    /* The geometry-column hints are CSV's; other drivers warn about options they lack. */
    GDALDriverH drv = GDALIdentifyDriverEx(opts->src_path, GDAL_OF_VECTOR, NULL, NULL);
    bool is_csv = drv && strcmp(GDALGetDriverShortName(drv), "CSV") == 0;
    GDALDatasetH src =
        GDALOpenEx(opts->src_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, is_csv ? open_opts : NULL, NULL);
    if (!src)
        return cm_error_set(err, CM_ERR_IO, opts->src_path, "cannot read %s as a vector file: %s", opts->src_path,
                            CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "format not recognised");
    OGRLayerH lyr = opts->src_layer ? GDALDatasetGetLayerByName(src, opts->src_layer) : GDALDatasetGetLayer(src, 0);
    if (!lyr) {
        GDALClose(src);
        return cm_error_set(err, CM_ERR_IO, opts->src_path, "%s has no layer %s", opts->src_path,
                            opts->src_layer ? opts->src_layer : "");
    }
    cm_status s;
    OGRCoordinateTransformationH ct = make_transform(lyr, opts->s_srs, err, &s);
    if (s != CM_OK) {
        GDALClose(src);
        return s;
    }
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(lyr);
    int *idx = malloc((def->n_props ? def->n_props : 1) * sizeof *idx);
    if (!idx) {
        OCTDestroyCoordinateTransformation(ct);
        GDALClose(src);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < def->n_props; i++) idx[i] = find_field(fd, def->props[i].name);
    int64_t total = OGR_L_GetFeatureCount(lyr, TRUE);

    s = cm_persist_begin(p, err);
    if (s == CM_OK && opts->replace) s = cm_persist_clear(p, def, err);
    OGRFeatureH f;
    while (s == CM_OK && (f = OGR_L_GetNextFeature(lyr)) != NULL) {
        res->read++;
        cm_geom geom;
        cm_value *values = NULL;
        cm_error ferr;
        cm_error_clear(&ferr);
        cm_status fs = convert_feature(def, f, idx, ct, &geom, &values, &ferr);
        if (fs == CM_OK) {
            fs = cm_persist_insert(p, def, &geom, values, NULL, &ferr);
            cm_geom_release(&geom);
            cm_values_free(values, def->n_props);
            if (fs != CM_OK) s = cm_error_set(err, fs, ferr.field, "%s", ferr.message);
            else res->imported++;
        } else {
            res->rejected++;
            if (opts->report)
                fprintf(opts->report, "rejected feature %lld (record %zu): %s%s%s\n", (long long)OGR_F_GetFID(f),
                        res->read, ferr.field[0] ? ferr.field : "", ferr.field[0] ? ": " : "", ferr.message);
            if (!opts->skip_invalid)
                s = cm_error_set(err, fs, ferr.field, "feature %lld (record %zu) rejected: %s; nothing was imported "
                                 "(fix the data, or pass --skip-invalid to import the rest)",
                                 (long long)OGR_F_GetFID(f), res->read, ferr.message);
        }
        OGR_F_Destroy(f);
        if (opts->progress && (res->read % 512 == 0)) draw_progress(def->id, res->read, total);
    }
    if (opts->progress) {
        draw_progress(def->id, res->read, total);
        fputc('\n', stderr);
    }
    if (s == CM_OK) s = cm_persist_commit(p, err);
    else cm_persist_rollback(p);
    if (s != CM_OK) res->imported = 0;
    free(idx);
    OCTDestroyCoordinateTransformation(ct);
    GDALClose(src);
    return s;
}
