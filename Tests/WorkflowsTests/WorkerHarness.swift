import Foundation
import Logging
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import Testing
import WorkerRuntime
import Workflows

/// A server and one worker in this process, and a client to drive workflows.
struct WorkerHarness {
    let server: TestServer
    let client: OrchestratorClient
    let attempts: AttemptCounter
    /// The worker `with` runs.
    private(set) var worker: Worker?

    static func with(
        register: (inout WorkerRegistry) -> Void,
        options configure: (inout WorkerOptions) -> Void = { _ in },
        _ body: (WorkerHarness) async throws -> Void
    ) async throws {
        let server = try await TestServer.start()
        let client = try await server.connect(identity: "test-client")
        var harness = WorkerHarness(server: server, client: client, attempts: AttemptCounter())
        let worker = harness.makeWorker(register: register, options: configure)
        harness.worker = worker
        let running = Task { try await worker.run() }
        await worker.waitUntilConnected()
        defer {}
        var failure: (any Error)?
        do {
            try await body(harness)
        } catch {
            failure = error
        }
        worker.shutdown()
        _ = try? await running.value
        await client.close()
        await server.stop()
        server.remove()
        if let failure { throw failure }
    }

    func makeWorker(
        identity: String = "test-worker", taskQueue: String = "tests", register: (inout WorkerRegistry) -> Void,
        options configure: (inout WorkerOptions) -> Void = { _ in }
    ) -> Worker {
        var registry = WorkerRegistry()
        register(&registry)
        let attempts = self.attempts
        registry.register(Echo.self) { input, _ in input }
        registry.register(Flaky.self) { input, context in
            let attempt = attempts.next(context.idempotencyKey)
            if attempt < 3 { throw ApplicationError("attempt \(attempt) failed", type: "Transient") }
            return "\(input) after \(attempt) attempts"
        }
        var options = WorkerOptions(address: server.address, identity: identity, taskQueue: taskQueue)
        options.pollTimeoutMs = 1_000
        configure(&options)
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        return Worker(options: options, registry: registry, logger: logger)
    }

    @discardableResult
    func start<W: Workflow>(_ workflow: W.Type, id: String, input: W.Input) async throws -> String {
        try await client.send(
            StartWorkflowRequest(
                workflowId: id, workflowType: W.name, taskQueue: "tests", input: try PayloadCoding.encode(input))
        ).runId
    }

    func result<W: Workflow>(_ workflow: W.Type, id: String, runId: String? = nil) async throws -> W.Output {
        let response = try await client.send(
            AwaitWorkflowResultRequest(workflowId: id, runId: runId, timeoutMs: 20_000))
        guard response.status == .completed else {
            throw WorkflowRuntimeError(
                "\(id) ended \(response.status.rawValue): \(response.failure?.description ?? "")")
        }
        return try PayloadCoding.decode(W.Output.self, from: response.result)
    }

    func history(_ id: String, runId: String? = nil) async throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var after: Int64 = 0
        while true {
            let page = try await client.send(
                GetWorkflowHistoryRequest(workflowId: id, runId: runId, afterEventId: after))
            events += page.events
            after = page.events.last?.eventId ?? after
            if !page.hasMore { return events }
        }
    }

    func signal<I>(_ id: String, _ signal: Signal<I>, _ input: I) async throws {
        _ = try await client.send(
            SignalWorkflowRequest(workflowId: id, signalName: signal.name, input: try PayloadCoding.encode(input)))
    }
}
