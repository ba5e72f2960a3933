import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import OrchestratorTransport
import Testing

@Suite("Bad input on a live server", .serialized)
struct BadInputTests {
    /// A server with a TCP listener (token "s3cret") and a well-behaved client that must keep working.
    func withServer(_ body: (TestServer, OrchestratorClient) async throws -> Void) async throws {
        let server = try await TestServer.start { configuration in
            configuration.listen = [
                .socket(inDataDirectory: configuration.dataDirectory), .tcp(host: "127.0.0.1", port: 0),
            ]
            configuration.token = "s3cret"
            configuration.handshakeTimeoutMs = 1_500
            configuration.maximumRequestsInFlight = 8
        }
        let good = try await server.connect(identity: "good-client")
        do {
            try await body(server, good)
            // After every abuse, the well-behaved client still works.
            let run = try await good.send(
                StartWorkflowRequest(workflowId: "still-fine-\(UUID())", workflowType: "T", taskQueue: "q"))
            #expect(!run.runId.isEmpty)
        } catch {
            await server.stop()
            server.remove()
            throw error
        }
        await server.stop()
        server.remove()
    }

    func expectClosedWith(_ code: ErrorCode, _ raw: RawConnection, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let message = try await raw.nextMessage()
        guard case .error(let id, let error) = message else {
            Issue.record("expected an error frame, got \(String(describing: message))", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        #expect(
            id == 0 || code == .handshakeRequired || code == .unauthenticated || code == .unsupportedVersion,
            sourceLocation: sourceLocation)
        #expect(await raw.waitUntilClosed(), "the server closes the connection", sourceLocation: sourceLocation)
    }

    @Test("a zero-length frame: MALFORMED_FRAME, closed")
    func zeroLength() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            try await raw.send(bytes: [0, 0, 0, 0])
            try await expectClosedWith(.malformedFrame, raw)
        }
    }

    @Test("a 100 MiB length prefix: FRAME_TOO_LARGE at once, nothing buffered, closed")
    func hugeLength() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            try await raw.send(bytes: [0x06, 0x40, 0x00, 0x00, 0x7b])
            try await expectClosedWith(.frameTooLarge, raw)
        }
    }

    @Test("3 bytes, then close: the server drops the connection and carries on")
    func truncatedThenClose() async throws {
        try await withServer { server, good in
            let raw = try await RawConnection.connect(to: server.address)
            try await raw.send(bytes: [0, 0, 0])
            await raw.close()
            #expect(try await good.send(ListWorkflowsRequest()).executions.isEmpty)
        }
    }

    @Test("invalid JSON: MALFORMED_FRAME, closed")
    func invalidJSON() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            try await raw.send(json: "{this is not json")
            try await expectClosedWith(.malformedFrame, raw)
        }
    }

    @Test("invalid UTF-8: MALFORMED_FRAME, closed")
    func invalidUTF8() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            try await raw.send(bytes: Frame.encode(body: [0x7b, 0xff, 0xfe, 0x7d]))
            try await expectClosedWith(.malformedFrame, raw)
        }
    }

    @Test("an unknown operation: UNKNOWN_OPERATION for that request, connection stays open")
    func unknownOperation() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            try await raw.send(json: #"{"id":7,"op":"launchMissiles","body":{}}"#)
            let message = try await raw.nextMessage()
            #expect(
                message.map { if case .error(7, let e) = $0 { e.code == .unknownOperation } else { false } } == true)
            try await raw.send(json: #"{"id":8,"op":"ping","body":{}}"#)
            #expect(try await raw.nextMessage() == .response(id: 8, .ping(Empty())))
        }
    }

    @Test("a field of the wrong type: INVALID_ARGUMENT naming it, connection stays open")
    func wrongFieldType() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            try await raw.send(
                json: #"{"id":9,"op":"startWorkflow","body":{"workflowId":["x"],"workflowType":"T","taskQueue":"q"}}"#)
            guard case .error(9, let error) = try await raw.nextMessage() else {
                Issue.record("expected an error for request 9")
                return
            }
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("workflowId"))
            #expect(raw.isOpen)
        }
    }

    @Test("a request before the handshake: HANDSHAKE_REQUIRED, closed")
    func requestBeforeHandshake() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            try await raw.send(
                json: #"{"id":1,"op":"startWorkflow","body":{"workflowId":"w","workflowType":"T","taskQueue":"q"}}"#)
            try await expectClosedWith(.handshakeRequired, raw)
            let list = try await server.connect().send(ListWorkflowsRequest())
            #expect(list.executions.isEmpty, "nothing was started")
        }
    }

    @Test("silence after connecting: HANDSHAKE_REQUIRED after the handshake timeout, closed")
    func silentConnection() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            try await expectClosedWith(.handshakeRequired, raw)
        }
    }

    @Test("an unsupported protocol version: UNSUPPORTED_VERSION, closed")
    func unsupportedVersion() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            guard case .error(_, let error) = try await raw.hello(version: 99) else {
                Issue.record("expected an error")
                return
            }
            #expect(error.code == .unsupportedVersion)
            #expect(await raw.waitUntilClosed())
        }
    }

    @Test("TCP: a wrong or missing token is UNAUTHENTICATED; the right one works")
    func tcpToken() async throws {
        try await withServer { server, _ in
            let tcp = try #require(server.tcpAddress)
            for token in [nil, "wrong", "s3cre", "s3cret "] as [String?] {
                let raw = try await RawConnection.connect(to: tcp)
                guard case .error(_, let error) = try await raw.hello(token: token) else {
                    Issue.record("expected UNAUTHENTICATED for token \(String(describing: token))")
                    continue
                }
                #expect(error.code == .unauthenticated)
                #expect(await raw.waitUntilClosed())
            }
            do {
                _ = try await OrchestratorClient.connect(to: tcp, identity: "x", token: "nope")
                Issue.record("a wrong token must be refused")
            } catch let error as OrchestratorError {
                #expect(error.code == .unauthenticated)
            }
            let client = try await OrchestratorClient.connect(to: tcp, identity: "tcp-client", token: "s3cret")
            #expect(try await client.send(ListWorkflowsRequest()).executions.isEmpty)
            // The Unix socket needs no token.
            let local = try await OrchestratorClient.connect(to: server.address, identity: "local")
            #expect(try await local.send(ListWorkflowsRequest()).executions.isEmpty)
        }
    }

    @Test("more requests in flight than the limit: RESOURCE_EXHAUSTED for the extra ones only")
    func inFlightLimit() async throws {
        try await withServer { server, _ in
            let raw = try await RawConnection.connect(to: server.address)
            _ = try await raw.hello()
            // 12 long polls; the limit is 8.
            for id in 10..<22 {
                try await raw.send(
                    json: #"{"id":\#(id),"op":"pollActivityTask","body":{"taskQueue":"q","timeoutMs":300}}"#)
            }
            var exhausted = 0
            var empty = 0
            for _ in 0..<12 {
                switch try await raw.nextMessage() {
                case .error(_, let error) where error.code == .resourceExhausted: exhausted += 1
                case .response(_, .pollActivityTask(let response)) where response.task == nil: empty += 1
                default: Issue.record("unexpected answer")
                }
            }
            #expect(exhausted == 4)
            #expect(empty == 8)
        }
    }

    @Test("many abusive connections at once do not disturb a good client")
    func abuseInParallel() async throws {
        try await withServer { server, good in
            let abuses: [[UInt8]] = [
                [0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [0, 0, 0], Frame.encode(body: Array("nope".utf8)),
                Frame.encode(body: Array(#"{"id":1,"op":"x","body":{}}"#.utf8)),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let raw = try await RawConnection.connect(to: server.address)
                        try await raw.send(bytes: abuses[index % abuses.count])
                        _ = await raw.waitUntilClosed(timeout: .seconds(2))
                        await raw.close()
                    }
                }
                for index in 0..<20 {
                    _ = try await good.send(
                        StartWorkflowRequest(workflowId: "good-\(index)", workflowType: "T", taskQueue: "q"))
                }
                try await group.waitForAll()
            }
            #expect(try await good.send(ListWorkflowsRequest(pageSize: 100)).executions.count == 20)
        }
    }
}

@Suite("Server startup")
struct StartupTests {
    @Test("TCP without a token is refused unless --insecure")
    func tcpNeedsToken() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        await #expect(throws: (any Error).self) {
            _ = try await TestServer.start(dataDirectory: directory) { configuration in
                configuration.listen = [.tcp(host: "127.0.0.1", port: 0)]
            }
        }
        let server = try await TestServer.start(dataDirectory: directory) { configuration in
            configuration.listen = [.tcp(host: "127.0.0.1", port: 0)]
            configuration.insecure = true
        }
        await server.stop()
    }

    @Test("a second server on the same data directory is refused")
    func singleServerPerDirectory() async throws {
        let first = try await TestServer.start()
        defer { first.remove() }
        do {
            _ = try await TestServer.start(dataDirectory: first.dataDirectory)
            Issue.record("a second server must not start")
        } catch {
            #expect("\(error)".contains("already running"))
        }
        await first.stop()
    }

    @Test("the socket is owner-only")
    func socketPermissions() async throws {
        let server = try await TestServer.start()
        defer { server.remove() }
        guard case .unix(let path) = server.address else { return }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        await server.stop()
    }
}

@Suite("Connection resets")
struct ResetTests {
    @Test("a connection reset (RST) while holding a task releases it at once, like a clean close")
    func resetReleasesTask() async throws {
        let server = try await TestServer.start { configuration in
            configuration.listen = [.tcp(host: "127.0.0.1", port: 0)]
            configuration.insecure = true
        }
        defer { server.remove() }
        let tcp = try #require(server.tcpAddress)
        let client = try await OrchestratorClient.connect(to: tcp, identity: "client")
        _ = try await client.send(StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q"))
        let raw = try await RawConnection.connect(to: tcp)
        _ = try await raw.hello()
        // Two polls: one takes the task, the other stays in flight, so the reset hits pending requests.
        try await raw.send(json: #"{"id":2,"op":"pollWorkflowTask","body":{"taskQueue":"q","timeoutMs":30000}}"#)
        _ = try await raw.nextMessage()
        try await raw.send(json: #"{"id":3,"op":"pollActivityTask","body":{"taskQueue":"q","timeoutMs":30000}}"#)
        let other = try await OrchestratorClient.connect(to: tcp, identity: "other")
        async let next = other.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 10_000))
        try await Task.sleep(for: .milliseconds(100))
        let resetAt = ContinuousClock.now
        await raw.reset()
        let task = try #require(try await next.task)
        let elapsed = ContinuousClock.now - resetAt
        #expect(elapsed < .seconds(5), "the task came back \(elapsed) after the reset")
        #expect(
            task.events.contains {
                if case .workflowTaskFailed(let a) = $0.attributes { return a.cause == .connectionClosed }
                return false
            })
        await client.close()
        await other.close()
        await server.stop()
    }
}
