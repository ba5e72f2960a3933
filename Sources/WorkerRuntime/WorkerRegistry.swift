import OrchestratorProtocol
import Workflows

/// The workflow and activity types a worker runs.
///
/// ```swift
/// var registry = WorkerRegistry()
/// registry.register(IncidentWorkflow.self)
/// registry.register(NotifyIncident.self) { input, context in try await activities.notify(input, context) }
/// ```
public struct WorkerRegistry: Sendable {
    typealias ActivityImplementation = @Sendable (JSONValue?, ActivityContext) async throws -> JSONValue?
    var workflows: [String: WorkflowDefinition] = [:]
    var activities: [String: ActivityImplementation] = [:]

    public init() {}

    public mutating func register<W: Workflow>(_ workflow: W.Type) {
        workflows[W.name] = WorkflowDefinition(workflow)
    }

    public mutating func register<A: ActivityDefinition>(
        _ activity: A.Type, _ implementation: @escaping @Sendable (A.Input, ActivityContext) async throws -> A.Output
    ) {
        activities[A.name] = { payload, context in
            let input = try PayloadCoding.decode(A.Input.self, from: payload)
            return try PayloadCoding.encode(try await implementation(input, context))
        }
    }

    public var workflowTypes: [String] { workflows.keys.sorted() }
    public var activityTypes: [String] { activities.keys.sorted() }
}
