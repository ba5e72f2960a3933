import Foundation
import OrchestratorProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// An `incident-worker` child process.
final class WorkerProcess: ChildProcess, @unchecked Sendable {
    init(dataDirectory: URL, name: String, notifyLog: URL) throws {
        try super.init(
            executable: "incident-worker",
            arguments: [
                "--address", "unix://" + dataDirectory.appendingPathComponent("orchestrator.sock").path,
                "--notify-log", notifyLog.path, "--log-level", "info",
            ],
            logURL: dataDirectory.deletingLastPathComponent()
                .appendingPathComponent("\(dataDirectory.lastPathComponent)-\(name).log"))
    }
}

/// Runs `incident-starter` and returns its exit status and output.
@discardableResult
func starter(_ dataDirectory: URL, _ arguments: String...) throws -> (status: Int32, output: String) {
    try runExecutable(
        "incident-starter",
        arguments + ["-address=unix://" + dataDirectory.appendingPathComponent("orchestrator.sock").path])
}

/// One line of the notification log.
struct NotificationLine: Decodable, Hashable {
    var key: String
    var incident: String
    var kind: String
    var level: Int
    var responder: String?
    var at: String

    var time: Timestamp? { Timestamp(iso8601: at) }
}

func readNotifications(_ url: URL) -> [NotificationLine] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
        try? JSONDecoder().decode(NotificationLine.self, from: Data($0.utf8))
    }
}

/// The `-cmd=status -json` object.
struct StatusJSON: Decodable {
    var workflowId: String
    var runId: String
    var service: String
    var status: String
    var alerts: [String]
    var responder: String?
    var escalationLevel: Int
    var openedAt: String?
}

func status(_ dataDirectory: URL, service: String) throws -> StatusJSON? {
    let (code, output) = try starter(dataDirectory, "-cmd=status", "-service=\(service)", "-json")
    guard code == 0 else { return nil }
    return try? JSONDecoder().decode(StatusJSON.self, from: Data(output.utf8))
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(15), _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try condition()
}
