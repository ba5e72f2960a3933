import DequeModule
import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    // MARK: - Scheduling and dispatch

    /// Appends WorkflowTaskScheduled and records the task; it becomes visible to pollers once committed.
    /// The event is the task's durable record: recovery finds the pending task in the history.
    func scheduleWorkflowTask(_ execution: Execution, attempt: Int32 = 1) {
        let now = clock.now()
        let id = appendEvent(
            execution,
            .workflowTaskScheduled(
                .init(
                    taskQueue: execution.taskQueue, startToCloseTimeoutMs: execution.persisted.workflowTaskTimeoutMs,
                    attempt: attempt)), at: now)
        execution.workflowTask = WorkflowTaskState(
            scheduledEventId: id, attempt: attempt, taskQueue: execution.taskQueue, scheduledTime: now)
        execution.workflowTaskRetryPending = false
        afterCommit(.workflowTaskReady(runSeq: execution.runSeq, scheduledEventId: id))
    }

    /// Routes a committed workflow task: to the connection that caches the run if it is alive,
    /// else to the task queue for any poller.
    func dispatchWorkflowTask(_ execution: Execution) {
        guard execution.isOpen, let task = execution.workflowTask, !task.isStarted else { return }
        if let stickyId = execution.stickyConnection, let connection = connections[stickyId] {
            if let index = taskQueues[task.taskQueue]?.workflowPollers.firstIndex(where: { $0.connectionId == stickyId }
            ) {
                let poller = taskQueues[task.taskQueue]!.workflowPollers.remove(at: index)
                startWorkflowTask(execution, poller: poller)
                return
            }
            execution.workflowTask?.location = .sticky(stickyId)
            connection.stickyTasks.append(execution.runSeq)
            if !execution.queriesAwaitingTask.isEmpty { putWaitingTaskFirst(execution) }
            addTimer(
                .stickyFallback(runSeq: execution.runSeq, scheduledEventId: task.scheduledEventId),
                at: clock.now().adding(milliseconds: configuration.stickyScheduleToStartTimeoutMs))
            return
        }
        execution.stickyConnection = nil
        enqueueWorkflowTask(execution)
    }

    /// Puts a workflow task in its queue, or hands it to a waiting poller.
    func enqueueWorkflowTask(_ execution: Execution) {
        guard let task = execution.workflowTask, !task.isStarted else { return }
        execution.workflowTask?.location = .queued
        if let poller = taskQueues[task.taskQueue]?.workflowPollers.popFirst() {
            startWorkflowTask(execution, poller: poller)
        } else {
            taskQueues[task.taskQueue, default: TaskQueueState()].workflowTasks.append(execution.runSeq)
            if !execution.queriesAwaitingTask.isEmpty { putWaitingTaskFirst(execution) }
        }
    }

    /// Serves a run's waiting task before the tasks nobody waits on, because a query now waits for
    /// it: started at once and pushed to a worker that takes pushed tasks, else put before the
    /// others, so that the query's answer waits only for the tasks queried before it and those
    /// handed out.
    func putWaitingTaskFirst(_ execution: Execution) {
        guard let task = execution.workflowTask else { return }
        if pushQueriedTask(execution) { return }
        switch task.location {
        case .sticky(let connectionId):
            connections[connectionId]?.queriedStickyTasks.append(execution.runSeq)
        case .queued:
            taskQueues[task.taskQueue]?.queriedWorkflowTasks.append(execution.runSeq)
        default:
            return
        }
    }

    /// Starts a run's waiting task for a worker without waiting for its poll, and pushes it there with
    /// the queries that wait for it. A worker's pollers are rarely idle under load: such a task would
    /// wait for one of them to come back with another task's completion and for that completion's
    /// commit. Only a task that needs no history read: one waiting for the connection that caches
    /// the run, or a run's first task (to any connection that polls its queue and takes pushes).
    /// Nothing else joins a queried task while its client waits, so this adds no steady concurrency.
    func pushQueriedTask(_ execution: Execution) -> Bool {
        guard let task = execution.workflowTask, !execution.queriesAwaitingTask.isEmpty else { return false }
        let target: ConnectionState?
        switch task.location {
        case .sticky(let connectionId):
            target = connections[connectionId]
        case .queued where execution.persisted.previousStartedEventId == 0:
            target = pickConnection(for: task.taskQueue, where: \.takesPushedTasks)
        default:
            return false
        }
        guard let target, target.takesPushedTasks, let delivery = beginWorkflowTask(execution, connectionId: target.id)
        else { return false }
        statistics.workflowTasksPushed += 1
        target.handle.push(.workflowTask(delivery.task))
        return true
    }

    /// Hands the run's workflow task to a poller: WorkflowTaskStarted, the lease, the timeout.
    func startWorkflowTask(_ execution: Execution, poller: Poller<WorkflowTaskDelivery>) {
        poller.continuation.resume(returning: beginWorkflowTask(execution, connectionId: poller.connectionId))
    }

    /// Starts the run's workflow task for a connection: WorkflowTaskStarted, the lease, the timeout.
    func beginWorkflowTask(_ execution: Execution, connectionId: UInt64) -> WorkflowTaskDelivery? {
        guard var task = execution.workflowTask else { return nil }
        let connection = connections[connectionId]
        let now = clock.now()
        let identity = connection?.handle.identity
        let startedId = appendEvent(
            execution, .workflowTaskStarted(.init(scheduledEventId: task.scheduledEventId, identity: identity)), at: now
        )
        task.startedAt = ContinuousClock.now
        statistics.latencies.recordStart(waitedAt: task.location, for: task.startedAt - task.scheduledAt)
        task.location = .started(connectionId)
        task.startedEventId = startedId
        // The task carries the whole tail: the worker lacks nothing once it has applied it.
        execution.undeliveredSinceBatch = nil
        execution.queriesCoveredByStartedTask.removeAll()
        task.startedTime = now
        task.identity = identity
        // Queries waiting for this run's pending task ride along: the worker answers them in the
        // completion, right after applying the task's events (no push, no wait for the commit).
        var carried: [WorkflowQuery] = []
        if let connection, connection.answersQueriesInTasks {
            for queryId in execution.queriesAwaitingTask {
                guard var query = queries[queryId] else { continue }
                query.connectionId = connectionId
                queries[queryId] = query
                connection.pendingQueries.insert(queryId)
                task.queries.append(queryId)
                carried.append(query.query)
            }
            execution.queriesAwaitingTask.removeAll()
        }
        execution.workflowTask = task
        connection?.heldWorkflowTasks.insert(execution.runSeq)
        addTimer(
            .workflowTaskStartToClose(
                runSeq: execution.runSeq, scheduledEventId: task.scheduledEventId, startedEventId: startedId),
            at: now.adding(milliseconds: execution.persisted.workflowTaskTimeoutMs))
        let sticky = execution.stickyConnection == connectionId
        let previous = execution.persisted.previousStartedEventId
        // Bounded: a worker fetches what a task does not carry with getWorkflowHistory, page by page.
        let cap = max(1, configuration.maximumEventsPerTask)
        var events = execution.tail
        var prefixThrough = sticky ? 0 : previous
        if events.count > cap {
            events = Array(events.suffix(cap))
            prefixThrough = 0
        }
        if prefixThrough > Int64(cap) { prefixThrough = 0 }
        let delivery = WorkflowTaskDelivery(
            task: WorkflowTask(
                taskToken: TaskToken.workflow(
                    runSeq: execution.runSeq, scheduledEventId: task.scheduledEventId, startedEventId: startedId),
                workflowId: execution.workflowId, runId: execution.runId, workflowType: execution.workflowType,
                taskQueue: task.taskQueue, attempt: task.attempt, previousStartedEventId: previous,
                startedEventId: startedId, events: events, queries: carried.isEmpty ? nil : carried),
            historyPrefixThrough: prefixThrough,
            runSeq: execution.runSeq)
        execution.stickyConnection = connectionId
        statistics.workflowTasksStarted += 1
        if sticky { statistics.stickyHits += 1 }
        return delivery
    }

    /// Attaches the history a non-sticky worker lacks. Runs outside the actor: it reads committed events.
    public nonisolated func completeDelivery(_ delivery: WorkflowTaskDelivery) throws(OrchestratorError)
        -> WorkflowTask
    {
        var task = delivery.task
        guard delivery.historyPrefixThrough > 0 else { return task }
        do {
            let prefix = try store.events(
                runSeq: delivery.runSeq, afterEventId: 0, throughEventId: delivery.historyPrefixThrough, limit: .max)
            task.events = prefix + task.events
        } catch {
            throw .internal("reading history for a workflow task failed: \(error)")
        }
        return task
    }

    // MARK: - Polling

    func pollWorkflowTask(_ request: PollWorkflowTaskRequest, connection: ConnectionState)
        async throws(OrchestratorError)
        -> WorkflowTaskDelivery?
    {
        try validateName(request.taskQueue, field: "taskQueue")
        // Entering the engine may have suspended after the connection was looked up: it may be closed.
        guard connections[connection.id] === connection else {
            throw OrchestratorError(.unavailable, "the connection is closing")
        }
        connection.workflowQueues.insert(request.taskQueue)
        if request.answersQueriesInTasks == true { connection.answersQueriesInTasks = true }
        if request.answersQueriesOfStartedTasks == true { connection.answersQueriesOfStartedTasks = true }
        if request.acceptsPushedWorkflowTasks == true { connection.acceptsPushedWorkflowTasks = true }
        connection.lastPollTime = clock.now()
        // A waiting task is started in the same turn it is taken: a suspension in between would let
        // another poll or a completion take it too. Nil: none waits; `.some(nil)`: the connection closed.
        let ready = { () -> WorkflowTaskDelivery?? in
            guard self.connections[connection.id] === connection else { return .some(nil) }
            return self.takeWaitingTask(for: connection, taskQueue: request.taskQueue).map {
                self.beginWorkflowTask($0, connectionId: connection.id)
            }
        }
        if let delivery = ready() { return delivery }
        let deadline = try longPollDeadline(request.timeoutMs)
        let id = makeWaiterId()
        return await wait(checkingAgain: ready) { continuation in
            taskQueues[request.taskQueue, default: TaskQueueState()].workflowPollers.append(
                Poller(id: id, connectionId: connection.id, deadline: deadline, continuation: continuation))
        }
    }

    /// The run whose task a poll of `taskQueue` by `connection` gets now, taken from where it
    /// waits: tasks waiting for this connection because it caches their runs first, then the queue.
    func takeWaitingTask(for connection: ConnectionState, taskQueue: String) -> Execution? {
        // Each kind of waiting task, queried ones first. A queried task also stays in its plain list,
        // where it is skipped once started (its location no longer matches).
        if let execution = popWaiting(&connection.queriedStickyTasks, at: .sticky(connection.id), taskQueue: taskQueue)
        {
            return execution
        }
        var index = connection.stickyTasks.startIndex
        while index < connection.stickyTasks.endIndex {
            let runSeq = connection.stickyTasks[index]
            guard let execution = executions[runSeq], execution.isOpen, let task = execution.workflowTask,
                task.location == .sticky(connection.id)
            else {
                connection.stickyTasks.remove(at: index)
                continue
            }
            if task.taskQueue == taskQueue {
                connection.stickyTasks.remove(at: index)
                return execution
            }
            index += 1
        }
        guard taskQueues[taskQueue] != nil else { return nil }
        return popWaiting(&taskQueues[taskQueue]!.queriedWorkflowTasks, at: .queued, taskQueue: taskQueue)
            ?? popWaiting(&taskQueues[taskQueue]!.workflowTasks, at: .queued, taskQueue: taskQueue)
    }

    /// Pops `list` up to the first run whose task still waits `at` that place for `taskQueue`;
    /// entries of tasks that moved on are dropped.
    private func popWaiting(_ list: inout Deque<Int64>, at location: WorkflowTaskLocation, taskQueue: String)
        -> Execution?
    {
        while let runSeq = list.popFirst() {
            guard let execution = executions[runSeq], execution.isOpen, let task = execution.workflowTask,
                task.location == location, task.taskQueue == taskQueue
            else { continue }
            return execution
        }
        return nil
    }

    /// When a long poll ends: `timeoutMs` from now (default 60 s; 0 = answer at once).
    func longPollDeadline(_ timeoutMs: Int64?) throws(OrchestratorError) -> Timestamp {
        let timeout = timeoutMs ?? configuration.defaultLongPollTimeoutMs
        guard timeout >= 0 && timeout <= configuration.maximumLongPollTimeoutMs else {
            throw .invalidArgument(
                "timeoutMs must be between 0 and \(configuration.maximumLongPollTimeoutMs) milliseconds, got \(timeout)"
            )
        }
        return clock.now().adding(milliseconds: timeout)
    }

    // MARK: - Completion and failure

    /// The open run and started task a token names, or NOT_FOUND.
    func startedWorkflowTask(token: String) throws(OrchestratorError) -> (Execution, WorkflowTaskState) {
        guard let parsed = TaskToken.parseWorkflow(token) else {
            throw .invalidArgument("'\(token)' is not a workflow task token")
        }
        guard let execution = executions[parsed.runSeq], execution.isOpen, let task = execution.workflowTask,
            task.isStarted, task.scheduledEventId == parsed.scheduledEventId,
            task.startedEventId == parsed.startedEventId
        else {
            throw OrchestratorError(
                .notFound,
                "workflow task \(token) is no longer held: it timed out, its connection closed, or the run closed; drop the cached run and poll again"
            )
        }
        return (execution, task)
    }

    /// Answers the queries a completion carries (those its task carried, or that were pushed for it)
    /// as the completion is read, before it reaches its turn on the actor: the worker computed them
    /// from the state after the task's events, which were durable before the task was handed out,
    /// whatever becomes of the commands. A completion for a task no longer held answers nothing.
    func answerQueries(carriedBy request: CompleteWorkflowTaskRequest, connection: ConnectionState) {
        guard let answers = request.queryResults, !answers.isEmpty,
            let (_, task) = try? startedWorkflowTask(token: request.taskToken)
        else { return }
        answerQueries(answers, of: task, connection: connection)
    }

    /// Answers those of `answers` that name a query `task` carried or had pushed for it and that
    /// still wait (the early path above may have answered them).
    private func answerQueries(
        _ answers: [RespondQueryRequest], of task: WorkflowTaskState, connection: ConnectionState
    ) {
        for answer in answers
        where queries[answer.queryId] != nil
            && (task.queries.contains(answer.queryId) || task.pushedQueries.contains(answer.queryId))
        {
            try? respondQuery(answer, connection: connection)
        }
    }

    /// Applies a task's commands. Returns the run's next task, started for the same connection, when
    /// the request asked for it and the completion scheduled one (events arrived while the task ran),
    /// and the activities it scheduled with eager execution, started for that connection.
    func completeWorkflowTask(_ request: CompleteWorkflowTaskRequest, connection: ConnectionState)
        async throws(OrchestratorError) -> (next: WorkflowTaskDelivery?, activities: [ActivityTask])
    {
        let (execution, task) = try startedWorkflowTask(token: request.taskToken)
        statistics.latencies.taskAtWorker.record(ContinuousClock.now - task.startedAt)
        let identity = request.identity ?? connection.handle.identity
        // A worker that keeps the run cached may ask for its next task in the answer.
        let wantsTask = request.returnNewWorkflowTask == true && request.stickyCache != false
        // Already answered when the completion was read (`answerQueries(carriedBy:)`), unless it
        // reached the engine another way.
        answerQueries(request.queryResults ?? [], of: task, connection: connection)
        returnCarriedQueries(execution, task)
        if let problem = validate(commands: request.commands, for: execution) {
            failStartedWorkflowTask(
                execution, cause: .badCommand, failure: Failure(message: problem, type: "BadCommand"),
                identity: identity)
            try await awaitDurable()
            throw .invalidArgument("workflow task rejected: \(problem)")
        }
        let canceledTimers = Set(
            request.commands.compactMap { command -> String? in
                if case .cancelTimer(let c) = command { return c.timerId }
                return nil
            })
        let unhandled = execution.buffered.filter { buffered in !canceledTimers.contains { buffered.firesTimer($0) } }
        if request.commands.contains(where: \.closesRun) && !unhandled.isEmpty {
            // New events arrived while the task ran: the workflow must see them before it may close.
            failStartedWorkflowTask(
                execution, cause: .unhandledCommand,
                failure: Failure(
                    message:
                        "\(unhandled.count) new event(s) arrived while the workflow task ran; the workflow must handle them before closing",
                    type: "UnhandledCommand"),
                identity: identity)
            try await awaitDurable()
            return (nil, [])
        }
        if case .started(let holder) = task.location { connections[holder]?.heldWorkflowTasks.remove(execution.runSeq) }
        deliverCoveredQueries(execution)
        let completedId = appendEvent(
            execution,
            .workflowTaskCompleted(
                .init(scheduledEventId: task.scheduledEventId, startedEventId: task.startedEventId, identity: identity))
        )
        execution.workflowTask = nil
        execution.persisted.previousStartedEventId = task.startedEventId
        if let cut = execution.tail.firstIndex(where: { $0.eventId > task.startedEventId }) {
            execution.tail.removeFirst(cut)
        } else {
            execution.tail.removeAll()
        }
        execution.completingTask = true
        execution.needsWorkflowTask = false
        for command in request.commands {
            apply(command, to: execution, workflowTaskCompletedEventId: completedId)
            if !execution.isOpen { break }
        }
        execution.completingTask = false
        let eager = holdEagerActivities(
            request.commands, of: execution, taskQueue: task.taskQueue, connection: connection)
        if execution.isOpen {
            let hadBuffered = !execution.buffered.isEmpty
            flushBufferedEvents(execution)
            if hadBuffered || execution.needsWorkflowTask {
                scheduleWorkflowTask(execution)
                if wantsTask {
                    // Not dispatched at commit: it goes back with this answer (see below).
                    execution.workflowTask?.location = .returnedWithCompletion(connection.id)
                }
            }
            execution.stickyConnection = (request.stickyCache ?? true) ? connection.id : nil
            if execution.workflowTask == nil && !execution.queriesAwaitingTask.isEmpty {
                afterCommit(.deliverQueries(runSeq: execution.runSeq))
            }
        }
        execution.needsWorkflowTask = false
        statistics.workflowTasksCompleted += 1
        let returning = execution.workflowTask.map { $0.location == .returnedWithCompletion(connection.id) } ?? false
        do {
            try await awaitDurable()
        } catch {
            if returning { releaseReturnedTask(execution, connection: connection) }
            _ = startEagerActivities(eager, of: execution, connection: connection, start: false)
            throw error
        }
        let activities = startEagerActivities(eager, of: execution, connection: connection, start: true)
        if returning { return (startReturnedTask(execution, connection: connection), activities) }
        // The run has no next task: answer with the task a poll of this worker would get now, if
        // one waits (the worker's next step would be that poll).
        guard wantsTask, connections[connection.id] === connection,
            let waiting = takeWaitingTask(for: connection, taskQueue: task.taskQueue)
        else { return (nil, activities) }
        statistics.workflowTasksReturnedWithCompletion += 1
        return (beginWorkflowTask(waiting, connectionId: connection.id), activities)
    }

    /// Starts the task a completion scheduled for the connection that completed, now that the
    /// completion is durable; if the connection went away meanwhile, routes the task as usual.
    private func startReturnedTask(_ execution: Execution, connection: ConnectionState) -> WorkflowTaskDelivery? {
        guard execution.isOpen, let task = execution.workflowTask,
            task.location == .returnedWithCompletion(connection.id)
        else { return nil }
        guard connections[connection.id] === connection else {
            releaseReturnedTask(execution, connection: connection)
            return nil
        }
        statistics.workflowTasksReturnedWithCompletion += 1
        return beginWorkflowTask(execution, connectionId: connection.id)
    }

    /// Routes a task held back for a completion's answer like any other task.
    private func releaseReturnedTask(_ execution: Execution, connection: ConnectionState) {
        guard let task = execution.workflowTask, task.location == .returnedWithCompletion(connection.id) else { return }
        execution.workflowTask?.location = .notReady
        dispatchWorkflowTask(execution)
    }

    func failWorkflowTask(_ request: FailWorkflowTaskRequest, connection: ConnectionState)
        throws(OrchestratorError) -> Durable<Void>
    {
        let (execution, _) = try startedWorkflowTask(token: request.taskToken)
        logger.warning(
            "workflow task failed",
            metadata: [
                "workflowId": "\(execution.workflowId)", "runId": "\(execution.runId)",
                "cause": "\(request.cause.rawValue)", "failure": "\(request.failure.message)",
            ])
        failStartedWorkflowTask(
            execution, cause: request.cause, failure: request.failure,
            identity: request.identity ?? connection.handle.identity)
        return try durable(())
    }

    /// Records a started workflow task's failure and schedules the next attempt.
    ///
    /// Failures of the workflow code (non-determinism, a throw, a bad command) retry with a growing
    /// delay and drop the run from its worker's cache; failures of the infrastructure (a connection
    /// closed, a restart) and unhandled new events retry at once.
    func failStartedWorkflowTask(
        _ execution: Execution, cause: WorkflowTaskFailedCause, failure: Failure?, identity: String?
    ) {
        guard let task = execution.workflowTask, task.isStarted else { return }
        returnCarriedQueries(execution, task)
        if case .started(let holder) = task.location { connections[holder]?.heldWorkflowTasks.remove(execution.runSeq) }
        appendEvent(
            execution,
            .workflowTaskFailed(
                .init(
                    scheduledEventId: task.scheduledEventId, startedEventId: task.startedEventId, cause: cause,
                    failure: failure, identity: identity)))
        execution.workflowTask = nil
        let codeFailure: Bool
        switch cause {
        case .nonDeterministicError, .workflowWorkerUnhandledFailure, .badCommand: codeFailure = true
        case .connectionClosed, .serverRestarted, .unhandledCommand: codeFailure = false
        }
        if codeFailure || cause == .connectionClosed { execution.stickyConnection = nil }
        // No worker's state is known to hold the run's events until a task starts again.
        execution.undeliveredSinceBatch = 0
        flushBufferedEvents(execution)
        let attempt = codeFailure ? task.attempt + 1 : 1
        let delay = codeFailure ? workflowTaskRetryDelay(attempt: attempt) : 0
        if delay == 0 {
            scheduleWorkflowTask(execution, attempt: attempt)
        } else {
            let fireTime = clock.now().adding(milliseconds: delay)
            execution.workflowTaskRetryPending = true
            write(
                .putTimer(
                    TimerRow(
                        runSeq: execution.runSeq, key: TimerKey.workflowTaskRetry, fireTime: fireTime,
                        eventId: Int64(attempt))))
            addTimer(.workflowTaskRetry(runSeq: execution.runSeq), at: fireTime)
            pendingWorkflowTaskRetryAttempts[execution.runSeq] = attempt
        }
    }

    /// Queries a task carried and its worker did not answer wait again for the run's next task (or
    /// are pushed once none is pending), unless they were answered, timed out or moved on meanwhile.
    func returnCarriedQueries(_ execution: Execution, _ task: WorkflowTaskState) {
        guard case .started(let holder) = task.location else { return }
        for queryId in task.queries {
            guard var query = queries[queryId], query.connectionId == holder else { continue }
            query.connectionId = nil
            queries[queryId] = query
            connections[holder]?.pendingQueries.remove(queryId)
            execution.queriesAwaitingTask.append(queryId)
        }
        execution.workflowTask?.queries.removeAll()
    }

    /// Attempt 2 at once, then 1 s, 2 s, 4 s… up to the configured maximum.
    func workflowTaskRetryDelay(attempt: Int32) -> Int64 {
        guard attempt > 2 else { return 0 }
        let exponent = min(Int64(attempt - 3), 30)
        return min(1000 << exponent, configuration.maximumWorkflowTaskRetryIntervalMs)
    }

    func workflowTaskRetryFired(runSeq: Int64) {
        guard let execution = executions[runSeq], execution.isOpen, execution.workflowTaskRetryPending else { return }
        let attempt = pendingWorkflowTaskRetryAttempts.removeValue(forKey: runSeq) ?? 2
        write(.deleteTimer(runSeq: runSeq, key: TimerKey.workflowTaskRetry))
        scheduleWorkflowTask(execution, attempt: attempt)
    }

    func workflowTaskTimedOut(runSeq: Int64, scheduledEventId: Int64, startedEventId: Int64) {
        guard let execution = executions[runSeq], execution.isOpen, let task = execution.workflowTask,
            task.isStarted, task.scheduledEventId == scheduledEventId, task.startedEventId == startedEventId
        else { return }
        logger.warning(
            "workflow task timed out",
            metadata: ["workflowId": "\(execution.workflowId)", "runId": "\(execution.runId)"])
        returnCarriedQueries(execution, task)
        if case .started(let holder) = task.location { connections[holder]?.heldWorkflowTasks.remove(runSeq) }
        appendEvent(
            execution,
            .workflowTaskTimedOut(
                .init(scheduledEventId: scheduledEventId, startedEventId: startedEventId, timeoutType: .startToClose)))
        execution.workflowTask = nil
        execution.stickyConnection = nil
        execution.undeliveredSinceBatch = 0
        flushBufferedEvents(execution)
        scheduleWorkflowTask(execution, attempt: task.attempt + 1)
    }

    func stickyFallbackFired(runSeq: Int64, scheduledEventId: Int64) {
        guard let execution = executions[runSeq], execution.isOpen, let task = execution.workflowTask,
            task.scheduledEventId == scheduledEventId, case .sticky = task.location
        else { return }
        statistics.stickyFallbacks += 1
        enqueueWorkflowTask(execution)
    }
}
