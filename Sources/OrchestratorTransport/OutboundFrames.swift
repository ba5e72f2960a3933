import NIOCore
import Synchronization

/// Frames waiting for a channel's event loop, written and flushed together.
///
/// Frames queued from other threads while the loop is busy go out as one batch: one hop to the loop
/// and one flush (one `writev`) for all of them, instead of one of each per frame. Order is kept.
public final class OutboundFrames: Sendable {
    private struct Pending {
        var frame: ByteBuffer
        var onFailure: (@Sendable (any Error) -> Void)?
    }

    private struct State {
        var pending: [Pending] = []
        var drainScheduled = false
    }

    /// The channel the frames go to.
    public let channel: any Channel
    private let state = Mutex(State())

    public init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues a frame body (the pipeline prepends its length); `onFailure` hears if it cannot be written.
    public func enqueue(_ frame: ByteBuffer, onFailure: (@Sendable (any Error) -> Void)? = nil) {
        let schedule = state.withLock { state in
            state.pending.append(Pending(frame: frame, onFailure: onFailure))
            if state.drainScheduled { return false }
            state.drainScheduled = true
            return true
        }
        if schedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    private func drain() {
        let batch = state.withLock { state in
            state.drainScheduled = false
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            return batch
        }
        for item in batch {
            if let onFailure = item.onFailure {
                let promise = channel.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenFailure(onFailure)
                channel.write(item.frame, promise: promise)
            } else {
                channel.write(item.frame, promise: nil)
            }
        }
        channel.flush()
    }
}
