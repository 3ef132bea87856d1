/* status.h — the one list of outcomes: code, HTTP status, stable name, default message.
 *
 * Every fallible function returns a cm_status and writes detail into a caller-provided
 * cm_error. The X-macro keeps the enum, HTTP status and code string in one place so they
 * cannot drift apart. */
#ifndef CM_STATUS_H
#define CM_STATUS_H

#include <stdarg.h>

#define CM_STATUS_LIST(X)                                                                  \
    X(CM_OK, 200, "ok", "success")                                                         \
    X(CM_ERR_BAD_REQUEST, 400, "bad_request", "the request is malformed")                  \
    X(CM_ERR_BAD_PARAMETER, 400, "bad_parameter", "a query parameter is invalid")          \
    X(CM_ERR_UNKNOWN_PARAMETER, 400, "unknown_parameter", "unknown query parameter")       \
    X(CM_ERR_BAD_JSON, 400, "bad_json", "the body is not valid JSON")                      \
    X(CM_ERR_BAD_GEOMETRY, 400, "bad_geometry", "the geometry is malformed")               \
    X(CM_ERR_BAD_PROPERTY, 400, "bad_property", "a property is invalid")                   \
    X(CM_ERR_UNAUTHORIZED, 401, "unauthorized", "a valid bearer token is required")       \
    X(CM_ERR_FORBIDDEN, 403, "forbidden", "this token may not do that")                    \
    X(CM_ERR_NOT_FOUND, 404, "not_found", "no such resource")                              \
    X(CM_ERR_METHOD, 405, "method_not_allowed", "method not allowed on this resource")     \
    X(CM_ERR_NOT_ACCEPTABLE, 406, "not_acceptable", "no representation matches Accept")    \
    X(CM_ERR_CONFLICT, 409, "conflict", "the store changed under the server")               \
    X(CM_ERR_PRECONDITION_FAILED, 412, "precondition_failed", "the feature has changed")   \
    X(CM_ERR_PAYLOAD_TOO_LARGE, 413, "payload_too_large", "the body is too large")         \
    X(CM_ERR_URI_TOO_LONG, 414, "uri_too_long", "the request URL is too long")             \
    X(CM_ERR_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type", "unsupported body type") \
    X(CM_ERR_HEADERS_TOO_LARGE, 431, "headers_too_large", "the request headers are too large") \
    X(CM_ERR_INVALID_GEOMETRY, 422, "invalid_geometry", "the geometry is not valid")       \
    X(CM_ERR_PRECONDITION_REQUIRED, 428, "precondition_required", "If-Match is required")  \
    X(CM_ERR_TOO_MANY_REQUESTS, 429, "too_many_requests", "too many failed attempts")     \
    X(CM_ERR_BAD_CONFIG, 500, "bad_config", "the configuration is invalid")                \
    X(CM_ERR_IO, 500, "io_error", "storage error")                                         \
    X(CM_ERR_INTERNAL, 500, "internal_error", "internal error")                            \
    X(CM_ERR_NOMEM, 503, "out_of_memory", "out of memory")                                 \
    X(CM_ERR_UNAVAILABLE, 503, "unavailable", "the service cannot take this now; retry")

typedef enum {
#define CM_STATUS_ENUM(name, http, code, msg) name,
    CM_STATUS_LIST(CM_STATUS_ENUM)
#undef CM_STATUS_ENUM
        CM_STATUS_COUNT
} cm_status;

/* Detail for a failure: a message for people and the path of the offending field or
 * parameter (empty when none). Caller-owned; fixed size so filling it never fails. */
typedef struct cm_error {
    cm_status status;
    char message[320];
    char field[128];
} cm_error;

/* HTTP status, stable code string and default message of a status. */
int cm_status_http(cm_status s);
const char *cm_status_code(cm_status s);
const char *cm_status_message(cm_status s);

/* Fill err (may be NULL) and return s, so callers can `return cm_error_set(...)`.
 * field may be NULL; fmt may be NULL for the default message. */
cm_status cm_error_set(cm_error *err, cm_status s, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset err to CM_OK with empty strings. */
void cm_error_clear(cm_error *err);

#endif
