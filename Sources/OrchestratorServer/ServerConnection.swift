import Foundation
import Logging
import NIOCore
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorTransport

/// The engine's handle on a socket connection: pushes go out as frames on the channel.
final class ServerConnection: EngineConnection {
    let connectionId: UInt64
    let identity: String
    let role: Role
    private let channel: any Channel
    private let outbound: OutboundFrames

    init(connectionId: UInt64, identity: String, role: Role, channel: any Channel) {
        self.connectionId = connectionId
        self.identity = identity
        self.role = role
        self.channel = channel
        self.outbound = OutboundFrames(channel: channel)
    }

    func push(_ push: Push) {
        send(.push(push))
    }

    /// Encodes and queues a message; errors (a closed channel) are dropped: the connection is going away.
    ///
    /// Messages sent while the event loop is busy go out together: one hop to the loop and one flush
    /// (one `writev`) for all of them, instead of one of each per frame.
    func send(_ message: ServerMessage) {
        guard let bytes = try? MessageCodec.encodeBytes(message) else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        outbound.enqueue(buffer)
    }

    /// Encodes and writes a message at once, outside any batch (the handshake timer's refusal).
    static func send(_ message: ServerMessage, on channel: any Channel) {
        guard let bytes = try? MessageCodec.encodeBytes(message) else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }
}
