import Incidents
import Logging
import OrchestratorProtocol
import Testing
import Workflows

@testable import WorkerRuntime

@Suite("The worker's cache of runs")
struct WorkflowCacheTests {
    static let start = Timestamp(milliseconds: 1_764_633_600_000)

    /// The first workflow task of an incident: started, scheduled, started.
    static func firstTask(runId: String) throws -> WorkflowTask {
        let events = [
            HistoryEvent(
                eventId: 1, eventTime: start,
                attributes: .workflowExecutionStarted(
                    .init(
                        workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                        input: try PayloadCoding.encode(IncidentWorkflow.Input(service: "svc")),
                        workflowTaskTimeoutMs: 10_000, identity: "test", requestId: nil, attempt: 1,
                        firstExecutionRunId: runId))),
            HistoryEvent(
                eventId: 2, eventTime: start,
                attributes: .workflowTaskScheduled(
                    .init(taskQueue: IncidentWorkflow.taskQueue, startToCloseTimeoutMs: 10_000, attempt: 1))),
            HistoryEvent(
                eventId: 3, eventTime: start,
                attributes: .workflowTaskStarted(.init(scheduledEventId: 2, identity: "test"))),
        ]
        return WorkflowTask(
            taskToken: "t", workflowId: "incident-svc", runId: runId, workflowType: IncidentWorkflow.name,
            taskQueue: IncidentWorkflow.taskQueue, attempt: 1, previousStartedEventId: 0, startedEventId: 3,
            events: events)
    }

    static func query(_ id: String, runId: String, type: String) -> WorkflowQuery {
        WorkflowQuery(
            queryId: id, workflowId: "incident-svc", runId: runId, workflowType: IncidentWorkflow.name,
            taskQueue: IncidentWorkflow.taskQueue, queryType: type, args: nil)
    }

    static func cache() -> WorkflowCache {
        var registry = WorkerRegistry()
        registry.register(IncidentWorkflow.self)
        return WorkflowCache(capacity: 10, registry: registry, logger: Logger(label: "cache-test"))
    }

    @Test("a rebuilt run answers the task's queries from the state after its events, failures included")
    func rebuildAnswersQueries() async throws {
        let cache = Self.cache()
        let task = try Self.firstTask(runId: "r1")
        let queries = [Self.query("q1", runId: "r1", type: "status"), Self.query("q2", runId: "r1", type: "nope")]
        let (commands, answers) = try await cache.rebuild(task, history: task.events, queries: queries)
        #expect(!commands.isEmpty)
        #expect(answers.map(\.queryId) == ["q1", "q2"])
        let state = try PayloadCoding.decode(IncidentState.self, from: answers[0].result)
        #expect(state.status == .open && answers[0].failure == nil)
        #expect(answers[1].failure != nil && answers[1].result == nil)
        // The run is cached now: a pushed query is answered from it, one for another run is not.
        #expect(await cache.answerCached(Self.query("q3", runId: "r1", type: "status"))?.failure == nil)
        #expect(await cache.answerCached(Self.query("q4", runId: "other", type: "status")) == nil)
    }

    @Test("continuing: an unknown run must be rebuilt; a task that skips events asks for those first")
    func continueOutcomes() async throws {
        let cache = Self.cache()
        let task = try Self.firstTask(runId: "r1")
        guard case .notCached = try await cache.continueCached(task, events: task.events) else {
            Issue.record("an uncached run continued")
            return
        }
        _ = try await cache.rebuild(task, history: task.events)
        let later = HistoryEvent(
            eventId: 9, eventTime: Self.start,
            attributes: .workflowExecutionSignaled(
                .init(signalName: "ack", input: ["responder": "alice"], identity: nil, requestId: nil)))
        guard case .missingEvents(after: 3) = try await cache.continueCached(task, events: [later]) else {
            Issue.record("a gap after event 3 was not reported")
            return
        }
    }

    @Test("a run whose task closes it leaves the cache in the same trip; its queries are answered first")
    func closedRunsLeave() async throws {
        var registry = WorkerRegistry()
        registry.register(WaitForGoWorkflow.self)
        let cache = WorkflowCache(capacity: 10, registry: registry, logger: Logger(label: "cache-test"))
        func task(runId: String, signal: Bool) throws -> WorkflowTask {
            var events = [
                HistoryEvent(
                    eventId: 1, eventTime: Self.start,
                    attributes: .workflowExecutionStarted(
                        .init(
                            workflowType: WaitForGoWorkflow.name, taskQueue: "q",
                            input: try PayloadCoding.encode(Int64(60_000)), workflowTaskTimeoutMs: 10_000,
                            identity: "test", requestId: nil, attempt: 1, firstExecutionRunId: runId))),
                HistoryEvent(
                    eventId: 2, eventTime: Self.start,
                    attributes: .workflowTaskScheduled(.init(taskQueue: "q", startToCloseTimeoutMs: 10_000, attempt: 1))
                ),
            ]
            if signal {
                events.append(
                    HistoryEvent(
                        eventId: 3, eventTime: Self.start,
                        attributes: .workflowExecutionSignaled(
                            .init(signalName: WaitForGoWorkflow.go.name, input: nil, identity: nil, requestId: nil))))
            }
            let started = Int64(events.count + 1)
            events.append(
                HistoryEvent(
                    eventId: started, eventTime: Self.start,
                    attributes: .workflowTaskStarted(.init(scheduledEventId: 2, identity: "test"))))
            return WorkflowTask(
                taskToken: "t", workflowId: "w-\(runId)", runId: runId, workflowType: WaitForGoWorkflow.name,
                taskQueue: "q", attempt: 1, previousStartedEventId: 0, startedEventId: started, events: events)
        }
        // Still waiting for "go": cached.
        let open = try task(runId: "open", signal: false)
        let (openCommands, _) = try await cache.rebuild(open, history: open.events)
        #expect(!openCommands.contains { if case .completeWorkflowExecution = $0 { true } else { false } })
        #expect(await cache.count == 1)
        // "go" came before the first task: the task completes the run, which is not kept.
        let done = try task(runId: "done", signal: true)
        let seen = WorkflowQuery(
            queryId: "q1", workflowId: "w-done", runId: "done", workflowType: WaitForGoWorkflow.name, taskQueue: "q",
            queryType: WaitForGoWorkflow.seen.name, args: nil)
        let (commands, answers) = try await cache.rebuild(done, history: done.events, queries: [seen])
        #expect(commands.contains { if case .completeWorkflowExecution = $0 { true } else { false } })
        #expect(answers.first?.result == true)
        #expect(await cache.count == 1)
        #expect(await cache.answerCached(seen) == nil)
    }
}
