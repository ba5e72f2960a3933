import ArgumentParser
import Foundation
import Incidents
import OrchestratorClient
import OrchestratorProtocol
import Workflows

/// How late an escalation fires when the worker holding its incident is killed with kill -9 while
/// another worker is alive.
struct LatenessBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lateness",
        abstract: "Escalation lateness after kill -9 of the worker holding the incident (another alive).")

    @Option(help: "Samples (incidents).") var samples = 21
    @Option(help: "Escalation interval in milliseconds.") var escalateAfterMs: Int64 = 1_000
    @Option(help: "Where the executables are (default: next to this one).") var binDir: String?

    func run() async throws {
        let stack = try BenchStack(
            binDirectory: binDir.map { URL(fileURLWithPath: $0) } ?? ownBinDirectory(), synchronous: "full")
        try stack.startServer()
        try stack.startWorker()
        try stack.startWorker()
        defer { stack.stop() }
        let client = try await stack.connect(identity: "bench")
        try await Task.sleep(for: .milliseconds(300))
        let log = stack.directory.appendingPathComponent("notifications.jsonl")
        var notified: [Double] = []
        var scheduled: [Double] = []
        for number in 0..<samples {
            let service = "late-\(number)"
            let workflowId = IncidentWorkflow.workflowId(service: service)
            _ = try await client.send(
                StartWorkflowRequest(
                    workflowId: workflowId, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                    input: try PayloadCoding.encode(
                        IncidentWorkflow.Input(service: service, escalateAfterMs: escalateAfterMs))))
            // Wait until a worker holds the run (completed its first task), then kill it.
            var holder: Int?
            for _ in 0..<500 {
                let description = try await client.send(DescribeWorkflowRequest(workflowId: workflowId))
                if let identity = description.stickyWorkerIdentity, description.pendingWorkflowTask == nil,
                    let pid = identity.split(separator: ":").last.flatMap({ Int32($0) })
                {
                    holder = stack.workers.firstIndex { $0.processIdentifier == pid && $0.isRunning }
                    if holder != nil { break }
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            guard let holder else { throw OrchestratorError(.internal, "no worker took \(workflowId)") }
            stack.killWorker(holder)
            // Wait for the first escalation, on the other worker.
            var line: [String: Any]?
            for _ in 0..<2_000 where line == nil {
                line = readLines(log).first {
                    ($0["incident"] as? String) == workflowId && ($0["kind"] as? String) == "escalated"
                }
                if line == nil { try await Task.sleep(for: .milliseconds(5)) }
            }
            let state = try PayloadCoding.decode(
                IncidentState.self,
                from: try await client.send(
                    QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name)
                ).result)
            guard let at = (line?["at"] as? String).flatMap(Timestamp.init(iso8601:)),
                let opened = state.openedAt.flatMap(Timestamp.init(iso8601:))
            else { throw OrchestratorError(.internal, "no escalation for \(workflowId)") }
            let due = opened.milliseconds + escalateAfterMs
            notified.append(Double(at.milliseconds - due))
            let history = try await client.send(GetWorkflowHistoryRequest(workflowId: workflowId)).events
            if let event = history.first(where: {
                if case .activityTaskScheduled(let a) = $0.attributes {
                    return a.input?["kind"] == .string("escalated")
                }
                return false
            }) {
                scheduled.append(Double(event.eventTime.milliseconds - due))
            }
            _ = try await client.send(
                SignalWorkflowRequest(
                    workflowId: workflowId, signalName: IncidentWorkflow.resolve.name,
                    input: try PayloadCoding.encode(ResponderAction(responder: "bench"))))
            // Back to two workers.
            stack.workers.remove(at: holder)
            try stack.startWorker()
            try await Task.sleep(for: .milliseconds(200))
        }
        let sortedNotified = notified.sorted()
        let sortedScheduled = scheduled.sorted()
        let report: [String: JSONValue] = [
            "benchmark": "escalation-lateness-after-worker-kill",
            "samples": .int(Int64(samples)),
            "escalate_after_ms": .int(escalateAfterMs),
            "notified_late_median_ms": .double(sortedNotified[sortedNotified.count / 2]),
            "notified_late_max_ms": .double(sortedNotified.last ?? 0),
            "scheduled_late_median_ms": .double(
                sortedScheduled.isEmpty ? 0 : sortedScheduled[sortedScheduled.count / 2]),
            "scheduled_late_max_ms": .double(sortedScheduled.last ?? 0),
        ]
        print(JSONValue.object(report).jsonText)
    }
}

func readLines(_ url: URL) -> [[String: Any]] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
}
