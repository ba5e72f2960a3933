import DequeModule
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The serial executor a run's workflow code runs on, one job at a time, until none is left.
///
/// The runtime drains it on its workflow thread after applying history; every job therefore runs
/// at a point fixed by history, and the order of jobs is the order their awaits were resumed.
/// A job that arrives while the runtime is not applying history or draining came from outside
/// (`Task.sleep`, an actor, I/O): it is counted, and the runner fails the workflow task for it.
final class WorkflowExecutor: TaskExecutor, @unchecked Sendable {
    private struct State {
        var jobs = Deque<UnownedJob>()
        /// The thread that applies history or drains, while it does.
        var owner: pthread_t?
        var foreignJobs = 0
    }
    private let state = Mutex(State())

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let current = pthread_self()
        state.withLock { state in
            if let owner = state.owner, pthread_equal(owner, current) != 0 {
            } else {
                state.foreignJobs += 1
            }
            state.jobs.append(job)
        }
    }

    /// Runs `body` as the runtime: jobs it causes on this thread (resumed awaits, new tasks) are expected.
    func owned<T>(_ body: () throws -> T) rethrows -> T {
        let current = pthread_self()
        let wasOwned = state.withLock { state in
            defer { state.owner = current }
            return state.owner != nil
        }
        defer { if !wasOwned { state.withLock { $0.owner = nil } } }
        return try body()
    }

    /// Runs jobs until none is left. Returns how many ran.
    @discardableResult
    func drain() -> Int {
        owned {
            var count = 0
            while let job = state.withLock({ $0.jobs.popFirst() }) {
                job.runSynchronously(on: asUnownedTaskExecutor())
                count += 1
            }
            return count
        }
    }

    /// Jobs that arrived from outside since the last call; resets the count.
    func takeForeignJobCount() -> Int {
        state.withLock { state in
            defer { state.foreignJobs = 0 }
            return state.foreignJobs
        }
    }
}

/// Carries a value confined to the workflow thread across APIs that demand `Sendable`.
/// Safe because the runtime touches it from one thread at a time only.
struct Confined<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
