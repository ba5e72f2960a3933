import Foundation
import GRDB
import OrchestratorProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite store: WAL mode, `synchronous=FULL` unless told otherwise, schema by GRDB migrations.
///
/// ```swift
/// let store = try SQLiteStore(directory: URL(fileURLWithPath: ".orchestrator"))
/// try await store.commit([.appendEvents(runSeq: 1, events)])
/// ```
public final class SQLiteStore: HistoryStore {
    /// How hard a commit pushes data to disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// fsync on every commit: an acknowledged write survives power loss. The default.
        case full
        /// fsync at checkpoints only: survives a process crash, may lose the last commits on power loss.
        case normal
        /// No fsync: for tests and benchmarks of the engine alone.
        case off

        var pragma: String {
            switch self {
            case .full: "FULL"
            case .normal: "NORMAL"
            case .off: "OFF"
            }
        }

        var pragmaValue: Int {
            switch self {
            case .full: 2
            case .normal: 1
            case .off: 0
            }
        }
    }

    /// The file name of the database inside the data directory.
    public static let fileName = "orchestrator.sqlite"

    public let path: String
    public let durability: Durability
    private let pool: DatabasePool

    /// Opens (creating if needed) `orchestrator.sqlite` in `directory`, which is created owner-only.
    public convenience init(directory: URL, durability: Durability = .full) throws {
        try Self.createPrivateDirectory(directory.path)
        try self.init(path: directory.appendingPathComponent(Self.fileName).path, durability: durability)
    }

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String, durability: Durability = .full) throws {
        self.path = path
        self.durability = durability
        try Self.createPrivateFile(path)
        var configuration = Configuration()
        configuration.label = "orchestrator"
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try StoreMigrations.migrator.migrate(pool)
            // GRDB's pool sets synchronous=NORMAL on its writer when it enables WAL, after any
            // prepareDatabase hook; set the durability here, on the one writer connection, and check it.
            let expected = durability
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(expected.pragma)")
                let actual = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                guard actual == expected.pragmaValue else {
                    throw StoreError("SQLite refused synchronous=\(expected.pragma) (it reports \(actual ?? -1))")
                }
            }
        } catch {
            throw StoreError("cannot open the database at \(path): \(error)")
        }
    }

    /// The schema version names applied to this database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try StoreMigrations.migrator.appliedMigrations(db) }
    }

    /// The `synchronous` setting in effect on the writer connection (2 = FULL, 1 = NORMAL, 0 = OFF).
    public func synchronousSetting() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The journal mode (`wal`).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: - Writes

    public func commit(_ operations: [StoreOperation]) async throws {
        if operations.isEmpty { return }
        try await pool.write { db in
            try Self.apply(operations, to: db)
        }
    }

    /// Applies operations inside the caller's transaction.
    static func apply(_ operations: [StoreOperation], to db: Database) throws {
        for operation in operations {
            switch operation {
            case .upsertExecution(let row, let state):
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO executions (run_seq, run_id, workflow_id, workflow_type, task_queue, status,
                          start_time, close_time, history_length, search_attributes, state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(run_seq) DO UPDATE SET status = excluded.status, close_time = excluded.close_time,
                          history_length = excluded.history_length, search_attributes = excluded.search_attributes,
                          state = excluded.state
                        """)
                try statement.execute(arguments: [
                    row.runSeq, row.runId, row.workflowId, row.workflowType, row.taskQueue, row.status.rawValue,
                    row.startTime.milliseconds, row.closeTime?.milliseconds, row.historyLength,
                    try row.searchAttributes.map { try MessageCodec.encodeToString($0) },
                    try Self.encode(state),
                ])
            case .appendEvents(let runSeq, let events):
                let statement = try db.cachedStatement(
                    sql:
                        "INSERT INTO history_events (run_seq, event_id, event_type, event_time, attributes) VALUES (?, ?, ?, ?, ?)"
                )
                for event in events {
                    try statement.execute(arguments: [
                        runSeq, event.eventId, event.eventType.rawValue, event.eventTime.milliseconds,
                        Data(try event.encodedAttributes ?? event.attributes.canonicalJSON()),
                    ])
                }
            case .putWorkflowTask(let row):
                let statement = try db.cachedStatement(
                    sql:
                        "INSERT OR REPLACE INTO workflow_tasks (run_seq, scheduled_event_id, attempt, task_queue, scheduled_time) VALUES (?, ?, ?, ?, ?)"
                )
                try statement.execute(arguments: [
                    row.runSeq, row.scheduledEventId, row.attempt, row.taskQueue, row.scheduledTime.milliseconds,
                ])
            case .deleteWorkflowTask(let runSeq):
                try db.cachedStatement(sql: "DELETE FROM workflow_tasks WHERE run_seq = ?").execute(arguments: [runSeq])
            case .putActivity(let row, let state):
                let statement = try db.cachedStatement(
                    sql:
                        "INSERT OR REPLACE INTO activity_tasks (run_seq, scheduled_event_id, activity_id, activity_type, task_queue, attempt, state) VALUES (?, ?, ?, ?, ?, ?, ?)"
                )
                try statement.execute(arguments: [
                    row.runSeq, row.scheduledEventId, row.activityId, row.activityType, row.taskQueue, row.attempt,
                    try Self.encode(state),
                ])
            case .deleteActivity(let runSeq, let scheduledEventId):
                try db.cachedStatement(sql: "DELETE FROM activity_tasks WHERE run_seq = ? AND scheduled_event_id = ?")
                    .execute(arguments: [runSeq, scheduledEventId])
            case .putTimer(let row):
                try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO timers (run_seq, timer_key, fire_time, event_id) VALUES (?, ?, ?, ?)"
                ).execute(arguments: [row.runSeq, row.key, row.fireTime.milliseconds, row.eventId])
            case .deleteTimer(let runSeq, let key):
                try db.cachedStatement(sql: "DELETE FROM timers WHERE run_seq = ? AND timer_key = ?")
                    .execute(arguments: [runSeq, key])
            case .putBufferedEvent(let runSeq, let seq, let event):
                try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO buffered_events (run_seq, seq, event) VALUES (?, ?, ?)"
                )
                .execute(arguments: [runSeq, seq, try MessageCodec.encode(event)])
            case .deleteBufferedEvent(let runSeq, let seq):
                try db.cachedStatement(sql: "DELETE FROM buffered_events WHERE run_seq = ? AND seq = ?")
                    .execute(arguments: [runSeq, seq])
            case .deleteBufferedEvents(let runSeq):
                try db.cachedStatement(sql: "DELETE FROM buffered_events WHERE run_seq = ?").execute(arguments: [runSeq]
                )
            case .putRequestId(let row):
                try db.cachedStatement(
                    sql:
                        "INSERT OR IGNORE INTO request_ids (request_id, kind, workflow_id, run_id, created_time) VALUES (?, ?, ?, ?, ?)"
                ).execute(arguments: [row.requestId, row.kind, row.workflowId, row.runId, row.createdTime.milliseconds])
            case .deleteRunState(let runSeq):
                for table in ["workflow_tasks", "activity_tasks", "timers", "buffered_events"] {
                    try db.cachedStatement(sql: "DELETE FROM \(table) WHERE run_seq = ?").execute(arguments: [runSeq])
                }
            }
        }
    }

    /// A `state` column's bytes: the type's own canonical writer if it has one.
    private static func encode(_ state: any Encodable & Sendable) throws -> Data {
        if let direct = state as? any CanonicalJSONEncodable { return Data(try direct.canonicalJSON()) }
        return try MessageCodec.encode(state)
    }

    // MARK: - Reads

    public func loadRecoveredState() throws -> RecoveredState {
        try pool.read { db in
            var state = RecoveredState()
            state.maxRunSeq = try Int64.fetchOne(db, sql: "SELECT MAX(run_seq) FROM executions") ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM executions WHERE status = 'RUNNING' ORDER BY run_seq")
            for row in rows {
                state.executions.append(.init(row: try Self.executionRow(row), state: row["state"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM workflow_tasks") {
                state.workflowTasks.append(
                    WorkflowTaskRow(
                        runSeq: row["run_seq"], scheduledEventId: row["scheduled_event_id"], attempt: row["attempt"],
                        taskQueue: row["task_queue"], scheduledTime: Timestamp(milliseconds: row["scheduled_time"])))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM activity_tasks") {
                state.activities.append(
                    .init(
                        row: ActivityRow(
                            runSeq: row["run_seq"], scheduledEventId: row["scheduled_event_id"],
                            activityId: row["activity_id"], activityType: row["activity_type"],
                            taskQueue: row["task_queue"], attempt: row["attempt"]),
                        state: row["state"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM timers") {
                state.timers.append(
                    TimerRow(
                        runSeq: row["run_seq"], key: row["timer_key"],
                        fireTime: Timestamp(milliseconds: row["fire_time"]), eventId: row["event_id"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM buffered_events ORDER BY run_seq, seq") {
                let data: Data = row["event"]
                state.bufferedEvents.append(
                    .init(
                        runSeq: row["run_seq"], seq: row["seq"],
                        event: try MessageCodec.decode(HistoryEvent.self, from: data)))
            }
            return state
        }
    }

    // The reads below are one statement each: SQLite runs a statement in its own read transaction, so
    // they skip GRDB's BEGIN/COMMIT around them (`unsafeRead`), two statements fewer per lookup on
    // the engine's hot paths (a request id per signal, the run of a query).

    public func execution(runId: String) throws -> ExecutionRow? {
        try pool.unsafeRead { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM executions WHERE run_id = ?"), arguments: [runId])
                .map(Self.executionRow)
        }
    }

    public func latestExecution(workflowId: String) throws -> ExecutionRow? {
        try pool.unsafeRead { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT * FROM executions WHERE workflow_id = ? ORDER BY run_seq DESC LIMIT 1"),
                arguments: [workflowId]
            ).map(Self.executionRow)
        }
    }

    public func requestId(_ requestId: String) throws -> RequestIdRow? {
        try pool.unsafeRead { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM request_ids WHERE request_id = ?"), arguments: [requestId]
            ).map { row in
                RequestIdRow(
                    requestId: row["request_id"], kind: row["kind"], workflowId: row["workflow_id"],
                    runId: row["run_id"], createdTime: Timestamp(milliseconds: row["created_time"]))
            }
        }
    }

    public func events(runSeq: Int64, afterEventId: Int64, throughEventId: Int64, limit: Int, maxBytes: Int) throws
        -> [HistoryEvent]
    {
        try pool.unsafeRead { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT event_id, event_type, event_time, attributes, length(attributes) AS size FROM history_events
                        WHERE run_seq = ? AND event_id > ? AND event_id <= ? ORDER BY event_id LIMIT ?
                        """),
                arguments: [runSeq, afterEventId, throughEventId, min(limit, Int(Int32.max))])
            var events: [HistoryEvent] = []
            var bytes = 0
            while let row = try rows.next() {
                let size: Int = row["size"]
                if !events.isEmpty && bytes + size > maxBytes { break }
                bytes += size + 100
                events.append(try Self.event(row))
            }
            return events
        }
    }

    public func lastEvent(runSeq: Int64) throws -> HistoryEvent? {
        try pool.unsafeRead { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT event_id, event_type, event_time, attributes FROM history_events WHERE run_seq = ? ORDER BY event_id DESC LIMIT 1"
                ), arguments: [runSeq]
            ).map(Self.event)
        }
    }

    public func listExecutions(_ filter: ExecutionFilter) throws -> [ExecutionRow] {
        var clauses: [String] = []
        var arguments = StatementArguments()
        if let status = filter.status {
            clauses.append("status = ?")
            _ = arguments.append(contentsOf: [status.rawValue])
        }
        if let type = filter.workflowType {
            clauses.append("workflow_type = ?")
            _ = arguments.append(contentsOf: [type])
        }
        if let prefix = filter.workflowIdPrefix {
            clauses.append("substr(workflow_id, 1, length(?)) = ?")
            _ = arguments.append(contentsOf: [prefix, prefix])
        }
        if let attribute = filter.searchAttribute {
            clauses.append("json_extract(search_attributes, ?) = json_extract(?, '$')")
            let path = "$.\"" + attribute.name.replacingOccurrences(of: "\"", with: "\\\"") + "\""
            _ = arguments.append(contentsOf: [path, try MessageCodec.encodeToString(attribute.value)])
        }
        if let before = filter.beforeRunSeq {
            clauses.append("run_seq < ?")
            _ = arguments.append(contentsOf: [before])
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [filter.limit])
        let sql = "SELECT * FROM executions \(whereClause) ORDER BY run_seq DESC LIMIT ?"
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.executionRow)
        }
    }

    /// Counts of rows per table, for benchmarks and diagnostics.
    public func tableCounts() throws -> [String: Int] {
        try pool.read { db in
            var counts: [String: Int] = [:]
            for table in [
                "executions", "history_events", "workflow_tasks", "activity_tasks", "timers", "buffered_events",
                "request_ids",
            ] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    // MARK: - Row decoding

    private static func executionRow(_ row: Row) throws -> ExecutionRow {
        let statusText: String = row["status"]
        guard let status = WorkflowExecutionStatus(rawValue: statusText) else {
            throw StoreError("unknown status \(statusText) in executions row \(row["run_id"] as String? ?? "?")")
        }
        let attributesText: String? = row["search_attributes"]
        return ExecutionRow(
            runSeq: row["run_seq"], runId: row["run_id"], workflowId: row["workflow_id"],
            workflowType: row["workflow_type"], taskQueue: row["task_queue"], status: status,
            startTime: Timestamp(milliseconds: row["start_time"]),
            closeTime: (row["close_time"] as Int64?).map(Timestamp.init(milliseconds:)),
            historyLength: row["history_length"],
            searchAttributes: try attributesText.map {
                try MessageCodec.decode([String: JSONValue].self, from: Array($0.utf8))
            })
    }

    private static func event(_ row: Row) throws -> HistoryEvent {
        let typeText: String = row["event_type"]
        guard let type = EventType(rawValue: typeText) else {
            throw StoreError("unknown event type \(typeText) in history")
        }
        let data: Data = row["attributes"]
        let bare = try MessageCodec.decode(
            EventAttributes.Bare.self, from: data, userInfo: [EventAttributes.eventTypeUserInfoKey: type])
        return HistoryEvent(
            eventId: row["event_id"], eventTime: Timestamp(milliseconds: row["event_time"]),
            attributes: bare.attributes,
            encodedAttributes: Array(data))
    }

    // MARK: - Files

    static func createPrivateDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StoreError("\(path) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError("cannot create the data directory \(path): \(error.localizedDescription)")
        }
    }

    /// Creates the database file owner-only before SQLite opens it; SQLite gives its -wal and -shm
    /// files the same permissions.
    static func createPrivateFile(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) { return }
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw StoreError("cannot create the database file \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }
}
