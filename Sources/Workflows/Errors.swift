import OrchestratorProtocol

/// An error a workflow or an activity throws on purpose, to choose how it is recorded:
/// its type (matched by retry policies' non-retryable types) and whether it may be retried.
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var type: String
    public var nonRetryable: Bool
    public var details: JSONValue?
    public init(
        _ message: String, type: String = "ApplicationError", nonRetryable: Bool = false, details: JSONValue? = nil
    ) {
        self.message = message
        self.type = type
        self.nonRetryable = nonRetryable
        self.details = details
    }
    public var description: String { "\(type): \(message)" }
}

/// An activity a workflow awaited did not succeed.
public struct ActivityFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case failed, timedOut, canceled
    }
    public var kind: Kind
    public var activityType: String
    public var activityId: String
    /// The last attempt's failure.
    public var failure: Failure?
    public var retryState: RetryState?
    public var timeoutType: TimeoutType?

    public var description: String {
        switch kind {
        case .failed:
            "activity \(activityType) (\(activityId)) failed: \(failure?.description ?? "no detail")"
                + (retryState.map { " [\($0.rawValue)]" } ?? "")
        case .timedOut:
            "activity \(activityType) (\(activityId)) timed out (\(timeoutType?.rawValue ?? "?"))"
                + (failure.map { ": \($0.message)" } ?? "")
        case .canceled:
            "activity \(activityType) (\(activityId)) was canceled"
        }
    }
}

/// A child workflow did not complete.
public struct ChildWorkflowFailure: Error, CustomStringConvertible, Sendable {
    public var workflowId: String
    public var workflowType: String
    public var status: String
    public var failure: Failure?
    public var description: String {
        "child workflow \(workflowType) (\(workflowId)) \(status)" + (failure.map { ": \($0.message)" } ?? "")
    }
}

/// Signalling another workflow failed (it does not exist or is closed).
public struct ExternalSignalFailure: Error, CustomStringConvertible, Sendable {
    public var workflowId: String
    public var cause: String
    public var description: String { "cannot signal workflow \(workflowId): \(cause)" }
}

/// Workflow code and history disagree: the code changed in a way that is not compatible with runs
/// already in flight. The workflow task fails (and is retried) until a compatible version runs.
public struct NonDeterminismError: Error, CustomStringConvertible, Sendable {
    /// The history event where they disagree, if one.
    public var eventId: Int64?
    /// What history holds there.
    public var expected: String
    /// What the code did.
    public var actual: String
    public var workflowType: String

    public var description: String {
        let location = eventId.map { "at history event \($0)" } ?? "at the end of history"
        return
            "workflow \(workflowType) is not deterministic \(location): history has \(expected), but the code produced \(actual). Deploy code compatible with running workflows (use context.patched(\"…\") for changes), or reset them."
    }
}

/// A bug or misuse caught by the runtime (a job from outside the workflow executor, a bad instance).
public struct WorkflowRuntimeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Thrown into workflow code whose run is dropped from the cache; it unwinds the code.
struct WorkflowEvicted: Error {}

/// Thrown by `continueAsNew`: the run closes and a new one starts with the given input.
struct ContinueAsNewRequest: Error {
    var input: JSONValue?
    var workflowType: String?
    var taskQueue: String?
}

extension Failure {
    /// The failure recorded for an error thrown by workflow or activity code.
    public init(error: any Error) {
        switch error {
        case let error as ApplicationError:
            self.init(
                message: error.message, type: error.type, nonRetryable: error.nonRetryable ? true : nil,
                details: error.details)
        case let error as ActivityFailure:
            self.init(message: error.description, type: "ActivityFailure", cause: error.failure)
        case let error as ChildWorkflowFailure:
            self.init(message: error.description, type: "ChildWorkflowFailure", cause: error.failure)
        case let error as PayloadError:
            self.init(message: error.description, type: "PayloadError", nonRetryable: true)
        case is CancellationError:
            self.init(message: "canceled", type: "CancellationError")
        default:
            self.init(message: String(describing: error), type: String(describing: Swift.type(of: error)))
        }
    }
}
