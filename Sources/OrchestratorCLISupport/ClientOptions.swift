import ArgumentParser
import Foundation
import NIOSSL
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport

/// `--address` and `--token-file`, shared by every command that talks to the server.
public struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The server: unix:///path/orchestrator.sock or tcp://host:port (default: $ORCHESTRATOR_ADDRESS, else ./.orchestrator/orchestrator.sock)."
    )
    public var address: String?

    @Option(name: .long, help: "A file holding the token TCP listeners require (default: $ORCHESTRATOR_TOKEN).")
    public var tokenFile: String?

    @Option(
        name: .long,
        help: "Connect with TLS, trusting the CA certificate in this PEM file (default: $ORCHESTRATOR_TLS_CA).")
    public var tlsCa: String?

    public init() {}

    /// The address to use: the flag, else the environment, else the default socket.
    public func resolvedAddress() throws -> ServerAddress {
        do {
            if let address { return try ServerAddress(parsing: address) }
            return try ServerAddress.fromEnvironment()
        } catch let error as AddressError {
            throw ValidationError(error.description)
        }
    }

    /// The token: from `--token-file`, else `$ORCHESTRATOR_TOKEN`.
    public func token() throws -> String? {
        if let tokenFile {
            do {
                return try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError("cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
        }
        return ProcessInfo.processInfo.environment["ORCHESTRATOR_TOKEN"]
    }

    /// The TLS context when `--tls-ca` or `$ORCHESTRATOR_TLS_CA` names a CA, else nil (plain TCP).
    public func tlsContext() throws -> NIOSSLContext? {
        guard let path = tlsCa ?? ProcessInfo.processInfo.environment["ORCHESTRATOR_TLS_CA"], !path.isEmpty else {
            return nil
        }
        do {
            return try OrchestratorTLS.clientContext(trustRootsPath: path)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Connects, naming this program in the handshake.
    public func connect(identity: String) async throws -> OrchestratorClient {
        try await OrchestratorClient.connect(
            to: try resolvedAddress(), identity: identity, token: try token(), tls: try tlsContext())
    }
}

/// `--output text|json`.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text
    case json
}

/// Prints a value as JSON (keys sorted, indented) on standard output.
public func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A process identity for handshakes: `program@host:pid`.
public func processIdentity(_ program: String) -> String {
    "\(program)@\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
}

/// Prints one line on standard error and exits non-zero. For errors meant for people.
public func exitWithError(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(code)
}

/// The one line a person should read for an error from the server or the connection.
public func describe(_ error: any Error) -> String {
    switch error {
    case let error as OrchestratorError: return "\(error.message) [\(error.code)]"
    case let error as ConnectionError: return error.description
    default: return "\(error)"
    }
}
