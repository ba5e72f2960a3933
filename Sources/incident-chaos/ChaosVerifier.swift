import Foundation
import Incidents
import OrchestratorProtocol
import Workflows

/// One line of the notification log.
struct NotificationLine: Decodable {
    var key: String
    var incident: String
    var kind: String
    var level: Int
    var at: String
}

/// What the checks found, and the figures the summary prints.
struct ChaosFindings: Encodable {
    var incidents = 0
    var resolved = 0
    var acknowledgedStarts = 0
    var acknowledgedSignals = 0
    var lost = 0
    var duplicated = 0
    var wrongFinalState = 0
    var notifications = 0
    var notificationKeysTwice = 0
    var escalationLevelsMissing = 0
    var escalationLevelsTwice = 0
    var escalationsAfterAck = 0
    var unexpectedWorkflowTaskFailures = 0
    var injectedWorkflowTaskFailures: [String: Int] = [:]
    var workflowTaskTimeouts = 0
    /// Notification attempts that a kill interrupted (retried: ActivityTaskStarted.lastFailure is ConnectionClosed).
    var notificationAttemptsInterrupted = 0
    var escalations = 0
    /// When the workflow scheduled the escalation's notification, after its due time.
    var escalationScheduledLatenessP50Ms: Int64 = 0
    var escalationScheduledLatenessP99Ms: Int64 = 0
    var worstEscalationScheduledLatenessMs: Int64 = 0
    /// When the notification was applied (adds the simulated notification latency).
    var escalationLatenessP50Ms: Int64 = 0
    var escalationLatenessP99Ms: Int64 = 0
    var worstEscalationLatenessMs: Int64 = 0
    var problems: [String] = []

    var passed: Bool {
        lost == 0 && duplicated == 0 && wrongFinalState == 0 && notificationKeysTwice == 0
            && escalationLevelsMissing == 0 && escalationLevelsTwice == 0 && escalationsAfterAck == 0
            && unexpectedWorkflowTaskFailures == 0 && resolved == incidents
    }

    mutating func problem(_ text: String) {
        if problems.count < 50 { problems.append(text) }
    }
}

/// Checks every incident against what the server acknowledged and what the notification log holds.
func verify(_ records: [IncidentRecord], client: ResilientClient, notificationLog: URL) async -> ChaosFindings {
    var findings = ChaosFindings()
    findings.incidents = records.count
    let lines = readNotificationLog(notificationLog)
    findings.notifications = lines.count
    var keyCounts: [String: Int] = [:]
    for line in lines { keyCounts[line.key, default: 0] += 1 }
    findings.notificationKeysTwice = keyCounts.values.filter { $0 > 1 }.count
    for (key, count) in keyCounts where count > 1 { findings.problem("notification \(key) applied \(count) times") }
    let linesByIncident = Dictionary(grouping: lines, by: \.incident)
    var lateness: [Int64] = []
    var scheduledLateness: [Int64] = []

    for record in records {
        let plan = record.plan
        if let failure = record.failure { findings.problem("\(plan.workflowId): the driver gave up: \(failure)") }
        guard let runId = record.runId else { continue }
        findings.acknowledgedStarts += 1
        findings.acknowledgedSignals += record.signals.count
        let history: [HistoryEvent]
        let result: AwaitWorkflowResultResponse
        do {
            result = try await client.send(
                AwaitWorkflowResultRequest(workflowId: plan.workflowId, runId: runId, timeoutMs: 60_000))
            history = try await fullHistory(plan.workflowId, runId: runId, client: client)
        } catch {
            findings.problem("\(plan.workflowId): cannot read its result or history: \(error)")
            findings.lost += 1
            continue
        }
        // Every acknowledged start and signal is in history exactly once.
        let started = history.first.flatMap { event -> WorkflowExecutionStartedAttributes? in
            if case .workflowExecutionStarted(let a) = event.attributes { return a }
            return nil
        }
        if started?.requestId != record.startRequestId {
            findings.lost += 1
            findings.problem(
                "\(plan.workflowId): the acknowledged start \(record.startRequestId) is not its WorkflowExecutionStarted"
            )
        }
        var seen: [String: Int] = [:]
        var signalTimes: [String: Timestamp] = [:]
        for event in history {
            if case .workflowExecutionSignaled(let a) = event.attributes, let id = a.requestId {
                seen[id, default: 0] += 1
                if signalTimes[a.signalName] == nil { signalTimes[a.signalName] = event.eventTime }
            }
        }
        for signal in record.signals {
            switch seen[signal.requestId, default: 0] {
            case 0:
                findings.lost += 1
                findings.problem("\(plan.workflowId): acknowledged signal \(signal.requestId) is not in history")
            case 1: break
            default:
                findings.duplicated += 1
                findings.problem(
                    "\(plan.workflowId): signal \(signal.requestId) appears \(seen[signal.requestId] ?? 0) times")
            }
        }
        for (id, count) in seen where count > 1 && !record.signals.contains(where: { $0.requestId == id }) {
            findings.duplicated += 1
            findings.problem("\(plan.workflowId): signal \(id) appears \(count) times")
        }
        // The incident ends RESOLVED with the acknowledged alerts.
        guard result.status == .completed,
            let state = try? PayloadCoding.decode(IncidentState.self, from: result.result)
        else {
            findings.wrongFinalState += 1
            findings.problem("\(plan.workflowId): ended \(result.status.rawValue), not completed")
            continue
        }
        let expectedAlerts = Set(record.signals.filter { $0.name == IncidentWorkflow.addAlert.name }.map(\.argument))
        if state.status == .resolved { findings.resolved += 1 }
        if state.status != .resolved || Set(state.alerts) != expectedAlerts
            || state.alerts.count != expectedAlerts.count
        {
            findings.wrongFinalState += 1
            findings.problem(
                "\(plan.workflowId): final state \(state.status.rawValue) with alerts \(state.alerts), expected RESOLVED with \(expectedAlerts.sorted())"
            )
        }
        // Workflow task failures: only the injected faults may cause them.
        for event in history {
            switch event.attributes {
            case .workflowTaskFailed(let a):
                switch a.cause {
                case .connectionClosed, .serverRestarted, .unhandledCommand:
                    findings.injectedWorkflowTaskFailures[a.cause.rawValue, default: 0] += 1
                default:
                    findings.unexpectedWorkflowTaskFailures += 1
                    findings.problem(
                        "\(plan.workflowId): workflow task failed: \(a.cause.rawValue) \(a.failure?.message ?? "")")
                }
            case .workflowTaskTimedOut:
                findings.workflowTaskTimeouts += 1
            case .activityTaskStarted(let a) where a.lastFailure?.type == "ConnectionClosed":
                findings.notificationAttemptsInterrupted += 1
            default:
                break
            }
        }
        // Each escalation level notified exactly once; none due after the incident was acked or resolved.
        let runLines = (linesByIncident[plan.workflowId] ?? []).filter { $0.key.contains("/\(runId)/") }
        let escalated = runLines.filter { $0.kind == "escalated" }
        let levels = escalated.map(\.level)
        for level in 1...max(1, state.escalationLevel) where state.escalationLevel > 0 {
            let count = levels.filter { $0 == level }.count
            if count == 0 {
                findings.escalationLevelsMissing += 1
                findings.problem("\(plan.workflowId): escalation level \(level) was never notified")
            } else if count > 1 {
                findings.escalationLevelsTwice += 1
                findings.problem("\(plan.workflowId): escalation level \(level) notified \(count) times")
            }
        }
        if let extra = levels.first(where: { $0 > state.escalationLevel }) {
            findings.escalationLevelsTwice += 1
            findings.problem(
                "\(plan.workflowId): notified level \(extra) beyond the final level \(state.escalationLevel)")
        }
        guard let opened = state.openedAt.flatMap(Timestamp.init(iso8601:)) else { continue }
        let settled = [signalTimes[IncidentWorkflow.ack.name], signalTimes[IncidentWorkflow.resolve.name]]
            .compactMap { $0 }.min()
        for line in escalated {
            let due = opened.milliseconds + Int64(line.level) * plan.escalateAfterMs
            if let settled, settled.milliseconds < due {
                findings.escalationsAfterAck += 1
                findings.problem(
                    "\(plan.workflowId): level \(line.level) was due after the incident was acked or resolved")
            }
            if let at = Timestamp(iso8601: line.at) { lateness.append(at.milliseconds - due) }
        }
        for event in history {
            guard case .activityTaskScheduled(let a) = event.attributes,
                a.input?["kind"] == .string("escalated"), let level = a.input?["level"]?.intValue
            else { continue }
            scheduledLateness.append(
                event.eventTime.milliseconds - (opened.milliseconds + level * plan.escalateAfterMs))
        }
    }
    scheduledLateness.sort()
    if !scheduledLateness.isEmpty {
        findings.escalationScheduledLatenessP50Ms = scheduledLateness[scheduledLateness.count / 2]
        findings.escalationScheduledLatenessP99Ms =
            scheduledLateness[min(scheduledLateness.count - 1, scheduledLateness.count * 99 / 100)]
        findings.worstEscalationScheduledLatenessMs = scheduledLateness.last ?? 0
    }
    lateness.sort()
    findings.escalations = lateness.count
    if !lateness.isEmpty {
        findings.escalationLatenessP50Ms = lateness[lateness.count / 2]
        findings.escalationLatenessP99Ms = lateness[min(lateness.count - 1, lateness.count * 99 / 100)]
        findings.worstEscalationLatenessMs = lateness.last ?? 0
    }
    return findings
}

func fullHistory(_ workflowId: String, runId: String, client: ResilientClient) async throws -> [HistoryEvent] {
    var events: [HistoryEvent] = []
    var after: Int64 = 0
    while true {
        let page = try await client.send(
            GetWorkflowHistoryRequest(workflowId: workflowId, runId: runId, afterEventId: after))
        events += page.events
        after = page.events.last?.eventId ?? after
        if !page.hasMore { return events }
    }
}

func readNotificationLog(_ url: URL) -> [NotificationLine] {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap {
        try? JSONDecoder().decode(NotificationLine.self, from: Data($0.utf8))
    }
}
