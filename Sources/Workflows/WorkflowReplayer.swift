import Logging
import OrchestratorProtocol

/// Replays a recorded history against workflow code, without a server: to check that new code is
/// compatible with runs in flight (non-determinism shows as a thrown ``NonDeterminismError``), and
/// to inspect the state a history leads to.
///
/// ```swift
/// let replayed = try WorkflowReplayer(IncidentWorkflow.self).replay(history, workflowId: "incident-x", runId: runId)
/// let state = try replayed.query(IncidentWorkflow.status)
/// ```
public struct WorkflowReplayer: Sendable {
    public let definition: WorkflowDefinition
    let logger: Logger

    public init<W: Workflow>(_ workflow: W.Type, logger: Logger = Logger(label: "orchestrator.replayer")) {
        self.definition = WorkflowDefinition(workflow)
        self.logger = logger
    }

    /// Applies the whole history; throws where code and history disagree.
    public func replay(
        _ history: [HistoryEvent], workflowId: String = "replay", runId: String = "replay",
        taskQueue: String = "replay"
    ) throws -> ReplayedWorkflow {
        let runner = WorkflowRunner(
            definition: definition,
            info: WorkflowInfo(
                workflowId: workflowId, runId: runId, workflowType: definition.name, taskQueue: taskQueue),
            logger: logger)
        do {
            _ = try runner.apply(history, live: false)
        } catch {
            runner.destroy()
            throw error
        }
        return ReplayedWorkflow(runner: runner)
    }
}

/// A workflow brought to the end of a history by ``WorkflowReplayer``.
public final class ReplayedWorkflow: @unchecked Sendable {
    let runner: WorkflowRunner

    init(runner: WorkflowRunner) { self.runner = runner }

    deinit { runner.destroy() }

    /// Answers a query from the replayed state.
    public func query<A, R>(_ query: Query<A, R>, _ arguments: A) throws -> R {
        try PayloadCoding.decode(
            R.self, from: try runner.query(query.name, arguments: try PayloadCoding.encode(arguments)))
    }

    /// Answers a query that takes no arguments.
    public func query<R>(_ query: Query<NoArguments, R>) throws -> R {
        try self.query(query, NoArguments())
    }

    /// Whether the replayed code closed the run.
    public var isClosed: Bool { runner.isClosed }

    /// The commands the code produced at the last workflow task of the history.
    public var lastCommands: [Command] { runner.commandsOfLastActivation }
}
