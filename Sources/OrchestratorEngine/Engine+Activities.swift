import DequeModule
import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    // MARK: - Bookkeeping

    func persistActivity(_ execution: Execution, _ activity: ActivityState) {
        write(
            .putActivity(
                ActivityRow(
                    runSeq: execution.runSeq, scheduledEventId: activity.scheduledEventId,
                    activityId: activity.activityId, activityType: activity.activityType,
                    taskQueue: activity.taskQueue, attempt: activity.attempt),
                state: activity))
    }

    func removeActivity(_ execution: Execution, scheduledEventId: Int64) {
        guard let activity = execution.activities.removeValue(forKey: scheduledEventId) else { return }
        execution.activityIds[activity.activityId] = nil
        if let holder = activity.startedConnection {
            connections[holder]?.heldActivities.remove(
                ActivityRef(runSeq: execution.runSeq, scheduledEventId: scheduledEventId, attempt: activity.attempt))
        }
        write(.deleteActivity(runSeq: execution.runSeq, scheduledEventId: scheduledEventId))
        if activity.nextAttemptTime != nil {
            write(.deleteTimer(runSeq: execution.runSeq, key: TimerKey.activityRetry(scheduledEventId)))
        }
    }

    /// A committed attempt becomes visible to pollers.
    func activityBecameReady(_ ref: ActivityRef) {
        guard let execution = executions[ref.runSeq], execution.isOpen,
            let activity = execution.activities[ref.scheduledEventId], activity.attempt == ref.attempt,
            activity.location == .notReady
        else { return }
        enqueueActivity(execution, scheduledEventId: ref.scheduledEventId)
    }

    func enqueueActivity(_ execution: Execution, scheduledEventId: Int64) {
        guard var activity = execution.activities[scheduledEventId] else { return }
        activity.location = .queued
        execution.activities[scheduledEventId] = activity
        let ref = ActivityRef(runSeq: execution.runSeq, scheduledEventId: scheduledEventId, attempt: activity.attempt)
        if let poller = taskQueues[activity.taskQueue]?.activityPollers.popFirst() {
            startActivity(execution, scheduledEventId: scheduledEventId, poller: poller)
        } else {
            taskQueues[activity.taskQueue, default: TaskQueueState()].activityTasks.append(ref)
        }
    }

    /// Leases an attempt to a poller's connection and arms its timeouts.
    func startActivity(_ execution: Execution, scheduledEventId: Int64, poller: Poller<ActivityTask>) {
        poller.continuation.resume(
            returning: beginActivity(execution, scheduledEventId: scheduledEventId, connectionId: poller.connectionId))
    }

    /// Leases an attempt to a connection and arms its timeouts; the task to hand to it.
    func beginActivity(_ execution: Execution, scheduledEventId: Int64, connectionId: UInt64) -> ActivityTask? {
        guard var activity = execution.activities[scheduledEventId] else { return nil }
        let now = clock.now()
        let connection = connections[connectionId]
        activity.location = .started(connectionId)
        activity.lastStartedTime = now
        activity.lastHeartbeatTime = nil
        activity.lastWorkerIdentity = connection?.handle.identity
        execution.activities[scheduledEventId] = activity
        let ref = ActivityRef(runSeq: execution.runSeq, scheduledEventId: scheduledEventId, attempt: activity.attempt)
        connection?.heldActivities.insert(ref)
        addTimer(.activityStartToClose(ref), at: now.adding(milliseconds: activity.startToCloseTimeoutMs))
        if let heartbeat = activity.heartbeatTimeoutMs {
            addTimer(.activityHeartbeat(ref), at: now.adding(milliseconds: heartbeat))
        }
        statistics.activitiesStarted += 1
        return ActivityTask(
            taskToken: TaskToken.activity(ref), workflowId: execution.workflowId, runId: execution.runId,
            workflowType: execution.workflowType, activityId: activity.activityId,
            activityType: activity.activityType, input: activity.input, attempt: activity.attempt,
            scheduledTime: activity.scheduledTime, currentAttemptScheduledTime: activity.attemptScheduledTime,
            startedTime: now, scheduleToCloseTimeoutMs: activity.scheduleToCloseTimeoutMs,
            startToCloseTimeoutMs: activity.startToCloseTimeoutMs, heartbeatTimeoutMs: activity.heartbeatTimeoutMs,
            heartbeatDetails: activity.heartbeatDetails)
    }

    /// Holds the activities a completion scheduled with eager execution for the completing
    /// connection, when they run on the workflow task's own queue; they are not dispatched at commit.
    func holdEagerActivities(
        _ commands: [Command], of execution: Execution, taskQueue: String, connection: ConnectionState
    ) -> [Int64] {
        var held: [Int64] = []
        for command in commands {
            guard case .scheduleActivityTask(let c) = command, c.requestEagerExecution == true,
                let id = execution.activityIds[c.activityId], var activity = execution.activities[id],
                activity.taskQueue == taskQueue, activity.location == .notReady
            else { continue }
            activity.location = .eager(connection.id)
            execution.activities[id] = activity
            held.append(id)
        }
        return held
    }

    /// Starts held eager activities for the connection whose completion is now durable; if it went
    /// away meanwhile (or `start` is false), they go to their queue like any other.
    func startEagerActivities(_ ids: [Int64], of execution: Execution, connection: ConnectionState, start: Bool)
        -> [ActivityTask]
    {
        var tasks: [ActivityTask] = []
        let alive = start && connections[connection.id] === connection
        for id in ids {
            guard execution.isOpen, let activity = execution.activities[id], activity.location == .eager(connection.id)
            else { continue }
            if alive, let task = beginActivity(execution, scheduledEventId: id, connectionId: connection.id) {
                statistics.activitiesStartedEagerly += 1
                tasks.append(task)
            } else {
                enqueueActivity(execution, scheduledEventId: id)
            }
        }
        return tasks
    }

    // MARK: - Worker operations

    func pollActivityTask(_ request: PollActivityTaskRequest, connection: ConnectionState)
        async throws(OrchestratorError)
        -> ActivityTask?
    {
        try validateName(request.taskQueue, field: "taskQueue")
        // Entering the engine may have suspended after the connection was looked up: it may be closed.
        guard connections[connection.id] === connection else {
            throw OrchestratorError(.unavailable, "the connection is closing")
        }
        connection.lastPollTime = clock.now()
        // Nil: none waits; `.some(nil)`: the connection closed.
        let ready = { () -> ActivityTask?? in
            guard self.connections[connection.id] === connection else { return .some(nil) }
            return self.takeQueuedActivity(taskQueue: request.taskQueue, connectionId: connection.id).map(Optional.some)
        }
        if let task = ready() { return task }
        let deadline = try longPollDeadline(request.timeoutMs)
        let id = makeWaiterId()
        return await wait(checkingAgain: ready) { continuation in
            taskQueues[request.taskQueue, default: TaskQueueState()].activityPollers.append(
                Poller(id: id, connectionId: connection.id, deadline: deadline, continuation: continuation))
        }
    }

    /// Starts the first attempt still waiting in `taskQueue` for `connectionId`, if any, in the
    /// caller's turn (no suspension between taking it and starting it).
    private func takeQueuedActivity(taskQueue: String, connectionId: UInt64) -> ActivityTask? {
        while let ref = taskQueues[taskQueue]?.activityTasks.popFirst() {
            guard let execution = executions[ref.runSeq], execution.isOpen,
                let activity = execution.activities[ref.scheduledEventId], activity.attempt == ref.attempt,
                activity.location == .queued
            else { continue }
            return beginActivity(execution, scheduledEventId: ref.scheduledEventId, connectionId: connectionId)
        }
        return nil
    }

    /// The run and started attempt a token names, or NOT_FOUND.
    func startedActivity(token: String) throws(OrchestratorError) -> (Execution, ActivityState, ActivityRef) {
        guard let ref = TaskToken.parseActivity(token) else {
            throw .invalidArgument("'\(token)' is not an activity task token")
        }
        guard let execution = executions[ref.runSeq], execution.isOpen,
            let activity = execution.activities[ref.scheduledEventId], activity.attempt == ref.attempt,
            activity.startedConnection != nil
        else {
            throw OrchestratorError(
                .notFound,
                "activity task \(token) is no longer held: the attempt timed out, was retried elsewhere, was canceled, or the run closed"
            )
        }
        return (execution, activity, ref)
    }

    func completeActivityTask(_ request: CompleteActivityTaskRequest, connection: ConnectionState)
        throws(OrchestratorError) -> Durable<Void>
    {
        let (execution, activity, _) = try startedActivity(token: request.taskToken)
        let identity = request.identity ?? connection.handle.identity
        removeActivity(execution, scheduledEventId: activity.scheduledEventId)
        addActivityOutcome(
            execution,
            started: .init(
                scheduledEventId: activity.scheduledEventId, identity: identity, attempt: activity.attempt,
                lastFailure: activity.lastFailure),
            outcome: { startedId in
                .activityTaskCompleted(
                    .init(
                        scheduledEventId: activity.scheduledEventId, startedEventId: startedId, result: request.result,
                        identity: identity))
            })
        statistics.activitiesCompleted += 1
        return try durable(())
    }

    func failActivityTask(_ request: FailActivityTaskRequest, connection: ConnectionState)
        throws(OrchestratorError) -> Durable<Void>
    {
        let (execution, activity, _) = try startedActivity(token: request.taskToken)
        failActivityAttempt(
            execution, activity, failure: request.failure, timeoutType: nil, retryAtOnce: false,
            identity: request.identity ?? connection.handle.identity)
        return try durable(())
    }

    func cancelActivityTask(_ request: CancelActivityTaskRequest, connection: ConnectionState)
        throws(OrchestratorError) -> Durable<Void>
    {
        let (execution, activity, _) = try startedActivity(token: request.taskToken)
        let identity = request.identity ?? connection.handle.identity
        removeActivity(execution, scheduledEventId: activity.scheduledEventId)
        addActivityOutcome(
            execution,
            started: .init(
                scheduledEventId: activity.scheduledEventId, identity: identity, attempt: activity.attempt,
                lastFailure: activity.lastFailure),
            outcome: { startedId in
                .activityTaskCanceled(
                    .init(
                        scheduledEventId: activity.scheduledEventId, startedEventId: startedId,
                        latestCancelRequestedEventId: activity.cancelRequestedEventId ?? 0, details: request.details,
                        identity: identity))
            })
        return try durable(())
    }

    func heartbeatActivityTask(_ request: HeartbeatActivityTaskRequest) throws(OrchestratorError)
        -> HeartbeatActivityTaskResponse
    {
        let (execution, activity, _) = try startedActivity(token: request.taskToken)
        var updated = activity
        updated.lastHeartbeatTime = clock.now()
        if let details = request.details { updated.heartbeatDetails = details }
        execution.activities[activity.scheduledEventId] = updated
        return HeartbeatActivityTaskResponse(cancelRequested: activity.cancelRequestedEventId != nil)
    }

    // MARK: - Failure and retry

    /// Ends an attempt that failed: schedules the next one per the retry policy, or records the final
    /// failure (ActivityTaskFailed, or ActivityTaskTimedOut when a timeout ended it).
    ///
    /// `retryAtOnce` skips the backoff: the attempt did not fail, its worker went away.
    func failActivityAttempt(
        _ execution: Execution, _ activity: ActivityState, failure: Failure, timeoutType: TimeoutType?,
        retryAtOnce: Bool, identity: String?
    ) {
        let now = clock.now()
        if let holder = activity.startedConnection {
            connections[holder]?.heldActivities.remove(
                ActivityRef(
                    runSeq: execution.runSeq, scheduledEventId: activity.scheduledEventId, attempt: activity.attempt))
        }
        let policy = activity.retryPolicy
        var retryState: RetryState?
        if activity.cancelRequestedEventId != nil {
            retryState = .nonRetryableFailure
        } else if !policy.allowsRetry(after: activity.attempt, failure: failure) {
            let nonRetryable =
                failure.nonRetryable == true
                || (failure.type.map { policy.nonRetryableErrorTypes?.contains($0) == true } ?? false)
            retryState = nonRetryable ? .nonRetryableFailure : .maximumAttemptsReached
        }
        let delay = retryAtOnce ? 0 : policy.delayAfter(attempt: activity.attempt)
        let nextTime = now.adding(milliseconds: delay)
        if retryState == nil, let deadline = activity.deadline, nextTime >= deadline {
            retryState = .timeout
        }
        if let retryState {
            removeActivity(execution, scheduledEventId: activity.scheduledEventId)
            let started = ActivityTaskStartedAttributes(
                scheduledEventId: activity.scheduledEventId, identity: identity, attempt: activity.attempt,
                lastFailure: activity.lastFailure)
            addActivityOutcome(
                execution, started: started,
                outcome: { startedId in
                    if let timeoutType {
                        return .activityTaskTimedOut(
                            .init(
                                scheduledEventId: activity.scheduledEventId, startedEventId: startedId,
                                timeoutType: timeoutType, failure: failure, retryState: retryState))
                    }
                    return .activityTaskFailed(
                        .init(
                            scheduledEventId: activity.scheduledEventId, startedEventId: startedId, failure: failure,
                            retryState: retryState, identity: identity))
                })
            return
        }
        var next = activity
        next.attempt += 1
        next.lastFailure = failure
        next.attemptScheduledTime = nextTime
        next.location = delay == 0 ? .notReady : .backoff
        next.nextAttemptTime = delay == 0 ? nil : nextTime
        execution.activities[activity.scheduledEventId] = next
        persistActivity(execution, next)
        statistics.activityRetries += 1
        let ref = ActivityRef(
            runSeq: execution.runSeq, scheduledEventId: activity.scheduledEventId, attempt: next.attempt)
        if delay == 0 {
            afterCommit(.activityReady(ref))
        } else {
            write(
                .putTimer(
                    TimerRow(
                        runSeq: execution.runSeq, key: TimerKey.activityRetry(activity.scheduledEventId),
                        fireTime: nextTime, eventId: activity.scheduledEventId)))
            addTimer(
                .activityRetry(
                    runSeq: execution.runSeq, scheduledEventId: activity.scheduledEventId, attempt: next.attempt),
                at: nextTime)
        }
    }

    func activityRetryFired(runSeq: Int64, scheduledEventId: Int64, attempt: Int32) {
        guard let execution = executions[runSeq], execution.isOpen,
            var activity = execution.activities[scheduledEventId], activity.attempt == attempt,
            activity.location == .backoff
        else { return }
        activity.nextAttemptTime = nil
        activity.location = .notReady
        execution.activities[scheduledEventId] = activity
        persistActivity(execution, activity)
        write(.deleteTimer(runSeq: runSeq, key: TimerKey.activityRetry(scheduledEventId)))
        afterCommit(.activityReady(ActivityRef(runSeq: runSeq, scheduledEventId: scheduledEventId, attempt: attempt)))
    }

    func activityDeadlineFired(runSeq: Int64, scheduledEventId: Int64) {
        guard let execution = executions[runSeq], execution.isOpen,
            let activity = execution.activities[scheduledEventId]
        else { return }
        removeActivity(execution, scheduledEventId: scheduledEventId)
        let failure = Failure(
            message:
                "activity \(activity.activityType) did not finish within its schedule-to-close timeout of \(activity.scheduleToCloseTimeoutMs ?? 0) ms",
            type: "ScheduleToCloseTimeout")
        func timedOut(_ startedEventId: Int64) -> EventAttributes {
            .activityTaskTimedOut(
                .init(
                    scheduledEventId: scheduledEventId, startedEventId: startedEventId, timeoutType: .scheduleToClose,
                    failure: failure, retryState: .timeout))
        }
        guard activity.lastStartedTime != nil else {
            // No attempt ever started: there is no ActivityTaskStarted to record.
            addWorkflowEvent(execution, timedOut(0))
            return
        }
        addActivityOutcome(
            execution,
            started: .init(
                scheduledEventId: scheduledEventId, identity: activity.lastWorkerIdentity, attempt: activity.attempt,
                lastFailure: activity.lastFailure),
            outcome: timedOut)
    }

    func activityAttemptTimedOut(_ ref: ActivityRef, timeoutType: TimeoutType) {
        guard let execution = executions[ref.runSeq], execution.isOpen,
            let activity = execution.activities[ref.scheduledEventId], activity.attempt == ref.attempt,
            activity.startedConnection != nil
        else { return }
        let now = clock.now()
        if timeoutType == .heartbeat, let timeout = activity.heartbeatTimeoutMs {
            let last = activity.lastHeartbeatTime ?? activity.lastStartedTime ?? now
            let due = last.adding(milliseconds: timeout)
            if due > now {
                addTimer(.activityHeartbeat(ref), at: due)
                return
            }
        }
        let failure: Failure
        switch timeoutType {
        case .heartbeat:
            failure = Failure(
                message:
                    "activity \(activity.activityType) attempt \(activity.attempt) sent no heartbeat within \(activity.heartbeatTimeoutMs ?? 0) ms",
                type: "HeartbeatTimeout")
        default:
            failure = Failure(
                message:
                    "activity \(activity.activityType) attempt \(activity.attempt) did not finish within its start-to-close timeout of \(activity.startToCloseTimeoutMs) ms",
                type: "StartToCloseTimeout")
        }
        failActivityAttempt(
            execution, activity, failure: failure, timeoutType: timeoutType, retryAtOnce: false,
            identity: activity.lastWorkerIdentity)
    }
}
