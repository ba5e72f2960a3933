/// The machine-readable code of an error on the wire, e.g. `"NOT_FOUND"`.
///
/// Codes are strings so that a newer server can add codes an older client does not know;
/// such a client sees them as unknown codes and can still show the message.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A field is missing, has the wrong type or an invalid value. Fix the request; retrying it unchanged fails again.
    public static let invalidArgument = ErrorCode("INVALID_ARGUMENT")
    /// No workflow (or task, or query) with the given id exists.
    public static let notFound = ErrorCode("NOT_FOUND")
    /// A run with this workflow id is already open (conflict policy FAIL) or the reuse policy rejects a new run.
    public static let alreadyStarted = ErrorCode("ALREADY_STARTED")
    /// The workflow exists but its run is closed; signals, cancel and terminate need an open run.
    public static let workflowNotRunning = ErrorCode("WORKFLOW_NOT_RUNNING")
    /// The handshake carried no token or a wrong token.
    public static let unauthenticated = ErrorCode("UNAUTHENTICATED")
    /// The token's role may not perform the operation.
    public static let permissionDenied = ErrorCode("PERMISSION_DENIED")
    /// A request arrived before the handshake (`hello`). The connection is closed.
    public static let handshakeRequired = ErrorCode("HANDSHAKE_REQUIRED")
    /// The frame's length prefix exceeds the maximum frame length. The connection is closed.
    public static let frameTooLarge = ErrorCode("FRAME_TOO_LARGE")
    /// The frame is empty, is not UTF-8 JSON, or is not a message object. The connection is closed.
    public static let malformedFrame = ErrorCode("MALFORMED_FRAME")
    /// The client speaks a protocol version the server does not. The connection is closed.
    public static let unsupportedVersion = ErrorCode("UNSUPPORTED_VERSION")
    /// The operation name is not one the server knows.
    public static let unknownOperation = ErrorCode("UNKNOWN_OPERATION")
    /// No worker polls the task queue that would have to answer (queries).
    public static let noWorker = ErrorCode("NO_WORKER")
    /// The operation did not finish in time (queries, long polls with a deadline).
    public static let timeout = ErrorCode("TIMEOUT")
    /// The worker answered a query with an error (unknown query type, the handler threw).
    public static let queryFailed = ErrorCode("QUERY_FAILED")
    /// The connection has too many requests in flight, or the server is out of a resource.
    public static let resourceExhausted = ErrorCode("RESOURCE_EXHAUSTED")
    /// The server is shutting down or its storage failed; retry with the same request id.
    public static let unavailable = ErrorCode("UNAVAILABLE")
    /// A bug or an unexpected failure in the server.
    public static let `internal` = ErrorCode("INTERNAL")

    /// Every code this version of the protocol defines.
    public static let all: [ErrorCode] = [
        .invalidArgument, .notFound, .alreadyStarted, .workflowNotRunning, .unauthenticated, .permissionDenied,
        .handshakeRequired, .frameTooLarge, .malformedFrame, .unsupportedVersion, .unknownOperation, .noWorker,
        .timeout, .queryFailed, .resourceExhausted, .unavailable, .internal,
    ]

    /// Whether a client should close the connection after receiving this error: the server already did.
    public var closesConnection: Bool {
        self == .frameTooLarge || self == .malformedFrame || self == .unsupportedVersion
            || self == .handshakeRequired || self == .unauthenticated
    }
}

/// An error as the protocol carries it: a code, a message for people and optional details for programs.
///
/// Messages say what happened and what to do next, e.g.
/// `workflow incident-payment-api is already running (run 3f…); signal it or wait for it to close`.
public struct OrchestratorError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// Structured context, e.g. `{"runId": "…"}` on ALREADY_STARTED.
    public var details: JSONValue?

    public init(_ code: ErrorCode, _ message: String, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidArgument(_ message: String) -> OrchestratorError { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> OrchestratorError { .init(.notFound, message) }
    public static func `internal`(_ message: String) -> OrchestratorError { .init(.internal, message) }
}
