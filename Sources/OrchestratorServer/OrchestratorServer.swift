import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorStore
import OrchestratorTransport
import ServiceLifecycle
import Synchronization

/// The orchestrator server as a ServiceLifecycle service: opens the store, recovers the engine,
/// listens on its Unix socket (and TCP if asked), and serves until a graceful shutdown.
///
/// ```swift
/// let server = OrchestratorServer(configuration: .init(dataDirectory: ".orchestrator"), logger: logger)
/// try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public final class OrchestratorServer: Service, Sendable {
    public let configuration: ServerConfiguration
    let logger: Logger
    private let state = Mutex(State())
    private let nextConnectionId = Atomic<UInt64>(1)

    private struct State {
        var listening: [ServerAddress]?
        var listeningWaiters: [CheckedContinuation<[ServerAddress], any Error>] = []
        var failure: String?
        var listeners: [any Channel] = []
        var connections: [UInt64: any Channel] = [:]
        var engine: Engine?
        var stopping = false
    }

    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "orchestrator.server")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The addresses the server listens on, once it does (TCP port 0 resolved to the real port).
    public func waitUntilListening() async throws -> [ServerAddress] {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<[ServerAddress], any Error>? = state.withLock { state in
                if let listening = state.listening { return .success(listening) }
                if let failure = state.failure { return .failure(ServerStartupError(failure)) }
                state.listeningWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// The engine, once started (for tests and diagnostics).
    public var engine: Engine? { state.withLock { $0.engine } }

    public func run() async throws {
        do {
            try await serve()
        } catch {
            let waiters = state.withLock { state in
                state.failure = "\(error)"
                defer { state.listeningWaiters.removeAll() }
                return state.listeningWaiters
            }
            for waiter in waiters { waiter.resume(throwing: error) }
            throw error
        }
    }

    private func serve() async throws {
        let configuration = self.configuration
        let listeners = configuration.effectiveListeners
        if listeners.contains(where: \.isTCP) {
            if configuration.tokens == nil && !configuration.insecure {
                throw ServerStartupError(
                    "refusing to listen on TCP without a token: pass --token-file FILE (clients send its contents), or --insecure to accept anyone who can reach the port"
                )
            }
            if configuration.tls == nil {
                logger.warning(
                    "TCP without TLS: tokens and payloads cross the network in clear text; pass --tls-cert and --tls-key"
                )
            }
            if configuration.tokens == nil {
                logger.warning(
                    "INSECURE: listening on TCP without a token; anyone who can reach the port can start, signal and terminate workflows and run tasks"
                )
            }
        }
        let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
        defer { lock.release() }
        let store: SQLiteStore
        do {
            store = try SQLiteStore(
                directory: URL(fileURLWithPath: configuration.dataDirectory), durability: configuration.durability)
        } catch {
            throw ServerStartupError("\(error)")
        }
        if configuration.durability != .full {
            logger.warning(
                "durability lowered: commits are not fsync'd; an acknowledged write may be lost on power failure",
                metadata: ["synchronous": "\(configuration.durability.rawValue)"])
        }
        // One event loop serves every connection and runs the engine (it is the actor's executor):
        // a request goes from the socket through the engine to its answer on one thread, with no
        // switch of threads between. SQLite's writer has a thread of its own, so the loop never
        // waits for an fsync.
        let loopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await serve(store: store, loop: loopGroup.next(), listeners: listeners)
        } catch {
            try? await loopGroup.shutdownGracefully()
            throw error
        }
        try await loopGroup.shutdownGracefully()
    }

    private func serve(store: SQLiteStore, loop: any EventLoop, listeners: [ServerAddress]) async throws {
        let configuration = self.configuration
        var engineConfiguration = configuration.engine
        engineConfiguration.maximumHistoryPageBytes = min(
            engineConfiguration.maximumHistoryPageBytes, configuration.maximumFrameLength / 2)
        var engineLogger = Logger(label: "orchestrator.engine")
        engineLogger.logLevel = logger.logLevel
        let engine = Engine(
            store: store, configuration: engineConfiguration, logger: engineLogger,
            onStorageFailure: { [weak self] message in self?.stop(reason: message) }, executor: loop.executor)
        try await engine.start()
        state.withLock { $0.engine = engine }

        let onLoop = EventLoopTaskExecutor(loop)
        let tlsContext: NIOSSLContext? = try configuration.tls.map { files in
            do {
                return try OrchestratorTLS.serverContext(
                    certificateChainPath: files.certificateChainPath, privateKeyPath: files.privateKeyPath)
            } catch {
                throw ServerStartupError("\(error)")
            }
        }
        var bound: [(ServerAddress, NIOAsyncChannel<NIOAsyncChannel<InboundRequest, ByteBuffer>, Never>)] = []
        for address in listeners {
            bound.append(
                (address, try await bind(address, group: loop, tls: address.isTCP ? tlsContext : nil, engine: engine)))
        }
        let addresses = bound.map { address, channel -> ServerAddress in
            if case .tcp(let host, _) = address, let port = channel.channel.localAddress?.port {
                return .tcp(host: host, port: port)
            }
            return address
        }
        let waiters = state.withLock { state in
            state.listening = addresses
            state.listeners = bound.map { $0.1.channel }
            defer { state.listeningWaiters.removeAll() }
            return state.listeningWaiters
        }
        for waiter in waiters { waiter.resume(returning: addresses) }
        logger.info(
            "orchestrator-server listening",
            metadata: [
                "addresses": "\(addresses.map(\.description).joined(separator: " "))",
                "dataDirectory": "\(configuration.dataDirectory)",
                "database": "\(store.path)", "synchronous": "\(configuration.durability.rawValue)",
            ])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for (address, listener) in bound {
                    group.addTask {
                        try await listener.executeThenClose { inbound in
                            try await withThrowingDiscardingTaskGroup { connections in
                                for try await connection in inbound {
                                    // The connection's requests are tasks of this one; they inherit the loop.
                                    connections.addTask(executorPreference: onLoop) {
                                        await self.serveConnection(connection, listener: address, engine: engine)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.stop(reason: "graceful shutdown requested")
        }
        let statistics = await engine.statistics
        await engine.shutdown()
        logger.info("engine statistics", metadata: ["statistics": "\(statistics)"])
        if let failure = state.withLock({ $0.failure }) {
            throw ServerStartupError(failure)
        }
        logger.info("orchestrator-server stopped")
    }

    /// Stops accepting and closes every connection; `run()` then returns.
    public func stop(reason: String) {
        let channels = state.withLock { state -> [any Channel] in
            guard !state.stopping else { return [] }
            state.stopping = true
            if reason.contains("database write failed") { state.failure = reason }
            return state.listeners + Array(state.connections.values)
        }
        guard !channels.isEmpty else { return }
        logger.info("stopping", metadata: ["reason": "\(reason)"])
        for channel in channels { channel.close(promise: nil) }
    }

    private func bind(_ address: ServerAddress, group: any EventLoopGroup, tls: NIOSSLContext?, engine: Engine)
        async throws -> NIOAsyncChannel<NIOAsyncChannel<InboundRequest, ByteBuffer>, Never>
    {
        let maximumFrameLength = configuration.maximumFrameLength
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<InboundRequest, ByteBuffer>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                }
                try channel.pipeline.syncOperations.addOrchestratorFraming(maximumFrameLength: maximumFrameLength)
                try channel.pipeline.syncOperations.addHandler(ImmediateRequestHandler(engine: engine))
                return try NIOAsyncChannel<InboundRequest, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        do {
            switch address {
            case .unix(let path):
                try prepareSocketPath(path)
                let channel = try await bootstrap.bind(
                    unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: initializer)
                chmod(path, 0o600)
                return channel
            case .tcp(let host, let port):
                return try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
            }
        } catch let error as ServerStartupError {
            throw error
        } catch {
            throw ServerStartupError("cannot listen on \(address): \(error)")
        }
    }

    /// Refuses a socket path another live server answers on; removes a stale one.
    private func prepareSocketPath(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if path.utf8.count >= 104 {
            throw ServerStartupError(
                "the socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow about 100: use a shorter --data-dir or --listen unix:///short/path.sock"
            )
        }
    }

    func register(_ channel: any Channel) -> UInt64? {
        let id = nextConnectionId.wrappingAdd(1, ordering: .relaxed).oldValue
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.connections[id] = channel
            return true
        }
        return accepted ? id : nil
    }

    func unregister(_ id: UInt64) {
        _ = state.withLock { $0.connections.removeValue(forKey: id) }
    }
}
