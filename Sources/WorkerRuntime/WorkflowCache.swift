import Dispatch
import Logging
import OrchestratorProtocol
import Workflows

/// The runs a worker keeps in memory, and the one thread all workflow code runs on.
///
/// A sticky task continues its cached run with the new events only; an unknown or evicted run is
/// rebuilt from its whole history. Runners are used only on `queue`, one thing at a time.
final class WorkflowCache: @unchecked Sendable {
    private let queue = DispatchQueue(label: "orchestrator.workflow-thread")
    private let capacity: Int
    private let registry: WorkerRegistry
    private let logger: Logger
    private var runners: [String: WorkflowRunner] = [:]
    private var lastUse: [String: UInt64] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int, registry: WorkerRegistry, logger: Logger) {
        self.capacity = max(1, capacity)
        self.registry = registry
        self.logger = logger
    }

    /// Runs `body` on the workflow queue, one thing at a time. The caller's thread runs it when the
    /// queue is free (`sync`), which saves two thread switches per task; workflow code only computes
    /// (it may not block or do I/O), so a caller waits at most for another run's activation.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try queue.sync { try body() }
    }

    /// Continues a cached run with a task's events, and answers the queries the task carries from
    /// the state right after them (as its commands see it): one trip to the workflow thread.
    func continueCached(_ task: WorkflowTask, events: [HistoryEvent], queries: [WorkflowQuery] = []) async throws
        -> CachedContinuation
    {
        try await onThread { [self] in
            guard let runner = runners[task.runId] else { return .notCached }
            if let first = events.first?.eventId, runner.lastEventId > 0, first > runner.lastEventId + 1 {
                return .missingEvents(after: runner.lastEventId)
            }
            guard runner.canContinue(with: events) else {
                evict(task.runId)
                return .notCached
            }
            touch(task.runId)
            let commands = try runner.apply(events, live: true) ?? []
            let answers = queries.map { answer($0, from: runner) }
            dropIfClosed(task.runId, runner)
            return .commands(commands, answers: answers)
        }
    }

    /// Rebuilds a run from its whole history and caches the runner; returns the task's commands and
    /// the answers to the queries it carries.
    func rebuild(_ task: WorkflowTask, history: [HistoryEvent], queries: [WorkflowQuery] = []) async throws
        -> (commands: [Command], answers: [RespondQueryRequest])
    {
        try await onThread { [self] in
            evict(task.runId)
            let runner = try makeRunner(for: task)
            runners[task.runId] = runner
            touch(task.runId)
            trim()
            let commands = try runner.apply(history, live: true) ?? []
            let answers = queries.map { answer($0, from: runner) }
            dropIfClosed(task.runId, runner)
            return (commands, answers)
        }
    }

    /// Answers a query from the cached run; nil when the run is not cached.
    func answerCached(_ query: WorkflowQuery) async -> RespondQueryRequest? {
        try? await onThread { [self] in runners[query.runId].map { answer(query, from: $0) } }
    }

    /// Answers a query by replaying a whole history in a runner that is dropped afterwards.
    func queryReplaying(_ query: WorkflowQuery, history: [HistoryEvent]) async throws -> JSONValue? {
        try await onThread { [self] in
            let runner = try makeRunner(
                for: WorkflowTask(
                    taskToken: "", workflowId: query.workflowId, runId: query.runId, workflowType: query.workflowType,
                    taskQueue: query.taskQueue, attempt: 1, previousStartedEventId: 0, startedEventId: 0, events: []))
            defer { runner.destroy() }
            _ = try runner.apply(history, live: false)
            return try runner.query(query.queryType, arguments: query.args)
        }
    }

    /// Drops a run (its code unwinds).
    func evict(runId: String) async {
        _ = try? await onThread { [self] in evict(runId) }
    }

    /// Drops every run.
    func clear() async {
        _ = try? await onThread { [self] in
            for runId in Array(runners.keys) { evict(runId) }
        }
    }

    /// Runs cached now.
    var count: Int {
        get async { (try? await onThread { [self] in runners.count }) ?? 0 }
    }

    // MARK: - On the workflow thread

    private func makeRunner(for task: WorkflowTask) throws -> WorkflowRunner {
        guard let definition = registry.workflows[task.workflowType] else {
            throw WorkflowRuntimeError(
                "workflow type \(task.workflowType) is not registered on this worker (it runs \(registry.workflowTypes.joined(separator: ", ")))"
            )
        }
        return WorkflowRunner(
            definition: definition,
            info: WorkflowInfo(
                workflowId: task.workflowId, runId: task.runId, workflowType: task.workflowType,
                taskQueue: task.taskQueue),
            logger: logger)
    }

    /// A query's answer from a runner: its result, or the failure it threw.
    private func answer(_ query: WorkflowQuery, from runner: WorkflowRunner) -> RespondQueryRequest {
        do {
            return RespondQueryRequest(
                queryId: query.queryId, result: try runner.query(query.queryType, arguments: query.args))
        } catch {
            return RespondQueryRequest(queryId: query.queryId, failure: Failure(error: error))
        }
    }

    private func evict(_ runId: String) {
        guard let runner = runners.removeValue(forKey: runId) else { return }
        lastUse[runId] = nil
        runner.destroy()
    }

    private func touch(_ runId: String) {
        clock += 1
        lastUse[runId] = clock
    }

    private func trim() {
        while runners.count > capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            evict(oldest)
        }
    }

    /// Drops a run whose task closed it (completed, failed, continued as new): no task follows for
    /// it, and kept it would hold its memory until the cache is full. Should the server refuse the
    /// close (new events came), the next task finds the run uncached and replays its history; a
    /// query that comes later replays it too.
    private func dropIfClosed(_ runId: String, _ runner: WorkflowRunner) {
        if runner.isClosed { evict(runId) }
    }
}

/// What a cached run made of a workflow task's events.
enum CachedContinuation: Sendable {
    /// The run is not cached here, or the events do not continue it: rebuild it from its history.
    case notCached
    /// The run is cached, but the task carries only its newest events: fetch those after this one.
    case missingEvents(after: Int64)
    /// The task's commands, and the answers to the queries it carries.
    case commands([Command], answers: [RespondQueryRequest])
}
