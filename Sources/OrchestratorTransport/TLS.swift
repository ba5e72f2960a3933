import Foundation
import NIOCore
import NIOSSL
import OrchestratorProtocol

/// TLS for TCP connections (swift-nio-ssl). The server presents a certificate chain; clients and
/// workers verify it against the CA they are given, and the host name or IP they connect to.
public enum OrchestratorTLS {
    /// The server's context from PEM files.
    public static func serverContext(certificateChainPath: String, privateKeyPath: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath)
        } catch {
            throw TLSSetupError(
                "cannot read the TLS certificate chain \(certificateChainPath) (PEM expected): \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw TLSSetupError("cannot read the TLS private key \(privateKeyPath) (PEM expected): \(error)")
        }
        guard !chain.isEmpty else { throw TLSSetupError("\(certificateChainPath) holds no certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("the TLS certificate and key do not make a usable identity: \(error)")
        }
    }

    /// A client's context that trusts only the CA certificates in `trustRootsPath` (PEM).
    public static func clientContext(trustRootsPath: String) throws -> NIOSSLContext {
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(trustRootsPath)
        } catch {
            throw TLSSetupError("cannot read the CA certificate \(trustRootsPath) (PEM expected): \(error)")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(roots)
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("cannot set up TLS with the CA \(trustRootsPath): \(error)")
        }
    }

    /// The handler that makes a client connection to `host` TLS, verifying the certificate against
    /// `host`: its DNS name, or (for an IP address) the address itself.
    public static func clientHandler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isIPAddress ? nil : host)
    }
}

/// TLS could not be set up, with the file or setting at fault.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
