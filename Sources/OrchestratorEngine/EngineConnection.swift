import OrchestratorProtocol

/// A client or worker connection as the engine sees it: an id, who it is, and a way to push to it.
///
/// The server implements this over a socket; tests implement it in memory. Tasks handed to a
/// connection are leased to it: when the server reports the connection closed, they go back at once.
public protocol EngineConnection: AnyObject, Sendable {
    var connectionId: UInt64 { get }
    var identity: String { get }
    /// Sends a server-initiated message (a query for a workflow this worker caches).
    func push(_ push: Push)
}
