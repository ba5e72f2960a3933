import Foundation
import Incidents
import OrchestratorProtocol
import Synchronization
import Workflows

/// A SplitMix64 generator: every incident's plan follows from the run's seed and its number.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// What one incident does, decided from the seed before it starts.
struct IncidentPlan: Sendable {
    enum Ending: String, Sendable {
        /// Acked before the first escalation is due.
        case quickAck
        /// Left to escalate, then acked.
        case escalateThenAck
        /// Resolved while still OPEN, never acked.
        case resolveOpen
    }
    var number: Int
    var service: String
    var escalateAfterMs: Int64
    var alerts: [String]
    var ending: Ending
    /// How long after the start the ack (or the open resolve) is sent.
    var decisionDelayMs: Int64
    var resolveDelayMs: Int64

    init(seed: UInt64, number: Int) {
        var random = SeededRandom(seed: seed ^ (UInt64(number) &* 0x9e37_79b9_7f4a_7c15))
        self.number = number
        service = "chaos-\(seed)-\(number)"
        escalateAfterMs = Int64.random(in: 500...1_500, using: &random)
        let count = Int.random(in: 1...3, using: &random)
        var alerts = (1...count).map { "ALERT-\(number)-\($0)" }
        if Bool.random(using: &random), let first = alerts.first { alerts.append(first) }  // a duplicate alert
        self.alerts = alerts
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<30: ending = .quickAck
        case 30..<80: ending = .escalateThenAck
        default: ending = .resolveOpen
        }
        switch ending {
        case .quickAck: decisionDelayMs = Int64.random(in: 50...(escalateAfterMs / 3), using: &random)
        case .escalateThenAck, .resolveOpen:
            decisionDelayMs = Int64(Double(escalateAfterMs) * Double.random(in: 1.3...3.6, using: &random))
        }
        resolveDelayMs = Int64.random(in: 50...600, using: &random)
    }

    var workflowId: String { IncidentWorkflow.workflowId(service: service) }
}

/// What the server acknowledged for one incident: the model the end state is checked against.
struct IncidentRecord: Sendable {
    var plan: IncidentPlan
    var startRequestId: String
    var runId: String?
    /// Request ids of acknowledged signals, with their kind and argument.
    var signals: [(requestId: String, name: String, argument: String)] = []
    var failure: String?
}

/// Drives one incident through its plan, retrying every request with the same request id.
func drive(_ plan: IncidentPlan, seed: UInt64, client: ResilientClient) async -> IncidentRecord {
    let prefix = "chaos-\(seed)-\(plan.number)"
    var record = IncidentRecord(plan: plan, startRequestId: "\(prefix)-start")
    let started = ContinuousClock.now
    do {
        let response = try await client.send(
            StartWorkflowRequest(
                workflowId: plan.workflowId, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                input: try PayloadCoding.encode(
                    IncidentWorkflow.Input(service: plan.service, escalateAfterMs: plan.escalateAfterMs)),
                requestId: record.startRequestId, searchAttributes: ["chaos": .string(String(seed))]))
        record.runId = response.runId
        for (index, alert) in plan.alerts.enumerated() {
            try await signal(
                client, &record, "\(prefix)-alert-\(index)", IncidentWorkflow.addAlert.name,
                try PayloadCoding.encode(AddAlert(alertID: alert)), argument: alert)
        }
        let decisionAt = started + .milliseconds(plan.decisionDelayMs)
        if ContinuousClock.now < decisionAt { try await Task.sleep(until: decisionAt) }
        if plan.ending != .resolveOpen {
            try await signal(
                client, &record, "\(prefix)-ack", IncidentWorkflow.ack.name,
                try PayloadCoding.encode(ResponderAction(responder: "alice")), argument: "alice")
            try await Task.sleep(for: .milliseconds(plan.resolveDelayMs))
        }
        try await signal(
            client, &record, "\(prefix)-resolve", IncidentWorkflow.resolve.name,
            try PayloadCoding.encode(ResponderAction(responder: "alice")), argument: "alice")
    } catch {
        record.failure = "\(error)"
    }
    return record
}

private func signal(
    _ client: ResilientClient, _ record: inout IncidentRecord, _ requestId: String, _ name: String, _ input: JSONValue?,
    argument: String
) async throws {
    _ = try await client.send(
        SignalWorkflowRequest(workflowId: record.plan.workflowId, signalName: name, input: input, requestId: requestId))
    record.signals.append((requestId, name, argument))
}
