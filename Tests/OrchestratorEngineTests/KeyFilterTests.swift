import Foundation
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import Testing

@testable import OrchestratorEngine

@Suite("Key filters: request ids and workflow ids")
struct KeyFilterTests {
    @Test("an inserted id is always found; others rarely, at the designed rate up to capacity")
    func noFalseNegatives() {
        var filter = KeyFilter(capacity: 50_000)
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
            await engine.keyFiltersBuilt()
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
        await engine.keyFiltersBuilt()
        #expect(await engine.statistics.requestIdFilterBuilds >= 2, "a filter of 4 ids is rebuilt larger when full")
        await client.close()
        await server.stop()

        server = try await TestServer.start(dataDirectory: directory) { $0.engine.requestIdFilterCapacity = 4 }
        client = try await server.connect()
        let restarted = try server.engine
        await restarted.keyFiltersBuilt()
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

    @Test(
        "a start of a new workflow id reads no run from the store once the filter is built; an id that ran still does")
    func newWorkflowIdsSkipTheStore() async throws {
        try await Harness.with { h in
            let engine = try h.server.engine
            await engine.keyFiltersBuilt()
            #expect(await engine.statistics.workflowIdFilterBuilds == 1)
            for index in 0..<20 { try await h.start("wf-\(index)") }
            await expectError(.notFound) { try await h.signal("never-started", "s") }
            #expect(await engine.statistics.workflowIdStoreReads == 0)
            // A closed run leaves memory once its close is committed (terminate answers after that);
            // its id must then be looked up, and the reuse policy refuses a second run.
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf-3", reason: "test"))
            await expectError(.alreadyStarted) { try await h.start("wf-3", reuse: .rejectDuplicate) }
            #expect(await engine.statistics.workflowIdStoreReads == 1)
            let second = try await h.start("wf-3", reuse: .allowDuplicate)
            #expect(second.started)
            #expect(await engine.statistics.workflowIdStoreReads == 2)
        }
    }

    @Test("after a restart the workflow id filter holds the ids that ran before it, and grows when full")
    func workflowIdsAfterRestart() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configure: (inout ServerConfiguration) -> Void = { $0.engine.workflowIdFilterCapacity = 4 }
        var server = try await TestServer.start(dataDirectory: directory, configure: configure)
        var client = try await server.connect()
        for id in ["closed", "open"] {
            _ = try await client.send(StartWorkflowRequest(workflowId: id, workflowType: "T", taskQueue: "q"))
        }
        _ = try await client.send(TerminateWorkflowRequest(workflowId: "closed", reason: "test"))
        await client.close()
        await server.stop()

        server = try await TestServer.start(dataDirectory: directory, configure: configure)
        client = try await server.connect()
        let engine = try server.engine
        await engine.keyFiltersBuilt()
        let refused = await expectError(.alreadyStarted) {
            _ = try await client.send(
                StartWorkflowRequest(
                    workflowId: "closed", workflowType: "T", taskQueue: "q", workflowIdReusePolicy: .rejectDuplicate))
        }
        #expect(refused?.message.contains("REJECT_DUPLICATE") == true)
        await expectError(.alreadyStarted) {
            _ = try await client.send(StartWorkflowRequest(workflowId: "open", workflowType: "T", taskQueue: "q"))
        }
        #expect(
            await engine.statistics.workflowIdStoreReads == 1, "only the closed run is read; the open one is in memory")
        for index in 0..<10 {
            _ = try await client.send(
                StartWorkflowRequest(workflowId: "new-\(index)", workflowType: "T", taskQueue: "q"))
        }
        await engine.keyFiltersBuilt()
        #expect(await engine.statistics.workflowIdFilterBuilds >= 2, "a filter of 4 ids is rebuilt larger when full")
        // The larger filters were read from the store: they still hold the closed run's id.
        await expectError(.alreadyStarted) {
            _ = try await client.send(
                StartWorkflowRequest(
                    workflowId: "closed", workflowType: "T", taskQueue: "q", workflowIdReusePolicy: .rejectDuplicate))
        }
        await client.close()
        await server.stop()
    }
}
