/// Why an activity, a workflow or a workflow task failed, as recorded in history.
///
/// `type` names the error (activities' non-retryable error types are matched against it);
/// `nonRetryable` stops retries whatever the policy says.
public struct Failure: Sendable, Hashable, Codable, CustomStringConvertible {
    public var message: String
    public var type: String?
    public var nonRetryable: Bool?
    public var details: JSONValue?
    public var stackTrace: String?
    private var causes: [Failure]?

    public init(
        message: String, type: String? = nil, nonRetryable: Bool? = nil, details: JSONValue? = nil,
        stackTrace: String? = nil, cause: Failure? = nil
    ) {
        self.message = message
        self.type = type
        self.nonRetryable = nonRetryable
        self.details = details
        self.stackTrace = stackTrace
        self.causes = cause.map { [$0] }
    }

    /// The failure that caused this one, if any.
    public var cause: Failure? {
        get { causes?.first }
        set { causes = newValue.map { [$0] } }
    }

    public var description: String {
        var text = type.map { "\($0): \(message)" } ?? message
        if let cause { text += " (caused by \(cause))" }
        return text
    }

    private enum CodingKeys: String, CodingKey {
        case message, type, nonRetryable, details, stackTrace, cause
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try container.decode(String.self, forKey: .message)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        nonRetryable = try container.decodeIfPresent(Bool.self, forKey: .nonRetryable)
        details = try container.decodeIfPresent(JSONValue.self, forKey: .details)
        stackTrace = try container.decodeIfPresent(String.self, forKey: .stackTrace)
        causes = try container.decodeIfPresent(Failure.self, forKey: .cause).map { [$0] }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(message, forKey: .message)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(nonRetryable, forKey: .nonRetryable)
        try container.encodeIfPresent(details, forKey: .details)
        try container.encodeIfPresent(stackTrace, forKey: .stackTrace)
        try container.encodeIfPresent(cause, forKey: .cause)
    }
}
