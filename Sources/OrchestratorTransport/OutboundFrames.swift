import NIOCore
import OrchestratorProtocol
import Synchronization

/// Frames waiting for a channel's event loop, written and flushed together.
///
/// Frames queued from other threads while the loop is busy go out as one batch: one hop to the loop
/// and one flush (one `writev`) for all of them, instead of one of each per frame. Order is kept.
public final class OutboundFrames: Sendable {
    private struct State {
        var pending: [(frame: ByteBuffer, promise: EventLoopPromise<Void>?)] = []
        var drainScheduled = false
    }

    /// The channel the frames go to.
    public let channel: any Channel
    private let state = Mutex(State())

    public init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues a frame body (the pipeline prepends its length); `promise` completes once it is written,
    /// as with `Channel.write(_:promise:)`.
    public func enqueue(_ frame: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        let schedule = state.withLock { state in
            state.pending.append((frame, promise))
            if state.drainScheduled { return false }
            state.drainScheduled = true
            return true
        }
        if schedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    /// Encodes a message canonically and queues it.
    public func enqueue(encoding message: some Encodable, promise: EventLoopPromise<Void>? = nil) throws {
        enqueue(channel.allocator.buffer(bytes: try MessageCodec.encodeBytes(message)), promise: promise)
    }

    /// Queues a message and waits until it is written, after everything queued before it.
    public func write(encoding message: some Encodable) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try enqueue(encoding: message, promise: promise)
        try await promise.futureResult.get()
    }

    private func drain() {
        let batch = state.withLock { state in
            state.drainScheduled = false
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            return batch
        }
        for (frame, promise) in batch {
            channel.write(frame, promise: promise)
        }
        channel.flush()
    }
}
