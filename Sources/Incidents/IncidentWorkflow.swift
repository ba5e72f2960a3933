import Foundation
import OrchestratorProtocol
import Workflows

/// The incident lifecycle of the original Go demo: one open incident per service
/// (workflow id `incident-{service}`), OPEN → ACKED → RESOLVED, escalation on a timer while OPEN,
/// notifications as a retried activity.
///
/// While OPEN, every `escalateAfter` (counted from the start, so escalations do not drift) the
/// escalation level rises by one and that level is notified. `ack` moves OPEN to ACKED and cancels
/// the escalation timer; `resolve` moves any state to RESOLVED and the workflow completes with its
/// final state.
public final class IncidentWorkflow: Workflow {
    public static let name = "IncidentWorkflow"
    /// The task queue incident workers poll.
    public static let taskQueue = "incident-task-queue"

    public static let addAlert = Signal<AddAlert>("add-alert")
    public static let ack = Signal<ResponderAction>("ack")
    public static let resolve = Signal<ResponderAction>("resolve")
    public static let status = Query<NoArguments, IncidentState>("status")

    /// The workflow id of a service's incident.
    public static func workflowId(service: String) -> String { "incident-\(service)" }

    public struct Input: Codable, Sendable, Hashable {
        public var service: String
        /// Milliseconds between escalations while OPEN.
        public var escalateAfterMs: Int64
        public init(service: String, escalateAfterMs: Int64 = 30_000) {
            self.service = service
            self.escalateAfterMs = escalateAfterMs
        }
    }

    var state: IncidentState
    let escalateAfterMs: Int64

    public init(input: Input) {
        state = IncidentState(service: input.service)
        escalateAfterMs = max(1, input.escalateAfterMs)
    }

    public static func configure(_ handlers: inout WorkflowHandlers<IncidentWorkflow>) {
        handlers.signal(addAlert) { workflow, signal in
            if !workflow.state.alerts.contains(signal.alertID) { workflow.state.alerts.append(signal.alertID) }
        }
        handlers.signal(ack) { workflow, signal in
            guard workflow.state.status == .open else { return }
            workflow.state.status = .acked
            workflow.state.responder = signal.responder
        }
        handlers.signal(resolve) { workflow, signal in
            guard workflow.state.status != .resolved else { return }
            workflow.state.status = .resolved
            workflow.state.responder = signal.responder
        }
        handlers.query(status) { workflow, _ in workflow.state }
    }

    public func run(context: WorkflowContext) async throws -> IncidentState {
        state.workflowId = context.info.workflowId
        state.runId = context.info.runId
        state.openedAt = context.currentTime.iso8601
        let start = context.currentTime.milliseconds
        let service = state.service
        try await withThrowingTaskGroup(of: Void.self) { notifications in
            // Notifications run beside the escalation loop, so a slow one never delays the next timer.
            // Child tasks capture values, not the workflow: its state is changed by `run` and handlers only.
            notifications.addTask {
                try await Self.notify(.opened, service: service, level: 0, responder: nil, context: context)
            }
            while state.status == .open {
                let due = start + Int64(state.escalationLevel + 1) * escalateAfterMs
                let wait = max(1, due - context.currentTime.milliseconds)
                let changed = try await context.condition(timeout: .milliseconds(wait)) { self.state.status != .open }
                if !changed {
                    state.escalationLevel += 1
                    let level = state.escalationLevel
                    context.logger.info("escalating", metadata: ["level": "\(level)"])
                    notifications.addTask {
                        try await Self.notify(
                            .escalated, service: service, level: level, responder: nil, context: context)
                    }
                }
            }
            if state.status == .acked {
                let (level, responder) = (state.escalationLevel, state.responder)
                notifications.addTask {
                    try await Self.notify(
                        .acked, service: service, level: level, responder: responder, context: context)
                }
                try await context.condition { self.state.status == .resolved }
            }
            try await notifications.waitForAll()
        }
        state.resolvedAt = context.currentTime.iso8601
        try await Self.notify(
            .resolved, service: service, level: state.escalationLevel, responder: state.responder, context: context)
        return state
    }

    private static func notify(
        _ kind: Notification.Kind, service: String, level: Int, responder: String?, context: WorkflowContext
    ) async throws {
        let notification = Notification(
            incident: context.info.workflowId, service: service, kind: kind, level: level, responder: responder)
        _ = try await context.execute(NotifyIncident.self, notification, options: NotifyIncident.options)
    }
}

/// The state of an incident, as the `status` query and the workflow's result show it.
public struct IncidentState: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, Hashable {
        case open = "OPEN"
        case acked = "ACKED"
        case resolved = "RESOLVED"
    }
    public var workflowId: String = ""
    public var runId: String = ""
    public var service: String
    public var status: Status = .open
    public var alerts: [String] = []
    public var responder: String?
    public var escalationLevel: Int = 0
    public var openedAt: String?
    public var resolvedAt: String?

    public init(service: String) { self.service = service }

    private enum CodingKeys: String, CodingKey {
        case workflowId, runId, service, status, alerts, responder, escalationLevel, openedAt, resolvedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(workflowId, forKey: .workflowId)
        try container.encode(runId, forKey: .runId)
        try container.encode(service, forKey: .service)
        try container.encode(status, forKey: .status)
        try container.encode(alerts, forKey: .alerts)
        try container.encode(responder, forKey: .responder)  // null until set
        try container.encode(escalationLevel, forKey: .escalationLevel)
        try container.encodeIfPresent(openedAt, forKey: .openedAt)
        try container.encodeIfPresent(resolvedAt, forKey: .resolvedAt)
    }
}

public struct AddAlert: Codable, Sendable, Hashable {
    public var alertID: String
    public init(alertID: String) { self.alertID = alertID }
}

public struct ResponderAction: Codable, Sendable, Hashable {
    public var responder: String
    public init(responder: String) { self.responder = responder }
}
