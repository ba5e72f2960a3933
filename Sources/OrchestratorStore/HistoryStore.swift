import Foundation
import OrchestratorProtocol

/// What the engine needs from persistence. `SQLiteStore` is the implementation; the protocol keeps
/// the engine free of SQL and lets another backend (PostgreSQL) slot in.
///
/// Writes come as batches applied atomically and durably (group commit: one transaction, one fsync
/// per batch). Reads see committed data only.
public protocol HistoryStore: Sendable {
    /// Applies `operations` in order in one transaction and returns after it is durable.
    func commit(_ operations: [StoreOperation]) async throws

    /// Every open run with its tasks, activities, timers and buffered events.
    func loadRecoveredState() throws -> RecoveredState

    /// The run with this id.
    func execution(runId: String) throws -> ExecutionRow?

    /// The newest run of a workflow id.
    func latestExecution(workflowId: String) throws -> ExecutionRow?

    /// A request id already applied.
    func requestId(_ requestId: String) throws -> RequestIdRow?

    /// Calls `body` with every request id recorded, in no particular order, from one snapshot.
    /// `body` may throw to stop early.
    func forEachRequestId(_ body: (String) throws -> Void) throws

    /// Calls `body` with every workflow id that has a run, each once, in no particular order, from
    /// one snapshot. `body` may throw to stop early.
    func forEachWorkflowId(_ body: (String) throws -> Void) throws

    /// Events of a run with `afterEventId < eventId ≤ throughEventId`, in order: at most `limit`, and
    /// no more than fit in `maxBytes` of stored attributes (but always at least one).
    func events(runSeq: Int64, afterEventId: Int64, throughEventId: Int64, limit: Int, maxBytes: Int) throws
        -> [HistoryEvent]

    /// The last event of a run.
    func lastEvent(runSeq: Int64) throws -> HistoryEvent?

    /// For each run, its events after `afterEventId`, in order, read in one go (a restart loads the
    /// tails of every open run).
    func eventTails(_ runs: [(runSeq: Int64, afterEventId: Int64)]) throws -> [[HistoryEvent]]

    /// Runs matching `filter`, newest first.
    func listExecutions(_ filter: ExecutionFilter) throws -> [ExecutionRow]
}

extension HistoryStore {
    public func eventTails(_ runs: [(runSeq: Int64, afterEventId: Int64)]) throws -> [[HistoryEvent]] {
        try runs.map { try events(runSeq: $0.runSeq, afterEventId: $0.afterEventId) }
    }

    /// All events of a run after `afterEventId`.
    public func events(runSeq: Int64, afterEventId: Int64 = 0) throws -> [HistoryEvent] {
        try events(runSeq: runSeq, afterEventId: afterEventId, throughEventId: .max, limit: .max, maxBytes: .max)
    }

    /// Events in a range, at most `limit`.
    public func events(runSeq: Int64, afterEventId: Int64, throughEventId: Int64, limit: Int) throws -> [HistoryEvent] {
        try events(
            runSeq: runSeq, afterEventId: afterEventId, throughEventId: throughEventId, limit: limit, maxBytes: .max)
    }
}

/// Errors of the store, with the path and the step that failed.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
