import OrchestratorProtocol

/// An activity type: its name and the types of its input and output. Shared by workflows (to call
/// it) and workers (to implement it).
///
/// ```swift
/// enum SendNotification: ActivityDefinition {
///     typealias Input = Notification
///     typealias Output = Receipt
///     static let name = "SendNotification"
/// }
/// ```
public protocol ActivityDefinition {
    associatedtype Input: Codable & Sendable
    associatedtype Output: Codable & Sendable
    static var name: String { get }
}

extension ActivityDefinition {
    public static var name: String { String(describing: Self.self) }
}

/// How an activity runs: where, how long it may take, how it is retried.
public struct ActivityOptions: Sendable {
    /// Defaults to the workflow's task queue.
    public var taskQueue: String?
    /// The limit of one attempt. At least one of this and `scheduleToCloseTimeout` is needed.
    public var startToCloseTimeout: Duration?
    /// The limit of all attempts together.
    public var scheduleToCloseTimeout: Duration?
    /// An attempt that does not heartbeat within this fails (and is retried).
    public var heartbeatTimeout: Duration?
    public var retryPolicy: RetryPolicy?
    /// Defaults to a sequence number, unique in the run.
    public var activityId: String?

    public init(
        taskQueue: String? = nil, startToCloseTimeout: Duration? = nil, scheduleToCloseTimeout: Duration? = nil,
        heartbeatTimeout: Duration? = nil, retryPolicy: RetryPolicy? = nil, activityId: String? = nil
    ) {
        self.taskQueue = taskQueue
        self.startToCloseTimeout = startToCloseTimeout
        self.scheduleToCloseTimeout = scheduleToCloseTimeout
        self.heartbeatTimeout = heartbeatTimeout
        self.retryPolicy = retryPolicy
        self.activityId = activityId
    }
}

/// How a child workflow starts.
public struct ChildWorkflowOptions: Sendable {
    public var taskQueue: String?
    public var parentClosePolicy: ParentClosePolicy
    public var workflowIdReusePolicy: WorkflowIdReusePolicy?
    public init(
        taskQueue: String? = nil, parentClosePolicy: ParentClosePolicy = .terminate,
        workflowIdReusePolicy: WorkflowIdReusePolicy? = nil
    ) {
        self.taskQueue = taskQueue
        self.parentClosePolicy = parentClosePolicy
        self.workflowIdReusePolicy = workflowIdReusePolicy
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a positive duration is never 0.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 > 0 ? millis + 1 : millis
    }
}
