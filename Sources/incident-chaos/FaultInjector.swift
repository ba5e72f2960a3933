import Foundation
import OrchestratorProtocol
import Synchronization

/// Kills workers (preferably one that holds a workflow task or runs a notification at that moment)
/// and, less often, the server, each with kill -9, and restarts them after a short random pause.
final class FaultInjector: Sendable {
    struct Figures {
        var workerKills = 0
        var holdingWorkflowTask = 0
        var runningActivity = 0
        var serverKills = 0
    }

    let processes: ChaosProcesses
    let client: ResilientClient
    let workers: Int
    let workerKillEvery: Int
    let serverKillEvery: Int
    let active: ActiveIncidents
    private let state: Mutex<(SeededRandom, Figures)>

    init(
        processes: ChaosProcesses, client: ResilientClient, active: ActiveIncidents, seed: UInt64, workers: Int,
        workerKillEvery: Int, serverKillEvery: Int
    ) {
        self.processes = processes
        self.active = active
        self.client = client
        self.workers = workers
        self.workerKillEvery = workerKillEvery
        self.serverKillEvery = serverKillEvery
        state = Mutex((SeededRandom(seed: seed ^ 0xfa17), Figures()))
    }

    var figures: Figures { state.withLock { $0.1 } }

    private func randomDelay(mean: Int) -> Int {
        state.withLock { s in
            // Exponential, so that kills come at any moment, clustered or not.
            let u = Double(s.0.next() % 1_000_000 + 1) / 1_000_001
            return max(50, Int(-log(u) * Double(mean)))
        }
    }

    private func randomInt(_ range: ClosedRange<Int>) -> Int {
        state.withLock { s in Int.random(in: range, using: &s.0) }
    }

    func run(until end: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.killWorkers(until: end) }
            group.addTask { await self.killServer(until: end) }
        }
    }

    private func killWorkers(until end: ContinuousClock.Instant) async {
        while ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(randomDelay(mean: workerKillEvery)))
            guard ContinuousClock.now < end else { return }
            var slot: Int?
            var holding = false
            var running = false
            // Most kills aim at a worker that holds something of an incident at that moment: a workflow
            // task (kill A), or a notification in flight (kill B, alternating).
            if randomInt(0...3) > 0 {
                let wantActivity = randomInt(0...1) == 0
                for workflowId in active.sample(32) {
                    guard
                        let description = try? await client.send(
                            DescribeWorkflowRequest(workflowId: workflowId), giveUp: .seconds(1))
                    else { continue }
                    if !wantActivity, let task = description.pendingWorkflowTask, task.state == .started,
                        let identity = task.identity, let pid = pid(of: identity),
                        let found = processes.slot(ofPid: pid)
                    {
                        (slot, holding) = (found, true)
                        break
                    }
                    if wantActivity,
                        let activity = description.pendingActivities.first(where: { $0.state == .started }),
                        let identity = activity.lastWorkerIdentity, let pid = pid(of: identity),
                        let found = processes.slot(ofPid: pid)
                    {
                        (slot, running) = (found, true)
                        break
                    }
                }
            }
            let running0 = processes.runningWorkerSlots
            guard let target = slot ?? running0.randomElement() else { continue }
            processes.killWorker(target)
            state.withLock { s in
                s.1.workerKills += 1
                if holding { s.1.holdingWorkflowTask += 1 }
                if running { s.1.runningActivity += 1 }
            }
            let pause = randomInt(0...800)
            Task {
                try? await Task.sleep(for: .milliseconds(pause))
                try? self.processes.startWorker(target)
            }
        }
    }

    private func killServer(until end: ContinuousClock.Instant) async {
        while ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(randomDelay(mean: serverKillEvery)))
            guard ContinuousClock.now < end else { return }
            processes.killServer()
            state.withLock { $0.1.serverKills += 1 }
            try? await Task.sleep(for: .milliseconds(randomInt(100...1_000)))
            try? processes.startServer()
        }
    }

    private func pid(of identity: String) -> Int32? {
        identity.split(separator: ":").last.flatMap { Int32($0) }
    }
}
