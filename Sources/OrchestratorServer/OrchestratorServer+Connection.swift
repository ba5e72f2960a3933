import Foundation
import Logging
import NIOCore
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorTransport
import Synchronization

extension OrchestratorServer {
    /// Serves one connection: the handshake, then requests in parallel, answered in any order.
    ///
    /// Protocol violations (a bad frame, no handshake, a wrong token) get an error frame with id 0 and
    /// the connection is closed. A bad request (unknown operation, wrong field) gets an error for its
    /// id and the connection stays open.
    func serveConnection(
        _ connection: NIOAsyncChannel<InboundRequest, ByteBuffer>, listener: ServerAddress, engine: Engine
    ) async {
        let channel = connection.channel
        guard let connectionId = register(channel) else {
            try? await channel.close()
            return
        }
        defer { unregister(connectionId) }
        let outbound = OutboundFrames(channel: channel)
        var logger = self.logger
        logger[metadataKey: "connection"] = "\(connectionId)"
        let handshaken = HandshakeFlag()
        let timeout = configuration.handshakeTimeoutMs
        let handshakeTimer = channel.eventLoop.scheduleTask(in: .milliseconds(timeout)) {
            if !handshaken.isSet {
                let refusal = ServerMessage.error(
                    id: 0, OrchestratorError(.handshakeRequired, "no hello within \(timeout) ms; closing"))
                let written = channel.eventLoop.makePromise(of: Void.self)
                try? outbound.enqueue(encoding: refusal, promise: written)
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
        defer { handshakeTimer.cancel() }
        var handle: ServerConnection?
        // Serves the requests that need no task as the channel reads them (see the handler).
        let pipeline = try? await channel.pipeline.handler(type: ImmediateRequestHandler.self).get()
        do {
            try await connection.executeThenClose { inbound, _ in
                try await withThrowingDiscardingTaskGroup { group in
                    var admission: RequestAdmission?
                    do {
                        for try await element in inbound {
                            let frame: ByteBuffer
                            switch element {
                            case .admitted(let message):
                                // Decoded and admitted by the pipeline, after the handshake.
                                guard let admission else { continue }
                                group.addTask { await admission.serveInTask(message, engine: engine) }
                                continue
                            case .frame(let undecoded):
                                frame = undecoded
                            }
                            defer { pipeline?.frameServed() }
                            guard let current = admission else {
                                handle = try await handshake(
                                    frame, connectionId: connectionId, listener: listener, outbound: outbound,
                                    logger: logger)
                                guard let handle else { return }
                                handshaken.set()
                                handshakeTimer.cancel()
                                await engine.connectionOpened(handle)
                                let admitted = RequestAdmission(
                                    connection: handle, limit: configuration.maximumRequestsInFlight)
                                admission = admitted
                                if let pipeline {
                                    if channel.eventLoop.inEventLoop {
                                        pipeline.start(admitted)
                                    } else {
                                        channel.eventLoop.execute { pipeline.start(admitted) }
                                    }
                                }
                                continue
                            }
                            let message: RequestMessage
                            do throws(RequestDecodingError) {
                                message = try MessageCodec.decodeRequest(from: frame.readableBytesView)
                            } catch {
                                if case .malformed = error {
                                    logger.info(
                                        "closing connection: malformed frame",
                                        metadata: ["error": "\(error.error.message)"])
                                    try? await outbound.write(encoding: ServerMessage.error(id: 0, error.error))
                                    await engine.connectionClosed(current.connection.connectionId)
                                    return
                                }
                                current.connection.send(.error(id: error.requestId, error.error))
                                continue
                            }
                            // Signals, starts, activity completions, query answers and queries are
                            // served here, without a task of their own.
                            if current.admitAndServe(message, engine: engine) {
                                group.addTask { await current.serveInTask(message, engine: engine) }
                            }
                        }
                    } catch let error as OrchestratorError {
                        // A frame the decoder refused (empty, too large, truncated).
                        logger.info("closing connection: bad frame", metadata: ["error": "\(error.message)"])
                        try? await outbound.write(encoding: ServerMessage.error(id: 0, error))
                    } catch let error as ByteToMessageDecoderError {
                        logger.info("closing connection: bad frame", metadata: ["error": "\(error)"])
                    } catch {
                        // A reset or another read error (a peer killed with unread data gets an RST):
                        // the connection is gone just as with a clean close.
                        logger.debug("connection read failed", metadata: ["error": "\(error)"])
                    }
                    // Release the connection's tasks and waits now: the requests still in flight (long
                    // polls) end only once the engine lets go of them.
                    if let handle { await engine.connectionClosed(handle.connectionId) }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
            if let handle { await engine.connectionClosed(handle.connectionId) }
        }
        if let handle {
            logger.info("disconnected", metadata: ["identity": "\(handle.identity)"])
        }
    }

    /// Checks the first frame: a `hello` with a supported version, and the token on TCP.
    private func handshake(
        _ frame: ByteBuffer, connectionId: UInt64, listener: ServerAddress, outbound: OutboundFrames, logger: Logger
    ) async throws -> ServerConnection? {
        func refuse(_ id: UInt64, _ error: OrchestratorError) async throws -> ServerConnection? {
            logger.info("handshake refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            try? await outbound.write(encoding: ServerMessage.error(id: id, error))
            return nil
        }
        let message: RequestMessage
        do throws(RequestDecodingError) {
            message = try MessageCodec.decodeRequest(from: frame.readableBytesView)
        } catch {
            if case .malformed = error { return try await refuse(0, error.error) }
            return try await refuse(
                error.requestId,
                OrchestratorError(.handshakeRequired, "the first request must be hello; got an invalid request"))
        }
        guard case .hello(let hello) = message.request else {
            return try await refuse(
                message.id,
                OrchestratorError(
                    .handshakeRequired,
                    "the first request on a connection must be hello, not \(message.request.operation.rawValue)"))
        }
        guard ProtocolVersion.supported.contains(hello.protocolVersion) else {
            return try await refuse(
                message.id,
                OrchestratorError(
                    .unsupportedVersion,
                    "protocol version \(hello.protocolVersion) is not supported; this server speaks \(ProtocolVersion.supported.lowerBound)...\(ProtocolVersion.supported.upperBound)"
                ))
        }
        var role = Role.admin
        if listener.isTCP, let tokens = configuration.tokens {
            guard let given = hello.token, let granted = tokens.role(for: given) else {
                return try await refuse(
                    message.id,
                    OrchestratorError(
                        .unauthenticated,
                        hello.token == nil
                            ? "this TCP listener requires a token; pass one the server's --token-file holds (--token-file or ORCHESTRATOR_TOKEN on the client)"
                            : "the token is not one this server accepts"))
            }
            role = granted
        }
        let identity = hello.identity.isEmpty ? "connection-\(connectionId)" : String(hello.identity.prefix(200))
        let handle = ServerConnection(connectionId: connectionId, identity: identity, role: role, outbound: outbound)
        try await outbound.write(
            encoding:
                ServerMessage
                .response(
                    id: message.id,
                    .hello(
                        HelloResponse(
                            protocolVersion: ProtocolVersion.current, serverVersion: OrchestratorServer.version,
                            connectionId: connectionId, maximumFrameLength: configuration.maximumFrameLength,
                            maximumRequestsInFlight: configuration.maximumRequestsInFlight, role: role.rawValue))))
        logger.info("connected", metadata: ["identity": "\(identity)", "listener": "\(listener)", "role": "\(role)"])
        return handle
    }

    /// The server's version, as the handshake reports it.
    public static let version = "0.1.0"
}

/// Compares two strings in time that depends only on their lengths, not on where they differ.
func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let a = Array(lhs.utf8)
    let b = Array(rhs.utf8)
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}

/// Whether a connection completed its handshake; read by the handshake timer on the event loop.
final class HandshakeFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
