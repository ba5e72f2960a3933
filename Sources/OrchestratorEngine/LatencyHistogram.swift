/// Durations counted in buckets of 0.1 ms up to 100 ms (longer ones in one more bucket), from
/// which percentiles are read. Recording is an increment, so the engine keeps several on its hot
/// paths and logs them with its statistics when the server stops: where a workflow task or a query
/// spends its time, without a profiler.
public struct LatencyHistogram: Sendable, Hashable, CustomStringConvertible {
    static let bucketMicroseconds: Int64 = 100
    static let bucketCount = 1_000

    /// Empty until the first duration, so that statistics nobody records cost nothing.
    private var counts: [UInt32] = []
    public private(set) var count = 0
    private var totalMicroseconds: Int64 = 0
    public private(set) var maximumMicroseconds: Int64 = 0

    public init() {}

    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        if counts.isEmpty { counts = [UInt32](repeating: 0, count: Self.bucketCount + 1) }
        let bucket = Int(min(microseconds / Self.bucketMicroseconds, Int64(Self.bucketCount)))
        counts[bucket] &+= 1
        count += 1
        totalMicroseconds += microseconds
        maximumMicroseconds = max(maximumMicroseconds, microseconds)
    }

    /// The duration in milliseconds that `fraction` (0...1) of the recorded ones do not exceed, to
    /// the bucket's upper edge (the largest recorded duration for the last bucket); nil when empty.
    public func percentile(_ fraction: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (bucket, n) in counts.enumerated() {
            seen += Int(n)
            if seen >= rank {
                if bucket == Self.bucketCount { return Double(maximumMicroseconds) / 1000 }
                return min(Double(Int64(bucket + 1) * Self.bucketMicroseconds), Double(maximumMicroseconds)) / 1000
            }
        }
        return Double(maximumMicroseconds) / 1000
    }

    public var meanMilliseconds: Double? { count > 0 ? Double(totalMicroseconds) / Double(count) / 1000 : nil }

    public var description: String {
        guard let mean = meanMilliseconds, let p50 = percentile(0.5), let p90 = percentile(0.9),
            let p99 = percentile(0.99)
        else { return "none" }
        func ms(_ value: Double) -> String { "\((value * 100).rounded() / 100)" }
        return
            "n=\(count) mean=\(ms(mean))ms p50=\(ms(p50)) p90=\(ms(p90)) p99=\(ms(p99)) max=\(ms(Double(maximumMicroseconds) / 1000))"
    }
}

extension EngineLatencies {
    /// A workflow task's wait from its scheduling to its start, by where it waited.
    mutating func recordStart(waitedAt location: WorkflowTaskLocation, for waited: Duration) {
        switch location {
        case .notReady: taskStartedAtCommit.record(waited)
        case .returnedWithCompletion: taskReturnedWithCompletion.record(waited)
        case .sticky: taskWaitedForStickyPoll.record(waited)
        case .queued: taskWaitedInQueue.record(waited)
        case .started, .backoff: break
        }
    }

    /// A query's time from its arrival to its answer, by where the run's task was when it arrived.
    mutating func recordQuery(_ path: QueryPath, took: Duration) {
        switch path {
        case .noTaskPending: queryNoTaskPending.record(took)
        case .coveredByStartedTask: queryCoveredByStartedTask.record(took)
        case .aheadOfTask: queryAheadOfTask.record(took)
        case .waitedForTask: queryWaitedForTask.record(took)
        }
    }

}

extension EngineLatencies: CustomStringConvertible {
    /// Every histogram by its name, as `name: n=… mean=… p50=…`, separated by semicolons.
    public var description: String {
        Mirror(reflecting: self).children.compactMap { child in
            (child.value as? LatencyHistogram).map { "\(child.label ?? "?"): \($0)" }
        }.joined(separator: "; ")
    }
}
