import DequeModule
import OrchestratorProtocol
import OrchestratorStore

/// The state of a run's parent, for child workflows.
struct ParentReference: Codable, Hashable {
    var workflowId: String
    var runId: String
    var initiatedEventId: Int64
}

/// A child workflow a run started and waits for.
struct ChildState: Codable, Hashable {
    var workflowId: String
    var workflowType: String
    var runId: String?
    var initiatedEventId: Int64
    var startedEventId: Int64?
    var parentClosePolicy: ParentClosePolicy
}

/// The scalar part of a run's state, persisted as the `state` blob of its executions row.
struct PersistedExecutionState: Codable {
    var nextEventId: Int64
    /// The WorkflowTaskStarted event id of the last completed workflow task (0 before the first).
    var previousStartedEventId: Int64
    var workflowTaskTimeoutMs: Int64
    var firstExecutionRunId: String
    var runAttempt: Int32
    var cancelRequested: Bool
    var startRequestId: String?
    var parent: ParentReference?
    var children: [Int64: ChildState]
    var nextBufferSeq: Int64
}

extension PersistedExecutionState: CanonicalJSONEncodable {
    /// The state's canonical JSON: written directly for a run without parent or children (every
    /// commit of a run writes it), through Codable otherwise. Both give the same bytes.
    func canonicalJSON() throws -> [UInt8] {
        guard parent == nil, children.isEmpty else { return try MessageCodec.encodeBytes(self) }
        var object = CanonicalObjectWriter(capacity: 9)
        object.bool("cancelRequested", cancelRequested)
        object.raw("children", Self.noChildren)
        object.string("firstExecutionRunId", firstExecutionRunId)
        object.int("nextBufferSeq", nextBufferSeq)
        object.int("nextEventId", nextEventId)
        object.int("previousStartedEventId", previousStartedEventId)
        object.int("runAttempt", Int64(runAttempt))
        object.string("startRequestId", startRequestId)
        object.int("workflowTaskTimeoutMs", workflowTaskTimeoutMs)
        return object.finish()
    }

    /// How Codable writes an empty `children`.
    private static let noChildren = (try? MessageCodec.encodeBytes([Int64: ChildState]())) ?? Array("[]".utf8)
}

/// Where a scheduled workflow task is.
enum WorkflowTaskLocation: Equatable {
    /// Scheduled, waiting for its batch to commit.
    case notReady
    /// Waiting for the connection that caches the run.
    case sticky(UInt64)
    /// In its task queue for any poller.
    case queued
    /// To be handed to this connection in the answer to its completion of the task before it.
    case returnedWithCompletion(UInt64)
    /// Handed to a worker connection.
    case started(UInt64)
    /// Failed; will be scheduled again when the retry timer fires.
    case backoff
}

/// The pending workflow task of a run.
struct WorkflowTaskState {
    var scheduledEventId: Int64
    var attempt: Int32
    var taskQueue: String
    var scheduledTime: Timestamp
    /// Monotonic times of scheduling and start (statistics only).
    var scheduledAt = ContinuousClock.now
    var startedAt = ContinuousClock.now
    var location: WorkflowTaskLocation = .notReady
    var startedEventId: Int64 = 0
    var startedTime: Timestamp?
    var identity: String?
    /// Queries this task carries, to be answered in its completion.
    var queries: [String] = []
    /// Queries pushed with this task's token to the connection holding it, which may answer them in
    /// the completion. Unlike carried ones, one the completion leaves out stays with that connection.
    var pushedQueries: [String] = []

    var isStarted: Bool {
        if case .started = location { return true }
        return false
    }
}

/// Where an activity's current attempt is.
enum ActivityLocation: Equatable {
    case notReady
    /// Scheduled with eager execution by this connection's completion: it is started for that
    /// connection once the completion is durable, and returned in the completion's answer.
    case eager(UInt64)
    case queued
    case started(UInt64)
    /// Waiting for its retry timer.
    case backoff
}

/// A pending activity; the coded part is the `state` blob of its activity_tasks row.
struct ActivityState: Codable {
    var scheduledEventId: Int64
    var activityId: String
    var activityType: String
    var taskQueue: String
    var input: JSONValue?
    var scheduledTime: Timestamp
    var scheduleToCloseTimeoutMs: Int64?
    var startToCloseTimeoutMs: Int64
    var heartbeatTimeoutMs: Int64?
    var retryPolicy: RetryPolicy
    var attempt: Int32
    var attemptScheduledTime: Timestamp
    var nextAttemptTime: Timestamp?
    var lastFailure: Failure?
    var heartbeatDetails: JSONValue?
    var lastHeartbeatTime: Timestamp?
    var lastStartedTime: Timestamp?
    var lastWorkerIdentity: String?
    var cancelRequestedEventId: Int64?

    // In memory only.
    var location: ActivityLocation = .notReady
    var startedConnection: UInt64? {
        if case .started(let connection) = location { return connection }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case scheduledEventId, activityId, activityType, taskQueue, input, scheduledTime, scheduleToCloseTimeoutMs
        case startToCloseTimeoutMs, heartbeatTimeoutMs, retryPolicy, attempt, attemptScheduledTime, nextAttemptTime
        case lastFailure, heartbeatDetails, lastHeartbeatTime, lastStartedTime, lastWorkerIdentity
        case cancelRequestedEventId
    }

    var deadline: Timestamp? {
        scheduleToCloseTimeoutMs.map { scheduledTime.adding(milliseconds: $0) }
    }
}

extension ActivityState: CanonicalJSONEncodable {
    /// The coded part's canonical JSON: written directly unless the activity carries a failure,
    /// through Codable then. Both give the same bytes.
    func canonicalJSON() throws -> [UInt8] {
        guard lastFailure == nil else { return try MessageCodec.encodeBytes(self) }
        var object = CanonicalObjectWriter(capacity: 18)
        object.string("activityId", activityId)
        object.string("activityType", activityType)
        object.int("attempt", Int64(attempt))
        object.timestamp("attemptScheduledTime", attemptScheduledTime)
        object.int("cancelRequestedEventId", cancelRequestedEventId)
        try object.payload("heartbeatDetails", heartbeatDetails)
        object.int("heartbeatTimeoutMs", heartbeatTimeoutMs)
        try object.payload("input", input)
        object.timestamp("lastHeartbeatTime", lastHeartbeatTime)
        object.timestamp("lastStartedTime", lastStartedTime)
        object.string("lastWorkerIdentity", lastWorkerIdentity)
        object.timestamp("nextAttemptTime", nextAttemptTime)
        object.raw("retryPolicy", try retryPolicy.canonicalJSON())
        object.int("scheduleToCloseTimeoutMs", scheduleToCloseTimeoutMs)
        object.int("scheduledEventId", scheduledEventId)
        object.timestamp("scheduledTime", scheduledTime)
        object.int("startToCloseTimeoutMs", startToCloseTimeoutMs)
        object.string("taskQueue", taskQueue)
        return object.finish()
    }
}

/// A user timer of a run.
struct UserTimer {
    var timerId: String
    var startedEventId: Int64
    var fireTime: Timestamp
}

/// An event that arrived while the run's workflow task was running; it joins history when the task ends.
struct BufferedEvent {
    var seq: Int64
    var event: HistoryEvent

    /// Whether this is the firing of timer `timerId`.
    func firesTimer(_ timerId: String) -> Bool {
        if case .timerFired(let a) = event.attributes { return a.timerId == timerId }
        return false
    }
}

/// Everything the engine holds in memory about one run. Confined to the engine actor.
final class Execution {
    let runSeq: Int64
    let runId: String
    let workflowId: String
    let workflowType: String
    let taskQueue: String
    let startTime: Timestamp
    var status: WorkflowExecutionStatus = .running
    var closeTime: Timestamp?
    var searchAttributes: [String: JSONValue]?
    var persisted: PersistedExecutionState

    var workflowTask: WorkflowTaskState?
    var activities: [Int64: ActivityState] = [:]
    var activityIds: [String: Int64] = [:]
    var timers: [String: UserTimer] = [:]
    var buffered: [BufferedEvent] = []
    /// Set when a workflow task retry is waiting on its timer.
    var workflowTaskRetryPending = false

    /// Events after `previousStartedEventId`: what a sticky worker needs next.
    var tail: [HistoryEvent] = []
    /// Events appended since the last batch was sealed.
    var unpersisted: [HistoryEvent] = []
    /// The highest event id known to be committed.
    var committedEventId: Int64 = 0
    /// Whether the run's row must be written in the next batch.
    var dirty = false
    /// The row's visibility columns as last written (nil before its first write): while they are
    /// unchanged a batch updates only the history length and the state blob, and leaves the
    /// row's indexed columns alone.
    var writtenColumns: ExecutionRow.VisibilityColumns?
    /// The worker connection that completed the last workflow task and caches the run.
    var stickyConnection: UInt64?
    /// Queries waiting for the running or scheduled workflow task to complete.
    var queriesAwaitingTask: [String] = []
    /// Of `queriesAwaitingTask`, those that arrived while the started task already held every event
    /// acknowledged before them: its worker can answer them as soon as it completes that task,
    /// without waiting for the completion's commit. Emptied whenever a task starts.
    var queriesCoveredByStartedTask: [String] = []
    /// The batch of the oldest event the workflow must see that no workflow task handed out has
    /// carried yet (nil: none). While that batch is not committed, no event the run's worker lacks
    /// has been acknowledged, so the worker's state answers a query (`Engine.askQuery`). 0 after a
    /// task failed or timed out: the worker's state is not to be trusted until a task starts.
    var undeliveredSinceBatch: Int64?
    /// Whether every event the run's workflow task handed out last lacks is still uncommitted.
    func lacksOnlyUncommittedEvents(committedBatches: Int64) -> Bool {
        guard let batch = undeliveredSinceBatch else { return true }
        return batch > committedBatches
    }
    /// Set while a workflow task completion is being applied: new events then wait for its end.
    var completingTask = false
    var needsWorkflowTask = false

    init(
        runSeq: Int64, runId: String, workflowId: String, workflowType: String, taskQueue: String,
        startTime: Timestamp, searchAttributes: [String: JSONValue]?, persisted: PersistedExecutionState
    ) {
        self.runSeq = runSeq
        self.runId = runId
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.startTime = startTime
        self.searchAttributes = searchAttributes
        self.persisted = persisted
    }

    var isOpen: Bool { status.isOpen }
    var nextEventId: Int64 { persisted.nextEventId }
    /// Closed, with every event up to its closing one committed.
    var isClosedAndCommitted: Bool { !isOpen && committedEventId >= nextEventId - 1 }

    var row: ExecutionRow {
        ExecutionRow(
            runSeq: runSeq, runId: runId, workflowId: workflowId, workflowType: workflowType, taskQueue: taskQueue,
            status: status, startTime: startTime, closeTime: closeTime, historyLength: persisted.nextEventId - 1,
            searchAttributes: searchAttributes)
    }

    var info: WorkflowExecutionInfo { row.info }

    /// Timers that fired while the workflow task ran (their TimerFired waits in the buffer): id → started event.
    var bufferedTimerFirings: [String: Int64] {
        var firings: [String: Int64] = [:]
        for buffered in buffered {
            if case .timerFired(let a) = buffered.event.attributes { firings[a.timerId] = a.startedEventId }
        }
        return firings
    }

    /// Activities whose outcome arrived while the workflow task ran (scheduled event ids).
    var bufferedActivityOutcomes: Set<Int64> {
        var ids: Set<Int64> = []
        for buffered in buffered {
            switch buffered.event.attributes {
            case .activityTaskCompleted(let a): ids.insert(a.scheduledEventId)
            case .activityTaskFailed(let a): ids.insert(a.scheduledEventId)
            case .activityTaskTimedOut(let a): ids.insert(a.scheduledEventId)
            case .activityTaskCanceled(let a): ids.insert(a.scheduledEventId)
            default: break
            }
        }
        return ids
    }
}
