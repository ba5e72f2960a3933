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
