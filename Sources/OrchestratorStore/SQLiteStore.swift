import CSQLiteConfig
import Foundation
import GRDB
import GRDBSQLite
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
    /// The writer's prepared statements, used only inside `pool.write`.
    private let statements = WriterStatements()

    /// Opens (creating if needed) `orchestrator.sqlite` in `directory`, which is created owner-only.
    public convenience init(directory: URL, durability: Durability = .full) throws {
        try Self.createPrivateDirectory(directory.path)
        try self.init(path: directory.appendingPathComponent(Self.fileName).path, durability: durability)
    }

    /// Whether SQLite's memory statistics are off in this process (set once, before the first
    /// connection opens). They are on by default and take a process-wide mutex in every allocation
    /// and free inside SQLite: about 2 % of the server's samples at C=50, on the writer's thread.
    /// The store reads none of them.
    static let memoryStatisticsOff: Bool = orchestrator_sqlite_disable_memory_statistics() == SQLITE_OK

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String, durability: Durability = .full) throws {
        _ = Self.memoryStatisticsOff
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
        let statements = statements
        try await pool.write { db in
            try Self.apply(operations, to: db, statements: statements)
        }
    }

    /// Applies operations inside the caller's transaction.
    ///
    /// Arguments are bound straight to SQLite's prepared statements (GRDB prepares and caches
    /// them): the writer runs every commit one at a time, and GRDB's argument arrays and value boxes
    /// were a fifth of the server's allocations.
    static func apply(_ operations: [StoreOperation], to db: Database, statements: WriterStatements) throws {
        for operation in operations {
            switch operation {
            case .upsertExecution(let row, let state):
                let statement = try statements.statement(
                    .upsertExecution, in: db,
                    sql: """
                        INSERT INTO executions (run_seq, run_id, workflow_id, workflow_type, task_queue, status,
                          start_time, close_time, history_length, search_attributes, state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT(run_seq) DO UPDATE SET status = excluded.status, close_time = excluded.close_time,
                          history_length = excluded.history_length, search_attributes = excluded.search_attributes,
                          state = excluded.state
                        """)
                let searchAttributes = try row.searchAttributes.map { try MessageCodec.encodeToString($0) }
                let stateBytes = try state.canonicalJSON()
                try run(statement, in: db) { bind in
                    bind.int(row.runSeq)
                    bind.text(row.runId)
                    bind.text(row.workflowId)
                    bind.text(row.workflowType)
                    bind.text(row.taskQueue)
                    bind.text(row.status.rawValue)
                    bind.int(row.startTime.milliseconds)
                    bind.int(row.closeTime?.milliseconds)
                    bind.int(row.historyLength)
                    bind.text(searchAttributes)
                    bind.blob(stateBytes)
                }
            case .updateExecutionState(let runSeq, let historyLength, let state):
                let statement = try statements.statement(
                    .updateExecutionState, in: db,
                    sql: "UPDATE executions SET history_length = ?, state = ? WHERE run_seq = ?")
                let stateBytes = try state.canonicalJSON()
                try run(statement, in: db) { bind in
                    bind.int(historyLength)
                    bind.blob(stateBytes)
                    bind.int(runSeq)
                }
                guard sqlite3_changes(db.sqliteConnection) == 1 else {
                    throw StoreError(
                        "no executions row for run_seq \(runSeq) to update; the engine's memory and the database disagree"
                    )
                }
            case .appendEvents(let runSeq, let events):
                let statement = try statements.statement(
                    .appendEvent, in: db,
                    sql:
                        "INSERT INTO history_events (run_seq, event_id, event_type, event_time, attributes) VALUES (?, ?, ?, ?, ?)"
                )
                for event in events {
                    let attributes = try event.encodedAttributes ?? event.attributes.canonicalJSON()
                    try run(statement, in: db) { bind in
                        bind.int(runSeq)
                        bind.int(event.eventId)
                        bind.text(event.eventType.rawValue)
                        bind.int(event.eventTime.milliseconds)
                        bind.blob(attributes)
                    }
                }
            case .putActivity(let row, let state):
                let statement = try statements.statement(
                    .putActivity, in: db,
                    sql:
                        "INSERT OR REPLACE INTO activity_tasks (run_seq, scheduled_event_id, activity_id, activity_type, task_queue, attempt, state) VALUES (?, ?, ?, ?, ?, ?, ?)"
                )
                let stateBytes = try state.canonicalJSON()
                try run(statement, in: db) { bind in
                    bind.int(row.runSeq)
                    bind.int(row.scheduledEventId)
                    bind.text(row.activityId)
                    bind.text(row.activityType)
                    bind.text(row.taskQueue)
                    bind.int(Int64(row.attempt))
                    bind.blob(stateBytes)
                }
            case .deleteActivity(let runSeq, let scheduledEventId):
                let statement = try statements.statement(
                    .deleteActivity, in: db,
                    sql: "DELETE FROM activity_tasks WHERE run_seq = ? AND scheduled_event_id = ?")
                try run(statement, in: db) { bind in
                    bind.int(runSeq)
                    bind.int(scheduledEventId)
                }
            case .putTimer(let row):
                let statement = try statements.statement(
                    .putTimer, in: db,
                    sql: "INSERT OR REPLACE INTO timers (run_seq, timer_key, fire_time, event_id) VALUES (?, ?, ?, ?)")
                try run(statement, in: db) { bind in
                    bind.int(row.runSeq)
                    bind.text(row.key)
                    bind.int(row.fireTime.milliseconds)
                    bind.int(row.eventId)
                }
            case .deleteTimer(let runSeq, let key):
                let statement = try statements.statement(
                    .deleteTimer, in: db, sql: "DELETE FROM timers WHERE run_seq = ? AND timer_key = ?")
                try run(statement, in: db) { bind in
                    bind.int(runSeq)
                    bind.text(key)
                }
            case .putBufferedEvent(let runSeq, let seq, let event):
                let statement = try statements.statement(
                    .putBufferedEvent, in: db,
                    sql: "INSERT OR REPLACE INTO buffered_events (run_seq, seq, event) VALUES (?, ?, ?)")
                let bytes = try event.canonicalJSON()
                try run(statement, in: db) { bind in
                    bind.int(runSeq)
                    bind.int(seq)
                    bind.blob(bytes)
                }
            case .deleteBufferedEvent(let runSeq, let seq):
                let statement = try statements.statement(
                    .deleteBufferedEvent, in: db, sql: "DELETE FROM buffered_events WHERE run_seq = ? AND seq = ?")
                try run(statement, in: db) { bind in
                    bind.int(runSeq)
                    bind.int(seq)
                }
            case .deleteBufferedEvents(let runSeq):
                try run(
                    statements.statement(
                        .deleteBufferedEvents, in: db, sql: "DELETE FROM buffered_events WHERE run_seq = ?"), in: db
                ) { bind in
                    bind.int(runSeq)
                }
            case .putRequestId(let row):
                let statement = try statements.statement(
                    .putRequestId, in: db,
                    sql:
                        "INSERT OR IGNORE INTO request_ids (request_id, kind, workflow_id, run_id, created_time) VALUES (?, ?, ?, ?, ?)"
                )
                try run(statement, in: db) { bind in
                    bind.text(row.requestId)
                    bind.text(row.kind)
                    bind.text(row.workflowId)
                    bind.text(row.runId)
                    bind.int(row.createdTime.milliseconds)
                }
            case .deleteRunState(let runSeq):
                for (kind, table) in [
                    (WriterStatements.Kind.deleteRunActivities, "activity_tasks"), (.deleteRunTimers, "timers"),
                    (.deleteBufferedEvents, "buffered_events"),
                ] {
                    try run(statements.statement(kind, in: db, sql: "DELETE FROM \(table) WHERE run_seq = ?"), in: db) {
                        bind in bind.int(runSeq)
                    }
                }
            }
        }
    }

    /// Binds a statement's parameters, in order, and runs it to completion.
    private static func run(_ statement: Statement, in db: Database, _ bindAll: (inout Bindings) -> Void) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var bindings = Bindings(statement: handle)
        bindAll(&bindings)
        let expected = sqlite3_bind_parameter_count(handle)
        guard bindings.index == expected else {
            throw StoreError("\(statement.sql) was given \(bindings.index) of its \(expected) parameters")
        }
        var code = bindings.failure ?? sqlite3_step(handle)
        if code == SQLITE_DONE || code == SQLITE_ROW {
            code = SQLITE_OK
        }
        sqlite3_reset(handle)
        guard code == SQLITE_OK else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: statement.sql)
        }
    }

    /// Binds parameters 1, 2, … of a prepared statement; SQLite copies the bytes.
    private struct Bindings {
        let statement: SQLiteStatement
        var index: CInt = 0
        /// The first failed bind's result code.
        var failure: CInt?

        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        private mutating func check(_ code: CInt) {
            if code != SQLITE_OK && failure == nil { failure = code }
        }

        mutating func int(_ value: Int64?) {
            index += 1
            guard let value else { return check(sqlite3_bind_null(statement, index)) }
            check(sqlite3_bind_int64(statement, index, value))
        }

        mutating func text(_ value: String?) {
            index += 1
            guard var value else { return check(sqlite3_bind_null(statement, index)) }
            let code = value.withUTF8 { utf8 in
                guard let base = utf8.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, nil) }
                return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: utf8.count) { text in
                    sqlite3_bind_text(statement, index, text, CInt(utf8.count), Self.transient)
                }
            }
            check(code)
        }

        mutating func blob(_ bytes: [UInt8]) {
            index += 1
            let code = bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return sqlite3_bind_zeroblob(statement, index, 0) }
                return sqlite3_bind_blob(statement, index, base, CInt(raw.count), Self.transient)
            }
            check(code)
        }
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

    public func forEachRequestId(_ body: (String) throws -> Void) throws {
        try pool.read { db in
            let ids = try String.fetchCursor(db, sql: "SELECT request_id FROM request_ids")
            while let id = try ids.next() { try body(id) }
        }
    }

    public func forEachWorkflowId(_ body: (String) throws -> Void) throws {
        try pool.read { db in
            // From the index by workflow id, without reading the rows.
            let ids = try String.fetchCursor(db, sql: "SELECT DISTINCT workflow_id FROM executions")
            while let id = try ids.next() { try body(id) }
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

    /// One read, one prepared statement for every run: a lookup each through the pool cost about
    /// 50 µs, half a second at a restart with 10 000 open runs.
    public func eventTails(_ runs: [(runSeq: Int64, afterEventId: Int64)]) throws -> [[HistoryEvent]] {
        try pool.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT event_id, event_type, event_time, attributes FROM history_events
                    WHERE run_seq = ? AND event_id > ? ORDER BY event_id
                    """)
            return try runs.map { run in
                try Row.fetchAll(statement, arguments: [run.runSeq, run.afterEventId]).map(Self.event)
            }
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

/// The store writer's prepared statements, by kind. GRDB's `cachedStatement(sql:)` finds a statement
/// by hashing and comparing its SQL text at every use: about 1 100 instructions per statement, 2 % of
/// the server's instructions with 48 statements per incident (callgrind). Used only inside the
/// pool's writes, which run one at a time; a statement is made again for another connection.
final class WriterStatements: @unchecked Sendable {
    enum Kind: Int, CaseIterable {
        case upsertExecution, updateExecutionState, appendEvent, putActivity, deleteActivity, putTimer, deleteTimer
        case putBufferedEvent, deleteBufferedEvent, deleteBufferedEvents, putRequestId, deleteRunActivities
        case deleteRunTimers
    }

    private var statements = [Statement?](repeating: nil, count: Kind.allCases.count)
    private var connection: ObjectIdentifier?

    func statement(_ kind: Kind, in db: Database, sql: @autoclosure () -> String) throws -> Statement {
        let current = ObjectIdentifier(db)
        if connection != current {
            statements = [Statement?](repeating: nil, count: Kind.allCases.count)
            connection = current
        }
        if let statement = statements[kind.rawValue] { return statement }
        let statement = try db.makeStatement(sql: sql())
        statements[kind.rawValue] = statement
        return statement
    }
}
