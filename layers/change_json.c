/* change_json.c — one committed change as JSON. */
#include "change_json.h"

#include <string.h>

bool cm_change_json_append(cm_buf *b, int64_t seq, const char *collection, const char *action, int64_t id,
                           int64_t version, const char *feature_json, size_t feature_len) {
    bool tombstone = strcmp(action, "deleted") == 0 || strcmp(action, "expired") == 0;
    /* Appended piece by piece: printf is slow in this process (buf.h). The collection and
     * action are identifiers ([a-z0-9_]), written as they are. */
    cm_buf_append_str(b, "{\"seq\":");
    cm_buf_append_int(b, seq);
    cm_buf_append_str(b, ",\"collection\":\"");
    cm_buf_append_str(b, collection);
    cm_buf_append_str(b, "\",\"action\":\"");
    cm_buf_append_str(b, action);
    cm_buf_append_str(b, "\",\"id\":");
    cm_buf_append_int(b, id);
    cm_buf_append_str(b, ",\"version\":");
    cm_buf_append_int(b, version);
    cm_buf_append_str(b, tombstone ? ",\"tombstone\":true,\"feature\":" : ",\"tombstone\":false,\"feature\":");
    if (feature_json) cm_buf_append_json_text_markup_safe(b, feature_json, feature_len);
    else cm_buf_append_str(b, "null");
    return cm_buf_append_char(b, '}');
}

int64_t cm_change_json_version(const char *feature_json, size_t feature_len) {
    static const char key[] = "\"version\":";
    const size_t k = sizeof key - 1;
    /* A quote inside a JSON string is escaped, so `"version":` with both quotes bare is a key. */
    for (size_t i = feature_len >= k ? feature_len - k + 1 : 0; i-- > 0;) {
        if (memcmp(feature_json + i, key, k) != 0) continue;
        int64_t v = 0;
        size_t j = i + k, digits = 0;
        for (; j < feature_len && feature_json[j] >= '0' && feature_json[j] <= '9' && digits < 18; j++, digits++)
            v = v * 10 + (feature_json[j] - '0');
        return digits ? v : -1;
    }
    return -1;
}
