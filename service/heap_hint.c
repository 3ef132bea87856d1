/* heap_hint.c — see heap_hint.h. */
#include "heap_hint.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MMAP_THRESHOLD_BYTES (32 * 1024 * 1024) /* glibc's largest on 64-bit */
#define TRIM_THRESHOLD_BYTES (64 * 1024 * 1024)

void cm_heap_keep_large_blocks(void) {
    /* Setting either turns off glibc's dynamic thresholds, so both are set. A C library
     * without these options ignores them (mallopt returns 0); nothing depends on them. */
    (void)mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    (void)mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
}

#define HUGETLB_TUNABLE "glibc.malloc.hugetlb"

/* Is the kernel's transparent huge page support on for regions that ask for it? */
static bool huge_pages_available(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = "";
    bool ok = fgets(line, sizeof line, f) != NULL && strstr(line, "[never]") == NULL;
    fclose(f);
    return ok;
}

/* Runs this program again, from the file it was started from where that still exists:
 * the kernel names a process after the file it executes, and /proc/self/exe would rename
 * the server "exe" in ps, top and /proc/PID/comm, where tools that stop it by name (the
 * benchmark scripts, an operator's pkill) would no longer find it. Returns on failure. */
static void exec_self(char **argv) {
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        if (!strstr(path, " (deleted)") && access(path, X_OK) == 0) execv(path, argv);
    }
    execv("/proc/self/exe", argv);
}

void cm_heap_use_huge_pages(char **argv) {
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables && strstr(tunables, HUGETLB_TUNABLE)) return; /* decided already, or this is the re-exec */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return;
    if (!huge_pages_available()) return;
    char *previous = tunables ? strdup(tunables) : NULL;
    if (tunables && !previous) return;
    size_t n = (previous ? strlen(previous) + 1 : 0) + sizeof HUGETLB_TUNABLE "=1";
    char *value = malloc(n);
    if (!value) {
        free(previous);
        return;
    }
    snprintf(value, n, "%s%s" HUGETLB_TUNABLE "=1", previous ? previous : "", previous ? ":" : "");
    if (setenv("GLIBC_TUNABLES", value, 1) == 0) {
        fflush(NULL);
        exec_self(argv);
        /* Still here: the exec failed; run as we are, with the environment as it was. */
        if (previous) setenv("GLIBC_TUNABLES", previous, 1);
        else unsetenv("GLIBC_TUNABLES");
    }
    free(value);
    free(previous);
}
