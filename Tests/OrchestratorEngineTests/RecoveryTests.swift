import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import Testing

@Suite("Restart recovery", .serialized)
struct RecoveryTests {
    /// A server on `directory` with run "wf" of queue "q" started and its first task completed with
    /// `commands` by the connection returned as `worker`.
    private func startedRun(in directory: URL, firstTaskCommands commands: [Command]) async throws -> (
        server: TestServer, client: OrchestratorClient, worker: OrchestratorClient
    ) {
        let server = try await TestServer.start(dataDirectory: directory)
        let client = try await server.connect()
        _ = try await client.send(StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q"))
        let worker = try await server.connect(identity: "worker")
        let first = try #require(try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        _ = try await worker.send(CompleteWorkflowTaskRequest(taskToken: first.taskToken, commands: commands))
        return (server, client, worker)
    }
    @Test("after a restart: acknowledged events are kept, tasks re-queued, overdue timers fire")
    func restart() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (server, client, _) = try await startedRun(
            in: directory, firstTaskCommands: [.startTimer(StartTimerCommand(timerId: "t", startToFireTimeoutMs: 300))])
        _ = try await client.send(SignalWorkflowRequest(workflowId: "wf", signalName: "a"))
        let before = try await client.send(GetWorkflowHistoryRequest(workflowId: "wf")).events
        await server.stop()
        // Down for longer than the timer's delay.
        try await Task.sleep(for: .milliseconds(500))
        server = try await TestServer.start(dataDirectory: directory)
        client = try await server.connect()
        let after = try await client.send(GetWorkflowHistoryRequest(workflowId: "wf")).events
        #expect(Array(after.prefix(before.count)) == before, "everything acknowledged before the stop is still there")
        let worker2 = try await server.connect(identity: "worker-2")
        let next = try #require(try await worker2.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        let types = next.events.map(\.eventType)
        #expect(types.filter { $0 == .timerFired }.count == 1)
        #expect(types.contains(.workflowExecutionSignaled))
        await server.stop()
    }

    @Test("a task held by a worker when the server stopped is failed as SERVER_RESTARTED and re-queued")
    func interruptedTask() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var server = try await TestServer.start(dataDirectory: directory)
        let client = try await server.connect()
        _ = try await client.send(StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q"))
        let worker = try await server.connect(identity: "worker")
        _ = try #require(try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        // A signal while the task is held is buffered durably (and persists the started event).
        _ = try await client.send(SignalWorkflowRequest(workflowId: "wf", signalName: "while-held"))
        await server.stop()
        server = try await TestServer.start(dataDirectory: directory)
        let worker2 = try await server.connect(identity: "worker-2")
        let task = try #require(try await worker2.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        let failures = task.events.compactMap { e -> WorkflowTaskFailedAttributes? in
            if case .workflowTaskFailed(let a) = e.attributes { return a }
            return nil
        }
        #expect(failures.map(\.cause) == [.connectionClosed] || failures.map(\.cause) == [.serverRestarted])
        #expect(task.events.contains { $0.eventType == .workflowExecutionSignaled })
        #expect(task.events.map(\.eventId) == Array(1...Int64(task.events.count)))
        await server.stop()
    }

    @Test("a pending task found in the history after a restart keeps its attempt, and a completed one is not re-run")
    func pendingTaskFromHistory() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var server = try await TestServer.start(dataDirectory: directory)
        let client = try await server.connect()
        _ = try await client.send(StartWorkflowRequest(workflowId: "retried", workflowType: "T", taskQueue: "q"))
        _ = try await client.send(StartWorkflowRequest(workflowId: "done", workflowType: "T", taskQueue: "q"))
        let worker = try await server.connect(identity: "worker")
        for _ in 0..<2 {
            let task = try #require(
                try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
            if task.workflowId == "retried" {
                // Attempt 2 is scheduled at once, and stays unstarted until the restart.
                _ = try await worker.send(
                    FailWorkflowTaskRequest(
                        taskToken: task.taskToken, cause: .nonDeterministicError, failure: Failure(message: "bug")))
            } else {
                _ = try await worker.send(CompleteWorkflowTaskRequest(taskToken: task.taskToken, commands: []))
            }
        }
        await server.stop()
        server = try await TestServer.start(dataDirectory: directory)
        let worker2 = try await server.connect(identity: "worker-2")
        let task = try #require(try await worker2.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        #expect(task.workflowId == "retried")
        #expect(task.attempt == 2)
        #expect(task.events.last?.eventType == .workflowTaskStarted)
        #expect(
            try await worker2.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 300)).task == nil,
            "the completed run has no task to hand out again")
        await server.stop()
    }

    @Test("an activity's schedule-to-close deadline, derived from its row, still fires after a restart")
    func activityDeadlineAfterRestart() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (server, _, _) = try await startedRun(
            in: directory,
            firstTaskCommands: [
                .scheduleActivityTask(
                    ScheduleActivityTaskCommand(
                        activityId: "1", activityType: "Nobody", taskQueue: "no-workers",
                        scheduleToCloseTimeoutMs: 600))
            ])
        await server.stop()
        server = try await TestServer.start(dataDirectory: directory)
        let worker2 = try await server.connect(identity: "worker-2")
        let task = try #require(try await worker2.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        let timeouts = task.events.filter { $0.eventType == .activityTaskTimedOut }
        #expect(timeouts.count == 1)
        let client2 = try await server.connect()
        #expect(try await client2.send(DescribeWorkflowRequest(workflowId: "wf")).pendingActivities.isEmpty)
        await server.stop()
    }

    @Test("a timer canceled while its firing waited in the buffer does not fire after a restart")
    func canceledBufferedFiringStaysCanceled() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var (server, client, worker) = try await startedRun(
            in: directory,
            firstTaskCommands: [.startTimer(StartTimerCommand(timerId: "t", startToFireTimeoutMs: 1_500))])
        _ = try await client.send(SignalWorkflowRequest(workflowId: "wf", signalName: "ack"))
        let second = try #require(try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
        for _ in 0..<200 where !(try await client.send(DescribeWorkflowRequest(workflowId: "wf")).pendingTimers.isEmpty)
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        // The firing waits in the buffer. Cancel the timer and stay open, then restart the server.
        _ = try await worker.send(
            CompleteWorkflowTaskRequest(
                taskToken: second.taskToken, commands: [.cancelTimer(CancelTimerCommand(timerId: "t"))]))
        await server.stop()
        server = try await TestServer.start(dataDirectory: directory)
        let again = try await server.connect()
        try await Task.sleep(for: .milliseconds(200))
        let types = try await again.send(GetWorkflowHistoryRequest(workflowId: "wf")).events.map(\.eventType)
        #expect(types.contains(.timerCanceled))
        #expect(!types.contains(.timerFired), "the dropped firing is gone from the database too")
        await server.stop()
    }

    @Test("closing in the same completion that cancels a buffered firing is not UNHANDLED_COMMAND")
    func closeWithCanceledBufferedFiring() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(worker, try #require(try await h.poll(worker)), [.timer("t", 1_500)])
            try await h.signal("wf", "resolve")
            let task = try #require(try await h.poll(worker))
            for _ in 0..<200 where !(try await h.describe("wf").pendingTimers.isEmpty) {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await h.complete(worker, task, [.cancelTimer(CancelTimerCommand(timerId: "t")), .complete("done")])
            let types = try await h.types("wf")
            #expect(types.last == .workflowExecutionCompleted)
            #expect(!types.contains(.workflowTaskFailed))
            #expect(!types.contains(.timerFired))
        }
    }
}
