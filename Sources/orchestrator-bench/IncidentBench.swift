import ArgumentParser
import Foundation
import Incidents
import OrchestratorClient
import OrchestratorProtocol
import Synchronization
import Workflows

/// The incident workload of issue 5: start, two alerts, a status query, ack, resolve, await the result.
struct IncidentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "Incidents through their lifecycle against a server and W workers it starts; prints one JSON object.")

    @Option(help: "Incidents in all.") var incidents = 2_000
    @Option(help: "Incidents in flight at once.") var concurrency = 50
    @Option(help: "Worker processes.") var workers = 2
    @Option(
        help:
            "Client connections the incidents share (one, as an application's client keeps; more cost the client more CPU: four, the default until 17c52da, about a fifth more)."
    )
    var connections = 1
    @Option(help: "Workflow task polls each worker keeps in flight (default: the worker's, 16).")
    var workflowPollers: Int?
    @Option(help: "full, normal or off.") var synchronous = "full"
    @Option(help: "Where the executables are (default: next to this one).") var binDir: String?
    @Flag(
        help:
            "Random (version 4) UUIDs as request ids, as Temporal's SDKs make them, instead of time-ordered ones (version 7), as incident-starter makes them."
    )
    var randomRequestIds = false
    @Flag(
        help:
            "Keep the run's directory (database, server and worker logs) and print its path on stderr; the server logs at info, with the engine's statistics when it stops."
    )
    var keep = false

    func run() async throws {
        let stack = try BenchStack(
            binDirectory: binDir.map { URL(fileURLWithPath: $0) } ?? ownBinDirectory(), synchronous: synchronous)
        try stack.startServer(logLevel: keep ? "info" : "warning")
        for _ in 0..<workers { try stack.startWorker(workflowPollers: workflowPollers) }
        defer {
            stack.stop(removeData: !keep)
            if keep { FileHandle.standardError.write(Data("kept \(stack.directory.path)\n".utf8)) }
        }
        var clients: [OrchestratorClient] = []
        for index in 0..<max(1, connections) { clients.append(try await stack.connect(identity: "bench-\(index)")) }
        let random = randomRequestIds
        let newRequestId: @Sendable () -> String = {
            random ? GeneratedUUID.random() : GeneratedUUID.timeOrdered()
        }
        // Warm up: a worker polls and one incident, not measured, goes through; the other workers
        // have half a second more to connect.
        try await warmUp(client: clients[0], newRequestId: newRequestId)
        try await Task.sleep(for: .milliseconds(500))
        let samples = SampleStore()
        let failures = FailureList()
        let cpuBefore = stack.cpuMilliseconds
        let writesBefore = stack.serverStorageWriteBytes
        let benchCPUBefore = BenchStack.cpuMilliseconds(pid: getpid()) ?? 0
        let machineBefore = BenchStack.machineCPUTicks()
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let number = next
                next += 1
                let client = clients[number % clients.count]
                group.addTask {
                    do {
                        try await runIncident(number, client: client, samples: samples, newRequestId: newRequestId)
                    } catch {
                        failures.add("incident \(number): \(error)")
                    }
                }
            }
            for _ in 0..<min(concurrency, incidents) { add() }
            for await _ in group where next < incidents { add() }
        }
        let wall = milliseconds(ContinuousClock.now - started) / 1000
        let cpuAfter = stack.cpuMilliseconds
        let writes = stack.serverStorageWriteBytes - writesBefore
        let benchCPU = (BenchStack.cpuMilliseconds(pid: getpid()) ?? 0) - benchCPUBefore
        let machine = machineBefore.flatMap { before in BenchStack.machineCPUTicks()?.shares(since: before) }
        // CPU per incident is steadier than throughput on a shared machine whose speed varies.
        func perIncident(_ total: Double) -> JSONValue {
            .double((total / Double(max(1, incidents)) * 1000).rounded() / 1000)
        }
        let collected = samples.snapshot
        let problems = failures.all
        let (start, signal, query, result) = (
            percentiles(collected.start), percentiles(collected.signal), percentiles(collected.query),
            percentiles(collected.result)
        )
        var report: [String: JSONValue] = [
            "system": "incident-orchestrator",
            "incidents": .int(Int64(incidents)),
            "completed": .int(Int64(incidents - problems.count)),
            "concurrency": .int(Int64(concurrency)),
            "workers": .int(Int64(workers)),
            "client_connections": .int(Int64(max(1, connections))),
            "synchronous": .string(synchronous),
            "request_ids": .string(randomRequestIds ? "random" : "time-ordered"),
            "wall_s": .double((wall * 1000).rounded() / 1000),
            "incidents_per_s": .double((Double(incidents - problems.count) / wall * 10).rounded() / 10),
            "start_p50_ms": .double(start.p50), "start_p99_ms": .double(start.p99),
            "signal_p50_ms": .double(signal.p50), "signal_p99_ms": .double(signal.p99),
            "query_p50_ms": .double(query.p50), "query_p99_ms": .double(query.p99),
            "result_p50_ms": .double(result.p50), "result_p99_ms": .double(result.p99),
            "server_peak_rss_mib": stack.serverPeakRSSMiB.map(JSONValue.double) ?? .null,
            "server_malloc": stack.serverMalloc.map(JSONValue.string) ?? .null,
            "server_cpu_ms_per_incident": perIncident(cpuAfter.server - cpuBefore.server),
            "workers_cpu_ms_per_incident": perIncident(cpuAfter.workers - cpuBefore.workers),
            "client_cpu_ms_per_incident": perIncident(benchCPU),
            "server_storage_write_kib_per_incident": .double(
                (writes / 1024 / Double(max(1, incidents)) * 10).rounded() / 10),
            "errors": .int(Int64(problems.count)),
            // The machine's CPU time during the run, in per cent of all its CPUs' time: busy (every
            // process, this one too), idle, and stolen by the hypervisor (a virtual CPU ready to
            // run but not run; the speed of a shared machine moves with it).
            "machine_busy_pct": machine.map { .double($0.busy) } ?? .null,
            "machine_idle_pct": machine.map { .double($0.idle) } ?? .null,
            "machine_steal_pct": machine.map { .double($0.steal) } ?? .null,
        ]
        if let workflowPollers { report["workflow_pollers"] = .int(Int64(workflowPollers)) }
        print(JSONValue.object(report).jsonText)
        for problem in problems.prefix(5) { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

/// Errors of a run.
final class FailureList: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ text: String) { list.withLock { $0.append(text) } }
    var all: [String] { list.withLock { $0 } }
}

/// Latency samples shared by the incidents of a run.
final class SampleStore: Sendable {
    private let samples = Mutex(Samples())
    func add(_ value: Double, to keyPath: WritableKeyPath<Samples, [Double]>) {
        samples.withLock { $0[keyPath: keyPath].append(value) }
    }
    var snapshot: Samples { samples.withLock { $0 } }
}

struct Samples: Sendable {
    var start: [Double] = []
    var signal: [Double] = []
    var query: [Double] = []
    var result: [Double] = []
}

/// What makes this run's services (and workflow ids) differ from an earlier run's.
let benchRunPrefix = String(GeneratedUUID.random().prefix(8))

/// One incident through start, status and resolve, not measured, once a worker answers.
func warmUp(client: OrchestratorClient, newRequestId: @Sendable () -> String) async throws {
    let service = "bench-\(benchRunPrefix)-warm-up"
    let workflowId = IncidentWorkflow.workflowId(service: service)
    _ = try await client.send(
        StartWorkflowRequest(
            workflowId: workflowId, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
            input: try PayloadCoding.encode(IncidentWorkflow.Input(service: service, escalateAfterMs: 30_000)),
            requestId: newRequestId()))
    try await waitForWorker(workflowId, client)
    _ = try await client.send(
        SignalWorkflowRequest(
            workflowId: workflowId, signalName: IncidentWorkflow.resolve.name,
            input: try PayloadCoding.encode(ResponderAction(responder: "bench")), requestId: newRequestId()))
    let result = try await client.send(AwaitWorkflowResultRequest(workflowId: workflowId, timeoutMs: 120_000))
    guard result.status == .completed else {
        throw OrchestratorError(.internal, "the warm-up incident \(workflowId) ended \(result.status)")
    }
}

/// Asks an incident's status until a worker answers (NO_WORKER while none polls yet), for up to
/// two minutes: a server under valgrind takes seconds to start, and workers back off meanwhile.
func waitForWorker(_ workflowId: String, _ client: OrchestratorClient) async throws {
    let deadline = ContinuousClock.now + .seconds(120)
    while true {
        do {
            _ = try await client.send(
                QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name))
            return
        } catch let error as OrchestratorError where error.code == .noWorker && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// One incident of the workload, timing each request; throws if the incident does not behave.
/// Each start and signal carries a new request id from `newRequestId`.
func runIncident(
    _ number: Int, client: OrchestratorClient, samples: SampleStore, newRequestId: () -> String
) async throws {
    let service = "bench-\(benchRunPrefix)-\(number)"
    let workflowId = IncidentWorkflow.workflowId(service: service)
    func timed<T>(_ keyPath: WritableKeyPath<Samples, [Double]>, _ body: () async throws -> T) async throws -> T {
        let t0 = ContinuousClock.now
        let value = try await body()
        let elapsed = milliseconds(ContinuousClock.now - t0)
        samples.add(elapsed, to: keyPath)
        return value
    }
    _ = try await timed(\.start) {
        try await client.send(
            StartWorkflowRequest(
                workflowId: workflowId, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                input: try PayloadCoding.encode(IncidentWorkflow.Input(service: service, escalateAfterMs: 30_000)),
                requestId: newRequestId()))
    }
    for signal in [
        (IncidentWorkflow.addAlert.name, try PayloadCoding.encode(AddAlert(alertID: "ALERT-001"))),
        (IncidentWorkflow.addAlert.name, try PayloadCoding.encode(AddAlert(alertID: "ALERT-002"))),
    ] {
        _ = try await timed(\.signal) {
            try await client.send(
                SignalWorkflowRequest(
                    workflowId: workflowId, signalName: signal.0, input: signal.1, requestId: newRequestId()))
        }
    }
    let status = try await timed(\.query) {
        try await client.send(QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name))
    }
    let state = try PayloadCoding.decode(IncidentState.self, from: status.result)
    guard state.status == .open, state.alerts == ["ALERT-001", "ALERT-002"] else {
        throw OrchestratorError(.internal, "status of \(workflowId) was \(state.status) \(state.alerts)")
    }
    for name in [IncidentWorkflow.ack.name, IncidentWorkflow.resolve.name] {
        _ = try await timed(\.signal) {
            try await client.send(
                SignalWorkflowRequest(
                    workflowId: workflowId, signalName: name,
                    input: try PayloadCoding.encode(ResponderAction(responder: "alice")),
                    requestId: newRequestId()))
        }
    }
    let result = try await timed(\.result) {
        try await client.send(AwaitWorkflowResultRequest(workflowId: workflowId, timeoutMs: 120_000))
    }
    let final = try PayloadCoding.decode(IncidentState.self, from: result.result)
    guard result.status == .completed, final.status == .resolved, final.alerts == ["ALERT-001", "ALERT-002"] else {
        throw OrchestratorError(.internal, "\(workflowId) ended \(result.status) \(final.status) \(final.alerts)")
    }
}
