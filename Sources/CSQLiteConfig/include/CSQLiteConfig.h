#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

/// Turns off SQLite's memory statistics (`SQLITE_CONFIG_MEMSTATUS`) for the process. With them on
/// (the default), every allocation and free inside SQLite takes a process-wide mutex to count bytes.
/// `sqlite3_config` is variadic, which Swift cannot call; this is its one use here.
///
/// Must run before SQLite initializes (before the first connection opens). Returns SQLITE_OK, or
/// SQLITE_MISUSE when SQLite is already initialized (the statistics then stay on).
int orchestrator_sqlite_disable_memory_statistics(void);

#endif
