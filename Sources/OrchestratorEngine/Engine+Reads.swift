import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    func describeWorkflow(_ request: DescribeWorkflowRequest) async throws(OrchestratorError)
        -> DescribeWorkflowResponse
    {
        try validateName(request.workflowId, field: "workflowId")
        try await awaitDurable()
        switch try resolveRun(workflowId: request.workflowId, runId: request.runId) {
        case .stored(let row):
            return DescribeWorkflowResponse(
                execution: row.info, pendingWorkflowTask: nil, pendingActivities: [], pendingTimers: [],
                pendingChildren: [], stickyWorkerIdentity: nil)
        case .memory(let execution):
            let task = execution.workflowTask.map { task in
                PendingWorkflowTaskInfo(
                    state: task.isStarted ? .started : .scheduled, scheduledTime: task.scheduledTime,
                    startedTime: task.startedTime, attempt: task.attempt, identity: task.identity)
            }
            let activities = execution.activities.values.sorted { $0.scheduledEventId < $1.scheduledEventId }.map { a in
                PendingActivityInfo(
                    activityId: a.activityId, activityType: a.activityType, scheduledEventId: a.scheduledEventId,
                    state: a.cancelRequestedEventId != nil
                        ? .cancelRequested : (a.startedConnection != nil ? .started : .scheduled),
                    attempt: a.attempt, maximumAttempts: a.retryPolicy.maximumAttempts ?? 0,
                    scheduledTime: a.scheduledTime, lastStartedTime: a.lastStartedTime,
                    lastHeartbeatTime: a.lastHeartbeatTime, heartbeatDetails: a.heartbeatDetails,
                    lastFailure: a.lastFailure, nextAttemptScheduleTime: a.nextAttemptTime,
                    lastWorkerIdentity: a.lastWorkerIdentity)
            }
            let timers = execution.timers.values.sorted { $0.startedEventId < $1.startedEventId }.map {
                PendingTimerInfo(timerId: $0.timerId, startedEventId: $0.startedEventId, fireTime: $0.fireTime)
            }
            let children = execution.persisted.children.values.sorted { $0.initiatedEventId < $1.initiatedEventId }.map
            {
                PendingChildInfo(
                    workflowId: $0.workflowId, runId: $0.runId, workflowType: $0.workflowType,
                    initiatedEventId: $0.initiatedEventId)
            }
            return DescribeWorkflowResponse(
                execution: execution.info, pendingWorkflowTask: task, pendingActivities: activities,
                pendingTimers: timers, pendingChildren: children,
                stickyWorkerIdentity: execution.stickyConnection.flatMap { connections[$0]?.handle.identity })
        }
    }

    /// Which committed events a history request may read, after waiting for new ones if asked to.
    struct HistoryRange: Sendable {
        var runSeq: Int64
        var runId: String
        var committedThrough: Int64
        var closed: Bool
    }

    func historyRange(_ request: GetWorkflowHistoryRequest, origin: UInt64) async throws(OrchestratorError)
        -> HistoryRange
    {
        try validateName(request.workflowId, field: "workflowId")
        let after = request.afterEventId ?? 0
        let deadline = try longPollDeadline(request.timeoutMs)
        var resolved = try resolveRun(workflowId: request.workflowId, runId: request.runId)
        while true {
            switch resolved {
            case .stored(let row):
                return HistoryRange(
                    runSeq: row.runSeq, runId: row.runId, committedThrough: row.historyLength,
                    closed: !row.status.isOpen)
            case .memory(let execution):
                if request.waitNewEvent == true && execution.committedEventId <= after
                    && !execution.isClosedAndCommitted
                    && clock.now() < deadline
                {
                    let id = makeWaiterId()
                    // If history moved on meanwhile, look again rather than wait for the next change.
                    let woke: Void? = await wait(
                        checkingAgain: {
                            let movedOn =
                                executions[execution.runSeq] !== execution || execution.committedEventId > after
                            return movedOn || execution.isClosedAndCommitted ? .some(()) : nil
                        },
                        register: { continuation in
                            historyWaiters[execution.runSeq, default: []].append(
                                RunWaiter(
                                    id: id, originConnectionId: origin, deadline: deadline,
                                    continuation: continuation))
                        })
                    if woke != nil, let current = executions[execution.runSeq] {
                        resolved = .memory(current)
                        continue
                    } else if woke != nil {
                        resolved = try resolveRun(workflowId: request.workflowId, runId: execution.runId)
                        continue
                    }
                }
                return HistoryRange(
                    runSeq: execution.runSeq, runId: execution.runId, committedThrough: execution.committedEventId,
                    closed: execution.isClosedAndCommitted)
            }
        }
    }

    /// Waits until a run is closed and committed; follows continue-as-new when asked.
    func awaitWorkflowResult(_ request: AwaitWorkflowResultRequest, origin: UInt64) async throws(OrchestratorError)
        -> ClosedRun
    {
        try validateName(request.workflowId, field: "workflowId")
        let deadline = try longPollDeadline(request.timeoutMs)
        var runId = request.runId
        while true {
            switch try resolveRun(workflowId: request.workflowId, runId: runId) {
            case .memory(let execution):
                guard clock.now() < deadline else {
                    throw OrchestratorError(
                        .timeout,
                        "workflow \(request.workflowId) (run \(execution.runId)) is still running; ask again to keep waiting",
                        details: ["runId": .string(execution.runId)])
                }
                let id = makeWaiterId()
                // If the run closed and left memory meanwhile, look again rather than wait for a close
                // that already happened.
                let closed: ClosedRun?? = await wait(
                    checkingAgain: { executions[execution.runSeq] !== execution ? .some(nil) : nil },
                    register: { continuation in
                        closeWaiters[execution.runSeq, default: []].append(
                            RunWaiter(
                                id: id, originConnectionId: origin, deadline: deadline, continuation: continuation))
                    })
                guard connections[origin] != nil else {
                    throw OrchestratorError(.unavailable, "the connection closed")
                }
                if let closed = closed ?? nil { return closed }
                runId = execution.runId
            case .stored(let row):
                if row.status.isOpen {
                    // Open in the store but not in memory cannot happen once recovered; report it rather than spin.
                    throw .internal("run \(row.runId) is open in the database but not loaded")
                }
                return ClosedRun(runSeq: row.runSeq, runId: row.runId, status: row.status, closeEvent: nil)
            }
        }
    }

    /// The response for a closed run, from its closing event (read from the store, outside the
    /// actor, unless the run closed while the wait was registered).
    nonisolated func result(of run: ClosedRun, followRuns: Bool) throws(OrchestratorError) -> (
        AwaitWorkflowResultResponse, nextRunId: String?
    ) {
        var closeEvent = run.closeEvent
        if closeEvent == nil {
            do { closeEvent = try store.lastEvent(runSeq: run.runSeq)?.attributes } catch {
                throw .internal("reading history failed: \(error)")
            }
        }
        var response = AwaitWorkflowResultResponse(runId: run.runId, status: run.status, result: nil, failure: nil)
        var next: String?
        switch closeEvent {
        case .workflowExecutionCompleted(let a): response.result = a.result
        case .workflowExecutionFailed(let a): response.failure = a.failure
        case .workflowExecutionCanceled(let a):
            response.failure = Failure(message: "workflow canceled", type: "Canceled", details: a.details)
        case .workflowExecutionTerminated(let a):
            response.failure = Failure(
                message: "workflow terminated: \(a.reason)", type: "Terminated", details: a.details)
        case .workflowExecutionContinuedAsNew(let a): next = followRuns ? a.newExecutionRunId : nil
        default: break
        }
        return (response, next)
    }
}
