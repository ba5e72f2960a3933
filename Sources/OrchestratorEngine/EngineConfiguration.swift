import OrchestratorProtocol

/// Settings of the engine. Defaults follow Temporal where Temporal has one.
public struct EngineConfiguration: Sendable {
    /// Workflow task start-to-close timeout when a start does not give one. Temporal: 10 s.
    public var defaultWorkflowTaskTimeoutMs: Int64 = 10_000
    /// How long a workflow task waits for its sticky connection to poll before any poller may take it.
    public var stickyScheduleToStartTimeoutMs: Int64 = 1_000
    /// Long-poll limit of polls and history waits that give none.
    public var defaultLongPollTimeoutMs: Int64 = 60_000
    /// The largest long-poll limit accepted.
    public var maximumLongPollTimeoutMs: Int64 = 300_000
    /// How long a query waits for a worker's answer when the request gives no limit.
    public var defaultQueryTimeoutMs: Int64 = 10_000
    /// How often expired long polls and queries are answered.
    public var longPollSweepIntervalMs: Int64 = 100
    /// The longest workflow id, task queue, type or signal name accepted (bytes of UTF-8).
    public var maximumIdentifierLength = 1_000
    /// Delay before a failed workflow task is retried: attempt 2 at once, then doubling from 1 s up to this.
    public var maximumWorkflowTaskRetryIntervalMs: Int64 = 60_000

    /// The most history events a workflow task carries; a worker fetches older ones page by page.
    public var maximumEventsPerTask = 1_000
    /// The bytes of stored event attributes a history page may carry (keeps responses under the frame limit).
    public var maximumHistoryPageBytes = 2 * 1024 * 1024
    /// Request ids the in-memory filter holds before it is rebuilt twice as large (16 bits each:
    /// 2 MiB for the default). 0 turns the filter off: every new request id is looked up in the store.
    public var requestIdFilterCapacity = 1 << 20
    /// Workflow ids the in-memory filter of ids that have had a run holds before it is rebuilt
    /// twice as large (16 bits each: 512 KiB for the default). 0 turns the filter off: every start
    /// of a workflow id not in memory looks up the id's latest run in the store.
    public var workflowIdFilterCapacity = 1 << 18

    public init() {}
}
