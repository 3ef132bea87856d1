/* auth.h — bearer-token authentication and the throttle on repeated failures.
 *
 * A request presents "Authorization: Bearer TOKEN"; the token's SHA-256 is looked up in the
 * registry (constant-time comparisons). An address that fails too often is refused with
 * 429 for a while. Tokens are never logged. */
#ifndef CM_AUTH_H
#define CM_AUTH_H

#include <pthread.h>
#include <stdint.h>

#include "../layers/tokens.h"

#define CM_THROTTLE_SLOTS 256
#define CM_THROTTLE_MAX_FAILURES 10
#define CM_THROTTLE_WINDOW_MS 60000

typedef struct cm_auth_throttle {
    pthread_mutex_t lock;
    struct {
        char ip[48];
        int64_t window_start_ms;
        int failures;
        int64_t blocked_until_ms;
    } slot[CM_THROTTLE_SLOTS];
} cm_auth_throttle;

void cm_auth_throttle_init(cm_auth_throttle *t);
void cm_auth_throttle_release(cm_auth_throttle *t);

struct cm_request;
struct cm_response;

/* Authenticates req. On success returns CM_OK with *set (a new reference, release with
 * cm_token_set_unref) and *token (borrowed from *set). On failure fills resp with 401
 * (and WWW-Authenticate) or 429 (and Retry-After) and returns the status. */
cm_status cm_auth_authenticate(struct cm_request *req, struct cm_response *resp, cm_token_set **set,
                               const cm_token **token);

#endif
