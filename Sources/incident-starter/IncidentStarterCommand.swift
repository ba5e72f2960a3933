import ArgumentParser
import Foundation
import Incidents
import OrchestratorCLISupport
import OrchestratorClient
import OrchestratorProtocol
import Workflows

/// `incident-starter`: the Go demo's starter, flag for flag.
///
///     incident-starter -cmd=start -service=payment-api
///     incident-starter -cmd=alert -service=payment-api -alert=ALERT-001
///     incident-starter -cmd=status -service=payment-api [-json]
///     incident-starter -cmd=ack -service=payment-api -responder=alice
///     incident-starter -cmd=resolve -service=payment-api -responder=alice
@main
struct IncidentStarterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident-starter",
        abstract: "Start incidents and send them alerts, acks and resolutions.",
        discussion: "The workflow id of a service's incident is incident-{service}; one is open per service at a time.")

    enum Command: String, ExpressibleByArgument, CaseIterable {
        case start, alert, status, ack, resolve
    }

    @Option(
        name: [.customLong("cmd", withSingleDash: true), .customLong("cmd")],
        help: "start, alert, status, ack or resolve.")
    var cmd: Command

    @Option(
        name: [.customLong("service", withSingleDash: true), .customLong("service")],
        help: "The service, e.g. payment-api.")
    var service: String

    @Option(
        name: [.customLong("alert", withSingleDash: true), .customLong("alert")],
        help: "The alert id (with -cmd=alert).")
    var alert: String?

    @Option(
        name: [.customLong("responder", withSingleDash: true), .customLong("responder")], help: "Who acks or resolves.")
    var responder: String?

    @Option(
        name: [.customLong("escalate-after", withSingleDash: true), .customLong("escalate-after")],
        help: "Escalation interval while unacknowledged, e.g. 30s, 1s, 500ms, 2m (with -cmd=start).")
    var escalateAfter: String = "30s"

    @Option(
        name: [.customLong("address", withSingleDash: true), .customLong("address")],
        help:
            "unix:///path.sock or tcp://host:port (default: $ORCHESTRATOR_ADDRESS, else ./.orchestrator/orchestrator.sock)."
    )
    var address: String?

    @Option(
        name: [.customLong("token-file", withSingleDash: true), .customLong("token-file")], help: "The TCP token file.")
    var tokenFile: String?

    @Option(
        name: [.customLong("tls-ca", withSingleDash: true), .customLong("tls-ca")],
        help: "Connect with TLS, trusting this CA certificate (PEM).")
    var tlsCa: String?

    @Flag(name: [.customLong("json", withSingleDash: true), .customLong("json")], help: "Print JSON.")
    var json = false

    func validate() throws {
        if service.isEmpty { throw ValidationError("-service must not be empty, e.g. -service=payment-api") }
        if service.utf8.count > 200 {
            throw ValidationError("-service is \(service.utf8.count) bytes; the limit is 200")
        }
        if service.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }) {
            throw ValidationError("-service must not contain spaces or control characters")
        }
        switch cmd {
        case .alert where (alert ?? "").isEmpty:
            throw ValidationError("-cmd=alert needs -alert=ID, e.g. -alert=ALERT-001")
        case .ack where (responder ?? "").isEmpty, .resolve where (responder ?? "").isEmpty:
            throw ValidationError("-cmd=\(cmd.rawValue) needs -responder=NAME, e.g. -responder=alice")
        default:
            break
        }
        _ = try escalationMilliseconds()
    }

    func escalationMilliseconds() throws -> Int64 {
        guard let value = parseDuration(escalateAfter), value >= 1, value <= 7 * 86_400_000 else {
            throw ValidationError(
                "-escalate-after must be a duration between 1ms and 168h, like 30s, 500ms or 2m; got \(escalateAfter)")
        }
        return value
    }

    /// The workflow id, from the service name in Unicode NFC (what the server requires of ids).
    var workflowId: String { IncidentWorkflow.workflowId(service: service.precomposedStringWithCanonicalMapping) }

    func run() async throws {
        var options = ConnectionOptions()
        options.address = address
        options.tokenFile = tokenFile
        options.tlsCa = tlsCa
        let client: OrchestratorClient
        do {
            client = try await options.connect(identity: processIdentity("incident-starter"))
        } catch {
            exitWithError(describe(error))
        }
        do {
            if cmd != .start { try await checkIsIncident(client) }
            switch cmd {
            case .start: try await start(client)
            case .alert:
                try await signal(
                    client, IncidentWorkflow.addAlert, AddAlert(alertID: alert ?? ""),
                    done: "Added alert \(alert ?? "") to")
            case .ack:
                try await signal(
                    client, IncidentWorkflow.ack, ResponderAction(responder: responder ?? ""),
                    done: "Acknowledged by \(responder ?? ""):")
            case .resolve:
                try await signal(
                    client, IncidentWorkflow.resolve, ResponderAction(responder: responder ?? ""),
                    done: "Resolved by \(responder ?? ""):")
            case .status: try await status(client)
            }
        } catch let error as OrchestratorError {
            exitWithError(explain(error))
        } catch {
            exitWithError(describe(error))
        }
        await client.close()
    }

    /// Refuses to act on a workflow with the incident's id that is not an incident.
    private func checkIsIncident(_ client: OrchestratorClient) async throws {
        let description = try await client.send(DescribeWorkflowRequest(workflowId: workflowId))
        let type = description.execution.workflowType
        guard type == IncidentWorkflow.name else {
            throw OrchestratorError(
                .invalidArgument,
                "workflow \(workflowId) is a \(type) workflow, not an incident (\(IncidentWorkflow.name)); it was not started by incident-starter"
            )
        }
    }

    private func start(_ client: OrchestratorClient) async throws {
        let escalate = try escalationMilliseconds()
        let response = try await client.send(
            StartWorkflowRequest(
                workflowId: workflowId, workflowType: IncidentWorkflow.name, taskQueue: IncidentWorkflow.taskQueue,
                input: try PayloadCoding.encode(
                    IncidentWorkflow.Input(
                        service: service.precomposedStringWithCanonicalMapping, escalateAfterMs: escalate)),
                requestId: GeneratedUUID.timeOrdered(), workflowIdReusePolicy: .allowDuplicate,
                workflowIdConflictPolicy: .fail,
                searchAttributes: ["service": .string(service.precomposedStringWithCanonicalMapping)],
                identity: client.identity))
        if json {
            try printJSON(["workflowId": workflowId, "runId": response.runId, "service": service])
        } else {
            print(
                "Started incident for \(service) (workflow \(workflowId), run \(response.runId)); escalates every \(escalateAfter) until acked"
            )
        }
    }

    private func signal<I>(_ client: OrchestratorClient, _ signal: Signal<I>, _ input: I, done: String) async throws {
        let response = try await client.send(
            SignalWorkflowRequest(
                workflowId: workflowId, signalName: signal.name, input: try PayloadCoding.encode(input),
                requestId: GeneratedUUID.timeOrdered(), identity: client.identity))
        if json {
            try printJSON(["workflowId": workflowId, "runId": response.runId, "signal": signal.name])
        } else {
            print("\(done) \(workflowId)")
        }
    }

    private func status(_ client: OrchestratorClient) async throws {
        let description = try await client.send(DescribeWorkflowRequest(workflowId: workflowId))
        let state: IncidentState
        if description.execution.status.isOpen {
            let response = try await client.send(
                QueryWorkflowRequest(workflowId: workflowId, queryType: IncidentWorkflow.status.name))
            state = try PayloadCoding.decode(IncidentState.self, from: response.result)
        } else {
            // A closed incident's final state is its result: no worker needed.
            let result = try await client.send(AwaitWorkflowResultRequest(workflowId: workflowId, timeoutMs: 5_000))
            guard result.status == .completed else {
                throw OrchestratorError(
                    .workflowNotRunning,
                    "the incident for \(service) ended \(result.status.rawValue)"
                        + (result.failure.map { ": \($0.message)" } ?? ""))
            }
            state = try PayloadCoding.decode(IncidentState.self, from: result.result)
        }
        if json {
            try printJSON(state)
        } else {
            let alerts = state.alerts.isEmpty ? "none" : state.alerts.joined(separator: ", ")
            print("Incident \(workflowId) (run \(state.runId))")
            print("  status      \(state.status.rawValue)")
            print("  alerts      \(alerts)")
            print("  escalation  level \(state.escalationLevel)")
            print("  responder   \(state.responder ?? "-")")
        }
    }

    /// The server's error in the words of the incident demo.
    private func explain(_ error: OrchestratorError) -> String {
        switch error.code {
        case .alreadyStarted:
            return "incident for \(service) is already open (workflow \(workflowId)); ack or resolve it first"
        case .notFound:
            return
                "no incident for \(service) (workflow \(workflowId) not found); start one with -cmd=start -service=\(service)"
        case .workflowNotRunning:
            if cmd == .status { return error.message }
            return
                "the incident for \(service) is not running (it was resolved or closed); start a new one with -cmd=start -service=\(service)"
        case .noWorker:
            return "no incident-worker is running to answer for \(workflowId); start one with `incident-worker`"
        default:
            return describe(error)
        }
    }
}

/// `30s`, `500ms`, `2m`, `1h`, `1.5s` → milliseconds.
func parseDuration(_ text: String) -> Int64? {
    let units: [(String, Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        if suffix == "s" && number.hasSuffix("m") { continue }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        return Int64((value * factor).rounded())
    }
    return nil
}
