import Foundation
import OrchestratorProtocol
import Testing

@testable import OrchestratorEngine

/// The direct writers of the state columns give Codable's bytes, byte for byte.
@Suite("State encoding")
struct StateEncodingTests {
    static func run(
        startRequestId: String? = "req-1", cancelRequested: Bool = false, parent: ParentReference? = nil,
        children: [Int64: ChildState] = [:]
    ) -> PersistedExecutionState {
        PersistedExecutionState(
            nextEventId: 42, previousStartedEventId: 37, workflowTaskTimeoutMs: 10_000,
            firstExecutionRunId: "run \"one\"/é", runAttempt: 2, cancelRequested: cancelRequested,
            startRequestId: startRequestId, parent: parent, children: children, nextBufferSeq: 7)
    }

    static let runs: [PersistedExecutionState] = [
        run(),
        run(startRequestId: nil, cancelRequested: true),
        run(parent: ParentReference(workflowId: "p", runId: "r", initiatedEventId: 5)),
        run(children: [
            9: ChildState(
                workflowId: "c", workflowType: "T", runId: nil, initiatedEventId: 9, startedEventId: nil,
                parentClosePolicy: .terminate)
        ]),
    ]

    static func activity(
        retry: RetryPolicy = RetryPolicy(), failure: Failure? = nil, optionals: Bool = false
    ) -> ActivityState {
        ActivityState(
            scheduledEventId: 12, activityId: "notify-1", activityType: "Notify", taskQueue: "incidents\n",
            input: optionals ? ["alert": "ALERT-001", "n": 2, "x": 1.5, "list": [true, nil]] : nil,
            scheduledTime: Timestamp(milliseconds: 1_764_650_000_123),
            scheduleToCloseTimeoutMs: optionals ? 60_000 : nil, startToCloseTimeoutMs: 10_000,
            heartbeatTimeoutMs: optionals ? 5_000 : nil, retryPolicy: retry, attempt: 3,
            attemptScheduledTime: Timestamp(milliseconds: 1_764_650_001_000),
            nextAttemptTime: optionals ? Timestamp(milliseconds: 1_764_650_002_000) : nil, lastFailure: failure,
            heartbeatDetails: optionals ? .string("half") : nil,
            lastHeartbeatTime: optionals ? Timestamp(milliseconds: 1_764_650_001_500) : nil,
            lastStartedTime: optionals ? Timestamp(milliseconds: 1_764_650_001_100) : nil,
            lastWorkerIdentity: optionals ? "worker-1" : nil, cancelRequestedEventId: optionals ? 20 : nil)
    }

    static let activities: [ActivityState] = [
        activity(),
        activity(optionals: true),
        activity(
            retry: RetryPolicy(
                initialIntervalMs: 500, backoffCoefficient: 1.5, maximumIntervalMs: 30_000, maximumAttempts: 5)),
        activity(retry: RetryPolicy(backoffCoefficient: 2.0)),
        activity(retry: RetryPolicy(nonRetryableErrorTypes: ["Fatal"])),
        activity(retry: RetryPolicy(nonRetryableErrorTypes: [])),
        activity(retry: RetryPolicy(nonRetryableErrorTypes: ["Fatal", #"a "quoted" \ type"#, "ü\n"])),
        activity(retry: RetryPolicy().resolved),
        activity(failure: Failure(message: "boom", type: "Timeout")),
    ]

    @Test("a run's state", arguments: runs)
    func runState(_ state: PersistedExecutionState) throws {
        #expect(try state.canonicalJSON() == MessageCodec.encodeBytes(state))
    }

    @Test("an activity's state", arguments: activities)
    func activityState(_ state: ActivityState) throws {
        #expect(try state.canonicalJSON() == MessageCodec.encodeBytes(state))
    }
}

@Suite("Task tokens")
struct TaskTokenTests {
    @Test("tokens read back what they were made of")
    func roundTrip() {
        let workflow = TaskToken.workflow(runSeq: 12, scheduledEventId: 340, startedEventId: 341)
        #expect(TaskToken.parseWorkflow(workflow)! == (12, 340, 341))
        let large = TaskToken.workflow(runSeq: 999_999_999_999_999_999, scheduledEventId: 0, startedEventId: 7)
        #expect(TaskToken.parseWorkflow(large)! == (999_999_999_999_999_999, 0, 7))
        let ref = ActivityRef(runSeq: 9, scheduledEventId: 77, attempt: 3)
        #expect(TaskToken.parseActivity(TaskToken.activity(ref)) == ref)
    }

    @Test(
        "malformed tokens are refused",
        arguments: [
            "", "wt", "wt.", "wt.1.2", "wt.1.2.3.4", "wt.1..3", "wt.a.2.3", "xt.1.2.3", "wt.1.2.3.", "at.1.2.3",
            "wt.+1.2.3", "wt.-1.2.3", "wt.1.2.1234567890123456789", "wt.1.2.3 ", "wt.1.2.٣", "wx.1.2.3",
        ])
    func malformed(_ token: String) {
        #expect(TaskToken.parseWorkflow(token) == nil)
        if !token.hasPrefix("at") { #expect(TaskToken.parseActivity(token) == nil) }
    }

    @Test("an activity token's attempt must fit 32 bits")
    func attemptRange() {
        #expect(TaskToken.parseActivity("at.1.2.4294967296") == nil)
        #expect(TaskToken.parseActivity("at.1.2.3.4") == nil)
    }
}
