import OrchestratorProtocol

/// A durable workflow: plain async Swift that the runtime replays deterministically.
///
/// A workflow is a class: its stored properties are its state, its `run(context:)` is the main
/// code, and its handlers (signals, queries) read and change the state between awaits. The
/// runtime creates one instance per run from the run's input and never shares it across threads.
///
/// ```swift
/// final class Greeting: Workflow {
///     static let name = "Greeting"
///     static let rename = Signal<String>("rename")
///     static let current = Query<NoArguments, String>("current")
///     var who: String
///     init(input: String) { who = input }
///     static func configure(_ handlers: inout WorkflowHandlers<Greeting>) {
///         handlers.signal(rename) { workflow, name in workflow.who = name }
///         handlers.query(current) { workflow, _ in "Hello, \(workflow.who)" }
///     }
///     func run(context: WorkflowContext) async throws -> String {
///         try await context.sleep(for: .seconds(60))
///         return "Hello, \(who)"
///     }
/// }
/// ```
///
/// Workflow code must be deterministic: given the same history it must issue the same commands in
/// the same order. So it must not use `Date()`, `Task.sleep`, `Task {}`/`Task.detached`, actors,
/// locks, random numbers or I/O of its own; it uses the context instead (`now`, `sleep`, `random`,
/// activities for side effects). `async let` and task groups are fine: they run on the workflow's
/// executor. The runtime detects work that resumes from outside its executor and fails the task.
public protocol Workflow: AnyObject, SendableMetatype {
    associatedtype Input: Codable & Sendable
    associatedtype Output: Codable & Sendable

    /// The workflow type name workers register and clients start. Defaults to the type's name.
    static var name: String { get }

    /// Creates the run's state from its input, before any code runs.
    init(input: Input)

    /// The workflow's main code. Returning completes the run with the value; throwing fails it
    /// (`CancellationError` after a cancel request cancels it).
    func run(context: WorkflowContext) async throws -> Output

    /// Declares signal and query handlers.
    static func configure(_ handlers: inout WorkflowHandlers<Self>)
}

extension Workflow {
    public static var name: String { String(describing: Self.self) }
    public static func configure(_ handlers: inout WorkflowHandlers<Self>) {}
}

/// A signal a workflow accepts, with the type of its input. Shared by the workflow (to handle it)
/// and by clients (to send it), so both agree on its name and payload.
public struct Signal<Input: Codable & Sendable>: Sendable, Hashable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// A query a workflow answers.
public struct Query<Arguments: Codable & Sendable, Result: Codable & Sendable>: Sendable, Hashable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// The payload of signals and queries that carry nothing.
public struct NoArguments: Codable, Sendable, Hashable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}

/// The signal and query handlers of a workflow type.
public struct WorkflowHandlers<W: Workflow>: Sendable {
    typealias SignalHandler = @Sendable (W, JSONValue?, WorkflowContext) async throws -> Void
    typealias QueryHandler = @Sendable (W, JSONValue?) throws -> JSONValue?
    var signals: [String: SignalHandler] = [:]
    var queries: [String: QueryHandler] = [:]

    init() {}

    /// Handles a signal by changing state. Runs on the workflow's executor, between awaits of `run`.
    public mutating func signal<I>(_ signal: Signal<I>, _ handler: @escaping @Sendable (W, I) throws -> Void) {
        signals[signal.name] = { workflow, payload, _ in
            try handler(workflow, try PayloadCoding.decode(I.self, from: payload))
        }
    }

    /// Handles a signal with code that may await (activities, timers).
    public mutating func signal<I>(
        _ signal: Signal<I>, _ handler: @escaping @Sendable (W, I, WorkflowContext) async throws -> Void
    ) {
        signals[signal.name] = { workflow, payload, context in
            try await handler(workflow, try PayloadCoding.decode(I.self, from: payload), context)
        }
    }

    /// Answers a query from the state. Must not change the state.
    public mutating func query<A, R>(_ query: Query<A, R>, _ handler: @escaping @Sendable (W, A) throws -> R) {
        queries[query.name] = { workflow, payload in
            try PayloadCoding.encode(try handler(workflow, try PayloadCoding.decode(A.self, from: payload)))
        }
    }
}

/// A workflow type, erased, as the runtime keeps it in its registry.
public struct WorkflowDefinition: Sendable {
    public let name: String
    let make: @Sendable (JSONValue?) throws -> AnyObject
    let run: @Sendable (AnyObject, WorkflowContext) async throws -> JSONValue?
    let signals: [String: @Sendable (AnyObject, JSONValue?, WorkflowContext) async throws -> Void]
    let queries: [String: @Sendable (AnyObject, JSONValue?) throws -> JSONValue?]

    public init<W: Workflow>(_ type: W.Type) {
        var handlers = WorkflowHandlers<W>()
        W.configure(&handlers)
        name = W.name
        make = { input in W(input: try PayloadCoding.decode(W.Input.self, from: input)) }
        run = { instance, context in
            guard let workflow = instance as? W else { throw WorkflowRuntimeError("instance is not a \(W.name)") }
            return try PayloadCoding.encode(try await workflow.run(context: context))
        }
        signals = handlers.signals.mapValues { handler in
            { instance, payload, context in
                guard let workflow = instance as? W else { throw WorkflowRuntimeError("instance is not a \(W.name)") }
                try await handler(workflow, payload, context)
            }
        }
        queries = handlers.queries.mapValues { handler in
            { instance, payload in
                guard let workflow = instance as? W else { throw WorkflowRuntimeError("instance is not a \(W.name)") }
                return try handler(workflow, payload)
            }
        }
    }

    /// The names of the signals this workflow handles.
    public var signalNames: [String] { signals.keys.sorted() }
    /// The names of the queries this workflow answers.
    public var queryNames: [String] { queries.keys.sorted() }
}
