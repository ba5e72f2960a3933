import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorTesting
import Testing

@Suite("Incident story, with real processes", .serialized)
struct IncidentStoryTests {
    /// A server and two workers on a fresh data directory.
    final class Stack: @unchecked Sendable {
        let directory: URL
        let server: ServerProcess
        var workers: [WorkerProcess] = []
        let notifyLog: URL

        init() async throws {
            directory = makeTemporaryDirectory(prefix: "inc")
            notifyLog = directory.appendingPathComponent("notifications.jsonl")
            server = try ServerProcess(dataDirectory: directory)
            _ = try await server.connect(identity: "probe")
            for index in 0..<2 { try addWorker("worker-\(index)") }
        }

        func addWorker(_ name: String) throws {
            workers.append(try WorkerProcess(dataDirectory: directory, name: name, notifyLog: notifyLog))
        }

        /// The worker process that caches the run, from the server's describe.
        func stickyWorker(_ workflowId: String) async throws -> WorkerProcess? {
            let client = try await server.connect(identity: "probe")
            defer { Task { await client.close() } }
            let description = try await client.send(DescribeWorkflowRequest(workflowId: workflowId))
            guard let identity = description.stickyWorkerIdentity,
                let pid = identity.split(separator: ":").last.flatMap({ Int32($0) })
            else { return nil }
            return workers.first { $0.pid == pid && $0.process.isRunning }
        }

        func stop() {
            for worker in workers { worker.terminate() }
            server.terminate()
            try? FileManager.default.removeItem(at: directory)
        }

        var notifications: [NotificationLine] { readNotifications(notifyLog) }
    }

    @Test("the seed's story: start, two alerts, status, ack, resolve, completed")
    func seedStory() async throws {
        let stack = try await Stack()
        defer { stack.stop() }
        let d = stack.directory
        #expect(try starter(d, "-cmd=start", "-service=payment-api").status == 0)
        #expect(try starter(d, "-cmd=alert", "-service=payment-api", "-alert=ALERT-001").status == 0)
        #expect(try starter(d, "-cmd=alert", "-service=payment-api", "-alert=ALERT-002").status == 0)
        #expect(try starter(d, "-cmd=alert", "-service=payment-api", "-alert=ALERT-002").status == 0)
        let open = try #require(try status(d, service: "payment-api"))
        #expect(open.status == "OPEN")
        #expect(open.alerts == ["ALERT-001", "ALERT-002"], "the same alert twice is kept once")
        #expect(open.responder == nil)
        #expect(open.workflowId == "incident-payment-api")
        let duplicate = try starter(d, "-cmd=start", "-service=payment-api")
        #expect(duplicate.status != 0)
        #expect(duplicate.output.contains("already open") && duplicate.output.contains("ack or resolve it first"))
        #expect(try starter(d, "-cmd=ack", "-service=payment-api", "-responder=alice").status == 0)
        #expect(try status(d, service: "payment-api")?.status == "ACKED")
        #expect(try starter(d, "-cmd=resolve", "-service=payment-api", "-responder=alice").status == 0)
        let resolved = try #require(try status(d, service: "payment-api"))
        #expect(resolved.status == "RESOLVED")
        #expect(resolved.responder == "alice")
        let client = try await stack.server.connect(identity: "check")
        let result = try await client.send(
            AwaitWorkflowResultRequest(workflowId: "incident-payment-api", timeoutMs: 10_000))
        #expect(result.status == .completed)
        #expect(try await eventually { stack.notifications.map(\.kind) == ["opened", "acked", "resolved"] })
        // Resolved: a new incident for the service may start; signals to the old one are refused clearly.
        let late = try starter(d, "-cmd=alert", "-service=payment-api", "-alert=ALERT-003")
        #expect(late.status != 0 && late.output.contains("not running"))
        #expect(try starter(d, "-cmd=start", "-service=payment-api").status == 0)
        // Errors are one clear line and a non-zero exit.
        let missing = try starter(d, "-cmd=status", "-service=nobody")
        #expect(missing.status != 0 && missing.output.contains("no incident for nobody"))
        let badFlag = try starter(d, "-cmd=alert", "-service=payment-api")
        #expect(badFlag.status != 0 && badFlag.output.contains("-alert"))
        await client.close()
    }

    @Test("escalation every second while OPEN: level 1, then level 2, each notified once")
    func escalation() async throws {
        let stack = try await Stack()
        defer { stack.stop() }
        #expect(try starter(stack.directory, "-cmd=start", "-service=db", "-escalate-after=1s").status == 0)
        #expect(try await eventually { stack.notifications.filter { $0.kind == "escalated" }.count >= 2 })
        #expect(try starter(stack.directory, "-cmd=ack", "-service=db", "-responder=bob").status == 0)
        let state = try #require(try status(stack.directory, service: "db"))
        #expect(state.status == "ACKED")
        let levelAtAck = state.escalationLevel
        try await Task.sleep(for: .milliseconds(1_500))
        let escalations = stack.notifications.filter { $0.kind == "escalated" }
        #expect(escalations.map(\.level) == Array(1...levelAtAck), "no escalation after the ack")
        #expect(Set(escalations.map(\.key)).count == escalations.count)
    }

    @Test("kill -9 of the worker holding the run between escalations: the next one fires on time elsewhere, once")
    func killStickyWorker() async throws {
        let stack = try await Stack()
        defer { stack.stop() }
        let d = stack.directory
        #expect(try starter(d, "-cmd=start", "-service=checkout", "-escalate-after=1s").status == 0)
        #expect(try await eventually { stack.notifications.contains { $0.kind == "escalated" && $0.level == 1 } })
        let opened = try #require(try status(d, service: "checkout")?.openedAt.flatMap(Timestamp.init(iso8601:)))
        let holder = try #require(try await stack.stickyWorker("incident-checkout"))
        holder.kill9()
        #expect(try await eventually { stack.notifications.contains { $0.kind == "escalated" && $0.level == 2 } })
        let level2 = try #require(stack.notifications.first { $0.kind == "escalated" && $0.level == 2 }?.time)
        let lateness = level2.milliseconds - (opened.milliseconds + 2_000)
        print("escalation lateness after kill -9 of the sticky worker (another alive): \(lateness) ms")
        #expect(lateness < 1_000, "level 2 was \(lateness) ms late")
        #expect(try starter(d, "-cmd=ack", "-service=checkout", "-responder=carol").status == 0)
        #expect(try starter(d, "-cmd=resolve", "-service=checkout", "-responder=carol").status == 0)
        #expect(try await eventually { stack.notifications.contains { $0.kind == "resolved" } })
        let lines = stack.notifications
        let levels = lines.filter { $0.kind == "escalated" }.map(\.level)
        #expect(levels == Array(1...(levels.max() ?? 0)), "each level notified exactly once, in order: \(levels)")
        #expect(Set(lines.map(\.key)).count == lines.count, "no key applied twice")
        #expect(lines.filter { $0.kind == "acked" }.count == 1)
        #expect(lines.filter { $0.kind == "resolved" }.count == 1)
    }

    @Test("kill -9 of every worker, then a new one: the overdue escalation fires as soon as it connects, once")
    func killAllWorkers() async throws {
        let stack = try await Stack()
        defer { stack.stop() }
        let d = stack.directory
        #expect(try starter(d, "-cmd=start", "-service=search", "-escalate-after=1s").status == 0)
        #expect(try await eventually { stack.notifications.contains { $0.kind == "escalated" && $0.level == 1 } })
        for worker in stack.workers { worker.kill9() }
        try await Task.sleep(for: .milliseconds(1_500))  // level 2 comes due with no worker alive
        let started = Timestamp.now()
        try stack.addWorker("replacement")
        #expect(try await eventually { stack.notifications.contains { $0.kind == "escalated" && $0.level == 2 } })
        let level2 = try #require(stack.notifications.first { $0.kind == "escalated" && $0.level == 2 }?.time)
        print(
            "overdue escalation after a new worker started: \(level2.milliseconds - started.milliseconds) ms after its start"
        )
        #expect(try starter(d, "-cmd=resolve", "-service=search", "-responder=dan").status == 0)
        #expect(try await eventually { stack.notifications.contains { $0.kind == "resolved" } })
        let levels = stack.notifications.filter { $0.kind == "escalated" }.map(\.level)
        #expect(levels == Array(1...(levels.max() ?? 0)), "each level exactly once: \(levels)")
        #expect(Set(stack.notifications.map(\.key)).count == stack.notifications.count)
    }
}

@Suite("Starter edge inputs, with real processes", .serialized)
struct StarterEdgeTests {
    @Test("bad services, durations and workflow types are one clear error each; nothing is stored for them")
    func edges() async throws {
        let directory = makeTemporaryDirectory(prefix: "edge")
        let server = try ServerProcess(dataDirectory: directory)
        defer {
            server.terminate()
            try? FileManager.default.removeItem(at: directory)
        }
        let client = try await server.connect(identity: "check")
        let d = directory
        let cases: [([String], String)] = [
            (["-cmd=start", "-service="], "must not be empty"),
            (["-cmd=start", "-service=" + String(repeating: "x", count: 10_000)], "the limit is 200"),
            (["-cmd=start", "-service=has space"], "spaces"),
            (["-cmd=start", "-service=api", "-escalate-after=-5s"], "-escalate-after"),
            (["-cmd=start", "-service=api", "-escalate-after=99999h"], "-escalate-after"),
            (["-cmd=start", "-service=api", "-escalate-after=soon"], "-escalate-after"),
            (["-cmd=alert", "-service=api"], "-alert"),
            (["-cmd=ack", "-service=api"], "-responder"),
            (["-cmd=explode", "-service=api"], "cmd"),
        ]
        for (arguments, expected) in cases {
            let (status, output) = try runExecutable(
                "incident-starter",
                arguments + ["-address=unix://" + d.appendingPathComponent("orchestrator.sock").path])
            #expect(status != 0, "\(arguments) must fail")
            #expect(output.contains(expected), "\(arguments): \(output)")
            #expect(output.split(separator: "\n").count <= 4, "short: \(output)")
        }
        #expect(try await client.send(ListWorkflowsRequest()).executions.isEmpty, "nothing stored for refused commands")
        // Unicode (typed decomposed, normalized by the starter) and '/' are fine.
        #expect(try starter(d, "-cmd=start", "-service=zahlungs-dienst-u\u{308}").status == 0)
        #expect(try starter(d, "-cmd=alert", "-service=zahlungs-dienst-\u{FC}", "-alert=ALERT-1").status == 0)
        #expect(try starter(d, "-cmd=start", "-service=eu/payments").status == 0)
        let ids = Set(try await client.send(ListWorkflowsRequest()).executions.map(\.workflowId))
        #expect(ids == ["incident-zahlungs-dienst-\u{FC}", "incident-eu/payments"])
        // A workflow with an incident's id that is not an incident.
        _ = try await client.send(
            StartWorkflowRequest(workflowId: "incident-impostor", workflowType: "Other", taskQueue: "q"))
        let wrongType = try starter(d, "-cmd=status", "-service=impostor")
        #expect(wrongType.status != 0 && wrongType.output.contains("not an incident"), "\(wrongType.output)")
        await client.close()
    }
}

@Suite("Benchmark, smoke", .serialized)
struct BenchmarkSmokeTests {
    @Test("the incident benchmark runs and checks every incident (a small N, to see it works)")
    func incidentsBenchmarkRuns() throws {
        let (status, output) = try runExecutable(
            "orchestrator-bench",
            [
                "incidents", "--incidents", "20", "--concurrency", "5", "--workers", "1", "--workflow-pollers", "3",
                "--keep", "--bin-dir", binDirectory().path,
            ])
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n").map(String.init)
        let line = lines.last { $0.hasPrefix("{") } ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        for key in [
            "system", "incidents", "concurrency", "workers", "wall_s", "incidents_per_s", "start_p50_ms",
            "signal_p99_ms", "query_p50_ms", "result_p99_ms", "server_peak_rss_mib", "server_malloc",
        ] {
            #expect(json?[key] != nil, "\(key) missing in \(line)")
        }
        #expect(json?["errors"] as? Int == 0)
        #expect(json?["completed"] as? Int == 20)
        #expect(json?["workflow_pollers"] as? Int == 3)
        #expect(json?["client_connections"] as? Int == 1)
        // --keep: the directory stays, and the server's log ends with the engine's statistics, with
        // where workflow tasks, signals and queries spent their time (81 signals: 4 per incident and
        // the warm-up incident's resolve).
        let kept = try #require(lines.last { $0.hasPrefix("kept ") }.map { String($0.dropFirst("kept ".count)) })
        defer { try? FileManager.default.removeItem(atPath: kept) }
        let log = try String(contentsOfFile: kept + "/server.log", encoding: .utf8)
        let statistics = try #require(log.split(separator: "\n").last { $0.contains("engine statistics") })
        for part in ["taskAtWorker: n=", "signal: n=81 ", "commit: n=", "workflowTasksStarted: "] {
            #expect(statistics.contains(part), "\(part) missing in \(statistics)")
        }
        // The machine's time during the run, from /proc/stat: busy, idle and stolen add up to all of it.
        let shares = ["machine_busy_pct", "machine_idle_pct", "machine_steal_pct"].compactMap {
            (json?[$0] as? NSNumber)?.doubleValue
        }
        #expect(shares.count == 3, "\(line)")
        #expect(shares.allSatisfy { (0...100).contains($0) }, "\(line)")
        #expect(abs(shares.reduce(0, +) - 100) <= 0.2, "\(line)")
        #expect((shares.first ?? 0) > 0, "the run itself kept the machine busy: \(line)")
    }
}
