import Foundation
import Logging
import OrchestratorProtocol
import Testing
import WorkerRuntime
import Workflows

@Suite("Workflow runtime", .serialized)
struct RuntimeTests {
    func registerAll(_ registry: inout WorkerRegistry) {
        registry.register(SleepyWorkflow.self)
        registry.register(WaitForGoWorkflow.self)
        registry.register(RetryingWorkflow.self)
        registry.register(CancellableWorkflow.self)
        registry.register(CounterWorkflow.self)
        registry.register(DeterministicWorkflow.self)
        registry.register(EscapingWorkflow.self)
        registry.register(ParallelWorkflow.self)
        registry.register(TallyWorkflow.self)
    }

    @Test("timers: the workflow sleeps on durable timers and its history replays to the same result")
    func timersAndReplay() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(SleepyWorkflow.self, id: "sleepy", input: 100)
            #expect(try await h.result(SleepyWorkflow.self, id: "sleepy") == 2)
            let history = try await h.history("sleepy")
            #expect(history.filter { $0.eventType == .timerFired }.count == 2)
            let replayed = try WorkflowReplayer(SleepyWorkflow.self).replay(history)
            #expect(replayed.isClosed)
        }
    }

    @Test("a condition with a timeout: true when the signal comes first, false when the time passes first")
    func conditionWithTimeout() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(WaitForGoWorkflow.self, id: "late", input: 200)
            #expect(try await h.result(WaitForGoWorkflow.self, id: "late") == false)
            try await h.start(WaitForGoWorkflow.self, id: "early", input: 60_000)
            try await h.signal("early", WaitForGoWorkflow.go, NoArguments())
            #expect(try await h.result(WaitForGoWorkflow.self, id: "early") == true)
            let types = try await h.history("early").map(\.eventType)
            #expect(types.contains(.timerCanceled), "the condition's timer is canceled when the predicate wins")
            #expect(!types.contains(.timerFired))
        }
    }

    @Test("an activity's logger carries its workflow, run, activity id, type and attempt")
    func activityLoggerMetadata() async throws {
        try await WorkerHarness.with(register: { registry in
            registry.register(LoggerMetadataWorkflow.self)
            registry.register(LoggerMetadata.self) { _, context in
                var metadata: [String: String] = [:]
                for key in ["workflowId", "runId", "activityId", "activityType", "attempt", "taskQueue"] {
                    metadata[key] = context.logger[metadataKey: key]?.description
                }
                return metadata
            }
        }) { h in
            let runId = try await h.start(LoggerMetadataWorkflow.self, id: "logged", input: NoArguments())
            let metadata = try await h.result(LoggerMetadataWorkflow.self, id: "logged")
            let scheduled = try await h.history("logged").compactMap { event -> ActivityTaskScheduledAttributes? in
                if case .activityTaskScheduled(let a) = event.attributes { return a }
                return nil
            }
            #expect(
                metadata == [
                    "workflowId": "logged", "runId": runId, "activityId": try #require(scheduled.first?.activityId),
                    "activityType": "LoggerMetadata", "attempt": "1", "taskQueue": "tests",
                ])
        }
    }

    @Test("an activity that fails is retried by policy; a workflow sees the final failure when retries run out")
    func activityRetries() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(RetryingWorkflow.self, id: "retry-ok", input: 5)
            #expect(try await h.result(RetryingWorkflow.self, id: "retry-ok") == "hello after 3 attempts")
            try await h.start(RetryingWorkflow.self, id: "retry-gives-up", input: 2)
            let outcome = try await h.result(RetryingWorkflow.self, id: "retry-gives-up")
            #expect(outcome.contains("MAXIMUM_ATTEMPTS_REACHED"))
            #expect(outcome.contains("attempt 2 failed"))
        }
    }

    @Test("a cancel request cancels the workflow's awaits and closes it CANCELED")
    func cancellation() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(CancellableWorkflow.self, id: "cancel-me", input: NoArguments())
            // Wait for the timer to be started, then cancel.
            while !(try await h.history("cancel-me").contains { $0.eventType == .timerStarted }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            _ = try await h.client.send(RequestCancelWorkflowRequest(workflowId: "cancel-me"))
            let response = try await h.client.send(
                AwaitWorkflowResultRequest(workflowId: "cancel-me", timeoutMs: 10_000))
            #expect(response.status == .canceled)
            let types = try await h.history("cancel-me").map(\.eventType)
            #expect(types.contains(.timerCanceled))
        }
    }

    @Test("continue-as-new starts fresh runs until the workflow returns")
    func continueAsNew() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            let first = try await h.start(CounterWorkflow.self, id: "counter", input: 0)
            #expect(try await h.result(CounterWorkflow.self, id: "counter", runId: first) == 3)
            let runs = try await h.client.send(ListWorkflowsRequest(workflowIdPrefix: "counter")).executions
            #expect(runs.count == 4)
            #expect(runs.filter { $0.status == .continuedAsNew }.count == 3)
        }
    }

    @Test("time, randomness and UUIDs come from history: replay sees the same values")
    func deterministicHelpers() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            let runId = try await h.start(DeterministicWorkflow.self, id: "det", input: NoArguments())
            let live = try await h.result(DeterministicWorkflow.self, id: "det")
            #expect(live.count == 4)
            #expect(live[2] != live[3], "time moves with the workflow task")
            let replayed = try WorkflowReplayer(DeterministicWorkflow.self).replay(
                try await h.history("det"), runId: runId)
            #expect(try replayed.query(DeterministicWorkflow.seen) == live)
        }
    }

    @Test("async let and task groups run on the workflow executor")
    func structuredConcurrency() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(ParallelWorkflow.self, id: "parallel", input: NoArguments())
            let values = try await h.result(ParallelWorkflow.self, id: "parallel")
            #expect(values.prefix(2) == ["a", "b"])
            #expect(Set(values) == ["a", "b", "c", "d", "e"])
            let scheduled = try await h.history("parallel").filter { $0.eventType == .activityTaskScheduled }.count
            #expect(scheduled == 5)
            _ = try WorkflowReplayer(ParallelWorkflow.self).replay(try await h.history("parallel"))
        }
    }

    @Test(
        "activities the worker runs come back with the completion that scheduled them (eager), within its slots",
        arguments: [16, 2, 0])
    func eagerActivities(slots: Int) async throws {
        try await WorkerHarness.with(register: registerAll, options: { $0.maxEagerActivities = slots }) { h in
            try await h.start(ParallelWorkflow.self, id: "parallel-eager", input: NoArguments())
            let values = try await h.result(ParallelWorkflow.self, id: "parallel-eager")
            #expect(Set(values) == ["a", "b", "c", "d", "e"])
            let history = try await h.history("parallel-eager")
            #expect(history.filter { $0.eventType == .activityTaskCompleted }.count == 5)
            let statistics = try #require(h.worker?.statistics)
            #expect(statistics.activities == 5)
            // Two are scheduled in the first task, three in a later one; a slot is free again once
            // its activity's completion is answered, which may come just after that later task.
            #expect(statistics.eagerActivities >= min(slots, 2))
            #expect(statistics.eagerActivities <= min(slots, 2) + min(slots, 3))
            if slots >= 5 { #expect(statistics.eagerActivities == 5) }
        }
    }

    @Test("code that leaves the workflow executor (Task.sleep) fails its task with a clear error")
    func escapingCodeIsCaught() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await h.start(EscapingWorkflow.self, id: "escape", input: NoArguments())
            var failure: WorkflowTaskFailedAttributes?
            for _ in 0..<100 where failure == nil {
                failure = try await h.history("escape").compactMap { event -> WorkflowTaskFailedAttributes? in
                    if case .workflowTaskFailed(let a) = event.attributes { return a }
                    return nil
                }.first
                if failure == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(failure?.cause == .workflowWorkerUnhandledFailure)
            #expect(
                failure?.failure?.message.contains("does not control") == true, "\(failure?.failure?.message ?? "")")
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "escape", reason: "test over"))
        }
    }

    @Test("queries see every acknowledged signal while activity results and workflow tasks are in flight")
    func queriesSeeAcknowledgedSignals() async throws {
        try await WorkerHarness.with(register: registerAll) { h in
            try await tallyRuns(h, count: 12)
        }
    }

    @Test("with its one poller busy, a worker runs the tasks the server pushes for queries, and answers them")
    func pushedTasksRun() async throws {
        try await WorkerHarness.with(register: registerAll, options: { $0.workflowPollers = 1 }) { h in
            // A query times out in 3 s, before a pushed task the worker ignored would time out (10 s).
            try await tallyRuns(h, count: 24, queryTimeoutMs: 3_000)
            // One poller for 24 runs: most queries find their run's task waiting for it, and the
            // server pushes it.
            #expect(await (try h.server.engine).statistics.workflowTasksPushed > 0)
        }
    }

    /// `count` tally runs at once, each signalled four times and queried after each signal; runs at
    /// once, so that commits group several runs' events and queries arrive while other events are
    /// being committed.
    private func tallyRuns(_ h: WorkerHarness, count: Int, queryTimeoutMs: Int64? = nil) async throws {
        let client = h.client
        func status(_ id: String) async throws -> [Int] {
            let response = try await client.send(
                QueryWorkflowRequest(workflowId: id, queryType: TallyWorkflow.tally.name, timeoutMs: queryTimeoutMs))
            return try PayloadCoding.decode([Int].self, from: response.result)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in 0..<count {
                group.addTask {
                    let id = "tally-\(run)"
                    try await h.start(TallyWorkflow.self, id: id, input: NoArguments())
                    for value in 1...4 {
                        try await h.signal(id, TallyWorkflow.add, value)
                        let seen = try await status(id)
                        #expect(seen == Array(1...value), "\(id) after signal \(value) answered \(seen)")
                    }
                    try await h.signal(id, TallyWorkflow.done, NoArguments())
                    #expect(try await h.result(TallyWorkflow.self, id: id) == [1, 2, 3, 4])
                }
            }
            try await group.waitForAll()
        }
    }
}

@Suite("Versioning and non-determinism", .serialized)
struct VersioningTests {
    @Test("a changed workflow fails replay with the event, what history holds and what the code produced")
    func nonDeterminismDiff() async throws {
        try await WorkerHarness.with(register: { $0.register(VersionedV1.self) }) { h in
            try await h.start(VersionedV1.self, id: "v1", input: NoArguments())
            #expect(try await h.result(VersionedV1.self, id: "v1") == "v1")
            let history = try await h.history("v1")
            #expect(throws: Never.self) { _ = try WorkflowReplayer(VersionedV1.self).replay(history) }
            do {
                _ = try WorkflowReplayer(VersionedBroken.self).replay(history)
                Issue.record("replaying with changed code must fail")
            } catch let error as NonDeterminismError {
                let timerEvent = try #require(history.first { $0.eventType == .timerStarted })
                #expect(error.eventId == timerEvent.eventId)
                #expect(error.expected.contains("TimerStarted"))
                #expect(error.actual.contains("ScheduleActivityTask"))
                #expect(error.description.contains("history event \(timerEvent.eventId)"))
            }
        }
    }

    @Test("patched: old histories replay on the old path, new runs take the new path")
    func patchedVersions() async throws {
        var oldHistory: [HistoryEvent] = []
        try await WorkerHarness.with(register: { $0.register(VersionedV1.self) }) { h in
            try await h.start(VersionedV1.self, id: "run-v1", input: NoArguments())
            _ = try await h.result(VersionedV1.self, id: "run-v1")
            oldHistory = try await h.history("run-v1")
        }
        // Version 2 replays version 1's history: patched() is false there.
        let replayedOld = try WorkflowReplayer(VersionedV2.self).replay(oldHistory)
        #expect(replayedOld.isClosed)
        try await WorkerHarness.with(register: { $0.register(VersionedV2.self) }) { h in
            try await h.start(VersionedV2.self, id: "run-v2", input: NoArguments())
            #expect(try await h.result(VersionedV2.self, id: "run-v2") == "hi v2")
            let newHistory = try await h.history("run-v2")
            #expect(newHistory.contains { $0.eventType == .markerRecorded })
            #expect(try WorkflowReplayer(VersionedV2.self).replay(newHistory).isClosed)
            // Version 1 cannot replay version 2's history.
            #expect(throws: NonDeterminismError.self) { _ = try WorkflowReplayer(VersionedV1.self).replay(newHistory) }
        }
    }

    @Test("a worker with incompatible code fails the task (the run stays open); a fixed worker continues it")
    func liveNonDeterminism() async throws {
        try await WorkerHarness.with(register: { $0.register(VersionedV1.self) }) { h in
            // A long first timer so that the run is mid-way when the code changes.
            _ = try await h.client.send(
                StartWorkflowRequest(workflowId: "live", workflowType: "Versioned", taskQueue: "other", input: nil))
            // Run the first task with version 1 on a worker of queue "other"…
            var registry = WorkerRegistry()
            registry.register(VersionedV1.self)
            var options = WorkerOptions(address: h.server.address, identity: "v1-worker", taskQueue: "other")
            options.pollTimeoutMs = 500
            let v1 = Worker(options: options, registry: registry, logger: quietLogger)
            let v1Task = Task { try await v1.run() }
            while !(try await h.history("live").contains { $0.eventType == .timerStarted }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            v1.shutdown()
            _ = try? await v1Task.value
            // …then the broken version picks the run up after the timer fires: its task fails.
            var brokenRegistry = WorkerRegistry()
            brokenRegistry.register(VersionedBroken.self)
            options.identity = "broken-worker"
            let broken = Worker(options: options, registry: brokenRegistry, logger: quietLogger)
            let brokenTask = Task { try await broken.run() }
            var failure: WorkflowTaskFailedAttributes?
            for _ in 0..<200 where failure == nil {
                failure = try await h.history("live").compactMap { event -> WorkflowTaskFailedAttributes? in
                    if case .workflowTaskFailed(let a) = event.attributes, a.cause == .nonDeterministicError {
                        return a
                    }
                    return nil
                }.first
                if failure == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(failure?.failure?.message.contains("not deterministic") == true)
            #expect(try await h.client.send(DescribeWorkflowRequest(workflowId: "live")).execution.status == .running)
            broken.shutdown()
            _ = try? await brokenTask.value
            // The fixed (original) code continues the run.
            options.identity = "fixed-worker"
            registry.register(Echo.self) { input, _ in input }
            let fixed = Worker(options: options, registry: registry, logger: quietLogger)
            let fixedTask = Task { try await fixed.run() }
            let result = try await h.client.send(AwaitWorkflowResultRequest(workflowId: "live", timeoutMs: 20_000))
            #expect(result.status == .completed)
            fixed.shutdown()
            _ = try? await fixedTask.value
        }
    }
}

/// Counts signals; completes on "done".
final class SignalCounterWorkflow: Workflow {
    static let name = "SignalCounter"
    static let tick = Signal<Int>("tick")
    static let done = Signal<NoArguments>("done")
    var ticks = 0
    var finished = false
    init(input: NoArguments) {}
    static func configure(_ handlers: inout WorkflowHandlers<SignalCounterWorkflow>) {
        handlers.signal(tick) { workflow, _ in workflow.ticks += 1 }
        handlers.signal(done) { workflow, _ in workflow.finished = true }
    }
    func run(context: WorkflowContext) async throws -> Int {
        try await context.condition { self.finished }
        return ticks
    }
}

@Suite("Long histories on workers", .serialized)
struct LongHistoryWorkerTests {
    @Test("a worker that did not cache a run with a long history fetches it page by page and replays it")
    func longHistoryReplay() async throws {
        try await WorkerHarness.with(register: { $0.register(SignalCounterWorkflow.self) }) { h in
            // No worker polls "ticks-queue" while the history grows past what one task carries.
            _ = try await h.client.send(
                StartWorkflowRequest(
                    workflowId: "ticks", workflowType: SignalCounterWorkflow.name, taskQueue: "ticks-queue"))
            for index in 0..<1_500 {
                _ = try await h.client.send(
                    SignalWorkflowRequest(workflowId: "ticks", signalName: "tick", input: .int(Int64(index))))
            }
            try await h.signal("ticks", SignalCounterWorkflow.done, NoArguments())
            #expect(try await h.history("ticks").count > 1_500)
            let second = h.makeWorker(identity: "second", taskQueue: "ticks-queue") {
                $0.register(SignalCounterWorkflow.self)
            }
            let running = Task { try await second.run() }
            #expect(try await h.result(SignalCounterWorkflow.self, id: "ticks") == 1_500)
            second.shutdown()
            _ = try? await running.value
            #expect(second.statistics.replays >= 1, "the new worker rebuilt the run from its history")
        }
    }
}

/// Workers whose expected errors should not clutter the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "test-worker")
    logger.logLevel = .critical
    return logger
}()

@Suite("Activation order")
struct ActivationOrderTests {
    @Test("a signal and a condition's timeout in the same workflow task: the signal wins")
    func signalBeatsTimeoutInOneActivation() throws {
        func event(_ id: Int64, _ attributes: EventAttributes) -> HistoryEvent {
            HistoryEvent(
                eventId: id, eventTime: Timestamp(milliseconds: 1_700_000_000_000 + id), attributes: attributes)
        }
        let history = [
            event(
                1,
                .workflowExecutionStarted(
                    .init(
                        workflowType: "WaitForGo", taskQueue: "q", input: 1000, workflowTaskTimeoutMs: 10_000,
                        identity: nil,
                        requestId: nil, attempt: 1, firstExecutionRunId: "r"))),
            event(2, .workflowTaskScheduled(.init(taskQueue: "q", startToCloseTimeoutMs: 10_000, attempt: 1))),
            event(3, .workflowTaskStarted(.init(scheduledEventId: 2, identity: nil))),
            event(4, .workflowTaskCompleted(.init(scheduledEventId: 2, startedEventId: 3, identity: nil))),
            event(5, .timerStarted(.init(timerId: "2", startToFireTimeoutMs: 1000, workflowTaskCompletedEventId: 4))),
            event(6, .workflowExecutionSignaled(.init(signalName: "go", input: nil, identity: nil, requestId: nil))),
            event(7, .timerFired(.init(timerId: "2", startedEventId: 5))),
            event(8, .workflowTaskScheduled(.init(taskQueue: "q", startToCloseTimeoutMs: 10_000, attempt: 1))),
            event(9, .workflowTaskStarted(.init(scheduledEventId: 8, identity: nil))),
        ]
        let replayed = try WorkflowReplayer(WaitForGoWorkflow.self).replay(history)
        #expect(replayed.lastCommands == [.completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: true))])
    }
}
