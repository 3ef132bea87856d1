/* sqlite_setup.c — see sqlite_setup.h. */
#include "sqlite_setup.h"

#include <sqlite3.h>

bool cm_sqlite_setup(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }
