import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// Checks a workflow task's commands before any is applied, so a bad list changes nothing.
    /// Returns what is wrong, in words the workflow author understands.
    func validate(commands: [Command], for execution: Execution) -> String? {
        // A timer that fired, or an activity that finished, while this task ran is still pending from the
        // workflow's point of view (the event waits in the buffer): canceling it is fine.
        // Built when a command needs them; the command's position only for an error.
        lazy var timers = Set(execution.timers.keys).union(execution.bufferedTimerFirings.keys)
        lazy var activityIds = Set(execution.activityIds.keys)
        lazy var pendingActivities = Set(execution.activities.keys).union(execution.bufferedActivityOutcomes)
        for (index, command) in commands.enumerated() {
            var position: String { "command \(index + 1) (\(command.commandType.rawValue))" }
            if command.closesRun && index != commands.count - 1 {
                return "\(position) closes the workflow but is not the last command"
            }
            switch command {
            case .scheduleActivityTask(let c):
                if c.activityId.isEmpty { return "\(position): activityId is empty" }
                if c.activityType.isEmpty { return "\(position): activityType is empty" }
                if activityIds.contains(c.activityId) {
                    return "\(position): an activity with id \(c.activityId) is already pending"
                }
                if c.startToCloseTimeoutMs == nil && c.scheduleToCloseTimeoutMs == nil {
                    return
                        "\(position): activity \(c.activityType) needs startToCloseTimeoutMs or scheduleToCloseTimeoutMs"
                }
                if let value = c.startToCloseTimeoutMs, value <= 0 {
                    return "\(position): startToCloseTimeoutMs must be positive, got \(value)"
                }
                if let value = c.scheduleToCloseTimeoutMs, value <= 0 {
                    return "\(position): scheduleToCloseTimeoutMs must be positive, got \(value)"
                }
                if let value = c.heartbeatTimeoutMs, value <= 0 {
                    return "\(position): heartbeatTimeoutMs must be positive, got \(value)"
                }
                if let policy = c.retryPolicy {
                    if let i = policy.initialIntervalMs, i <= 0 {
                        return "\(position): retryPolicy.initialIntervalMs must be positive"
                    }
                    if let b = policy.backoffCoefficient, b < 1 || !b.isFinite {
                        return "\(position): retryPolicy.backoffCoefficient must be at least 1"
                    }
                    if let m = policy.maximumAttempts, m < 0 {
                        return "\(position): retryPolicy.maximumAttempts must be 0 (unlimited) or more"
                    }
                }
                activityIds.insert(c.activityId)
            case .requestCancelActivityTask(let c):
                if !pendingActivities.contains(c.scheduledEventId) {
                    return "\(position): no pending activity was scheduled by event \(c.scheduledEventId)"
                }
                pendingActivities.remove(c.scheduledEventId)
            case .startTimer(let c):
                if c.timerId.isEmpty { return "\(position): timerId is empty" }
                if timers.contains(c.timerId) { return "\(position): timer \(c.timerId) is already started" }
                if c.startToFireTimeoutMs <= 0 {
                    return
                        "\(position): timer \(c.timerId) needs a positive startToFireTimeoutMs, got \(c.startToFireTimeoutMs)"
                }
                timers.insert(c.timerId)
            case .cancelTimer(let c):
                if !timers.contains(c.timerId) { return "\(position): no timer \(c.timerId) is pending" }
                timers.remove(c.timerId)
            case .continueAsNewWorkflowExecution(let c):
                if let t = c.workflowTaskTimeoutMs, t <= 0 {
                    return "\(position): workflowTaskTimeoutMs must be positive"
                }
                if let problem = nameProblem(c.workflowType, "workflowType") ?? nameProblem(c.taskQueue, "taskQueue") {
                    return "\(position): \(problem)"
                }
            case .recordMarker(let c):
                if c.markerName.isEmpty { return "\(position): markerName is empty" }
            case .startChildWorkflowExecution(let c):
                if let problem = nameProblem(c.workflowId, "workflowId") ?? nameProblem(c.workflowType, "workflowType")
                    ?? nameProblem(c.taskQueue, "taskQueue")
                {
                    return "\(position): \(problem)"
                }
                if let t = c.workflowTaskTimeoutMs, t <= 0 {
                    return "\(position): workflowTaskTimeoutMs must be positive"
                }
            case .signalExternalWorkflowExecution(let c):
                if let problem = nameProblem(c.workflowId, "workflowId") ?? nameProblem(c.signalName, "signalName") {
                    return "\(position): \(problem)"
                }
            case .completeWorkflowExecution, .failWorkflowExecution, .cancelWorkflowExecution,
                .upsertWorkflowSearchAttributes:
                break
            }
        }
        return nil
    }

    /// What is wrong with a name given in a command (absent is fine), in the words `validateName` uses.
    private func nameProblem(_ value: String?, _ field: String) -> String? {
        guard let value else { return nil }
        do {
            try validateName(value, field: field)
            return nil
        } catch {
            return error.message
        }
    }

    /// Applies one validated command: its event, and what it starts.
    func apply(_ command: Command, to execution: Execution, workflowTaskCompletedEventId completedId: Int64) {
        let now = clock.now()
        switch command {
        case .scheduleActivityTask(let c):
            let startToClose = c.startToCloseTimeoutMs ?? c.scheduleToCloseTimeoutMs ?? 0
            let policy = (c.retryPolicy ?? RetryPolicy()).resolved
            let taskQueue = (c.taskQueue?.isEmpty == false ? c.taskQueue : nil) ?? execution.taskQueue
            let id = appendEvent(
                execution,
                .activityTaskScheduled(
                    .init(
                        activityId: c.activityId, activityType: c.activityType, taskQueue: taskQueue, input: c.input,
                        scheduleToCloseTimeoutMs: c.scheduleToCloseTimeoutMs, startToCloseTimeoutMs: startToClose,
                        heartbeatTimeoutMs: c.heartbeatTimeoutMs, retryPolicy: policy,
                        workflowTaskCompletedEventId: completedId)), at: now)
            let activity = ActivityState(
                scheduledEventId: id, activityId: c.activityId, activityType: c.activityType, taskQueue: taskQueue,
                input: c.input, scheduledTime: now, scheduleToCloseTimeoutMs: c.scheduleToCloseTimeoutMs,
                startToCloseTimeoutMs: startToClose, heartbeatTimeoutMs: c.heartbeatTimeoutMs, retryPolicy: policy,
                attempt: 1, attemptScheduledTime: now)
            execution.activities[id] = activity
            execution.activityIds[c.activityId] = id
            persistActivity(execution, activity)
            // Not stored: recovery derives the deadline from the activity's row.
            if let deadline = activity.deadline {
                addTimer(.activityDeadline(runSeq: execution.runSeq, scheduledEventId: id), at: deadline)
            }
            afterCommit(.activityReady(ActivityRef(runSeq: execution.runSeq, scheduledEventId: id, attempt: 1)))

        case .requestCancelActivityTask(let c):
            guard var activity = execution.activities[c.scheduledEventId] else {
                // It finished while the task ran: record the request; its outcome follows from the buffer.
                appendEvent(
                    execution,
                    .activityTaskCancelRequested(
                        .init(scheduledEventId: c.scheduledEventId, workflowTaskCompletedEventId: completedId)))
                return
            }
            let requestedId = appendEvent(
                execution,
                .activityTaskCancelRequested(
                    .init(scheduledEventId: c.scheduledEventId, workflowTaskCompletedEventId: completedId)))
            if activity.startedConnection == nil {
                // Not running anywhere: canceled at once.
                removeActivity(execution, scheduledEventId: c.scheduledEventId)
                addWorkflowEvent(
                    execution,
                    .activityTaskCanceled(
                        .init(
                            scheduledEventId: c.scheduledEventId, startedEventId: 0,
                            latestCancelRequestedEventId: requestedId, details: nil, identity: nil)))
            } else {
                // The worker learns of it from its next heartbeat and answers cancelActivityTask.
                activity.cancelRequestedEventId = requestedId
                execution.activities[c.scheduledEventId] = activity
                persistActivity(execution, activity)
            }

        case .startTimer(let c):
            let id = appendEvent(
                execution,
                .timerStarted(
                    .init(
                        timerId: c.timerId, startToFireTimeoutMs: c.startToFireTimeoutMs,
                        workflowTaskCompletedEventId: completedId)), at: now)
            let fireTime = now.adding(milliseconds: c.startToFireTimeoutMs)
            execution.timers[c.timerId] = UserTimer(timerId: c.timerId, startedEventId: id, fireTime: fireTime)
            write(
                .putTimer(
                    TimerRow(runSeq: execution.runSeq, key: TimerKey.user(c.timerId), fireTime: fireTime, eventId: id)))
            addTimer(.user(runSeq: execution.runSeq, timerId: c.timerId, startedEventId: id), at: fireTime)

        case .cancelTimer(let c):
            guard let timer = execution.timers.removeValue(forKey: c.timerId) else {
                // It fired while the task ran, unseen by the workflow: the cancel wins, the firing is dropped.
                guard let startedEventId = execution.bufferedTimerFirings[c.timerId] else { return }
                for dropped in execution.buffered where dropped.firesTimer(c.timerId) {
                    write(.deleteBufferedEvent(runSeq: execution.runSeq, seq: dropped.seq))
                }
                execution.buffered.removeAll { $0.firesTimer(c.timerId) }
                appendEvent(
                    execution,
                    .timerCanceled(
                        .init(
                            timerId: c.timerId, startedEventId: startedEventId,
                            workflowTaskCompletedEventId: completedId)
                    ))
                return
            }
            appendEvent(
                execution,
                .timerCanceled(
                    .init(
                        timerId: c.timerId, startedEventId: timer.startedEventId,
                        workflowTaskCompletedEventId: completedId)))
            write(.deleteTimer(runSeq: execution.runSeq, key: TimerKey.user(c.timerId)))

        case .completeWorkflowExecution(let c):
            closeRun(
                execution, status: .completed,
                event: .workflowExecutionCompleted(.init(result: c.result, workflowTaskCompletedEventId: completedId)))

        case .failWorkflowExecution(let c):
            closeRun(
                execution, status: .failed,
                event: .workflowExecutionFailed(.init(failure: c.failure, workflowTaskCompletedEventId: completedId)))

        case .cancelWorkflowExecution(let c):
            closeRun(
                execution, status: .canceled,
                event: .workflowExecutionCanceled(.init(details: c.details, workflowTaskCompletedEventId: completedId)))

        case .continueAsNewWorkflowExecution(let c):
            let newRunId = GeneratedUUID.timeOrdered()
            let workflowType = c.workflowType ?? execution.workflowType
            let taskQueue = c.taskQueue ?? execution.taskQueue
            let timeout = c.workflowTaskTimeoutMs ?? execution.persisted.workflowTaskTimeoutMs
            closeRun(
                execution, status: .continuedAsNew,
                event: .workflowExecutionContinuedAsNew(
                    .init(
                        newExecutionRunId: newRunId, workflowType: workflowType, taskQueue: taskQueue, input: c.input,
                        workflowTaskTimeoutMs: timeout, workflowTaskCompletedEventId: completedId)))
            let next = startRun(
                RunParameters(
                    workflowId: execution.workflowId, runId: newRunId, workflowType: workflowType,
                    taskQueue: taskQueue, input: c.input, workflowTaskTimeoutMs: timeout, identity: nil,
                    requestId: nil, searchAttributes: execution.searchAttributes,
                    firstExecutionRunId: execution.persisted.firstExecutionRunId,
                    continuedExecutionRunId: execution.runId, parent: execution.persisted.parent))
            if let parent = execution.persisted.parent,
                let parentSeq = runSeqByRunId[parent.runId], let parentRun = executions[parentSeq],
                var child = parentRun.persisted.children[parent.initiatedEventId]
            {
                child.runId = next.runId
                parentRun.persisted.children[parent.initiatedEventId] = child
                markDirty(parentRun)
            }

        case .recordMarker(let c):
            appendEvent(
                execution,
                .markerRecorded(
                    .init(markerName: c.markerName, details: c.details, workflowTaskCompletedEventId: completedId)))

        case .upsertWorkflowSearchAttributes(let c):
            appendEvent(
                execution,
                .upsertWorkflowSearchAttributes(
                    .init(searchAttributes: c.searchAttributes, workflowTaskCompletedEventId: completedId)))
            var merged = execution.searchAttributes ?? [:]
            for (key, value) in c.searchAttributes { merged[key] = value == .null ? nil : value }
            execution.searchAttributes = merged.isEmpty ? nil : merged

        case .startChildWorkflowExecution(let c):
            startChild(c, of: execution, workflowTaskCompletedEventId: completedId)

        case .signalExternalWorkflowExecution(let c):
            let initiatedId = appendEvent(
                execution,
                .signalExternalWorkflowExecutionInitiated(
                    .init(
                        workflowId: c.workflowId, runId: c.runId, signalName: c.signalName, input: c.input,
                        childWorkflowOnly: c.childWorkflowOnly ?? false, workflowTaskCompletedEventId: completedId)))
            let target: Execution? = {
                if let runId = c.runId, !runId.isEmpty {
                    return runSeqByRunId[runId].flatMap { executions[$0] }.flatMap {
                        $0.workflowId == c.workflowId && $0.isOpen ? $0 : nil
                    }
                }
                return currentRunByWorkflowId[c.workflowId].flatMap { executions[$0] }.flatMap { $0.isOpen ? $0 : nil }
            }().flatMap { (target: Execution) -> Execution? in
                // childWorkflowOnly: only a child of this run may be signalled.
                (c.childWorkflowOnly ?? false) && target.persisted.parent?.runId != execution.runId ? nil : target
            }
            if let target {
                addWorkflowEvent(
                    target,
                    .workflowExecutionSignaled(
                        .init(
                            signalName: c.signalName, input: c.input,
                            identity: "workflow \(execution.workflowId)/\(execution.runId)", requestId: nil)))
                addWorkflowEvent(
                    execution,
                    .externalWorkflowExecutionSignaled(
                        .init(workflowId: c.workflowId, runId: target.runId, initiatedEventId: initiatedId)))
            } else {
                addWorkflowEvent(
                    execution,
                    .signalExternalWorkflowExecutionFailed(
                        .init(
                            workflowId: c.workflowId, runId: c.runId, cause: "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND",
                            initiatedEventId: initiatedId)))
            }
        }
    }

    // MARK: - Children

    private func startChild(
        _ c: StartChildWorkflowExecutionCommand, of parent: Execution, workflowTaskCompletedEventId completedId: Int64
    ) {
        let taskQueue = (c.taskQueue?.isEmpty == false ? c.taskQueue : nil) ?? parent.taskQueue
        let timeout = c.workflowTaskTimeoutMs ?? configuration.defaultWorkflowTaskTimeoutMs
        let policy = c.parentClosePolicy ?? .terminate
        let reuse = c.workflowIdReusePolicy ?? .allowDuplicate
        let initiatedId = appendEvent(
            parent,
            .startChildWorkflowExecutionInitiated(
                .init(
                    workflowId: c.workflowId, workflowType: c.workflowType, taskQueue: taskQueue, input: c.input,
                    workflowTaskTimeoutMs: timeout, parentClosePolicy: policy, workflowIdReusePolicy: reuse,
                    workflowTaskCompletedEventId: completedId)))
        let refusalCause: String?
        do {
            refusalCause =
                try startRefusal(workflowId: c.workflowId, reusePolicy: reuse) == nil ? nil : "WORKFLOW_ALREADY_EXISTS"
        } catch {
            refusalCause = "INTERNAL: \(error.message)"
        }
        if let refusalCause {
            addWorkflowEvent(
                parent,
                .startChildWorkflowExecutionFailed(
                    .init(
                        workflowId: c.workflowId, workflowType: c.workflowType, cause: refusalCause,
                        initiatedEventId: initiatedId)))
            return
        }
        let child = startRun(
            RunParameters(
                workflowId: c.workflowId, runId: GeneratedUUID.timeOrdered(), workflowType: c.workflowType,
                taskQueue: taskQueue,
                input: c.input, workflowTaskTimeoutMs: timeout, identity: "workflow \(parent.workflowId)",
                requestId: nil, searchAttributes: nil, firstExecutionRunId: nil, continuedExecutionRunId: nil,
                parent: ParentReference(
                    workflowId: parent.workflowId, runId: parent.runId, initiatedEventId: initiatedId)))
        parent.persisted.children[initiatedId] = ChildState(
            workflowId: c.workflowId, workflowType: c.workflowType, runId: child.runId, initiatedEventId: initiatedId,
            startedEventId: nil, parentClosePolicy: policy)
        addWorkflowEvent(
            parent,
            .childWorkflowExecutionStarted(
                .init(
                    workflowId: c.workflowId, runId: child.runId, workflowType: c.workflowType,
                    initiatedEventId: initiatedId)))
        // The started event's id is the one just appended (or buffered, when a task runs).
        if let last = parent.tail.last, case .childWorkflowExecutionStarted = last.attributes {
            parent.persisted.children[initiatedId]?.startedEventId = last.eventId
        }
    }

    /// Tells a closed child's parent, and applies the parent's close policy to its own children.
    func notifyRelativesOfClose(_ execution: Execution, status: WorkflowExecutionStatus, closeEvent: EventAttributes) {
        if status != .continuedAsNew, let parentRef = execution.persisted.parent,
            let parentSeq = runSeqByRunId[parentRef.runId], let parent = executions[parentSeq], parent.isOpen,
            let child = parent.persisted.children.removeValue(forKey: parentRef.initiatedEventId)
        {
            markDirty(parent)
            var attributes = ChildWorkflowExecutionClosedAttributes(
                workflowId: execution.workflowId, runId: execution.runId, workflowType: execution.workflowType,
                initiatedEventId: parentRef.initiatedEventId, startedEventId: child.startedEventId ?? 0)
            let event: EventAttributes
            switch closeEvent {
            case .workflowExecutionCompleted(let a):
                attributes.result = a.result
                event = .childWorkflowExecutionCompleted(attributes)
            case .workflowExecutionFailed(let a):
                attributes.failure = a.failure
                event = .childWorkflowExecutionFailed(attributes)
            case .workflowExecutionCanceled(let a):
                attributes.details = a.details
                event = .childWorkflowExecutionCanceled(attributes)
            default:
                event = .childWorkflowExecutionTerminated(attributes)
            }
            addWorkflowEvent(parent, event)
        }
        for child in execution.persisted.children.values {
            guard let runId = child.runId, let childSeq = runSeqByRunId[runId], let childRun = executions[childSeq],
                childRun.isOpen
            else { continue }
            switch child.parentClosePolicy {
            case .abandon:
                break
            case .terminate:
                terminate(
                    childRun, reason: "parent \(execution.workflowId) closed (parent close policy TERMINATE)",
                    details: nil, identity: nil)
            case .requestCancel:
                requestCancel(
                    childRun, reason: "parent \(execution.workflowId) closed (parent close policy REQUEST_CANCEL)",
                    identity: nil)
            }
        }
    }
}
