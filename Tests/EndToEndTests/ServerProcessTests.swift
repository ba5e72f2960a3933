import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import OrchestratorTransport
import Testing

func elapsedMs(_ start: ContinuousClock.Instant) -> Int64 {
    let d = ContinuousClock.now - start
    return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
}

@Suite("Server process", .serialized)
struct ServerProcessTests {
    @Test("leases, kill -9 of the server, restart: nothing acknowledged is lost, an overdue timer fires")
    func killAndRestart() async throws {
        let directory = makeTemporaryDirectory(prefix: "e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        var server = try ServerProcess(dataDirectory: directory)
        defer { server.terminate() }

        // A client starts and signals a workflow.
        let client = try await server.connect(identity: "client")
        let run = try await client.send(
            StartWorkflowRequest(
                workflowId: "incident-payment-api", workflowType: "IncidentWorkflow", taskQueue: "incident-task-queue",
                requestId: "start-1"))
        _ = try await client.send(
            SignalWorkflowRequest(
                workflowId: "incident-payment-api", signalName: "add-alert", input: ["alertID": "ALERT-001"],
                requestId: "sig-1"))

        // A worker on another connection polls and completes with StartTimer.
        let workerA = try await server.connect(identity: "worker-a")
        let first = try #require(
            try await workerA.send(PollWorkflowTaskRequest(taskQueue: "incident-task-queue", timeoutMs: 5_000)).task)
        #expect(
            first.events.contains { $0.eventType == .workflowExecutionSignaled },
            "\(first.events.map { "\($0.eventId):\($0.eventType.rawValue)" }) prev=\(first.previousStartedEventId) started=\(first.startedEventId)"
        )
        _ = try await workerA.send(
            CompleteWorkflowTaskRequest(
                taskToken: first.taskToken,
                commands: [.startTimer(StartTimerCommand(timerId: "escalation", startToFireTimeoutMs: 60_000))]))

        // A signal makes a new task; worker A takes it and its connection closes while it holds it.
        _ = try await client.send(
            SignalWorkflowRequest(
                workflowId: "incident-payment-api", signalName: "add-alert", input: ["alertID": "ALERT-002"],
                requestId: "sig-2"))
        let held = try #require(
            try await workerA.send(PollWorkflowTaskRequest(taskQueue: "incident-task-queue", timeoutMs: 5_000)).task)
        let workerB = try await server.connect(identity: "worker-b")
        async let handedOver = workerB.send(
            PollWorkflowTaskRequest(taskQueue: "incident-task-queue", timeoutMs: 10_000))
        try await Task.sleep(for: .milliseconds(100))
        let closedAt = ContinuousClock.now
        await workerA.close()
        let second = try #require(try await handedOver.task)
        let handoverMs = elapsedMs(closedAt)
        #expect(handoverMs < 3_000, "the task reached worker B \(handoverMs) ms after worker A's connection closed")
        #expect(second.runId == held.runId)
        #expect(second.events.first?.eventId == 1, "worker B gets the whole history")
        #expect(
            second.events.contains {
                if case .workflowTaskFailed(let a) = $0.attributes { return a.cause == .connectionClosed }
                return false
            })
        print("handover after connection close: \(handoverMs) ms")

        // Worker B completes with a short timer, then the server is killed before it fires.
        _ = try await workerB.send(
            CompleteWorkflowTaskRequest(
                taskToken: second.taskToken,
                commands: [.startTimer(StartTimerCommand(timerId: "short", startToFireTimeoutMs: 700))]))
        _ = try await client.send(
            SignalWorkflowRequest(
                workflowId: "incident-payment-api", signalName: "ack", input: ["responder": "alice"], requestId: "sig-3"
            ))
        let acknowledged = try await client.send(GetWorkflowHistoryRequest(workflowId: "incident-payment-api")).events
        server.kill9()
        await client.close()
        await workerB.close()
        try await Task.sleep(for: .milliseconds(1_000))

        server = try ServerProcess(dataDirectory: directory)
        let client2 = try await server.connect(identity: "client-2")
        let recovered = try await client2.send(GetWorkflowHistoryRequest(workflowId: "incident-payment-api")).events
        #expect(
            Array(recovered.prefix(acknowledged.count)) == acknowledged, "every acknowledged event survived kill -9")
        // Retried requests with the same ids change nothing.
        let retried = try await client2.send(
            StartWorkflowRequest(
                workflowId: "incident-payment-api", workflowType: "IncidentWorkflow", taskQueue: "incident-task-queue",
                requestId: "start-1"))
        #expect(retried.runId == run.runId)
        _ = try await client2.send(
            SignalWorkflowRequest(
                workflowId: "incident-payment-api", signalName: "ack", input: ["responder": "alice"], requestId: "sig-3"
            ))

        // The overdue timer fires on restart, once.
        let workerC = try await server.connect(identity: "worker-c")
        var firedCount = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while firedCount == 0 && ContinuousClock.now < deadline {
            guard
                let task = try await workerC.send(
                    PollWorkflowTaskRequest(taskQueue: "incident-task-queue", timeoutMs: 2_000)
                ).task
            else { continue }
            firedCount =
                task.events.filter {
                    if case .timerFired(let a) = $0.attributes { return a.timerId == "short" }
                    return false
                }.count
            _ = try await workerC.send(CompleteWorkflowTaskRequest(taskToken: task.taskToken, commands: []))
        }
        #expect(firedCount == 1)
        let final = try await client2.send(GetWorkflowHistoryRequest(workflowId: "incident-payment-api")).events
        #expect(
            final.filter { $0.eventType == .workflowExecutionSignaled }.count == 3, "each signal once, retries included"
        )
        #expect(final.filter { $0.eventType == .timerFired }.count == 1)
        #expect(final.map(\.eventId) == Array(1...Int64(final.count)), "event ids have no gaps")
        await client2.close()
        await workerC.close()
        server.terminate()
    }

    @Test("the admin CLI shows history as JSON with Temporal event names")
    func adminCLI() async throws {
        let directory = makeTemporaryDirectory(prefix: "e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServerProcess(dataDirectory: directory)
        defer { server.terminate() }
        _ = try await server.connect(identity: "probe")
        let address = server.address.description
        func cli(_ arguments: [String]) throws -> (Int32, String) {
            try runExecutable("orchestrator", arguments + ["--address", address])
        }
        #expect(
            try cli(["workflow", "start", "--type", "T", "--task-queue", "q", "-w", "cli-wf", "--input", #"{"a":1}"#]).0
                == 0)
        #expect(
            try cli(["workflow", "signal", "-w", "cli-wf", "--name", "add-alert", "--input", #"{"alertID":"A"}"#]).0
                == 0)
        let (status, output) = try cli(["workflow", "show", "-w", "cli-wf", "--output", "json"])
        #expect(status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let events = try #require(json?["events"] as? [[String: Any]])
        #expect(
            events.compactMap { $0["eventType"] as? String } == [
                "WorkflowExecutionStarted", "WorkflowTaskScheduled", "WorkflowExecutionSignaled",
            ])
        #expect(events.allSatisfy { $0["eventId"] is Int && $0["eventTime"] is String })
        let (missingStatus, missingOutput) = try cli(["workflow", "describe", "-w", "nope"])
        #expect(missingStatus != 0)
        #expect(missingOutput.contains("not found"))
        let (badStatus, badOutput) = try cli(["workflow", "signal", "-w", "cli-wf", "--name", "x", "--input", "{oops"])
        #expect(badStatus != 0)
        #expect(badOutput.contains("not valid JSON"))
        #expect(try cli(["workflow", "terminate", "-w", "cli-wf", "--reason", "test"]).0 == 0)
        let (describeStatus, describeOutput) = try cli(["workflow", "describe", "-w", "cli-wf", "-o", "json"])
        #expect(describeStatus == 0)
        #expect(describeOutput.contains("TERMINATED"))
    }
}

@Suite("Server process security", .serialized)
struct ServerProcessSecurityTests {
    @Test("tokens never appear in the server's log, even at debug level; TCP without tokens needs --insecure")
    func tokensNotLogged() async throws {
        let directory = makeTemporaryDirectory(prefix: "sec")
        defer { try? FileManager.default.removeItem(at: directory) }
        // TCP without a token file: refused at start, with the reason.
        let refused = try runExecutable(
            "orchestrator-server", ["--data-dir", directory.path, "--listen", "tcp://127.0.0.1:0"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("--insecure") && refused.output.contains("--token-file"))

        let secret = "operator-secret-\(UUID().uuidString)"
        let wrong = "not-the-secret-\(UUID().uuidString)"
        let tokenFile = directory.appendingPathComponent("tokens.txt")
        try "operator \(secret)\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let port = Int.random(in: 20_000...40_000)
        let server = try ServerProcess(
            dataDirectory: directory.appendingPathComponent("data"),
            arguments: ["--listen", "tcp://127.0.0.1:\(port)", "--token-file", tokenFile.path, "--log-level", "debug"])
        defer { server.terminate() }
        _ = try await server.connect(identity: "probe")
        let address = ServerAddress.tcp(host: "127.0.0.1", port: port)
        await #expect(throws: OrchestratorError.self) {
            _ = try await OrchestratorClient.connect(to: address, identity: "intruder", token: wrong)
        }
        let client = try await OrchestratorClient.connect(to: address, identity: "operator", token: secret)
        #expect(client.hello.role == "operator")
        _ = try await client.send(ListWorkflowsRequest())
        await client.close()
        server.terminate()
        let log = server.log
        #expect(log.contains("handshake refused"), "the refusal is logged")
        #expect(!log.contains(secret), "the accepted token is not in the log")
        #expect(!log.contains(wrong), "the refused token is not in the log")
    }
}
