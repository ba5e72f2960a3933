import Foundation
import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// Rebuilds memory from the store: open runs, their tasks (re-queued), activities (re-queued or
    /// waiting for their retry), timers (those already due fire at once), buffered events. A workflow
    /// task that was running when the server stopped is recorded as failed (SERVER_RESTARTED) and
    /// scheduled again.
    func recover() async throws {
        let startedAt = ContinuousClock.now
        let state = try store.loadRecoveredState()
        nextRunSeq = state.maxRunSeq + 1
        for recovered in state.executions {
            let row = recovered.row
            let persisted = try MessageCodec.decode(PersistedExecutionState.self, from: recovered.state)
            let execution = Execution(
                runSeq: row.runSeq, runId: row.runId, workflowId: row.workflowId, workflowType: row.workflowType,
                taskQueue: row.taskQueue, startTime: row.startTime, searchAttributes: row.searchAttributes,
                persisted: persisted)
            execution.committedEventId = row.historyLength
            execution.writtenColumns = row.visibilityColumns
            executions[row.runSeq] = execution
            runSeqByRunId[row.runId] = row.runSeq
            currentRunByWorkflowId[row.workflowId] = row.runSeq
        }
        // Each run's events since its last started workflow task: what a sticky worker needs next.
        let open = Array(executions.values)
        let tails = try store.eventTails(open.map { ($0.runSeq, $0.persisted.previousStartedEventId) })
        for (execution, tail) in zip(open, tails) { execution.tail = tail }
        for buffered in state.bufferedEvents {
            executions[buffered.runSeq]?.buffered.append(BufferedEvent(seq: buffered.seq, event: buffered.event))
        }
        for activity in state.activities {
            guard let execution = executions[activity.row.runSeq] else { continue }
            var decoded = try MessageCodec.decode(ActivityState.self, from: activity.state)
            decoded.location = decoded.nextAttemptTime == nil ? .notReady : .backoff
            execution.activities[decoded.scheduledEventId] = decoded
            execution.activityIds[decoded.activityId] = decoded.scheduledEventId
            if let deadline = decoded.deadline {
                addTimer(
                    .activityDeadline(runSeq: execution.runSeq, scheduledEventId: decoded.scheduledEventId),
                    at: deadline)
            }
        }
        for timer in state.timers {
            guard let execution = executions[timer.runSeq] else { continue }
            if timer.key.hasPrefix("user/") {
                let timerId = String(timer.key.dropFirst("user/".count))
                execution.timers[timerId] = UserTimer(
                    timerId: timerId, startedEventId: timer.eventId, fireTime: timer.fireTime)
                addTimer(
                    .user(runSeq: timer.runSeq, timerId: timerId, startedEventId: timer.eventId), at: timer.fireTime)
            } else if timer.key.hasPrefix("activity-retry/") {
                guard let activity = execution.activities[timer.eventId] else { continue }
                addTimer(
                    .activityRetry(runSeq: timer.runSeq, scheduledEventId: timer.eventId, attempt: activity.attempt),
                    at: timer.fireTime)
            } else if timer.key == TimerKey.workflowTaskRetry {
                execution.workflowTaskRetryPending = true
                pendingWorkflowTaskRetryAttempts[timer.runSeq] = Int32(clamping: timer.eventId)
                addTimer(.workflowTaskRetry(runSeq: timer.runSeq), at: timer.fireTime)
            }
        }
        var requeuedTasks = 0
        var interruptedTasks = 0
        // Oldest runs first, as the task table's order used to give them.
        for execution in executions.values.sorted(by: { $0.runSeq < $1.runSeq }) {
            guard var task = Self.pendingWorkflowTask(in: execution.tail) else { continue }
            let startedEvent = execution.tail.last { event in
                if case .workflowTaskStarted(let a) = event.attributes {
                    return a.scheduledEventId == task.scheduledEventId
                }
                return false
            }
            if let startedEvent {
                // A worker held this task when the server stopped: record it and schedule it again.
                task.location = .started(0)
                task.startedEventId = startedEvent.eventId
                execution.workflowTask = task
                failStartedWorkflowTask(
                    execution, cause: .serverRestarted,
                    failure: Failure(
                        message: "the server restarted while a worker held the workflow task", type: "ServerRestarted"),
                    identity: nil)
                interruptedTasks += 1
            } else {
                execution.workflowTask = task
                if !execution.buffered.isEmpty { flushBufferedEvents(execution) }
                enqueueWorkflowTask(execution)
                requeuedTasks += 1
            }
        }
        var requeuedActivities = 0
        for execution in executions.values {
            for (scheduledEventId, activity) in execution.activities where activity.location == .notReady {
                enqueueActivity(execution, scheduledEventId: scheduledEventId)
                requeuedActivities += 1
            }
        }
        let elapsed = ContinuousClock.now - startedAt
        logger.info(
            "recovered state from the database",
            metadata: [
                "openRuns": "\(executions.count)", "workflowTasks": "\(requeuedTasks)",
                "interruptedWorkflowTasks": "\(interruptedTasks)", "activities": "\(requeuedActivities)",
                "timers": "\(timerHeap.count)",
                "elapsedMs":
                    "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        try await awaitDurable()
    }

    /// The run's pending workflow task, from its history since the last completed one: the last
    /// WorkflowTaskScheduled unless the task's completion, failure or timeout follows it. (A task
    /// waiting for its retry timer has no WorkflowTaskScheduled yet: the timer's row schedules it.)
    static func pendingWorkflowTask(in tail: [HistoryEvent]) -> WorkflowTaskState? {
        for event in tail.reversed() {
            switch event.attributes {
            case .workflowTaskCompleted, .workflowTaskFailed, .workflowTaskTimedOut:
                return nil
            case .workflowTaskScheduled(let a):
                return WorkflowTaskState(
                    scheduledEventId: event.eventId, attempt: a.attempt, taskQueue: a.taskQueue,
                    scheduledTime: event.eventTime)
            default:
                continue
            }
        }
        return nil
    }
}
