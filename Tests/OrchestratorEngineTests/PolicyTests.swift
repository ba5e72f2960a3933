import Foundation
import OrchestratorClient
import OrchestratorProtocol
import Testing

@Suite("Starts, ids and request ids")
struct PolicyTests {
    /// Runs the workflow to completion (or the given close) with a fake worker.
    func close(_ h: Harness, _ workflowId: String, with command: Command = .complete()) async throws {
        let worker = try await h.worker()
        try await h.complete(worker, try #require(try await h.poll(worker)), [command])
        await worker.close()
    }

    @Test("conflict policy FAIL refuses a second open run, naming the open one")
    func conflictFail() async throws {
        try await Harness.with { h in
            let first = try await h.start("incident-payment-api")
            let error = await expectError(.alreadyStarted) { try await h.start("incident-payment-api") }
            #expect(error?.details?["runId"] == .string(first.runId))
        }
    }

    @Test("conflict policy USE_EXISTING returns the open run")
    func conflictUseExisting() async throws {
        try await Harness.with { h in
            let first = try await h.start("wf")
            let second = try await h.start("wf", conflict: .useExisting)
            #expect(second.runId == first.runId)
            #expect(second.started == false)
        }
    }

    @Test("conflict policy TERMINATE_EXISTING terminates the open run and starts another")
    func conflictTerminateExisting() async throws {
        try await Harness.with { h in
            let first = try await h.start("wf")
            let second = try await h.start("wf", conflict: .terminateExisting)
            #expect(second.runId != first.runId)
            let old = try await h.client.send(DescribeWorkflowRequest(workflowId: "wf", runId: first.runId))
            #expect(old.execution.status == .terminated)
        }
    }

    @Test("reuse policies decide whether a closed workflow id can run again")
    func reusePolicies() async throws {
        try await Harness.with { h in
            try await h.start("done")
            try await close(h, "done")
            // ALLOW_DUPLICATE (the default) allows a new run.
            let again = try await h.start("done")
            #expect(again.started)
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "done", reason: "test"))
            // REJECT_DUPLICATE refuses whatever happened before.
            await expectError(.alreadyStarted) { try await h.start("done", reuse: .rejectDuplicate) }
            // ALLOW_DUPLICATE_FAILED_ONLY: the last run was terminated, so a new one may start…
            try await h.start("done", reuse: .allowDuplicateFailedOnly)
            try await close(h, "done")
            // …but not after a completed run.
            await expectError(.alreadyStarted) { try await h.start("done", reuse: .allowDuplicateFailedOnly) }
        }
    }

    @Test("retrying a start or a signal with the same request id does nothing twice")
    func requestIdDeduplication() async throws {
        try await Harness.with { h in
            let first = try await h.start("wf", requestId: "start-1")
            let retry = try await h.start("wf", requestId: "start-1")
            #expect(retry.runId == first.runId)
            #expect(retry.started == false)
            try await h.signal("wf", "add-alert", ["alertID": "A"], requestId: "signal-1")
            try await h.signal("wf", "add-alert", ["alertID": "A"], requestId: "signal-1")
            try await h.signal("wf", "add-alert", ["alertID": "A"], requestId: "signal-2")
            let signals = try await h.types("wf").filter { $0 == .workflowExecutionSignaled }
            #expect(signals.count == 2)
            // A request id belongs to its workflow.
            await expectError(.invalidArgument) { try await h.signal("other", "x", requestId: "signal-1") }
        }
    }

    @Test("a retried signal still succeeds after the run closed")
    func requestIdAfterClose() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            try await h.signal("wf", "resolve", requestId: "r-1")
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf", reason: "done"))
            try await h.signal("wf", "resolve", requestId: "r-1")
            await expectError(.workflowNotRunning) { try await h.signal("wf", "resolve", requestId: "r-2") }
        }
    }

    @Test("signal-with-start starts a run with the signal, or signals the open run")
    func signalWithStart() async throws {
        try await Harness.with { h in
            let request = SignalWithStartWorkflowRequest(
                start: StartWorkflowRequest(workflowId: "sws", workflowType: "T", taskQueue: "q"),
                signalName: "add-alert", signalInput: ["alertID": "A1"])
            let first = try await h.client.send(request)
            #expect(first.started)
            let second = try await h.client.send(request)
            #expect(second.started == false)
            #expect(second.runId == first.runId)
            #expect(
                try await h.types("sws") == [
                    .workflowExecutionStarted, .workflowExecutionSignaled, .workflowTaskScheduled,
                    .workflowExecutionSignaled,
                ])
        }
    }

    @Test("bad starts are refused before anything is stored")
    func invalidStarts() async throws {
        try await Harness.with { h in
            await expectError(.invalidArgument) { try await h.start("") }
            await expectError(.invalidArgument) { try await h.start(String(repeating: "x", count: 10_000)) }
            await expectError(.invalidArgument) { try await h.start("wf", type: "") }
            await expectError(.invalidArgument) { try await h.start("wf\u{0}") }
            await expectError(.invalidArgument) {
                _ = try await h.client.send(
                    StartWorkflowRequest(workflowId: "wf", workflowType: "T", taskQueue: "q", workflowTaskTimeoutMs: -5)
                )
            }
            let list = try await h.client.send(ListWorkflowsRequest())
            #expect(list.executions.isEmpty)
            // Unusual but valid ids work.
            try await h.start("incident-ü/😀 payment")
            #expect(try await h.describe("incident-ü/😀 payment").execution.status == .running)
        }
    }

    @Test("cancel records the request for the workflow to handle; terminate closes the run")
    func cancelAndTerminate() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            _ = try await h.client.send(RequestCancelWorkflowRequest(workflowId: "wf", reason: "not needed"))
            #expect(try await h.types("wf").contains(.workflowExecutionCancelRequested))
            let worker = try await h.worker()
            let task = try #require(try await h.poll(worker))
            try await h.complete(worker, task, [.cancelWorkflowExecution(CancelWorkflowExecutionCommand(details: nil))])
            #expect(try await h.describe("wf").execution.status == .canceled)
            try await h.start("wf2")
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf2", reason: "stuck"))
            let description = try await h.describe("wf2")
            #expect(description.execution.status == .terminated)
            #expect(description.execution.closeTime != nil)
            await expectError(.workflowNotRunning) {
                _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf2", reason: "again"))
            }
            await expectError(.notFound) {
                _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "missing", reason: "x"))
            }
        }
    }
}

@Suite("Request ids name one request")
struct RequestIdScopeTests {
    @Test("a request id reused for another kind of request is refused; a retried terminate succeeds")
    func kindsAndTerminate() async throws {
        try await Harness.with { h in
            try await h.start("wf", requestId: "r-start")
            // The start's id cannot be replayed as a signal (that would silently drop the signal).
            let error = await expectError(.invalidArgument) { try await h.signal("wf", "x", requestId: "r-start") }
            #expect(error?.message.contains("already used to start workflow wf") == true, "\(error?.message ?? "")")
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf", reason: "done", requestId: "r-term"))
            let retried = try await h.client.send(
                TerminateWorkflowRequest(workflowId: "wf", reason: "done", requestId: "r-term"))
            #expect(!retried.runId.isEmpty)
            await expectError(.workflowNotRunning) {
                _ = try await h.client.send(
                    TerminateWorkflowRequest(workflowId: "wf", reason: "again", requestId: "r-term-2"))
            }
        }
    }

    @Test("USE_EXISTING records its request id: a retry after the run closed does not start another")
    func useExistingRecordsRequestId() async throws {
        try await Harness.with { h in
            let first = try await h.start("wf")
            let joined = try await h.start("wf", requestId: "join-1", conflict: .useExisting)
            #expect(joined.runId == first.runId)
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "wf", reason: "x"))
            let retry = try await h.start("wf", requestId: "join-1", conflict: .useExisting)
            #expect(retry.runId == first.runId && retry.started == false)
        }
    }

    @Test("long-poll timeouts out of range are INVALID_ARGUMENT")
    func timeoutRange() async throws {
        try await Harness.with { h in
            let worker = try await h.worker()
            await expectError(.invalidArgument) { _ = try await h.poll(worker, timeoutMs: -1) }
            await expectError(.invalidArgument) { _ = try await h.poll(worker, timeoutMs: 10_000_000) }
            #expect(try await h.poll(worker, timeoutMs: 0) == nil, "0 answers at once")
        }
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    @Test("identifiers must be NFC: a decomposed é is refused, so memory and SQLite agree on sameness")
    func nfc() async throws {
        try await Harness.with { h in
            let composed = "incident-caf\u{E9}"
            let decomposed = "incident-cafe\u{301}"
            #expect(composed == decomposed, "Swift compares them canonically")
            try await h.start(composed)
            let error = await expectError(.invalidArgument) { try await h.start(decomposed) }
            #expect(error?.message.contains("normalization form C") == true)
            await expectError(.invalidArgument) { try await h.signal(decomposed, "x") }
            // Closed and only in SQLite, the composed id is still found.
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: composed, reason: "x"))
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await h.describe(composed).execution.status == .terminated)
            await expectError(.invalidArgument) {
                _ = try await h.client.send(
                    StartWorkflowRequest(
                        workflowId: "ok", workflowType: "T", taskQueue: "q", requestId: "re\u{301}quest"))
            }
        }
    }
}
