/* sqlite_setup.h — process-wide SQLite settings, made once before SQLite starts.
 *
 * SQLite's default counts every allocation it makes under a global mutex (memory
 * statistics, for sqlite3_memory_used and heap limits, which nothing here uses). The
 * persistence worker makes about 120 allocations per create through SQLite: turning the
 * counting off took 266,392 -> 251,392 instructions per create on the worker (callgrind,
 * 1,000 creates; bench/README.md).
 *
 * THREAD SAFETY: call from main() before any thread, library or store touches SQLite
 * (GDAL, PROJ and the WAL shim all start it on first use); later calls are refused by
 * SQLite and change nothing. */
#ifndef CM_SQLITE_SETUP_H
#define CM_SQLITE_SETUP_H

#include <stdbool.h>

/* true when the settings were made; false when SQLite had already started. */
bool cm_sqlite_setup(void);

#endif
