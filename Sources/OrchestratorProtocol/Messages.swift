import Foundation

/// The protocol version this module speaks.
public enum ProtocolVersion {
    public static let current = 1
    public static let supported: ClosedRange<Int> = 1...1
}

/// A request from a client or worker: `{"id": 7, "op": "signalWorkflow", "body": {…}}`.
///
/// Ids are chosen by the sender, must be ≥ 1, and match the response to its request; many requests
/// may be in flight on one connection and responses may come in any order.
public struct RequestMessage: Sendable, Hashable {
    public var id: UInt64
    public var request: Request

    public init(id: UInt64, request: Request) {
        self.id = id
        self.request = request
    }
}

/// A message from the server: a response, an error, or a push (a server-initiated message).
///
/// - response: `{"id": 7, "op": "signalWorkflow", "result": {…}}`
/// - error: `{"id": 7, "error": {"code": "NOT_FOUND", "message": "…"}}`; `id` 0 for errors about the connection
/// - push: `{"push": "workflowQuery", "body": {…}}` or `{"push": "workflowTask", "body": {…}}`
public enum ServerMessage: Sendable, Hashable {
    case response(id: UInt64, Response)
    case error(id: UInt64, OrchestratorError)
    case push(Push)
}

/// Messages the server sends without being asked.
public enum Push: Sendable, Hashable {
    /// Answer with `respondQuery`.
    case workflowQuery(WorkflowQuery)
    /// A workflow task started for this connection without a poll, because a query it carries waits
    /// for it (to connections that poll with `acceptsPushedWorkflowTasks`). Run it and complete it
    /// as a polled one.
    case workflowTask(WorkflowTask)

    public var name: String {
        switch self {
        case .workflowQuery: "workflowQuery"
        case .workflowTask: "workflowTask"
        }
    }
}

/// Why a request frame could not be turned into a request.
public enum RequestDecodingError: Error, Sendable, Hashable {
    /// Not a JSON object with a positive integer `id` and a string `op`: a protocol violation.
    case malformed(String)
    /// A well-formed request naming an operation the server does not know.
    case unknownOperation(id: UInt64, op: String)
    /// A known operation whose body has a missing field, a wrong type or an invalid value.
    case invalidBody(id: UInt64, op: OperationName, message: String)

    /// The error to answer with.
    public var error: OrchestratorError {
        switch self {
        case .malformed(let message):
            return OrchestratorError(.malformedFrame, message)
        case .unknownOperation(_, let op):
            return OrchestratorError(
                .unknownOperation,
                "unknown operation '\(op)'; see Protocol/README.md for the operations of version \(ProtocolVersion.current)"
            )
        case .invalidBody(_, let op, let message):
            return OrchestratorError(.invalidArgument, "invalid \(op.rawValue) request: \(message)")
        }
    }

    /// The request id to answer, or 0 when the frame had none.
    public var requestId: UInt64 {
        switch self {
        case .malformed: 0
        case .unknownOperation(let id, _), .invalidBody(let id, _, _): id
        }
    }
}

extension RequestMessage: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, op, body
    }

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<CodingKeys>
        do {
            container = try decoder.container(keyedBy: CodingKeys.self)
        } catch {
            throw RequestDecodingError.malformed("a request must be a JSON object with id, op and body")
        }
        guard let id = try? container.decode(UInt64.self, forKey: .id), id > 0 else {
            throw RequestDecodingError.malformed("a request needs a positive integer 'id'")
        }
        guard let opName = try? container.decode(String.self, forKey: .op) else {
            throw RequestDecodingError.malformed("request \(id) needs a string 'op'")
        }
        guard let op = OperationName(rawValue: opName) else {
            throw RequestDecodingError.unknownOperation(id: id, op: opName)
        }
        do {
            self.request = try Request(operation: op, from: container, forKey: .body)
        } catch let error as DecodingError {
            throw RequestDecodingError.invalidBody(id: id, op: op, message: error.readableDescription)
        } catch let error as RequestDecodingError {
            throw error
        } catch {
            throw RequestDecodingError.invalidBody(id: id, op: op, message: "\(error)")
        }
        self.id = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(request.operation, forKey: .op)
        try request.encodeBody(to: &container, forKey: .body)
    }
}

extension ServerMessage: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, op, result, error, push, body
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let pushName = try container.decodeIfPresent(String.self, forKey: .push) {
            switch pushName {
            case "workflowQuery":
                self = .push(.workflowQuery(try container.decode(WorkflowQuery.self, forKey: .body)))
            case "workflowTask":
                self = .push(.workflowTask(try container.decode(WorkflowTask.self, forKey: .body)))
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .push, in: container, debugDescription: "unknown push '\(pushName)'")
            }
            return
        }
        let id = try container.decode(UInt64.self, forKey: .id)
        if let error = try container.decodeIfPresent(OrchestratorError.self, forKey: .error) {
            self = .error(id: id, error)
            return
        }
        let op = try container.decode(OperationName.self, forKey: .op)
        self = .response(id: id, try Response(operation: op, from: container, forKey: .result))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .response(let id, let response):
            try container.encode(id, forKey: .id)
            try container.encode(response.operation, forKey: .op)
            try response.encodeResult(to: &container, forKey: .result)
        case .error(let id, let error):
            try container.encode(id, forKey: .id)
            try container.encode(error, forKey: .error)
        case .push(let push):
            try container.encode(push.name, forKey: .push)
            switch push {
            case .workflowQuery(let query): try container.encode(query, forKey: .body)
            case .workflowTask(let task): try container.encode(task, forKey: .body)
            }
        }
    }
}

extension DecodingError {
    /// "body.workflowId: expected String, found a number" and the like.
    public var readableDescription: String {
        func path(_ context: Context, _ key: (any CodingKey)? = nil) -> String {
            var keys = context.codingPath
            if let key { keys.append(key) }
            if keys.count > 1 && keys.first?.stringValue == "body" { keys.removeFirst() }
            let names = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            let text = names.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
            return text.isEmpty ? "the message" : "'\(text)'"
        }
        switch self {
        case .keyNotFound(let key, let context):
            return "\(path(context, key)) is required"
        case .typeMismatch(let type, let context):
            return "\(path(context)) must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context)) must be \(Self.typeName(type)), not null"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type: "an integer"
        case is Double.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
