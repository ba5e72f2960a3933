import Foundation
import NIOCore
import OrchestratorProtocol

/// Where a server listens or a client connects: `unix:///path/to.sock` (or a relative `unix://dir/x.sock`)
/// or `tcp://host:port`.
public enum ServerAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    /// The data directory used when none is given: `.orchestrator` in the current directory.
    public static let defaultDataDirectory = ".orchestrator"
    /// The socket's file name inside the data directory.
    public static let socketFileName = "orchestrator.sock"
    /// The environment variable clients read when no `--address` is given.
    public static let environmentVariable = "ORCHESTRATOR_ADDRESS"

    /// The Unix socket inside a data directory.
    public static func socket(inDataDirectory directory: String) -> ServerAddress {
        .unix(path: (directory as NSString).appendingPathComponent(socketFileName))
    }

    /// What a client uses without flags: `$ORCHESTRATOR_ADDRESS`, else the default data directory's socket.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ServerAddress
    {
        if let value = environment[environmentVariable], !value.isEmpty {
            return try ServerAddress(parsing: value)
        }
        return .socket(inDataDirectory: defaultDataDirectory)
    }

    /// Parses `unix://PATH`, `tcp://HOST:PORT`, or a bare path ending in `.sock`.
    public init(parsing text: String) throws {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard !path.isEmpty else {
                throw AddressError("'\(text)' names no socket path; write unix:///path/to/orchestrator.sock")
            }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://") {
            let rest = String(text.dropFirst("tcp://".count))
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port)
            else {
                throw AddressError("'\(text)' needs a host and a port between 1 and 65535, like tcp://127.0.0.1:7233")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw AddressError("'\(text)' names no host; write tcp://127.0.0.1:7233") }
            self = .tcp(host: host, port: port)
        } else if text.hasSuffix(".sock") || text.hasPrefix("/") {
            self = .unix(path: text)
        } else {
            throw AddressError(
                "'\(text)' is not an address; write unix:///path/to/orchestrator.sock or tcp://host:port")
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
    }

    public var isTCP: Bool {
        if case .tcp = self { return true }
        return false
    }
}

/// A malformed address.
public struct AddressError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
