import ArgumentParser
import Foundation
import Incidents
import OrchestratorClient
import OrchestratorProtocol
import Workflows

/// What a signal costs on a workflow with a long history, against one on a fresh workflow.
struct LongHistoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "long-history", abstract: "Signals per second to a workflow with N events, against a fresh one.")

    @Option(help: "Events of the long history before measuring.") var events = 10_000
    @Option(help: "Signals measured on each workflow.") var signals = 1_000
    @Option(help: "Where the executables are (default: next to this one).") var binDir: String?

    func run() async throws {
        let stack = try BenchStack(
            binDirectory: binDir.map { URL(fileURLWithPath: $0) } ?? ownBinDirectory(), synchronous: "full")
        try stack.startServer()
        try stack.startWorker()
        defer { stack.stop() }
        let client = try await stack.connect(identity: "bench")
        try await start("long", client)
        try await start("fresh", client)
        // Grow the long history: each alert adds a signal and a workflow task (four events).
        var count = 0
        while try await historyLength("incident-long", client) < Int64(events) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    count += 1
                    let alert = "GROW-\(count)"
                    group.addTask { try await signal("incident-long", alert, client) }
                }
                try await group.waitForAll()
            }
        }
        let longBefore = try await historyLength("incident-long", client)
        let fresh = try await measure("incident-fresh", client)
        let long = try await measure("incident-long", client)
        let report: [String: JSONValue] = [
            "benchmark": "long-history",
            "history_events_before": .int(longBefore),
            "signals": .int(Int64(signals)),
            "fresh_signals_per_s": .double(fresh.rate), "fresh_p50_ms": .double(fresh.p50),
            "fresh_p99_ms": .double(fresh.p99),
            "long_signals_per_s": .double(long.rate), "long_p50_ms": .double(long.p50),
            "long_p99_ms": .double(long.p99),
            "cost_ratio": .double(((fresh.rate / max(long.rate, 0.001)) * 100).rounded() / 100),
        ]
        print(JSONValue.object(report).jsonText)
    }

    private func start(_ service: String, _ client: OrchestratorClient) async throws {
        _ = try await client.send(
            StartWorkflowRequest(
                workflowId: IncidentWorkflow.workflowId(service: service), workflowType: IncidentWorkflow.name,
                taskQueue: IncidentWorkflow.taskQueue,
                input: try PayloadCoding.encode(IncidentWorkflow.Input(service: service, escalateAfterMs: 3_600_000))))
    }

    /// Sends signals one after another (each waits for its ack) and for the worker to have seen the last.
    private func measure(_ workflowId: String, _ client: OrchestratorClient) async throws -> (
        rate: Double, p50: Double, p99: Double
    ) {
        var latencies: [Double] = []
        let started = ContinuousClock.now
        for index in 0..<signals {
            let t0 = ContinuousClock.now
            try await signal(workflowId, "M-\(workflowId)-\(index)", client)
            latencies.append(milliseconds(ContinuousClock.now - t0))
        }
        // Include the work the signals caused: the worker has processed them when a query sees the last.
        while true {
            let state = try PayloadCoding.decode(
                IncidentState.self,
                from: try await client.send(
                    QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name)
                ).result)
            if state.alerts.last == "M-\(workflowId)-\(signals - 1)" { break }
        }
        let seconds = milliseconds(ContinuousClock.now - started) / 1000
        let (p50, p99) = percentiles(latencies)
        return ((Double(signals) / seconds * 10).rounded() / 10, p50, p99)
    }

    private func historyLength(_ workflowId: String, _ client: OrchestratorClient) async throws -> Int64 {
        try await client.send(DescribeWorkflowRequest(workflowId: workflowId)).execution.historyLength
    }
}

private func signal(_ workflowId: String, _ alert: String, _ client: OrchestratorClient) async throws {
    _ = try await client.send(
        SignalWorkflowRequest(
            workflowId: workflowId, signalName: IncidentWorkflow.addAlert.name,
            input: try PayloadCoding.encode(AddAlert(alertID: alert))))
}
