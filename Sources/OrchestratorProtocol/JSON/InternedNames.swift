import Foundation

/// The protocol's long names — member names, enum values and operations of 16 bytes or more —
/// as shared strings. Swift keeps strings of up to 15 UTF-8 bytes inline; a longer one parsed from
/// a message is an allocation, and these names occur in every message (`WorkflowTaskScheduled`,
/// `scheduledEventId`, `completeWorkflowTask`…). The parser returns the shared string instead.
/// `InternedNamesTests` checks that every such name of `Protocol/schemas` is here.
enum InternedNames {
    static let names: [String] = [
        "ALLOW_DUPLICATE_FAILED_ONLY", "ActivityTaskCancelRequested", "ActivityTaskCanceled", "ActivityTaskCompleted",
        "ActivityTaskFailed", "ActivityTaskScheduled", "ActivityTaskStarted", "ActivityTaskTimedOut",
        "CANCEL_REQUESTED", "CONNECTION_CLOSED", "CONTINUED_AS_NEW", "CancelWorkflowExecution",
        "ChildWorkflowExecutionCanceled", "ChildWorkflowExecutionCompleted", "ChildWorkflowExecutionFailed",
        "ChildWorkflowExecutionStarted", "ChildWorkflowExecutionTerminated", "CompleteWorkflowExecution",
        "ContinueAsNewWorkflowExecution", "ExternalWorkflowExecutionSignaled", "FailWorkflowExecution",
        "HANDSHAKE_REQUIRED", "INVALID_ARGUMENT", "MAXIMUM_ATTEMPTS_REACHED", "NON_DETERMINISTIC_ERROR",
        "NON_RETRYABLE_FAILURE", "PERMISSION_DENIED", "REJECT_DUPLICATE", "RESOURCE_EXHAUSTED",
        "RequestCancelActivityTask", "SCHEDULE_TO_CLOSE", "SCHEDULE_TO_START", "SERVER_RESTARTED",
        "ScheduleActivityTask", "SignalExternalWorkflowExecution", "SignalExternalWorkflowExecutionFailed",
        "SignalExternalWorkflowExecutionInitiated", "StartChildWorkflowExecution",
        "StartChildWorkflowExecutionFailed", "StartChildWorkflowExecutionInitiated", "TERMINATE_EXISTING",
        "UNHANDLED_COMMAND", "UNKNOWN_OPERATION", "UNSUPPORTED_VERSION", "UpsertWorkflowSearchAttributes",
        "WORKFLOW_NOT_RUNNING", "WORKFLOW_WORKER_UNHANDLED_FAILURE", "WorkflowExecutionCancelRequested",
        "WorkflowExecutionCanceled", "WorkflowExecutionCompleted", "WorkflowExecutionContinuedAsNew",
        "WorkflowExecutionFailed", "WorkflowExecutionSignaled", "WorkflowExecutionStarted",
        "WorkflowExecutionTerminated", "WorkflowTaskCompleted", "WorkflowTaskFailed", "WorkflowTaskScheduled",
        "WorkflowTaskStarted", "WorkflowTaskTimedOut", "acceptsPushedWorkflowTasks", "answersQueriesInTasks",
        "answersQueriesOfStartedTasks",
        "awaitWorkflowResult", "backoffCoefficient", "cancelActivityTask", "childWorkflowOnly", "completeActivityTask",
        "completeWorkflowTask", "continuedExecutionRunId", "currentAttemptScheduledTime", "describeWorkflow",
        "failActivityTask", "failWorkflowTask", "firstExecutionRunId", "getWorkflowHistory", "heartbeatActivityTask",
        "heartbeatDetails", "heartbeatTimeoutMs", "initialIntervalMs", "initiatedEventId", "lastHeartbeatTime",
        "lastWorkerIdentity", "latestCancelRequestedEventId", "maximumFrameLength", "maximumIntervalMs",
        "maximumRequestsInFlight", "newExecutionRunId", "nextAttemptScheduleTime", "nonRetryableErrorTypes",
        "parentClosePolicy", "parentInitiatedEventId", "parentWorkflowId", "pendingActivities", "pendingWorkflowTask",
        "pollActivityTask", "pollWorkflowTask", "previousStartedEventId", "requestCancelWorkflow",
        "requestEagerExecution", "returnNewWorkflowTask", "scheduleToCloseTimeoutMs", "scheduledEventId",
        "searchAttributes", "signalWithStartWorkflow", "startToCloseTimeoutMs", "startToFireTimeoutMs",
        "stickyWorkerIdentity", "terminateWorkflow", "workflowIdConflictPolicy", "workflowIdPrefix",
        "workflowIdReusePolicy", "workflowTaskCompletedEventId", "workflowTaskTimeoutMs",
    ]

    private static let table = ByteNameTable(names.map { ($0, $0) })

    /// The shared string whose UTF-8 bytes are `bytes`, if it is one of the names.
    static func name(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count > 15 else { return nil }
        return table.value(bytes)
    }
}
