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

    @Test("a handle cancels its request from outside the task: before it is sent, while it waits, not after")
    func cancelledThroughHandle() async throws {
        let server = try await TestServer.start()
        defer { server.remove() }
        let client = try await server.connect(identity: "canceller")
        let started = ContinuousClock.now
        let poll = PollWorkflowTaskRequest(taskQueue: "nobody-polls-this", timeoutMs: 30_000)

        // Cancelled before it is sent: sending fails at once.
        let early = client.makeRequestHandle()
        client.cancel(early)
        await #expect(throws: CancellationError.self) { try await client.send(poll, handle: early) }

        // Cancelled while the long poll waits.
        let waiting = client.makeRequestHandle()
        let task = Task { try await client.send(poll, handle: waiting) }
        try await Task.sleep(for: .milliseconds(100))
        client.cancel(waiting)
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(5))

        // Cancelling an answered request changes nothing, and the connection is still usable.
        let answered = client.makeRequestHandle()
        let response = try await client.send(
            PollWorkflowTaskRequest(taskQueue: "nobody-polls-this", timeoutMs: 0), handle: answered)
        #expect(response.task == nil)
        client.cancel(answered)
        _ = try await client.send(.ping(Empty()))
        await client.close()
        await server.stop()
    }
}
