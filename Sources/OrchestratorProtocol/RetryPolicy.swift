/// How an activity is retried, with Temporal's defaults.
///
/// Attempt *n* (counting from 1) that fails is followed by attempt *n + 1* after
/// `min(initialInterval × backoffCoefficient^(n−1), maximumInterval)`, unless `maximumAttempts`
/// (0 = unlimited) is reached, the failure is non-retryable, or the schedule-to-close timeout would pass.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Delay before the second attempt. Default 1 000 ms.
    public var initialIntervalMs: Int64?
    /// Growth factor of the delay. Default 2.0; must be ≥ 1.
    public var backoffCoefficient: Double?
    /// Upper bound of the delay. Default 100 × the initial interval.
    public var maximumIntervalMs: Int64?
    /// Attempts in all, the first included. 0 or absent = unlimited.
    public var maximumAttempts: Int32?
    /// Failure types (`Failure.type`) that are never retried.
    public var nonRetryableErrorTypes: [String]?

    public init(
        initialIntervalMs: Int64? = nil, backoffCoefficient: Double? = nil, maximumIntervalMs: Int64? = nil,
        maximumAttempts: Int32? = nil, nonRetryableErrorTypes: [String]? = nil
    ) {
        self.initialIntervalMs = initialIntervalMs
        self.backoffCoefficient = backoffCoefficient
        self.maximumIntervalMs = maximumIntervalMs
        self.maximumAttempts = maximumAttempts
        self.nonRetryableErrorTypes = nonRetryableErrorTypes
    }

    public static let defaultInitialIntervalMs: Int64 = 1000
    public static let defaultBackoffCoefficient: Double = 2.0

    /// The policy with every default filled in.
    public var resolved: RetryPolicy {
        let initial = max(1, initialIntervalMs ?? Self.defaultInitialIntervalMs)
        return RetryPolicy(
            initialIntervalMs: initial,
            backoffCoefficient: max(1.0, backoffCoefficient ?? Self.defaultBackoffCoefficient),
            maximumIntervalMs: max(initial, maximumIntervalMs ?? initial * 100),
            maximumAttempts: max(0, maximumAttempts ?? 0),
            nonRetryableErrorTypes: nonRetryableErrorTypes ?? []
        )
    }

    /// The delay after failed attempt `attempt` (1-based) before the next one.
    public func delayAfter(attempt: Int32) -> Int64 {
        let policy = resolved
        let initial = Double(policy.initialIntervalMs ?? Self.defaultInitialIntervalMs)
        let factor = policy.backoffCoefficient ?? Self.defaultBackoffCoefficient
        let maximum = Double(policy.maximumIntervalMs ?? Int64(initial) * 100)
        let delay = initial * pow(factor, Double(max(0, attempt - 1)))
        return Int64(min(delay, maximum))
    }

    /// Whether another attempt may follow failed attempt `attempt` given this failure.
    public func allowsRetry(after attempt: Int32, failure: Failure) -> Bool {
        let policy = resolved
        if failure.nonRetryable == true { return false }
        if let type = failure.type, policy.nonRetryableErrorTypes?.contains(type) == true { return false }
        let maximum = policy.maximumAttempts ?? 0
        return maximum == 0 || attempt < maximum
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension RetryPolicy: CanonicalJSONEncodable {
    /// The policy's canonical JSON, written directly.
    public func canonicalJSON() throws -> [UInt8] {
        var object = CanonicalObjectWriter()
        try object.double("backoffCoefficient", backoffCoefficient)
        object.int("initialIntervalMs", initialIntervalMs)
        object.int("maximumAttempts", maximumAttempts.map(Int64.init))
        object.int("maximumIntervalMs", maximumIntervalMs)
        object.strings("nonRetryableErrorTypes", nonRetryableErrorTypes)
        return object.finish()
    }
}
