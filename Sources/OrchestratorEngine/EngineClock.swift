import OrchestratorProtocol

/// Where the engine gets the time and how it waits. Tests may substitute a clock they control.
public protocol EngineClock: Sendable {
    func now() -> Timestamp
    /// Returns at `deadline` or later; throws when the task is cancelled.
    func sleep(until deadline: Timestamp) async throws
}

/// The wall clock.
public struct SystemClock: EngineClock {
    public init() {}
    public func now() -> Timestamp { .now() }
    public func sleep(until deadline: Timestamp) async throws {
        let delay = deadline.milliseconds - now().milliseconds
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
    }
}
