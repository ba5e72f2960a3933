import Foundation
import NIOSSL
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import OrchestratorTransport
import Testing

/// A CA and a server certificate for 127.0.0.1 and localhost, made with the openssl command.
struct TestCertificates {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }
    var otherCA: String { directory.appendingPathComponent("other-ca.pem").path }

    static func make() throws -> TestCertificates {
        let directory = makeTemporaryDirectory(prefix: "tls")
        let script = """
            set -e
            cd '\(directory.path)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=orchestrator 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OrchestratorError(.internal, "openssl could not make test certificates")
        }
        return TestCertificates(directory: directory)
    }
}

@Suite("Security", .serialized)
struct SecurityTests {
    static let tokens = [
        "viewer": "viewer-token-0123456789", "responder": "responder-token-0123456789",
        "operator": "operator-token-0123456789", "worker": "worker-token-0123456789",
    ]

    func withTokenServer(_ body: (TestServer, ServerAddress) async throws -> Void) async throws {
        let table = try TokenTable(
            parsing: Self.tokens.map { "\($0.key) \($0.value)" }.joined(separator: "\n") + "\n# comment\n")
        let server = try await TestServer.start { configuration in
            configuration.listen = [
                .socket(inDataDirectory: configuration.dataDirectory), .tcp(host: "127.0.0.1", port: 0),
            ]
            configuration.tokens = table
        }
        defer { server.remove() }
        do {
            try await body(server, try #require(server.tcpAddress))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func connect(_ address: ServerAddress, _ role: String) async throws -> OrchestratorClient {
        try await OrchestratorClient.connect(to: address, identity: role, token: Self.tokens[role])
    }

    @Test("each role may do its operations only; a denial names the role and the operation")
    func roles() async throws {
        try await withTokenServer { server, tcp in
            let viewer = try await connect(tcp, "viewer")
            #expect(viewer.hello.role == "viewer")
            let denied = await captureError {
                _ = try await viewer.send(StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q"))
            }
            #expect(denied?.code == .permissionDenied)
            #expect(denied?.message.contains("role viewer may not startWorkflow") == true, "\(denied?.message ?? "")")
            #expect(denied?.details?["role"] == "viewer" && denied?.details?["operation"] == "startWorkflow")

            let responder = try await connect(tcp, "responder")
            _ = try await responder.send(StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q"))
            _ = try await responder.send(SignalWorkflowRequest(workflowId: "wf", signalName: "add-alert"))
            #expect(
                await captureError {
                    _ = try await responder.send(TerminateWorkflowRequest(workflowId: "wf", reason: "x"))
                }?
                .code == .permissionDenied)
            #expect(
                await captureError {
                    _ = try await responder.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 0))
                }?
                .code == .permissionDenied)

            #expect(try await viewer.send(DescribeWorkflowRequest(workflowId: "wf")).execution.status == .running)
            #expect(try await viewer.send(ListWorkflowsRequest()).executions.count == 1)
            #expect(try await viewer.send(GetWorkflowHistoryRequest(workflowId: "wf")).events.count == 3)

            let worker = try await connect(tcp, "worker")
            let task = try #require(
                try await worker.send(PollWorkflowTaskRequest(taskQueue: "q", timeoutMs: 5_000)).task)
            _ = try await worker.send(CompleteWorkflowTaskRequest(taskToken: task.taskToken, commands: []))
            #expect(
                await captureError {
                    _ = try await worker.send(SignalWorkflowRequest(workflowId: "wf", signalName: "x"))
                }?
                .code == .permissionDenied)

            let operatorClient = try await connect(tcp, "operator")
            _ = try await operatorClient.send(TerminateWorkflowRequest(workflowId: "wf", reason: "done"))

            // The owner-only Unix socket is an admin.
            let local = try await server.connect()
            #expect(local.hello.role == "admin")
        }
    }

    @Test("the token file: roles, comments, and refusals for short tokens and unknown roles")
    func tokenFile() throws {
        let table = try TokenTable(parsing: "# tokens\nviewer 0123456789abcdef0123\n\nfedcba9876543210fedc\n")
        #expect(table.role(for: "0123456789abcdef0123") == .viewer)
        #expect(table.role(for: "fedcba9876543210fedc") == .admin)
        #expect(table.role(for: "0123456789abcdef012") == nil)
        #expect(throws: ServerStartupError.self) { try TokenTable(parsing: "viewer short") }
        #expect(throws: ServerStartupError.self) { try TokenTable(parsing: "boss 0123456789abcdef0123") }
        #expect(throws: ServerStartupError.self) { try TokenTable(parsing: "\n# nothing\n") }
        let windows = try TokenTable(parsing: "viewer 0123456789abcdef0123\r\noperator fedcba9876543210fedc  # ops\r\n")
        #expect(windows.role(for: "0123456789abcdef0123") == .viewer)
        #expect(windows.role(for: "fedcba9876543210fedc") == .operator)
        #expect(throws: ServerStartupError.self) {
            try TokenTable(parsing: "viewer 0123456789abcdef0123\noperator 0123456789abcdef0123")
        }
    }

    @Test("TLS: a client that trusts the server's CA connects; plain TCP and a wrong CA are refused")
    func tls() async throws {
        let certificates = try TestCertificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let server = try await TestServer.start { configuration in
            configuration.listen = [
                .socket(inDataDirectory: configuration.dataDirectory), .tcp(host: "127.0.0.1", port: 0),
            ]
            configuration.token = "tls-token-0123456789"
            configuration.tls = ServerTLSFiles(
                certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey)
        }
        defer { server.remove() }
        let tcp = try #require(server.tcpAddress)
        let trusted = try OrchestratorTLS.clientContext(trustRootsPath: certificates.caCertificate)
        let client = try await OrchestratorClient.connect(
            to: tcp, identity: "tls", token: "tls-token-0123456789", tls: trusted)
        _ = try await client.send(StartWorkflowRequest(workflowId: "over-tls", workflowType: "T", taskQueue: "q"))
        #expect(try await client.send(DescribeWorkflowRequest(workflowId: "over-tls")).execution.status == .running)
        // By host name too (the certificate names localhost).
        if case .tcp(_, let port) = tcp {
            let named = try await OrchestratorClient.connect(
                to: .tcp(host: "localhost", port: port), identity: "tls-named", token: "tls-token-0123456789",
                tls: trusted)
            #expect(try await named.send(ListWorkflowsRequest()).executions.count == 1)
            await named.close()
        }
        // Without TLS, the handshake cannot even be read.
        await #expect(throws: (any Error).self) {
            let plain = try await OrchestratorClient.connect(
                to: tcp, identity: "plain", token: "tls-token-0123456789", connectTimeout: .seconds(2))
            _ = try await plain.send(ListWorkflowsRequest())
        }
        // A CA that did not sign the server's certificate: the client refuses the server.
        let untrusted = try OrchestratorTLS.clientContext(trustRootsPath: certificates.otherCA)
        await #expect(throws: (any Error).self) {
            _ = try await OrchestratorClient.connect(
                to: tcp, identity: "mistrust", token: "tls-token-0123456789", tls: untrusted)
        }
        await client.close()
        await server.stop()
    }
}

/// The orchestrator error `body` throws, if any.
func captureError(_ body: () async throws -> Void) async -> OrchestratorError? {
    do {
        try await body()
        return nil
    } catch let error as OrchestratorError {
        return error
    } catch {
        return OrchestratorError(.internal, "\(error)")
    }
}
