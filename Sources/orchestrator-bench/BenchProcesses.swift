import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport

#if canImport(Glibc)
    import Glibc
#endif

/// A server and workers started by a benchmark in a temporary directory.
final class BenchStack: @unchecked Sendable {
    let directory: URL
    let binDirectory: URL
    let synchronous: String
    private(set) var server: Process?
    var workers: [Process] = []

    init(binDirectory: URL, synchronous: String, directory: URL? = nil) throws {
        self.binDirectory = binDirectory
        self.synchronous = synchronous
        self.directory = directory ?? URL(fileURLWithPath: "/tmp/bench-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    var address: ServerAddress { .socket(inDataDirectory: directory.path) }

    private func launch(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        let url = directory.appendingPathComponent(log)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// `logLevel` info logs the engine's statistics when the server stops (`EngineStatistics`,
    /// with where workflow tasks and queries spend their time).
    func startServer(logLevel: String = "warning") throws {
        server = try launch(
            "orchestrator-server",
            ["--data-dir", directory.path, "--log-level", logLevel, "--synchronous", synchronous],
            log: "server.log")
    }

    /// `workflowPollers` nil: the worker's default.
    func startWorker(concurrency: Int = 32, workflowPollers: Int? = nil) throws {
        workers.append(
            try launch(
                "incident-worker",
                [
                    "--address", address.description, "--notify-log",
                    directory.appendingPathComponent("notifications.jsonl").path, "--log-level", "warning",
                    "--concurrency", String(concurrency),
                ] + (workflowPollers.map { ["--workflow-pollers", String($0)] } ?? []),
                log: "worker-\(workers.count).log"))
    }

    /// Connects, retrying while the server starts; returns how long it took.
    func connect(identity: String, timeout: Duration = .seconds(60)) async throws -> OrchestratorClient {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                let client = try await OrchestratorClient.connect(to: address, identity: identity)
                _ = try await client.send(.ping(Empty()))
                return client
            } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// The server's peak resident set size (VmHWM), in MiB.
    var serverPeakRSSMiB: Double? {
        guard let pid = server?.processIdentifier else { return nil }
        return Self.statusField("VmHWM", pid: pid)
    }

    /// The server's current resident set size, in MiB.
    var serverRSSMiB: Double? {
        guard let pid = server?.processIdentifier else { return nil }
        return Self.statusField("VmRSS", pid: pid)
    }

    /// A field of /proc/<pid>/status given in kB, in MiB.
    static func statusField(_ field: String, pid: Int32) -> Double? {
        procField(field, file: "status", pid: pid).map { ($0 / 1024 * 10).rounded() / 10 }
    }

    /// The number after `field:` in /proc/<pid>/<file>.
    static func procField(_ field: String, file: String, pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap {
                Double($0)
            }
        }
        return nil
    }

    /// CPU time (user + system) a process has used so far, in milliseconds, from /proc/<pid>/stat.
    static func cpuMilliseconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = text.range(of: ") ", options: .backwards)
        else { return nil }
        // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = text[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The machine's CPU time so far by kind, in clock ticks summed over its CPUs (the first line of
    /// /proc/stat). `steal` is time a virtual CPU was ready to run but its hypervisor ran something
    /// else: on a shared machine it is the CPU the run did not get.
    static func machineCPUTicks() -> MachineCPU? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        // user nice system idle iowait irq softirq steal (guest time is already inside user).
        guard ticks.count >= 8 else { return nil }
        return MachineCPU(
            busy: ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], idle: ticks[3] + ticks[4], steal: ticks[7])
    }

    /// The bytes the server has asked the kernel to write to storage so far (`write_bytes` of
    /// /proc/<pid>/io: the WAL and checkpoints into the database file, not socket writes).
    var serverStorageWriteBytes: Double {
        server.flatMap { Self.procField("write_bytes", file: "io", pid: $0.processIdentifier) } ?? 0
    }

    /// The allocator the server's process runs on, from its memory map: "jemalloc" when the
    /// release build linked it (`Scripts/bench` does on Linux), else "glibc".
    var serverMalloc: String? {
        guard let pid = server?.processIdentifier,
            let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        else { return nil }
        return maps.contains("libjemalloc") ? "jemalloc" : "glibc"
    }

    /// CPU milliseconds used so far by the server and by all workers together.
    var cpuMilliseconds: (server: Double, workers: Double) {
        let server = self.server.flatMap { Self.cpuMilliseconds(pid: $0.processIdentifier) } ?? 0
        let workers = self.workers.reduce(0.0) { $0 + (Self.cpuMilliseconds(pid: $1.processIdentifier) ?? 0) }
        return (server, workers)
    }

    func killServer() {
        if let server { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        server = nil
    }

    func stopServer() {
        if let server, server.isRunning { server.terminate(); server.waitUntilExit() }
        server = nil
    }

    func killWorker(_ index: Int) {
        guard index < workers.count else { return }
        kill(workers[index].processIdentifier, SIGKILL)
        workers[index].waitUntilExit()
    }

    func stop(removeData: Bool = true) {
        for worker in workers where worker.isRunning {
            worker.terminate()
            worker.waitUntilExit()
        }
        stopServer()
        if removeData { try? FileManager.default.removeItem(at: directory) }
    }

    /// Bytes of the database files.
    var databaseBytes: Int {
        ["orchestrator.sqlite", "orchestrator.sqlite-wal"].reduce(0) { total, name in
            let path = directory.appendingPathComponent(name).path
            return total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
    }
}

/// Milliseconds in a duration.
func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// p50/p99 of sorted samples, rounded to 0.01 ms.
func percentiles(_ samples: [Double]) -> (p50: Double, p99: Double) {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return (0, 0) }
    func at(_ p: Double) -> Double {
        (sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 100).rounded() / 100
    }
    return (at(0.5), at(0.99))
}

/// The directory of this executable (where the other products are).
func ownBinDirectory() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
}

/// The machine's CPU time by kind (see `BenchStack.machineCPUTicks`).
struct MachineCPU {
    var busy: Double
    var idle: Double
    var steal: Double

    /// Shares of the time between `earlier` and this reading, in per cent rounded to 0.1.
    func shares(since earlier: MachineCPU) -> (busy: Double, idle: Double, steal: Double) {
        let (busy, idle, steal) = (self.busy - earlier.busy, self.idle - earlier.idle, self.steal - earlier.steal)
        let total = max(1, busy + idle + steal)
        func percent(_ value: Double) -> Double { (value / total * 1000).rounded() / 10 }
        return (percent(busy), percent(idle), percent(steal))
    }
}
