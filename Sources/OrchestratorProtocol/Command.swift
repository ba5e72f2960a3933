/// What a workflow task asks the server to do, by Temporal's command names.
///
/// On the wire: `{"commandType": "StartTimer", "attributes": {"timerId": "1", "startToFireTimeoutMs": 30000}}`.
public enum Command: Sendable, Hashable {
    case scheduleActivityTask(ScheduleActivityTaskCommand)
    case requestCancelActivityTask(RequestCancelActivityTaskCommand)
    case startTimer(StartTimerCommand)
    case cancelTimer(CancelTimerCommand)
    case completeWorkflowExecution(CompleteWorkflowExecutionCommand)
    case failWorkflowExecution(FailWorkflowExecutionCommand)
    case cancelWorkflowExecution(CancelWorkflowExecutionCommand)
    case continueAsNewWorkflowExecution(ContinueAsNewWorkflowExecutionCommand)
    case recordMarker(RecordMarkerCommand)
    case startChildWorkflowExecution(StartChildWorkflowExecutionCommand)
    case signalExternalWorkflowExecution(SignalExternalWorkflowExecutionCommand)
    case upsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesCommand)

    public var commandType: CommandType {
        switch self {
        case .scheduleActivityTask: .scheduleActivityTask
        case .requestCancelActivityTask: .requestCancelActivityTask
        case .startTimer: .startTimer
        case .cancelTimer: .cancelTimer
        case .completeWorkflowExecution: .completeWorkflowExecution
        case .failWorkflowExecution: .failWorkflowExecution
        case .cancelWorkflowExecution: .cancelWorkflowExecution
        case .continueAsNewWorkflowExecution: .continueAsNewWorkflowExecution
        case .recordMarker: .recordMarker
        case .startChildWorkflowExecution: .startChildWorkflowExecution
        case .signalExternalWorkflowExecution: .signalExternalWorkflowExecution
        case .upsertWorkflowSearchAttributes: .upsertWorkflowSearchAttributes
        }
    }

    /// Whether this command closes the run (it must then be the last command of the task).
    public var closesRun: Bool {
        switch self {
        case .completeWorkflowExecution, .failWorkflowExecution, .cancelWorkflowExecution,
            .continueAsNewWorkflowExecution:
            return true
        default:
            return false
        }
    }
}

public enum CommandType: String, Sendable, Hashable, Codable, CaseIterable {
    case scheduleActivityTask = "ScheduleActivityTask"
    case requestCancelActivityTask = "RequestCancelActivityTask"
    case startTimer = "StartTimer"
    case cancelTimer = "CancelTimer"
    case completeWorkflowExecution = "CompleteWorkflowExecution"
    case failWorkflowExecution = "FailWorkflowExecution"
    case cancelWorkflowExecution = "CancelWorkflowExecution"
    case continueAsNewWorkflowExecution = "ContinueAsNewWorkflowExecution"
    case recordMarker = "RecordMarker"
    case startChildWorkflowExecution = "StartChildWorkflowExecution"
    case signalExternalWorkflowExecution = "SignalExternalWorkflowExecution"
    case upsertWorkflowSearchAttributes = "UpsertWorkflowSearchAttributes"
}

public struct ScheduleActivityTaskCommand: Sendable, Hashable, Codable {
    /// Unique among the run's pending activities; SDKs use a sequence number.
    public var activityId: String
    public var activityType: String
    /// Defaults to the workflow's task queue.
    public var taskQueue: String?
    public var input: JSONValue?
    /// Overall limit across attempts and retries. At least one of this and `startToCloseTimeoutMs` is required.
    public var scheduleToCloseTimeoutMs: Int64?
    /// Limit of one attempt; defaults to `scheduleToCloseTimeoutMs`.
    public var startToCloseTimeoutMs: Int64?
    /// An attempt that does not heartbeat within this fails and is retried.
    public var heartbeatTimeoutMs: Int64?
    public var retryPolicy: RetryPolicy?
    /// The completing worker has a free slot for this activity: the server may start it for that
    /// connection and return it in the completion's answer instead of dispatching it to a poll
    /// (Temporal's eager activity execution). Only for the workflow task's own task queue. Default false.
    public var requestEagerExecution: Bool?
    public init(
        activityId: String, activityType: String, taskQueue: String? = nil, input: JSONValue? = nil,
        scheduleToCloseTimeoutMs: Int64? = nil, startToCloseTimeoutMs: Int64? = nil,
        heartbeatTimeoutMs: Int64? = nil, retryPolicy: RetryPolicy? = nil, requestEagerExecution: Bool? = nil
    ) {
        self.activityId = activityId
        self.activityType = activityType
        self.taskQueue = taskQueue
        self.input = input
        self.scheduleToCloseTimeoutMs = scheduleToCloseTimeoutMs
        self.startToCloseTimeoutMs = startToCloseTimeoutMs
        self.heartbeatTimeoutMs = heartbeatTimeoutMs
        self.retryPolicy = retryPolicy
        self.requestEagerExecution = requestEagerExecution
    }
}

public struct RequestCancelActivityTaskCommand: Sendable, Hashable, Codable {
    public var scheduledEventId: Int64
    public init(scheduledEventId: Int64) { self.scheduledEventId = scheduledEventId }
}

public struct StartTimerCommand: Sendable, Hashable, Codable {
    public var timerId: String
    public var startToFireTimeoutMs: Int64
    public init(timerId: String, startToFireTimeoutMs: Int64) {
        self.timerId = timerId
        self.startToFireTimeoutMs = startToFireTimeoutMs
    }
}

public struct CancelTimerCommand: Sendable, Hashable, Codable {
    public var timerId: String
    public init(timerId: String) { self.timerId = timerId }
}

public struct CompleteWorkflowExecutionCommand: Sendable, Hashable, Codable {
    public var result: JSONValue?
    public init(result: JSONValue?) { self.result = result }
}

public struct FailWorkflowExecutionCommand: Sendable, Hashable, Codable {
    public var failure: Failure
    public init(failure: Failure) { self.failure = failure }
}

public struct CancelWorkflowExecutionCommand: Sendable, Hashable, Codable {
    public var details: JSONValue?
    public init(details: JSONValue?) { self.details = details }
}

public struct ContinueAsNewWorkflowExecutionCommand: Sendable, Hashable, Codable {
    /// Defaults to the current run's type.
    public var workflowType: String?
    /// Defaults to the current run's task queue.
    public var taskQueue: String?
    public var input: JSONValue?
    public var workflowTaskTimeoutMs: Int64?
    public init(
        workflowType: String? = nil, taskQueue: String? = nil, input: JSONValue? = nil,
        workflowTaskTimeoutMs: Int64? = nil
    ) {
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
    }
}

public struct RecordMarkerCommand: Sendable, Hashable, Codable {
    public var markerName: String
    public var details: [String: JSONValue]?
    public init(markerName: String, details: [String: JSONValue]?) {
        self.markerName = markerName
        self.details = details
    }
}

public struct StartChildWorkflowExecutionCommand: Sendable, Hashable, Codable {
    public var workflowId: String
    public var workflowType: String
    public var taskQueue: String?
    public var input: JSONValue?
    public var workflowTaskTimeoutMs: Int64?
    public var parentClosePolicy: ParentClosePolicy?
    public var workflowIdReusePolicy: WorkflowIdReusePolicy?
    public init(
        workflowId: String, workflowType: String, taskQueue: String? = nil, input: JSONValue? = nil,
        workflowTaskTimeoutMs: Int64? = nil, parentClosePolicy: ParentClosePolicy? = nil,
        workflowIdReusePolicy: WorkflowIdReusePolicy? = nil
    ) {
        self.workflowId = workflowId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.input = input
        self.workflowTaskTimeoutMs = workflowTaskTimeoutMs
        self.parentClosePolicy = parentClosePolicy
        self.workflowIdReusePolicy = workflowIdReusePolicy
    }
}

public struct SignalExternalWorkflowExecutionCommand: Sendable, Hashable, Codable {
    public var workflowId: String
    public var runId: String?
    public var signalName: String
    public var input: JSONValue?
    public var childWorkflowOnly: Bool?
    public init(
        workflowId: String, runId: String? = nil, signalName: String, input: JSONValue? = nil,
        childWorkflowOnly: Bool? = nil
    ) {
        self.workflowId = workflowId
        self.runId = runId
        self.signalName = signalName
        self.input = input
        self.childWorkflowOnly = childWorkflowOnly
    }
}

public struct UpsertWorkflowSearchAttributesCommand: Sendable, Hashable, Codable {
    public var searchAttributes: [String: JSONValue]
    public init(searchAttributes: [String: JSONValue]) { self.searchAttributes = searchAttributes }
}

extension Command: Codable {
    private enum CodingKeys: String, CodingKey {
        case commandType, attributes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func d<T: Decodable>(_: T.Type) throws -> T { try container.decode(T.self, forKey: .attributes) }
        switch try container.decode(CommandType.self, forKey: .commandType) {
        case .scheduleActivityTask: self = .scheduleActivityTask(try d(ScheduleActivityTaskCommand.self))
        case .requestCancelActivityTask:
            self = .requestCancelActivityTask(try d(RequestCancelActivityTaskCommand.self))
        case .startTimer: self = .startTimer(try d(StartTimerCommand.self))
        case .cancelTimer: self = .cancelTimer(try d(CancelTimerCommand.self))
        case .completeWorkflowExecution:
            self = .completeWorkflowExecution(try d(CompleteWorkflowExecutionCommand.self))
        case .failWorkflowExecution: self = .failWorkflowExecution(try d(FailWorkflowExecutionCommand.self))
        case .cancelWorkflowExecution: self = .cancelWorkflowExecution(try d(CancelWorkflowExecutionCommand.self))
        case .continueAsNewWorkflowExecution:
            self = .continueAsNewWorkflowExecution(try d(ContinueAsNewWorkflowExecutionCommand.self))
        case .recordMarker: self = .recordMarker(try d(RecordMarkerCommand.self))
        case .startChildWorkflowExecution:
            self = .startChildWorkflowExecution(try d(StartChildWorkflowExecutionCommand.self))
        case .signalExternalWorkflowExecution:
            self = .signalExternalWorkflowExecution(try d(SignalExternalWorkflowExecutionCommand.self))
        case .upsertWorkflowSearchAttributes:
            self = .upsertWorkflowSearchAttributes(try d(UpsertWorkflowSearchAttributesCommand.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commandType, forKey: .commandType)
        switch self {
        case .scheduleActivityTask(let a): try container.encode(a, forKey: .attributes)
        case .requestCancelActivityTask(let a): try container.encode(a, forKey: .attributes)
        case .startTimer(let a): try container.encode(a, forKey: .attributes)
        case .cancelTimer(let a): try container.encode(a, forKey: .attributes)
        case .completeWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .failWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .cancelWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .continueAsNewWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .recordMarker(let a): try container.encode(a, forKey: .attributes)
        case .startChildWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .signalExternalWorkflowExecution(let a): try container.encode(a, forKey: .attributes)
        case .upsertWorkflowSearchAttributes(let a): try container.encode(a, forKey: .attributes)
        }
    }
}
