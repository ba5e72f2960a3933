import Foundation
import Logging
import OrchestratorClient
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTransport

/// An orchestrator server running in this process on a temporary data directory, for tests.
///
/// ```swift
/// let server = try await TestServer.start()
/// let client = try await server.connect()
/// defer { Task { await server.stop() } }
/// ```
public final class TestServer: Sendable {
    public let dataDirectory: URL
    public let server: OrchestratorServer
    public let addresses: [ServerAddress]
    private let task: Task<Void, any Error>
    private let ownsDirectory: Bool

    /// Starts a server; `configure` may change its configuration (TCP listeners, timeouts…).
    public static func start(
        dataDirectory: URL? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = dataDirectory ?? makeTemporaryDirectory()
        var configuration = ServerConfiguration(dataDirectory: directory.path)
        configuration.engine.longPollSweepIntervalMs = 20
        configure(&configuration)
        let server = OrchestratorServer(configuration: configuration, logger: testLogger("server"))
        let task = Task { try await server.run() }
        let addresses = try await server.waitUntilListening()
        return TestServer(
            dataDirectory: directory, server: server, addresses: addresses, task: task,
            ownsDirectory: dataDirectory == nil)
    }

    private init(
        dataDirectory: URL, server: OrchestratorServer, addresses: [ServerAddress], task: Task<Void, any Error>,
        ownsDirectory: Bool
    ) {
        self.dataDirectory = dataDirectory
        self.server = server
        self.addresses = addresses
        self.task = task
        self.ownsDirectory = ownsDirectory
    }

    /// The Unix socket address.
    public var address: ServerAddress { addresses.first { !$0.isTCP } ?? addresses[0] }

    /// The first TCP address, if the server listens on TCP.
    public var tcpAddress: ServerAddress? { addresses.first { $0.isTCP } }

    public var engine: Engine {
        get throws {
            guard let engine = server.engine else { throw OrchestratorError(.internal, "the engine is not started") }
            return engine
        }
    }

    /// Connects a client (or a fake worker) to the Unix socket.
    public func connect(identity: String = "test-client", token: String? = nil) async throws -> OrchestratorClient {
        try await OrchestratorClient.connect(to: address, identity: identity, token: token)
    }

    /// Stops the server and waits for it; the data directory stays (for restarts) until `remove()`.
    public func stop() async {
        server.stop(reason: "test finished")
        _ = try? await task.value
    }

    /// Deletes the data directory.
    public func remove() {
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

/// A fresh directory under the system's temporary directory (kept short: Unix socket paths are limited).
public func makeTemporaryDirectory(prefix: String = "orch") -> URL {
    let base = URL(fileURLWithPath: "/tmp")
    let url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A logger that prints only warnings and worse, unless ORCHESTRATOR_TEST_LOG names a level.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["ORCHESTRATOR_TEST_LOG"].flatMap(Logger.Level.init(rawValue:))
    logger.logLevel = level ?? .error
    return logger
}
