/* audit.c — hashing audit records into a chain. Fields are length-prefixed so no two
 * different records serialize to the same bytes. */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

const char cm_audit_genesis[2 * CM_SHA256_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void field(cm_buf *b, const char *s) {
    if (!s) {
        cm_buf_append_str(b, "-1:");
        return;
    }
    cm_buf_append_int(b, (int64_t)strlen(s));
    cm_buf_append_char(b, ':');
    cm_buf_append_str(b, s);
}

void cm_audit_seal(cm_audit_record *rec) {
    cm_buf b;
    cm_buf_init(&b, (size_t)1 << 30);
    /* The bytes hashed are fixed by every stored chain: decimal integers, as "%" PRId64. */
    cm_buf_append_str(&b, "crisismap-audit-v1|");
    cm_buf_append_int(&b, rec->seq);
    cm_buf_append_char(&b, '|');
    cm_buf_append_int(&b, rec->time_ms);
    cm_buf_append_char(&b, '|');
    cm_buf_append_int(&b, rec->feature_id);
    cm_buf_append_char(&b, '|');
    field(&b, rec->actor);
    field(&b, rec->role);
    field(&b, rec->action);
    field(&b, rec->layer);
    field(&b, rec->before);
    field(&b, rec->after);
    field(&b, rec->prev_hash);
    uint8_t h[CM_SHA256_LEN];
    cm_sha256(b.data ? b.data : "", b.len, h);
    cm_hex(h, sizeof h, rec->hash);
    cm_buf_release(&b);
}

void cm_audit_record_release(cm_audit_record *rec) {
    free(rec->actor);
    free(rec->role);
    free(rec->action);
    free(rec->layer);
    free(rec->before);
    free(rec->after);
    rec->actor = rec->role = rec->action = rec->layer = rec->before = rec->after = NULL;
}
