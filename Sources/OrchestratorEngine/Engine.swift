import DequeModule
import Foundation
import HeapModule
import Logging
import OrchestratorProtocol
import OrchestratorStore

/// The orchestrator's engine: workflow executions, task queues, timers, sticky routing and group commit.
///
/// One actor owns all state, so every change is applied in one order. A change is applied to memory,
/// its writes join the pending batch, and its caller is answered only after that batch commits
/// (durable acknowledgement). Changes arriving while a commit is in flight share the next batch
/// and its one fsync (group commit). Tasks become visible to workers only once committed.
///
/// The engine knows nothing of sockets: the server calls ``handleImmediately(_:from:answer:)`` on
/// the engine's executor for each request, or ``handle(_:from:)`` for those that wait for more than
/// their commit, and ``connectionClosed(_:)`` when a connection goes away.
///
/// The actor runs on the serial executor it is given: the server gives the event loop its
/// connections are served on, so a request read and decoded there reaches the engine, and its
/// answer the socket, without a switch of threads. Without one it runs on a queue of its own.
/// As on any actor, other work may run at each `await`, even one that registers a waiter (on the
/// server's loop it does): every wait checks its condition again where it registers.
public actor Engine {
    private nonisolated let executor: any SerialExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let store: any HistoryStore
    let clock: any EngineClock
    let configuration: EngineConfiguration
    let logger: Logger

    // Runs in memory: every open run, and closed runs until their close is committed.
    var executions: [Int64: Execution] = [:]
    var runSeqByRunId: [String: Int64] = [:]
    var currentRunByWorkflowId: [String: Int64] = [:]
    var nextRunSeq: Int64 = 1

    // Task queues and connections.
    var taskQueues: [String: TaskQueueState] = [:]
    var connections: [UInt64: ConnectionState] = [:]
    var nextWaiterId: UInt64 = 1

    // Timers.
    var timerHeap = Heap<TimerEntry>()
    var nextTimerSeq: UInt64 = 1
    var timerSleeper: Task<Void, Never>?
    var timerSleeperDeadline: Int64?
    var sweeper: Task<Void, Never>?

    // Waiters.
    var queries: [String: PendingQuery] = [:]
    /// Queries asked and not yet answered (for tests and diagnostics).
    public var pendingQueryCount: Int { queries.count }
    var historyWaiters: [Int64: [RunWaiter<Void>]] = [:]
    var closeWaiters: [Int64: [RunWaiter<ClosedRun>]] = [:]

    var pendingWorkflowTaskRetryAttempts: [Int64: Int32] = [:]

    // Request ids applied but not yet committed (the store answers for committed ones).
    var uncommittedRequestIds: [String: RequestIdRow] = [:]
    /// Filters of every request id recorded and every workflow id that has had a run, once built
    /// from the store after the start: a new key (nearly every one) needs no read of the store.
    var keyFilters = KeyFilters()

    // Group commit.
    var pendingOperations: [StoreOperation] = []
    var pendingDirty: [Execution] = []
    var pendingActions: [PostCommitAction] = []
    /// What the requests that wait for the pending batch wait on; nil until one waits.
    var pendingTicket: CommitTicket?
    var pendingTicketHolders = 0
    /// When the signals of the pending batch arrived (statistics only).
    var pendingSignalArrivals: [ContinuousClock.Instant] = []
    var commitInFlight = false
    /// The batch being committed, for requests with nothing pending that wait for it.
    var inFlightTicket: CommitTicket?
    /// Batches are numbered from 1 as they are sealed; they commit in that order. What is applied
    /// now joins batch `sealedBatches + 1`; it is durable once `committedBatches` reaches that.
    var sealedBatches: Int64 = 0
    var committedBatches: Int64 = 0
    var storageFailure: String?
    var started = false
    /// Set by ``shutdown()``: no timer is armed any more.
    var stopped = false

    /// Statistics of the commit pipeline, for benchmarks and `describe`.
    public internal(set) var statistics = EngineStatistics()

    /// Called once if a commit fails: the engine then refuses every request, and the process should exit.
    private let onStorageFailure: @Sendable (String) -> Void

    public init(
        store: any HistoryStore, clock: any EngineClock = SystemClock(), configuration: EngineConfiguration = .init(),
        logger: Logger = Logger(label: "orchestrator.engine"),
        onStorageFailure: @escaping @Sendable (String) -> Void = { _ in },
        executor: (any SerialExecutor)? = nil
    ) {
        self.executor = executor ?? QueueExecutor(label: "orchestrator.engine")
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.onStorageFailure = onStorageFailure
    }

    /// Loads every open run from the store, re-queues pending tasks, and fires timers that came due
    /// while the server was down. Call once before serving.
    public func start() async throws {
        guard !started else { return }
        started = true
        try await recover()
        buildKeyFilter(.requestIds, capacity: configuration.requestIdFilterCapacity)
        buildKeyFilter(.workflowIds, capacity: configuration.workflowIdFilterCapacity)
        sweeper = Task { [weak self, interval = configuration.longPollSweepIntervalMs] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(interval))
                await self?.sweepExpiredWaiters()
            }
        }
    }

    /// Waits for pending writes to commit, answers every waiter, and stops the timers.
    public func shutdown() async {
        try? await awaitDurable()
        // Nothing may wake the engine once this returns: its executor (the server's event loop) goes
        // away next. Stop the background tasks and wait until they are done.
        stopped = true
        let background = [sweeper, timerSleeper].compactMap { $0 } + keyFilters.builders
        keyFilters.requestIds.builder = nil
        keyFilters.workflowIds.builder = nil
        sweeper = nil
        timerSleeper = nil
        timerSleeperDeadline = nil
        for task in background { task.cancel() }
        for task in background { await task.value }
        for (_, connection) in connections { closeConnectionState(connection, reason: "server shutting down") }
        connections.removeAll()
        for (id, query) in queries {
            queries[id] = nil
            query.answer.finish(.failure(.init(.unavailable, "the server is shutting down")))
        }
        for waiters in historyWaiters.values { for waiter in waiters { waiter.continuation.resume(returning: nil) } }
        for waiters in closeWaiters.values { for waiter in waiters { waiter.continuation.resume(returning: nil) } }
        historyWaiters.removeAll()
        closeWaiters.removeAll()
        // Closing the connections released their tasks: commit that too before returning.
        try? await awaitDurable()
    }

    // MARK: - Waiting

    /// Waits until what `register` stores the continuation for resumes it, unless `ready` gives a
    /// value first. Callers check before waiting; `ready` is asked again inside the continuation's
    /// body because the await may suspend before that body runs (on the server's event loop it
    /// does), and other work of the engine may have made the value ready in between: registering
    /// then would wait for a wake-up that already happened.
    func wait<T>(checkingAgain ready: () -> T?, register: (CheckedContinuation<T, Never>) -> Void) async -> T {
        await withCheckedContinuation { continuation in
            if let value = ready() { return continuation.resume(returning: value) }
            register(continuation)
        }
    }

    // MARK: - Group commit

    /// Returns once everything applied so far is committed. Throws UNAVAILABLE if storage failed.
    func awaitDurable() async throws(OrchestratorError) {
        try await commitTicket()?.durable()
    }

    /// What to wait on for everything applied so far to be committed: the pending batch (whose
    /// commit this starts unless one is in flight), the batch in flight, or nothing. Requests wait on
    /// it outside the actor (``Durable``), so that their answers need no further turn on it.
    func commitTicket() throws(OrchestratorError) -> CommitTicket? {
        if let storageFailure { throw OrchestratorError(.unavailable, storageFailure) }
        if hasPendingWrites {
            let ticket = pendingTicket ?? CommitTicket()
            pendingTicket = ticket
            pendingTicketHolders += 1
            scheduleCommit()
            return ticket
        }
        return inFlightTicket
    }

    /// `value`, once what was applied before it is committed.
    func durable<Value: Sendable>(_ value: Value) throws(OrchestratorError) -> Durable<Value> {
        Durable(value: value, ticket: try commitTicket())
    }

    var hasPendingWrites: Bool {
        !pendingOperations.isEmpty || !pendingDirty.isEmpty || !pendingActions.isEmpty
    }

    /// Starts a commit of the pending batch unless one is in flight (then the batch waits for it).
    func scheduleCommit() {
        guard !commitInFlight, hasPendingWrites, storageFailure == nil else { return }
        var operations: [StoreOperation] = []
        var actions: [PostCommitAction] = []
        var eventCount = 0
        for execution in pendingDirty {
            execution.dirty = false
            if let last = execution.unpersisted.last {
                eventCount += execution.unpersisted.count
                operations.append(.appendEvents(runSeq: execution.runSeq, execution.unpersisted))
                execution.unpersisted.removeAll(keepingCapacity: true)
                actions.append(.historyAdvanced(runSeq: execution.runSeq, through: last.eventId))
            }
            let row = execution.row
            if execution.writtenColumns == row.visibilityColumns {
                operations.append(
                    .updateExecutionState(
                        runSeq: row.runSeq, historyLength: row.historyLength, state: execution.persisted))
            } else {
                operations.append(.upsertExecution(row, state: execution.persisted))
                execution.writtenColumns = row.visibilityColumns
            }
        }
        operations.append(contentsOf: pendingOperations)
        actions.append(contentsOf: pendingActions)
        let ticket = pendingTicket ?? CommitTicket()
        pendingTicket = nil
        pendingOperations.removeAll(keepingCapacity: true)
        pendingDirty.removeAll(keepingCapacity: true)
        pendingActions.removeAll(keepingCapacity: true)
        commitInFlight = true
        inFlightTicket = ticket
        sealedBatches += 1
        let batch = sealedBatches
        statistics.batches += 1
        statistics.operations += operations.count
        statistics.events += eventCount
        statistics.largestBatchWaiters = max(statistics.largestBatchWaiters, pendingTicketHolders)
        pendingTicketHolders = 0
        let store = self.store
        let sealed = ContinuousClock.now
        let signalArrivals = pendingSignalArrivals
        pendingSignalArrivals = []
        Task {
            let result: Result<Void, any Error>
            do {
                try await store.commit(operations)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            let done = ContinuousClock.now
            self.statistics.latencies.commit.record(done - sealed)
            for arrival in signalArrivals { self.statistics.latencies.signal.record(done - arrival) }
            self.commitFinished(result, batch: batch, actions: actions, ticket: ticket)
        }
    }

    private func commitFinished(
        _ result: Result<Void, any Error>, batch: Int64, actions: [PostCommitAction], ticket: CommitTicket
    ) {
        commitInFlight = false
        inFlightTicket = nil
        switch result {
        case .success:
            committedBatches = batch
            for action in actions { perform(action) }
            ticket.finish(.success(()))
            scheduleCommit()
        case .failure(let error):
            let message = "the database write failed (\(error)); the server stops accepting requests"
            logger.critical("commit failed", metadata: ["error": "\(error)"])
            storageFailure = message
            let failure = OrchestratorError(.unavailable, message)
            ticket.finish(.failure(failure))
            pendingTicket?.finish(.failure(failure))
            pendingTicket = nil
            onStorageFailure(message)
        }
    }

    func write(_ operation: StoreOperation) {
        pendingOperations.append(operation)
    }

    func afterCommit(_ action: PostCommitAction) {
        pendingActions.append(action)
    }

    func markDirty(_ execution: Execution) {
        if !execution.dirty {
            execution.dirty = true
            pendingDirty.append(execution)
        }
    }

    // MARK: - History

    /// Appends an event to the run's history (no workflow-task logic). Returns its id.
    @discardableResult
    func appendEvent(_ execution: Execution, _ attributes: EventAttributes, at time: Timestamp? = nil) -> Int64 {
        let id = execution.persisted.nextEventId
        execution.persisted.nextEventId += 1
        var event = HistoryEvent(eventId: id, eventTime: time ?? clock.now(), attributes: attributes)
        // Once, here: the store writes these bytes and every task or page carrying the event splices
        // them. Attributes that cannot be encoded fail the commit, as before.
        try? event.encodeAttributesOnce()
        execution.tail.append(event)
        execution.unpersisted.append(event)
        markDirty(execution)
        return id
    }

    /// Adds an event the workflow must see (signal, activity result, timer…): buffered while a workflow
    /// task runs, else appended and a workflow task scheduled if none is.
    func addWorkflowEvent(_ execution: Execution, _ attributes: EventAttributes) {
        guard execution.isOpen else { return }
        if execution.undeliveredSinceBatch == nil { execution.undeliveredSinceBatch = sealedBatches + 1 }
        if execution.completingTask {
            appendEvent(execution, attributes)
            execution.needsWorkflowTask = true
        } else if let task = execution.workflowTask, task.isStarted {
            let seq = execution.persisted.nextBufferSeq
            execution.persisted.nextBufferSeq += 1
            let event = HistoryEvent(eventId: 0, eventTime: clock.now(), attributes: attributes)
            execution.buffered.append(BufferedEvent(seq: seq, event: event))
            write(.putBufferedEvent(runSeq: execution.runSeq, seq: seq, event))
            markDirty(execution)
        } else {
            appendEvent(execution, attributes)
            if execution.workflowTask == nil && !execution.workflowTaskRetryPending {
                scheduleWorkflowTask(execution)
            }
        }
    }

    /// Moves buffered events into history, fixing activity outcomes' started-event references.
    func flushBufferedEvents(_ execution: Execution) {
        guard !execution.buffered.isEmpty else { return }
        var startedIds: [Int64: Int64] = [:]
        for buffered in execution.buffered {
            var attributes = buffered.event.attributes
            switch attributes {
            case .activityTaskCompleted(var a) where a.startedEventId < 0:
                a.startedEventId = startedIds[a.scheduledEventId] ?? 0
                attributes = .activityTaskCompleted(a)
            case .activityTaskFailed(var a) where a.startedEventId < 0:
                a.startedEventId = startedIds[a.scheduledEventId] ?? 0
                attributes = .activityTaskFailed(a)
            case .activityTaskTimedOut(var a) where a.startedEventId < 0:
                a.startedEventId = startedIds[a.scheduledEventId] ?? 0
                attributes = .activityTaskTimedOut(a)
            case .activityTaskCanceled(var a) where a.startedEventId < 0:
                a.startedEventId = startedIds[a.scheduledEventId] ?? 0
                attributes = .activityTaskCanceled(a)
            default:
                break
            }
            let id = appendEvent(execution, attributes, at: buffered.event.eventTime)
            if case .activityTaskStarted(let a) = attributes { startedIds[a.scheduledEventId] = id }
        }
        execution.buffered.removeAll()
        write(.deleteBufferedEvents(runSeq: execution.runSeq))
    }

    /// Appends an activity's ActivityTaskStarted event and its outcome, buffering both while a task runs.
    func addActivityOutcome(
        _ execution: Execution, started: ActivityTaskStartedAttributes,
        outcome: (_ startedEventId: Int64) -> EventAttributes
    ) {
        let buffering = !execution.completingTask && execution.workflowTask?.isStarted == true
        if buffering {
            addWorkflowEvent(execution, .activityTaskStarted(started))
            addWorkflowEvent(execution, outcome(-1))
        } else {
            let startedId = appendEvent(execution, .activityTaskStarted(started))
            addWorkflowEvent(execution, outcome(startedId))
        }
    }

    // MARK: - Lookups

    /// The run a request names: `runId` if given, else the workflow id's current run.
    /// Returns the in-memory run when there is one, else the committed row.
    func resolveRun(workflowId: String, runId: String?) throws(OrchestratorError) -> ResolvedRun {
        if let runId, !runId.isEmpty {
            if let seq = runSeqByRunId[runId], let execution = executions[seq] {
                guard execution.workflowId == workflowId else {
                    throw .notFound("run \(runId) belongs to workflow \(execution.workflowId), not \(workflowId)")
                }
                return .memory(execution)
            }
            let row: ExecutionRow?
            do { row = try store.execution(runId: runId) } catch { throw storeFailure(error) }
            guard let row, row.workflowId == workflowId else {
                throw .notFound("workflow \(workflowId) has no run \(runId)")
            }
            return .stored(row)
        }
        if let seq = currentRunByWorkflowId[workflowId], let execution = executions[seq] {
            return .memory(execution)
        }
        var row: ExecutionRow?
        if mightHold(workflowId, .workflowIds) {
            statistics.workflowIdStoreReads += 1
            do { row = try store.latestExecution(workflowId: workflowId) } catch { throw storeFailure(error) }
        }
        guard let row else {
            throw .notFound("workflow \(workflowId) not found; list workflows with `orchestrator workflow list`")
        }
        return .stored(row)
    }

    /// The open run a request acts on, or the error a closed or missing one gives.
    func openRun(workflowId: String, runId: String?, action: String) throws(OrchestratorError) -> Execution {
        switch try resolveRun(workflowId: workflowId, runId: runId) {
        case .memory(let execution) where execution.isOpen:
            return execution
        case .memory(let execution):
            throw notRunning(workflowId: workflowId, runId: execution.runId, status: execution.status, action: action)
        case .stored(let row):
            throw notRunning(workflowId: workflowId, runId: row.runId, status: row.status, action: action)
        }
    }

    func notRunning(workflowId: String, runId: String, status: WorkflowExecutionStatus, action: String)
        -> OrchestratorError
    {
        OrchestratorError(
            .workflowNotRunning,
            "cannot \(action): workflow \(workflowId) is not running (its latest run \(runId) is \(status.rawValue))",
            details: ["runId": .string(runId), "status": .string(status.rawValue)])
    }

    func storeFailure(_ error: any Error) -> OrchestratorError {
        logger.error("store read failed", metadata: ["error": "\(error)"])
        return OrchestratorError(.internal, "reading the database failed: \(error)")
    }

    func makeWaiterId() -> UInt64 {
        defer { nextWaiterId += 1 }
        return nextWaiterId
    }
}

/// A run found by a lookup: in memory (open, or closing) or only in the store (closed).
enum ResolvedRun {
    case memory(Execution)
    case stored(ExecutionRow)

    var runSeq: Int64 {
        switch self {
        case .memory(let execution): execution.runSeq
        case .stored(let row): row.runSeq
        }
    }

    var runId: String {
        switch self {
        case .memory(let execution): execution.runId
        case .stored(let row): row.runId
        }
    }
}

/// Figures of the commit pipeline.
public struct EngineStatistics: Sendable, Hashable {
    public var batches = 0
    public var operations = 0
    public var events = 0
    public var largestBatchWaiters = 0
    public var runsStarted = 0
    public var runsClosed = 0
    public var signals = 0
    public var queries = 0
    /// Queries pushed to the worker that caches the run although its next workflow task is
    /// pending, because that task carries only events still to commit (none acknowledged).
    public var queriesAnsweredAheadOfTask = 0
    public var workflowTasksStarted = 0
    public var workflowTasksCompleted = 0
    /// Workflow tasks handed out in the answer to the completion of the task before them.
    public var workflowTasksReturnedWithCompletion = 0
    /// Workflow tasks started without a poll and pushed to their worker, because a query waited
    /// for them (connections that poll with `acceptsPushedWorkflowTasks`).
    public var workflowTasksPushed = 0
    public var stickyHits = 0
    public var stickyFallbacks = 0
    public var activitiesStarted = 0
    /// Activities started in the answer to the completion that scheduled them (eager execution).
    public var activitiesStartedEagerly = 0
    public var activitiesCompleted = 0
    public var activityRetries = 0
    public var timersFired = 0
    public var worstTimerLatenessMs: Int64 = 0
    /// Request ids looked up in the store: those the filter could not rule out, or all of them
    /// before it is built.
    public var requestIdStoreReads = 0
    /// Request id filters built (one after the start, one more each time one fills).
    public var requestIdFilterBuilds = 0
    /// Workflow ids whose latest run was looked up in the store: those the filter could not rule
    /// out, or all of them before it is built.
    public var workflowIdStoreReads = 0
    /// Workflow id filters built (one after the start, one more each time one fills).
    public var workflowIdFilterBuilds = 0
    /// Where workflow tasks, commits and queries spend their time.
    public var latencies = EngineLatencies()
}

/// Where workflow tasks, commits and queries spend their time, as the engine sees it (a client also
/// sees its request and the answer cross the connection and the server's loop).
public struct EngineLatencies: Sendable, Hashable {
    /// From a workflow task's scheduling to its start, by how it reached a worker: started when its
    /// commit ended (a poll of the run's worker was waiting) …
    public var taskStartedAtCommit = LatencyHistogram()
    /// … handed back in the answer to the completion of the run's previous task, after that
    /// completion's commit …
    public var taskReturnedWithCompletion = LatencyHistogram()
    /// … after waiting for a poll (or a completion) of the worker that caches the run …
    public var taskWaitedForStickyPoll = LatencyHistogram()
    /// … or after waiting in the task queue for any worker (a run's first task).
    public var taskWaitedInQueue = LatencyHistogram()
    /// From a workflow task's start to its completion's arrival: the worker's turn and the way both
    /// ways over the connection.
    public var taskAtWorker = LatencyHistogram()
    /// A batch's commit, from its sealing to its end on the engine's executor.
    public var commit = LatencyHistogram()
    /// A signal from its arrival in the engine to its commit's end, when it is answered.
    public var signal = LatencyHistogram()
    /// A query from its arrival to its answer, by where the run's workflow task was: none pending …
    public var queryNoTaskPending = LatencyHistogram()
    /// … started at the run's worker, lacking no acknowledged event …
    public var queryCoveredByStartedTask = LatencyHistogram()
    /// … pending with events still to commit only …
    public var queryAheadOfTask = LatencyHistogram()
    /// … or lacking an acknowledged event the worker had to apply first.
    public var queryWaitedForTask = LatencyHistogram()

    public init() {}
}
