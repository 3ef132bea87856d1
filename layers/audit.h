/* audit.h — the audit log's records and their hash chain.
 *
 * Each record's hash covers its own fields and the previous record's hash, so editing,
 * removing or reordering any record breaks every hash after it; `crisismap audit verify`
 * recomputes the chain and names the first record that does not match. */
#ifndef CM_AUDIT_H
#define CM_AUDIT_H

#include <stdint.h>

#include "digest.h"

typedef struct cm_audit_record {
    int64_t seq;     /* 1, 2, 3, ... also the global change sequence */
    int64_t time_ms;
    char *actor;     /* token name */
    char *role;
    char *action;    /* created, updated, deleted, expired, lifted */
    char *layer;
    int64_t feature_id;
    char *before;    /* feature GeoJSON before the change, or NULL */
    char *after;     /* feature GeoJSON after the change, or NULL */
    char prev_hash[2 * CM_SHA256_LEN + 1];
    char hash[2 * CM_SHA256_LEN + 1];
} cm_audit_record;

/* The chain starts from this hash (64 zeros). */
extern const char cm_audit_genesis[2 * CM_SHA256_LEN + 1];

/* Computes rec->hash from its fields and rec->prev_hash. */
void cm_audit_seal(cm_audit_record *rec);
/* Frees the strings of a record (not the record). */
void cm_audit_record_release(cm_audit_record *rec);

#endif
