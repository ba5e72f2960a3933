import Foundation
import Logging
import OrchestratorClient
import OrchestratorProtocol
import Synchronization
import Workflows

/// What an activity implementation knows about its attempt, and how it reports progress.
public final class ActivityContext: Sendable {
    /// The task as the server handed it out.
    public let task: ActivityTask
    /// The worker's logger with the attempt's workflow, run, activity id and type and attempt.
    /// Built when read (most attempts log nothing).
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "workflowId"] = "\(task.workflowId)"
        logger[metadataKey: "runId"] = "\(task.runId)"
        logger[metadataKey: "activityId"] = "\(task.activityId)"
        logger[metadataKey: "activityType"] = "\(task.activityType)"
        logger[metadataKey: "attempt"] = "\(task.attempt)"
        return logger
    }
    private let baseLogger: Logger
    private let client: OrchestratorClient
    private let state = Mutex(HeartbeatState())
    private let throttle: Duration

    private struct HeartbeatState {
        var lastSent: ContinuousClock.Instant?
        var pendingDetails: JSONValue?
        var cancelRequested = false
    }

    init(task: ActivityTask, client: OrchestratorClient, logger: Logger) {
        self.task = task
        self.client = client
        self.baseLogger = logger
        let timeout = task.heartbeatTimeoutMs.map { Duration.milliseconds($0) } ?? .seconds(30)
        self.throttle = min(timeout / 2, .seconds(30))
    }

    /// `workflowId/runId/activityId`: the same for every attempt. Sinks key their effects by it so
    /// that an activity run twice applies its effect once.
    public var idempotencyKey: String { task.idempotencyKey }
    /// 1 for the first attempt.
    public var attempt: Int32 { task.attempt }
    /// What the previous attempt reported in its last heartbeat.
    public var lastHeartbeatDetails: JSONValue? { task.heartbeatDetails }

    /// Whether the workflow asked to cancel this activity (learned from a heartbeat).
    public var isCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    /// Reports progress (and keeps the attempt alive when it has a heartbeat timeout). Throttled:
    /// at most one message per half heartbeat timeout; the latest details win.
    public func heartbeat<D: Encodable>(_ details: D) async {
        await heartbeat(payload: try? PayloadCoding.encode(details))
    }

    /// Reports liveness without details.
    public func heartbeat() async {
        await heartbeat(payload: nil)
    }

    private func heartbeat(payload: JSONValue?) async {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            state.pendingDetails = payload ?? state.pendingDetails
            if let last = state.lastSent, now - last < throttle { return false }
            state.lastSent = now
            return true
        }
        if due { await send() }
    }

    /// Sends the pending heartbeat now; sets `isCancelRequested` from the answer.
    func send() async {
        let details = state.withLock { $0.pendingDetails }
        do {
            let response = try await client.send(
                HeartbeatActivityTaskRequest(taskToken: task.taskToken, details: details))
            if response.cancelRequested { state.withLock { $0.cancelRequested = true } }
        } catch let error as OrchestratorError where error.code == .notFound {
            // The attempt is no longer ours (timed out, run closed): stop working on it.
            state.withLock { $0.cancelRequested = true }
        } catch {
            logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
