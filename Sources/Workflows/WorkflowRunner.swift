import DequeModule
import Foundation
import Logging
import OrchestratorProtocol

/// Facts about the run a workflow executes in.
public struct WorkflowInfo: Sendable, Hashable {
    public var workflowId: String
    public var runId: String
    public var workflowType: String
    public var taskQueue: String
    public var firstExecutionRunId: String = ""
    public var continuedExecutionRunId: String?
    public var parentWorkflowId: String?
    public var startTime: Date = .distantPast

    public init(workflowId: String, runId: String, workflowType: String, taskQueue: String) {
        self.workflowId = workflowId
        self.runId = runId
        self.workflowType = workflowType
        self.taskQueue = taskQueue
    }
}

/// One run in memory: the workflow instance, its executor, and the state machine that turns history
/// into resumed awaits and awaits into commands.
///
/// History is applied in order. Events that answer an await (a timer fired, an activity completed, a
/// signal) resume it; the code runs only at workflow-task boundaries (a WorkflowTaskStarted that was
/// completed, or the last one), with the time of that event. The commands the code produces there are
/// matched, in order, against the command events history holds after the task's completion; any
/// difference is a ``NonDeterminismError`` naming the event. Confined to one thread at a time.
public final class WorkflowRunner: @unchecked Sendable {
    public let definition: WorkflowDefinition
    public private(set) var info: WorkflowInfo
    let executor = WorkflowExecutor()
    let baseLogger: Logger
    private(set) lazy var context = WorkflowContext(runner: self)

    var instance: AnyObject?
    var rootTask: Task<Void, Never>?
    var outcome: Outcome?
    var closingCommandIssued = false

    var currentTime = Timestamp(milliseconds: 0)
    public private(set) var isReplaying = true
    var random: WorkflowRandom
    var nextSeq = 1

    /// Commands of the activation in progress.
    var commands: [Command] = []
    /// Commands of earlier activations whose events have not been seen yet.
    var expected = Deque<Command>()

    var timers: [String: TimerState] = [:]
    var activities: [String: PendingActivity] = [:]
    var activityByScheduledEvent: [Int64: String] = [:]
    var children: [Int: PendingChild] = [:]
    var childAwaitingInitiation: [String: Int] = [:]
    var childByInitiatedEvent: [Int64: Int] = [:]
    var externalSignals: [Int: CheckedContinuation<Void, any Error>] = [:]
    var externalAwaitingInitiation = Deque<Int>()
    var externalByInitiatedEvent: [Int64: Int] = [:]
    var conditions: [PendingCondition] = []
    var patchesInHistory: Set<String> = []
    var patchDecisions: [String: Bool] = [:]
    var cancelRequested = false
    var cancelDelivered = false
    var evicting = false

    /// The last history event applied.
    public private(set) var lastEventId: Int64 = 0
    /// The WorkflowTaskStarted event of the last activation.
    public private(set) var lastStartedEventId: Int64 = 0

    enum Outcome {
        case completed(JSONValue?)
        case failed(any Error)
        case canceled
        case continueAsNew(ContinueAsNewRequest)
    }

    struct TimerState {
        var fired = false
        var canceled = false
        var waiter: CheckedContinuation<Void, any Error>?
        var conditionId: Int?
    }

    struct PendingActivity {
        var activityType: String
        var scheduledEventId: Int64?
        var continuation: CheckedContinuation<JSONValue?, any Error>?
        var canceledBeforeWait = false
    }

    struct PendingChild {
        var workflowId: String
        var workflowType: String
        var runId: String?
        var continuation: CheckedContinuation<JSONValue?, any Error>?
    }

    struct PendingCondition {
        var id: Int
        var predicate: () -> Bool
        var continuation: CheckedContinuation<Bool, any Error>
        var timerId: String?
        /// Its timer fired: it resolves false, unless the predicate holds once the activation's other
        /// events (signals) have been applied.
        var timedOut = false
    }

    public init(definition: WorkflowDefinition, info: WorkflowInfo, logger: Logger) {
        self.definition = definition
        self.info = info
        self.random = WorkflowRandom(seed: info.runId)
        var logger = logger
        logger[metadataKey: "workflowId"] = "\(info.workflowId)"
        logger[metadataKey: "runId"] = "\(info.runId)"
        logger[metadataKey: "taskQueue"] = "\(info.taskQueue)"
        self.baseLogger = logger
    }

    /// Whether the run has produced its closing command.
    public var isClosed: Bool { closingCommandIssued }

    /// Whether `events` continue this runner's history (a sticky task after a completed one).
    public func canContinue(with events: [HistoryEvent]) -> Bool {
        guard let first = events.first, lastEventId > 0 else { return false }
        return first.eventId == lastEventId + 1 && first.eventType == .workflowTaskCompleted
    }

    // MARK: - Applying history

    /// Applies events in order and runs the code at each boundary. When `live` and the events end with
    /// the task being processed, returns that task's commands; otherwise nil.
    public func apply(_ events: [HistoryEvent], live: Bool) throws -> [Command]? {
        var index = events.startIndex
        while index < events.endIndex {
            let event = events[index]
            guard event.eventId == lastEventId + 1 else {
                throw WorkflowRuntimeError(
                    "history is not contiguous: expected event \(lastEventId + 1), got \(event.eventId)")
            }
            lastEventId = event.eventId
            if case .workflowTaskStarted = event.attributes {
                let next = index + 1 < events.endIndex ? events[index + 1] : nil
                switch next?.eventType {
                case .workflowTaskCompleted?:
                    try activate(at: event, replaying: true, upcoming: events[(index + 1)...])
                case .workflowTaskFailed?, .workflowTaskTimedOut?:
                    break  // That task's commands were never recorded: not a boundary.
                case nil:
                    try activate(at: event, replaying: !live, upcoming: [])
                    if live { return commandsOfLastActivation }
                default:
                    throw WorkflowRuntimeError(
                        "WorkflowTaskStarted \(event.eventId) is followed by \(next?.eventType.rawValue ?? "")")
                }
            } else if event.isCommandEvent {
                try match(event)
            } else {
                try applyInput(event)
            }
            index += 1
        }
        return nil
    }

    /// The commands the code produced at the last boundary applied.
    public private(set) var commandsOfLastActivation: [Command] = []

    private func activate(at started: HistoryEvent, replaying: Bool, upcoming: ArraySlice<HistoryEvent>) throws {
        if let leftover = expected.first {
            throw NonDeterminismError(
                eventId: started.eventId, expected: "no event for it before WorkflowTaskStarted",
                actual: leftover.summary, workflowType: definition.name)
        }
        isReplaying = replaying
        currentTime = started.eventTime
        lastStartedEventId = started.eventId
        patchesInHistory = []
        for event in upcoming.dropFirst() {
            if event.eventType == .workflowTaskStarted { break }
            if case .markerRecorded(let marker) = event.attributes, let id = marker.patchId {
                patchesInHistory.insert(id)
            }
        }
        commands = []
        if rootTask == nil && outcome == nil, let instance {
            startRootTask(instance)
        }
        if cancelRequested && !cancelDelivered {
            cancelDelivered = true
            executor.owned { rootTask?.cancel() }
        }
        try runUntilBlocked()
        if outcome == nil && rootTask != nil && !hasKnownAwait {
            throw WorkflowRuntimeError(
                "workflow \(definition.name) is suspended on something the workflow runtime does not control (Task.sleep, an actor, a lock, I/O, an AsyncStream?): await only the context's operations (sleep, timers, condition, activities, child workflows) and tasks started with async let or task groups"
            )
        }
        if let outcome, !closingCommandIssued {
            closingCommandIssued = true
            commands.append(closingCommand(for: outcome))
        }
        commandsOfLastActivation = commands
        expected.append(contentsOf: commands)
        commands = []
    }

    private func startRootTask(_ instance: AnyObject) {
        let captured = Confined((self, instance))
        executor.owned {
            rootTask = Task(executorPreference: executor) {
                let (runner, instance) = captured.value
                do {
                    let result = try await runner.definition.run(instance, runner.context)
                    runner.finish(.completed(result))
                } catch let request as ContinueAsNewRequest {
                    runner.finish(.continueAsNew(request))
                } catch is WorkflowEvicted {
                    // Dropped from the cache: nothing to record.
                } catch is CancellationError where runner.cancelRequested {
                    runner.finish(.canceled)
                } catch {
                    runner.finish(.failed(error))
                }
            }
        }
    }

    /// Whether the code waits for something history will resume (a timer, an activity, a condition…).
    var hasKnownAwait: Bool {
        !conditions.isEmpty || activities.values.contains { $0.continuation != nil }
            || timers.values.contains { $0.waiter != nil } || !children.isEmpty || !externalSignals.isEmpty
    }

    func finish(_ outcome: Outcome) {
        if self.outcome == nil && !evicting { self.outcome = outcome }
    }

    private func closingCommand(for outcome: Outcome) -> Command {
        switch outcome {
        case .completed(let result):
            return .completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: result))
        case .failed(let error):
            return .failWorkflowExecution(FailWorkflowExecutionCommand(failure: Failure(error: error)))
        case .canceled:
            return .cancelWorkflowExecution(CancelWorkflowExecutionCommand(details: nil))
        case .continueAsNew(let request):
            return .continueAsNewWorkflowExecution(
                ContinueAsNewWorkflowExecutionCommand(
                    workflowType: request.workflowType, taskQueue: request.taskQueue, input: request.input))
        }
    }

    /// Drains the executor, then resolves conditions that became true, until nothing moves.
    private func runUntilBlocked() throws {
        var rounds = 0
        repeat {
            executor.drain()
            let foreign = executor.takeForeignJobCount()
            if foreign > 0 {
                throw WorkflowRuntimeError(
                    "workflow \(definition.name) resumed \(foreign) job(s) from outside its executor: workflow code must not use Task.sleep, Task.detached, Task {}, actors, locks or I/O; use the workflow context (sleep, timers, activities) instead"
                )
            }
            rounds += 1
            if rounds > 100_000 {
                throw WorkflowRuntimeError(
                    "workflow \(definition.name) keeps waking itself up (a condition that never settles?)")
            }
        } while resolveSatisfiedConditions()
    }

    /// Resolves conditions after the jobs of an activation ran: true if the predicate holds (its
    /// timer is canceled), else false if its timer fired. A signal that came with the timer in the same
    /// activation thus wins over the timeout.
    private func resolveSatisfiedConditions() -> Bool {
        var resolved = false
        var index = 0
        while index < conditions.count {
            if conditions[index].predicate() {
                let condition = conditions.remove(at: index)
                if let timerId = condition.timerId { cancelTimer(timerId, resumeWaiter: false) }
                executor.owned { condition.continuation.resume(returning: true) }
                resolved = true
            } else if conditions[index].timedOut {
                let condition = conditions.remove(at: index)
                executor.owned { condition.continuation.resume(returning: false) }
                resolved = true
            } else {
                index += 1
            }
        }
        return resolved
    }

    // MARK: - Command events

    private func match(_ event: HistoryEvent) throws {
        guard let command = expected.first else {
            if event.isPatchMarker { return }  // A patch the code no longer calls (after deprecatePatch).
            throw NonDeterminismError(
                eventId: event.eventId, expected: event.summary, actual: "no further command",
                workflowType: definition.name)
        }
        guard command.matches(event) else {
            if event.isPatchMarker { return }
            throw NonDeterminismError(
                eventId: event.eventId, expected: event.summary, actual: command.summary, workflowType: definition.name)
        }
        expected.removeFirst()
        switch (command, event.attributes) {
        case (.scheduleActivityTask(let c), .activityTaskScheduled):
            activityByScheduledEvent[event.eventId] = c.activityId
            activities[c.activityId]?.scheduledEventId = event.eventId
        case (.startChildWorkflowExecution(let c), .startChildWorkflowExecutionInitiated):
            if let seq = childAwaitingInitiation.removeValue(forKey: c.workflowId) {
                childByInitiatedEvent[event.eventId] = seq
            }
        case (.signalExternalWorkflowExecution, .signalExternalWorkflowExecutionInitiated):
            if let seq = externalAwaitingInitiation.popFirst() { externalByInitiatedEvent[event.eventId] = seq }
        default:
            break
        }
    }

    // MARK: - Input events

    private func applyInput(_ event: HistoryEvent) throws {
        switch event.attributes {
        case .workflowExecutionStarted(let a):
            info.firstExecutionRunId = a.firstExecutionRunId
            info.continuedExecutionRunId = a.continuedExecutionRunId
            info.parentWorkflowId = a.parentWorkflowId
            info.startTime = Date(timeIntervalSince1970: Double(event.eventTime.milliseconds) / 1000)
            do {
                instance = try definition.make(a.input)
            } catch {
                outcome = .failed(error)
            }
        case .workflowExecutionSignaled(let a):
            deliverSignal(a)
        case .workflowExecutionCancelRequested:
            cancelRequested = true
        case .activityTaskCompleted(let a):
            resolveActivity(scheduledEventId: a.scheduledEventId, with: .success(a.result))
        case .activityTaskFailed(let a):
            resolveActivity(scheduledEventId: a.scheduledEventId) { type, id in
                ActivityFailure(
                    kind: .failed, activityType: type, activityId: id, failure: a.failure, retryState: a.retryState)
            }
        case .activityTaskTimedOut(let a):
            resolveActivity(scheduledEventId: a.scheduledEventId) { type, id in
                ActivityFailure(
                    kind: .timedOut, activityType: type, activityId: id, failure: a.failure, retryState: a.retryState,
                    timeoutType: a.timeoutType)
            }
        case .activityTaskCanceled(let a):
            resolveActivity(scheduledEventId: a.scheduledEventId) { type, id in
                ActivityFailure(kind: .canceled, activityType: type, activityId: id)
            }
        case .timerFired(let a):
            timerFired(a.timerId)
        case .childWorkflowExecutionStarted(let a):
            if let seq = childByInitiatedEvent[a.initiatedEventId] { children[seq]?.runId = a.runId }
        case .childWorkflowExecutionCompleted(let a):
            resolveChild(a.initiatedEventId, .success(a.result))
        case .childWorkflowExecutionFailed(let a):
            resolveChild(
                a.initiatedEventId,
                .failure(
                    ChildWorkflowFailure(
                        workflowId: a.workflowId, workflowType: a.workflowType, status: "failed", failure: a.failure)))
        case .childWorkflowExecutionCanceled(let a):
            resolveChild(
                a.initiatedEventId,
                .failure(
                    ChildWorkflowFailure(workflowId: a.workflowId, workflowType: a.workflowType, status: "was canceled")
                ))
        case .childWorkflowExecutionTerminated(let a):
            resolveChild(
                a.initiatedEventId,
                .failure(
                    ChildWorkflowFailure(
                        workflowId: a.workflowId, workflowType: a.workflowType, status: "was terminated")))
        case .startChildWorkflowExecutionFailed(let a):
            resolveChild(
                a.initiatedEventId,
                .failure(
                    ChildWorkflowFailure(
                        workflowId: a.workflowId, workflowType: a.workflowType, status: "could not start (\(a.cause))"))
            )
        case .externalWorkflowExecutionSignaled(let a):
            if let seq = externalByInitiatedEvent.removeValue(forKey: a.initiatedEventId),
                let continuation = externalSignals.removeValue(forKey: seq)
            {
                executor.owned { continuation.resume() }
            }
        case .signalExternalWorkflowExecutionFailed(let a):
            if let seq = externalByInitiatedEvent.removeValue(forKey: a.initiatedEventId),
                let continuation = externalSignals.removeValue(forKey: seq)
            {
                executor.owned {
                    continuation.resume(throwing: ExternalSignalFailure(workflowId: a.workflowId, cause: a.cause))
                }
            }
        default:
            break
        }
    }

    private func deliverSignal(_ signal: WorkflowExecutionSignaledAttributes) {
        guard let instance, outcome == nil else { return }
        guard let handler = definition.signals[signal.signalName] else {
            if !isReplaying {
                baseLogger.warning(
                    "signal dropped: the workflow has no handler for it",
                    metadata: [
                        "signal": "\(signal.signalName)", "handled": "\(definition.signalNames.joined(separator: ","))",
                    ])
            }
            return
        }
        let captured = Confined((self, instance))
        executor.owned {
            _ = Task(executorPreference: executor) {
                let (runner, instance) = captured.value
                do {
                    try await handler(instance, signal.input, runner.context)
                } catch is WorkflowEvicted {
                } catch {
                    runner.finish(.failed(error))
                }
            }
        }
    }

    private func resolveActivity(scheduledEventId: Int64, with result: Result<JSONValue?, any Error>) {
        guard let id = activityByScheduledEvent.removeValue(forKey: scheduledEventId),
            let activity = activities.removeValue(forKey: id)
        else { return }
        executor.owned { activity.continuation?.resume(with: result) }
    }

    private func resolveActivity(scheduledEventId: Int64, failure: (String, String) -> any Error) {
        guard let id = activityByScheduledEvent[scheduledEventId], let activity = activities[id] else { return }
        resolveActivity(scheduledEventId: scheduledEventId, with: .failure(failure(activity.activityType, id)))
    }

    private func resolveChild(_ initiatedEventId: Int64, _ result: Result<JSONValue?, any Error>) {
        guard let seq = childByInitiatedEvent.removeValue(forKey: initiatedEventId),
            let child = children.removeValue(forKey: seq)
        else { return }
        executor.owned { child.continuation?.resume(with: result) }
    }

    private func timerFired(_ timerId: String) {
        guard var timer = timers[timerId], !timer.canceled, !timer.fired else { return }
        if let conditionId = timer.conditionId {
            timers[timerId] = nil
            if let index = conditions.firstIndex(where: { $0.id == conditionId }) {
                conditions[index].timedOut = true
                conditions[index].timerId = nil
            }
        } else if let waiter = timer.waiter {
            timers[timerId] = nil
            executor.owned { waiter.resume() }
        } else {
            timer.fired = true  // Awaited later.
            timers[timerId] = timer
        }
    }

    // MARK: - Used by the context (on the executor)

    func makeSeq() -> Int {
        defer { nextSeq += 1 }
        return nextSeq
    }

    func checkUsable() throws {
        if evicting { throw WorkflowEvicted() }
    }

    /// Starts a timer; returns its id.
    func startTimer(milliseconds: Int64, conditionId: Int? = nil) -> String {
        let timerId = String(makeSeq())
        commands.append(.startTimer(StartTimerCommand(timerId: timerId, startToFireTimeoutMs: max(1, milliseconds))))
        timers[timerId] = TimerState(conditionId: conditionId)
        return timerId
    }

    /// Cancels a pending timer: drops its command if not yet sent, else sends CancelTimer.
    func cancelTimer(_ timerId: String, resumeWaiter: Bool = true) {
        guard var timer = timers[timerId], !timer.fired, !timer.canceled else { return }
        timer.canceled = true
        timers[timerId] = timer.waiter == nil && timer.conditionId == nil ? timer : nil
        if let index = commands.firstIndex(where: {
            if case .startTimer(let c) = $0 { return c.timerId == timerId }
            return false
        }) {
            commands.remove(at: index)
        } else {
            commands.append(.cancelTimer(CancelTimerCommand(timerId: timerId)))
        }
        if resumeWaiter, let waiter = timer.waiter { executor.owned { waiter.resume(throwing: CancellationError()) } }
    }

    func waitForTimer(_ timerId: String) async throws {
        let runner = Confined(self)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if evicting { continuation.resume(throwing: WorkflowEvicted()); return }
                guard var timer = timers[timerId] else {
                    continuation.resume()  // Fired and awaited already.
                    return
                }
                if timer.fired || timer.canceled {
                    timers[timerId] = nil
                    if timer.fired { continuation.resume() } else { continuation.resume(throwing: CancellationError()) }
                    return
                }
                timer.waiter = continuation
                timers[timerId] = timer
            }
        } onCancel: {
            runner.value.cancelTimer(timerId)
        }
    }

    func scheduleActivity(type: String, input: JSONValue?, options: ActivityOptions) async throws -> JSONValue? {
        try checkUsable()
        guard options.startToCloseTimeout != nil || options.scheduleToCloseTimeout != nil else {
            throw ApplicationError(
                "activity \(type) needs a startToCloseTimeout or a scheduleToCloseTimeout in its ActivityOptions",
                type: "InvalidActivityOptions", nonRetryable: true)
        }
        let activityId = options.activityId ?? String(makeSeq())
        commands.append(
            .scheduleActivityTask(
                ScheduleActivityTaskCommand(
                    activityId: activityId, activityType: type, taskQueue: options.taskQueue, input: input,
                    scheduleToCloseTimeoutMs: options.scheduleToCloseTimeout?.wholeMilliseconds,
                    startToCloseTimeoutMs: options.startToCloseTimeout?.wholeMilliseconds,
                    heartbeatTimeoutMs: options.heartbeatTimeout?.wholeMilliseconds, retryPolicy: options.retryPolicy)))
        activities[activityId] = PendingActivity(activityType: type)
        let runner = Confined(self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if activities[activityId]?.canceledBeforeWait == true {
                    activities[activityId] = nil
                    continuation.resume(throwing: CancellationError())
                } else {
                    activities[activityId]?.continuation = continuation
                }
            }
        } onCancel: {
            runner.value.cancelActivity(activityId)
        }
    }

    /// Cancels an activity (try-cancel): its await throws `CancellationError` at once.
    func cancelActivity(_ activityId: String) {
        guard var activity = activities[activityId] else { return }
        if let index = commands.firstIndex(where: {
            if case .scheduleActivityTask(let c) = $0 { return c.activityId == activityId }
            return false
        }) {
            commands.remove(at: index)
        } else if let scheduledEventId = activity.scheduledEventId {
            commands.append(
                .requestCancelActivityTask(RequestCancelActivityTaskCommand(scheduledEventId: scheduledEventId)))
            activityByScheduledEvent[scheduledEventId] = nil
        }
        guard let continuation = activity.continuation else {
            activity.canceledBeforeWait = true
            activities[activityId] = activity
            return
        }
        activities[activityId] = nil
        executor.owned { continuation.resume(throwing: CancellationError()) }
    }

    func startChild(_ command: StartChildWorkflowExecutionCommand) async throws -> JSONValue? {
        try checkUsable()
        let seq = makeSeq()
        commands.append(.startChildWorkflowExecution(command))
        childAwaitingInitiation[command.workflowId] = seq
        return try await withCheckedThrowingContinuation { continuation in
            children[seq] = PendingChild(
                workflowId: command.workflowId, workflowType: command.workflowType, continuation: continuation)
        }
    }

    func signalExternal(_ command: SignalExternalWorkflowExecutionCommand) async throws {
        try checkUsable()
        let seq = makeSeq()
        commands.append(.signalExternalWorkflowExecution(command))
        externalAwaitingInitiation.append(seq)
        try await withCheckedThrowingContinuation { continuation in
            externalSignals[seq] = continuation
        }
    }

    func condition(timeoutMs: Int64?, _ predicate: @escaping () -> Bool) async throws -> Bool {
        try checkUsable()
        if predicate() { return true }
        if let timeoutMs, timeoutMs <= 0 { return false }
        let id = makeSeq()
        let timerId = timeoutMs.map { startTimer(milliseconds: $0, conditionId: id) }
        let runner = Confined(self)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if evicting {
                    continuation.resume(throwing: WorkflowEvicted())
                    return
                }
                conditions.append(
                    PendingCondition(id: id, predicate: predicate, continuation: continuation, timerId: timerId))
            }
        } onCancel: {
            runner.value.cancelCondition(id)
        }
    }

    func cancelCondition(_ id: Int) {
        guard let index = conditions.firstIndex(where: { $0.id == id }) else { return }
        let condition = conditions.remove(at: index)
        if let timerId = condition.timerId { cancelTimer(timerId, resumeWaiter: false) }
        executor.owned { condition.continuation.resume(throwing: CancellationError()) }
    }

    func patched(_ patchId: String, deprecated: Bool) -> Bool {
        if let decided = patchDecisions[patchId] { return decided }
        let present = !isReplaying || patchesInHistory.contains(patchId)
        if present {
            commands.append(
                .recordMarker(
                    RecordMarkerCommand(
                        markerName: HistoryEvent.patchMarkerName,
                        details: ["patchId": .string(patchId), "deprecated": .bool(deprecated)])))
        }
        let result = deprecated || present
        patchDecisions[patchId] = result
        return result
    }

    func upsertSearchAttributes(_ attributes: [String: JSONValue]) {
        commands.append(
            .upsertWorkflowSearchAttributes(UpsertWorkflowSearchAttributesCommand(searchAttributes: attributes)))
    }

    // MARK: - Queries and teardown

    /// Answers a query from the current state.
    public func query(_ queryType: String, arguments: JSONValue?) throws -> JSONValue? {
        guard let instance else { throw WorkflowRuntimeError("the workflow has no state yet") }
        guard let handler = definition.queries[queryType] else {
            let known = definition.queryNames
            throw WorkflowRuntimeError(
                "\(definition.name) has no query \(queryType)"
                    + (known.isEmpty ? "" : "; it answers \(known.joined(separator: ", "))"))
        }
        return try handler(instance, arguments)
    }

    /// Unwinds the workflow code (every await throws) so that its tasks end; call before dropping.
    public func destroy() {
        evicting = true
        for _ in 0..<10 {
            let waiting =
                activities.values.compactMap(\.continuation).map { Resumable.value($0) }
                + children.values.compactMap(\.continuation).map { Resumable.value($0) }
                + timers.values.compactMap(\.waiter).map { Resumable.void($0) }
                + externalSignals.values.map { Resumable.void($0) }
                + conditions.map { Resumable.bool($0.continuation) }
            activities.removeAll()
            children.removeAll()
            timers.removeAll()
            externalSignals.removeAll()
            conditions.removeAll()
            executor.owned {
                for resumable in waiting { resumable.fail(WorkflowEvicted()) }
                rootTask?.cancel()
            }
            executor.drain()
            if waiting.isEmpty { break }
        }
        _ = executor.takeForeignJobCount()
        instance = nil
    }

    private enum Resumable {
        case value(CheckedContinuation<JSONValue?, any Error>)
        case void(CheckedContinuation<Void, any Error>)
        case bool(CheckedContinuation<Bool, any Error>)
        func fail(_ error: any Error) {
            switch self {
            case .value(let c): c.resume(throwing: error)
            case .void(let c): c.resume(throwing: error)
            case .bool(let c): c.resume(throwing: error)
            }
        }
    }
}

extension HistoryEvent {
    static let patchMarkerName = "patch"

    /// Events that record a command of the workflow (matched against the code on replay).
    var isCommandEvent: Bool {
        switch eventType {
        case .activityTaskScheduled, .activityTaskCancelRequested, .timerStarted, .timerCanceled,
            .workflowExecutionCompleted, .workflowExecutionFailed, .workflowExecutionCanceled,
            .workflowExecutionContinuedAsNew, .markerRecorded, .upsertWorkflowSearchAttributes,
            .startChildWorkflowExecutionInitiated, .signalExternalWorkflowExecutionInitiated:
            return true
        default:
            return false
        }
    }

    var isPatchMarker: Bool {
        if case .markerRecorded(let marker) = attributes { return marker.patchId != nil }
        return false
    }

    /// "TimerStarted (timerId 3)" and the like, for non-determinism messages.
    var summary: String {
        let detail: String
        switch attributes {
        case .activityTaskScheduled(let a): detail = "activityType \(a.activityType), activityId \(a.activityId)"
        case .activityTaskCancelRequested(let a): detail = "scheduledEventId \(a.scheduledEventId)"
        case .timerStarted(let a): detail = "timerId \(a.timerId), \(a.startToFireTimeoutMs) ms"
        case .timerCanceled(let a): detail = "timerId \(a.timerId)"
        case .markerRecorded(let a): detail = "markerName \(a.markerName)" + (a.patchId.map { ", patch \($0)" } ?? "")
        case .startChildWorkflowExecutionInitiated(let a): detail = "workflowId \(a.workflowId), type \(a.workflowType)"
        case .signalExternalWorkflowExecutionInitiated(let a):
            detail = "workflowId \(a.workflowId), signal \(a.signalName)"
        default: detail = ""
        }
        return "event \(eventId) \(eventType.rawValue)" + (detail.isEmpty ? "" : " (\(detail))")
    }
}

extension MarkerRecordedAttributes {
    var patchId: String? {
        guard markerName == HistoryEvent.patchMarkerName else { return nil }
        return details?["patchId"]?.stringValue
    }
}

extension Command {
    /// Whether `event` records this command.
    func matches(_ event: HistoryEvent) -> Bool {
        switch (self, event.attributes) {
        case (.scheduleActivityTask(let c), .activityTaskScheduled(let a)):
            return c.activityId == a.activityId && c.activityType == a.activityType
        case (.requestCancelActivityTask(let c), .activityTaskCancelRequested(let a)):
            return c.scheduledEventId == a.scheduledEventId
        case (.startTimer(let c), .timerStarted(let a)):
            return c.timerId == a.timerId
        case (.cancelTimer(let c), .timerCanceled(let a)):
            return c.timerId == a.timerId
        case (.completeWorkflowExecution, .workflowExecutionCompleted),
            (.failWorkflowExecution, .workflowExecutionFailed),
            (.cancelWorkflowExecution, .workflowExecutionCanceled),
            (.continueAsNewWorkflowExecution, .workflowExecutionContinuedAsNew),
            (.upsertWorkflowSearchAttributes, .upsertWorkflowSearchAttributes):
            return true
        case (.recordMarker(let c), .markerRecorded(let a)):
            return c.markerName == a.markerName && c.details?["patchId"] == a.details?["patchId"]
        case (.startChildWorkflowExecution(let c), .startChildWorkflowExecutionInitiated(let a)):
            return c.workflowId == a.workflowId && c.workflowType == a.workflowType
        case (.signalExternalWorkflowExecution(let c), .signalExternalWorkflowExecutionInitiated(let a)):
            return c.workflowId == a.workflowId && c.signalName == a.signalName
        default:
            return false
        }
    }

    /// "ScheduleActivityTask (activityType Notify, activityId 3)" and the like.
    var summary: String {
        let detail: String
        switch self {
        case .scheduleActivityTask(let c): detail = "activityType \(c.activityType), activityId \(c.activityId)"
        case .requestCancelActivityTask(let c): detail = "scheduledEventId \(c.scheduledEventId)"
        case .startTimer(let c): detail = "timerId \(c.timerId), \(c.startToFireTimeoutMs) ms"
        case .cancelTimer(let c): detail = "timerId \(c.timerId)"
        case .recordMarker(let c):
            detail = "markerName \(c.markerName)" + (c.details?["patchId"]?.stringValue.map { ", patch \($0)" } ?? "")
        case .startChildWorkflowExecution(let c): detail = "workflowId \(c.workflowId), type \(c.workflowType)"
        case .signalExternalWorkflowExecution(let c): detail = "workflowId \(c.workflowId), signal \(c.signalName)"
        default: detail = ""
        }
        return commandType.rawValue + (detail.isEmpty ? "" : " (\(detail))")
    }
}
