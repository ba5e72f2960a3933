import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTransport

/// A client that survives server restarts: a request that fails because the connection went away is
/// sent again, with the same request id, on a new connection, until it is answered or `giveUp` passes.
actor ResilientClient {
    let address: ServerAddress
    let identity: String
    private var client: OrchestratorClient?
    private(set) var retries = 0

    init(address: ServerAddress, identity: String) {
        self.address = address
        self.identity = identity
    }

    private func current() async throws -> OrchestratorClient {
        if let client, client.isConnected { return client }
        let fresh = try await OrchestratorClient.connect(to: address, identity: identity, connectTimeout: .seconds(2))
        client = fresh
        return fresh
    }

    private func drop(_ stale: OrchestratorClient) async {
        if client === stale { client = nil }
        await stale.close()
    }

    /// Sends until answered. Errors about the request itself (NOT_FOUND, INVALID_ARGUMENT…) are thrown;
    /// errors about the connection (UNAVAILABLE, refused, reset) and TIMEOUT are retried.
    func send<Body: RequestBody>(_ body: Body, giveUp: Duration = .seconds(120)) async throws -> Body.Result {
        let deadline = ContinuousClock.now + giveUp
        var delay = Duration.milliseconds(20)
        while true {
            var connection: OrchestratorClient?
            do {
                let live = try await current()
                connection = live
                return try await live.send(body)
            } catch let error as OrchestratorError
                where error.code != .unavailable && error.code != .timeout && error.code != .internal
            {
                throw error
            } catch {
                if let connection { await drop(connection) }
                retries += 1
                if ContinuousClock.now > deadline {
                    throw OrchestratorError(.timeout, "gave up on \(Body.operation.rawValue) after \(giveUp): \(error)")
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(500))
            }
        }
    }
}
