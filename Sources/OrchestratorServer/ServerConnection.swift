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
    /// Every frame to this connection, in order, handshake included.
    let outbound: OutboundFrames

    init(connectionId: UInt64, identity: String, role: Role, outbound: OutboundFrames) {
        self.connectionId = connectionId
        self.identity = identity
        self.role = role
        self.outbound = outbound
    }

    func push(_ push: Push) {
        send(.push(push))
    }

    /// Encodes and queues a message; errors (a closed channel) are dropped: the connection is going away.
    ///
    /// Messages sent while the event loop is busy go out together: one hop to the loop and one flush
    /// (one `writev`) for all of them, instead of one of each per frame.
    func send(_ message: ServerMessage) {
        try? outbound.enqueue(encoding: message)
    }
}
