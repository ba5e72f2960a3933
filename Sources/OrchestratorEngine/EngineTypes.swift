import DequeModule
import OrchestratorProtocol

/// A workflow task handed to a poller, before the part of history the worker may lack is attached.
public struct WorkflowTaskDelivery: Sendable {
    /// The task; `events` holds the events after `previousStartedEventId` (what a sticky worker needs).
    public var task: WorkflowTask
    /// When the worker gets the whole history (it is not the sticky connection): the events
    /// `1...historyPrefixThrough` to read from the store and put before `task.events`. 0 = none.
    public var historyPrefixThrough: Int64
    let runSeq: Int64
}

/// A long poll waiting for a task.
struct Poller<Output> {
    var id: UInt64
    var connectionId: UInt64
    var deadline: Timestamp
    var continuation: CheckedContinuation<Output?, Never>
}

/// The address of one attempt of an activity.
struct ActivityRef: Hashable {
    var runSeq: Int64
    var scheduledEventId: Int64
    var attempt: Int32
}

/// A task queue: ready tasks and waiting pollers, of both kinds.
struct TaskQueueState {
    var workflowTasks = Deque<Int64>()
    /// Of `workflowTasks`, those a query waits for, in the order the queries came: served first.
    var queriedWorkflowTasks = Deque<Int64>()
    var activityTasks = Deque<ActivityRef>()
    var workflowPollers = Deque<Poller<WorkflowTaskDelivery>>()
    var activityPollers = Deque<Poller<ActivityTask>>()
}

/// What the engine knows of a connection.
final class ConnectionState {
    let handle: any EngineConnection
    /// Task queues this connection has polled for workflow tasks (it can answer queries for them).
    var workflowQueues: Set<String> = []
    /// Workflow tasks waiting for this connection because it caches their runs.
    var stickyTasks = Deque<Int64>()
    /// Of `stickyTasks`, those a query waits for, in the order the queries came: served first.
    var queriedStickyTasks = Deque<Int64>()
    var heldWorkflowTasks: Set<Int64> = []
    var heldActivities: Set<ActivityRef> = []
    var pendingQueries: Set<String> = []
    /// Whether its workflow tasks may carry queries (it polls with `answersQueriesInTasks`).
    var answersQueriesInTasks = false
    /// Whether queries covered by a task it holds are pushed to it at once, with the task's token (it
    /// polls with `answersQueriesOfStartedTasks`).
    var answersQueriesOfStartedTasks = false
    /// Whether a task a query waits for is started and pushed to it rather than left waiting for its
    /// poll (it polls with `acceptsPushedWorkflowTasks` and `answersQueriesInTasks`).
    var acceptsPushedWorkflowTasks = false
    /// Whether a task a query waits for may be pushed to it: the task carries the query.
    var takesPushedTasks: Bool { acceptsPushedWorkflowTasks && answersQueriesInTasks }
    var lastPollTime: Timestamp

    init(handle: any EngineConnection, now: Timestamp) {
        self.handle = handle
        self.lastPollTime = now
    }

    var id: UInt64 { handle.connectionId }
}

/// A query waiting for its answer.
struct PendingQuery {
    var query: WorkflowQuery
    /// The connection that asked; if it closes, the query is dropped.
    var originConnectionId: UInt64
    var runSeq: Int64?
    var deadline: Timestamp
    var connectionId: UInt64?
    /// Where its answer goes; the asker waits on it outside the actor.
    var answer: Outcome<Result<JSONValue?, OrchestratorError>>
    /// When it arrived, and where the run's workflow task was then (statistics only).
    var askedAt = ContinuousClock.now
    var path = QueryPath.noTaskPending
}

/// Where a run's workflow task was when a query arrived, which decides what the query waits for.
enum QueryPath {
    /// None was pending: the query went to a worker at once.
    case noTaskPending
    /// The run's worker held a started task that lacks no acknowledged event: it answers in that
    /// task's completion, or right after it.
    case coveredByStartedTask
    /// The pending task carries only events still to commit: the run's worker answered at once.
    case aheadOfTask
    /// The worker had yet to apply an acknowledged event: the query waited for the task carrying it.
    case waitedForTask
}

/// A client waiting for new history events or for a run to close. It is resumed with what it waits
/// for, or with nil when it should look again (its deadline passed, its connection closed, the server
/// is stopping).
struct RunWaiter<Value: Sendable> {
    var id: UInt64
    /// The connection that waits; if it closes, the wait ends.
    var originConnectionId: UInt64
    var deadline: Timestamp
    var continuation: CheckedContinuation<Value?, Never>
}

/// A run that closed, as a result wait is answered: taken from memory when the run closed while
/// the wait was registered, so that the answer needs no read of the run's row or closing event.
struct ClosedRun: Sendable {
    var runSeq: Int64
    var runId: String
    var status: WorkflowExecutionStatus
    /// The closing event's attributes; nil when the run was found in the store (they are read there).
    var closeEvent: EventAttributes?
}

/// Timers the engine keeps in its heap; each is checked against the state when it fires.
enum TimerKind: Hashable {
    case user(runSeq: Int64, timerId: String, startedEventId: Int64)
    case activityRetry(runSeq: Int64, scheduledEventId: Int64, attempt: Int32)
    case activityDeadline(runSeq: Int64, scheduledEventId: Int64)
    case activityStartToClose(ActivityRef)
    case activityHeartbeat(ActivityRef)
    case workflowTaskStartToClose(runSeq: Int64, scheduledEventId: Int64, startedEventId: Int64)
    case workflowTaskRetry(runSeq: Int64)
    case stickyFallback(runSeq: Int64, scheduledEventId: Int64)
}

struct TimerEntry: Comparable {
    var fireTime: Int64
    var seq: UInt64
    var kind: TimerKind

    static func < (lhs: TimerEntry, rhs: TimerEntry) -> Bool {
        (lhs.fireTime, lhs.seq) < (rhs.fireTime, rhs.seq)
    }
    static func == (lhs: TimerEntry, rhs: TimerEntry) -> Bool { lhs.seq == rhs.seq }
}

/// Work done once a batch is durable.
enum PostCommitAction {
    case workflowTaskReady(runSeq: Int64, scheduledEventId: Int64)
    case activityReady(ActivityRef)
    case historyAdvanced(runSeq: Int64, through: Int64)
    case runClosed(runSeq: Int64, closeEvent: EventAttributes)
    case forgetRequestIds([String])
    case deliverQueries(runSeq: Int64)
}

/// Durable-key names of timers in the store.
enum TimerKey {
    static func user(_ timerId: String) -> String { "user/\(timerId)" }
    static func activityRetry(_ scheduledEventId: Int64) -> String { "activity-retry/\(scheduledEventId)" }
    static let workflowTaskRetry = "workflow-task-retry"
}

/// Task tokens: opaque to workers, parsed here.
enum TaskToken {
    static func workflow(runSeq: Int64, scheduledEventId: Int64, startedEventId: Int64) -> String {
        "wt.\(runSeq).\(scheduledEventId).\(startedEventId)"
    }
    static func activity(_ ref: ActivityRef) -> String {
        "at.\(ref.runSeq).\(ref.scheduledEventId).\(ref.attempt)"
    }
    static func parseWorkflow(_ token: String) -> (runSeq: Int64, scheduledEventId: Int64, startedEventId: Int64)? {
        fields(of: token, prefix: UInt8(ascii: "w"))
    }
    static func parseActivity(_ token: String) -> ActivityRef? {
        guard let (a, b, c) = fields(of: token, prefix: UInt8(ascii: "a")), let attempt = Int32(exactly: c) else {
            return nil
        }
        return ActivityRef(runSeq: a, scheduledEventId: b, attempt: attempt)
    }
    /// The three numbers of `?t.a.b.c` (`prefix` is the first letter), each a non-negative decimal
    /// of at most 18 digits, read from the token's UTF-8 bytes: it is read on every completion.
    private static func fields(of token: String, prefix: UInt8) -> (Int64, Int64, Int64)? {
        var token = token
        return token.withUTF8 { bytes -> (Int64, Int64, Int64)? in
            guard bytes.count >= 8, bytes[0] == prefix, bytes[1] == UInt8(ascii: "t") else { return nil }
            var index = 2
            func next() -> Int64? {
                guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return nil }
                index += 1
                let start = index
                var value: Int64 = 0
                while index < bytes.count, index - start < 18, (48...57).contains(bytes[index]) {
                    value = value * 10 + Int64(bytes[index] - 48)
                    index += 1
                }
                return index > start ? value : nil
            }
            guard let first = next(), let second = next(), let third = next(), index == bytes.count else { return nil }
            return (first, second, third)
        }
    }
}
