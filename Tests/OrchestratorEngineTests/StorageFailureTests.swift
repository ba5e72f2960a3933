import Foundation
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorStore
import Synchronization
import Testing

/// A SQLite store whose commits can be held, then let through or failed, on the test's word.
final class GatedStore: HistoryStore {
    private let inner: SQLiteStore
    private struct State {
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
        var heldWaiters: [CheckedContinuation<Void, Never>] = []
        var failure: String?
    }
    private let state = Mutex(State())

    init(directory: URL) throws { inner = try SQLiteStore(directory: directory) }

    /// From now on a commit waits until ``release()`` or ``fail(_:)``.
    func hold() { state.withLock { $0.holding = true } }

    /// Lets the held commits and every later one through.
    func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held.removeAll() }
            return state.held
        }
        for commit in held { commit.resume() }
    }

    /// Returns once a commit is waiting.
    func commitHeld() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if !state.held.isEmpty { return true }
                state.heldWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Fails the held commit and every later one with `message`.
    func fail(_ message: String) {
        let held = state.withLock { state in
            state.failure = message
            state.holding = false
            defer { state.held.removeAll() }
            return state.held
        }
        for commit in held { commit.resume() }
    }

    func commit(_ operations: [StoreOperation]) async throws {
        let holding = state.withLock { $0.holding }
        if holding {
            await withCheckedContinuation { continuation in
                let waiters = state.withLock { state in
                    state.held.append(continuation)
                    defer { state.heldWaiters.removeAll() }
                    return state.heldWaiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
        if let failure = state.withLock({ $0.failure }) { throw StoreError(failure) }
        try await inner.commit(operations)
    }

    func loadRecoveredState() throws -> RecoveredState { try inner.loadRecoveredState() }
    func execution(runId: String) throws -> ExecutionRow? { try inner.execution(runId: runId) }
    func latestExecution(workflowId: String) throws -> ExecutionRow? {
        try inner.latestExecution(workflowId: workflowId)
    }
    func requestId(_ requestId: String) throws -> RequestIdRow? { try inner.requestId(requestId) }
    func forEachRequestId(_ body: (String) throws -> Void) throws { try inner.forEachRequestId(body) }
    func forEachWorkflowId(_ body: (String) throws -> Void) throws { try inner.forEachWorkflowId(body) }
    func events(runSeq: Int64, afterEventId: Int64, throughEventId: Int64, limit: Int, maxBytes: Int) throws
        -> [HistoryEvent]
    {
        try inner.events(
            runSeq: runSeq, afterEventId: afterEventId, throughEventId: throughEventId, limit: limit, maxBytes: maxBytes
        )
    }
    func lastEvent(runSeq: Int64) throws -> HistoryEvent? { try inner.lastEvent(runSeq: runSeq) }
    func eventTails(_ runs: [(runSeq: Int64, afterEventId: Int64)]) throws -> [[HistoryEvent]] {
        try inner.eventTails(runs)
    }
    func listExecutions(_ filter: ExecutionFilter) throws -> [ExecutionRow] { try inner.listExecutions(filter) }
}

final class MemoryConnection: EngineConnection {
    let connectionId: UInt64 = 1
    let identity = "test"
    func push(_ push: Push) {}
}

/// The task's answer, or nil if it has none within 5 seconds.
func answer<T: Sendable>(of task: Task<T, Never>) async -> T? {
    let once = FirstAnswer<T>()
    return await withCheckedContinuation { continuation in
        once.continuation.withLock { $0 = continuation }
        Task { once.finish(await task.value) }
        Task {
            try? await Task.sleep(for: .seconds(5))
            once.finish(nil)
        }
    }
}

/// Resumes a waiter with the first value given, and ignores the rest.
final class FirstAnswer<T: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<T?, Never>?>(nil)
    func finish(_ value: T?) {
        continuation.withLock { stored in
            stored?.resume(returning: value)
            stored = nil
        }
    }
}

@Suite("Storage failure")
struct StorageFailureTests {
    @Test("a failed commit answers UNAVAILABLE to the requests in its batch, in the next one, and to every later one")
    func failedCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try GatedStore(directory: directory)
        let reported = Mutex<[String]>([])
        let engine = Engine(store: store, onStorageFailure: { message in reported.withLock { $0.append(message) } })
        try await engine.start()
        let connection = MemoryConnection()
        await engine.connectionOpened(connection)
        func signal(_ id: String) async -> Result<Response, OrchestratorError> {
            await engine.handle(
                .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "s", requestId: id)),
                from: connection)
        }
        let started = await engine.handle(
            .startWorkflow(StartWorkflowRequest(workflowId: "w", workflowType: "T", taskQueue: "q")), from: connection)
        #expect(throws: Never.self) { try started.get() }

        store.hold()
        let inFlight = Task { await signal("a") }
        await store.commitHeld()
        // Signal b joins the next batch, which waits for a's; describe waits for b's.
        let pending = Task { await signal("b") }
        let deadline = ContinuousClock.now + .seconds(5)
        while await engine.statistics.signals < 2 {
            try #require(ContinuousClock.now < deadline, "signal b was never applied")
            await Task.yield()
        }
        let describe = Task {
            await engine.handle(.describeWorkflow(DescribeWorkflowRequest(workflowId: "w")), from: connection)
        }
        store.fail("disk on fire")

        for (name, task) in [("in flight", inFlight), ("pending", pending), ("describe", describe)] {
            guard let result = await answer(of: task) else {
                Issue.record("the \(name) request got no answer after its commit failed")
                continue
            }
            guard case .failure(let error) = result else {
                Issue.record("the \(name) request succeeded after its commit failed")
                continue
            }
            #expect(error.code == .unavailable, "\(name): \(error.message)")
            #expect(error.message.contains("disk on fire"), "\(name): \(error.message)")
        }
        guard case .failure(let later) = await signal("c") else {
            Issue.record("a request after the failure was accepted")
            return
        }
        #expect(later.code == .unavailable)
        #expect(reported.withLock { $0.count } == 1)
        await engine.shutdown()
    }

    @Test("a request served immediately is answered once its commit is durable, and UNAVAILABLE if it fails")
    func immediateRequests() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try GatedStore(directory: directory)
        let engine = Engine(store: store)
        try await engine.start()
        let connection = MemoryConnection()
        await engine.connectionOpened(connection)
        let answers = ImmediateAnswers()
        func immediately(_ name: String, _ request: Request) async -> Bool {
            await engine.onExecutor { engine in
                engine.handleImmediately(request, from: connection) { result in
                    answers.results.withLock { $0[name] = result }
                }
            }
        }
        func answered(_ name: String) async -> Result<Response, OrchestratorError>? {
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                if let result = answers.results.withLock({ $0[name] }) { return result }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return nil
        }
        // Long waits are not served immediately.
        #expect(
            await !immediately(
                "poll", .pollWorkflowTask(PollWorkflowTaskRequest(taskQueue: "q", identity: "w", timeoutMs: 10))))
        #expect(
            await immediately(
                "start", .startWorkflow(StartWorkflowRequest(workflowId: "w", workflowType: "T", taskQueue: "q"))))
        guard case .success(.startWorkflow(let started))? = await answered("start") else {
            Issue.record("the start got no answer")
            return
        }
        #expect(started.started)
        /// The error `request`, served immediately, was answered with; nil (an issue) if none.
        func refused(_ name: String, _ request: Request) async -> ErrorCode? {
            #expect(await immediately(name, request))
            guard case .failure(let error)? = await answered(name) else {
                Issue.record("\(name) was not refused")
                return nil
            }
            return error.code
        }
        // A mistake is answered at once, with its error.
        #expect(
            await refused("missing", .signalWorkflow(SignalWorkflowRequest(workflowId: "nope", signalName: "s")))
                == .notFound)
        // A query is handed to a worker at once and answered from a callback too; with none polling
        // its task queue, at once with NO_WORKER.
        #expect(
            await refused("query", .queryWorkflow(QueryWorkflowRequest(workflowId: "w", queryType: "status")))
                == .noWorker)

        store.hold()
        #expect(await immediately("held", .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "s"))))
        await store.commitHeld()
        #expect(answers.results.withLock { $0["held"] } == nil, "answered before its commit")
        store.fail("disk on fire")
        guard case .failure(let error)? = await answered("held") else {
            Issue.record("the signal got no failure after its commit failed")
            return
        }
        #expect(error.code == .unavailable && error.message.contains("disk on fire"))
        #expect(await immediately("after", .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "s"))))
        guard case .failure(let later)? = await answered("after") else {
            Issue.record("a signal after the failure was accepted")
            return
        }
        #expect(later.code == .unavailable)
        await engine.shutdown()
    }
}

extension Engine {
    /// Runs `body` on the engine's executor, where ``handleImmediately(_:from:answer:)`` may be called.
    func onExecutor<T: Sendable>(_ body: @Sendable (isolated Engine) -> T) -> T { body(self) }
}

/// Answers of requests served immediately, by name.
final class ImmediateAnswers: Sendable {
    let results = Mutex<[String: Result<Response, OrchestratorError>]>([:])
}
