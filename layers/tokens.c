/* tokens.c — token generation, roles, constant-time lookup and the swappable registry. */
#include "tokens.h"

#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {"viewer", "operator", "admin"};

const char *cm_role_name(cm_role r) { return role_names[r]; }

bool cm_role_from_name(const char *name, cm_role *out) {
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, role_names[i]) == 0) {
            *out = (cm_role)i;
            return true;
        }
    return false;
}

cm_status cm_token_generate(char *text, uint8_t hash[CM_SHA256_LEN], cm_error *err) {
    uint8_t raw[32];
    if (!cm_random_bytes(raw, sizeof raw))
        return cm_error_set(err, CM_ERR_INTERNAL, NULL, "the system random generator failed");
    memcpy(text, CM_TOKEN_PREFIX, 3);
    cm_hex(raw, sizeof raw, text + 3);
    cm_token_hash(text, hash);
    memset(raw, 0, sizeof raw);
    return CM_OK;
}

void cm_token_hash(const char *text, uint8_t hash[CM_SHA256_LEN]) { cm_sha256(text, strlen(text), hash); }

cm_token_set *cm_token_set_create(void) {
    cm_token_set *s = calloc(1, sizeof *s);
    if (s) atomic_init(&s->refs, 1);
    return s;
}

cm_status cm_token_set_add(cm_token_set *set, const char *name, cm_role role, const char *layers_csv,
                           const uint8_t hash[CM_SHA256_LEN]) {
    cm_token *grown = realloc(set->tokens, (set->n + 1) * sizeof *grown);
    if (!grown) return CM_ERR_NOMEM;
    set->tokens = grown;
    cm_token *t = &set->tokens[set->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->role = role;
    memcpy(t->hash, hash, CM_SHA256_LEN);
    if (layers_csv && *layers_csv) {
        for (const char *p = layers_csv; p; p = strchr(p, ',')) {
            if (*p == ',') p++;
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            char **l = realloc(t->layers, (t->n_layers + 1) * sizeof *l);
            if (!l) break;
            t->layers = l;
            t->layers[t->n_layers++] = strndup(p, len);
        }
    }
    set->n++;
    return t->name ? CM_OK : CM_ERR_NOMEM;
}

cm_token_set *cm_token_set_ref(cm_token_set *set) {
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return set;
}

void cm_token_set_unref(cm_token_set *set) {
    if (!set || atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->tokens[i].name);
        for (size_t k = 0; k < set->tokens[i].n_layers; k++) free(set->tokens[i].layers[k]);
        free(set->tokens[i].layers);
    }
    free(set->tokens);
    free(set);
}

const cm_token *cm_token_set_find(const cm_token_set *set, const uint8_t hash[CM_SHA256_LEN]) {
    const cm_token *found = NULL;
    /* Every entry is compared, so the time taken does not tell how close a guess came. */
    for (size_t i = 0; i < set->n; i++)
        if (cm_equal_ct(set->tokens[i].hash, hash, CM_SHA256_LEN)) found = &set->tokens[i];
    return found;
}

bool cm_token_may_edit(const cm_token *t, const char *layer_id, bool reference_layer) {
    if (t->role == CM_ROLE_ADMIN) return true;
    if (t->role != CM_ROLE_OPERATOR || reference_layer) return false;
    if (!t->layers) return true;
    for (size_t i = 0; i < t->n_layers; i++)
        if (strcmp(t->layers[i], layer_id) == 0) return true;
    return false;
}

void cm_token_registry_init(cm_token_registry *r) {
    pthread_mutex_init(&r->lock, NULL);
    r->current = cm_token_set_create();
}

void cm_token_registry_release(cm_token_registry *r) {
    cm_token_set_unref(r->current);
    r->current = NULL;
    pthread_mutex_destroy(&r->lock);
}

cm_token_set *cm_token_registry_acquire(cm_token_registry *r) {
    pthread_mutex_lock(&r->lock);
    cm_token_set *s = r->current ? cm_token_set_ref(r->current) : NULL;
    pthread_mutex_unlock(&r->lock);
    return s;
}

void cm_token_registry_publish(cm_token_registry *r, cm_token_set *set) {
    pthread_mutex_lock(&r->lock);
    cm_token_set *old = r->current;
    r->current = set;
    pthread_mutex_unlock(&r->lock);
    cm_token_set_unref(old);
}
