/// The answers the server sends most (a workload's completions, signals, starts, queries), built
/// as their canonical JSON trees without Codable's containers: the same bytes, fewer allocations.
/// Every other message goes through Codable. `DirectMessageTests` compare both paths.
extension ServerMessage {
    /// The message's tree, or nil when Codable must build it.
    func directlyEncoded(by encoder: ValueEncoder) throws -> EncodedValue? {
        guard case .response(let id, let response) = self,
            let result = try response.directlyEncodedResult(by: encoder)
        else { return nil }
        // In canonical (sorted) key order.
        let box = ObjectBox(capacity: 3)
        box.members.append((key: "id", value: .uint(id)))
        box.members.append((key: "op", value: .string(response.operation.rawValue)))
        box.members.append((key: "result", value: result))
        return .object(box)
    }
}

extension Response {
    fileprivate func directlyEncodedResult(by encoder: ValueEncoder) throws -> EncodedValue? {
        switch self {
        case .ping, .failWorkflowTask, .completeActivityTask, .failActivityTask, .cancelActivityTask, .respondQuery:
            return .object(ObjectBox(capacity: 0))
        case .signalWorkflow(let result):
            return Self.object(("runId", .string(result.runId)))
        case .startWorkflow(let result), .signalWithStartWorkflow(let result):
            return Self.object(("runId", .string(result.runId)), ("started", .bool(result.started)))
        case .requestCancelWorkflow(let result), .terminateWorkflow(let result):
            return Self.object(("runId", .string(result.runId)))
        case .queryWorkflow(let result):
            let box = ObjectBox(capacity: 2)
            if let value = result.result { box.members.append((key: "result", value: .payload(value))) }
            box.members.append((key: "runId", value: .string(result.runId)))
            return .object(box)
        case .pollWorkflowTask(let result):
            let box = ObjectBox(capacity: 1)
            if let task = result.task {
                box.members.append((key: "task", value: try encoder.encode(task, key: MemberKey("task"))))
            }
            return .object(box)
        case .completeWorkflowTask(let result):
            let box = ObjectBox(capacity: 2)
            if let activities = result.activityTasks {
                box.members.append(
                    (key: "activityTasks", value: try encoder.encode(activities, key: MemberKey("activityTasks"))))
            }
            if let task = result.workflowTask {
                box.members.append(
                    (key: "workflowTask", value: try encoder.encode(task, key: MemberKey("workflowTask"))))
            }
            return .object(box)
        default:
            return nil
        }
    }

    private static func object(_ members: (String, EncodedValue)...) -> EncodedValue {
        let box = ObjectBox(capacity: members.count)
        for (key, value) in members { box.members.append((key: key, value: value)) }
        return .object(box)
    }
}

/// The requests a workload sends most, read straight from the parsed JSON when every member has
/// its plain form; anything else (a missing or mistyped member, an unusual number form, another
/// operation) returns nil and Codable reads the request, with its precise errors. Unknown members
/// are ignored and the first of repeated keys wins, as with Codable.
extension RequestMessage {
    init?(directFrom node: JSONNode) {
        guard case .object(let members) = node,
            case .number(.int(let rawId))? = DirectFields.first("id", in: members), rawId > 0,
            case .string(let opName)? = DirectFields.first("op", in: members),
            let op = OperationName(rawValue: opName),
            case .object(let body)? = DirectFields.first("body", in: members)
        else { return nil }
        let f = DirectFields(members: body)
        let request: Request
        switch op {
        case .signalWorkflow:
            guard let workflowId = f.string("workflowId"), let signalName = f.string("signalName"),
                let runId = f.optionalString("runId"), let requestId = f.optionalString("requestId"),
                let identity = f.optionalString("identity")
            else { return nil }
            request = .signalWorkflow(
                SignalWorkflowRequest(
                    workflowId: workflowId, runId: runId, signalName: signalName, input: f.payload("input"),
                    requestId: requestId, identity: identity))
        case .queryWorkflow:
            guard let workflowId = f.string("workflowId"), let queryType = f.string("queryType"),
                let runId = f.optionalString("runId"), let timeoutMs = f.optionalInt64("timeoutMs")
            else { return nil }
            request = .queryWorkflow(
                QueryWorkflowRequest(
                    workflowId: workflowId, runId: runId, queryType: queryType, args: f.payload("args"),
                    timeoutMs: timeoutMs))
        case .awaitWorkflowResult:
            guard let workflowId = f.string("workflowId"), let runId = f.optionalString("runId"),
                let followRuns = f.optionalBool("followRuns"), let timeoutMs = f.optionalInt64("timeoutMs")
            else { return nil }
            request = .awaitWorkflowResult(
                AwaitWorkflowResultRequest(
                    workflowId: workflowId, runId: runId, followRuns: followRuns, timeoutMs: timeoutMs))
        case .pollWorkflowTask:
            guard let taskQueue = f.string("taskQueue"), let identity = f.optionalString("identity"),
                let timeoutMs = f.optionalInt64("timeoutMs"),
                let answersQueries = f.optionalBool("answersQueriesInTasks")
            else { return nil }
            request = .pollWorkflowTask(
                PollWorkflowTaskRequest(
                    taskQueue: taskQueue, identity: identity, timeoutMs: timeoutMs,
                    answersQueriesInTasks: answersQueries))
        case .completeActivityTask:
            guard let taskToken = f.string("taskToken"), let identity = f.optionalString("identity") else {
                return nil
            }
            request = .completeActivityTask(
                CompleteActivityTaskRequest(taskToken: taskToken, result: f.payload("result"), identity: identity))
        case .respondQuery:
            guard let queryId = f.string("queryId"), f.isAbsentOrNull("failure") else { return nil }
            request = .respondQuery(RespondQueryRequest(queryId: queryId, result: f.payload("result")))
        default:
            return nil
        }
        self.init(id: UInt64(rawId), request: request)
    }
}

extension DirectFields {
    /// `.some(nil)` when absent or null, nil when present and not an integer.
    func optionalInt64(_ key: String) -> Int64?? {
        switch Self.first(key, in: members) {
        case nil, .null?: return .some(nil)
        case .number(.int(let value))?: return .some(value)
        default: return nil
        }
    }

    /// `.some(nil)` when absent or null, nil when present and not a boolean.
    func optionalBool(_ key: String) -> Bool?? {
        switch Self.first(key, in: members) {
        case nil, .null?: return .some(nil)
        case .bool(let value)?: return .some(value)
        default: return nil
        }
    }
}
