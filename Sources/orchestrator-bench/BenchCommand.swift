import ArgumentParser
import Foundation
import Logging
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorStore

/// `orchestrator-bench`: measurements that print figures. Not a test.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orchestrator-bench",
        abstract: "Measure the orchestrator; prints one JSON object per run.",
        subcommands: [
            IncidentBench.self, LatenessBench.self, ScaleBench.self, LongHistoryBench.self, StoreBench.self,
            CodecBench.self,
        ],
        defaultSubcommand: IncidentBench.self)
}

/// A connection that is never pushed to (signals only).
final class BenchConnection: EngineConnection {
    let connectionId: UInt64 = 1
    let identity = "bench"
    func push(_ push: Push) {}
}

/// Durable signals through the engine and the SQLite store, without sockets: how many commits and
/// events per second group commit reaches, against one commit at a time.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Commit rate of the engine's group commit on SQLite (signals acknowledged after fsync).")

    @Option(help: "Signals to send in all.") var requests = 20_000
    @Option(help: "Signals in flight at once (1 = one commit at a time).") var concurrency = 64
    @Option(help: "Workflows the signals are spread over.") var workflows = 100
    @Option(help: "full, normal or off.") var synchronous = "full"
    @Option(help: "Directory for the database (default: a new one under /tmp, removed after).") var directory: String?

    func run() async throws {
        guard let durability = SQLiteStore.Durability(rawValue: synchronous) else {
            throw ValidationError("--synchronous must be full, normal or off")
        }
        let path = directory ?? "/tmp/orch-bench-\(UUID().uuidString.prefix(8))"
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: path) } }
        let store = try SQLiteStore(directory: URL(fileURLWithPath: path), durability: durability)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let engine = Engine(store: store, logger: logger)
        try await engine.start()
        let connection = BenchConnection()
        await engine.connectionOpened(connection)
        for index in 0..<workflows {
            _ = await engine.handle(
                .startWorkflow(StartWorkflowRequest(workflowId: "bench-\(index)", workflowType: "T", taskQueue: "q")),
                from: connection)
        }
        let before = await engine.statistics
        let perWorker = requests / concurrency
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    latencies.reserveCapacity(perWorker)
                    for index in 0..<perWorker {
                        let t0 = ContinuousClock.now
                        let result = await engine.handle(
                            .signalWorkflow(
                                SignalWorkflowRequest(
                                    workflowId: "bench-\((worker * perWorker + index) % workflows)", signalName: "s",
                                    input: ["n": .int(Int64(index))], requestId: "r-\(worker)-\(index)")),
                            from: connection)
                        if case .failure(let error) = result { throw error }
                        latencies.append(Self.milliseconds(ContinuousClock.now - t0))
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let seconds = Self.milliseconds(ContinuousClock.now - started) / 1000
        let after = await engine.statistics
        await engine.shutdown()
        let commits = after.batches - before.batches
        let events = after.events - before.events
        let sent = latencies.count
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let report: [String: JSONValue] = [
            "benchmark": "store-group-commit",
            "synchronous": .string(durability.rawValue),
            "concurrency": .int(Int64(concurrency)),
            "signals": .int(Int64(sent)),
            "wall_s": .double((seconds * 1000).rounded() / 1000),
            "signals_per_s": .int(Int64(Double(sent) / seconds)),
            "commits": .int(Int64(commits)),
            "commits_per_s": .int(Int64(Double(commits) / seconds)),
            "events_per_s": .int(Int64(Double(events) / seconds)),
            "signals_per_commit": .double((Double(sent) / Double(max(commits, 1)) * 10).rounded() / 10),
            "latency_p50_ms": .double((percentile(0.5) * 100).rounded() / 100),
            "latency_p99_ms": .double((percentile(0.99) * 100).rounded() / 100),
        ]
        print(JSONValue.object(report).jsonText)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
