/* auth.c — bearer tokens and the failure throttle. */
#include "../layers/clock.h"
#include "auth.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "response.h"

void cm_auth_throttle_init(cm_auth_throttle *t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
}

void cm_auth_throttle_release(cm_auth_throttle *t) { pthread_mutex_destroy(&t->lock); }

static unsigned slot_of(const char *ip) {
    unsigned h = 2166136261u;
    for (const char *p = ip; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h % CM_THROTTLE_SLOTS;
}

/* Seconds the address must still wait, 0 when it may try. */
static int blocked_for(cm_auth_throttle *t, const char *ip) {
    int64_t now = cm_clock_monotonic_ms();
    pthread_mutex_lock(&t->lock);
    unsigned i = slot_of(ip);
    int wait = 0;
    if (strcmp(t->slot[i].ip, ip) == 0 && t->slot[i].blocked_until_ms > now)
        wait = (int)((t->slot[i].blocked_until_ms - now + 999) / 1000);
    pthread_mutex_unlock(&t->lock);
    return wait;
}

static void record_failure(cm_auth_throttle *t, const char *ip) {
    int64_t now = cm_clock_monotonic_ms();
    pthread_mutex_lock(&t->lock);
    unsigned i = slot_of(ip);
    /* A colliding address takes the slot over: the throttle errs towards letting through. */
    if (strcmp(t->slot[i].ip, ip) != 0 || now - t->slot[i].window_start_ms > CM_THROTTLE_WINDOW_MS) {
        snprintf(t->slot[i].ip, sizeof t->slot[i].ip, "%s", ip);
        t->slot[i].window_start_ms = now;
        t->slot[i].failures = 0;
        t->slot[i].blocked_until_ms = 0;
    }
    if (++t->slot[i].failures >= CM_THROTTLE_MAX_FAILURES) {
        t->slot[i].blocked_until_ms = now + CM_THROTTLE_WINDOW_MS;
        fprintf(stderr, "crisismap: %s throttled after %d failed authentications\n", ip, t->slot[i].failures);
    }
    pthread_mutex_unlock(&t->lock);
}

cm_status cm_auth_authenticate(cm_request *req, cm_response *resp, cm_token_set **set, const cm_token **token) {
    *set = NULL;
    *token = NULL;
    cm_auth_throttle *t = &req->srv->throttle;
    int wait = blocked_for(t, req->client_ip);
    if (wait > 0) {
        cm_response_error(resp, CM_ERR_TOO_MANY_REQUESTS, "Authorization",
                          "too many failed authentications from this address; retry in %d s", wait);
        resp->retry_after_s = wait;
        return CM_ERR_TOO_MANY_REQUESTS;
    }
    const char *h = cm_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        cm_response_error(resp, CM_ERR_UNAUTHORIZED, "Authorization",
                          "this needs an operator token: send \"Authorization: Bearer TOKEN\"");
        resp->www_authenticate = "Bearer realm=\"crisismap\"";
        return CM_ERR_UNAUTHORIZED;
    }
    const char *text = h + 7;
    while (*text == ' ') text++;
    uint8_t hash[CM_SHA256_LEN];
    cm_token_hash(text, hash);
    cm_token_set *s = cm_token_registry_acquire(req->srv->tokens);
    const cm_token *tok = s ? cm_token_set_find(s, hash) : NULL;
    if (!tok) {
        cm_token_set_unref(s);
        record_failure(t, req->client_ip);
        cm_response_error(resp, CM_ERR_UNAUTHORIZED, "Authorization", "the token is not valid (revoked or mistyped)");
        resp->www_authenticate = "Bearer realm=\"crisismap\", error=\"invalid_token\"";
        return CM_ERR_UNAUTHORIZED;
    }
    *set = s;
    *token = tok;
    return CM_OK;
}
