import Foundation
import OrchestratorClient
import OrchestratorProtocol
import Testing

/// A fake worker that answers pushed queries with what `answer` returns.
func answerQueries(on worker: OrchestratorClient, _ answer: @escaping @Sendable (WorkflowQuery) -> JSONValue?) -> Task<
    Void, Never
> {
    Task {
        for await push in worker.pushes {
            guard case .workflowQuery(let query) = push else { continue }
            _ = try? await worker.send(RespondQueryRequest(queryId: query.queryId, result: answer(query)))
        }
    }
}

@Suite("Queries", .serialized)
struct QueryTests {
    @Test("a query goes to the worker that caches the run")
    func stickyQuery() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let a = try await h.worker("worker-a")
            let b = try await h.worker("worker-b")
            try await h.complete(a, try #require(try await h.poll(a)))
            async let idle = h.poll(b, timeoutMs: 1_000)
            let answering = answerQueries(on: a) { query in ["by": "a", "query": .string(query.queryType)] }
            let ignoring = answerQueries(on: b) { _ in ["by": "b"] }
            let response = try await h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "status"))
            #expect(response.result == ["by": "a", "query": "status"])
            answering.cancel()
            ignoring.cancel()
            _ = try await idle
        }
    }

    @Test("a query waits until the worker has processed every acknowledged signal")
    func queryIsConsistentWithSignals() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)))
            try await h.signal("wf", "add-alert", ["alertID": "A1"])
            // The signal is acknowledged but the worker has not seen it: the query must wait for the task.
            let seen = SeenSignals()
            let answering = answerQueries(on: worker) { _ in .int(Int64(seen.count)) }
            async let query = h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "count"))
            try await Task.sleep(for: .milliseconds(100))
            let task = try #require(try await h.poll(worker))
            seen.add(task.events.filter { $0.eventType == .workflowExecutionSignaled }.count)
            try await h.complete(worker, task)
            #expect(try await query.result == 1)
            answering.cancel()
        }
    }

    @Test("no worker polling the task queue: NO_WORKER at once")
    func noWorker() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let error = await expectError(.noWorker) {
                _ = try await h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "status"))
            }
            #expect(error?.message.contains("task queue q") == true)
        }
    }

    @Test("a worker that does not answer: TIMEOUT; a failing handler: QUERY_FAILED")
    func timeoutAndFailure() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)))
            await expectError(.timeout) {
                _ = try await h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "status", timeoutMs: 300))
            }
            let failing = Task {
                for await push in worker.pushes {
                    guard case .workflowQuery(let query) = push else { continue }
                    _ = try? await worker.send(
                        RespondQueryRequest(
                            queryId: query.queryId, failure: Failure(message: "unknown query type nope")))
                }
            }
            let error = await expectError(.queryFailed) {
                _ = try await h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "nope"))
            }
            #expect(error?.message.contains("unknown query type nope") == true)
            failing.cancel()
        }
    }

    @Test("a closed run is queried through any worker of its task queue")
    func closedRunQuery() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)), [.complete("RESOLVED")])
            async let idle = h.poll(worker, timeoutMs: 1_000)
            let answering = answerQueries(on: worker) { query in .string("replayed \(query.runId)") }
            let response = try await h.client.send(QueryWorkflowRequest(workflowId: "wf", queryType: "status"))
            #expect(response.result == .string("replayed \(response.runId)"))
            answering.cancel()
            _ = try await idle
        }
    }
}

/// What the server pushes to a fake worker, of one kind, in order.
final class Pushed<Item: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Item] = []
    private var reader: Task<Void, Never>?

    init(_ worker: OrchestratorClient, _ pick: @escaping @Sendable (Push) -> Item?) {
        reader = Task { [weak self] in
            for await push in worker.pushes {
                guard let item = pick(push) else { continue }
                self?.lock.withLock { self?.items.append(item) }
            }
        }
    }

    deinit { reader?.cancel() }

    /// How many came and were not taken with `next`.
    var count: Int { lock.withLock { items.count } }

    /// The next one pushed, or a TIMEOUT error when none comes within `timeout`.
    func next(timeout: Duration = .seconds(5)) async throws -> Item {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let item = lock.withLock({ items.isEmpty ? nil : items.removeFirst() }) { return item }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw OrchestratorError(.timeout, "nothing was pushed within \(timeout)")
    }
}

/// The queries pushed to a fake worker.
func pushedQueries(_ worker: OrchestratorClient) -> Pushed<WorkflowQuery> {
    Pushed(worker) { push in
        guard case .workflowQuery(let query) = push else { return nil }
        return query
    }
}

/// The workflow tasks pushed to a fake worker.
func pushedTasks(_ worker: OrchestratorClient) -> Pushed<WorkflowTask> {
    Pushed(worker) { push in
        guard case .workflowTask(let task) = push else { return nil }
        return task
    }
}

/// A counter shared between a test and its fake worker.
final class SeenSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func add(_ n: Int) { lock.withLock { value += n } }
}

@Suite("Queries carried by workflow tasks", .serialized)
struct QueriesInTasksTests {
    func poll(
        _ worker: OrchestratorClient, answersQueriesInTasks: Bool = true, answersQueriesOfStartedTasks: Bool = false,
        acceptsPushedWorkflowTasks: Bool = false, timeoutMs: Int64 = 5_000
    ) async throws -> WorkflowTask? {
        try await worker.send(
            PollWorkflowTaskRequest(
                taskQueue: "q", timeoutMs: timeoutMs, answersQueriesInTasks: answersQueriesInTasks,
                answersQueriesOfStartedTasks: answersQueriesOfStartedTasks,
                acceptsPushedWorkflowTasks: acceptsPushedWorkflowTasks)
        ).task
    }

    /// Completes `task` with no commands, answering every query it carries with `result`.
    func completeAnswering(_ worker: OrchestratorClient, _ task: WorkflowTask, with result: JSONValue) async throws {
        _ = try await worker.send(
            CompleteWorkflowTaskRequest(
                taskToken: task.taskToken, commands: [],
                queryResults: (task.queries ?? []).map { RespondQueryRequest(queryId: $0.queryId, result: result) }))
    }

    /// Asks run `id` a query; returns once the server holds it (one more query pending than before).
    func ask(_ h: Harness, _ id: String) async throws -> Task<QueryWorkflowResponse, any Error> {
        let engine = try h.server.engine
        let before = await engine.pendingQueryCount
        let client = h.client
        let query = Task { try await client.send(QueryWorkflowRequest(workflowId: id, queryType: "status")) }
        let deadline = ContinuousClock.now + .seconds(5)
        while await engine.pendingQueryCount <= before {
            guard ContinuousClock.now < deadline else { throw OrchestratorError(.timeout, "query \(id) never pending") }
            try await Task.sleep(for: .milliseconds(2))
        }
        return query
    }

    /// Starts run `id`, completes its first task, signals it (so a task is pending), and asks a query;
    /// returns once the server holds the query waiting for that task.
    func askWhileTaskPending(
        _ h: Harness, _ id: String, worker: OrchestratorClient, answersQueriesInTasks: Bool = true
    ) async throws -> Task<QueryWorkflowResponse, any Error> {
        try await h.start(id)
        try await h.complete(worker, try #require(try await poll(worker, answersQueriesInTasks: answersQueriesInTasks)))
        try await h.signal(id, "add-alert", ["alertID": "A1"])
        let query = try await ask(h, id)
        return query
    }

    @Test("a query waiting for a pending task rides in it and is answered by its completion, with no push")
    func queryAnsweredInCompletion() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushed = answerQueries(on: worker) { _ in "pushed" }
            defer { pushed.cancel() }
            let query = try await askWhileTaskPending(h, "wf-qt", worker: worker)
            let task = try #require(try await poll(worker))
            let carried = try #require(task.queries)
            #expect(carried.map(\.queryType) == ["status"])
            #expect(task.events.contains { $0.eventType == .workflowExecutionSignaled })
            try await completeAnswering(worker, task, with: "from-task")
            #expect(try await query.value.result == "from-task")
        }
    }

    @Test("a carried query the completion leaves unanswered is pushed once no task is pending")
    func unansweredQueryIsPushed() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushed = answerQueries(on: worker) { _ in "pushed" }
            defer { pushed.cancel() }
            let query = try await askWhileTaskPending(h, "wf-qt2", worker: worker)
            let task = try #require(try await poll(worker))
            #expect(task.queries?.count == 1)
            try await h.complete(worker, task)
            #expect(try await query.value.result == "pushed")
        }
    }

    @Test("a carried query of a failed task rides the next attempt")
    func queryRidesRetry() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let query = try await askWhileTaskPending(h, "wf-qt3", worker: worker)
            let first = try #require(try await poll(worker))
            let queryId = try #require(first.queries?.first?.queryId)
            _ = try await worker.send(
                FailWorkflowTaskRequest(
                    taskToken: first.taskToken, cause: .workflowWorkerUnhandledFailure,
                    failure: Failure(message: "boom", type: "Test")))
            let second = try #require(try await poll(worker))
            #expect(second.attempt == 2)
            #expect(second.queries?.map(\.queryId) == [queryId])
            _ = try await worker.send(
                CompleteWorkflowTaskRequest(
                    taskToken: second.taskToken, commands: [],
                    queryResults: [RespondQueryRequest(queryId: queryId, result: "second")]))
            #expect(try await query.value.result == "second")
        }
    }

    @Test("a worker that does not ask for queries in tasks gets none; the query is pushed after the task")
    func optIn() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushed = answerQueries(on: worker) { _ in "pushed" }
            defer { pushed.cancel() }
            let query = try await askWhileTaskPending(h, "wf-qt4", worker: worker, answersQueriesInTasks: false)
            let task = try #require(try await poll(worker, answersQueriesInTasks: false))
            #expect(task.queries == nil)
            try await h.complete(worker, task)
            #expect(try await query.value.result == "pushed")
        }
    }

    /// Starts run `id`, polls its first task (left started), and asks a query; returns once the
    /// server holds the query waiting for that task.
    func askWhileTaskStarted(
        _ h: Harness, _ id: String, worker: OrchestratorClient, answersQueriesOfStartedTasks: Bool = false
    ) async throws -> (WorkflowTask, Task<QueryWorkflowResponse, any Error>) {
        try await h.start(id)
        let task = try #require(try await poll(worker, answersQueriesOfStartedTasks: answersQueriesOfStartedTasks))
        let query = try await ask(h, id)
        return (task, query)
    }

    @Test("a query that arrives while a task holding every earlier event runs goes out when it completes, not later")
    func queryCoveredByStartedTask() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushed = answerQueries(on: worker) { _ in "pushed" }
            defer { pushed.cancel() }
            let (first, query) = try await askWhileTaskStarted(h, "wf-qc", worker: worker)
            // A signal after the query: the query need not see it, so it does not wait for the next task.
            try await h.signal("wf-qc", "add-alert", ["alertID": "A1"])
            try await h.complete(worker, first)
            #expect(try await query.value.result == "pushed")
            let next = try #require(try await poll(worker))
            #expect(next.events.contains { $0.eventType == .workflowExecutionSignaled })
            #expect(next.queries == nil)
        }
    }

    @Test("a query that arrives after an event the started task lacks waits for the next task")
    func queryNotCoveredByStartedTask() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushed = answerQueries(on: worker) { _ in "pushed" }
            defer { pushed.cancel() }
            try await h.start("wf-qn")
            let first = try #require(try await poll(worker))
            // The signal comes while the task runs (buffered), then the query: it must see the signal.
            try await h.signal("wf-qn", "add-alert", ["alertID": "A1"])
            let query = try await ask(h, "wf-qn")
            try await h.complete(worker, first)
            let next = try #require(try await poll(worker))
            #expect(next.events.contains { $0.eventType == .workflowExecutionSignaled })
            _ = try #require(next.queries)
            try await completeAnswering(worker, next, with: "after-signal")
            #expect(try await query.value.result == "after-signal")
        }
    }

    @Test("a query covered by a started task is pushed at once with the task's token and answered in its completion")
    func queryOfStartedTaskAnsweredInCompletion() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushes = pushedQueries(worker)
            let (task, query) = try await askWhileTaskStarted(
                h, "wf-qs", worker: worker, answersQueriesOfStartedTasks: true)
            // Pushed while the task still runs: the completion has not been sent.
            let pushed = try await pushes.next()
            #expect(pushed.taskToken == task.taskToken)
            #expect(pushed.queryType == "status")
            _ = try await worker.send(
                CompleteWorkflowTaskRequest(
                    taskToken: task.taskToken, commands: [],
                    queryResults: [RespondQueryRequest(queryId: pushed.queryId, result: "from-completion")]))
            #expect(try await query.value.result == "from-completion")
            // Answered once: a late answer for it finds nothing.
            await expectError(.notFound) {
                _ = try await worker.send(RespondQueryRequest(queryId: pushed.queryId, result: "late"))
            }
        }
    }

    @Test("a query of a started task that its completion leaves out waits for the holder's own answer")
    func queryOfStartedTaskAnsweredAfterCompletion() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let pushes = pushedQueries(worker)
            let (task, query) = try await askWhileTaskStarted(
                h, "wf-qs2", worker: worker, answersQueriesOfStartedTasks: true)
            let pushed = try await pushes.next()
            try await h.complete(worker, task)
            // Not carried by the run's tasks, not pushed again: it stays with the connection.
            #expect(await (try h.server.engine).pendingQueryCount == 1)
            _ = try await worker.send(RespondQueryRequest(queryId: pushed.queryId, result: "after-completion"))
            #expect(try await query.value.result == "after-completion")
        }
    }

    @Test("a query of a started task whose holder closes goes to another worker without the token")
    func queryOfStartedTaskRoutedOnClose() async throws {
        try await Harness.with { h in
            let holder = try await h.worker("holder")
            let pushes = pushedQueries(holder)
            let other = try await h.worker("other")
            let answering = answerQueries(on: other) { query in .string(query.taskToken ?? "no token") }
            defer { answering.cancel() }
            try await h.start("wf-qs3")
            _ = try #require(try await poll(holder, answersQueriesOfStartedTasks: true))
            // The other worker has polled the queue (no task is left there): it can answer queries.
            #expect(try await other.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 0)).task == nil)
            let query = try await ask(h, "wf-qs3")
            #expect(try await pushes.next().taskToken != nil)
            await holder.close()
            #expect(try await query.value.result == "no token")
        }
    }

    @Test("tasks that queries wait for go first, in the order the queries came; then the others")
    func queriedTasksGoFirst() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            // The worker has polled the queue (so a query has someone to go to), and polls no more.
            _ = try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 0))
            // Three runs whose first tasks wait in the queue; the last two queried, in that order.
            for id in ["wf-plain", "wf-queried-1", "wf-queried-2"] { try await h.start(id) }
            var queries: [Task<QueryWorkflowResponse, any Error>] = []
            for id in ["wf-queried-1", "wf-queried-2"] { queries.append(try await ask(h, id)) }
            for (index, id) in ["wf-queried-1", "wf-queried-2"].enumerated() {
                let task = try #require(try await poll(worker))
                #expect(task.workflowId == id)
                _ = try #require(task.queries)
                try await completeAnswering(worker, task, with: .string(id))
                #expect(try await queries[index].value.result == .string(id))
            }
            #expect(try await poll(worker)?.workflowId == "wf-plain")
        }
    }

    @Test("a task a query waits for is started and pushed to the worker that caches the run, carrying the query")
    func queriedTaskPushedToItsWorker() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let tasks = pushedTasks(worker)
            try await h.start("wf-push")
            let first = try #require(try await poll(worker, acceptsPushedWorkflowTasks: true))
            try await h.complete(worker, first)
            // A signal schedules the next task; no poll of the worker waits for it, and none comes.
            try await h.signal("wf-push", "add-alert", ["alertID": "A1"])
            #expect(tasks.count == 0)
            let query = try await ask(h, "wf-push")
            let task = try await tasks.next()
            #expect(task.workflowId == "wf-push")
            #expect(task.previousStartedEventId == first.startedEventId)
            #expect(task.events.contains { $0.eventType == .workflowExecutionSignaled })
            let carried = try #require(task.queries)
            #expect(carried.map(\.queryType) == ["status"])
            try await completeAnswering(worker, task, with: "pushed-task")
            #expect(try await query.value.result == "pushed-task")
            #expect(await (try h.server.engine).statistics.workflowTasksPushed == 1)
            // Started once: the history has one start for it, and no poll finds it again.
            #expect(try await h.types("wf-push").filter { $0 == .workflowTaskStarted }.count == 2)
            #expect(try await poll(worker, timeoutMs: 0) == nil)
        }
    }

    @Test("a run's first task a query waits for in the queue is pushed to a worker of the queue")
    func queriedFirstTaskPushed() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let tasks = pushedTasks(worker)
            // The worker has polled the queue and takes pushed tasks, and polls no more.
            #expect(try await poll(worker, acceptsPushedWorkflowTasks: true, timeoutMs: 0) == nil)
            try await h.start("wf-push-first")
            let query = try await ask(h, "wf-push-first")
            let task = try await tasks.next()
            #expect(task.workflowId == "wf-push-first")
            #expect(task.previousStartedEventId == 0)
            #expect(task.events.first?.eventType == .workflowExecutionStarted)
            _ = try #require(task.queries)
            try await completeAnswering(worker, task, with: "first")
            #expect(try await query.value.result == "first")
        }
    }

    @Test("without acceptsPushedWorkflowTasks a queried task waits for the worker's poll")
    func pushedTasksAreOptIn() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            let tasks = pushedTasks(worker)
            let query = try await askWhileTaskPending(h, "wf-no-push", worker: worker)
            let task = try #require(try await poll(worker))
            _ = try #require(task.queries)
            try await completeAnswering(worker, task, with: "polled")
            #expect(try await query.value.result == "polled")
            #expect(await (try h.server.engine).statistics.workflowTasksPushed == 0)
            #expect(tasks.count == 0)
        }
    }

    @Test("a pushed task whose worker goes away is retried on another worker, and its query answered there")
    func pushedTaskOfClosedConnection() async throws {
        try await Harness.with { h in
            let holder = try await h.worker("holder")
            let tasks = pushedTasks(holder)
            let other = try await h.worker("other")
            // The query may ride the retried task or be pushed to the other worker on its own (§8.6):
            // either way that worker answers it.
            let answering = answerQueries(on: other) { _ in "other, pushed" }
            defer { answering.cancel() }
            try await h.start("wf-push-lost")
            try await h.complete(holder, try #require(try await poll(holder, acceptsPushedWorkflowTasks: true)))
            // The other worker has polled the queue (no task waits there): it can take queries.
            #expect(try await poll(other, timeoutMs: 0) == nil)
            try await h.signal("wf-push-lost", "add-alert", ["alertID": "A1"])
            let query = try await ask(h, "wf-push-lost")
            let pushed = try await tasks.next()
            // The holder never completes it: its connection closes, and the task is retried.
            async let next = poll(other)
            await holder.close()
            let task = try #require(try await next)
            #expect(task.workflowId == "wf-push-lost")
            #expect(task.startedEventId > pushed.startedEventId)
            try await completeAnswering(other, task, with: "other, in the task")
            let answer = try await query.value.result
            #expect(answer == "other, in the task" || answer == "other, pushed")
            #expect(try await h.types("wf-push-lost").contains(.workflowTaskFailed))
        }
    }
}
