import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OrchestratorProtocol
import OrchestratorTransport
import Synchronization

/// A connection to the orchestrator server: requests in flight in parallel, pushes as a stream.
///
/// ```swift
/// let client = try await OrchestratorClient.connect(to: .fromEnvironment(), identity: "starter")
/// let run = try await client.send(StartWorkflowRequest(workflowId: "w1", workflowType: "T", taskQueue: "q"))
/// ```
public final class OrchestratorClient: Sendable {
    public let address: ServerAddress
    public let identity: String
    /// What the server said in the handshake.
    public let hello: HelloResponse
    /// Queries and other messages the server sends unasked.
    public let pushes: AsyncStream<Push>

    private let outbound: OutboundFrames
    private var channel: any Channel { outbound.channel }
    private let state: ClientState

    private init(
        address: ServerAddress, identity: String, hello: HelloResponse, outbound: OutboundFrames, state: ClientState
    ) {
        self.address = address
        self.identity = identity
        self.hello = hello
        self.outbound = outbound
        self.state = state
        self.pushes = state.pushes
    }

    /// Connects and performs the handshake.
    ///
    /// Throws ``ConnectionError`` with advice when nothing listens at `address`, and the server's
    /// error when it refuses the handshake (a wrong token: UNAUTHENTICATED).
    /// The largest frame a client accepts from the server by default (the server bounds what it sends
    /// far below this; a large limit here only guards against a broken peer).
    public static let defaultMaximumInboundFrameLength = 64 * 1024 * 1024

    public static func connect(
        to address: ServerAddress, identity: String, token: String? = nil,
        maximumFrameLength: Int = defaultMaximumInboundFrameLength,
        tls: NIOSSLContext? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5)
    ) async throws -> OrchestratorClient {
        let state = ClientState()
        var tlsHandler: NIOSSLClientHandler?
        if let tls, case .tcp(let host, _) = address {
            tlsHandler = try OrchestratorTLS.clientHandler(context: tls, host: host)
        }
        let handler = Confined(tlsHandler)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsHandler = handler.value { try channel.pipeline.syncOperations.addHandler(tlsHandler) }
                    try channel.pipeline.syncOperations.addOrchestratorFraming(maximumFrameLength: maximumFrameLength)
                    try channel.pipeline.syncOperations.addHandler(ClientInboundHandler(state: state))
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .unix(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .tcp(let host, let port):
                channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch {
            throw ConnectionError(address: address, underlying: error)
        }
        let outbound = OutboundFrames(channel: channel)
        let response: ServerMessage
        do {
            response = try await state.send(
                RequestMessage(id: state.nextId(), request: .hello(HelloRequest(identity: identity, token: token))),
                via: outbound)
        } catch {
            channel.close(promise: nil)
            throw error
        }
        switch response {
        case .response(_, .hello(let hello)):
            return OrchestratorClient(
                address: address, identity: identity, hello: hello, outbound: outbound, state: state)
        case .error(_, let error):
            channel.close(promise: nil)
            throw error
        default:
            channel.close(promise: nil)
            throw OrchestratorError(.internal, "the server answered the handshake with something else than hello")
        }
    }

    /// Sends a typed request and returns its typed result, or throws the server's ``OrchestratorError``.
    public func send<Body: RequestBody>(_ body: Body) async throws -> Body.Result {
        try await send(body, id: state.nextId())
    }

    /// Sends a typed request that ``cancel(_:)`` can end from outside the calling task (a long
    /// poll a worker stops); it then throws `CancellationError`.
    public func send<Body: RequestBody>(_ body: Body, handle: RequestHandle) async throws -> Body.Result {
        try await send(body, id: handle.id)
    }

    private func send<Body: RequestBody>(_ body: Body, id: UInt64) async throws -> Body.Result {
        let response = try await send(body.request, id: id)
        guard let result = Body.result(from: response) else {
            throw OrchestratorError(
                .internal, "the server answered \(Body.operation.rawValue) with a \(response.operation.rawValue) result"
            )
        }
        return result
    }

    /// A handle for one request to be sent with ``send(_:handle:)``.
    public func makeRequestHandle() -> RequestHandle { RequestHandle(id: state.makeHandleId()) }

    /// Ends the request sent (or yet to be sent) with `handle`: it throws `CancellationError`.
    public func cancel(_ handle: RequestHandle) {
        state.cancel(id: handle.id)
    }

    /// Sends any request and returns the server's response.
    public func send(_ request: Request) async throws -> Response {
        try await send(request, id: state.nextId())
    }

    private func send(_ request: Request, id: UInt64) async throws -> Response {
        let message = RequestMessage(id: id, request: request)
        switch try await state.send(message, via: outbound) {
        case .response(_, let response): return response
        case .error(_, let error): throw error
        case .push: throw OrchestratorError(.internal, "a push arrived as a response")
        }
    }

    /// Whether the connection is still open.
    public var isConnected: Bool { channel.isActive }

    /// Closes the connection; requests in flight fail with UNAVAILABLE.
    public func close() async {
        try? await channel.close()
    }

    /// Returns when the connection has closed (either side).
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }
}

/// Names one request, so that it can be cancelled from outside its task.
public struct RequestHandle: Sendable, Hashable {
    let id: UInt64
}

/// Requests in flight and the push stream, shared with the channel handler.
final class ClientState: Sendable {
    private struct Inner {
        var pending: [UInt64: CheckedContinuation<ServerMessage, any Error>] = [:]
        /// Handles made and not sent yet: true once cancelled.
        var unsentHandles: [UInt64: Bool] = [:]
        var closedError: (any Error)?
    }
    private let inner = Mutex(Inner())
    private let ids = Atomic<UInt64>(1)
    let pushes: AsyncStream<Push>
    private let pushContinuation: AsyncStream<Push>.Continuation

    init() {
        (pushes, pushContinuation) = AsyncStream.makeStream(of: Push.self)
    }

    func nextId() -> UInt64 { ids.wrappingAdd(1, ordering: .relaxed).oldValue }

    func makeHandleId() -> UInt64 {
        let id = nextId()
        inner.withLock { $0.unsentHandles[id] = false }
        return id
    }

    func send(_ message: RequestMessage, via outbound: OutboundFrames) async throws -> ServerMessage {
        let frame = outbound.channel.allocator.buffer(bytes: try MessageCodec.encodeBytes(message))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let closed = inner.withLock { inner -> (any Error)? in
                    if let error = inner.closedError { return error }
                    if inner.unsentHandles.removeValue(forKey: message.id) == true { return CancellationError() }
                    inner.pending[message.id] = continuation
                    return nil
                }
                if let closed {
                    continuation.resume(throwing: closed)
                    return
                }
                // Cancelled before the request was registered: the cancellation handler found nothing
                // to fail, so fail it here rather than wait for the server's answer (a long poll's).
                if Task.isCancelled {
                    fail(id: message.id, with: CancellationError())
                    return
                }
                let written = outbound.channel.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenFailure { [self] error in
                    self.fail(
                        id: message.id, with: OrchestratorError(.unavailable, "sending to the server failed: \(error)"))
                }
                outbound.enqueue(frame, promise: written)
            }
        } onCancel: {
            self.fail(id: message.id, with: CancellationError())
        }
    }

    /// Fails the request `id` with `CancellationError`, or, if it is not sent yet, makes its sending
    /// fail; nothing if it has been answered.
    func cancel(id: UInt64) {
        let continuation = inner.withLock { inner in
            let continuation = inner.pending.removeValue(forKey: id)
            if continuation == nil && inner.unsentHandles[id] != nil { inner.unsentHandles[id] = true }
            return continuation
        }
        continuation?.resume(throwing: CancellationError())
    }

    func fail(id: UInt64, with error: any Error) {
        let continuation = inner.withLock { $0.pending.removeValue(forKey: id) }
        continuation?.resume(throwing: error)
    }

    func received(_ message: ServerMessage) {
        switch message {
        case .push(let push):
            pushContinuation.yield(push)
        case .response(let id, _), .error(let id, _):
            if id == 0, case .error(_, let error) = message {
                // An error about the connection itself: every request fails with it.
                closed(with: error)
                return
            }
            let continuation = inner.withLock { $0.pending.removeValue(forKey: id) }
            continuation?.resume(returning: message)
        }
    }

    func closed(with error: any Error) {
        let pending = inner.withLock { inner -> [CheckedContinuation<ServerMessage, any Error>] in
            if inner.closedError == nil { inner.closedError = error }
            defer { inner.pending.removeAll() }
            return Array(inner.pending.values)
        }
        for continuation in pending { continuation.resume(throwing: error) }
        pushContinuation.finish()
    }
}

/// Decodes server messages and hands them to ``ClientState``.
final class ClientInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let state: ClientState

    init(state: ClientState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        do {
            state.received(try MessageCodec.decodeServerMessage(from: frame.readableBytesView))
        } catch {
            if Self.isPush(frame) { return }  // A push this client does not know: ignore it, as the spec says.
            state.closed(
                with: OrchestratorError(.malformedFrame, "the server sent a message this client cannot read: \(error)"))
            context.close(promise: nil)
        }
    }

    private static func isPush(_ frame: ByteBuffer) -> Bool {
        struct PushProbe: Decodable { var push: String }
        return (try? MessageCodec.decode(PushProbe.self, from: frame.readableBytesView)) != nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.closed(with: OrchestratorError(.unavailable, "the connection to the orchestrator server closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let wrapped =
            (error as? OrchestratorError)
            ?? OrchestratorError(.unavailable, "the connection to the orchestrator server failed: \(error)")
        state.closed(with: wrapped)
        context.close(promise: nil)
    }
}

/// Nothing answers at the address, with what to do about it.
public struct ConnectionError: Error, CustomStringConvertible, Sendable {
    public var address: ServerAddress
    public var underlying: String

    init(address: ServerAddress, underlying: any Error) {
        self.address = address
        self.underlying = "\(underlying)"
    }

    public var description: String {
        let reason: String
        if underlying.contains("No such file") || underlying.contains("ENOENT") {
            reason = "no socket there"
        } else if underlying.contains("Connection refused") || underlying.contains("ECONNREFUSED") {
            reason = "connection refused"
        } else {
            reason = underlying
        }
        return
            "cannot reach the orchestrator server at \(address) (\(reason)); start it with `orchestrator-server` (from the directory holding .orchestrator), or pass --address / set ORCHESTRATOR_ADDRESS"
    }
}

/// Carries a channel handler into the channel initializer (it is used on the channel's event loop only).
private struct Confined<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
