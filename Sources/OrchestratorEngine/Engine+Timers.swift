import HeapModule
import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// Adds a timer to the heap and re-arms the sleeper if it is now the earliest.
    func addTimer(_ kind: TimerKind, at fireTime: Timestamp) {
        timerHeap.insert(TimerEntry(fireTime: fireTime.milliseconds, seq: nextTimerSeq, kind: kind))
        nextTimerSeq += 1
        armTimerSleeper()
    }

    /// Makes sure a task wakes the engine when the earliest timer is due.
    func armTimerSleeper() {
        guard !stopped, let next = timerHeap.min?.fireTime else {
            timerSleeper?.cancel()
            timerSleeper = nil
            timerSleeperDeadline = nil
            return
        }
        if let current = timerSleeperDeadline, current <= next, timerSleeper != nil { return }
        timerSleeper?.cancel()
        timerSleeperDeadline = next
        let clock = self.clock
        timerSleeper = Task { [weak self] in
            do {
                try await clock.sleep(until: Timestamp(milliseconds: next))
            } catch {
                return
            }
            await self?.fireDueTimers()
        }
    }

    /// Fires every timer that is due, then commits what they changed.
    func fireDueTimers() {
        timerSleeper = nil
        timerSleeperDeadline = nil
        let now = clock.now().milliseconds
        var fired = 0
        while let entry = timerHeap.min, entry.fireTime <= now {
            _ = timerHeap.removeMin()
            fire(entry.kind, dueAt: entry.fireTime)
            fired += 1
        }
        armTimerSleeper()
        if fired > 0 { scheduleCommit() }
    }

    private func fire(_ kind: TimerKind, dueAt: Int64) {
        switch kind {
        case .user(let runSeq, let timerId, let startedEventId):
            userTimerFired(runSeq: runSeq, timerId: timerId, startedEventId: startedEventId, dueAt: dueAt)
        case .activityRetry(let runSeq, let scheduledEventId, let attempt):
            activityRetryFired(runSeq: runSeq, scheduledEventId: scheduledEventId, attempt: attempt)
        case .activityDeadline(let runSeq, let scheduledEventId):
            activityDeadlineFired(runSeq: runSeq, scheduledEventId: scheduledEventId)
        case .activityStartToClose(let ref):
            activityAttemptTimedOut(ref, timeoutType: .startToClose)
        case .activityHeartbeat(let ref):
            activityAttemptTimedOut(ref, timeoutType: .heartbeat)
        case .workflowTaskStartToClose(let runSeq, let scheduledEventId, let startedEventId):
            workflowTaskTimedOut(runSeq: runSeq, scheduledEventId: scheduledEventId, startedEventId: startedEventId)
        case .workflowTaskRetry(let runSeq):
            workflowTaskRetryFired(runSeq: runSeq)
        case .stickyFallback(let runSeq, let scheduledEventId):
            stickyFallbackFired(runSeq: runSeq, scheduledEventId: scheduledEventId)
        }
    }

    func userTimerFired(runSeq: Int64, timerId: String, startedEventId: Int64, dueAt: Int64) {
        guard let execution = executions[runSeq], execution.isOpen, let timer = execution.timers[timerId],
            timer.startedEventId == startedEventId
        else { return }
        execution.timers[timerId] = nil
        write(.deleteTimer(runSeq: runSeq, key: TimerKey.user(timerId)))
        addWorkflowEvent(execution, .timerFired(.init(timerId: timerId, startedEventId: startedEventId)))
        statistics.timersFired += 1
        statistics.worstTimerLatenessMs = max(statistics.worstTimerLatenessMs, clock.now().milliseconds - dueAt)
    }
}
