import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Where the built executables are: `$ORCHESTRATOR_BIN_DIR`, else next to the test binary.
func binDirectory() -> URL {
    if let dir = ProcessInfo.processInfo.environment["ORCHESTRATOR_BIN_DIR"], !dir.isEmpty {
        return URL(fileURLWithPath: dir)
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // On Linux the test binary is .build/<triple>/debug/<package>PackageTests.xctest.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("orchestrator-server").path),
        directory.path != "/"
    {
        directory = directory.deletingLastPathComponent()
    }
    return directory
}

/// An `orchestrator-server` child process on a data directory.
final class ServerProcess: @unchecked Sendable {
    let dataDirectory: URL
    let process = Process()
    let logURL: URL

    init(dataDirectory: URL, arguments: [String] = []) throws {
        self.dataDirectory = dataDirectory
        logURL = dataDirectory.deletingLastPathComponent().appendingPathComponent(
            "\(dataDirectory.lastPathComponent)-server-\(UUID().uuidString.prefix(4)).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binDirectory().appendingPathComponent("orchestrator-server")
        process.arguments = ["--data-dir", dataDirectory.path, "--log-level", "info"] + arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
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

    /// SIGKILL: no shutdown, no flush.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
}
