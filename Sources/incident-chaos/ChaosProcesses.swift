import Foundation
import OrchestratorTransport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The server and the workers of a chaos run, as child processes that can be killed and restarted.
final class ChaosProcesses: @unchecked Sendable {
    let dataDirectory: URL
    let binDirectory: URL
    let notifyLog: URL
    let notifyLatencyMs: Int
    private let lock = NSLock()
    private var server: Process?
    private var workers: [Int: Process] = [:]
    private var serverGeneration = 0

    init(dataDirectory: URL, binDirectory: URL, notifyLatencyMs: Int) {
        self.dataDirectory = dataDirectory
        self.binDirectory = binDirectory
        self.notifyLog = dataDirectory.appendingPathComponent("notifications.jsonl")
        self.notifyLatencyMs = notifyLatencyMs
    }

    var address: ServerAddress { .socket(inDataDirectory: dataDirectory.path) }

    private func launch(_ executable: String, _ arguments: [String], log name: String) throws -> Process {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        let logURL = dataDirectory.appendingPathComponent("\(name).log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func startServer() throws {
        let process = try launch(
            "orchestrator-server", ["--data-dir", dataDirectory.path, "--log-level", "warning"], log: "server")
        lock.withLock {
            server = process
            serverGeneration += 1
        }
    }

    func startWorker(_ slot: Int) throws {
        let process = try launch(
            "incident-worker",
            [
                "--address", address.description, "--notify-log", notifyLog.path, "--log-level", "warning",
                "--notify-latency-ms", String(notifyLatencyMs),
            ], log: "worker-\(slot)")
        lock.withLock { workers[slot] = process }
    }

    /// kill -9 of a worker; returns its pid.
    @discardableResult
    func killWorker(_ slot: Int) -> Int32? {
        guard let process = lock.withLock({ workers.removeValue(forKey: slot) }) else { return nil }
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        process.waitUntilExit()
        return pid
    }

    func killServer() {
        guard
            let process = lock.withLock({ () -> Process? in
                defer { server = nil }
                return server
            })
        else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The slot of the worker with this pid, if it runs.
    func slot(ofPid pid: Int32) -> Int? {
        lock.withLock { workers.first { $0.value.processIdentifier == pid && $0.value.isRunning }?.key }
    }

    var runningWorkerSlots: [Int] { lock.withLock { workers.filter { $0.value.isRunning }.map(\.key).sorted() } }

    var isServerRunning: Bool { lock.withLock { server?.isRunning ?? false } }

    /// Stops everything with SIGTERM.
    func stopAll() {
        let all = lock.withLock { Array(workers.values) + (server.map { [$0] } ?? []) }
        for process in all where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        lock.withLock {
            workers.removeAll()
            server = nil
        }
    }
}
