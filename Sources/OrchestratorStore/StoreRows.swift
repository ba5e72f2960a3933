import Foundation
import OrchestratorProtocol

/// One workflow run in the visibility index, with the engine's state blob for open runs.
///
/// `runSeq` is the store's compact key of a run: every other table refers to runs by it.
public struct ExecutionRow: Sendable, Hashable {
    public var runSeq: Int64
    public var runId: String
    public var workflowId: String
    public var workflowType: String
    public var taskQueue: String
    public var status: WorkflowExecutionStatus
    public var startTime: Timestamp
    public var closeTime: Timestamp?
    public var historyLength: Int64
    public var searchAttributes: [String: JSONValue]?

    /// The columns besides the history length and state that change while a run lives: when they
    /// have not changed since the row was written, ``StoreOperation/updateExecutionState(runSeq:historyLength:state:)``
    /// suffices.
    public struct VisibilityColumns: Sendable, Hashable {
        public var status: WorkflowExecutionStatus
        public var closeTime: Timestamp?
        public var searchAttributes: [String: JSONValue]?
    }

    public var visibilityColumns: VisibilityColumns {
        VisibilityColumns(status: status, closeTime: closeTime, searchAttributes: searchAttributes)
    }

    public init(
        runSeq: Int64, runId: String, workflowId: String, workflowType: String, taskQueue: String,
        status: WorkflowExecutionStatus, startTime: Timestamp, closeTime: Timestamp?, historyLength: Int64,
        searchAttributes: [String: JSONValue]?
    ) {
        self.runSeq = runSeq
        self.runId = runId
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.status = status
        self.startTime = startTime
        self.closeTime = closeTime
        self.historyLength = historyLength
        self.searchAttributes = searchAttributes
    }

    public var info: WorkflowExecutionInfo {
        WorkflowExecutionInfo(
            workflowId: workflowId, runId: runId, workflowType: workflowType, taskQueue: taskQueue, status: status,
            startTime: startTime, closeTime: closeTime, historyLength: historyLength,
            searchAttributes: searchAttributes)
    }
}

/// A pending activity of an open run. `state` is the engine's blob (attempt, failure, heartbeat…).
public struct ActivityRow: Sendable, Hashable {
    public var runSeq: Int64
    public var scheduledEventId: Int64
    public var activityId: String
    public var activityType: String
    public var taskQueue: String
    public var attempt: Int32
    public init(
        runSeq: Int64, scheduledEventId: Int64, activityId: String, activityType: String, taskQueue: String,
        attempt: Int32
    ) {
        self.runSeq = runSeq
        self.scheduledEventId = scheduledEventId
        self.activityId = activityId
        self.activityType = activityType
        self.taskQueue = taskQueue
        self.attempt = attempt
    }
}

/// A durable timer: a user timer, an activity retry, an activity's schedule-to-close deadline,
/// a workflow task retry.
public struct TimerRow: Sendable, Hashable {
    public var runSeq: Int64
    /// Unique per run: `user/<timerId>`, `activity-retry/<scheduledEventId>`,
    /// `activity-deadline/<scheduledEventId>`, `workflow-task-retry`.
    public var key: String
    public var fireTime: Timestamp
    /// The TimerStarted event of a user timer, the ActivityTaskScheduled event of an activity timer, else 0.
    public var eventId: Int64
    public init(runSeq: Int64, key: String, fireTime: Timestamp, eventId: Int64) {
        self.runSeq = runSeq
        self.key = key
        self.fireTime = fireTime
        self.eventId = eventId
    }
}

/// A request id already applied, so that a retry with it does nothing twice.
public struct RequestIdRow: Sendable, Hashable {
    public var requestId: String
    /// `start` or `signal` or `cancel`.
    public var kind: String
    public var workflowId: String
    public var runId: String
    public var createdTime: Timestamp
    public init(requestId: String, kind: String, workflowId: String, runId: String, createdTime: Timestamp) {
        self.requestId = requestId
        self.kind = kind
        self.workflowId = workflowId
        self.runId = runId
        self.createdTime = createdTime
    }
}

/// One write of a batch. A batch is applied in order, in one transaction.
public enum StoreOperation: Sendable {
    /// Inserts or replaces the run's row; `state`'s canonical JSON goes into the `state` column.
    ///
    /// States are `CanonicalJSONEncodable` (their own writer, or `JSONValue`), not any `Encodable`:
    /// asking an `any Encodable` whether it has a writer of its own (`as? any CanonicalJSONEncodable`)
    /// took the Swift runtime about 1 600 instructions a row (callgrind, `Scripts/instructions`).
    case upsertExecution(ExecutionRow, state: any CanonicalJSONEncodable & Sendable)
    /// Updates an existing row's history length and state only (its other columns are unchanged);
    /// the commit fails if the row does not exist.
    case updateExecutionState(runSeq: Int64, historyLength: Int64, state: any CanonicalJSONEncodable & Sendable)
    /// Appends events (ids must follow the stored ones).
    case appendEvents(runSeq: Int64, [HistoryEvent])
    case putActivity(ActivityRow, state: any CanonicalJSONEncodable & Sendable)
    case deleteActivity(runSeq: Int64, scheduledEventId: Int64)
    case putTimer(TimerRow)
    case deleteTimer(runSeq: Int64, key: String)
    /// An event waiting for the run's running workflow task to finish; ids are assigned when it is flushed.
    case putBufferedEvent(runSeq: Int64, seq: Int64, HistoryEvent)
    case deleteBufferedEvents(runSeq: Int64)
    /// Deletes one buffered event (one the workflow will never see).
    case deleteBufferedEvent(runSeq: Int64, seq: Int64)
    case putRequestId(RequestIdRow)
    /// Deletes a closed run's activities, timers and buffered events.
    case deleteRunState(runSeq: Int64)
}

/// What the engine needs to rebuild its memory after a restart: every open run and what it waits for.
public struct RecoveredState: Sendable {
    public struct Execution: Sendable {
        public var row: ExecutionRow
        public var state: Data
    }
    public struct Activity: Sendable {
        public var row: ActivityRow
        public var state: Data
    }
    public struct BufferedEvent: Sendable {
        public var runSeq: Int64
        public var seq: Int64
        public var event: HistoryEvent
    }
    public var executions: [Execution] = []
    public var activities: [Activity] = []
    public var timers: [TimerRow] = []
    public var bufferedEvents: [BufferedEvent] = []
    public var maxRunSeq: Int64 = 0
    public init() {}
}

/// Filters of the visibility index.
public struct ExecutionFilter: Sendable, Hashable {
    public var status: WorkflowExecutionStatus?
    public var workflowType: String?
    public var workflowIdPrefix: String?
    public var searchAttribute: SearchAttributeFilter?
    /// Only runs with `runSeq` below this (paging, newest first).
    public var beforeRunSeq: Int64?
    public var limit: Int
    public init(
        status: WorkflowExecutionStatus? = nil, workflowType: String? = nil, workflowIdPrefix: String? = nil,
        searchAttribute: SearchAttributeFilter? = nil, beforeRunSeq: Int64? = nil, limit: Int = 100
    ) {
        self.status = status
        self.workflowType = workflowType
        self.workflowIdPrefix = workflowIdPrefix
        self.searchAttribute = searchAttribute
        self.beforeRunSeq = beforeRunSeq
        self.limit = limit
    }
}
