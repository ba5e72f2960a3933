// Attribute types of history events. Field names follow Temporal's; durations are milliseconds (`…Ms`).

public struct WorkflowExecutionStartedAttributes: Sendable, Hashable, Codable {
    public var workflowType: String
    public var taskQueue: String
    public var input: JSONValue?
    public var workflowTaskTimeoutMs: Int64
    public var identity: String?
    public var requestId: String?
    /// Always 1 here (workflow retries, which would count attempts, are not supported); continue-as-new
    /// starts its new run at 1, as Temporal does.
    public var attempt: Int32
    public var firstExecutionRunId: String
    public var continuedExecutionRunId: String?
    public var parentWorkflowId: String?
    public var parentRunId: String?
    public var parentInitiatedEventId: Int64?
    public var searchAttributes: [String: JSONValue]?

    public init(
        workflowType: String, taskQueue: String, input: JSONValue?, workflowTaskTimeoutMs: Int64,
        identity: String?, requestId: String?, attempt: Int32, firstExecutionRunId: String,
        continuedExecutionRunId: String? = nil, parentWorkflowId: String? = nil, parentRunId: String? = nil,
        parentInitiatedEventId: Int64? = nil, searchAttributes: [String: JSONValue]? = nil
    ) {
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
        self.identity = identity
        self.requestId = requestId
        self.attempt = attempt
        self.firstExecutionRunId = firstExecutionRunId
        self.continuedExecutionRunId = continuedExecutionRunId
        self.parentWorkflowId = parentWorkflowId
        self.parentRunId = parentRunId
        self.parentInitiatedEventId = parentInitiatedEventId
        self.searchAttributes = searchAttributes
    }
}

public struct WorkflowExecutionCompletedAttributes: Sendable, Hashable, Codable {
    public var result: JSONValue?
    public var workflowTaskCompletedEventId: Int64
    public init(result: JSONValue?, workflowTaskCompletedEventId: Int64) {
        self.result = result
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct WorkflowExecutionFailedAttributes: Sendable, Hashable, Codable {
    public var failure: Failure
    public var workflowTaskCompletedEventId: Int64
    public init(failure: Failure, workflowTaskCompletedEventId: Int64) {
        self.failure = failure
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct WorkflowExecutionCanceledAttributes: Sendable, Hashable, Codable {
    public var details: JSONValue?
    public var workflowTaskCompletedEventId: Int64
    public init(details: JSONValue?, workflowTaskCompletedEventId: Int64) {
        self.details = details
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct WorkflowExecutionCancelRequestedAttributes: Sendable, Hashable, Codable {
    public var reason: String?
    public var identity: String?
    public init(reason: String?, identity: String?) {
        self.reason = reason
        self.identity = identity
    }
}

public struct WorkflowExecutionTerminatedAttributes: Sendable, Hashable, Codable {
    public var reason: String
    public var details: JSONValue?
    public var identity: String?
    public init(reason: String, details: JSONValue?, identity: String?) {
        self.reason = reason
        self.details = details
        self.identity = identity
    }
}

public struct WorkflowExecutionContinuedAsNewAttributes: Sendable, Hashable, Codable {
    public var newExecutionRunId: String
    public var workflowType: String
    public var taskQueue: String
    public var input: JSONValue?
    public var workflowTaskTimeoutMs: Int64
    public var workflowTaskCompletedEventId: Int64
    public init(
        newExecutionRunId: String, workflowType: String, taskQueue: String, input: JSONValue?,
        workflowTaskTimeoutMs: Int64, workflowTaskCompletedEventId: Int64
    ) {
        self.newExecutionRunId = newExecutionRunId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct WorkflowExecutionSignaledAttributes: Sendable, Hashable, Codable {
    public var signalName: String
    public var input: JSONValue?
    public var identity: String?
    public var requestId: String?
    public init(signalName: String, input: JSONValue?, identity: String?, requestId: String?) {
        self.signalName = signalName
        self.input = input
        self.identity = identity
        self.requestId = requestId
    }
}

public struct WorkflowTaskScheduledAttributes: Sendable, Hashable, Codable {
    public var taskQueue: String
    public var startToCloseTimeoutMs: Int64
    public var attempt: Int32
    public init(taskQueue: String, startToCloseTimeoutMs: Int64, attempt: Int32) {
        self.taskQueue = taskQueue
        self.startToCloseTimeoutMs = startToCloseTimeoutMs
        self.attempt = attempt
    }
}

public struct WorkflowTaskStartedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var identity: String?
    public init(scheduledEventId: Int64, identity: String?) {
        self.scheduledEventId = scheduledEventId
        self.identity = identity
    }
}

public struct WorkflowTaskCompletedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var identity: String?
    public init(scheduledEventId: Int64, startedEventId: Int64, identity: String?) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.identity = identity
    }
}

public struct WorkflowTaskFailedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var cause: WorkflowTaskFailedCause
    public var failure: Failure?
    public var identity: String?
    public init(
        scheduledEventId: Int64, startedEventId: Int64, cause: WorkflowTaskFailedCause, failure: Failure?,
        identity: String?
    ) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.cause = cause
        self.failure = failure
        self.identity = identity
    }
}

public struct WorkflowTaskTimedOutAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var timeoutType: TimeoutType
    public init(scheduledEventId: Int64, startedEventId: Int64, timeoutType: TimeoutType) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.timeoutType = timeoutType
    }
}

public struct ActivityTaskScheduledAttributes: Sendable, Hashable, Codable {
    public var activityId: String
    public var activityType: String
    public var taskQueue: String
    public var input: JSONValue?
    public var scheduleToCloseTimeoutMs: Int64?
    public var startToCloseTimeoutMs: Int64
    public var heartbeatTimeoutMs: Int64?
    public var retryPolicy: RetryPolicy
    public var workflowTaskCompletedEventId: Int64
    public init(
        activityId: String, activityType: String, taskQueue: String, input: JSONValue?,
        scheduleToCloseTimeoutMs: Int64?, startToCloseTimeoutMs: Int64, heartbeatTimeoutMs: Int64?,
        retryPolicy: RetryPolicy, workflowTaskCompletedEventId: Int64
    ) {
        self.activityId = activityId
        self.activityType = activityType
        self.taskQueue = taskQueue
        self.input = input
        self.scheduleToCloseTimeoutMs = scheduleToCloseTimeoutMs
        self.startToCloseTimeoutMs = startToCloseTimeoutMs
        self.heartbeatTimeoutMs = heartbeatTimeoutMs
        self.retryPolicy = retryPolicy
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

/// Written together with the activity's outcome (as Temporal does), so retries add no events.
public struct ActivityTaskStartedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var identity: String?
    public var attempt: Int32
    public var lastFailure: Failure?
    public init(scheduledEventId: Int64, identity: String?, attempt: Int32, lastFailure: Failure?) {
        self.scheduledEventId = scheduledEventId
        self.identity = identity
        self.attempt = attempt
        self.lastFailure = lastFailure
    }
}

public struct ActivityTaskCompletedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var result: JSONValue?
    public var identity: String?
    public init(scheduledEventId: Int64, startedEventId: Int64, result: JSONValue?, identity: String?) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.result = result
        self.identity = identity
    }
}

public struct ActivityTaskFailedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var failure: Failure
    public var retryState: RetryState
    public var identity: String?
    public init(
        scheduledEventId: Int64, startedEventId: Int64, failure: Failure, retryState: RetryState, identity: String?
    ) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.failure = failure
        self.retryState = retryState
        self.identity = identity
    }
}

public struct ActivityTaskTimedOutAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var startedEventId: Int64
    public var timeoutType: TimeoutType
    public var failure: Failure
    public var retryState: RetryState
    public init(
        scheduledEventId: Int64, startedEventId: Int64, timeoutType: TimeoutType, failure: Failure,
        retryState: RetryState
    ) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.timeoutType = timeoutType
        self.failure = failure
        self.retryState = retryState
    }
}

public struct ActivityTaskCancelRequestedAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public var workflowTaskCompletedEventId: Int64
    public init(scheduledEventId: Int64, workflowTaskCompletedEventId: Int64) {
        self.scheduledEventId = scheduledEventId
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct ActivityTaskCanceledAttributes: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    /// 0 when the activity was canceled before any attempt started.
    public var startedEventId: Int64
    public var latestCancelRequestedEventId: Int64
    public var details: JSONValue?
    public var identity: String?
    public init(
        scheduledEventId: Int64, startedEventId: Int64, latestCancelRequestedEventId: Int64, details: JSONValue?,
        identity: String?
    ) {
        self.scheduledEventId = scheduledEventId
        self.startedEventId = startedEventId
        self.latestCancelRequestedEventId = latestCancelRequestedEventId
        self.details = details
        self.identity = identity
    }
}

public struct TimerStartedAttributes: Sendable, Hashable, Codable {
    public var timerId: String
    public var startToFireTimeoutMs: Int64
    public var workflowTaskCompletedEventId: Int64
    public init(timerId: String, startToFireTimeoutMs: Int64, workflowTaskCompletedEventId: Int64) {
        self.timerId = timerId
        self.startToFireTimeoutMs = startToFireTimeoutMs
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct TimerFiredAttributes: Sendable, Hashable, Codable {
    public var timerId: String
    public var startedEventId: Int64
    public init(timerId: String, startedEventId: Int64) {
        self.timerId = timerId
        self.startedEventId = startedEventId
    }
}

public struct TimerCanceledAttributes: Sendable, Hashable, Codable {
    public var timerId: String
    public var startedEventId: Int64
    public var workflowTaskCompletedEventId: Int64
    public init(timerId: String, startedEventId: Int64, workflowTaskCompletedEventId: Int64) {
        self.timerId = timerId
        self.startedEventId = startedEventId
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct MarkerRecordedAttributes: Sendable, Hashable, Codable {
    public var markerName: String
    public var details: [String: JSONValue]?
    public var workflowTaskCompletedEventId: Int64
    public init(markerName: String, details: [String: JSONValue]?, workflowTaskCompletedEventId: Int64) {
        self.markerName = markerName
        self.details = details
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct UpsertWorkflowSearchAttributesAttributes: Sendable, Hashable, Codable {
    public var searchAttributes: [String: JSONValue]
    public var workflowTaskCompletedEventId: Int64
    public init(searchAttributes: [String: JSONValue], workflowTaskCompletedEventId: Int64) {
        self.searchAttributes = searchAttributes
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct StartChildWorkflowExecutionInitiatedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var workflowType: String
    public var taskQueue: String
    public var input: JSONValue?
    public var workflowTaskTimeoutMs: Int64
    public var parentClosePolicy: ParentClosePolicy
    public var workflowIdReusePolicy: WorkflowIdReusePolicy
    public var workflowTaskCompletedEventId: Int64
    public init(
        workflowId: String, workflowType: String, taskQueue: String, input: JSONValue?,
        workflowTaskTimeoutMs: Int64, parentClosePolicy: ParentClosePolicy,
        workflowIdReusePolicy: WorkflowIdReusePolicy, workflowTaskCompletedEventId: Int64
    ) {
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
        self.parentClosePolicy = parentClosePolicy
        self.workflowIdReusePolicy = workflowIdReusePolicy
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct StartChildWorkflowExecutionFailedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var workflowType: String
    /// `WORKFLOW_ALREADY_EXISTS`.
    public var cause: String
    public var initiatedEventId: Int64
    public init(workflowId: String, workflowType: String, cause: String, initiatedEventId: Int64) {
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.cause = cause
        self.initiatedEventId = initiatedEventId
    }
}

public struct ChildWorkflowExecutionStartedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var initiatedEventId: Int64
    public init(workflowId: String, runId: String, workflowType: String, initiatedEventId: Int64) {
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.initiatedEventId = initiatedEventId
    }
}

/// Attributes of ChildWorkflowExecutionCompleted, …Failed, …Canceled and …Terminated.
public struct ChildWorkflowExecutionClosedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var initiatedEventId: Int64
    public var startedEventId: Int64
    public var result: JSONValue?
    public var failure: Failure?
    public var details: JSONValue?
    public init(
        workflowId: String, runId: String, workflowType: String, initiatedEventId: Int64, startedEventId: Int64,
        result: JSONValue? = nil, failure: Failure? = nil, details: JSONValue? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.initiatedEventId = initiatedEventId
        self.startedEventId = startedEventId
        self.result = result
        self.failure = failure
        self.details = details
    }
}

public struct SignalExternalWorkflowExecutionInitiatedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var signalName: String
    public var input: JSONValue?
    public var childWorkflowOnly: Bool
    public var workflowTaskCompletedEventId: Int64
    public init(
        workflowId: String, runId: String?, signalName: String, input: JSONValue?, childWorkflowOnly: Bool,
        workflowTaskCompletedEventId: Int64
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.signalName = signalName
        self.input = input
        self.childWorkflowOnly = childWorkflowOnly
        self.workflowTaskCompletedEventId = workflowTaskCompletedEventId
    }
}

public struct SignalExternalWorkflowExecutionFailedAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    /// `EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND`.
    public var cause: String
    public var initiatedEventId: Int64
    public init(workflowId: String, runId: String?, cause: String, initiatedEventId: Int64) {
        self.workflowId = workflowId
        self.runId = runId
        self.cause = cause
        self.initiatedEventId = initiatedEventId
    }
}

public struct ExternalWorkflowExecutionSignaledAttributes: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String
    public var initiatedEventId: Int64
    public init(workflowId: String, runId: String, initiatedEventId: Int64) {
        self.workflowId = workflowId
        self.runId = runId
        self.initiatedEventId = initiatedEventId
    }
}

extension EventAttributes {
    /// The attributes' canonical JSON. The events every incident writes most (workflow-task, signal,
    /// timer and activity start/completion events) are written directly; the others, and a start
    /// that carries a failure, go through Codable. Both give the same bytes.
    public func canonicalJSON() throws -> [UInt8] {
        var object = CanonicalObjectWriter()
        switch self {
        case .workflowTaskScheduled(let a):
            object.int("attempt", Int64(a.attempt))
            object.int("startToCloseTimeoutMs", a.startToCloseTimeoutMs)
            object.string("taskQueue", a.taskQueue)
        case .workflowTaskStarted(let a):
            object.string("identity", a.identity)
            object.int("scheduledEventId", a.scheduledEventId)
        case .workflowTaskCompleted(let a):
            object.string("identity", a.identity)
            object.int("scheduledEventId", a.scheduledEventId)
            object.int("startedEventId", a.startedEventId)
        case .workflowExecutionSignaled(let a):
            object.string("identity", a.identity)
            try object.payload("input", a.input)
            object.string("requestId", a.requestId)
            object.string("signalName", a.signalName)
        case .activityTaskStarted(let a) where a.lastFailure == nil:
            object.int("attempt", Int64(a.attempt))
            object.string("identity", a.identity)
            object.int("scheduledEventId", a.scheduledEventId)
        case .activityTaskCompleted(let a):
            object.string("identity", a.identity)
            try object.payload("result", a.result)
            object.int("scheduledEventId", a.scheduledEventId)
            object.int("startedEventId", a.startedEventId)
        case .timerStarted(let a):
            object.int("startToFireTimeoutMs", a.startToFireTimeoutMs)
            object.string("timerId", a.timerId)
            object.int("workflowTaskCompletedEventId", a.workflowTaskCompletedEventId)
        case .timerCanceled(let a):
            object.int("startedEventId", a.startedEventId)
            object.string("timerId", a.timerId)
            object.int("workflowTaskCompletedEventId", a.workflowTaskCompletedEventId)
        case .activityTaskScheduled(let a):
            object.string("activityId", a.activityId)
            object.string("activityType", a.activityType)
            object.int("heartbeatTimeoutMs", a.heartbeatTimeoutMs)
            try object.payload("input", a.input)
            object.raw("retryPolicy", try a.retryPolicy.canonicalJSON())
            object.int("scheduleToCloseTimeoutMs", a.scheduleToCloseTimeoutMs)
            object.int("startToCloseTimeoutMs", a.startToCloseTimeoutMs)
            object.string("taskQueue", a.taskQueue)
            object.int("workflowTaskCompletedEventId", a.workflowTaskCompletedEventId)
        case .workflowExecutionStarted(let a) where a.searchAttributes == nil:
            object.int("attempt", Int64(a.attempt))
            object.string("continuedExecutionRunId", a.continuedExecutionRunId)
            object.string("firstExecutionRunId", a.firstExecutionRunId)
            object.string("identity", a.identity)
            try object.payload("input", a.input)
            object.int("parentInitiatedEventId", a.parentInitiatedEventId)
            object.string("parentRunId", a.parentRunId)
            object.string("parentWorkflowId", a.parentWorkflowId)
            object.string("requestId", a.requestId)
            object.string("taskQueue", a.taskQueue)
            object.int("workflowTaskTimeoutMs", a.workflowTaskTimeoutMs)
            object.string("workflowType", a.workflowType)
        case .workflowExecutionCompleted(let a):
            try object.payload("result", a.result)
            object.int("workflowTaskCompletedEventId", a.workflowTaskCompletedEventId)
        default:
            return try MessageCodec.encodeBytes(self)
        }
        return object.finish()
    }
}

/// A type that writes its own canonical JSON, the bytes ``MessageCodec/encodeBytes(_:)`` gives for
/// it, without Codable's containers. Stores and writers use it on hot paths.
public protocol CanonicalJSONEncodable: Encodable {
    func canonicalJSON() throws -> [UInt8]
}
