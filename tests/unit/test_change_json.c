/* Unit tests for layers/change_json.c and the markup-safe splice of layers/buf.c. */
#include <stdlib.h>
#include <string.h>

#include "../../layers/change_json.h"
#include "check.h"

static int64_t version_of(const char *json) { return cm_change_json_version(json, strlen(json)); }

int main(void) {
    /* The version key, wherever the properties put it; never a "version" inside a string. */
    CHECK(version_of("{\"type\":\"Feature\",\"id\":3,\"properties\":{\"name\":\"a\",\"version\":12}}") == 12);
    CHECK(version_of("{\"properties\":{\"version\":7,\"name\":\"b\"}}") == 7);
    CHECK(version_of("{\"properties\":{\"version\":7,\"name\":\"say \\\"version\\\":99\"}}") == 7);
    CHECK(version_of("{\"properties\":{\"name\":\"\\\"version\\\":99\"}}") == -1);
    CHECK(version_of("{\"properties\":{\"version\":null}}") == -1);
    CHECK(version_of("") == -1);
    CHECK(cm_change_json_version("\"version\":5", 10) == -1); /* the digits are past the length */

    cm_buf b;
    cm_buf_init(&b, 1 << 20);
    const char *f = "{\"properties\":{\"name\":\"<b>&</b>\",\"version\":2}}";
    CHECK(cm_change_json_append(&b, 41, "services", "updated", 9, 2, f, strlen(f)));
    char *out = cm_buf_steal(&b, NULL);
    CHECK_STR(
        out,
        "{\"seq\":41,\"collection\":\"services\",\"action\":\"updated\",\"id\":9,\"version\":2,\"tombstone\":false,"
        "\"feature\":{\"properties\":{\"name\":\"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\",\"version\":2}}}");
    free(out);
    cm_buf_init(&b, 1 << 20);
    CHECK(cm_change_json_append(&b, 42, "services", "deleted", 9, 0, NULL, 0));
    CHECK(cm_change_json_append(&b, 43, "closures", "expired", 4, 3, "{}", 2));
    out = cm_buf_steal(&b, NULL);
    CHECK(strstr(out, "\"tombstone\":true,\"feature\":null}") != NULL);
    CHECK(strstr(out, "\"seq\":43,\"collection\":\"closures\",\"action\":\"expired\",\"id\":4,\"version\":3,"
                      "\"tombstone\":true,\"feature\":{}}") != NULL);
    free(out);
    return check_report("test_change_json");
}
