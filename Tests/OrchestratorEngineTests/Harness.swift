import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import Testing

/// An in-process server, a client, and helpers to act as a worker.
struct Harness {
    let server: TestServer
    let client: OrchestratorClient

    /// Runs `body` against a fresh server and stops it afterwards.
    static func with(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (Harness) async throws -> Void
    ) async throws {
        let server = try await TestServer.start(configure: configure)
        let client = try await server.connect(identity: "test-client")
        let harness = Harness(server: server, client: client)
        do {
            try await body(harness)
        } catch {
            await client.close()
            await server.stop()
            server.remove()
            throw error
        }
        await client.close()
        await server.stop()
        server.remove()
    }

    func worker(_ name: String = "worker") async throws -> OrchestratorClient {
        try await server.connect(identity: name)
    }

    @discardableResult
    func start(
        _ workflowId: String, type: String = "TestWorkflow", queue: String = "q", input: JSONValue? = nil,
        requestId: String? = nil, reuse: WorkflowIdReusePolicy? = nil, conflict: WorkflowIdConflictPolicy? = nil
    ) async throws -> StartWorkflowResponse {
        try await client.send(
            StartWorkflowRequest(
                workflowId: workflowId, workflowType: type, taskQueue: queue, input: input, requestId: requestId,
                workflowIdReusePolicy: reuse, workflowIdConflictPolicy: conflict))
    }

    func signal(_ workflowId: String, _ name: String, _ input: JSONValue? = nil, requestId: String? = nil) async throws
    {
        _ = try await client.send(
            SignalWorkflowRequest(workflowId: workflowId, signalName: name, input: input, requestId: requestId))
    }

    func poll(_ worker: OrchestratorClient, queue: String = "q", timeoutMs: Int64 = 5_000) async throws -> WorkflowTask?
    {
        try await worker.send(PollWorkflowTaskRequest(taskQueue: queue, timeoutMs: timeoutMs)).task
    }

    func pollActivity(_ worker: OrchestratorClient, queue: String = "q", timeoutMs: Int64 = 5_000) async throws
        -> ActivityTask?
    {
        try await worker.send(PollActivityTaskRequest(taskQueue: queue, timeoutMs: timeoutMs)).task
    }

    func complete(_ worker: OrchestratorClient, _ task: WorkflowTask, _ commands: [Command] = []) async throws {
        _ = try await worker.send(CompleteWorkflowTaskRequest(taskToken: task.taskToken, commands: commands))
    }

    func history(_ workflowId: String, runId: String? = nil) async throws -> [HistoryEvent] {
        try await client.send(GetWorkflowHistoryRequest(workflowId: workflowId, runId: runId)).events
    }

    func types(_ workflowId: String) async throws -> [EventType] {
        try await history(workflowId).map(\.eventType)
    }

    func describe(_ workflowId: String) async throws -> DescribeWorkflowResponse {
        try await client.send(DescribeWorkflowRequest(workflowId: workflowId))
    }
}

/// Milliseconds elapsed since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
    let elapsed = ContinuousClock.now - start
    return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
}

extension Command {
    static func timer(_ id: String, _ ms: Int64) -> Command {
        .startTimer(StartTimerCommand(timerId: id, startToFireTimeoutMs: ms))
    }
    static func complete(_ result: JSONValue? = nil) -> Command {
        .completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: result))
    }
    static func activity(
        _ id: String, type: String = "Notify", input: JSONValue? = nil, retry: RetryPolicy? = nil,
        startToCloseMs: Int64 = 10_000
    ) -> Command {
        .scheduleActivityTask(
            ScheduleActivityTaskCommand(
                activityId: id, activityType: type, input: input, startToCloseTimeoutMs: startToCloseMs,
                retryPolicy: retry))
    }
}

/// Expects `body` to throw an ``OrchestratorError`` with `code`; returns it.
@discardableResult
func expectError(
    _ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> OrchestratorError? {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as OrchestratorError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
