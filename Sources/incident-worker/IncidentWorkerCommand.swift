import ArgumentParser
import Foundation
import Incidents
import Logging
import OrchestratorCLISupport
import OrchestratorTransport
import ServiceLifecycle
import WorkerRuntime

/// `incident-worker`: runs the incident workflow and its notification activity.
@main
struct IncidentWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident-worker",
        abstract: "Run incident workflows and notifications; start one or many.",
        discussion: """
            Polls the task queue incident-task-queue. Kill it at any moment: its tasks go back to the \
            server at once and another worker (or this one, restarted) carries the incidents on. \
            Notifications are appended to a JSON-lines file, each idempotency key once.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The notification log (default: notifications.jsonl in the data directory).")
    var notifyLog: String?

    @Option(
        help:
            "Activities polled for and running at once (as many again may come back with the completions that scheduled them), and workflow task polls in flight."
    )
    var concurrency: Int = 16

    @Option(
        help:
            "Workflow task polls in flight (default: --concurrency, at most 6). More start tasks sooner, each carrying fewer events (more work per workflow); a task a query waits for is pushed to the worker without a poll."
    )
    var workflowPollers: Int?

    @Option(help: "The task queue to poll.")
    var taskQueue: String = IncidentWorkflow.taskQueue

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(
        help: ArgumentHelp(
            "Simulate a slow notification service: wait up to this many ms per notification.", visibility: .hidden))
    var notifyLatencyMs: Int = 0

    func validate() throws {
        guard concurrency >= 1 && concurrency <= 1_000 else { throw ValidationError("--concurrency must be 1 to 1000") }
        if let workflowPollers, !(1...1_000).contains(workflowPollers) {
            throw ValidationError("--workflow-pollers must be 1 to 1000")
        }
        guard Logger.Level(name: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        LogfmtLogHandler.bootstrap(level: Logger.Level(name: logLevel) ?? .info)
        let logger = Logger(label: "incident-worker")
        let address = try connection.resolvedAddress()
        let logPath = notifyLog ?? defaultNotificationLog(for: address)
        let sink: FileNotificationSink
        do {
            sink = try FileNotificationSink(path: logPath, latencyMs: notifyLatencyMs > 0 ? 0...notifyLatencyMs : nil)
        } catch {
            exitWithError("\(error)")
        }
        let activities = IncidentActivities(sink: sink)
        var registry = WorkerRegistry()
        registry.register(IncidentWorkflow.self)
        registry.register(NotifyIncident.self) { notification, context in
            try await activities.notify(notification, idempotencyKey: context.idempotencyKey)
        }
        var options = WorkerOptions(
            address: address, token: try connection.token(), identity: processIdentity("incident-worker"),
            taskQueue: taskQueue)
        options.tls = try connection.tlsContext()
        options.maxConcurrentActivities = concurrency
        options.maxEagerActivities = concurrency
        options.workflowPollers = workflowPollers ?? max(2, min(concurrency, 6))
        let worker = Worker(options: options, registry: registry, logger: logger)
        logger.info("notifications go to \(logPath)")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            exitWithError(describe(error))
        }
    }
}

/// `notifications.jsonl` next to the server's socket (its data directory), else in ./.orchestrator.
func defaultNotificationLog(for address: ServerAddress) -> String {
    if case .unix(let path) = address {
        return ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("notifications.jsonl")
    }
    return (ServerAddress.defaultDataDirectory as NSString).appendingPathComponent("notifications.jsonl")
}
