/* tokens.h — API tokens: generation, hashing, roles and the in-memory registry used to
 * authenticate requests.
 *
 * A token is 32 random bytes (256 bits) shown once as "cm_" + 64 hex digits; only its
 * SHA-256 is stored. The registry is an immutable snapshot swapped as a whole when the
 * store's token table changes, so lookups take no lock beyond a reference. */
#ifndef CM_TOKENS_H
#define CM_TOKENS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "status.h"

typedef enum { CM_ROLE_VIEWER, CM_ROLE_OPERATOR, CM_ROLE_ADMIN } cm_role;

typedef struct cm_token {
    char *name;
    cm_role role;
    char **layers; /* scope; NULL when every layer the role may edit */
    size_t n_layers;
    uint8_t hash[CM_SHA256_LEN];
} cm_token;

typedef struct cm_token_set {
    atomic_uint refs;
    cm_token *tokens;
    size_t n;
} cm_token_set;

#define CM_TOKEN_PREFIX "cm_"
#define CM_TOKEN_TEXT_LEN (3 + 64)

const char *cm_role_name(cm_role r);
bool cm_role_from_name(const char *name, cm_role *out);

/* Writes a fresh token's text into text (CM_TOKEN_TEXT_LEN + 1 bytes) and its hash. */
cm_status cm_token_generate(char *text, uint8_t hash[CM_SHA256_LEN], cm_error *err);
/* Hash of a presented token text. */
void cm_token_hash(const char *text, uint8_t hash[CM_SHA256_LEN]);

/* Token sets: created empty with one reference; add steals nothing (copies). */
cm_token_set *cm_token_set_create(void);
cm_status cm_token_set_add(cm_token_set *set, const char *name, cm_role role, const char *layers_csv,
                           const uint8_t hash[CM_SHA256_LEN]);
cm_token_set *cm_token_set_ref(cm_token_set *set);
void cm_token_set_unref(cm_token_set *set); /* accepts NULL */
/* The token whose hash matches, comparing every entry in constant time; borrowed from
 * set, or NULL. */
const cm_token *cm_token_set_find(const cm_token_set *set, const uint8_t hash[CM_SHA256_LEN]);
/* May this token edit layer_id (reference_layer: only admins)? */
bool cm_token_may_edit(const cm_token *t, const char *layer_id, bool reference_layer);

/* The registry the server authenticates against: a swappable token set. */
typedef struct cm_token_registry {
    pthread_mutex_t lock;
    cm_token_set *current;
} cm_token_registry;

void cm_token_registry_init(cm_token_registry *r);
void cm_token_registry_release(cm_token_registry *r);
cm_token_set *cm_token_registry_acquire(cm_token_registry *r); /* new reference */
void cm_token_registry_publish(cm_token_registry *r, cm_token_set *set); /* steals set */

#endif
