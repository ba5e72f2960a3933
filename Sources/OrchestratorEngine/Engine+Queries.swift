import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// Asks a run's worker a question. The query reflects every event acknowledged before it: if a
    /// workflow task carrying such an event is pending, the query waits for it to complete (events
    /// still being committed were acknowledged to nobody and need no wait). It goes to the
    /// connection that caches the run (sticky), else to any worker polling the run's task queue,
    /// which replays it.
    /// Returns the run and where its answer will be, awaited outside the actor.
    func askQuery(_ request: QueryWorkflowRequest, origin: UInt64) throws(OrchestratorError)
        -> (runId: String, answer: Outcome<Result<JSONValue?, OrchestratorError>>)
    {
        try validateName(request.workflowId, field: "workflowId")
        try validateName(request.queryType, field: "queryType")
        try validateTimeout(request.timeoutMs, field: "timeoutMs", maximum: configuration.maximumLongPollTimeoutMs)
        let resolved = try resolveRun(workflowId: request.workflowId, runId: request.runId)
        let (runSeq, runId, workflowType, taskQueue): (Int64, String, String, String)
        switch resolved {
        case .memory(let execution):
            (runSeq, runId, workflowType, taskQueue) = (
                execution.runSeq, execution.runId, execution.workflowType, execution.taskQueue
            )
        case .stored(let row):
            (runSeq, runId, workflowType, taskQueue) = (row.runSeq, row.runId, row.workflowType, row.taskQueue)
        }
        guard connections.values.contains(where: { $0.workflowQueues.contains(taskQueue) }) else {
            throw OrchestratorError(
                .noWorker,
                "no worker is polling task queue \(taskQueue), so nothing can answer query \(request.queryType) for workflow \(request.workflowId); start a worker for that task queue",
                details: ["taskQueue": .string(taskQueue)])
        }
        let timeout = request.timeoutMs ?? configuration.defaultQueryTimeoutMs
        let queryId = "q\(makeWaiterId())"
        let query = WorkflowQuery(
            queryId: queryId, workflowId: request.workflowId, runId: runId, workflowType: workflowType,
            taskQueue: taskQueue, queryType: request.queryType, args: request.args)
        let answer = Outcome<Result<JSONValue?, OrchestratorError>>()
        queries[queryId] = PendingQuery(
            query: query, originConnectionId: origin, runSeq: runSeq,
            deadline: clock.now().adding(milliseconds: timeout), connectionId: nil, answer: answer)
        statistics.queries += 1
        if let execution = executions[runSeq], execution.isOpen,
            execution.workflowTask != nil || execution.workflowTaskRetryPending
        {
            // Every event acknowledged before this query is committed. If the events the run's last
            // handed-out task lacks are all in batches still to commit, none of them was
            // acknowledged, and the worker's state after that task answers the query.
            let lacksNothingAcknowledged = execution.lacksOnlyUncommittedEvents(committedBatches: committedBatches)
            if lacksNothingAcknowledged, let task = execution.workflowTask {
                switch task.location {
                case .started(let holder):
                    if let connection = connections[holder], connection.answersQueriesOfStartedTasks {
                        // The holder answers in the task's completion, or after it.
                        execution.workflowTask?.pushedQueries.append(queryId)
                        queries[queryId]?.path = .coveredByStartedTask
                        push(
                            queryId, to: connection,
                            taskToken: TaskToken.workflow(
                                runSeq: runSeq, scheduledEventId: task.scheduledEventId,
                                startedEventId: task.startedEventId))
                        return (runId, answer)
                    }
                case .notReady, .sticky, .queued, .returnedWithCompletion:
                    // The last task was completed by the worker that caches the run: its state holds
                    // every acknowledged event. The pending task carries only newer ones.
                    if let sticky = execution.stickyConnection.flatMap({ connections[$0] }) {
                        statistics.queriesAnsweredAheadOfTask += 1
                        queries[queryId]?.path = .aheadOfTask
                        push(queryId, to: sticky)
                        return (runId, answer)
                    }
                case .backoff:
                    break
                }
            }
            // The run has events its worker has not processed yet: answer after they are.
            execution.queriesAwaitingTask.append(queryId)
            queries[queryId]?.path = .waitedForTask
            // A covered query goes out once the task is completed.
            if lacksNothingAcknowledged, execution.workflowTask?.isStarted == true {
                execution.queriesCoveredByStartedTask.append(queryId)
            }
            putWaitingTaskFirst(execution)
        } else {
            routeQuery(queryId)
        }
        return (runId, answer)
    }

    /// Pushes a waiting query to the best connection, or fails it with NO_WORKER.
    func routeQuery(_ queryId: String) {
        guard let query = queries[queryId] else { return }
        let execution = query.runSeq.flatMap { executions[$0] }
        let sticky = execution?.stickyConnection.flatMap { connections[$0] }
        guard let target = sticky ?? pickConnection(for: query.query.taskQueue) else {
            queries[queryId] = nil
            query.answer.finish(
                .failure(
                    OrchestratorError(
                        .noWorker,
                        "no worker is polling task queue \(query.query.taskQueue) to answer query \(query.query.queryType); start a worker for that task queue"
                    )))
            return
        }
        push(queryId, to: target)
    }

    /// Hands a query to a worker connection. `taskToken` names a started task the connection holds
    /// that covers the query; a query routed anew has none.
    private func push(_ queryId: String, to connection: ConnectionState, taskToken: String? = nil) {
        guard var query = queries[queryId] else { return }
        query.connectionId = connection.id
        query.query.taskToken = taskToken
        queries[queryId] = query
        connection.pendingQueries.insert(queryId)
        connection.handle.push(.workflowQuery(query.query))
    }

    /// A connection that polls `taskQueue` and is `eligible`, preferring one with a poll waiting (it
    /// is idle), else the one that polled last.
    func pickConnection(
        for taskQueue: String, where eligible: (ConnectionState) -> Bool = { _ in true }
    ) -> ConnectionState? {
        if let poller = taskQueues[taskQueue]?.workflowPollers.last, let connection = connections[poller.connectionId],
            eligible(connection)
        {
            return connection
        }
        return connections.values.filter { $0.workflowQueues.contains(taskQueue) && eligible($0) }.max {
            $0.lastPollTime < $1.lastPollTime
        }
    }

    /// Routes the queries a completed task covers (see `queriesCoveredByStartedTask`) at once: the
    /// worker that completed it has applied its events, and a worker that did not replays them.
    func deliverCoveredQueries(_ execution: Execution) {
        let covered = execution.queriesCoveredByStartedTask
        execution.queriesCoveredByStartedTask.removeAll()
        for queryId in covered {
            guard let index = execution.queriesAwaitingTask.firstIndex(of: queryId) else { continue }
            execution.queriesAwaitingTask.remove(at: index)
            routeQuery(queryId)
        }
    }

    /// Routes queries that waited for the run's workflow task, once no task is pending.
    func deliverAwaitingQueries(runSeq: Int64) {
        guard let execution = executions[runSeq] else { return }
        if execution.isOpen && (execution.workflowTask != nil || execution.workflowTaskRetryPending) { return }
        let waiting = execution.queriesAwaitingTask
        execution.queriesAwaitingTask.removeAll()
        for queryId in waiting { routeQuery(queryId) }
    }

    func respondQuery(_ request: RespondQueryRequest, connection: ConnectionState) throws(OrchestratorError) {
        guard let query = queries.removeValue(forKey: request.queryId) else {
            throw .notFound("query \(request.queryId) is unknown, already answered, or timed out")
        }
        connection.pendingQueries.remove(request.queryId)
        statistics.latencies.recordQuery(query.path, took: ContinuousClock.now - query.askedAt)
        if let failure = request.failure {
            query.answer.finish(
                .failure(
                    OrchestratorError(
                        .queryFailed,
                        "query \(query.query.queryType) on workflow \(query.query.workflowId) failed: \(failure.message)",
                        details: ["failure": .string(failure.description)])))
        } else {
            query.answer.finish(.success(request.result))
        }
    }
}
