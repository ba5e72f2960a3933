import Foundation
import Incidents
import Logging
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import Synchronization
import Testing
import WorkerRuntime
import Workflows

@Suite("Abuse while a good client works", .serialized)
struct AbuseTests {
    /// One kind of bad input: the bytes, whether to say hello first, and what the server must answer.
    struct Abuse: Sendable {
        enum Expectation: Sendable {
            case error(ErrorCode, closes: Bool)
            case closed
            case answers(Int)  // at least this many frames, connection open
        }
        var name: String
        var hello: Bool
        var bytes: [UInt8]
        var expect: Expectation
    }

    static func frame(_ json: String) -> [UInt8] { Frame.encode(body: Array(json.utf8)) }

    static let abuses: [Abuse] = {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let huge = String(repeating: "x", count: 3_000_000)
        var flood: [UInt8] = []
        for id in 10..<110 {
            flood += frame(#"{"id":\#(id),"op":"pollActivityTask","body":{"taskQueue":"nobody","timeoutMs":2000}}"#)
        }
        return [
            Abuse(name: "truncated length", hello: false, bytes: [0, 0], expect: .closed),
            Abuse(
                name: "huge length", hello: false, bytes: [0xff, 0xff, 0xff, 0xff],
                expect: .error(.frameTooLarge, closes: true)),
            Abuse(
                name: "zero length", hello: true, bytes: [0, 0, 0, 0], expect: .error(.malformedFrame, closes: true)),
            Abuse(
                name: "invalid UTF-8", hello: true, bytes: Frame.encode(body: [0x7b, 0xc3, 0x28, 0x7d]),
                expect: .error(.malformedFrame, closes: true)),
            Abuse(
                name: "deep nesting", hello: true, bytes: frame(#"{"id":2,"op":"ping","body":"# + deep + "}"),
                expect: .error(.malformedFrame, closes: true)),
            Abuse(
                name: "huge string", hello: true,
                bytes: frame(
                    #"{"id":2,"op":"signalWorkflow","body":{"workflowId":"nobody","signalName":"x","input":""# + huge
                        + #""}}"#),
                expect: .error(.notFound, closes: false)),
            Abuse(
                name: "wrong types", hello: true,
                bytes: frame(
                    #"{"id":2,"op":"startWorkflow","body":{"workflowId":1,"workflowType":[],"taskQueue":{}}}"#),
                expect: .error(.invalidArgument, closes: false)),
            Abuse(
                name: "unknown operation", hello: true, bytes: frame(#"{"id":2,"op":"dropAllTables","body":{}}"#),
                expect: .error(.unknownOperation, closes: false)),
            Abuse(
                name: "request before the handshake", hello: false,
                bytes: frame(#"{"id":1,"op":"terminateWorkflow","body":{"workflowId":"incident-svc-0","reason":"x"}}"#),
                expect: .error(.handshakeRequired, closes: true)),
            Abuse(name: "flood beyond the in-flight limit", hello: true, bytes: flood, expect: .answers(36)),
            Abuse(name: "silence", hello: false, bytes: [], expect: .error(.handshakeRequired, closes: true)),
            Abuse(
                name: "garbage", hello: false, bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) },
                expect: .closed),
        ]
    }()

    @Test("many connections send bad input; a well-behaved client starts and resolves incidents undisturbed")
    func abuseWhileWorking() async throws {
        let server = try await TestServer.start { configuration in
            configuration.handshakeTimeoutMs = 3_000
            configuration.maximumRequestsInFlight = 64
        }
        defer { server.remove() }
        var logger = Logger(label: "abuse-worker")
        logger.logLevel = .critical
        let sink = try FileNotificationSink(
            path: server.dataDirectory.appendingPathComponent("notifications.jsonl").path)
        var registry = WorkerRegistry()
        registry.register(IncidentWorkflow.self)
        registry.register(NotifyIncident.self) { notification, context in
            try await IncidentActivities(sink: sink).notify(notification, idempotencyKey: context.idempotencyKey)
        }
        let worker = Worker(
            options: WorkerOptions(address: server.address, identity: "worker", taskQueue: IncidentWorkflow.taskQueue),
            registry: registry, logger: logger)
        let running = Task { try await worker.run() }
        await worker.waitUntilConnected()

        let good = try await server.connect(identity: "good-client")
        let worst = Mutex<Duration>(.zero)
        func timed<T>(_ body: () async throws -> T) async throws -> T {
            let start = ContinuousClock.now
            defer { worst.withLock { $0 = max($0, ContinuousClock.now - start) } }
            return try await body()
        }
        let incidents = 20
        let goodWork = Task {
            for index in 0..<incidents {
                let id = "incident-svc-\(index)"
                _ = try await timed {
                    try await good.send(
                        StartWorkflowRequest(
                            workflowId: id, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                            input: try PayloadCoding.encode(IncidentWorkflow.Input(service: "svc-\(index)")),
                            requestId: "start-\(index)"))
                }
                for (signal, input) in [
                    ("add-alert", try PayloadCoding.encode(AddAlert(alertID: "A-\(index)"))),
                    ("ack", try PayloadCoding.encode(ResponderAction(responder: "alice"))),
                    ("resolve", try PayloadCoding.encode(ResponderAction(responder: "alice"))),
                ] {
                    _ = try await timed {
                        try await good.send(
                            SignalWorkflowRequest(
                                workflowId: id, signalName: signal, input: input, requestId: "\(signal)-\(index)"))
                    }
                }
                let result = try await good.send(AwaitWorkflowResultRequest(workflowId: id, timeoutMs: 20_000))
                let state = try PayloadCoding.decode(IncidentState.self, from: result.result)
                #expect(state.status == .resolved && state.alerts == ["A-\(index)"])
            }
        }

        let outcomes = try await withThrowingTaskGroup(of: (String, String?).self) { group in
            for round in 0..<5 {
                for abuse in Self.abuses {
                    group.addTask {
                        let raw = try await RawConnection.connect(to: server.address)
                        // The server may close before the bytes are out (a refusal, the handshake timeout):
                        // what it answered is what the check looks at.
                        if abuse.hello { _ = try? await raw.hello() }
                        if !abuse.bytes.isEmpty { try? await raw.send(bytes: abuse.bytes) }
                        let problem = await Self.check(abuse, raw)
                        await raw.close()
                        return ("\(abuse.name) #\(round)", problem)
                    }
                }
            }
            var all: [(String, String?)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        for (name, problem) in outcomes where problem != nil {
            Issue.record("\(name): \(problem ?? "")")
        }
        try await goodWork.value
        let slowest = worst.withLock { $0 }
        print(
            "good client: \(incidents) incidents resolved during \(outcomes.count) abusive connections; slowest request \(slowest)"
        )
        #expect(slowest < .seconds(2), "a good request waited \(slowest)")
        worker.shutdown()
        _ = try? await running.value
        await good.close()
        await server.stop()
    }

    /// What is wrong with the server's answer to `abuse`, or nil.
    static func check(_ abuse: Abuse, _ raw: RawConnection) async -> String? {
        switch abuse.expect {
        case .closed:
            return await raw.waitUntilClosed() ? nil : "the connection stayed open"
        case .error(let code, let closes):
            guard let message = try? await raw.nextMessage() else { return "no answer" }
            guard case .error(_, let error) = message, error.code == code else { return "answered \(message)" }
            if closes { return await raw.waitUntilClosed() ? nil : "the connection stayed open" }
            return raw.isOpen ? nil : "the connection was closed"
        case .answers(let minimumExhausted):
            var exhausted = 0
            for _ in 0..<100 {
                guard let message = try? await raw.nextMessage(timeout: .seconds(10)) else { return "answers stopped" }
                if case .error(_, let error) = message, error.code == .resourceExhausted { exhausted += 1 }
            }
            return exhausted >= minimumExhausted ? nil : "only \(exhausted) RESOURCE_EXHAUSTED answers"
        }
    }
}
