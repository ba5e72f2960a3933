import Foundation
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import Testing

@testable import OrchestratorEngine

@Suite("Request id filter")
struct RequestIdFilterTests {
    @Test("an inserted id is always found; others rarely, at the designed rate up to capacity")
    func noFalseNegatives() {
        var filter = RequestIdFilter(capacity: 50_000)
        let inserted = (0..<50_000).map { "incident-\($0)-\(UUID().uuidString)" }
        for id in inserted { filter.insert(id) }
        #expect(inserted.allSatisfy { filter.mightContain($0) })
        #expect(!filter.isFull)
        let others = (0..<50_000).map { "other-\($0)" }
        let falsePositives = others.filter { filter.mightContain($0) }.count
        #expect(falsePositives < 250, "\(falsePositives) of 50 000 (designed: about 0.1 %)")
        filter.insert("one more")
        #expect(filter.isFull)
    }

    @Test("new request ids are not looked up in the store once the filter is built; retries still are")
    func newIdsSkipTheStore() async throws {
        try await Harness.with { h in
            let engine = try h.server.engine
            await engine.requestIdFilterBuilt()
            try await h.start("wf", requestId: "start-1")
            for index in 0..<20 { try await h.signal("wf", "s", requestId: "signal-\(index)") }
            #expect(await engine.statistics.requestIdStoreReads == 0)
            #expect(await engine.statistics.requestIdFilterBuilds == 1)
            // Committed by now: the retry's id is in the filter and found in the store.
            try await h.signal("wf", "s", requestId: "signal-3")
            await expectError(.invalidArgument) { try await h.signal("other", "s", requestId: "signal-4") }
            #expect(await engine.statistics.requestIdStoreReads == 2)
            let signals = try await h.types("wf").filter { $0 == .workflowExecutionSignaled }
            #expect(signals.count == 20)
        }
    }

    @Test("after a restart the filter holds the ids recorded before it, and grows when full")
    func restartAndGrowth() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var server = try await TestServer.start(dataDirectory: directory) { $0.engine.requestIdFilterCapacity = 4 }
        var client = try await server.connect()
        let started = try await client.send(
            StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q", requestId: "start-1"))
        for index in 0..<10 {
            _ = try await client.send(SignalWorkflowRequest(workflowId: "wf", signalName: "s", requestId: "s-\(index)"))
        }
        let engine = try server.engine
        await engine.requestIdFilterBuilt()
        #expect(await engine.statistics.requestIdFilterBuilds >= 2, "a filter of 4 ids is rebuilt larger when full")
        await client.close()
        await server.stop()

        server = try await TestServer.start(dataDirectory: directory) { $0.engine.requestIdFilterCapacity = 4 }
        client = try await server.connect()
        let restarted = try server.engine
        await restarted.requestIdFilterBuilt()
        let readsBefore = await restarted.statistics.requestIdStoreReads
        let retry = try await client.send(
            StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q", requestId: "start-1"))
        #expect(retry.runId == started.runId)
        #expect(retry.started == false)
        for index in 0..<10 {
            _ = try await client.send(SignalWorkflowRequest(workflowId: "wf", signalName: "s", requestId: "s-\(index)"))
        }
        #expect(await restarted.statistics.requestIdStoreReads == readsBefore + 11, "every old id is read back")
        let history = try await client.send(GetWorkflowHistoryRequest(workflowId: "wf"))
        #expect(history.events.filter { $0.eventType == EventType.workflowExecutionSignaled }.count == 10)
        await client.close()
        await server.stop()
    }
}
