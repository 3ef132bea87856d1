/* store_lock.c — the exclusive lock of a store, on `<store>.lock`. */
#include "store_lock.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct cm_store_lock {
    int fd;
};

cm_status cm_store_lock_take(const char *store_path, const char *command, cm_store_lock **out, cm_error *err) {
    *out = NULL;
    /* Beside the file itself, so that two paths to one store (a symlink, a relative path)
     * meet at one lock; a store not made yet goes by the path given. */
    char real[PATH_MAX], path[PATH_MAX + 8];
    const char *store = realpath(store_path, real) ? real : store_path;
    if (snprintf(path, sizeof path, "%s.lock", store) >= (int)sizeof path)
        return cm_error_set(err, CM_ERR_IO, "store", "the store's path is too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return cm_error_set(err, CM_ERR_IO, "store",
                            "cannot make the lock file %s: %s (the store's directory must be writable)", path,
                            strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[128] = "";
        ssize_t n = e == EWOULDBLOCK ? pread(fd, holder, sizeof holder - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK) return cm_error_set(err, CM_ERR_IO, "store", "cannot lock %s: %s", path, strerror(e));
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        return cm_error_set(err, CM_ERR_UNAVAILABLE, "store",
                            "the store %s is in use by another crisismap (%s; lock file %s): stop that one first (a "
                            "server keeps the layers in memory and would not see another program's changes, and two "
                            "writers would hand out the same feature ids)",
                            store_path, holder[0] ? holder : "holder unknown", path);
    }
    cm_store_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd);
        return cm_error_set(err, CM_ERR_NOMEM, NULL, NULL);
    }
    l->fd = fd;
    /* Who holds it, for the refusal another process prints; the lock matters, not the text. */
    char who[96];
    int len = snprintf(who, sizeof who, "%s, pid %ld\n", command, (long)getpid());
    bool noted = ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)len, 0) == len;
    (void)noted;
    *out = l;
    return CM_OK;
}

void cm_store_lock_release(cm_store_lock *l) {
    if (!l) return;
    close(l->fd); /* drops the flock */
    free(l);
}
