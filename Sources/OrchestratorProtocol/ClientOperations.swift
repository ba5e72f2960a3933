// Requests and responses of the client operations (start, signal, query, describe, history, list…).

/// The first message on every connection.
public struct HelloRequest: Sendable, Hashable, Codable {
    /// The protocol version the client speaks; this document describes version 1.
    public var protocolVersion: Int
    /// Who is connecting, for logs and history (`incident-worker@host:pid`).
    public var identity: String
    /// Required on TCP listeners; ignored on the Unix socket.
    public var token: String?
    public init(protocolVersion: Int = ProtocolVersion.current, identity: String, token: String? = nil) {
        self.protocolVersion = protocolVersion
        self.identity = identity
        self.token = token
    }
}

public struct HelloResponse: Sendable, Hashable, Codable {
    public var protocolVersion: Int
    public var serverVersion: String
    /// The server's name for this connection, as logs and `describe` show it.
    public var connectionId: UInt64
    public var maximumFrameLength: Int
    /// Requests beyond this many in flight on one connection are answered RESOURCE_EXHAUSTED.
    public var maximumRequestsInFlight: Int
    /// What the connection may do: `admin`, `operator`, `responder`, `viewer` or `worker`.
    public var role: String?
    public init(
        protocolVersion: Int, serverVersion: String, connectionId: UInt64, maximumFrameLength: Int,
        maximumRequestsInFlight: Int
    ) {
        self.protocolVersion = protocolVersion
        self.serverVersion = serverVersion
        self.connectionId = connectionId
        self.maximumFrameLength = maximumFrameLength
        self.maximumRequestsInFlight = maximumRequestsInFlight
    }

    public init(
        protocolVersion: Int, serverVersion: String, connectionId: UInt64, maximumFrameLength: Int,
        maximumRequestsInFlight: Int, role: String?
    ) {
        self.init(
            protocolVersion: protocolVersion, serverVersion: serverVersion, connectionId: connectionId,
            maximumFrameLength: maximumFrameLength, maximumRequestsInFlight: maximumRequestsInFlight)
        self.role = role
    }
}

/// An operation with no fields, or a response with nothing to say.
public struct Empty: Sendable, Hashable, Codable {
    public init() {}
}

public struct StartWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var workflowType: String
    public var taskQueue: String
    public var input: JSONValue?
    /// Retrying a start with the same request id returns the first run and starts nothing.
    public var requestId: String?
    public var workflowIdReusePolicy: WorkflowIdReusePolicy?
    public var workflowIdConflictPolicy: WorkflowIdConflictPolicy?
    /// Default 10 000 ms.
    public var workflowTaskTimeoutMs: Int64?
    public var searchAttributes: [String: JSONValue]?
    public var identity: String?
    public init(
        workflowId: String, workflowType: String, taskQueue: String, input: JSONValue? = nil,
        requestId: String? = nil, workflowIdReusePolicy: WorkflowIdReusePolicy? = nil,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy? = nil, workflowTaskTimeoutMs: Int64? = nil,
        searchAttributes: [String: JSONValue]? = nil, identity: String? = nil
    ) {
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.requestId = requestId
        self.workflowIdReusePolicy = workflowIdReusePolicy
        self.workflowIdConflictPolicy = workflowIdConflictPolicy
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
        self.searchAttributes = searchAttributes
        self.identity = identity
    }
}

public struct StartWorkflowResponse: Sendable, Hashable, Codable {
    public var runId: String
    /// False when an existing run was returned (request-id retry, USE_EXISTING, or signal-with-start on an open run).
    public var started: Bool
    public init(runId: String, started: Bool) {
        self.runId = runId
        self.started = started
    }
}

public struct SignalWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    /// Absent: the workflow id's current run.
    public var runId: String?
    public var signalName: String
    public var input: JSONValue?
    /// Retrying a signal with the same request id delivers it once.
    public var requestId: String?
    public var identity: String?
    public init(
        workflowId: String, runId: String? = nil, signalName: String, input: JSONValue? = nil,
        requestId: String? = nil, identity: String? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.signalName = signalName
        self.input = input
        self.requestId = requestId
        self.identity = identity
    }
}

public struct SignalWorkflowResponse: Sendable, Hashable, Codable {
    public var runId: String
    public init(runId: String) { self.runId = runId }
}

public struct SignalWithStartWorkflowRequest: Sendable, Hashable, Codable {
    public var start: StartWorkflowRequest
    public var signalName: String
    public var signalInput: JSONValue?
    public init(start: StartWorkflowRequest, signalName: String, signalInput: JSONValue? = nil) {
        self.start = start
        self.signalName = signalName
        self.signalInput = signalInput
    }
}

public struct QueryWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var queryType: String
    public var args: JSONValue?
    /// Default 10 000 ms; a worker that does not answer in time gives TIMEOUT.
    public var timeoutMs: Int64?
    public init(
        workflowId: String, runId: String? = nil, queryType: String, args: JSONValue? = nil, timeoutMs: Int64? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.queryType = queryType
        self.args = args
        self.timeoutMs = timeoutMs
    }
}

public struct QueryWorkflowResponse: Sendable, Hashable, Codable {
    public var runId: String
    public var result: JSONValue?
    public init(runId: String, result: JSONValue?) {
        self.runId = runId
        self.result = result
    }
}

public struct DescribeWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public init(workflowId: String, runId: String? = nil) {
        self.workflowId = workflowId
        self.runId = runId
    }
}

/// A run as the visibility index knows it.
public struct WorkflowExecutionInfo: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var taskQueue: String
    public var status: WorkflowExecutionStatus
    public var startTime: Timestamp
    public var closeTime: Timestamp?
    public var historyLength: Int64
    public var searchAttributes: [String: JSONValue]?
    public init(
        workflowId: String, runId: String, workflowType: String, taskQueue: String,
        status: WorkflowExecutionStatus, startTime: Timestamp, closeTime: Timestamp?, historyLength: Int64,
        searchAttributes: [String: JSONValue]?
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.status = status
        self.startTime = startTime
        self.closeTime = closeTime
        self.historyLength = historyLength
        self.searchAttributes = searchAttributes
    }
}

public struct PendingWorkflowTaskInfo: Sendable, Hashable, Codable {
    public var state: PendingWorkflowTaskState
    public var scheduledTime: Timestamp
    public var startedTime: Timestamp?
    public var attempt: Int32
    /// The worker identity holding the task, when started.
    public var identity: String?
    public init(
        state: PendingWorkflowTaskState, scheduledTime: Timestamp, startedTime: Timestamp?, attempt: Int32,
        identity: String?
    ) {
        self.state = state
        self.scheduledTime = scheduledTime
        self.startedTime = startedTime
        self.attempt = attempt
        self.identity = identity
    }
}

public struct PendingActivityInfo: Sendable, Hashable, Codable {
    public var activityId: String
    public var activityType: String
    public var scheduledEventId: Int64
    public var state: PendingActivityState
    public var attempt: Int32
    public var maximumAttempts: Int32
    public var scheduledTime: Timestamp
    public var lastStartedTime: Timestamp?
    public var lastHeartbeatTime: Timestamp?
    public var heartbeatDetails: JSONValue?
    public var lastFailure: Failure?
    public var nextAttemptScheduleTime: Timestamp?
    public var lastWorkerIdentity: String?
    public init(
        activityId: String, activityType: String, scheduledEventId: Int64, state: PendingActivityState,
        attempt: Int32, maximumAttempts: Int32, scheduledTime: Timestamp, lastStartedTime: Timestamp?,
        lastHeartbeatTime: Timestamp?, heartbeatDetails: JSONValue?, lastFailure: Failure?,
        nextAttemptScheduleTime: Timestamp?, lastWorkerIdentity: String?
    ) {
        self.activityId = activityId
        self.activityType = activityType
        self.scheduledEventId = scheduledEventId
        self.state = state
        self.attempt = attempt
        self.maximumAttempts = maximumAttempts
        self.scheduledTime = scheduledTime
        self.lastStartedTime = lastStartedTime
        self.lastHeartbeatTime = lastHeartbeatTime
        self.heartbeatDetails = heartbeatDetails
        self.lastFailure = lastFailure
        self.nextAttemptScheduleTime = nextAttemptScheduleTime
        self.lastWorkerIdentity = lastWorkerIdentity
    }
}

public struct PendingTimerInfo: Sendable, Hashable, Codable {
    public var timerId: String
    public var startedEventId: Int64
    public var fireTime: Timestamp
    public init(timerId: String, startedEventId: Int64, fireTime: Timestamp) {
        self.timerId = timerId
        self.startedEventId = startedEventId
        self.fireTime = fireTime
    }
}

public struct PendingChildInfo: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var workflowType: String
    public var initiatedEventId: Int64
    public init(workflowId: String, runId: String?, workflowType: String, initiatedEventId: Int64) {
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.initiatedEventId = initiatedEventId
    }
}

public struct DescribeWorkflowResponse: Sendable, Hashable, Codable {
    public var execution: WorkflowExecutionInfo
    public var pendingWorkflowTask: PendingWorkflowTaskInfo?
    public var pendingActivities: [PendingActivityInfo]
    public var pendingTimers: [PendingTimerInfo]
    public var pendingChildren: [PendingChildInfo]
    /// The worker connection that caches this run and gets its next workflow task, if any.
    public var stickyWorkerIdentity: String?
    public init(
        execution: WorkflowExecutionInfo, pendingWorkflowTask: PendingWorkflowTaskInfo?,
        pendingActivities: [PendingActivityInfo], pendingTimers: [PendingTimerInfo],
        pendingChildren: [PendingChildInfo], stickyWorkerIdentity: String?
    ) {
        self.execution = execution
        self.pendingWorkflowTask = pendingWorkflowTask
        self.pendingActivities = pendingActivities
        self.pendingTimers = pendingTimers
        self.pendingChildren = pendingChildren
        self.stickyWorkerIdentity = stickyWorkerIdentity
    }
}

public struct GetWorkflowHistoryRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    /// Return events with ids greater than this. Default 0 (from the start).
    public var afterEventId: Int64?
    /// Default 1 000, at most 10 000.
    public var maximumPageSize: Int?
    /// When no event follows `afterEventId` and the run is open, wait for one (long poll).
    public var waitNewEvent: Bool?
    /// How long to wait for a new event. Default 60 000 ms; an empty page is returned after it.
    public var timeoutMs: Int64?
    public init(
        workflowId: String, runId: String? = nil, afterEventId: Int64? = nil, maximumPageSize: Int? = nil,
        waitNewEvent: Bool? = nil, timeoutMs: Int64? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.afterEventId = afterEventId
        self.maximumPageSize = maximumPageSize
        self.waitNewEvent = waitNewEvent
        self.timeoutMs = timeoutMs
    }
}

public struct GetWorkflowHistoryResponse: Sendable, Hashable, Codable {
    public var runId: String
    public var events: [HistoryEvent]
    /// More events follow the last one returned; ask again with `afterEventId` = the last event's id.
    public var hasMore: Bool
    /// Whether the run is closed (its history is final).
    public var closed: Bool
    public init(runId: String, events: [HistoryEvent], hasMore: Bool, closed: Bool) {
        self.runId = runId
        self.events = events
        self.hasMore = hasMore
        self.closed = closed
    }
}

public struct AwaitWorkflowResultRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    /// Follow continue-as-new to the last run. Default true.
    public var followRuns: Bool?
    /// Default 60 000 ms; TIMEOUT if the run is still open after it.
    public var timeoutMs: Int64?
    public init(workflowId: String, runId: String? = nil, followRuns: Bool? = nil, timeoutMs: Int64? = nil) {
        self.workflowId = workflowId
        self.runId = runId
        self.followRuns = followRuns
        self.timeoutMs = timeoutMs
    }
}

public struct AwaitWorkflowResultResponse: Sendable, Hashable, Codable {
    public var runId: String
    public var status: WorkflowExecutionStatus
    public var result: JSONValue?
    public var failure: Failure?
    public init(runId: String, status: WorkflowExecutionStatus, result: JSONValue?, failure: Failure?) {
        self.runId = runId
        self.status = status
        self.result = result
        self.failure = failure
    }
}

public struct SearchAttributeFilter: Sendable, Hashable, Codable {
    public var name: String
    public var value: JSONValue
    public init(name: String, value: JSONValue) {
        self.name = name
        self.value = value
    }
}

public struct ListWorkflowsRequest: Sendable, Hashable, Codable {
    public var status: WorkflowExecutionStatus?
    public var workflowType: String?
    public var workflowIdPrefix: String?
    public var searchAttribute: SearchAttributeFilter?
    /// Default 100, at most 1 000.
    public var pageSize: Int?
    /// From the previous page's response.
    public var nextPageToken: String?
    public init(
        status: WorkflowExecutionStatus? = nil, workflowType: String? = nil, workflowIdPrefix: String? = nil,
        searchAttribute: SearchAttributeFilter? = nil, pageSize: Int? = nil, nextPageToken: String? = nil
    ) {
        self.status = status
        self.workflowType = workflowType
        self.workflowIdPrefix = workflowIdPrefix
        self.searchAttribute = searchAttribute
        self.pageSize = pageSize
        self.nextPageToken = nextPageToken
    }
}

public struct ListWorkflowsResponse: Sendable, Hashable, Codable {
    /// Newest first.
    public var executions: [WorkflowExecutionInfo]
    /// Absent on the last page.
    public var nextPageToken: String?
    public init(executions: [WorkflowExecutionInfo], nextPageToken: String?) {
        self.executions = executions
        self.nextPageToken = nextPageToken
    }
}

public struct RequestCancelWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var reason: String?
    public var requestId: String?
    public var identity: String?
    public init(
        workflowId: String, runId: String? = nil, reason: String? = nil, requestId: String? = nil,
        identity: String? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.reason = reason
        self.requestId = requestId
        self.identity = identity
    }
}

public struct TerminateWorkflowRequest: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var reason: String
    public var details: JSONValue?
    /// Retrying a terminate with the same request id succeeds once the run is terminated.
    public var requestId: String?
    public var identity: String?
    public init(
        workflowId: String, runId: String? = nil, reason: String, details: JSONValue? = nil, requestId: String? = nil,
        identity: String? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.reason = reason
        self.details = details
        self.requestId = requestId
        self.identity = identity
    }
}

/// The run an operation acted on.
public struct RunResponse: Sendable, Hashable, Codable {
    public var runId: String
    public init(runId: String) { self.runId = runId }
}
