import Foundation
import Logging
import NIOCore
import OrchestratorEngine
import OrchestratorProtocol

/// The engine's handle on a socket connection: pushes go out as frames on the channel.
final class ServerConnection: EngineConnection {
    let connectionId: UInt64
    let identity: String
    let role: Role
    private let channel: any Channel

    init(connectionId: UInt64, identity: String, role: Role, channel: any Channel) {
        self.connectionId = connectionId
        self.identity = identity
        self.role = role
        self.channel = channel
    }

    func push(_ push: Push) {
        send(.push(push))
    }

    /// Encodes and writes a message; errors (a closed channel) are dropped: the connection is going away.
    func send(_ message: ServerMessage) {
        Self.send(message, on: channel)
    }

    static func send(_ message: ServerMessage, on channel: any Channel) {
        guard let data = try? MessageCodec.encode(message) else { return }
        var buffer = channel.allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        channel.writeAndFlush(buffer, promise: nil)
    }
}
