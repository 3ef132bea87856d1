/* wal_vfs.h — SQLite's own VFS, with the write-ahead log written once per sync.
 *
 * SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page),
 * so a commit of one create with its audit record and their indexes makes 14-20 system
 * calls before its fdatasync, and a group commit of eight creates many more. On a
 * virtual machine each call passes the hypervisor. This VFS keeps a WAL's contiguous
 * writes in memory and sends them to the file as one write before anything that needs
 * them there: a sync, a read, truncation or size of the file, a file control, its close.
 *
 * Why that is safe: the bytes and their order on disk are the same, and a commit's
 * frames are sent before its sync. With synchronous=FULL, SQLite syncs a committing
 * transaction's frames before it publishes the commit in the WAL index, so no other
 * connection (here or in another process) can be told of frames still in memory. With
 * synchronous=NORMAL or OFF it could: a connection opened through this VFS must run
 * with FULL (cm_persist_open checks it).
 *
 * Only connections opened inside a scope use it (SQLite binds a connection to its VFS
 * when it opens); everything else in the process keeps SQLite's own VFS. */
#ifndef CM_WAL_VFS_H
#define CM_WAL_VFS_H

#include <stdbool.h>

#define CM_WAL_VFS_NAME "crisismap-wal"

/* Registers the VFS (once per process) and makes it SQLite's default until
 * cm_wal_vfs_close_scope. False if it could not be: opens then use SQLite's own VFS,
 * which is correct, only slower. The default is process-wide: call where no other
 * thread opens SQLite databases (start-up). */
bool cm_wal_vfs_open_scope(void);
void cm_wal_vfs_close_scope(void);

#endif
