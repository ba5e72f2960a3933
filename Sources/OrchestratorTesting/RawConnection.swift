import Foundation
import NIOCore
import NIOPosix
import OrchestratorProtocol
import OrchestratorTransport
import Synchronization

/// A socket that sends raw bytes and reads raw frames: for testing how the server treats bad input.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: FrameCollector

    public static func connect(to address: ServerAddress) async throws -> RawConnection {
        let collector = FrameCollector()
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        let channel: any Channel
        switch address {
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        }
        return RawConnection(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: FrameCollector) {
        self.channel = channel
        self.collector = collector
    }

    /// Sends bytes as they are.
    public func send(bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(buffer)
    }

    /// Sends one well-formed frame around `json`.
    public func send(json: String) async throws {
        try await send(bytes: Frame.encode(body: Array(json.utf8)))
    }

    /// Sends a hello and returns the server's answer.
    public func hello(token: String? = nil, version: Int = ProtocolVersion.current) async throws -> ServerMessage? {
        let message = RequestMessage(
            id: 1, request: .hello(HelloRequest(protocolVersion: version, identity: "raw", token: token)))
        try await send(bytes: Frame.encode(body: Array(try MessageCodec.encode(message))))
        return try await nextMessage()
    }

    /// The next frame the server sent, decoded; nil if the connection closed first or `timeout` passed.
    public func nextMessage(timeout: Duration = .seconds(5)) async throws -> ServerMessage? {
        guard let frame = await collector.next(timeout: timeout) else { return nil }
        return try MessageCodec.decodeServerMessage(from: frame)
    }

    /// Waits until the server closes the connection; false if it is still open after `timeout`.
    public func waitUntilClosed(timeout: Duration = .seconds(5)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [channel] in
                try? await channel.closeFuture.get()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Closes with a reset (RST) instead of a clean close, as a killed process with unread data does.
    public func reset() async {
        if let provider = channel as? any SocketOptionProvider {
            _ = try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    public var isOpen: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Reassembles frames from the socket and hands them out in order.
final class FrameCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias Waiter = (id: UInt64, continuation: CheckedContinuation<[UInt8]?, Never>)

    private struct State {
        var buffer = ByteBuffer()
        var frames: [[UInt8]] = []
        var waiters: [Waiter] = []
        var closed = false
        var nextId: UInt64 = 1
    }
    private let state = Mutex(State())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        let resumed = state.withLock { state -> [(Waiter, [UInt8])] in
            state.buffer.writeBuffer(&incoming)
            while let length = state.buffer.getInteger(at: state.buffer.readerIndex, as: UInt32.self),
                state.buffer.readableBytes >= 4 + Int(length)
            {
                state.buffer.moveReaderIndex(forwardBy: 4)
                state.frames.append(state.buffer.readBytes(length: Int(length)) ?? [])
            }
            var pairs: [(Waiter, [UInt8])] = []
            while !state.waiters.isEmpty && !state.frames.isEmpty {
                pairs.append((state.waiters.removeFirst(), state.frames.removeFirst()))
            }
            return pairs
        }
        for (waiter, frame) in resumed { waiter.continuation.resume(returning: frame) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    func next(timeout: Duration) async -> [UInt8]? {
        let id = state.withLock { state in
            defer { state.nextId += 1 }
            return state.nextId
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let expired = self.state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            expired?.continuation.resume(returning: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let immediate: [UInt8]?? = state.withLock { state in
                if !state.frames.isEmpty { return .some(state.frames.removeFirst()) }
                if state.closed { return .some(nil) }
                state.waiters.append((id, continuation))
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}
