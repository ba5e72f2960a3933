import Foundation
import OrchestratorEngine
import OrchestratorProtocol
import Synchronization
import Testing

/// A worker connection in memory that keeps the queries pushed to it.
final class RecordingWorker: EngineConnection {
    let connectionId: UInt64 = 2
    let identity = "worker"
    let pushed = Mutex<[WorkflowQuery]>([])
    func push(_ push: Push) {
        guard case .workflowQuery(let query) = push else { return }
        pushed.withLock { $0.append(query) }
    }

    /// The next query pushed, waiting up to 5 seconds for it.
    func nextQuery() async throws -> WorkflowQuery {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            if let query = pushed.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return query }
            try #require(ContinuousClock.now < deadline, "no query was pushed to the worker")
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// A query must reflect every event acknowledged before it, and every acknowledged event is
/// committed. An event still being committed was acknowledged to nobody, so a query need not wait
/// for the workflow task that carries it: the worker that caches the run answers at once.
@Suite("Queries and events still being committed", .serialized)
struct UncommittedEventQueryTests {
    struct Setup {
        let engine: Engine
        let store: GatedStore
        let client: MemoryConnection
        let worker: RecordingWorker
        let directory: URL

        func send(_ request: Request, from connection: any EngineConnection) async throws -> Response {
            try await engine.handle(request, from: connection).get()
        }

        func poll(answersQueriesOfStartedTasks: Bool = false) async throws -> WorkflowTask {
            let response = try await send(
                .pollWorkflowTask(
                    PollWorkflowTaskRequest(
                        taskQueue: "q", timeoutMs: 5_000,
                        answersQueriesOfStartedTasks: answersQueriesOfStartedTasks)), from: worker)
            guard case .pollWorkflowTask(let answer) = response, let task = answer.task else {
                throw OrchestratorError(.timeout, "no workflow task")
            }
            return task
        }

        func complete(_ task: WorkflowTask) async throws {
            _ = try await send(
                .completeWorkflowTask(CompleteWorkflowTaskRequest(taskToken: task.taskToken, commands: [])),
                from: worker)
        }

        func signal(_ alert: String) async throws {
            _ = try await send(
                .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "add-alert", input: .string(alert))),
                from: client)
        }

        /// A signal whose commit the store holds: returns once the engine has applied it.
        func heldSignal(_ alert: String) async throws -> Task<Void, any Error> {
            let before = await engine.statistics.signals
            store.hold()
            let signal = Task { try await self.signal(alert) }
            let deadline = ContinuousClock.now + .seconds(5)
            while await engine.statistics.signals == before {
                try #require(ContinuousClock.now < deadline, "the signal was never applied")
                try await Task.sleep(for: .milliseconds(2))
            }
            return signal
        }

        /// Asks the run's status; returns once the engine holds the query.
        func ask() async throws -> Task<QueryWorkflowResponse, any Error> {
            let before = await engine.pendingQueryCount
            let query = Task {
                let response = try await send(
                    .queryWorkflow(QueryWorkflowRequest(workflowId: "w", queryType: "status")), from: client)
                guard case .queryWorkflow(let answer) = response else { throw OrchestratorError(.internal, "?") }
                return answer
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while await engine.pendingQueryCount == before {
                try #require(ContinuousClock.now < deadline, "the query never reached the engine")
                try await Task.sleep(for: .milliseconds(2))
            }
            return query
        }

        func respond(_ query: WorkflowQuery, _ result: JSONValue) async throws {
            _ = try await send(.respondQuery(RespondQueryRequest(queryId: query.queryId, result: result)), from: worker)
        }

        func signals(in task: WorkflowTask) -> [JSONValue?] {
            task.events.compactMap { event in
                if case .workflowExecutionSignaled(let a) = event.attributes { return a.input }
                return nil
            }
        }
    }

    /// A run whose first task the worker completed (so it caches the run), on a store that can hold commits.
    func withRun(_ body: (Setup) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "uncommitted-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try GatedStore(directory: directory)
        let engine = Engine(store: store)
        try await engine.start()
        let setup = Setup(
            engine: engine, store: store, client: MemoryConnection(), worker: RecordingWorker(), directory: directory)
        await engine.connectionOpened(setup.client)
        await engine.connectionOpened(setup.worker)
        _ = try await setup.send(
            .startWorkflow(StartWorkflowRequest(workflowId: "w", workflowType: "T", taskQueue: "q")), from: setup.client
        )
        try await setup.complete(try await setup.poll())
        do {
            try await body(setup)
        } catch {
            store.release()
            await engine.shutdown()
            throw error
        }
        store.release()
        await engine.shutdown()
    }

    @Test(
        "a query whose run's pending task carries only an event still being committed is answered by the caching worker at once"
    )
    func pendingTaskOfUncommittedEvent() async throws {
        try await withRun { s in
            let signal = try await s.heldSignal("A1")
            let query = try await s.ask()
            // Pushed while the signal's commit is held: no task of the run has been handed out.
            let pushed = try await s.worker.nextQuery()
            #expect(pushed.taskToken == nil)
            try await s.respond(pushed, "before A1")
            #expect(try await query.value.result == "before A1")
            #expect(await s.engine.statistics.queriesAnsweredAheadOfTask == 1)
            let latencies = await s.engine.statistics.latencies
            #expect(latencies.queryAheadOfTask.count == 1)
            #expect(latencies.queryWaitedForTask.count == 0)
            s.store.release()
            try await signal.value
            let next = try await s.poll()
            #expect(s.signals(in: next) == ["A1"])
        }
    }

    @Test("a query waits for the task that carries a committed event, even when a newer one is still being committed")
    func committedEventBeforeUncommittedOne() async throws {
        try await withRun { s in
            try await s.signal("A1")
            let second = try await s.heldSignal("A2")
            let query = try await s.ask()
            // The engine decided when it took the query: the worker lacks A1, which was acknowledged.
            #expect(s.worker.pushed.withLock { $0.isEmpty })
            s.store.release()
            try await second.value
            let next = try await s.poll()
            #expect(s.signals(in: next) == ["A1", "A2"])
            try await s.complete(next)
            // It goes out once the worker has applied the task.
            try await s.respond(try await s.worker.nextQuery(), "after A2")
            #expect(try await query.value.result == "after A2")
            #expect(await s.engine.statistics.queriesAnsweredAheadOfTask == 0)
            let statistics = await s.engine.statistics
            #expect(statistics.latencies.queryWaitedForTask.count == 1)
            #expect(statistics.latencies.queryAheadOfTask.count == 0)
            // Every task started and completed was timed, and every commit.
            let latencies = statistics.latencies
            let started = [
                latencies.taskStartedAtCommit, latencies.taskReturnedWithCompletion, latencies.taskWaitedForStickyPoll,
                latencies.taskWaitedInQueue,
            ].map(\.count).reduce(0, +)
            #expect(started == statistics.workflowTasksStarted)
            #expect(latencies.taskAtWorker.count == statistics.workflowTasksCompleted)
            #expect(latencies.commit.count == statistics.batches)
            #expect(latencies.signal.count == statistics.signals)
        }
    }

    @Test(
        "a query while a task runs and an event arrived since, still being committed, is pushed with the task's token")
    func startedTaskWithUncommittedEvent() async throws {
        try await withRun { s in
            try await s.signal("A1")
            let running = try await s.poll(answersQueriesOfStartedTasks: true)
            #expect(s.signals(in: running) == ["A1"])
            let signal = try await s.heldSignal("A2")
            let query = try await s.ask()
            let pushed = try await s.worker.nextQuery()
            #expect(pushed.taskToken == running.taskToken)
            s.store.release()
            try await signal.value
            _ = try await s.send(
                .completeWorkflowTask(
                    CompleteWorkflowTaskRequest(
                        taskToken: running.taskToken, commands: [],
                        queryResults: [RespondQueryRequest(queryId: pushed.queryId, result: "after A1")])),
                from: s.worker)
            #expect(try await query.value.result == "after A1")
        }
    }

    @Test(
        "after a failed task no worker state is trusted: a query waits for the next task even if its events are uncommitted"
    )
    func failedTaskIsNotTrusted() async throws {
        try await withRun { s in
            try await s.signal("A1")
            let failing = try await s.poll()
            _ = try await s.send(
                .failWorkflowTask(
                    FailWorkflowTaskRequest(
                        taskToken: failing.taskToken, cause: .unhandledCommand,
                        failure: Failure(message: "new events", type: "Test"))), from: s.worker)
            let signal = try await s.heldSignal("A2")
            _ = try await s.ask()
            #expect(s.worker.pushed.withLock { $0.isEmpty })
            s.store.release()
            try await signal.value
        }
    }
}
