import OrchestratorProtocol
import Synchronization

/// A value produced once and awaited by any number of tasks, or handed to callbacks. A waiter
/// resumes where it waited: on the engine's actor if it waited there, else on the global executor.
/// Requests wait for their commit or their query's answer outside the actor, so that each answer
/// needs no further turn on it, where it would queue behind the engine's other work; requests served
/// without a task (``Engine/handleImmediately(_:from:answer:)``) are answered from a callback.
final class Outcome<Value: Sendable>: Sendable {
    private enum State {
        case waiting([@Sendable (Value) -> Void])
        case done(Value)
    }
    private let state = Mutex<State>(.waiting([]))

    init() {}

    /// Sets the value and resumes every waiter. Only the first call counts.
    func finish(_ value: Value) {
        let callbacks = state.withLock { state -> [@Sendable (Value) -> Void] in
            guard case .waiting(let callbacks) = state else { return [] }
            state = .done(value)
            return callbacks
        }
        for callback in callbacks { callback(value) }
    }

    /// Calls `callback` with the value once it is set: on the thread that sets it, or at once if it is.
    func whenFinished(_ callback: @escaping @Sendable (Value) -> Void) {
        let done = state.withLock { state -> Value? in
            switch state {
            case .done(let value):
                return value
            case .waiting(var callbacks):
                callbacks.append(callback)
                state = .waiting(callbacks)
                return nil
            }
        }
        if let done { callback(done) }
    }

    /// The value, once it is set.
    func value(isolation: isolated (any Actor)? = #isolation) async -> Value {
        await withCheckedContinuation(isolation: isolation) { continuation in
            whenFinished { continuation.resume(returning: $0) }
        }
    }
}

/// One batch's commit as the requests that wait for it see it: success, or UNAVAILABLE.
typealias CommitTicket = Outcome<Result<Void, OrchestratorError>>

extension Outcome where Value == Result<Void, OrchestratorError> {
    /// Returns once the batch is committed; throws if the commit failed.
    func durable(isolation: isolated (any Actor)? = #isolation) async throws(OrchestratorError) {
        try await value(isolation: isolation).get()
    }
}

/// A request's answer and the commit it may be given after.
struct Durable<Value: Sendable>: Sendable {
    let value: Value
    let ticket: CommitTicket?

    /// The answer, once what was applied before it is committed. Await it outside the actor.
    func get() async throws(OrchestratorError) -> Value {
        try await ticket?.durable(isolation: nil)
        return value
    }

    /// Another answer given after the same commit.
    func map<T: Sendable>(_ transform: (Value) -> T) -> Durable<T> {
        Durable<T>(value: transform(value), ticket: ticket)
    }
}

/// The answer to a request applied without a wait of its own: given once the commit of what it
/// applied is durable, or, for a query, once its worker answers (or the query times out).
enum ImmediateAnswer: Sendable {
    case afterCommit(Durable<Response>)
    case queryAnswer(runId: String, Outcome<Result<JSONValue?, OrchestratorError>>)

    /// Calls `callback` with the response once it is ready: on the thread that makes it ready, or at once.
    func whenReady(_ callback: @escaping @Sendable (Result<Response, OrchestratorError>) -> Void) {
        switch self {
        case .afterCommit(let applied):
            guard let ticket = applied.ticket else { return callback(.success(applied.value)) }
            ticket.whenFinished { result in callback(result.map { applied.value }) }
        case .queryAnswer(let runId, let answer):
            answer.whenFinished { result in callback(result.map { Self.queryResponse(runId, $0) }) }
        }
    }

    /// The response, once it is ready. Await it outside the actor.
    func response() async throws(OrchestratorError) -> Response {
        switch self {
        case .afterCommit(let applied):
            return try await applied.get()
        case .queryAnswer(let runId, let answer):
            return Self.queryResponse(runId, try await answer.value(isolation: nil).get())
        }
    }

    private static func queryResponse(_ runId: String, _ result: JSONValue?) -> Response {
        .queryWorkflow(QueryWorkflowResponse(runId: runId, result: result))
    }
}
