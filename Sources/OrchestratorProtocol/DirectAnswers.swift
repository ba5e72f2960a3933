// The server's answers a workload sends and reads most (completions, polls, signals, starts,
// queries, empty answers, query pushes), written and read without Codable's containers: the same
// bytes and values, fewer allocations. Every other message, and any unusual form, goes through
// Codable with its errors. `DirectMessageTests` compare both paths.

// MARK: - Writing answers (the server)

extension ServerMessage {
    /// The message's tree, or nil when Codable must build it.
    func directlyEncoded(by encoder: ValueEncoder) throws -> EncodedValue? {
        if case .push(.workflowQuery(let query)) = self {
            var object = CanonicalObjectWriter(capacity: 2)
            object.object("body", try query.directlyEncoded())
            object.string("push", "workflowQuery")
            return .raw(object.finish())
        }
        if case .push(.workflowTask(let task)) = self {
            var object = CanonicalObjectWriter(capacity: 2)
            try object.value("body", try encoder.encode(task, key: MemberKey("body")))
            object.string("push", "workflowTask")
            return .raw(object.finish())
        }
        guard case .response(let id, let response) = self,
            let result = try response.directlyEncodedResult(by: encoder)
        else { return nil }
        var object = CanonicalObjectWriter(capacity: 3)
        object.uint("id", id)
        object.string("op", response.operation.rawValue)
        try object.value("result", result)
        return .raw(object.finish())
    }
}

extension Response {
    fileprivate func directlyEncodedResult(by encoder: ValueEncoder) throws -> EncodedValue? {
        switch self {
        case .ping, .failWorkflowTask, .completeActivityTask, .failActivityTask, .cancelActivityTask, .respondQuery:
            return .raw(Self.emptyObject)
        default:
            break
        }
        var object = CanonicalObjectWriter(capacity: 2)
        switch self {
        case .signalWorkflow(let result):
            object.string("runId", result.runId)
        case .startWorkflow(let result), .signalWithStartWorkflow(let result):
            object.string("runId", result.runId)
            object.bool("started", result.started)
        case .requestCancelWorkflow(let result), .terminateWorkflow(let result):
            object.string("runId", result.runId)
        case .queryWorkflow(let result):
            try object.payload("result", result.result)
            object.string("runId", result.runId)
        case .awaitWorkflowResult(let result) where result.failure == nil:
            try object.payload("result", result.result)
            object.string("runId", result.runId)
            object.string("status", result.status.rawValue)
        case .pollWorkflowTask(let result):
            if let task = result.task { try object.value("task", try encoder.encode(task, key: MemberKey("task"))) }
        case .pollActivityTask(let result):
            if let task = result.task { object.object("task", try task.directlyEncoded()) }
        case .completeWorkflowTask(let result):
            if let activities = result.activityTasks {
                try object.array("activityTasks") { array in
                    for activity in activities { array.append(try activity.directlyEncoded()) }
                }
            }
            if let task = result.workflowTask {
                try object.value("workflowTask", try encoder.encode(task, key: MemberKey("workflowTask")))
            }
        default:
            return nil
        }
        return .raw(object.finish())
    }

    private static let emptyObject: [UInt8] = Array("{}".utf8)
}

// MARK: - Reading answers (workers and clients)

extension ServerMessage {
    /// The answers and pushes workers and clients read most, read straight from the parsed JSON
    /// when every member has its plain form; nil otherwise (errors included), and Codable reads the
    /// message.
    init?(directFrom node: JSONElement) {
        guard let members = node.object else { return nil }
        if let push = members.first("push") {
            guard let body = members.first("body") else { return nil }
            if push.isString("workflowQuery"), let fields = body.object, let query = WorkflowQuery(directFrom: fields) {
                self = .push(.workflowQuery(query))
            } else if push.isString("workflowTask"), let task = WorkflowTask(directFrom: body) {
                self = .push(.workflowTask(task))
            } else {
                return nil
            }
            return
        }
        guard members.isAbsentOrNull("error"), let rawId = members.int64("id"), rawId >= 0,
            let op = members.name("op", as: OperationName.self),
            let f = members.object("result")
        else { return nil }
        let response: Response
        switch op {
        case .ping: response = .ping(Empty())
        case .failWorkflowTask: response = .failWorkflowTask(Empty())
        case .completeActivityTask: response = .completeActivityTask(Empty())
        case .failActivityTask: response = .failActivityTask(Empty())
        case .cancelActivityTask: response = .cancelActivityTask(Empty())
        case .respondQuery: response = .respondQuery(Empty())
        case .signalWorkflow:
            guard let runId = f.string("runId") else { return nil }
            response = .signalWorkflow(SignalWorkflowResponse(runId: runId))
        case .startWorkflow, .signalWithStartWorkflow:
            guard let runId = f.string("runId"), let started = f.first("started")?.bool else { return nil }
            let body = StartWorkflowResponse(runId: runId, started: started)
            response = op == .startWorkflow ? .startWorkflow(body) : .signalWithStartWorkflow(body)
        case .requestCancelWorkflow, .terminateWorkflow:
            guard let runId = f.string("runId") else { return nil }
            response =
                op == .terminateWorkflow
                ? .terminateWorkflow(RunResponse(runId: runId)) : .requestCancelWorkflow(RunResponse(runId: runId))
        case .queryWorkflow:
            guard let runId = f.string("runId") else { return nil }
            response = .queryWorkflow(QueryWorkflowResponse(runId: runId, result: f.payload("result")))
        case .awaitWorkflowResult:
            guard let runId = f.string("runId"), let status = f.string("status").flatMap(WorkflowExecutionStatus.init),
                f.isAbsentOrNull("failure")
            else { return nil }
            response = .awaitWorkflowResult(
                AwaitWorkflowResultResponse(runId: runId, status: status, result: f.payload("result"), failure: nil))
        case .pollWorkflowTask:
            guard let task = f.optional("task", WorkflowTask.init(directFrom:)) else { return nil }
            response = .pollWorkflowTask(PollWorkflowTaskResponse(task: task))
        case .pollActivityTask:
            guard let task = f.optional("task", ActivityTask.init(directFrom:)) else { return nil }
            response = .pollActivityTask(PollActivityTaskResponse(task: task))
        case .completeWorkflowTask:
            guard let task = f.optional("workflowTask", WorkflowTask.init(directFrom:)),
                let activities = f.optional("activityTasks", ActivityTask.list(directFrom:))
            else { return nil }
            response = .completeWorkflowTask(
                CompleteWorkflowTaskResponse(workflowTask: task, activityTasks: activities))
        case .getWorkflowHistory:
            guard let runId = f.string("runId"), let items = f.first("events")?.array,
                let events = HistoryEvent.list(directFrom: items), let hasMore = f.first("hasMore")?.bool,
                let closed = f.first("closed")?.bool
            else { return nil }
            response = .getWorkflowHistory(
                GetWorkflowHistoryResponse(runId: runId, events: events, hasMore: hasMore, closed: closed))
        default:
            return nil
        }
        self = .response(id: UInt64(rawId), response)
    }
}

extension WorkflowQuery {
    /// The query's canonical JSON object, written without Codable's containers.
    func directlyEncoded() throws -> CanonicalObjectWriter {
        var object = CanonicalObjectWriter(capacity: 8)
        try object.payload("args", args)
        object.string("queryId", queryId)
        object.string("queryType", queryType)
        object.string("runId", runId)
        object.string("taskQueue", taskQueue)
        object.string("taskToken", taskToken)
        object.string("workflowId", workflowId)
        object.string("workflowType", workflowType)
        return object
    }

    init?(directFrom f: JSONObjectView) {
        guard let queryId = f.string("queryId"), let workflowId = f.string("workflowId"), let runId = f.string("runId"),
            let workflowType = f.string("workflowType"), let taskQueue = f.string("taskQueue"),
            let queryType = f.string("queryType"), let taskToken = f.optionalString("taskToken")
        else { return nil }
        self.init(
            queryId: queryId, workflowId: workflowId, runId: runId, workflowType: workflowType, taskQueue: taskQueue,
            queryType: queryType, args: f.payload("args"), taskToken: taskToken)
    }
}

extension ActivityTask {
    /// An array of tasks, read directly when every one is plain.
    fileprivate static func list(directFrom node: JSONElement) -> [ActivityTask]? {
        guard let items = node.array else { return nil }
        var tasks: [ActivityTask] = []
        tasks.reserveCapacity(items.count)
        for item in items {
            guard let task = ActivityTask(directFrom: item) else { return nil }
            tasks.append(task)
        }
        return tasks
    }

    fileprivate init?(directFrom node: JSONElement) {
        guard let f = node.object,
            let taskToken = f.string("taskToken"), let workflowId = f.string("workflowId"),
            let runId = f.string("runId"), let workflowType = f.string("workflowType"),
            let activityId = f.string("activityId"), let activityType = f.string("activityType"),
            let attempt = f.int32("attempt"),
            let scheduled = f.timestamp("scheduledTime"),
            let attemptScheduled = f.timestamp("currentAttemptScheduledTime"),
            let started = f.timestamp("startedTime"),
            let scheduleToClose = f.optionalInt64("scheduleToCloseTimeoutMs"),
            let startToClose = f.int64("startToCloseTimeoutMs"), let heartbeat = f.optionalInt64("heartbeatTimeoutMs")
        else { return nil }
        self.init(
            taskToken: taskToken, workflowId: workflowId, runId: runId, workflowType: workflowType,
            activityId: activityId, activityType: activityType, input: f.payload("input"), attempt: attempt,
            scheduledTime: scheduled, currentAttemptScheduledTime: attemptScheduled, startedTime: started,
            scheduleToCloseTimeoutMs: scheduleToClose, startToCloseTimeoutMs: startToClose,
            heartbeatTimeoutMs: heartbeat, heartbeatDetails: f.payload("heartbeatDetails"))
    }
}
