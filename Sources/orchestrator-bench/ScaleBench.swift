import ArgumentParser
import Foundation
import Incidents
import OrchestratorClient
import OrchestratorProtocol
import Workflows

/// Many open incidents: the server's memory, the database's size, and how long a restart takes until
/// the first request is served.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "N open incidents: server RSS, database size, restart to first served request.")

    @Option(help: "Open incidents.") var incidents = 10_000
    @Option(help: "Starts in flight at once.") var concurrency = 64
    @Option(help: "Where the executables are (default: next to this one).") var binDir: String?

    func run() async throws {
        let stack = try BenchStack(
            binDirectory: binDir.map { URL(fileURLWithPath: $0) } ?? ownBinDirectory(), synchronous: "full")
        try stack.startServer()
        try stack.startWorker()
        try stack.startWorker()
        defer { stack.stop() }
        let client = try await stack.connect(identity: "bench")
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let number = next
                next += 1
                group.addTask {
                    let service = "scale-\(number)"
                    _ = try await client.send(
                        StartWorkflowRequest(
                            workflowId: IncidentWorkflow.workflowId(service: service),
                            workflowType: IncidentWorkflow.name,
                            taskQueue: IncidentWorkflow.taskQueue,
                            input: try PayloadCoding.encode(
                                IncidentWorkflow.Input(service: service, escalateAfterMs: 3_600_000))))
                }
            }
            for _ in 0..<min(concurrency, incidents) { add() }
            while try await group.next() != nil { if next < incidents { add() } }
        }
        let startSeconds = milliseconds(ContinuousClock.now - started) / 1000
        // Let the workers run every first task (the opened notification), so each run is idle and waiting.
        let log = stack.directory.appendingPathComponent("notifications.jsonl")
        for _ in 0..<6_000 {
            if lineCount(log) >= incidents { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(500))
        let rss = stack.serverRSSMiB
        let peak = stack.serverPeakRSSMiB
        let malloc = stack.serverMalloc
        let database = Double(stack.databaseBytes) / 1_048_576
        await client.close()
        // Restart: kill -9, start again, time until the first request is served.
        stack.killServer()
        let restartAt = ContinuousClock.now
        try stack.startServer()
        let probe = try await stack.connect(identity: "probe")
        let list = try await probe.send(ListWorkflowsRequest(status: .running, pageSize: 1))
        let restartMs = milliseconds(ContinuousClock.now - restartAt)
        _ = list
        let afterRestart = stack.serverRSSMiB
        let report: [String: JSONValue] = [
            "benchmark": "open-incidents",
            "incidents": .int(Int64(incidents)),
            "start_s": .double((startSeconds * 100).rounded() / 100),
            "server_rss_mib": rss.map(JSONValue.double) ?? .null,
            "server_peak_rss_mib": peak.map(JSONValue.double) ?? .null,
            "server_malloc": malloc.map(JSONValue.string) ?? .null,
            "server_rss_after_restart_mib": afterRestart.map(JSONValue.double) ?? .null,
            "database_mib": .double((database * 10).rounded() / 10),
            "restart_to_first_request_ms": .double((restartMs * 10).rounded() / 10),
        ]
        print(JSONValue.object(report).jsonText)
    }
}

func lineCount(_ url: URL) -> Int {
    guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
    return data.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
}
