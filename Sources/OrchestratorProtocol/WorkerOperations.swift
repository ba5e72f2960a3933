// Requests and responses of the worker operations (polling, completing tasks, heartbeats, queries).

public struct PollWorkflowTaskRequest: Sendable, Hashable, Codable {
    public var taskQueue: String
    public var identity: String?
    /// Long-poll limit. Default 60 000 ms; an empty response (`task` absent) comes after it.
    public var timeoutMs: Int64?
    /// Whether this connection answers queries carried by its workflow tasks (`WorkflowTask.queries`,
    /// answered in `CompleteWorkflowTaskRequest.queryResults`). Default false: queries are pushed.
    public var answersQueriesInTasks: Bool?
    /// Whether this connection answers queries pushed while it holds the run's started workflow task
    /// (`WorkflowQuery.taskToken`) in that task's completion, or after it. Default false: such a
    /// query is pushed once the completion arrives, without a token.
    public var answersQueriesOfStartedTasks: Bool?
    /// Whether this connection takes workflow tasks pushed to it (`Push.workflowTask`) when a query
    /// waits for a task that waits for its poll; they carry the query (with `answersQueriesInTasks`).
    /// Default false: such a task waits for the connection's next poll or completion.
    public var acceptsPushedWorkflowTasks: Bool?
    public init(
        taskQueue: String, identity: String? = nil, timeoutMs: Int64? = nil, answersQueriesInTasks: Bool? = nil,
        answersQueriesOfStartedTasks: Bool? = nil, acceptsPushedWorkflowTasks: Bool? = nil
    ) {
        self.taskQueue = taskQueue
        self.identity = identity
        self.timeoutMs = timeoutMs
        self.answersQueriesInTasks = answersQueriesInTasks
        self.answersQueriesOfStartedTasks = answersQueriesOfStartedTasks
        self.acceptsPushedWorkflowTasks = acceptsPushedWorkflowTasks
    }
}

/// A workflow task: history to apply, and a token to answer with.
///
/// `events` runs to the task's WorkflowTaskStarted event. When this connection completed the run's
/// previous task (sticky routing) it starts after `previousStartedEventId`; otherwise it starts at
/// event 1, unless the history is long: a task carries at most 1 000 events (the newest). A worker
/// that lacks earlier events fetches them with `getWorkflowHistory`, up to `events[0].eventId - 1`.
public struct WorkflowTask: Sendable, Hashable, Codable {
    public var taskToken: String
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var taskQueue: String
    public var attempt: Int32
    /// The WorkflowTaskStarted event id of the last completed workflow task, 0 if none.
    public var previousStartedEventId: Int64
    public var startedEventId: Int64
    public var events: [HistoryEvent]
    /// Queries to answer once the task's events are applied, in the completion's `queryResults`
    /// (only to connections that poll with `answersQueriesInTasks`).
    public var queries: [WorkflowQuery]?
    public init(
        taskToken: String, workflowId: String, runId: String, workflowType: String, taskQueue: String,
        attempt: Int32, previousStartedEventId: Int64, startedEventId: Int64, events: [HistoryEvent],
        queries: [WorkflowQuery]? = nil
    ) {
        self.taskToken = taskToken
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.attempt = attempt
        self.previousStartedEventId = previousStartedEventId
        self.startedEventId = startedEventId
        self.events = events
        self.queries = queries
    }
}

public struct PollWorkflowTaskResponse: Sendable, Hashable, Codable {
    public var task: WorkflowTask?
    public init(task: WorkflowTask?) { self.task = task }
}

public struct CompleteWorkflowTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var commands: [Command]
    public var identity: String?
    /// Whether this worker keeps the run cached (sticky routing). Default true.
    public var stickyCache: Bool?
    /// Whether the answer should carry the run's next workflow task when the completion schedules one
    /// (events arrived while this task ran), instead of the worker polling for it; when it schedules
    /// none, the task a poll of this connection would get at once, if one waits. Default false.
    public var returnNewWorkflowTask: Bool?
    /// Answers to the task's `queries`, computed after its events were applied. A query left out is
    /// answered later the usual way (pushed once no task is pending).
    public var queryResults: [RespondQueryRequest]?
    public init(
        taskToken: String, commands: [Command], identity: String? = nil, stickyCache: Bool? = nil,
        returnNewWorkflowTask: Bool? = nil, queryResults: [RespondQueryRequest]? = nil
    ) {
        self.taskToken = taskToken
        self.commands = commands
        self.identity = identity
        self.stickyCache = stickyCache
        self.returnNewWorkflowTask = returnNewWorkflowTask
        self.queryResults = queryResults
    }
}

public struct CompleteWorkflowTaskResponse: Sendable, Hashable, Codable {
    /// A workflow task started for this connection, when the request asked for it: the run's next
    /// one if the completion scheduled one, else one that was waiting for a poll. Absent otherwise.
    public var workflowTask: WorkflowTask?
    /// Activities the completion scheduled with `requestEagerExecution`, started for this connection
    /// as if a poll had returned them. Absent when none was.
    public var activityTasks: [ActivityTask]?
    public init(workflowTask: WorkflowTask? = nil, activityTasks: [ActivityTask]? = nil) {
        self.workflowTask = workflowTask
        self.activityTasks = activityTasks
    }
}

public struct FailWorkflowTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var cause: WorkflowTaskFailedCause
    public var failure: Failure
    public var identity: String?
    public init(taskToken: String, cause: WorkflowTaskFailedCause, failure: Failure, identity: String? = nil) {
        self.taskToken = taskToken
        self.cause = cause
        self.failure = failure
        self.identity = identity
    }
}

public struct PollActivityTaskRequest: Sendable, Hashable, Codable {
    public var taskQueue: String
    public var identity: String?
    /// Long-poll limit. Default 60 000 ms; an empty response (`task` absent) comes after it.
    public var timeoutMs: Int64?
    public init(taskQueue: String, identity: String? = nil, timeoutMs: Int64? = nil) {
        self.taskQueue = taskQueue
        self.identity = identity
        self.timeoutMs = timeoutMs
    }
}

public struct ActivityTask: Sendable, Hashable, Codable {
    public var taskToken: String
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var activityId: String
    public var activityType: String
    public var input: JSONValue?
    /// 1 for the first attempt.
    public var attempt: Int32
    public var scheduledTime: Timestamp
    public var currentAttemptScheduledTime: Timestamp
    public var startedTime: Timestamp
    public var scheduleToCloseTimeoutMs: Int64?
    public var startToCloseTimeoutMs: Int64
    public var heartbeatTimeoutMs: Int64?
    /// Details of the last heartbeat of an earlier attempt, to resume from.
    public var heartbeatDetails: JSONValue?
    public init(
        taskToken: String, workflowId: String, runId: String, workflowType: String, activityId: String,
        activityType: String, input: JSONValue?, attempt: Int32, scheduledTime: Timestamp,
        currentAttemptScheduledTime: Timestamp, startedTime: Timestamp, scheduleToCloseTimeoutMs: Int64?,
        startToCloseTimeoutMs: Int64, heartbeatTimeoutMs: Int64?, heartbeatDetails: JSONValue?
    ) {
        self.taskToken = taskToken
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.activityId = activityId
        self.activityType = activityType
        self.input = input
        self.attempt = attempt
        self.scheduledTime = scheduledTime
        self.currentAttemptScheduledTime = currentAttemptScheduledTime
        self.startedTime = startedTime
        self.scheduleToCloseTimeoutMs = scheduleToCloseTimeoutMs
        self.startToCloseTimeoutMs = startToCloseTimeoutMs
        self.heartbeatTimeoutMs = heartbeatTimeoutMs
        self.heartbeatDetails = heartbeatDetails
    }

    /// The idempotency key of this activity: the same for every attempt.
    public var idempotencyKey: String { "\(workflowId)/\(runId)/\(activityId)" }
}

public struct PollActivityTaskResponse: Sendable, Hashable, Codable {
    public var task: ActivityTask?
    public init(task: ActivityTask?) { self.task = task }
}

public struct CompleteActivityTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var result: JSONValue?
    public var identity: String?
    public init(taskToken: String, result: JSONValue?, identity: String? = nil) {
        self.taskToken = taskToken
        self.result = result
        self.identity = identity
    }
}

public struct FailActivityTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var failure: Failure
    public var identity: String?
    public init(taskToken: String, failure: Failure, identity: String? = nil) {
        self.taskToken = taskToken
        self.failure = failure
        self.identity = identity
    }
}

/// The activity saw its cancellation (from a heartbeat response) and stopped.
public struct CancelActivityTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var details: JSONValue?
    public var identity: String?
    public init(taskToken: String, details: JSONValue? = nil, identity: String? = nil) {
        self.taskToken = taskToken
        self.details = details
        self.identity = identity
    }
}

public struct HeartbeatActivityTaskRequest: Sendable, Hashable, Codable {
    public var taskToken: String
    public var details: JSONValue?
    public init(taskToken: String, details: JSONValue? = nil) {
        self.taskToken = taskToken
        self.details = details
    }
}

public struct HeartbeatActivityTaskResponse: Sendable, Hashable, Codable {
    /// The workflow asked to cancel this activity: stop and answer with `cancelActivityTask`.
    public var cancelRequested: Bool
    public init(cancelRequested: Bool) { self.cancelRequested = cancelRequested }
}

/// A query the server pushes to a worker connection; the worker answers with `respondQuery`.
public struct WorkflowQuery: Sendable, Hashable, Codable {
    public var queryId: String
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var taskQueue: String
    public var queryType: String
    public var args: JSONValue?
    /// Set when the query arrived while this connection held the run's started workflow task, and
    /// no event committed since the task started waits for the next one: the task's token. Answer it from the state after
    /// that task's events, in its completion (`queryResults`) or, once that is sent, with
    /// `respondQuery`; never from the state before them.
    public var taskToken: String?
    public init(
        queryId: String, workflowId: String, runId: String, workflowType: String, taskQueue: String,
        queryType: String, args: JSONValue?, taskToken: String? = nil
    ) {
        self.queryId = queryId
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.queryType = queryType
        self.args = args
        self.taskToken = taskToken
    }
}

public struct RespondQueryRequest: Sendable, Hashable, Codable {
    public var queryId: String
    public var result: JSONValue?
    /// Set when the query failed (unknown type, handler threw); `result` is then ignored.
    public var failure: Failure?
    public init(queryId: String, result: JSONValue? = nil, failure: Failure? = nil) {
        self.queryId = queryId
        self.result = result
        self.failure = failure
    }
}

extension ActivityTask {
    /// The task's canonical JSON object, written without Codable's containers (an eager activity
    /// rides in the answer to the completion that scheduled it; 2–3 per incident).
    func directlyEncoded() throws -> CanonicalObjectWriter {
        var object = CanonicalObjectWriter(capacity: 15)
        // In canonical (sorted) key order; absent optionals are left out, as Codable does.
        object.string("activityId", activityId)
        object.string("activityType", activityType)
        object.int("attempt", Int64(attempt))
        object.timestamp("currentAttemptScheduledTime", currentAttemptScheduledTime)
        try object.payload("heartbeatDetails", heartbeatDetails)
        object.int("heartbeatTimeoutMs", heartbeatTimeoutMs)
        try object.payload("input", input)
        object.string("runId", runId)
        object.int("scheduleToCloseTimeoutMs", scheduleToCloseTimeoutMs)
        object.timestamp("scheduledTime", scheduledTime)
        object.int("startToCloseTimeoutMs", startToCloseTimeoutMs)
        object.timestamp("startedTime", startedTime)
        object.string("taskToken", taskToken)
        object.string("workflowId", workflowId)
        object.string("workflowType", workflowType)
        return object
    }
}

extension WorkflowTask {
    /// The task's canonical JSON object, written without Codable's containers (its events too, when
    /// their attribute bytes are known); `encoder` encodes what is not written directly.
    func directlyEncoded(by encoder: ValueEncoder) throws -> EncodedValue {
        var object = CanonicalObjectWriter(capacity: 10)
        // In canonical (sorted) key order; `queries` is left out when nil, as Codable does.
        object.int("attempt", Int64(attempt))
        try object.array("events") { array in
            for (index, event) in events.enumerated() {
                if let direct = event.directlyEncoded {
                    try array.append(direct)
                } else {
                    try array.append(try encoder.encode(event, key: IndexKey(intValue: index)))
                }
            }
        }
        object.int("previousStartedEventId", previousStartedEventId)
        if let queries {
            try object.array("queries") { array in
                for query in queries { array.append(try query.directlyEncoded()) }
            }
        }
        object.string("runId", runId)
        object.int("startedEventId", startedEventId)
        object.string("taskQueue", taskQueue)
        object.string("taskToken", taskToken)
        object.string("workflowId", workflowId)
        object.string("workflowType", workflowType)
        return .raw(object.finish())
    }

    /// Reads a task straight from the parsed JSON when every part has the plain form (events the
    /// direct reader does not know are read by Codable); nil otherwise, and Codable reads it (or
    /// rejects it with its precise error).
    init?(directFrom node: JSONElement) {
        guard let f = node.object,
            let taskToken = f.string("taskToken"), let workflowId = f.string("workflowId"),
            let runId = f.string("runId"), let workflowType = f.string("workflowType"),
            let taskQueue = f.string("taskQueue"), let attempt = f.int32("attempt"),
            let previous = f.int64("previousStartedEventId"), let started = f.int64("startedEventId"),
            let items = f.first("events")?.array,
            let events = HistoryEvent.list(directFrom: items)
        else { return nil }
        let queries = f.optional("queries") { node -> [WorkflowQuery]? in
            guard let items = node.array else { return nil }
            var read: [WorkflowQuery] = []
            read.reserveCapacity(items.count)
            for item in items {
                guard let fields = item.object, let query = WorkflowQuery(directFrom: fields) else { return nil }
                read.append(query)
            }
            return read
        }
        guard let queries else { return nil }
        self.init(
            taskToken: taskToken, workflowId: workflowId, runId: runId, workflowType: workflowType,
            taskQueue: taskQueue, attempt: attempt, previousStartedEventId: previous, startedEventId: started,
            events: events, queries: queries)
    }
}
