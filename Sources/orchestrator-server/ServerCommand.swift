import ArgumentParser
import Foundation
import Logging
import OrchestratorCLISupport
import OrchestratorServer
import OrchestratorStore
import OrchestratorTransport
import ServiceLifecycle

/// `orchestrator-server`: workflow histories, task queues, timers and the visibility index in SQLite.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orchestrator-server",
        abstract: "Run the orchestrator server: histories, task queues and timers in SQLite.",
        discussion: """
            Data lives in one directory (default ./.orchestrator): the database orchestrator.sqlite and the \
            Unix socket orchestrator.sock, both owner-only. Clients started from the same directory find \
            the server without flags. Stop it with SIGTERM or Ctrl-C; on start it recovers everything.
            """)

    @Option(name: .long, help: "The data directory (database, socket, lock).")
    var dataDir: String = ServerAddress.defaultDataDirectory

    @Option(
        name: .long,
        help:
            "Where to listen: unix:///path.sock or tcp://host:port; repeatable. Default: the socket in the data directory."
    )
    var listen: [String] = []

    @Option(
        name: .long,
        help:
            "The tokens TCP clients must send, one per line as 'ROLE TOKEN' (roles: admin, operator, responder, viewer, worker) or 'TOKEN' for an admin."
    )
    var tokenFile: String?

    @Option(name: .long, help: "TLS on TCP listeners: the server's certificate chain (PEM).")
    var tlsCert: String?

    @Option(name: .long, help: "TLS on TCP listeners: the server's private key (PEM).")
    var tlsKey: String?

    @Flag(name: .long, help: "Allow TCP listeners without a token (anyone who reaches the port may do anything).")
    var insecure = false

    @Option(name: .long, help: "SQLite synchronous: full (fsync each commit, default), normal, or off.")
    var synchronous: String = "full"

    @Option(name: .long, help: "Largest frame accepted, in bytes.")
    var maxFrameBytes: Int = 4 * 1024 * 1024

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(name: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard SQLiteStore.Durability(rawValue: synchronous) != nil else {
            throw ValidationError("--synchronous must be full, normal or off")
        }
        guard maxFrameBytes >= 1024 && maxFrameBytes <= 256 * 1024 * 1024 else {
            throw ValidationError("--max-frame-bytes must be between 1024 and 268435456")
        }
    }

    func run() async throws {
        LogfmtLogHandler.bootstrap(level: Logger.Level(name: logLevel) ?? .info)
        let logger = Logger(label: "orchestrator.server")
        var configuration = ServerConfiguration(dataDirectory: dataDir)
        do {
            configuration.listen = try listen.map { try ServerAddress(parsing: $0) }
        } catch {
            throw ValidationError("\(error)")
        }
        if !configuration.listen.isEmpty && !configuration.listen.contains(where: { !$0.isTCP }) {
            // Keep the local socket too, so tools run from the repo root still find the server.
            configuration.listen.insert(.socket(inDataDirectory: dataDir), at: 0)
        }
        if let tokenFile {
            let text: String
            do {
                text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                exitWithError("cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
            do {
                configuration.tokens = try TokenTable(parsing: text)
            } catch {
                exitWithError("\(tokenFile): \(error)")
            }
        }
        if let tlsCert, let tlsKey {
            configuration.tls = ServerTLSFiles(certificateChainPath: tlsCert, privateKeyPath: tlsKey)
        }
        configuration.insecure = insecure
        configuration.durability = SQLiteStore.Durability(rawValue: synchronous) ?? .full
        configuration.maximumFrameLength = maxFrameBytes
        let server = OrchestratorServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            let message = (error as? ServiceGroupError).map { "\($0)" } ?? "\(error)"
            if let startup = findStartupError(error) { exitWithError(startup.description) }
            exitWithError(message)
        }
    }

    private func findStartupError(_ error: any Error) -> ServerStartupError? {
        if let error = error as? ServerStartupError { return error }
        let mirror = Mirror(reflecting: error)
        for child in mirror.children {
            if let nested = child.value as? any Error, let found = findStartupError(nested) { return found }
        }
        return nil
    }
}
