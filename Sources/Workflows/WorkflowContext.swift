import Foundation
import Logging
import OrchestratorProtocol

/// What workflow code uses instead of the clock, randomness, sleeping and side effects.
///
/// Every method must be called from the workflow's own code (its `run`, its handlers, or tasks it
/// starts with `async let` or task groups); the runtime gives the same answers on replay.
public final class WorkflowContext: @unchecked Sendable {
    unowned let runner: WorkflowRunner

    init(runner: WorkflowRunner) {
        self.runner = runner
    }

    /// The run this code executes in.
    public var info: WorkflowInfo { runner.info }

    /// The workflow's time: when the current workflow task started. The same on replay.
    public var now: Date { Date(timeIntervalSince1970: Double(runner.currentTime.milliseconds) / 1000) }

    /// The workflow's time as a protocol timestamp.
    public var currentTime: Timestamp { runner.currentTime }

    /// Whether the code is re-running history it already ran (no side effects should be repeated).
    public var isReplaying: Bool { runner.isReplaying }

    /// Whether a client asked to cancel the run.
    public var isCancelRequested: Bool { runner.cancelRequested }

    /// A logger that stays quiet during replay and carries the workflow id, run id and task queue.
    public var logger: Logger {
        var logger = runner.baseLogger
        if runner.isReplaying { logger.logLevel = .critical }
        return logger
    }

    /// A random number, the same on replay.
    public func random() -> UInt64 { runner.random.next() }

    /// A random number in `range`, the same on replay.
    public func random<T: FixedWidthInteger>(in range: ClosedRange<T>) -> T {
        T.random(in: range, using: &runner.random)
    }

    /// A UUID, the same on replay.
    public func uuid() -> UUID { runner.random.uuid() }

    /// Waits for `duration` on a durable timer (it survives worker and server restarts).
    public func sleep(for duration: Duration) async throws {
        try runner.checkUsable()
        let timerId = runner.startTimer(milliseconds: duration.wholeMilliseconds)
        try await runner.waitForTimer(timerId)
    }

    /// Starts a durable timer that can be awaited later or canceled.
    public func timer(for duration: Duration) -> WorkflowTimer {
        WorkflowTimer(runner: runner, id: runner.startTimer(milliseconds: duration.wholeMilliseconds))
    }

    /// Waits until `predicate` is true (it is checked after every change of state). With a timeout,
    /// returns false if the time passes first; the timer is canceled when the predicate wins.
    @discardableResult
    public func condition(timeout: Duration? = nil, _ predicate: @escaping () -> Bool) async throws -> Bool {
        try await runner.condition(timeoutMs: timeout?.wholeMilliseconds, predicate)
    }

    /// Runs an activity and returns its result; throws ``ActivityFailure`` when it fails for good
    /// (after its retries), and `CancellationError` if the awaiting task is cancelled.
    public func execute<A: ActivityDefinition>(
        _ activity: A.Type, _ input: A.Input, options: ActivityOptions
    ) async throws -> A.Output {
        let result = try await runner.scheduleActivity(
            type: A.name, input: try PayloadCoding.encode(input), options: options)
        return try PayloadCoding.decode(A.Output.self, from: result)
    }

    /// Starts a child workflow and waits for its result.
    public func executeChild<W: Workflow>(
        _ workflow: W.Type, id workflowId: String, input: W.Input, options: ChildWorkflowOptions = .init()
    ) async throws -> W.Output {
        let result = try await runner.startChild(
            StartChildWorkflowExecutionCommand(
                workflowId: workflowId, workflowType: W.name, taskQueue: options.taskQueue,
                input: try PayloadCoding.encode(input), parentClosePolicy: options.parentClosePolicy,
                workflowIdReusePolicy: options.workflowIdReusePolicy))
        return try PayloadCoding.decode(W.Output.self, from: result)
    }

    /// Sends a signal to another workflow.
    public func signalExternal<I>(workflowId: String, runId: String? = nil, _ signal: Signal<I>, _ input: I)
        async throws
    {
        try await runner.signalExternal(
            SignalExternalWorkflowExecutionCommand(
                workflowId: workflowId, runId: runId, signalName: signal.name, input: try PayloadCoding.encode(input)))
    }

    /// Versioning: true when this run executes the code after the change named `patchId` (new runs,
    /// and runs whose history recorded the patch), false for runs that started before it.
    ///
    /// ```swift
    /// if context.patched("notify-on-ack") { try await notify(.acked) }
    /// ```
    public func patched(_ patchId: String) -> Bool {
        runner.patched(patchId, deprecated: false)
    }

    /// Marks a patch as the only path: every run still in flight took it. Remove the call once they closed.
    public func deprecatePatch(_ patchId: String) {
        _ = runner.patched(patchId, deprecated: true)
    }

    /// Closes this run and starts a new one of the same workflow with `input` (history starts over).
    public func continueAsNew<I: Encodable>(input: I, workflowType: String? = nil, taskQueue: String? = nil) throws
        -> Never
    {
        throw ContinueAsNewRequest(
            input: try PayloadCoding.encode(input), workflowType: workflowType, taskQueue: taskQueue)
    }

    /// Sets search attributes of the run in the visibility index (a null value removes one).
    public func upsertSearchAttributes(_ attributes: [String: JSONValue]) {
        runner.upsertSearchAttributes(attributes)
    }
}

/// A durable timer started by ``WorkflowContext/timer(for:)``.
public struct WorkflowTimer: @unchecked Sendable {
    unowned let runner: WorkflowRunner
    public let id: String

    /// Waits until the timer fires; throws `CancellationError` if it was canceled.
    public func wait() async throws {
        try await runner.waitForTimer(id)
    }

    /// Cancels the timer (nothing happens if it fired already).
    public func cancel() {
        runner.cancelTimer(id)
    }
}
