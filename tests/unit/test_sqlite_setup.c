/* Unit tests for layers/sqlite_setup.c:
 * - made before SQLite starts, the settings take: SQLite then keeps no memory statistics
 *   (sqlite3_memory_used stays 0 while a database holds rows and pages in memory);
 * - once SQLite has started, the call is refused and says so. */
#include <sqlite3.h>

#include "../../layers/sqlite_setup.h"
#include "check.h"

int main(void) {
    CHECK(cm_sqlite_setup());
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT);"
                       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                       "INSERT INTO t SELECT i, printf('%0200d', i) FROM n;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 5000);
    sqlite3_finalize(st);
    /* With the statistics on, a megabyte of rows and pages would show here. */
    CHECK(sqlite3_memory_used() == 0);
    sqlite3_close(db);
    CHECK(!cm_sqlite_setup()); /* SQLite has started: too late */
    return check_report("sqlite_setup");
}
