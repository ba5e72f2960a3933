import ArgumentParser
import Foundation
import Incidents
import OrchestratorProtocol
import OrchestratorTransport
import Synchronization

/// `incident-chaos`: many incidents through their whole lifecycle while workers and the server are
/// killed with kill -9 at random moments; then every incident is checked against what was acknowledged.
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident-chaos",
        abstract: "Drive incidents while killing workers and the server; check nothing was lost or doubled.",
        discussion: """
            Plans (each incident's alerts, escalation interval and ending) follow from --seed; the timing of \
            kills and requests does not repeat exactly. Exits non-zero if an invariant breaks.
            """)

    @Option(help: "The seed of the incidents' plans and of the faults (default: random, printed).")
    var seed: UInt64?

    @Option(help: "How long to start incidents and inject faults, e.g. 60s or 10m.")
    var duration: String = "60s"

    @Option(help: "Incidents in flight at once.")
    var concurrency: Int = 16

    @Option(help: "Worker processes.")
    var workers: Int = 3

    @Option(help: "Mean time between worker kills, in milliseconds.")
    var workerKillEveryMs: Int = 2_500

    @Option(help: "Mean time between server kills, in milliseconds.")
    var serverKillEveryMs: Int = 30_000

    @Option(help: "Simulated notification latency (0…N ms), so that kills land while notifications run.")
    var notifyLatencyMs: Int = 300

    @Option(help: "The data directory (default: a new one under /tmp, removed when the run passes).")
    var dataDir: String?

    @Option(help: "Where the orchestrator executables are (default: next to this one).")
    var binDir: String?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func run() async throws {
        guard let seconds = parseSeconds(duration) else {
            throw ValidationError("--duration must look like 60s or 10m")
        }
        let seed = self.seed ?? UInt64.random(in: 1...999_999)
        let directory = URL(fileURLWithPath: dataDir ?? "/tmp/chaos-\(seed)-\(UUID().uuidString.prefix(4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bin = URL(
            fileURLWithPath: binDir
                ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
                .path)
        let processes = ChaosProcesses(dataDirectory: directory, binDirectory: bin, notifyLatencyMs: notifyLatencyMs)
        log(
            "chaos run: seed \(seed), \(Int(seconds)) s, \(concurrency) incidents in flight, \(workers) workers; data in \(directory.path)"
        )
        try processes.startServer()
        for slot in 0..<workers { try processes.startWorker(slot) }
        let client = ResilientClient(address: processes.address, identity: "chaos-driver")
        _ = try await client.send(ListWorkflowsRequest(pageSize: 1))

        let active = ActiveIncidents()
        let injector = FaultInjector(
            processes: processes, client: client, active: active, seed: seed, workers: workers,
            workerKillEvery: workerKillEveryMs, serverKillEvery: serverKillEveryMs)
        let end = ContinuousClock.now + .seconds(seconds)
        let faults = Task { await injector.run(until: end) }
        let records = await withTaskGroup(of: IncidentRecord.self) { group in
            var next = 0
            var records: [IncidentRecord] = []
            for _ in 0..<concurrency {
                let plan = IncidentPlan(seed: seed, number: next)
                next += 1
                active.add(plan.workflowId)
                group.addTask { await drive(plan, seed: seed, client: client) }
            }
            for await record in group {
                records.append(record)
                active.remove(record.plan.workflowId)
                if records.count % 100 == 0 { log("\(records.count) incidents done") }
                if ContinuousClock.now >= end {
                    log("\(records.count) done; waiting for \(active.count) more: \(active.sample(3))")
                }
                if ContinuousClock.now < end {
                    let plan = IncidentPlan(seed: seed, number: next)
                    next += 1
                    active.add(plan.workflowId)
                    group.addTask { await drive(plan, seed: seed, client: client) }
                }
            }
            return records
        }
        await faults.value
        // Faults are over: everything runs again for the checks.
        if !processes.isServerRunning { try processes.startServer() }
        for slot in 0..<workers where !processes.runningWorkerSlots.contains(slot) { try processes.startWorker(slot) }
        log("all \(records.count) incidents driven; checking")
        var findings = await verify(records, client: client, notificationLog: processes.notifyLog)
        let kills = injector.figures
        processes.stopAll()
        findings.problems = Array(findings.problems.prefix(20))
        let summary = ChaosSummary(
            seed: seed, seconds: Int(seconds), findings: findings, workerKills: kills.workerKills,
            workerKillsHoldingWorkflowTask: kills.holdingWorkflowTask,
            workerKillsRunningNotification: kills.runningActivity,
            serverKills: kills.serverKills, clientRetries: await client.retries, notifyLatencyMs: notifyLatencyMs)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            summary.printText()
        }
        if findings.passed {
            if dataDir == nil { try? FileManager.default.removeItem(at: directory) }
        } else {
            log("FAILED; data and logs kept in \(directory.path)")
            throw ExitCode(1)
        }
    }
}

/// The incidents being driven (the fault injector targets workers that hold their tasks).
final class ActiveIncidents: Sendable {
    private let ids = Mutex<Set<String>>([])
    func add(_ id: String) { _ = ids.withLock { $0.insert(id) } }
    func remove(_ id: String) { _ = ids.withLock { $0.remove(id) } }
    func random() -> String? { ids.withLock { $0.randomElement() } }
    func sample(_ count: Int) -> [String] { ids.withLock { Array($0.shuffled().prefix(count)) } }
    var count: Int { ids.withLock { $0.count } }
}

struct ChaosSummary: Encodable {
    var seed: UInt64
    var seconds: Int
    var findings: ChaosFindings
    var workerKills: Int
    var workerKillsHoldingWorkflowTask: Int
    var workerKillsRunningNotification: Int
    var serverKills: Int
    var clientRetries: Int
    var notifyLatencyMs: Int

    var lost: Int { findings.lost }
    var duplicated: Int { findings.duplicated + findings.notificationKeysTwice + findings.escalationLevelsTwice }

    enum CodingKeys: String, CodingKey {
        case seed, seconds, findings, workerKills, workerKillsHoldingWorkflowTask, workerKillsRunningNotification
        case serverKills, clientRetries, lost, duplicated, passed
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seed, forKey: .seed)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(findings, forKey: .findings)
        try c.encode(workerKills, forKey: .workerKills)
        try c.encode(workerKillsHoldingWorkflowTask, forKey: .workerKillsHoldingWorkflowTask)
        try c.encode(workerKillsRunningNotification, forKey: .workerKillsRunningNotification)
        try c.encode(serverKills, forKey: .serverKills)
        try c.encode(clientRetries, forKey: .clientRetries)
        try c.encode(lost, forKey: .lost)
        try c.encode(duplicated, forKey: .duplicated)
        try c.encode(findings.passed, forKey: .passed)
    }

    func printText() {
        let f = findings
        print(
            """
            chaos summary (seed \(seed), \(seconds) s of faults)
              incidents                \(f.incidents) (resolved: \(f.resolved))
              worker kills             \(workerKills) (aimed at a worker holding a workflow task: \(workerKillsHoldingWorkflowTask), running a notification: \(workerKillsRunningNotification))
              kills seen in history    \(f.injectedWorkflowTaskFailures["CONNECTION_CLOSED"] ?? 0) workflow tasks and \(f.notificationAttemptsInterrupted) notification attempts taken from killed workers
              server kills             \(serverKills)
              acknowledged             \(f.acknowledgedStarts) starts, \(f.acknowledgedSignals) signals (client retries: \(clientRetries))
              lost                     \(lost)
              duplicated               \(duplicated)
              wrong final state        \(f.wrongFinalState)
              notifications            \(f.notifications) (keys applied twice: \(f.notificationKeysTwice); levels missing: \(f.escalationLevelsMissing), doubled: \(f.escalationLevelsTwice); escalations after ack: \(f.escalationsAfterAck))
              workflow task failures   unexpected \(f.unexpectedWorkflowTaskFailures); from injected faults \(f.injectedWorkflowTaskFailures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); timeouts \(f.workflowTaskTimeouts)
              escalation lateness      escalated (notification scheduled): p50 \(f.escalationScheduledLatenessP50Ms) ms, p99 \(f.escalationScheduledLatenessP99Ms) ms, worst \(f.worstEscalationScheduledLatenessMs) ms
                                       notified (with up to \(notifyLatencyMs) ms of simulated latency): p50 \(f.escalationLatenessP50Ms) ms, p99 \(f.escalationLatenessP99Ms) ms, worst \(f.worstEscalationLatenessMs) ms (over \(f.escalations) escalations)
              result                   \(f.passed ? "PASSED" : "FAILED")
            """)
        for problem in f.problems { print("  problem: \(problem)") }
    }
}

func log(_ text: String) {
    FileHandle.standardError.write(Data("[\(Timestamp.now().iso8601)] \(text)\n".utf8))
}

func parseSeconds(_ text: String) -> Double? {
    if text.hasSuffix("ms"), let value = Double(text.dropLast(2)) { return value / 1000 }
    if text.hasSuffix("s"), let value = Double(text.dropLast()) { return value }
    if text.hasSuffix("m"), let value = Double(text.dropLast()) { return value * 60 }
    if text.hasSuffix("h"), let value = Double(text.dropLast()) { return value * 3600 }
    return Double(text)
}
