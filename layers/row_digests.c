/* row_digests.c — see row_digests.h. */
#include "row_digests.h"

#include <stdlib.h>
#include <string.h>

int cm_row_digests_diff(const cm_row_digests *before, const cm_row_digests *after, int (*each)(int64_t id, void *cls),
                        void *cls) {
    size_t i = 0, j = 0;
    while (i < before->n || j < after->n) {
        int rc = 0;
        if (j == after->n || (i < before->n && before->rows[i].id < after->rows[j].id)) {
            rc = each(before->rows[i++].id, cls); /* gone */
        } else if (i == before->n || after->rows[j].id < before->rows[i].id) {
            rc = each(after->rows[j++].id, cls); /* new */
        } else {
            if (before->rows[i].digest != after->rows[j].digest) rc = each(after->rows[j].id, cls);
            i++;
            j++;
        }
        if (rc) return rc;
    }
    return 0;
}

bool cm_row_digests_copy(const cm_row_digests *from, cm_row_digests *out) {
    size_t bytes = from->n * sizeof *from->rows;
    *out = (cm_row_digests){bytes ? malloc(bytes) : NULL, bytes ? from->n : 0};
    if (bytes && !out->rows) {
        out->n = 0;
        return false;
    }
    if (bytes) memcpy(out->rows, from->rows, bytes);
    return true;
}

void cm_row_digests_release(cm_row_digests *d) {
    free(d->rows);
    d->rows = NULL;
    d->n = 0;
}
