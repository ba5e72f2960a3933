/// The status of a workflow run, as Temporal names it.
public enum WorkflowExecutionStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case running = "RUNNING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case canceled = "CANCELED"
    case terminated = "TERMINATED"
    case continuedAsNew = "CONTINUED_AS_NEW"
    case timedOut = "TIMED_OUT"

    public var isOpen: Bool { self == .running }
}

/// What a start does when a *closed* run with the same workflow id exists.
public enum WorkflowIdReusePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Start a new run whatever the previous one ended with. The default.
    case allowDuplicate = "ALLOW_DUPLICATE"
    /// Start a new run only if the previous one failed, was canceled, terminated or timed out.
    case allowDuplicateFailedOnly = "ALLOW_DUPLICATE_FAILED_ONLY"
    /// Never start a second run with this workflow id.
    case rejectDuplicate = "REJECT_DUPLICATE"
}

/// What a start does when an *open* run with the same workflow id exists.
public enum WorkflowIdConflictPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fail with ALREADY_STARTED. The default.
    case fail = "FAIL"
    /// Return the open run's id; nothing is started.
    case useExisting = "USE_EXISTING"
    /// Terminate the open run, then start a new one.
    case terminateExisting = "TERMINATE_EXISTING"
}

/// What happens to a child workflow when its parent closes.
public enum ParentClosePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case terminate = "TERMINATE"
    case abandon = "ABANDON"
    case requestCancel = "REQUEST_CANCEL"
}

/// Which timeout expired.
public enum TimeoutType: String, Sendable, Hashable, Codable, CaseIterable {
    case startToClose = "START_TO_CLOSE"
    case scheduleToStart = "SCHEDULE_TO_START"
    case scheduleToClose = "SCHEDULE_TO_CLOSE"
    case heartbeat = "HEARTBEAT"
}

/// Why an activity stopped being retried.
public enum RetryState: String, Sendable, Hashable, Codable, CaseIterable {
    case nonRetryableFailure = "NON_RETRYABLE_FAILURE"
    case maximumAttemptsReached = "MAXIMUM_ATTEMPTS_REACHED"
    case timeout = "TIMEOUT"
    case inProgress = "IN_PROGRESS"
}

/// Why a workflow task failed.
public enum WorkflowTaskFailedCause: String, Sendable, Hashable, Codable, CaseIterable {
    /// The worker connection holding the task closed; the task went back to its queue at once.
    case connectionClosed = "CONNECTION_CLOSED"
    /// The server restarted while the task was held by a worker.
    case serverRestarted = "SERVER_RESTARTED"
    /// Workflow code produced commands that do not match the recorded history.
    case nonDeterministicError = "NON_DETERMINISTIC_ERROR"
    /// Workflow code threw or the worker could not run it.
    case workflowWorkerUnhandledFailure = "WORKFLOW_WORKER_UNHANDLED_FAILURE"
    /// The workflow tried to close while new events (e.g. signals) were waiting for it.
    case unhandledCommand = "UNHANDLED_COMMAND"
    /// A command had invalid attributes (duplicate timer id, unknown activity…).
    case badCommand = "BAD_COMMAND"
}

/// The state of an activity that has not finished.
public enum PendingActivityState: String, Sendable, Hashable, Codable, CaseIterable {
    case scheduled = "SCHEDULED"
    case started = "STARTED"
    case cancelRequested = "CANCEL_REQUESTED"
}

/// The state of a run's pending workflow task.
public enum PendingWorkflowTaskState: String, Sendable, Hashable, Codable, CaseIterable {
    case scheduled = "SCHEDULED"
    case started = "STARTED"
}
