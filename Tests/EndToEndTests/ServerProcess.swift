import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport

/// An `orchestrator-server` child process on a data directory.
final class ServerProcess: ChildProcess, @unchecked Sendable {
    let dataDirectory: URL

    init(dataDirectory: URL, arguments: [String] = []) throws {
        self.dataDirectory = dataDirectory
        let log = dataDirectory.deletingLastPathComponent()
            .appendingPathComponent("\(dataDirectory.lastPathComponent)-server-\(UUID().uuidString.prefix(4)).log")
        try super.init(
            executable: "orchestrator-server",
            arguments: ["--data-dir", dataDirectory.path, "--log-level", "info"] + arguments, logURL: log)
    }

    var address: ServerAddress { .socket(inDataDirectory: dataDirectory.path) }

    /// Connects, retrying while the server starts.
    func connect(identity: String, timeout: Duration = .seconds(20)) async throws -> OrchestratorClient {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try await OrchestratorClient.connect(to: address, identity: identity)
            } catch {
                if ContinuousClock.now > deadline || !process.isRunning {
                    throw OrchestratorError(.unavailable, "the server did not come up: \(error)\n\(log)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
