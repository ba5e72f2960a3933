import Foundation
import OrchestratorProtocol
import Workflows

/// An incident notification: what a real sender would post to Slack or page through PagerDuty.
public struct Notification: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case opened, escalated, acked, resolved
    }
    public var incident: String
    public var service: String
    public var kind: Kind
    public var level: Int
    public var responder: String?

    public init(incident: String, service: String, kind: Kind, level: Int, responder: String?) {
        self.incident = incident
        self.service = service
        self.kind = kind
        self.level = level
        self.responder = responder
    }
}

/// What the sink did with a notification.
public struct NotificationReceipt: Codable, Sendable, Hashable {
    public var key: String
    /// False when the key had been applied before (a retried attempt): nothing was sent again.
    public var delivered: Bool
    public var at: String
}

/// The notification activity, as workflows call it and workers implement it.
public enum NotifyIncident: ActivityDefinition {
    public typealias Input = Notification
    public typealias Output = NotificationReceipt
    public static let name = "NotifyIncident"

    /// Ten seconds per attempt, retried with Temporal's default backoff for up to ten minutes.
    public static let options = ActivityOptions(
        startToCloseTimeout: .seconds(10), scheduleToCloseTimeout: .seconds(600),
        retryPolicy: RetryPolicy(initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000))
}

/// Where notifications go. The file sink stands in for Slack or PagerDuty; a real sender conforms
/// to this and keeps the promise: a key is applied once, however often it is delivered.
public protocol NotificationSink: Sendable {
    func deliver(_ notification: Notification, idempotencyKey: String) async throws -> NotificationReceipt
}

/// The activity implementations, holding their dependencies.
public struct IncidentActivities: Sendable {
    public let sink: any NotificationSink

    public init(sink: any NotificationSink) { self.sink = sink }

    public func notify(_ notification: Notification, idempotencyKey: String) async throws -> NotificationReceipt {
        try await sink.deliver(notification, idempotencyKey: idempotencyKey)
    }
}
