import NIOCore

/// Runs tasks on one event loop: a task that prefers it (`executorPreference:`) runs its jobs on
/// the loop's thread, beside the channels of that loop and any actor whose executor the loop is.
///
/// Such a task that enters an actor whose executor is the same loop is queued again at the actor's
/// awaits (the actor's job runs without this task executor), so other jobs may run between a check
/// and what follows an await: an actor served this way checks again where it registers a waiter.
/// That re-queue also lets more requests join each of the engine's commits; one object serving as
/// both executors would remove it, and cost the server about 8 % more CPU (docs/performance.md).
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
