import Foundation
import OrchestratorEngine
import OrchestratorProtocol
import OrchestratorStore
import OrchestratorTransport

/// How to run the server: where its data lives, where it listens, how durable its commits are.
public struct ServerConfiguration: Sendable {
    /// Holds the database, the Unix socket and the server lock. Created owner-only.
    public var dataDirectory: String = ServerAddress.defaultDataDirectory
    /// Listeners; empty means the Unix socket inside the data directory.
    public var listen: [ServerAddress] = []
    /// The tokens TCP clients present in their handshake, each with its role.
    public var tokens: TokenTable?
    /// TLS for TCP listeners (the Unix socket needs none).
    public var tls: ServerTLSFiles?
    /// Allow TCP listeners without a token (logged loudly).
    public var insecure = false
    public var durability: SQLiteStore.Durability = .full
    public var maximumFrameLength = Frame.defaultMaximumLength
    /// Requests in flight per connection before RESOURCE_EXHAUSTED.
    public var maximumRequestsInFlight = 1024
    /// A connection that sends no hello within this is closed.
    public var handshakeTimeoutMs: Int64 = 10_000
    public var engine = EngineConfiguration()

    public init(dataDirectory: String = ServerAddress.defaultDataDirectory) {
        self.dataDirectory = dataDirectory
    }

    /// One admin token (tests and simple setups).
    public var token: String? {
        get { tokens?.roles.first { $0.value == .admin }?.key }
        set { tokens = newValue.map { TokenTable(roles: [$0: .admin]) } }
    }

    /// The listeners in effect (the data directory's Unix socket when none is configured).
    public var effectiveListeners: [ServerAddress] {
        listen.isEmpty ? [.socket(inDataDirectory: dataDirectory)] : listen
    }
}

/// Why the server could not start, in words that say what to do.
public struct ServerStartupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The PEM files of a server's TLS identity.
public struct ServerTLSFiles: Sendable, Hashable {
    public var certificateChainPath: String
    public var privateKeyPath: String
    public init(certificateChainPath: String, privateKeyPath: String) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}
