import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// Serves one request from a connection that completed its handshake.
    ///
    /// Mutating operations return after their writes are committed. Long polls (tasks, history,
    /// results, queries) return when there is something to return or their time is up. Reads of
    /// committed history and of the visibility index run outside the engine's actor.
    public nonisolated func handle(_ request: Request, from connection: any EngineConnection) async -> Result<
        Response, OrchestratorError
    > {
        do throws(OrchestratorError) {
            return .success(try await serve(request, from: connection))
        } catch {
            return .failure(error)
        }
    }

    /// Serves a request whose work in the engine needs no wait (signals, starts, activity
    /// completions and failures, query answers) on the calling thread, with no task: applies it
    /// now and calls `answer` once its writes are durable, from the commit's completion. A query is
    /// handed to its worker now and answered from the callback that the worker's answer (or its
    /// timeout) resolves. Returns false for any other request, which ``handle(_:from:)`` serves; of
    /// a workflow task's completion, the query answers it carries are given to their askers here.
    ///
    /// Call it on the engine's executor only (the server's event loop, where connections read
    /// their requests): it runs the engine's code synchronously there.
    public nonisolated func handleImmediately(
        _ request: Request, from connection: any EngineConnection,
        answer: @escaping @Sendable (Result<Response, OrchestratorError>) -> Void
    ) -> Bool {
        assumeIsolated { engine in
            let applied: ImmediateAnswer?
            do throws(OrchestratorError) {
                applied = try engine.apply(immediate: request, from: connection)
            } catch {
                answer(.failure(error))
                return true
            }
            guard let applied else { return false }
            applied.whenReady(answer)
            return true
        }
    }

    /// Applies a request that waits for nothing but its commit (or, a query, for its worker's
    /// answer), with the answer to give then; nil (and nothing done) for any other request.
    private func apply(immediate request: Request, from connection: any EngineConnection)
        throws(OrchestratorError) -> ImmediateAnswer?
    {
        switch request {
        case .signalWorkflow(let body):
            return .afterCommit(try signalWorkflow(body).map { .signalWorkflow($0) })
        case .startWorkflow(let body):
            return .afterCommit(try startWorkflow(body).map { .startWorkflow($0) })
        case .signalWithStartWorkflow(let body):
            return .afterCommit(
                try startWorkflow(body.start, signal: (body.signalName, body.signalInput))
                    .map { .signalWithStartWorkflow($0) })
        case .completeActivityTask(let body):
            return .afterCommit(
                try completeActivityTask(body, connection: try state(of: connection))
                    .map { .completeActivityTask(Empty()) })
        case .failActivityTask(let body):
            return .afterCommit(
                try failActivityTask(body, connection: try state(of: connection)).map { .failActivityTask(Empty()) })
        case .respondQuery(let body):
            try respondQuery(body, connection: try state(of: connection))
            return .afterCommit(Durable(value: .respondQuery(Empty()), ticket: nil))
        case .queryWorkflow(let body):
            let (runId, answer) = try askQuery(body, origin: connection.connectionId)
            return .queryAnswer(runId: runId, answer)
        case .completeWorkflowTask(let body):
            // The completion itself waits for a task; the answers it carries need not.
            if let state = try? state(of: connection) { answerQueries(carriedBy: body, connection: state) }
            return nil
        default:
            return nil
        }
    }

    /// A request ``apply(immediate:from:)`` takes, served the way a task waits: on the actor, then
    /// for its commit (or its worker's answer) outside it.
    private func applyThenWait(_ request: Request, from connection: any EngineConnection)
        async throws(OrchestratorError) -> Response
    {
        guard let applied = try apply(immediate: request, from: connection) else {
            preconditionFailure("\(request.operation.rawValue) is not applied immediately")
        }
        return try await applied.response()
    }

    private nonisolated func serve(_ request: Request, from connection: any EngineConnection)
        async throws(OrchestratorError)
        -> Response
    {
        switch request {
        case .hello:
            throw .invalidArgument("hello is only valid as the first request of a connection")
        case .ping:
            return .ping(Empty())
        case .startWorkflow, .signalWithStartWorkflow, .signalWorkflow, .completeActivityTask, .failActivityTask,
            .respondQuery, .queryWorkflow:
            return try await applyThenWait(request, from: connection)
        case .describeWorkflow(let body):
            return .describeWorkflow(try await describeWorkflow(body))
        case .getWorkflowHistory(let body):
            let range = try await historyRange(body, origin: connection.connectionId)
            let after = max(0, body.afterEventId ?? 0)
            let pageSize = min(max(body.maximumPageSize ?? 1000, 1), 10_000)
            let events = try await offLoop { () throws(OrchestratorError) in
                do {
                    return try store.events(
                        runSeq: range.runSeq, afterEventId: after, throughEventId: range.committedThrough,
                        limit: pageSize, maxBytes: configuration.maximumHistoryPageBytes)
                } catch {
                    throw .internal("reading history failed: \(error)")
                }
            }
            let hasMore = (events.last?.eventId ?? range.committedThrough) < range.committedThrough
            return .getWorkflowHistory(
                GetWorkflowHistoryResponse(
                    runId: range.runId, events: events, hasMore: hasMore, closed: range.closed && !hasMore))
        case .awaitWorkflowResult(let body):
            var current = body
            while true {
                let run = try await awaitWorkflowResult(current, origin: connection.connectionId)
                let (response, next) = try result(of: run, followRuns: body.followRuns ?? true)
                guard let next else { return .awaitWorkflowResult(response) }
                current.runId = next
            }
        case .listWorkflows(let body):
            return .listWorkflows(try await offLoop { () throws(OrchestratorError) in try list(body) })
        case .requestCancelWorkflow(let body):
            return .requestCancelWorkflow(try await requestCancelWorkflow(body).get())
        case .terminateWorkflow(let body):
            return .terminateWorkflow(try await terminateWorkflow(body).get())
        case .pollWorkflowTask(let body):
            guard
                let delivery = try await withConnection(
                    connection,
                    { engine, state throws(OrchestratorError) in
                        try await engine.pollWorkflowTask(body, connection: state)
                    })
            else {
                return .pollWorkflowTask(PollWorkflowTaskResponse(task: nil))
            }
            return .pollWorkflowTask(PollWorkflowTaskResponse(task: try await deliver(delivery)))
        case .completeWorkflowTask(let body):
            let (next, activities) = try await withConnection(connection) {
                engine, state throws(OrchestratorError) in
                try await engine.completeWorkflowTask(body, connection: state)
            }
            let task: WorkflowTask?
            if let next { task = try await deliver(next) } else { task = nil }
            return .completeWorkflowTask(
                CompleteWorkflowTaskResponse(workflowTask: task, activityTasks: activities.isEmpty ? nil : activities))
        case .failWorkflowTask(let body):
            try await withConnection(connection) { engine, state throws(OrchestratorError) in
                try engine.failWorkflowTask(body, connection: state)
            }.get()
            return .failWorkflowTask(Empty())
        case .pollActivityTask(let body):
            let task = try await withConnection(connection) { engine, state throws(OrchestratorError) in
                try await engine.pollActivityTask(body, connection: state)
            }
            return .pollActivityTask(PollActivityTaskResponse(task: task))
        case .cancelActivityTask(let body):
            try await withConnection(connection) { engine, state throws(OrchestratorError) in
                try engine.cancelActivityTask(body, connection: state)
            }.get()
            return .cancelActivityTask(Empty())
        case .heartbeatActivityTask(let body):
            return .heartbeatActivityTask(try await heartbeatActivityTask(body))
        }
    }

    /// A task as handed out: with the history a worker that does not cache its run lacks, read off
    /// the loop when there is any.
    private nonisolated func deliver(_ delivery: WorkflowTaskDelivery) async throws(OrchestratorError) -> WorkflowTask {
        guard delivery.historyPrefixThrough > 0 else { return delivery.task }
        return try await offLoop { () throws(OrchestratorError) in try completeDelivery(delivery) }
    }

    /// Runs a read of committed data on the global executor. Requests are served on the server's
    /// event loop, which also runs the engine: a long history page or listing read there would
    /// hold up every other request until it is done.
    private nonisolated func offLoop<T: Sendable>(_ read: @Sendable () throws(OrchestratorError) -> T)
        async throws(OrchestratorError) -> T
    {
        try await withTaskExecutorPreference(globalConcurrentExecutor) { () throws(OrchestratorError) in try read() }
    }

    /// Runs `body` on the actor with the connection's state, or fails if the connection is unknown.
    private func withConnection<T: Sendable>(
        _ connection: any EngineConnection,
        _ body: @Sendable (isolated Engine, ConnectionState) async throws(OrchestratorError) -> T
    ) async throws(OrchestratorError) -> T {
        try await body(self, try state(of: connection))
    }

    /// The engine's state of a connection; UNAVAILABLE if storage failed or the connection is closing.
    private func state(of connection: any EngineConnection) throws(OrchestratorError) -> ConnectionState {
        if let storageFailure { throw OrchestratorError(.unavailable, storageFailure) }
        guard let state = connections[connection.connectionId] else {
            throw OrchestratorError(.unavailable, "the connection is closing")
        }
        return state
    }

    nonisolated func list(_ request: ListWorkflowsRequest) throws(OrchestratorError) -> ListWorkflowsResponse {
        let pageSize = min(max(request.pageSize ?? 100, 1), 1000)
        var before: Int64?
        if let token = request.nextPageToken {
            guard let value = Int64(token), value > 0 else {
                throw .invalidArgument("nextPageToken '\(token)' is not one this server gave")
            }
            before = value
        }
        let rows: [ExecutionRow]
        do {
            rows = try store.listExecutions(
                ExecutionFilter(
                    status: request.status, workflowType: request.workflowType,
                    workflowIdPrefix: request.workflowIdPrefix, searchAttribute: request.searchAttribute,
                    beforeRunSeq: before, limit: pageSize + 1))
        } catch {
            throw .internal("listing workflows failed: \(error)")
        }
        let page = Array(rows.prefix(pageSize))
        let next = rows.count > pageSize ? page.last.map { String($0.runSeq) } : nil
        return ListWorkflowsResponse(executions: page.map(\.info), nextPageToken: next)
    }
}
