import Foundation
import GRDB
import GRDBSQLite
import OrchestratorProtocol
import Testing

@testable import OrchestratorStore

@Suite("SQLite store")
struct SQLiteStoreTests {
    func withStore(_ body: (SQLiteStore, URL) async throws -> Void) async throws {
        let directory = URL(fileURLWithPath: "/tmp/orch-store-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        try await body(store, directory)
    }

    /// A database as an older release left it: migrated up to `migration`, with the rows `fill`
    /// writes. `body` gets its path (to open with the current schema).
    func withOlderDatabase(
        migratedUpTo migration: String, _ fill: @escaping @Sendable (Database) throws -> Void,
        _ body: (String) async throws -> Void
    ) async throws {
        // The store sets SQLite's process-wide options before the first connection opens: this
        // connection would otherwise be the first of the test process.
        _ = SQLiteStore.memoryStatisticsOff
        let directory = URL(fileURLWithPath: "/tmp/orch-store-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(SQLiteStore.fileName).path
        do {
            let queue = try DatabaseQueue(path: path)
            try StoreMigrations.migrator.migrate(queue, upTo: migration)
            try await queue.write(fill)
        }
        try await body(path)
    }

    func row(_ seq: Int64, workflowId: String = "wf", status: WorkflowExecutionStatus = .running) -> ExecutionRow {
        ExecutionRow(
            runSeq: seq, runId: "run-\(seq)", workflowId: workflowId, workflowType: "T", taskQueue: "q", status: status,
            startTime: Timestamp(milliseconds: 1_000 * seq), closeTime: nil, historyLength: 0, searchAttributes: nil)
    }

    @Test("a new database gets every migration, WAL and synchronous=FULL")
    func migrationsAndPragmas() async throws {
        try await withStore { store, _ throws in
            #expect(
                try store.appliedMigrations() == [
                    "v1-initial-schema", "v2-history-append-order", "v3-derived-task-rows",
                ])
            #expect(try store.journalMode() == "wal")
            #expect(try store.synchronousSetting() == 2)
        }
    }

    @Test("reopening a database applies nothing twice and keeps the data")
    func reopen() async throws {
        try await withStore { store, directory in
            try await store.commit([.upsertExecution(row(1), state: ["k": "v"] as JSONValue)])
            let again = try SQLiteStore(directory: directory)
            #expect(
                try again.appliedMigrations() == [
                    "v1-initial-schema", "v2-history-append-order", "v3-derived-task-rows",
                ])
            #expect(try again.execution(runId: "run-1")?.workflowId == "wf")
        }
    }

    @Test("lower durability is what the setting says")
    func durabilitySetting() async throws {
        let directory = URL(fileURLWithPath: "/tmp/orch-store-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory, durability: .normal)
        #expect(try store.synchronousSetting() == 1)
    }

    @Test("the data directory and the database files are owner-only")
    func permissions() async throws {
        try await withStore { store, directory in
            try await store.commit([.upsertExecution(row(1), state: [:] as JSONValue)])
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.path)
            #expect((attributes[.posixPermissions] as? Int) == 0o700)
            for name in ["orchestrator.sqlite", "orchestrator.sqlite-wal"] {
                let file = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
                #expect((file[.posixPermissions] as? Int) == 0o600, "\(name)")
            }
        }
    }

    @Test("events come back in order, in pages, with their attributes")
    func eventsRoundTrip() async throws {
        try await withStore { store, _ in
            let events = (1...5).map { id in
                HistoryEvent(
                    eventId: Int64(id), eventTime: Timestamp(milliseconds: 1_700_000_000_000 + Int64(id)),
                    attributes: .workflowExecutionSignaled(
                        .init(signalName: "s\(id)", input: ["n": .int(Int64(id))], identity: "t", requestId: nil)))
            }
            try await store.commit([
                .upsertExecution(row(7), state: [:] as JSONValue), .appendEvents(runSeq: 7, events),
            ])
            #expect(try store.events(runSeq: 7) == events)
            #expect(
                try store.events(runSeq: 7, afterEventId: 2, throughEventId: 4, limit: 10).map(\.eventId) == [3, 4])
            #expect(try store.events(runSeq: 7, afterEventId: 0, throughEventId: 5, limit: 2).map(\.eventId) == [1, 2])
            #expect(try store.lastEvent(runSeq: 7) == events.last)
            // Read back, events carry the stored attribute bytes, which are their canonical encoding.
            for event in try store.events(runSeq: 7) {
                #expect(try event.encodedAttributes == MessageCodec.encodeBytes(event.attributes))
            }
        }
    }

    @Test("the tails of many runs read in one go are what each run's own read gives")
    func eventTails() async throws {
        try await withStore { store, _ in
            var operations: [StoreOperation] = []
            for seq in Int64(1)...6 {
                let events = (1...Int(seq)).map { id in
                    HistoryEvent(
                        eventId: Int64(id), eventTime: Timestamp(milliseconds: 1_700_000_000_000 + Int64(id)),
                        attributes: .workflowExecutionSignaled(
                            .init(signalName: "s\(seq)-\(id)", input: nil, identity: nil, requestId: nil)))
                }
                operations += [
                    .upsertExecution(row(seq), state: [:] as JSONValue), .appendEvents(runSeq: seq, events),
                ]
            }
            try await store.commit(operations)
            let runs: [(runSeq: Int64, afterEventId: Int64)] = [(6, 2), (1, 0), (3, 3), (5, 4), (9, 0), (2, 1)]
            let tails = try store.eventTails(runs)
            #expect(tails.count == runs.count)
            for (run, tail) in zip(runs, tails) {
                #expect(tail == (try store.events(runSeq: run.runSeq, afterEventId: run.afterEventId)))
            }
            #expect(tails.map(\.count) == [4, 1, 0, 1, 0, 1])
        }
    }

    @Test("a database of the first schema keeps its history, in order, when it moves to append-ordered history")
    func historyMigration() async throws {
        let events = (1...4).map { id in
            HistoryEvent(
                eventId: Int64(id), eventTime: Timestamp(milliseconds: 1_700_000_000_000 + Int64(id)),
                attributes: .workflowExecutionSignaled(
                    .init(signalName: "s\(id)", input: ["n": .int(Int64(id))], identity: "t", requestId: nil)))
        }
        // A database as the first release left it, its events written interleaved across runs.
        try await withOlderDatabase(migratedUpTo: "v1-initial-schema") { db in
            for (runSeq, event) in [(2, events[1]), (1, events[0]), (2, events[0]), (1, events[1])] {
                try db.execute(
                    sql: "INSERT INTO history_events VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        runSeq, event.eventId, event.eventType.rawValue, event.eventTime.milliseconds,
                        Data(try event.attributes.canonicalJSON()),
                    ])
            }
        } _: { path in
            let store = try SQLiteStore(path: path)
            #expect(
                try store.appliedMigrations() == [
                    "v1-initial-schema", "v2-history-append-order", "v3-derived-task-rows",
                ])
            #expect(try store.events(runSeq: 1) == Array(events[0...1]))
            #expect(try store.events(runSeq: 2) == Array(events[0...1]))
            // New events follow the migrated ones; an event id is still unique within its run.
            try await store.commit([.appendEvents(runSeq: 1, Array(events[2...3]))])
            #expect(try store.events(runSeq: 1) == events)
            #expect(try store.lastEvent(runSeq: 2) == events[1])
            await #expect(throws: (any Error).self) {
                try await store.commit([.appendEvents(runSeq: 2, [events[1]])])
            }
        }
    }

    @Test("moving to derived task rows drops the workflow task table and the activity deadline timers only")
    func derivedTaskRowsMigration() async throws {
        // A database as the second release left it: a pending task's row, an activity with its deadline timer.
        try await withOlderDatabase(migratedUpTo: "v2-history-append-order") { db in
            try db.execute(sql: "INSERT INTO workflow_tasks VALUES (1, 2, 1, 'q', 3)")
            for (key, eventId) in [("activity-deadline/5", 5), ("activity-retry/5", 5), ("user/t", 6)] {
                try db.execute(sql: "INSERT INTO timers VALUES (1, ?, 99, ?)", arguments: [key, eventId])
            }
        } _: { path in
            let store = try SQLiteStore(path: path)
            #expect(try store.appliedMigrations().last == "v3-derived-task-rows")
            #expect(try store.loadRecoveredState().timers.map(\.key).sorted() == ["activity-retry/5", "user/t"])
            let tables = try await DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'table'")
            }
            #expect(!tables.contains("workflow_tasks"))
        }
    }

    @Test("SQLite keeps no memory statistics (each of its allocations would take a process-wide mutex)")
    func memoryStatisticsOff() async throws {
        try await withStore { store, _ in
            #expect(SQLiteStore.memoryStatisticsOff)
            try await store.commit([.upsertExecution(row(1), state: ["a": 1] as JSONValue)])
            #expect(try store.execution(runId: "run-1") != nil)
            #expect(sqlite3_memory_used() == 0, "SQLite counted \(sqlite3_memory_used()) bytes in use")
        }
    }

    @Test("a state update changes the history length and state only, and fails the batch for a missing row")
    func updateExecutionState() async throws {
        try await withStore { store, _ in
            var first = row(1)
            first.searchAttributes = ["service": "payment-api"]
            try await store.commit([.upsertExecution(first, state: ["a": 1] as JSONValue)])
            try await store.commit([.updateExecutionState(runSeq: 1, historyLength: 7, state: ["a": 2] as JSONValue)])
            var expected = first
            expected.historyLength = 7
            #expect(try store.execution(runId: "run-1") == expected)
            let recovered = try #require(try store.loadRecoveredState().executions.first)
            #expect(try MessageCodec.decode(JSONValue.self, from: recovered.state) == ["a": 2])
            await #expect(throws: StoreError.self) {
                try await store.commit([
                    .updateExecutionState(runSeq: 1, historyLength: 9, state: ["a": 3] as JSONValue),
                    .updateExecutionState(runSeq: 2, historyLength: 1, state: ["a": 1] as JSONValue),
                ])
            }
            #expect(try store.execution(runId: "run-1")?.historyLength == 7, "the failed batch changed nothing")
        }
    }

    @Test("a failing batch changes nothing")
    func atomicBatch() async throws {
        try await withStore { store, _ in
            let event = HistoryEvent(
                eventId: 1, eventTime: Timestamp(milliseconds: 1),
                attributes: .workflowTaskScheduled(.init(taskQueue: "q", startToCloseTimeoutMs: 1, attempt: 1)))
            try await store.commit([.appendEvents(runSeq: 1, [event])])
            let error = await #expect(throws: DatabaseError.self) {
                try await store.commit([
                    .upsertExecution(self.row(2), state: [:] as JSONValue),
                    .appendEvents(runSeq: 1, [event]),  // duplicate key
                ])
            }
            #expect(error?.resultCode == .SQLITE_CONSTRAINT)
            #expect(error?.message?.contains("history_events") == true, "\(String(describing: error))")
            #expect(try store.execution(runId: "run-2") == nil)
        }
    }

    @Test("recovery loads open runs with their tasks, activities, timers and buffered events")
    func recoveredState() async throws {
        try await withStore { store, _ in
            let buffered = HistoryEvent(
                eventId: 0, eventTime: Timestamp(milliseconds: 5),
                attributes: .workflowExecutionSignaled(
                    .init(signalName: "x", input: nil, identity: nil, requestId: nil)))
            try await store.commit([
                .upsertExecution(row(1), state: ["a": 1] as JSONValue),
                .upsertExecution(row(2, workflowId: "closed", status: .completed), state: ["a": 2] as JSONValue),
                .putActivity(
                    ActivityRow(
                        runSeq: 1, scheduledEventId: 5, activityId: "1", activityType: "N", taskQueue: "q", attempt: 2),
                    state: ["x": 1] as JSONValue),
                .putTimer(TimerRow(runSeq: 1, key: "user/t", fireTime: Timestamp(milliseconds: 99), eventId: 6)),
                .putBufferedEvent(runSeq: 1, seq: 1, buffered),
                .putRequestId(
                    RequestIdRow(
                        requestId: "r", kind: "start", workflowId: "wf", runId: "run-1",
                        createdTime: Timestamp(milliseconds: 1))),
            ])
            let state = try store.loadRecoveredState()
            #expect(state.executions.map(\.row.runId) == ["run-1"])
            #expect(state.maxRunSeq == 2)
            #expect(state.activities.map(\.row.attempt) == [2])
            #expect(state.timers.map(\.key) == ["user/t"])
            #expect(state.bufferedEvents.map(\.event) == [buffered])
            #expect(try store.requestId("r")?.runId == "run-1")
            try await store.commit([.deleteRunState(runSeq: 1)])
            let after = try store.loadRecoveredState()
            #expect(
                after.activities.isEmpty && after.timers.isEmpty
                    && after.bufferedEvents.isEmpty)
        }
    }

    @Test("the visibility index filters and pages newest first")
    func listExecutions() async throws {
        try await withStore { store, _ in
            var operations: [StoreOperation] = []
            for seq in 1...6 {
                var r = row(Int64(seq), workflowId: "incident-\(seq)", status: seq % 2 == 0 ? .completed : .running)
                r.searchAttributes = ["service": .string("s\(seq)")]
                operations.append(.upsertExecution(r, state: [:] as JSONValue))
            }
            try await store.commit(operations)
            #expect(try store.listExecutions(ExecutionFilter(limit: 10)).map(\.runSeq) == [6, 5, 4, 3, 2, 1])
            #expect(try store.listExecutions(ExecutionFilter(status: .running)).map(\.runSeq) == [5, 3, 1])
            #expect(try store.listExecutions(ExecutionFilter(beforeRunSeq: 4, limit: 2)).map(\.runSeq) == [3, 2])
            #expect(
                try store.listExecutions(
                    ExecutionFilter(searchAttribute: SearchAttributeFilter(name: "service", value: "s4"))
                ).map(\.runSeq) == [4])
            #expect(try store.latestExecution(workflowId: "incident-3")?.runId == "run-3")
        }
    }
}
