import ArgumentParser
import Foundation
import OrchestratorCLISupport
import OrchestratorClient
import OrchestratorProtocol

/// `orchestrator`: the admin CLI, in the spirit of `temporal workflow …`.
@main
struct OrchestratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orchestrator",
        abstract: "Inspect and drive workflows on an orchestrator server.",
        subcommands: [WorkflowCommand.self])
}

struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Start, list, describe, show, signal, query, cancel and terminate workflows.",
        subcommands: [
            Start.self, List.self, Describe.self, Show.self, Signal.self, Query.self, Result.self, Cancel.self,
            Terminate.self,
        ])
}

/// Options every workflow subcommand shares.
struct CommonOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.customShort("o"), .long], help: "text or json.")
    var output: OutputFormat = .text

    func client() async throws -> OrchestratorClient {
        try await connection.connect(identity: processIdentity("orchestrator"))
    }
}

/// `-w/--workflow-id` and `-r/--run-id`.
struct WorkflowSelector: ParsableArguments {
    @Option(name: [.customShort("w"), .customLong("workflow-id")], help: "The workflow id.")
    var workflowId: String

    @Option(name: [.customShort("r"), .customLong("run-id")], help: "A run of it (default: the latest).")
    var runId: String?
}

func parseJSON(_ text: String?, flag: String) throws -> JSONValue? {
    guard let text else { return nil }
    do {
        return try JSONValue(jsonText: text)
    } catch {
        throw ValidationError("\(flag) is not valid JSON: \(text)")
    }
}

/// Runs `body`, turning server and connection errors into one line and exit code 1.
func reporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        exitWithError(describe(error))
    }
}

extension WorkflowCommand {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a workflow run.")
        @OptionGroup var common: CommonOptions
        @Option(name: [.customShort("w"), .customLong("workflow-id")], help: "The workflow id.") var workflowId: String
        @Option(name: [.customShort("t"), .long], help: "The workflow type.") var type: String
        @Option(name: .long, help: "The task queue its workers poll.") var taskQueue: String
        @Option(name: [.customShort("i"), .long], help: "The input, as JSON.") var input: String?
        @Option(name: .long, help: "A request id; retrying with it starts nothing twice.") var requestId: String?
        @Option(name: .long, help: "ALLOW_DUPLICATE, ALLOW_DUPLICATE_FAILED_ONLY or REJECT_DUPLICATE.")
        var idReusePolicy: String?
        @Option(name: .long, help: "FAIL, USE_EXISTING or TERMINATE_EXISTING.") var idConflictPolicy: String?

        func run() async throws {
            let input = try parseJSON(input, flag: "--input")
            let reuse = try idReusePolicy.map { value in
                guard let policy = WorkflowIdReusePolicy(rawValue: value.uppercased()) else {
                    throw ValidationError(
                        "--id-reuse-policy must be ALLOW_DUPLICATE, ALLOW_DUPLICATE_FAILED_ONLY or REJECT_DUPLICATE")
                }
                return policy
            }
            let conflict = try idConflictPolicy.map { value in
                guard let policy = WorkflowIdConflictPolicy(rawValue: value.uppercased()) else {
                    throw ValidationError("--id-conflict-policy must be FAIL, USE_EXISTING or TERMINATE_EXISTING")
                }
                return policy
            }
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    StartWorkflowRequest(
                        workflowId: workflowId, workflowType: type, taskQueue: taskQueue, input: input,
                        requestId: requestId ?? UUID().uuidString, workflowIdReusePolicy: reuse,
                        workflowIdConflictPolicy: conflict, identity: client.identity))
                if common.output == .json {
                    try printJSON([
                        "workflowId": workflowId, "runId": response.runId,
                        "started": response.started ? "true" : "false",
                    ])
                } else {
                    print("Started workflow \(workflowId) (run \(response.runId))")
                }
                await client.close()
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workflow runs, newest first.")
        @OptionGroup var common: CommonOptions
        @Option(name: .long, help: "RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, CONTINUED_AS_NEW.") var status:
            String?
        @Option(name: [.customShort("t"), .long], help: "Only this workflow type.") var type: String?
        @Option(name: .long, help: "Only workflow ids starting with this.") var prefix: String?
        @Option(name: .long, help: "Only runs whose search attribute NAME=JSON, e.g. service=\"payment-api\".")
        var searchAttribute: String?
        @Option(name: .long, help: "How many runs at most.") var limit: Int = 100

        func run() async throws {
            let statusValue = try status.map { text in
                guard let value = WorkflowExecutionStatus(rawValue: text.uppercased()) else {
                    throw ValidationError(
                        "--status must be one of \(WorkflowExecutionStatus.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return value
            }
            let filter = try searchAttribute.map { text -> SearchAttributeFilter in
                guard let equals = text.firstIndex(of: "=") else {
                    throw ValidationError("--search-attribute must look like NAME=JSON")
                }
                let value = String(text[text.index(after: equals)...])
                return SearchAttributeFilter(
                    name: String(text[..<equals]), value: (try? JSONValue(jsonText: value)) ?? .string(value))
            }
            try await reporting {
                let client = try await common.client()
                var executions: [WorkflowExecutionInfo] = []
                var token: String?
                repeat {
                    let page = try await client.send(
                        ListWorkflowsRequest(
                            status: statusValue, workflowType: type, workflowIdPrefix: prefix, searchAttribute: filter,
                            pageSize: min(1000, limit - executions.count), nextPageToken: token))
                    executions += page.executions
                    token = page.nextPageToken
                } while token != nil && executions.count < limit
                if common.output == .json {
                    try printJSON(["executions": executions])
                } else if executions.isEmpty {
                    print("No workflows.")
                } else {
                    let rows = executions.map { e in
                        [e.status.rawValue, e.workflowId, e.workflowType, e.startTime.iso8601, e.runId]
                    }
                    printTable(header: ["STATUS", "WORKFLOW ID", "TYPE", "STARTED", "RUN ID"], rows: rows)
                }
                await client.close()
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Status, pending timers, activities and tasks of a run.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector

        func run() async throws {
            try await reporting {
                let client = try await common.client()
                let d = try await client.send(
                    DescribeWorkflowRequest(workflowId: workflow.workflowId, runId: workflow.runId))
                if common.output == .json {
                    try printJSON(d)
                } else {
                    let e = d.execution
                    print("Workflow    \(e.workflowId)")
                    print("Run         \(e.runId)")
                    print("Type        \(e.workflowType) on task queue \(e.taskQueue)")
                    print("Status      \(e.status.rawValue)")
                    print("Started     \(e.startTime.iso8601)")
                    if let close = e.closeTime { print("Closed      \(close.iso8601)") }
                    print("History     \(e.historyLength) events")
                    if let sticky = d.stickyWorkerIdentity { print("Cached by   \(sticky)") }
                    if let attributes = e.searchAttributes, !attributes.isEmpty {
                        print(
                            "Search      "
                                + attributes.keys.sorted().map { "\($0)=\(attributes[$0]!.jsonText)" }.joined(
                                    separator: " "))
                    }
                    if let task = d.pendingWorkflowTask {
                        print(
                            "Workflow task: \(task.state.rawValue), attempt \(task.attempt)"
                                + (task.identity.map { " on \($0)" } ?? ""))
                    }
                    for timer in d.pendingTimers {
                        print("Timer \(timer.timerId): fires \(timer.fireTime.iso8601)")
                    }
                    for a in d.pendingActivities {
                        var line =
                            "Activity \(a.activityId) \(a.activityType): \(a.state.rawValue), attempt \(a.attempt)"
                        if let next = a.nextAttemptScheduleTime { line += ", next attempt \(next.iso8601)" }
                        if let failure = a.lastFailure { line += ", last failure: \(failure.message)" }
                        print(line)
                    }
                    for c in d.pendingChildren {
                        print("Child \(c.workflowId) \(c.workflowType)" + (c.runId.map { " run \($0)" } ?? ""))
                    }
                }
                await client.close()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a run's history.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Flag(name: [.customShort("f"), .long], help: "Keep printing new events until the run closes.") var follow =
            false

        func run() async throws {
            try await reporting {
                let client = try await common.client()
                var events: [HistoryEvent] = []
                var after: Int64 = 0
                var runId = workflow.runId
                while true {
                    let page = try await client.send(
                        GetWorkflowHistoryRequest(
                            workflowId: workflow.workflowId, runId: runId, afterEventId: after,
                            waitNewEvent: follow ? true : nil, timeoutMs: follow ? 30_000 : nil))
                    runId = page.runId
                    if common.output == .text && follow { for event in page.events { print(format(event)) } }
                    events += page.events
                    after = page.events.last?.eventId ?? after
                    if page.closed || (!page.hasMore && !follow) { break }
                }
                if common.output == .json {
                    try printJSON(["events": events])
                } else if !follow {
                    for event in events { print(format(event)) }
                }
                await client.close()
            }
        }

        private func format(_ event: HistoryEvent) -> String {
            let attributes = (try? MessageCodec.encodeToString(event.attributes)) ?? "{}"
            let id = String(event.eventId)
            return String(repeating: " ", count: max(0, 4 - id.count)) + id + "  " + event.eventTime.iso8601 + "  "
                + event.eventType.rawValue.padding(toLength: 42, withPad: " ", startingAt: 0) + attributes
        }
    }

    struct Signal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a signal to a run.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Option(name: [.customShort("n"), .long], help: "The signal name.") var name: String
        @Option(name: [.customShort("i"), .long], help: "The signal input, as JSON.") var input: String?
        @Option(name: .long, help: "A request id; retrying with it delivers the signal once.") var requestId: String?

        func run() async throws {
            let input = try parseJSON(input, flag: "--input")
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    SignalWorkflowRequest(
                        workflowId: workflow.workflowId, runId: workflow.runId, signalName: name, input: input,
                        requestId: requestId ?? UUID().uuidString, identity: client.identity))
                if common.output == .json {
                    try printJSON(["workflowId": workflow.workflowId, "runId": response.runId, "signal": name])
                } else {
                    print("Signaled \(name) to \(workflow.workflowId) (run \(response.runId))")
                }
                await client.close()
            }
        }
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask a run's worker a query.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Option(name: [.customShort("n"), .long], help: "The query type.") var name: String
        @Option(name: [.customShort("i"), .long], help: "Query arguments, as JSON.") var input: String?

        func run() async throws {
            let args = try parseJSON(input, flag: "--input")
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    QueryWorkflowRequest(
                        workflowId: workflow.workflowId, runId: workflow.runId, queryType: name, args: args))
                if common.output == .json {
                    try printJSON(["result": response.result ?? .null])
                } else {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(response.result ?? .null), as: UTF8.self))
                }
                await client.close()
            }
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Wait for a run to close and print its result.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Option(name: .long, help: "Give up after this many seconds.") var timeout: Int = 60

        func run() async throws {
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    AwaitWorkflowResultRequest(
                        workflowId: workflow.workflowId, runId: workflow.runId, timeoutMs: Int64(timeout) * 1000))
                if common.output == .json {
                    try printJSON(response)
                } else {
                    print("\(workflow.workflowId) \(response.status.rawValue) (run \(response.runId))")
                    if let result = response.result { print(result.jsonText) }
                    if let failure = response.failure { print("failure: \(failure)") }
                }
                await client.close()
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask a run to cancel itself.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Option(name: .long, help: "Why.") var reason: String?

        func run() async throws {
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    RequestCancelWorkflowRequest(
                        workflowId: workflow.workflowId, runId: workflow.runId, reason: reason,
                        requestId: UUID().uuidString, identity: client.identity))
                if common.output == .json {
                    try printJSON(["workflowId": workflow.workflowId, "runId": response.runId])
                } else {
                    print("Requested cancellation of \(workflow.workflowId) (run \(response.runId))")
                }
                await client.close()
            }
        }
    }

    struct Terminate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a run at once; its code does not run again.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var workflow: WorkflowSelector
        @Option(name: .long, help: "Why (recorded in history).") var reason: String

        func run() async throws {
            try await reporting {
                let client = try await common.client()
                let response = try await client.send(
                    TerminateWorkflowRequest(
                        workflowId: workflow.workflowId, runId: workflow.runId, reason: reason,
                        identity: client.identity))
                if common.output == .json {
                    try printJSON(["workflowId": workflow.workflowId, "runId": response.runId])
                } else {
                    print("Terminated \(workflow.workflowId) (run \(response.runId))")
                }
                await client.close()
            }
        }
    }
}

/// Prints rows in aligned columns.
func printTable(header: [String], rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}
