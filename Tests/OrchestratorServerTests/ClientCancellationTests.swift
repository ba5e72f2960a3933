import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import Testing

@Suite("Client requests and task cancellation")
struct ClientCancellationTests {
    @Test("a request of a task cancelled before it is sent fails at once, not when the server answers")
    func cancelledBeforeSending() async throws {
        let server = try await TestServer.start()
        defer { server.remove() }
        let client = try await server.connect(identity: "canceller")
        let started = ContinuousClock.now
        let poll = Task {
            // The task is cancelled before its request is registered: the cancellation handler then
            // has nothing to fail, and a long poll would otherwise wait for the server's 30 s answer.
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(PollWorkflowTaskRequest(taskQueue: "nobody-polls-this", timeoutMs: 30_000))
        }
        await #expect(throws: CancellationError.self) { try await poll.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        // The connection is still usable.
        _ = try await client.send(.ping(Empty()))
        await client.close()
        await server.stop()
    }

}
