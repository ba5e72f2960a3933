import NIOCore

/// Runs tasks on one event loop: a task that prefers it (`executorPreference:`) runs its jobs on
/// the loop's thread, beside the channels of that loop and any actor whose executor the loop is.
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
