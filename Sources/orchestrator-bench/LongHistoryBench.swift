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
        try await waitForWorker("incident-fresh", client)
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
        // Blocks of signals to each workflow in turn, so that both see the same machine: its speed
        // drifts by a third within a minute here, and one run after the other moved the ratio by half.
        var fresh = Measurement()
        var long = Measurement()
        let blocks = max(1, min(10, signals / 10))
        for block in 0..<blocks {
            let range = (block * signals / blocks)..<((block + 1) * signals / blocks)
            try await measure("incident-fresh", range, into: &fresh, client)
            try await measure("incident-long", range, into: &long, client)
        }
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

    /// Signals sent to one workflow and the time they took, over all its blocks.
    private struct Measurement {
        var latencies: [Double] = []
        var milliseconds = 0.0

        var rate: Double { (Double(latencies.count) / max(milliseconds, 0.001) * 1000 * 10).rounded() / 10 }
        var p50: Double { percentiles(latencies).p50 }
        var p99: Double { percentiles(latencies).p99 }
    }

    /// Sends the signals of `indices` one after another (each waits for its ack), then waits for the
    /// worker to have seen the last, and adds the time to `measurement`.
    private func measure(
        _ workflowId: String, _ indices: Range<Int>, into measurement: inout Measurement, _ client: OrchestratorClient
    ) async throws {
        let started = ContinuousClock.now
        for index in indices {
            let t0 = ContinuousClock.now
            try await signal(workflowId, "M-\(workflowId)-\(index)", client)
            measurement.latencies.append(milliseconds(ContinuousClock.now - t0))
        }
        // Include the work the signals caused: the worker has processed them when a query sees the last.
        while let last = indices.last {
            let state = try PayloadCoding.decode(
                IncidentState.self,
                from: try await client.send(
                    QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name)
                ).result)
            if state.alerts.last == "M-\(workflowId)-\(last)" { break }
        }
        measurement.milliseconds += milliseconds(ContinuousClock.now - started)
    }

    /// Waits until the worker polls the incidents' task queue: a query before that fails with NO_WORKER.
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
