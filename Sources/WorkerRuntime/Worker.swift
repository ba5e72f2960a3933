import Foundation
import Logging
import NIOSSL
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport
import ServiceLifecycle
import Synchronization
import Workflows

/// How a worker connects and how much it does at once.
public struct WorkerOptions: Sendable {
    public var address: ServerAddress
    public var token: String?
    /// TLS for a TCP address: the context that verifies the server (see `OrchestratorTLS.clientContext`).
    public var tls: NIOSSLContext?
    public var identity: String
    public var taskQueue: String
    /// Workflow task polls in flight (workflow code itself runs on one thread).
    public var workflowPollers = 4
    /// Activities running at once that this worker polled for.
    public var maxConcurrentActivities = 16
    /// Activities running at once that the server handed back in the answer to the completion that
    /// scheduled them (eager execution: no poll round trip); 0 turns eager execution off.
    public var maxEagerActivities = 16
    /// Runs kept in memory for sticky tasks and queries.
    public var cacheSize = 2_000
    /// What a non-determinism error does: fail the workflow task (retried until fixed code runs), or fail the workflow.
    public var nonDeterminism: NonDeterminismPolicy = .failWorkflowTask
    /// First and largest delay between reconnection attempts.
    public var reconnectDelay: Duration = .milliseconds(100)
    public var maximumReconnectDelay: Duration = .seconds(5)
    /// How long a graceful shutdown waits for running tasks.
    public var drainTimeout: Duration = .seconds(30)
    /// Long-poll limit per poll.
    public var pollTimeoutMs: Int64 = 30_000

    public init(address: ServerAddress, token: String? = nil, identity: String, taskQueue: String) {
        self.address = address
        self.token = token
        self.identity = identity
        self.taskQueue = taskQueue
    }

    public enum NonDeterminismPolicy: Sendable {
        case failWorkflowTask
        case failWorkflow
    }
}

/// A worker: polls a task queue for workflow and activity tasks, runs them, answers queries,
/// reconnects when the server goes away, and drains on graceful shutdown (SIGTERM).
public final class Worker: Service, Sendable {
    public let options: WorkerOptions
    let registry: WorkerRegistry
    let logger: Logger
    private let state = Mutex(RunState())
    private let counters = Mutex(WorkerStatistics())

    private struct RunState {
        var stopping = false
        var polls: [UInt64: @Sendable () -> Void] = [:]
        var nextPoll: UInt64 = 1
        var client: OrchestratorClient?
        var connectedWaiters: [CheckedContinuation<Void, Never>] = []
        var connected = false
        /// Slots of eagerly executed activities taken (requested or running).
        var eagerSlotsTaken = 0
    }

    public init(options: WorkerOptions, registry: WorkerRegistry, logger: Logger = Logger(label: "orchestrator.worker"))
    {
        self.options = options
        self.registry = registry
        var logger = logger
        logger[metadataKey: "taskQueue"] = "\(options.taskQueue)"
        self.logger = logger
    }

    /// What the worker did so far.
    public var statistics: WorkerStatistics { counters.withLock { $0 } }

    /// Returns once the worker is connected and polling.
    public func waitUntilConnected() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.connected { return true }
                state.connectedWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Stops polling, lets running tasks finish (up to the drain timeout), then disconnects.
    public func shutdown() {
        let polls = state.withLock { state -> [@Sendable () -> Void] in
            state.stopping = true
            return Array(state.polls.values)
        }
        for cancel in polls { cancel() }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await runUntilStopped()
        } onGracefulShutdown: {
            self.logger.info("draining: no new tasks; waiting for running ones")
            self.shutdown()
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func runUntilStopped() async throws {
        var delay = options.reconnectDelay
        var everConnected = false
        while !isStopping {
            let client: OrchestratorClient
            do {
                client = try await OrchestratorClient.connect(
                    to: options.address, identity: options.identity, token: options.token, tls: options.tls)
            } catch let error as OrchestratorError
                where error.code == .unauthenticated || error.code == .unsupportedVersion
            {
                logger.critical("the server refused this worker", metadata: ["error": "\(error.message)"])
                throw error
            } catch {
                if !everConnected && delay == options.reconnectDelay {
                    logger.warning("cannot reach the server; retrying", metadata: ["error": "\(error)"])
                } else {
                    logger.debug("reconnect failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, options.maximumReconnectDelay)
                continue
            }
            delay = options.reconnectDelay
            everConnected = true
            logger.info(
                "worker connected",
                metadata: [
                    "address": "\(options.address)", "identity": "\(options.identity)",
                    "workflows": "\(registry.workflowTypes.joined(separator: ","))",
                    "activities": "\(registry.activityTypes.joined(separator: ","))",
                ])
            await serve(client)
            if !isStopping {
                logger.warning("lost the connection to the server; reconnecting")
            }
        }
        logger.info("worker stopped")
    }

    /// Polls and runs tasks on one connection until it closes or the worker stops.
    private func serve(_ client: OrchestratorClient) async {
        let cache = WorkflowCache(capacity: options.cacheSize, registry: registry, logger: logger)
        let pushed = StartedTaskQueries()
        let waiters = state.withLock { state in
            state.client = client
            state.connected = true
            defer { state.connectedWaiters.removeAll() }
            return state.connectedWaiters
        }
        for waiter in waiters { waiter.resume() }
        // Activities handed back with completions run beside the pollers; they finish before the
        // connection is closed, like the activities the pollers run.
        let (eager, eagerInbox) = AsyncStream.makeStream(of: ActivityTask.self)
        let eagerRunner = Task {
            await withDiscardingTaskGroup { running in
                for await task in eager {
                    running.addTask {
                        await self.run(task, client: client)
                        self.releaseEagerSlots(1)
                    }
                }
            }
        }
        // Workflow tasks the server pushes (started for this worker because a query waits for them)
        // run beside the pollers too, and finish before the eager activities they may start.
        let (pushedTasks, pushedInbox) = AsyncStream.makeStream(of: WorkflowTask.self)
        let pushedRunner = Task {
            await withDiscardingTaskGroup { running in
                for await task in pushedTasks {
                    // Started for this worker already: it runs even when the worker is stopping. It
                    // asks for no next task, which is for pollers.
                    running.addTask {
                        _ = await self.process(
                            task, client: client, cache: cache, pushed: pushed, eagerInbox: eagerInbox,
                            asksForNext: false)
                    }
                }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<options.workflowPollers {
                group.addTask {
                    await self.pollWorkflowTasks(client, cache: cache, pushed: pushed, eagerInbox: eagerInbox)
                }
            }
            for _ in 0..<options.maxConcurrentActivities {
                group.addTask { await self.pollActivityTasks(client) }
            }
            group.addTask {
                await self.servePushes(client, cache: cache, pushed: pushed, tasks: pushedInbox)
            }
            group.addTask {
                await client.waitUntilClosed()
                self.cancelPolls()
            }
            // The loops end when the connection closes or the worker stops; then close the connection.
            for _ in 0..<(options.workflowPollers + options.maxConcurrentActivities) { await group.next() }
            pushedInbox.finish()
            await pushedRunner.value
            eagerInbox.finish()
            await eagerRunner.value
            await client.close()
            await group.waitForAll()
        }
        state.withLock { state in
            state.client = nil
            state.connected = false
        }
        await cache.clear()
    }

    private func cancelPolls() {
        let polls = state.withLock { Array($0.polls.values) }
        for cancel in polls { cancel() }
    }

    /// Runs one long poll that the worker can cancel on shutdown. Nil when cancelled or failed.
    private func poll<Body: RequestBody>(_ client: OrchestratorClient, _ request: Body) async -> Body.Result? {
        let handle = client.makeRequestHandle()
        let id: UInt64? = state.withLock { state in
            guard !state.stopping else { return nil }
            let id = state.nextPoll
            state.nextPoll += 1
            state.polls[id] = { client.cancel(handle) }
            return id
        }
        guard let id else { return nil }
        let result: Result<Body.Result, any Error>
        do {
            result = .success(try await client.send(request, handle: handle))
        } catch {
            result = .failure(error)
        }
        _ = state.withLock { $0.polls.removeValue(forKey: id) }
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            if !(error is CancellationError) && client.isConnected && !isStopping {
                logger.warning("poll failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
            return nil
        }
    }

    // MARK: - Workflow tasks

    private func pollWorkflowTasks(
        _ client: OrchestratorClient, cache: WorkflowCache, pushed: StartedTaskQueries,
        eagerInbox: AsyncStream<ActivityTask>.Continuation
    ) async {
        let poll = { (queue: String, identity: String, timeoutMs: Int64) in
            PollWorkflowTaskRequest(
                taskQueue: queue, identity: identity, timeoutMs: timeoutMs, answersQueriesInTasks: true,
                answersQueriesOfStartedTasks: true, acceptsPushedWorkflowTasks: true)
        }
        await pollLoop(client, poll) { response in
            // A completion may answer with the next task (the run's, or one that waited for a poll):
            // run it at once rather than polling for it. Such a task is already started for this
            // worker, so it runs even when the worker is stopping; a stopping worker asks for no more.
            var next = response.task
            while let task = next {
                next = await self.process(task, client: client, cache: cache, pushed: pushed, eagerInbox: eagerInbox)
            }
        }
    }

    /// Polls with `request` until the connection closes or the worker stops, handing each answer to `handle`.
    private func pollLoop<Body: RequestBody>(
        _ client: OrchestratorClient, _ request: (String, String, Int64) -> Body,
        handle: (Body.Result) async -> Void
    ) async {
        let body = request(options.taskQueue, options.identity, options.pollTimeoutMs)
        while !isStopping && client.isConnected {
            if let response = await poll(client, body) { await handle(response) }
        }
    }

    /// Runs a workflow task and completes it; returns the run's next task if the server handed it back
    /// (only when `asksForNext`: a poller's task, not a pushed one).
    private func process(
        _ task: WorkflowTask, client: OrchestratorClient, cache: WorkflowCache, pushed: StartedTaskQueries,
        eagerInbox: AsyncStream<ActivityTask>.Continuation, asksForNext: Bool = true
    ) async -> WorkflowTask? {
        let started = ContinuousClock.now
        var replayed = false
        var commands: [Command]
        // Queries the task carries, and those pushed for it before it came, see the state right
        // after its events, as the commands do.
        let pushedEarly = pushed.taskStarted(task.taskToken)
        var answers: [RespondQueryRequest]
        do {
            let queries = (task.queries ?? []) + pushedEarly
            var outcome = try await cache.continueCached(task, events: task.events, queries: queries)
            if case .missingEvents(let last) = outcome, let first = task.events.first?.eventId {
                // The task carries only its newest events; fetch what lies between.
                let events = try await history(of: task, after: last, before: first, client: client) + task.events
                outcome = try await cache.continueCached(task, events: events, queries: queries)
            }
            if case .commands(let continued, let cachedAnswers) = outcome {
                commands = continued
                answers = cachedAnswers
            } else {
                replayed = true
                let history = try await fullHistory(for: task, client: client)
                (commands, answers) = try await cache.rebuild(task, history: history, queries: queries)
            }
        } catch {
            await cache.evict(runId: task.runId)
            let next = await reportFailure(of: task, error, client: client)
            // Queries pushed for the task were not answered with it: answer them on their own.
            for query in pushedEarly + pushed.taskFinished(task.taskToken) {
                await answer(query, client: client, cache: cache)
            }
            return next
        }
        // Queries pushed while the task ran go out with its completion; later ones are answered at once.
        let pushedLate = pushed.taskFinished(task.taskToken)
        for query in pushedLate {
            if let response = await cache.answerCached(query) {
                answers.append(response)
            } else {
                await answer(query, client: client, cache: cache)
            }
        }
        if !answers.isEmpty { counters.withLock { $0.queries += answers.count } }
        let requested = requestEagerExecution(&commands)
        let (accepted, next, activities) = await complete(
            task, commands, queryResults: answers, asksForNext: asksForNext, client: client)
        if !accepted {
            await cache.evict(runId: task.runId)
            // The server took none of the answers: those it still waits for are answered on their own.
            for query in pushedEarly + pushedLate { await answer(query, client: client, cache: cache) }
        }
        // The server may start fewer than were requested (another task queue, the run closed).
        releaseEagerSlots(requested - activities.count)
        if !activities.isEmpty { counters.withLock { $0.eagerActivities += activities.count } }
        for activity in activities { eagerInbox.yield(activity) }
        counters.withLock { counters in
            counters.workflowTasks += 1
            if replayed { counters.replays += 1 }
        }
        if logger.logLevel <= .debug {
            Self.logger(logger, for: task).debug(
                "workflow task completed",
                metadata: [
                    "commands": "\(commands.map(\.commandType.rawValue).joined(separator: ","))",
                    "replayed": "\(replayed)",
                    "ms": "\((ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)",
                ])
        }
        return next
    }

    /// The worker's logger with the task's run. Built only when something is logged: built for every
    /// task and activity, logged or not, the metadata's strings and storage were 9 % of the workers'
    /// allocations.
    private static func logger(_ base: Logger, for task: WorkflowTask) -> Logger {
        var logger = base
        logger[metadataKey: "workflowId"] = "\(task.workflowId)"
        logger[metadataKey: "runId"] = "\(task.runId)"
        return logger
    }

    /// Tells the server a task could not be processed: a non-deterministic workflow fails the run or
    /// the task (as configured), any other error the task. Returns the next task if the server
    /// handed one back.
    private func reportFailure(of task: WorkflowTask, _ error: any Error, client: OrchestratorClient) async
        -> WorkflowTask?
    {
        let logger = Self.logger(logger, for: task)
        guard let error = error as? NonDeterminismError else {
            logger.error("workflow task failed", metadata: ["error": "\(error)"])
            await fail(task, cause: .workflowWorkerUnhandledFailure, error: error, client: client)
            return nil
        }
        logger.error("non-deterministic workflow", metadata: ["error": "\(error.description)"])
        if options.nonDeterminism == .failWorkflow {
            return await complete(
                task, [.failWorkflowExecution(.init(failure: Failure(error: error)))], client: client
            ).next
        }
        await fail(task, cause: .nonDeterministicError, error: error, client: client)
        return nil
    }

    /// The run's history up to the task: what the task carries, after the events fetched from the server.
    private func fullHistory(for task: WorkflowTask, client: OrchestratorClient) async throws -> [HistoryEvent] {
        guard let first = task.events.first?.eventId, first > 1 else { return task.events }
        return try await history(of: task, after: 0, before: first, client: client) + task.events
    }

    /// Events `after < id < before` of the task's run, fetched page by page.
    private func history(of task: WorkflowTask, after start: Int64, before first: Int64, client: OrchestratorClient)
        async throws -> [HistoryEvent]
    {
        var events: [HistoryEvent] = []
        var after = start
        while after < first - 1 {
            let page = try await client.send(
                GetWorkflowHistoryRequest(
                    workflowId: task.workflowId, runId: task.runId, afterEventId: after,
                    maximumPageSize: Int(min(10_000, first - 1 - after))))
            let wanted = page.events.filter { $0.eventId < first }
            guard let last = wanted.last else {
                throw WorkflowRuntimeError(
                    "history of \(task.workflowId) ends at event \(after); the task starts at \(first)")
            }
            events += wanted
            after = last.eventId
        }
        return events
    }

    /// Asks for eager execution of the activities this worker can run, as long as it has free slots
    /// for them; returns how many slots it took.
    private func requestEagerExecution(_ commands: inout [Command]) -> Int {
        var taken = 0
        for index in commands.indices {
            guard case .scheduleActivityTask(var command) = commands[index],
                command.taskQueue.map({ $0.isEmpty || $0 == options.taskQueue }) ?? true,
                registry.activities[command.activityType] != nil,
                takeEagerSlot()
            else { continue }
            command.requestEagerExecution = true
            commands[index] = .scheduleActivityTask(command)
            taken += 1
        }
        return taken
    }

    private func takeEagerSlot() -> Bool {
        state.withLock { state in
            guard state.eagerSlotsTaken < options.maxEagerActivities else { return false }
            state.eagerSlotsTaken += 1
            return true
        }
    }

    private func releaseEagerSlots(_ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.eagerSlotsTaken -= count }
    }

    /// Sends a task's commands; whether the server took them, the run's next task if it handed it
    /// back, and the activities it started here (eager execution).
    private func complete(
        _ task: WorkflowTask, _ commands: [Command], queryResults: [RespondQueryRequest] = [],
        asksForNext: Bool = true, client: OrchestratorClient
    ) async -> (accepted: Bool, next: WorkflowTask?, activities: [ActivityTask]) {
        do {
            let response = try await client.send(
                CompleteWorkflowTaskRequest(
                    taskToken: task.taskToken, commands: commands, identity: options.identity,
                    returnNewWorkflowTask: asksForNext && !isStopping,
                    queryResults: queryResults.isEmpty ? nil : queryResults))
            return (true, response.workflowTask, response.activityTasks ?? [])
        } catch {
            Self.logger(logger, for: task).warning(
                "the server did not take the workflow task's commands", metadata: ["error": "\(error)"])
            return (false, nil, [])
        }
    }

    private func fail(
        _ task: WorkflowTask, cause: WorkflowTaskFailedCause, error: any Error, client: OrchestratorClient
    ) async {
        do {
            _ = try await client.send(
                FailWorkflowTaskRequest(
                    taskToken: task.taskToken, cause: cause,
                    failure: Failure(message: "\(error)", type: String(describing: Swift.type(of: error))),
                    identity: options.identity))
        } catch {
            Self.logger(logger, for: task).warning(
                "reporting a failed workflow task failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Queries

    /// Answers the queries the server pushes, and hands the workflow tasks it pushes to `tasks`.
    private func servePushes(
        _ client: OrchestratorClient, cache: WorkflowCache, pushed: StartedTaskQueries,
        tasks: AsyncStream<WorkflowTask>.Continuation
    ) async {
        // Discarding: the loop runs as long as the connection, and a plain task group keeps every
        // finished child until it is awaited (a worker's memory grew by about 1 MB/s at C=50).
        await withDiscardingTaskGroup { group in
            for await push in client.pushes {
                switch push {
                case .workflowQuery(let query):
                    guard pushed.arrived(query) == .answerNow else { continue }
                    group.addTask { await self.answer(query, client: client, cache: cache) }
                case .workflowTask(let task):
                    tasks.yield(task)
                }
            }
        }
    }

    private func answer(_ query: WorkflowQuery, client: OrchestratorClient, cache: WorkflowCache) async {
        var response = await cache.answerCached(query)
        if response == nil {
            // Not cached here: replay the whole history in a throwaway runner.
            do {
                var history: [HistoryEvent] = []
                var after: Int64 = 0
                while true {
                    let page = try await client.send(
                        GetWorkflowHistoryRequest(workflowId: query.workflowId, runId: query.runId, afterEventId: after)
                    )
                    history += page.events
                    after = page.events.last?.eventId ?? after
                    if !page.hasMore { break }
                }
                let result = try await cache.queryReplaying(query, history: history)
                response = RespondQueryRequest(queryId: query.queryId, result: result)
            } catch {
                response = RespondQueryRequest(queryId: query.queryId, failure: Failure(error: error))
            }
        }
        if let response { _ = try? await client.send(response) }
        counters.withLock { $0.queries += 1 }
    }

    // MARK: - Activities

    private func pollActivityTasks(_ client: OrchestratorClient) async {
        await pollLoop(client, { PollActivityTaskRequest(taskQueue: $0, identity: $1, timeoutMs: $2) }) { response in
            if let task = response.task { await self.run(task, client: client) }
        }
    }

    private func run(_ task: ActivityTask, client: OrchestratorClient) async {
        guard let implementation = registry.activities[task.activityType] else {
            _ = try? await client.send(
                FailActivityTaskRequest(
                    taskToken: task.taskToken,
                    failure: Failure(
                        message:
                            "activity type \(task.activityType) is not registered on worker \(options.identity) (it runs \(registry.activityTypes.joined(separator: ", ")))",
                        type: "ActivityNotRegistered"),
                    identity: options.identity))
            return
        }
        let context = ActivityContext(task: task, client: client, logger: logger)
        let result: Result<JSONValue?, any Error>
        if let timeout = task.heartbeatTimeoutMs {
            result = await runWatched(task, implementation, context: context, heartbeatTimeoutMs: timeout)
        } else {
            // Cancellation reaches an activity only through heartbeats: without a heartbeat timeout
            // nothing watches it, so it runs on this task.
            do { result = .success(try await implementation(task.input, context)) } catch { result = .failure(error) }
        }
        let request: Request
        switch result {
        case .success(let output):
            request = .completeActivityTask(
                CompleteActivityTaskRequest(taskToken: task.taskToken, result: output, identity: options.identity))
        case .failure(let error) where error is CancellationError && context.isCancelRequested:
            request = .cancelActivityTask(
                CancelActivityTaskRequest(taskToken: task.taskToken, identity: options.identity))
        case .failure(let error):
            context.logger.warning("activity attempt failed", metadata: ["error": "\(error)"])
            request = .failActivityTask(
                FailActivityTaskRequest(
                    taskToken: task.taskToken, failure: Failure(error: error), identity: options.identity))
        }
        do {
            _ = try await client.send(request)
        } catch {
            context.logger.warning("reporting the activity's outcome failed", metadata: ["error": "\(error)"])
        }
        counters.withLock { $0.activities += 1 }
    }

    /// Runs an activity with a heartbeat timeout, heartbeating on its behalf while it runs to learn
    /// of cancellation, and cancels it when the server asks.
    private func runWatched(
        _ task: ActivityTask, _ implementation: @escaping WorkerRegistry.ActivityImplementation,
        context: ActivityContext, heartbeatTimeoutMs timeout: Int64
    ) async -> Result<JSONValue?, any Error> {
        let work = Task { try await implementation(task.input, context) }
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(max(50, timeout / 2)))
                if Task.isCancelled { return }
                await context.send()
                if context.isCancelRequested {
                    work.cancel()
                    return
                }
            }
        }
        let result = await work.result
        watcher.cancel()
        return result
    }
}

/// What a worker did since it started.
public struct WorkerStatistics: Sendable, Hashable {
    public var workflowTasks = 0
    public var replays = 0
    public var activities = 0
    /// Activities the server handed back with the completion that scheduled them (eager execution).
    public var eagerActivities = 0
    public var queries = 0
}
