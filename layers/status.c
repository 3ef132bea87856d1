/* status.c — lookups over the status list and filling of cm_error. */
#include "status.h"

#include <stdio.h>
#include <string.h>

static const struct {
    int http;
    const char *code;
    const char *message;
} status_table[] = {
#define CM_STATUS_ROW(name, http, code, msg) {http, code, msg},
    CM_STATUS_LIST(CM_STATUS_ROW)
#undef CM_STATUS_ROW
};

int cm_status_http(cm_status s) { return s < CM_STATUS_COUNT ? status_table[s].http : 500; }

const char *cm_status_code(cm_status s) {
    return s < CM_STATUS_COUNT ? status_table[s].code : "internal_error";
}

const char *cm_status_message(cm_status s) {
    return s < CM_STATUS_COUNT ? status_table[s].message : "internal error";
}

cm_status cm_error_set(cm_error *err, cm_status s, const char *field, const char *fmt, ...) {
    if (!err) return s;
    err->status = s;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->message, sizeof err->message, "%s", cm_status_message(s));
    }
    return s;
}

void cm_error_clear(cm_error *err) {
    if (!err) return;
    err->status = CM_OK;
    err->message[0] = '\0';
    err->field[0] = '\0';
}
