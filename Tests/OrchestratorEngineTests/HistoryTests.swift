import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import Testing

@Suite("History, results, visibility", .serialized)
struct HistoryTests {
    @Test("a history long poll returns when a new event is committed")
    func historyLongPoll() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let last = try await h.history("wf").last?.eventId ?? 0
            async let page = h.client.send(
                GetWorkflowHistoryRequest(workflowId: "wf", afterEventId: last, waitNewEvent: true, timeoutMs: 5_000))
            try await Task.sleep(for: .milliseconds(100))
            try await h.signal("wf", "ping")
            let events = try await page.events
            #expect(events.first?.eventType == .workflowExecutionSignaled)
            // With nothing new, the poll ends empty at its timeout.
            let empty = try await h.client.send(
                GetWorkflowHistoryRequest(
                    workflowId: "wf", afterEventId: events.last?.eventId ?? 0, waitNewEvent: true, timeoutMs: 200))
            #expect(empty.events.isEmpty)
            #expect(empty.closed == false)
        }
    }

    @Test("history pages with afterEventId and hasMore")
    func historyPaging() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            for index in 0..<9 { try await h.signal("wf", "s\(index)") }
            var all: [HistoryEvent] = []
            var after: Int64 = 0
            var pages = 0
            while true {
                let page = try await h.client.send(
                    GetWorkflowHistoryRequest(workflowId: "wf", afterEventId: after, maximumPageSize: 4))
                all += page.events
                pages += 1
                after = page.events.last?.eventId ?? after
                if !page.hasMore { break }
            }
            #expect(all.map(\.eventId) == Array(1...11))
            #expect(pages == 3)
        }
    }

    @Test("await result returns the result once the run completes, following continue-as-new")
    func awaitResultFollowsContinueAsNew() async throws {
        try await Harness.with { h in
            let first = try await h.start("wf", input: 1)
            let worker = try await h.worker()
            async let result = h.client.send(AwaitWorkflowResultRequest(workflowId: "wf", runId: first.runId))
            let task1 = try #require(try await h.poll(worker))
            try await h.complete(
                worker, task1, [.continueAsNewWorkflowExecution(ContinueAsNewWorkflowExecutionCommand(input: 2))])
            let task2 = try #require(try await h.poll(worker))
            #expect(task2.runId != first.runId)
            guard case .workflowExecutionStarted(let started) = task2.events[0].attributes else {
                Issue.record("the new run must start with WorkflowExecutionStarted")
                return
            }
            #expect(started.input == 2)
            #expect(started.continuedExecutionRunId == first.runId)
            #expect(started.firstExecutionRunId == first.runId)
            try await h.complete(worker, task2, [.complete(["status": "RESOLVED"])])
            let response = try await result
            #expect(response.status == .completed)
            #expect(response.runId == task2.runId)
            #expect(response.result == ["status": "RESOLVED"])
        }
    }

    @Test("a result wait answers the same whether the run closed while it waited or before it asked")
    func awaitResultFromMemoryAndFromStore() async throws {
        try await Harness.with { h in
            let started = try await h.start("wf")
            let worker = try await h.worker()
            // Waiting when the run closes: answered from the closing event the engine holds.
            async let waited = h.client.send(AwaitWorkflowResultRequest(workflowId: "wf", timeoutMs: 5_000))
            try await Task.sleep(for: .milliseconds(50))
            let task = try #require(try await h.poll(worker))
            try await h.complete(worker, task, [.complete(["status": "RESOLVED"])])
            let live = try await waited
            // Asking after the run left memory: answered from the store.
            let stored = try await h.client.send(AwaitWorkflowResultRequest(workflowId: "wf", timeoutMs: 5_000))
            #expect(live == stored)
            #expect(live.runId == started.runId)
            #expect(live.status == .completed)
            #expect(live.result == ["status": "RESOLVED"])

            try await h.start("ended", input: 1)
            async let terminated = h.client.send(AwaitWorkflowResultRequest(workflowId: "ended", timeoutMs: 5_000))
            try await Task.sleep(for: .milliseconds(50))
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "ended", reason: "operator"))
            let liveTerminated = try await terminated
            let storedTerminated = try await h.client.send(
                AwaitWorkflowResultRequest(workflowId: "ended", timeoutMs: 5_000))
            #expect(liveTerminated == storedTerminated)
            #expect(liveTerminated.status == .terminated)
            #expect(liveTerminated.failure?.message == "workflow terminated: operator")
        }
    }

    @Test("await result times out with TIMEOUT while the run is open")
    func awaitResultTimeout() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            await expectError(.timeout) {
                _ = try await h.client.send(AwaitWorkflowResultRequest(workflowId: "wf", timeoutMs: 200))
            }
        }
    }

    @Test("list filters by status, type, prefix and search attribute, and pages")
    func listAndPage() async throws {
        try await Harness.with { h in
            for index in 0..<5 {
                _ = try await h.client.send(
                    StartWorkflowRequest(
                        workflowId: "incident-s\(index)", workflowType: "IncidentWorkflow", taskQueue: "q",
                        searchAttributes: ["service": .string("s\(index)")]))
            }
            try await h.start("other", type: "Other")
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "incident-s0", reason: "x"))
            let running = try await h.client.send(ListWorkflowsRequest(status: .running))
            #expect(running.executions.count == 5)
            let incidents = try await h.client.send(ListWorkflowsRequest(workflowType: "IncidentWorkflow"))
            #expect(incidents.executions.count == 5)
            #expect(incidents.executions.first?.workflowId == "incident-s4", "newest first")
            let prefixed = try await h.client.send(ListWorkflowsRequest(workflowIdPrefix: "incident-"))
            #expect(prefixed.executions.count == 5)
            let byAttribute = try await h.client.send(
                ListWorkflowsRequest(searchAttribute: SearchAttributeFilter(name: "service", value: "s3")))
            #expect(byAttribute.executions.map(\.workflowId) == ["incident-s3"])
            var seen: [String] = []
            var token: String?
            repeat {
                let page = try await h.client.send(ListWorkflowsRequest(pageSize: 2, nextPageToken: token))
                seen += page.executions.map(\.workflowId)
                token = page.nextPageToken
            } while token != nil
            #expect(seen.count == 6)
            #expect(Set(seen).count == 6)
            await expectError(.invalidArgument) {
                _ = try await h.client.send(ListWorkflowsRequest(nextPageToken: "x"))
            }
        }
    }

    @Test("describe shows pending timers, activities and the task")
    func describePending() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker("worker-a")
            try await h.complete(
                worker, try #require(try await h.poll(worker)), [.timer("escalation", 30_000), .activity("1")])
            let d = try await h.describe("wf")
            #expect(d.pendingTimers.map(\.timerId) == ["escalation"])
            #expect(d.pendingActivities.map(\.activityType) == ["Notify"])
            #expect(d.pendingActivities.first?.state == .scheduled)
            #expect(d.pendingWorkflowTask == nil)
            #expect(d.execution.historyLength == 6)
            #expect(d.stickyWorkerIdentity == "worker-a")
        }
    }

    @Test("upserted search attributes reach the visibility index")
    func upsertSearchAttributes() async throws {
        try await Harness.with { h in
            try await h.start("wf")
            let worker = try await h.worker()
            try await h.complete(
                worker, try #require(try await h.poll(worker)),
                [
                    .upsertWorkflowSearchAttributes(
                        UpsertWorkflowSearchAttributesCommand(searchAttributes: ["state": "ACKED"]))
                ])
            let list = try await h.client.send(
                ListWorkflowsRequest(searchAttribute: SearchAttributeFilter(name: "state", value: "ACKED")))
            #expect(list.executions.map(\.workflowId) == ["wf"])
        }
    }
}

@Suite("Children and external signals", .serialized)
struct ChildWorkflowTests {
    @Test("a child's completion reaches its parent")
    func childCompletion() async throws {
        try await Harness.with { h in
            try await h.start("parent")
            let worker = try await h.worker()
            try await h.complete(
                worker, try #require(try await h.poll(worker)),
                [
                    .startChildWorkflowExecution(
                        StartChildWorkflowExecutionCommand(workflowId: "child", workflowType: "Child"))
                ])
            // Two tasks are due: the parent's (child started) and the child's first.
            var tasks: [WorkflowTask] = []
            for _ in 0..<2 { tasks.append(try #require(try await h.poll(worker))) }
            let childTask = try #require(tasks.first { $0.workflowId == "child" })
            let parentTask = try #require(tasks.first { $0.workflowId == "parent" })
            #expect(parentTask.events.contains { $0.eventType == .childWorkflowExecutionStarted })
            try await h.complete(worker, parentTask)
            try await h.complete(worker, childTask, [.complete(42)])
            let next = try #require(try await h.poll(worker))
            #expect(next.workflowId == "parent")
            let completed = next.events.compactMap { e -> ChildWorkflowExecutionClosedAttributes? in
                if case .childWorkflowExecutionCompleted(let a) = e.attributes { return a }
                return nil
            }
            #expect(completed.first?.result == 42)
            #expect(completed.first?.workflowId == "child")
        }
    }

    @Test("a parent that closes terminates its open children (policy TERMINATE)")
    func parentClosePolicy() async throws {
        try await Harness.with { h in
            try await h.start("parent")
            let worker = try await h.worker()
            try await h.complete(
                worker, try #require(try await h.poll(worker)),
                [
                    .startChildWorkflowExecution(
                        StartChildWorkflowExecutionCommand(workflowId: "child", workflowType: "Child"))
                ])
            _ = try await h.client.send(TerminateWorkflowRequest(workflowId: "parent", reason: "done"))
            #expect(try await h.describe("child").execution.status == .terminated)
        }
    }

    @Test("signalling another workflow delivers the signal and records the outcome")
    func signalExternal() async throws {
        try await Harness.with { h in
            try await h.start("sender")
            try await h.start("receiver")
            let worker = try await h.worker()
            var tasks: [WorkflowTask] = []
            for _ in 0..<2 { tasks.append(try #require(try await h.poll(worker))) }
            let sender = try #require(tasks.first { $0.workflowId == "sender" })
            try await h.complete(
                worker, sender,
                [
                    .signalExternalWorkflowExecution(
                        SignalExternalWorkflowExecutionCommand(workflowId: "receiver", signalName: "hello", input: "hi")
                    ),
                    .signalExternalWorkflowExecution(
                        SignalExternalWorkflowExecutionCommand(workflowId: "nobody", signalName: "hello")),
                ])
            // The receiver's task is held, so the signal waits in its buffer until that task completes.
            #expect(try await h.types("receiver").contains(.workflowExecutionSignaled) == false)
            try await h.complete(worker, try #require(tasks.first { $0.workflowId == "receiver" }))
            #expect(try await h.types("receiver").contains(.workflowExecutionSignaled))
            let types = try await h.types("sender")
            #expect(types.contains(.externalWorkflowExecutionSignaled))
            #expect(types.contains(.signalExternalWorkflowExecutionFailed))
        }
    }
}
