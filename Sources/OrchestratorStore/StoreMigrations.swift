import GRDB

/// The schema, as an ordered list of GRDB migrations. Never edit a shipped migration: add one.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1-initial-schema") { db in
            // The visibility index and each run's engine state. run_seq is the compact key other tables use.
            try db.execute(
                sql: """
                    CREATE TABLE executions (
                      run_seq INTEGER PRIMARY KEY,
                      run_id TEXT NOT NULL UNIQUE,
                      workflow_id TEXT NOT NULL,
                      workflow_type TEXT NOT NULL,
                      task_queue TEXT NOT NULL,
                      status TEXT NOT NULL,
                      start_time INTEGER NOT NULL,
                      close_time INTEGER,
                      history_length INTEGER NOT NULL,
                      search_attributes TEXT,
                      state BLOB NOT NULL
                    );
                    CREATE INDEX executions_by_workflow_id ON executions (workflow_id, run_seq);
                    CREATE INDEX executions_by_status ON executions (status, run_seq);
                    CREATE INDEX executions_by_type ON executions (workflow_type, run_seq);

                    CREATE TABLE history_events (
                      run_seq INTEGER NOT NULL,
                      event_id INTEGER NOT NULL,
                      event_type TEXT NOT NULL,
                      event_time INTEGER NOT NULL,
                      attributes BLOB NOT NULL,
                      PRIMARY KEY (run_seq, event_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE workflow_tasks (
                      run_seq INTEGER PRIMARY KEY,
                      scheduled_event_id INTEGER NOT NULL,
                      attempt INTEGER NOT NULL,
                      task_queue TEXT NOT NULL,
                      scheduled_time INTEGER NOT NULL
                    );

                    CREATE TABLE activity_tasks (
                      run_seq INTEGER NOT NULL,
                      scheduled_event_id INTEGER NOT NULL,
                      activity_id TEXT NOT NULL,
                      activity_type TEXT NOT NULL,
                      task_queue TEXT NOT NULL,
                      attempt INTEGER NOT NULL,
                      state BLOB NOT NULL,
                      PRIMARY KEY (run_seq, scheduled_event_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE timers (
                      run_seq INTEGER NOT NULL,
                      timer_key TEXT NOT NULL,
                      fire_time INTEGER NOT NULL,
                      event_id INTEGER NOT NULL,
                      PRIMARY KEY (run_seq, timer_key)
                    ) WITHOUT ROWID;
                    CREATE INDEX timers_by_fire_time ON timers (fire_time);

                    CREATE TABLE buffered_events (
                      run_seq INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      event BLOB NOT NULL,
                      PRIMARY KEY (run_seq, seq)
                    ) WITHOUT ROWID;

                    CREATE TABLE request_ids (
                      request_id TEXT PRIMARY KEY,
                      kind TEXT NOT NULL,
                      workflow_id TEXT NOT NULL,
                      run_id TEXT NOT NULL,
                      created_time INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }

        // History rows stored in the order they are appended (a rowid table) with a unique index
        // on (run_seq, event_id). Keyed by (run_seq, event_id) itself, each commit's events went
        // to as many B-tree leaves as it had runs, and every such page was written to the WAL
        // whole; appended, they share the table's last page and a few index pages.
        migrator.registerMigration("v2-history-append-order") { db in
            try db.execute(
                sql: """
                    CREATE TABLE history_events_v2 (
                      run_seq INTEGER NOT NULL,
                      event_id INTEGER NOT NULL,
                      event_type TEXT NOT NULL,
                      event_time INTEGER NOT NULL,
                      attributes BLOB NOT NULL
                    );
                    INSERT INTO history_events_v2 (run_seq, event_id, event_type, event_time, attributes)
                      SELECT run_seq, event_id, event_type, event_time, attributes FROM history_events
                      ORDER BY run_seq, event_id;
                    DROP TABLE history_events;
                    ALTER TABLE history_events_v2 RENAME TO history_events;
                    CREATE UNIQUE INDEX history_events_by_run ON history_events (run_seq, event_id);
                    """)
        }

        // Rows the engine can derive were written and deleted on every workflow task and activity:
        // a run's pending workflow task is the last WorkflowTaskScheduled of its history not
        // followed by that task's completion, failure or timeout (its attempt, task queue and time
        // are in the event), and an activity's schedule-to-close deadline is its scheduled time
        // plus the timeout, both in the activity's row. Recovery derives them now; the rows were
        // about a quarter of the statements of every commit.
        migrator.registerMigration("v3-derived-task-rows") { db in
            try db.execute(
                sql: """
                    DROP TABLE workflow_tasks;
                    DELETE FROM timers WHERE timer_key LIKE 'activity-deadline/%';
                    """)
        }

        return migrator
    }
}
