/* Unit tests for config loading: the shipped configurations load, and each kind of
 * mistake in a layer definition or server config is refused with the key it concerns. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../layers/schema.h"
#include "../../service/config.h"
#include "check.h"

static cm_status schema_from(const char *text, cm_error *err) {
    json_t *j = json_loads(text, 0, NULL);
    CHECK(j != NULL);
    cm_layer_defs defs;
    cm_error_clear(err);
    cm_status s = cm_schema_load_json(j, &defs, err);
    if (s == CM_OK) cm_schema_release(&defs);
    json_decref(j);
    return s;
}

#define LAYER(extra) \
    "{\"layers\":[{\"id\":\"x\",\"title\":{\"en\":\"X\",\"ar\":\"س\"},\"description\":{\"en\":\"d\",\"ar\":\"د\"}," extra "}]}"

static cm_status config_from(const char *text, cm_config *cfg, cm_error *err) {
    char path[] = "/tmp/cm_test_config_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    cm_error_clear(err);
    cm_status s = cm_config_load(path, cfg, err);
    unlink(path);
    return s;
}

int main(void) {
    cm_error err;
    cm_config cfg;
    CHECK(cm_config_load(CM_SOURCE_DIR "/config/crisismap.json", &cfg, &err) == CM_OK);
    CHECK(cfg.defs.n == 6);
    const cm_layer_def *closures = cm_schema_find_layer(&cfg.defs, "closures");
    CHECK(closures && cm_schema_allows_geom(closures, CM_GEOM_LINESTRING) &&
          cm_schema_allows_geom(closures, CM_GEOM_MULTILINESTRING) && !cm_schema_allows_geom(closures, CM_GEOM_POINT));
    CHECK(closures && closures->time_start >= 0 && closures->editing == CM_EDIT_OPERATOR);
    const cm_layer_def *roads = cm_schema_find_layer(&cfg.defs, "roads");
    CHECK(roads && roads->editing == CM_EDIT_REFERENCE && roads->time_start < 0);
    const cm_layer_def *services = cm_schema_find_layer(&cfg.defs, "services");
    int kind = cm_schema_prop_index(services, "kind");
    CHECK(kind >= 0 && services->props[kind].required && services->props[kind].n_enum > 5);
    CHECK(cfg.default_limit == 100 && cfg.max_limit == 10000 && cfg.n_crs == 3 && cfg.n_demo == 6);
    CHECK(strstr(cfg.store_path, "config/../var/crisismap.gpkg") != NULL);
    for (size_t i = 0; i < cfg.defs.n; i++) {
        CHECK(cfg.defs.layers[i].title.ar && cfg.defs.layers[i].title.ar[0]);
        CHECK(cfg.defs.layers[i].description.ar && cfg.defs.layers[i].description.ar[0]);
    }
    cm_config_release(&cfg);

    CHECK(cm_config_load(CM_SOURCE_DIR "/config/amman.json", &cfg, &err) == CM_OK);
    CHECK(cfg.n_demo == 1 && strcmp(cfg.demo[0].layer, "districts") == 0);
    cm_config_release(&cfg);

    /* Layer definition mistakes. */
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[]"), &err) == CM_OK);
    CHECK(schema_from(LAYER("\"geometry\":[\"Circle\"],\"editing\":\"operator\",\"properties\":[]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"everyone\",\"properties\":[]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[{\"name\":\"A b\",\"type\":\"string\"}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[{\"name\":\"a\",\"type\":\"text\"}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"a\",\"type\":\"string\"}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[{\"name\":\"id\",\"type\":\"string\"}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[{\"name\":\"a\",\"type\":\"integer\",\"enum\":[\"x\"]}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from(LAYER("\"geometry\":[\"Point\"],\"editing\":\"operator\",\"temporal\":{\"start\":\"a\"},\"properties\":[{\"name\":\"a\",\"type\":\"string\"}]"), &err) == CM_ERR_BAD_CONFIG);
    CHECK(strstr(err.message, "temporal") != NULL);
    CHECK(schema_from("{\"layers\":[]}", &err) == CM_ERR_BAD_CONFIG);
    CHECK(schema_from("{\"layers\":[{\"id\":\"x\",\"geometry\":[\"Point\"],\"editing\":\"operator\",\"properties\":[]}]}", &err) == CM_ERR_BAD_CONFIG);

    /* Server configuration mistakes. */
    CHECK(config_from("{", &cfg, &err) == CM_ERR_BAD_CONFIG);
    CHECK(config_from("{\"title\":{\"en\":\"a\"},\"description\":{\"en\":\"a\",\"ar\":\"b\"}}", &cfg, &err) == CM_ERR_BAD_CONFIG);
    CHECK_STR(err.field, "title");
    CHECK(config_from("{\"title\":{\"en\":\"a\",\"ar\":\"b\"},\"description\":{\"en\":\"a\",\"ar\":\"b\"},\"listen\":\"nowhere\"}", &cfg, &err) == CM_ERR_BAD_CONFIG);
    CHECK_STR(err.field, "listen");
    CHECK(config_from("{\"title\":{\"en\":\"a\",\"ar\":\"b\"},\"description\":{\"en\":\"a\",\"ar\":\"b\"},\"limits\":{\"max_limit\":0}}", &cfg, &err) == CM_ERR_BAD_CONFIG);
    CHECK_STR(err.field, "max_limit");
    CHECK(config_from("{\"title\":{\"en\":\"a\",\"ar\":\"b\"},\"description\":{\"en\":\"a\",\"ar\":\"b\"},\"crs\":[\"EPSG:0\"]}", &cfg, &err) == CM_ERR_BAD_CONFIG);
    CHECK_STR(err.field, "crs");

    char host[64];
    int port;
    CHECK(cm_config_parse_listen("127.0.0.1:0", host, sizeof host, &port) && port == 0 && !strcmp(host, "127.0.0.1"));
    CHECK(cm_config_parse_listen("[::1]:8080", host, sizeof host, &port) && port == 8080 && !strcmp(host, "::1"));
    CHECK(!cm_config_parse_listen("127.0.0.1:99999", host, sizeof host, &port));
    CHECK(!cm_config_parse_listen("127.0.0.1", host, sizeof host, &port));
    return check_report("test_config");
}
