import Foundation
import NIOCore
import NIOPosix
import OrchestratorStore
import OrchestratorTransport
import Synchronization
import Testing

@testable import OrchestratorEngine

@Suite("Waiting in the engine")
struct EngineWaitTests {
    @Test("a wait that suspends before registering takes what became ready meanwhile instead of waiting for it")
    func readyBeforeRegistering() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engine-wait-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        // As in the server: the loop is the actor's executor, and the asking task prefers the loop.
        let engine = Engine(store: try SQLiteStore(directory: directory), executor: loop.executor)
        let outcome = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            await engine.waitAcrossAnotherJob(on: loop)
        }
        try await group.shutdownGracefully()
        #expect(!outcome.registeredWhileReady)
        // The await does suspend here (the loop re-queues the task), so the job queued before it ran
        // first and the re-check saw its value. If a runtime stops suspending here, this test no
        // longer reaches the re-check and needs another way to interleave.
        #expect(outcome.value == 1)
    }
}

extension Engine {
    /// Queues a job on `loop` that makes a value ready, then waits for that value.
    fileprivate func waitAcrossAnotherJob(on loop: any EventLoop) async -> (value: Int, registeredWhileReady: Bool) {
        let ready = Mutex(false)
        loop.execute { ready.withLock { $0 = true } }
        var registeredWhileReady = false
        let value = await wait(
            checkingAgain: { ready.withLock { $0 } ? 1 : nil },
            register: { continuation in
                registeredWhileReady = ready.withLock { $0 }
                continuation.resume(returning: 0)
            })
        return (value, registeredWhileReady)
    }
}
